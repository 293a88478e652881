"""README.md and REPRODUCTION_NOTES.md are built from docs/readme/ and docs/notes/ (``make docs``)."""
from __future__ import annotations

import importlib.util
import re
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


# The README is a short guide for users (issue 22); the full reference and the measurement history
# live in REPRODUCTION_NOTES.md. Its experiment table must name a command for every table a paper's
# experiments write.
README_MAX_BYTES = 20 * 1024
PAPER_RESULT_FOLDERS = ("schlett", "pini", "fabbri", "chiu")
EXPERIMENT_HEADING = "## Experiments"


def experiment_table(readme: str) -> list[dict[str, str]]:
    """Rows of the first markdown table under the README heading starting with ``## Experiments``,
    as {column header: cell}."""
    lines = readme.split("\n")
    start = next((i for i, l in enumerate(lines) if l.startswith(EXPERIMENT_HEADING)), None)
    if start is None:
        return []
    table = []
    for line in lines[start + 1:]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif table:
            break
    if len(table) < 3:
        return []
    header = [h.lower() for h in table[0]]
    return [dict(zip(header, row)) for row in table[2:]]


def csvs_without_command(readme: str, root: Path = ROOT) -> list[str]:
    """``results/<paper>/*.csv`` files (not the run logs in subfolders) that no row of the experiment
    table lists in its output column beside a ``python -m ...`` or ``make ...`` command."""
    rows = experiment_table(readme)

    def cell(row, word):
        return next((v for k, v in row.items() if word in k), "")

    missing = []
    for folder in PAPER_RESULT_FOLDERS:
        for csv in sorted((root / "results" / folder).glob("*.csv")):
            name = re.compile(rf"(?<![\w.-]){re.escape(csv.name)}(?![\w])")
            if not any(name.search(cell(r, "output")) and f"{folder}/" in cell(r, "output")
                       and re.search(r"`(python -m [\w.]+|make \w+)", cell(r, "command")) for r in rows):
                missing.append(f"results/{folder}/{csv.name}")
    return missing


def test_readme_is_at_most_20_kb():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size:,} bytes (at most {README_MAX_BYTES:,}): move reference and measurements "
        "to docs/notes/ and rebuild with `make docs`")


def test_readme_experiment_table_names_a_command_for_every_results_csv():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert experiment_table(readme), f"README.md: no table under a '{EXPERIMENT_HEADING}' heading"
    missing = csvs_without_command(readme)
    assert not missing, f"README.md's experiment table names no command for: {', '.join(missing)}"


def test_experiment_table_check_catches_a_missing_csv(tmp_path):
    (tmp_path / "results" / "pini").mkdir(parents=True)
    (tmp_path / "results" / "pini" / "table9_new.csv").write_text("a\n1\n")
    (tmp_path / "results" / "pini" / "table1_x.csv").write_text("a\n1\n")
    readme = ("# T\n\n## Experiments: paper -> command\n\n| paper | command | output (under `results/`) |\n"
              "| --- | --- | --- |\n| Pini | `python -m experiments.pini_01_tables` | `pini/table1_x.csv` |\n"
              "| Pini | none | `pini/table9_new.csv` |\n\n## Next\n")
    assert csvs_without_command(readme, tmp_path) == ["results/pini/table9_new.csv"]
    assert experiment_table("# T\n\nno table\n") == []
