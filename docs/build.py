"""Build README.md and REPRODUCTION_NOTES.md from their fragments (one source for the prose).

``docs/readme/*.md`` and ``docs/notes/*.md``, in file-name order (``00_header.md`` first), joined by
one blank line; a line ``<!-- experiments.catalog -->`` becomes the experiment table of
``experiments/catalog.py``. ``python docs/build.py`` (``make docs``) writes both documents; ``--check`` writes
nothing and exits 1 naming the documents that differ from their build (the test suite runs it).
Edit the fragments, never the built documents.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = {"README.md": "docs/readme", "REPRODUCTION_NOTES.md": "docs/notes"}


# a fragment line that is exactly this marker becomes the experiment table of experiments/catalog.py
CATALOG_MARKER = "<!-- experiments.catalog -->"


def _catalog_table() -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_experiments_catalog", ROOT / "experiments" / "catalog.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod.markdown_table()


def _render(text: str) -> str:
    if CATALOG_MARKER not in text:
        return text
    table = _catalog_table()
    return "\n".join(table if line.strip() == CATALOG_MARKER else line for line in text.split("\n"))


def build(folder: Path) -> str:
    parts = sorted(folder.glob("*.md"))
    if not parts:
        raise FileNotFoundError(f"{folder}: no .md fragments")
    return "\n\n".join(_render(p.read_text(encoding="utf-8")).strip("\n") for p in parts) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for doc, folder in DOCUMENTS.items():
        text = build(ROOT / folder)
        target = ROOT / doc
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(doc)
        if not check:
            tmp = target.with_suffix(".md.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(target)
    if check and stale:
        print(f"out of date with their fragments: {', '.join(stale)}; run `make docs`", file=sys.stderr)
        return 1
    if not check:
        print(f"rebuilt: {', '.join(stale) or 'nothing (up to date)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
