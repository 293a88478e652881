"""Where the Schlett experiments write, and how (atomically, with provenance on every row).

* ``out_dir()``: ``results/schlett`` (``prnet_synth.paths.results_dir`` honours FACE_DEPTH_RESULTS);
  ``figures_dir()``: its ``figures/``; ``cache_dir()``: ``work_data/schlett`` (``prnet_synth.paths.work_dir``:
  large regenerable arrays, git-ignored).
* ``write_table(name, frame, prov)``: the CSV with the provenance columns ``data, preset, seed,
  code_version`` appended to every row, plus ``<name>.json`` with the full provenance record.
* ``read_table(name)``: the CSV back, keeping the enhancer label "None" as text.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from prnet_synth.atomic import atomic_open, atomic_write_csv, atomic_write_json, stamp_provenance
from prnet_synth.paths import results_dir, work_dir

__all__ = ["out_dir", "figures_dir", "cache_dir", "write_table", "read_table", "read_csv",
           "save_arrays", "load_arrays", "array_digest", "PROV_COLUMNS", "SYNTHETIC_NOTE"]

PROV_COLUMNS = ("data", "preset", "seed", "code_version")
SYNTHETIC_NOTE = "synthetic stand-in, not real camera data"


def out_dir() -> Path:
    p = results_dir() / "schlett"
    p.mkdir(parents=True, exist_ok=True)
    return p


def figures_dir() -> Path:
    p = out_dir() / "figures"
    p.mkdir(parents=True, exist_ok=True)
    return p


def cache_dir(*parts: str) -> Path:
    p = work_dir("schlett", *parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def read_csv(path) -> pd.DataFrame:
    """pandas.read_csv keeping "None" (an enhancer label) as text."""
    return pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])


def write_table(name: str, frame: pd.DataFrame, prov: dict, directory: Optional[Path] = None) -> Path:
    """Write ``<name>.csv`` (provenance columns appended; an existing ``data`` column is kept)
    and ``<name>.json`` (the provenance record and the column list)."""
    d = Path(directory) if directory is not None else out_dir()
    f = stamp_provenance(frame.copy(), prov, PROV_COLUMNS, keep_existing=True)
    path = atomic_write_csv(d / f"{name}.csv", f)
    atomic_write_json(d / f"{name}.json", {"provenance": prov, "columns": list(f.columns), "rows": len(f)})
    return path


def read_table(name: str, directory: Optional[Path] = None) -> pd.DataFrame:
    d = Path(directory) if directory is not None else out_dir()
    return read_csv(d / f"{name}.csv")


def array_digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def save_arrays(path: Path, meta: Optional[dict] = None, **arrays: np.ndarray) -> Path:
    """Atomic ``.npz`` (uncompressed: fast) with an optional JSON ``meta`` entry."""
    path = Path(path)
    if meta is not None:
        arrays["__meta__"] = np.frombuffer(json.dumps(meta, default=str).encode(), dtype=np.uint8)
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return path


def load_arrays(path: Path) -> tuple[dict, dict]:
    """(arrays, meta) from ``save_arrays``; raises FileNotFoundError / ValueError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such array file")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz array file ({exc})") from None
    meta = {}
    if "__meta__" in arrays:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    return arrays, meta
