"""Ground-truth scaling before degradation (``DegradationConfig.gt_normalization``).

Schlett et al. IV-A says the enhancers' inputs "already have their depth range normalized to the
face depth range"; IV-J normalises real recordings "for a 25cm range starting at the closest
detected depth value". The generator writes the second format (250 mm from the nearest point).
``normalize_ground_truth`` turns it into the format a config asks for:

* ``"fixed"``: unchanged;
* ``"face_range"``: each image's nearest valid pixel -> 0 and farthest -> 65534 (rounded to
  nearest); holes stay 65535; an image with one distinct depth value maps it to 0.

It is numpy only (no TensorFlow), so ground-truth writers and readers can call it cheaply.
"""
from __future__ import annotations

import numpy as np

from prnet_synth.conventions import HOLE, MAX_VALID, check_depth

from .config import DegradationConfig, get_config

__all__ = ["normalize_ground_truth", "face_depth_range"]


def face_depth_range(gt: np.ndarray) -> np.ndarray:
    """Per image, the depth span (max - min, in units) of the valid pixels; 0 for an all-hole image."""
    arr = check_depth(gt, "face_depth_range input")
    frames = arr if arr.ndim == 3 else arr[None]
    valid = frames != HOLE
    hi = np.where(valid, frames, 0).reshape(len(frames), -1).max(1).astype(np.int64)
    lo = np.where(valid, frames, HOLE).reshape(len(frames), -1).min(1).astype(np.int64)
    span = np.where(valid.reshape(len(frames), -1).any(1), hi - lo, 0)
    return span if arr.ndim == 3 else span[0]


def normalize_ground_truth(gt: np.ndarray, config: "DegradationConfig | str | None" = None) -> np.ndarray:
    """``gt`` (uint16 HxW or NxHxW, 65535 = hole) in the scaling ``config.gt_normalization`` asks for;
    a new array (the input is not modified)."""
    cfg = get_config(config)
    arr = check_depth(gt, "normalize_ground_truth input")
    if cfg.gt_normalization == "fixed":
        return arr.copy()
    frames = arr if arr.ndim == 3 else arr[None]
    out = np.empty_like(frames)
    for i, g in enumerate(frames):
        valid = g != HOLE
        res = np.full(g.shape, HOLE, np.uint16)
        if valid.any():
            v = g[valid].astype(np.float64)
            lo, hi = v.min(), v.max()
            scaled = (v - lo) * (MAX_VALID / (hi - lo)) if hi > lo else np.zeros_like(v)
            res[valid] = np.rint(scaled).astype(np.uint16)
        out[i] = res
    return out if arr.ndim == 3 else out[0]
