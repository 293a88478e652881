"""Where the project reads and writes by default.

``results_dir()`` is ``<repo>/results`` unless the environment variable ``FACE_DEPTH_RESULTS``
names another folder (tests point it at a temporary folder). ``weights_path(label, preset)``
is where training writes a trained enhancer and where the registry looks for it.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["project_root", "results_dir", "weights_dir", "weights_path"]


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def results_dir() -> Path:
    env = os.environ.get("FACE_DEPTH_RESULTS")
    return Path(env) if env else project_root() / "results"


def weights_dir(preset: str = "quick") -> Path:
    return results_dir() / "weights" / preset


def weights_path(label: str, preset: str = "quick") -> Path:
    return weights_dir(preset) / f"{label}.keras"
