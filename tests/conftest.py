"""Shared test fixtures. Owned by the lead: ask before changing."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared/ folder beside the checkout (docs, PRNet data files, paper tables); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip("shared/ folder beside the checkout is not present")
    return SHARED


@pytest.fixture(scope="session")
def prnet_uv_dir(shared_dir: Path) -> Path:
    """PRNet's own data files (never shipped with the project); skip if absent."""
    path = shared_dir / "prnet_uv_data"
    if not (path / "face_ind.txt").is_file():
        pytest.skip("PRNet data files are not present")
    return path


@pytest.fixture()
def results_tmp(tmp_path, monkeypatch) -> Path:
    """Point prnet_synth.paths.results_dir() (and work_dir()) at temporary folders for the test."""
    out = tmp_path / "results"
    out.mkdir()
    monkeypatch.setenv("FACE_DEPTH_RESULTS", str(out))
    monkeypatch.setenv("FACE_DEPTH_WORK", str(tmp_path / "work_data"))
    return out
