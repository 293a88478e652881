"""notebooks/pini.ipynb and notebooks/fabbri.ipynb execute (nbclient) on the committed results in
results/pini/ and results/fabbri/ (they only read CSVs and figures, so each takes seconds), and show
the tables they are about."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CASES = {
    "pini": ("pini/table1_pixel_metrics.csv", ("face_verification_accuracy", "not reproduced", "eq3_cgan")),
    "fabbri": ("fabbri/table1_reconstruction.csv", ("Ours (Binary Maps)", "Original RGB (reference)", "quick_cgan")),
}


def _run(name: str, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    need = REPO / "results" / CASES[name][0]
    if not need.is_file():
        pytest.skip(f"{need.relative_to(REPO)} not present: run experiments/{name}_01_tables.py first")
    monkeypatch.delenv("FACE_DEPTH_RESULTS", raising=False)
    path = REPO / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("name", sorted(CASES))
def test_cgan_notebook_runs_and_shows_its_tables(name, monkeypatch):
    nb = _run(name, monkeypatch)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("data", {}).get("text/html", ""))
                     for o in outputs if o.get("output_type") in ("execute_result", "display_data"))
    for needle in CASES[name][1]:
        assert needle in text, f"{name}.ipynb shows no {needle!r}"
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{name}.ipynb shows no figure"
