"""README.md and REPRODUCTION_NOTES.md are built from docs/readme/ and docs/notes/ (``make docs``)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _builder():
    spec = importlib.util.spec_from_file_location("docs_build", ROOT / "docs" / "build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_documents_equal_their_build():
    b = _builder()
    for doc, folder in b.DOCUMENTS.items():
        assert (ROOT / doc).read_text(encoding="utf-8") == b.build(ROOT / folder), f"{doc}: run `make docs`"


def test_build_joins_fragments_in_name_order(tmp_path):
    b = _builder()
    (tmp_path / "20_b.md").write_text("## B\ntext b\n")
    (tmp_path / "00_header.md").write_text("# Title\n\n")
    (tmp_path / "10_a.md").write_text("\n## A\n")
    assert b.build(tmp_path) == "# Title\n\n## A\n\n## B\ntext b\n"
