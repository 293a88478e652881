"""Mapping of a data set's facial landmarks onto dlib's 68 points (the iBUG 300-W markup that
dlib's ``shape_predictor_68_face_landmarks`` predicts), for Fabbri's landmark probe (003 IV-D:
"the average L2 Norm between the position of landmarks predicted and the ground truth provided by
the dataset").

MotorMark's on-disk landmark format is uncertain (shared/docs/datasets.md, section 4); the mapping
is chosen by the number of points in a frame's file (decided, docs/notes/80_cgans.md):

* 68 points: the 300-W markup in its own order (identity; dlib was trained on it);
* 66 points: the Multi-PIE 66 markup, i.e. 300-W without the two inner-mouth corners 61 and 65
  (1-based; 0-based 60 and 64);
* 51 points: 300-W without the 17 jaw-line points (0-based 17..67);
* 49 points: the 51 without the inner-mouth corners (0-based 17..59, 61..63, 65..67).

Points dlib has and the data set lacks are NaN; the probe averages the L2 distance over the points
both have. Any other count is refused with an error naming the file.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["SCHEMES", "dlib_indices", "to_dlib68"]

_INNER_CORNERS = (60, 64)
SCHEMES = {
    68: ("300-W 68", np.arange(68)),
    66: ("Multi-PIE 66 (no inner-mouth corners)", np.array([i for i in range(68) if i not in _INNER_CORNERS])),
    51: ("300-W 51 (no jaw line)", np.arange(17, 68)),
    49: ("300-W 49 (no jaw line, no inner-mouth corners)",
         np.array([i for i in range(17, 68) if i not in _INNER_CORNERS])),
}


def dlib_indices(n_points: int, source: str = "landmarks") -> np.ndarray:
    """dlib index of each of the data set's ``n_points`` landmarks, in file order."""
    if n_points not in SCHEMES:
        raise ValueError(f"{source}: {n_points} landmarks, no known mapping to dlib's 68 points "
                         f"(known counts: {sorted(SCHEMES)})")
    return SCHEMES[n_points][1]


def to_dlib68(points, source: str = "landmarks", indices: Optional[np.ndarray] = None) -> np.ndarray:
    """(N, 2+) landmarks -> (68, 2) float32 in dlib's order, NaN where the data set has no point."""
    pts = np.asarray(points, np.float32)
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise ValueError(f"{source}: landmarks must be an (N, 2) array, got shape {pts.shape}")
    idx = dlib_indices(len(pts), source) if indices is None else np.asarray(indices)
    if len(idx) != len(pts):
        raise ValueError(f"{source}: {len(pts)} landmarks but {len(idx)} target indices")
    out = np.full((68, 2), np.nan, np.float32)
    out[idx] = pts[:, :2]
    return out
