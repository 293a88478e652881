"""Ground-truth scaling before degradation (``DegradationConfig.gt_normalization``).

Schlett et al. IV-A says the enhancers' inputs "already have their depth range normalized to the
face depth range"; IV-J normalises real recordings "for a 25cm range starting at the closest
detected depth value". The generator writes the second format (250 mm from the nearest point).
``normalize_ground_truth`` turns it into the format a config asks for:

* ``"fixed"``: unchanged;
* ``"face_range"``: each image's nearest valid pixel -> 0 and farthest -> 65534 (rounded to
  nearest); holes stay 65535; an image with one distinct depth value maps it to 0.

``face_range_scale`` / ``face_range_unscale`` are the same stretch and its inverse for any depth
image, with each image's (lo, hi) returned: a network trained on face-range ground truth is given a
25 cm (IV-J) image in the format it learnt, and its output is put back into millimetres.

It is numpy only (no TensorFlow), so ground-truth writers and readers can call it cheaply.
"""
from __future__ import annotations

import numpy as np

from prnet_synth.conventions import HOLE, MAX_VALID, check_depth

from .config import DegradationConfig, get_config

__all__ = ["normalize_ground_truth", "face_depth_range", "face_range_scale", "face_range_unscale"]


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
    return face_range_scale(arr)[0]


def face_range_scale(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each image's valid pixels stretched to 0..65534 (nearest -> 0, farthest -> 65534, rounded to
    nearest; holes stay 65535; one distinct value -> 0). Returns (scaled like ``depth``, lo, hi): per
    image the nearest and farthest valid value in units (float64 arrays of length N, or 0-d for one
    HxW image; an all-hole image has lo = hi = 0)."""
    arr = check_depth(depth, "face_range_scale input")
    frames = arr if arr.ndim == 3 else arr[None]
    out = np.empty_like(frames)
    los, his = np.zeros(len(frames)), np.zeros(len(frames))
    for i, g in enumerate(frames):
        valid = g != HOLE
        res = np.full(g.shape, HOLE, np.uint16)
        if valid.any():
            v = g[valid].astype(np.float64)
            lo, hi = v.min(), v.max()
            los[i], his[i] = lo, hi
            scaled = (v - lo) * (MAX_VALID / (hi - lo)) if hi > lo else np.zeros_like(v)
            res[valid] = np.rint(scaled).astype(np.uint16)
        out[i] = res
    if arr.ndim == 3:
        return out, los, his
    return out[0], los[0], his[0]


def face_range_unscale(scaled: np.ndarray, lo, hi) -> np.ndarray:
    """The inverse of ``face_range_scale`` for images in the stretched format (e.g. a network's output):
    valid value y -> lo + y (hi - lo) / 65534, rounded and clipped to 0..65534; holes stay 65535."""
    arr = check_depth(scaled, "face_range_unscale input")
    frames = arr if arr.ndim == 3 else arr[None]
    los, his = np.atleast_1d(np.asarray(lo, np.float64)), np.atleast_1d(np.asarray(hi, np.float64))
    if los.shape != (len(frames),) or his.shape != (len(frames),):
        raise ValueError(f"face_range_unscale: {len(frames)} images but lo/hi of shapes {los.shape}/{his.shape}")
    out = np.full(frames.shape, HOLE, np.uint16)
    for i, y in enumerate(frames):
        valid = y != HOLE
        back = los[i] + y[valid].astype(np.float64) * ((his[i] - los[i]) / MAX_VALID)
        out[i][valid] = np.clip(np.rint(back), 0, MAX_VALID).astype(np.uint16)
    return out if arr.ndim == 3 else out[0]
