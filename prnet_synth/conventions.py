"""Depth-image conventions of the project (Schlett et al., 000_5d0e6bc7884ed0ba.txt).

The paper's format, used by every package:

* 256 x 256 pixels, ``uint16``;
* **65535 (the maximum) = hole**, smaller values are valid depth, **0 = nearest**;
* physical scale: the full uint16 range spans ``DEPTH_RANGE_MM`` = 250 mm, the 25 cm range
  of the paper's real-data preprocessing (IV-J: "depth is normalized for a 25cm range
  starting at the closest detected depth value in the ROI"). One unit is 250/65535 mm
  (about 3.8 micrometres); valid depth runs 0..65534, points beyond the range are holes.

RealSense convention: 0 = hole. Network convention: float32 in [0, 1] with holes at 1.0.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from .atomic import atomic_write_bytes

__all__ = [
    "SIZE", "HOLE", "MAX_VALID", "DEPTH_RANGE_MM", "UNITS_PER_MM", "MM_PER_UNIT",
    "DepthFormatError", "check_depth", "hole_mask",
    "to_realsense", "from_realsense", "to_float", "from_float",
    "mm_to_units", "units_to_mm", "normalize_metric_depth",
    "read_depth_png", "write_depth_png", "read_png", "write_png", "colorize",
]

SIZE = 256
HOLE = np.uint16(65535)
MAX_VALID = 65534
DEPTH_RANGE_MM = 250.0
UNITS_PER_MM = 65535.0 / DEPTH_RANGE_MM
MM_PER_UNIT = DEPTH_RANGE_MM / 65535.0


class DepthFormatError(ValueError):
    """An image file or array is not a depth image of the project's format."""


def check_depth(depth: np.ndarray, what: str = "depth", *, batch_ok: bool = True) -> np.ndarray:
    """Return ``depth`` as a numpy array after checking it is uint16 HxW (or NxHxW if ``batch_ok``).

    Raises ValueError naming what was given otherwise.
    """
    arr = np.asarray(depth)
    ranks = (2, 3) if batch_ok else (2,)
    if arr.dtype != np.uint16:
        raise ValueError(f"{what}: expected uint16 depth (65535 = hole), got dtype {arr.dtype} with shape {arr.shape}")
    if arr.ndim not in ranks:
        want = "HxW or NxHxW" if batch_ok else "HxW"
        raise ValueError(f"{what}: expected a {want} array, got rank {arr.ndim} with shape {arr.shape}")
    return arr


def hole_mask(depth: np.ndarray) -> np.ndarray:
    """Boolean mask of the holes (value 65535)."""
    return np.asarray(depth) == HOLE


# ----------------------------------------------------------------------------- conversions
def to_realsense(depth: np.ndarray) -> np.ndarray:
    """Paper convention -> RealSense convention (0 = hole).

    65535 becomes 0. A valid 0 (the nearest point) would read as a hole in the RealSense
    convention, so it becomes 1 (one unit, 3.8 micrometres): the only lossy step, documented
    in the reproduction notes.
    """
    d = check_depth(depth, "to_realsense input")
    out = d.copy()
    out[d == 0] = 1
    out[d == HOLE] = 0
    return out


def from_realsense(depth: np.ndarray) -> np.ndarray:
    """RealSense convention (0 = hole) -> paper convention (65535 = hole).

    A valid RealSense value of 65535 is clipped to 65534 so it is not read as a hole.
    """
    d = check_depth(depth, "from_realsense input")
    out = d.copy()
    out[d == 65535] = MAX_VALID
    out[d == 0] = HOLE
    return out


def to_float(depth: np.ndarray) -> np.ndarray:
    """uint16 paper convention -> float32 in [0, 1] (holes = 1.0) for the networks."""
    d = check_depth(depth, "to_float input")
    return d.astype(np.float32) / np.float32(65535.0)


def from_float(x: np.ndarray) -> np.ndarray:
    """float in [0, 1] -> uint16 paper convention; clipped, rounded to nearest; 1.0 -> hole."""
    a = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(a)):
        raise ValueError("from_float input contains NaN or infinite values")
    return np.rint(np.clip(a, 0.0, 1.0) * np.float32(65535.0)).astype(np.uint16)


def mm_to_units(mm) -> np.ndarray:
    """Millimetres -> depth units of the project's scale (float)."""
    return np.asarray(mm, dtype=np.float64) * UNITS_PER_MM


def units_to_mm(units) -> np.ndarray:
    """Depth units -> millimetres (float)."""
    return np.asarray(units, dtype=np.float64) * MM_PER_UNIT


