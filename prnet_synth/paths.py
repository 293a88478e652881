"""Where the project reads and writes by default.

``results_dir()`` is ``<repo>/results`` unless the environment variable ``FACE_DEPTH_RESULTS``
names another folder (tests point it at a temporary folder). ``weights_path(label, preset)``
is where training writes a trained enhancer and where the registry looks for it.
``work_dir()`` holds large intermediate files (caches, checkpoints for resuming) that are not
results: ``<repo>/work_data`` unless ``FACE_DEPTH_WORK`` names another folder; it is git-ignored.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "results_dir", "weights_dir", "weights_path", "work_dir", "WEIGHTS_PREFERENCE",
           "resolve_weights_preset"]

#: shipped weight presets, best first: ``"best"`` resolves to the first whose weights file exists
WEIGHTS_PREFERENCE = ("paper", "cpu", "quick")


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def results_dir() -> Path:
    env = os.environ.get("FACE_DEPTH_RESULTS")
    return Path(env) if env else project_root() / "results"


def weights_dir(preset: str = "quick") -> Path:
    return results_dir() / "weights" / preset


def weights_path(label: str, preset: str = "quick") -> Path:
    return weights_dir(resolve_weights_preset(label, preset)) / f"{label}.keras"


def resolve_weights_preset(label: str, preset: str = "best") -> str:
    """``preset`` itself, or for ``"best"`` the first of ``WEIGHTS_PREFERENCE`` (paper > cpu > quick)
    that has a weights file for ``label`` ("quick" when none has)."""
    if preset != "best":
        return preset
    for p in WEIGHTS_PREFERENCE:
        if (weights_dir(p) / f"{label}.keras").is_file():
            return p
    return WEIGHTS_PREFERENCE[-1]


def work_dir(*parts: str) -> Path:
    env = os.environ.get("FACE_DEPTH_WORK")
    base = Path(env) if env else project_root() / "work_data"
    return base.joinpath(*parts)
