"""Atomic file output and run provenance, shared by every package.

Every file the project writes goes through these helpers: the data is written to a
temporary file in the destination folder and renamed over the target, so a killed
job never leaves a half-written file behind (rename is atomic on POSIX and Windows).
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import io
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_csv",
    "code_version",
    "provenance",
]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """
    if "r" in mode or "a" in mode or "+" in mode:
        raise ValueError(f"atomic_open writes whole files only, got mode {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any, **kwargs: Any) -> Path:
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("sort_keys", True)
    return atomic_write_text(path, json.dumps(obj, default=_json_default, **kwargs) + "\n")


def atomic_write_csv(path: str | os.PathLike, frame: Any, **kwargs: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    return atomic_write_text(path, frame.to_csv(**kwargs))


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def code_version(root: Optional[Path] = None) -> str:
    """Short git commit of the project (with ``+dirty`` when tracked files outside ``results/`` have
    changes: the outputs a run writes there say nothing about the code that wrote them), else the
    package version. ``root``: the repository (default: this project's)."""
    root = Path(__file__).resolve().parent.parent if root is None else Path(root)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if sha.returncode == 0:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
                cwd=root, capture_output=True, text=True, timeout=10,
            )
            return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version

        return "v" + version("face-depth-toolkit")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def provenance(preset: str, seed: int | None, data: str, **extra: Any) -> dict[str, Any]:
    """The record every result file carries: preset, seed, data source, code version, time."""
    rec = {
        "preset": preset,
        "seed": seed,
        "data": data,
        "code_version": code_version(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    rec.update(extra)
    return rec