def normalize_metric_depth(z_mm: np.ndarray, valid: Optional[np.ndarray] = None,
                           near_mm: Optional[float] = None,
                           range_mm: float = DEPTH_RANGE_MM) -> np.ndarray:
    """Metric depth (mm, larger = farther) -> paper-convention uint16 (IV-J preprocessing).

    ``valid`` marks measured pixels (default: finite and > 0). The nearest valid depth (or
    ``near_mm``) maps to 0, ``near + range_mm`` to 65535; pixels that are invalid, nearer
    than ``near_mm`` or at/after the end of the range become holes.
    """
    z = np.asarray(z_mm, dtype=np.float64)
    if valid is None:
        valid = np.isfinite(z) & (z > 0)
    else:
        valid = np.asarray(valid, dtype=bool) & np.isfinite(z)
    out = np.full(z.shape, HOLE, dtype=np.uint16)
    if not valid.any():
        return out
    near = float(z[valid].min()) if near_mm is None else float(near_mm)
    rel = (z - near) / float(range_mm) * 65535.0
    ok = valid & (rel >= 0) & (rel < MAX_VALID + 0.5)
    out[ok] = np.rint(rel[ok]).astype(np.uint16)
    return out


# ----------------------------------------------------------------------------- PNG I/O
def _imread(path: Path):
    import cv2

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    buf = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if buf.size else None
    if img is None:
        raise DepthFormatError(f"{path}: not a readable image file")
    return img


def read_depth_png(path: str | os.PathLike, size: Optional[tuple[int, int]] = (SIZE, SIZE)) -> np.ndarray:
    """Read a 16-bit single-channel PNG depth image (paper convention).

    Refuses, with an error naming the file and the problem: non-image files, 8-bit images,
    colour images and (when ``size`` is given as (H, W)) other sizes. ``size=None`` accepts any.
    """
    path = Path(path)
    img = _imread(path)
    if img.ndim == 3 and img.shape[2] > 1:
        raise DepthFormatError(f"{path}: expected a single-channel depth image, got {img.shape[2]} channels")
    if img.ndim == 3:
        img = img[..., 0]
    if img.dtype != np.uint16:
        bits = img.dtype.itemsize * 8
        raise DepthFormatError(f"{path}: expected a 16-bit depth image, got {bits}-bit ({img.dtype})")
    if size is not None and tuple(img.shape[:2]) != tuple(size):
        raise DepthFormatError(f"{path}: expected size {size[0]}x{size[1]} (HxW), got {img.shape[0]}x{img.shape[1]}")
    return img


def write_depth_png(path: str | os.PathLike, depth: np.ndarray) -> Path:
    """Write a uint16 HxW depth image as a 16-bit PNG, atomically."""
    import cv2

    d = check_depth(depth, f"{path}", batch_ok=False)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(d))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    return atomic_write_bytes(path, buf.tobytes())


def read_png(path: str | os.PathLike) -> np.ndarray:
    """Read an 8-bit PNG (gray HxW, colour HxWx3 in RGB order, or mask)."""
    import cv2

    path = Path(path)
    img = _imread(path)
    if img.dtype != np.uint8:
        raise DepthFormatError(f"{path}: expected an 8-bit image, got {img.dtype}")
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = img[..., :3]
        img = img[..., ::-1].copy()
    return img


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an 8-bit gray (HxW) or RGB (HxWx3) image as PNG, atomically."""
    import cv2

    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] != 3):
        raise ValueError(f"{path}: expected uint8 HxW or HxWx3, got {img.dtype} {img.shape}")
    if img.ndim == 3:
        img = img[..., ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    return atomic_write_bytes(path, buf.tobytes())


# ----------------------------------------------------------------------------- figures
def colorize(depth: np.ndarray, mask: Optional[np.ndarray] = None, cmap: str = "viridis",
             hole_color=(255, 0, 255), outside_color=(255, 255, 255),
             vmin: Optional[float] = None, vmax: Optional[float] = None) -> np.ndarray:
    """Colour rendering of a depth image for figures: HxWx3 uint8.

    Valid depth goes through a matplotlib colormap (near = low end), scaled to the valid
    pixels inside ``mask`` (or ``vmin``/``vmax``); holes are drawn in ``hole_color``; pixels
    outside the optional face-area ``mask`` are drawn in ``outside_color`` as in the paper's
    figures.
    """
    import matplotlib

    d = check_depth(depth, "colorize input", batch_ok=False)
    holes = d == HOLE
    inside = np.ones(d.shape, bool) if mask is None else np.asarray(mask, bool)
    if inside.shape != d.shape:
        raise ValueError(f"colorize: mask shape {inside.shape} differs from depth shape {d.shape}")
    sel = inside & ~holes
    vals = d[sel].astype(np.float64)
    lo = float(vals.min()) if vmin is None and vals.size else float(vmin or 0.0)
    hi = float(vals.max()) if vmax is None and vals.size else float(vmax if vmax is not None else MAX_VALID)
    scale = (d.astype(np.float64) - lo) / max(hi - lo, 1e-9)
    rgba = matplotlib.colormaps[cmap](np.clip(scale, 0.0, 1.0))
    out = (rgba[..., :3] * 255.0 + 0.5).astype(np.uint8)
    out[holes] = hole_color
    out[~inside] = outside_color
    return out
