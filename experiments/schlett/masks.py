"""Face masks and landmarks for IV-E..IV-G.

The paper builds the face-region masks "based on Dlib facial landmark detector output" without
saying how (IV-E). Decided (docs/notes/60_schlett_experiments.md): the mask is the filled convex
hull of the 68 landmarks (jawline, brows, nose, eyes, mouth), i.e. the face from the brows down to
the chin and between the jaw contours, rasterised with OpenCV at pixel centres.
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

__all__ = ["face_mask_from_landmarks", "dlib_landmarks68", "manual6_from_68", "landmark_hole_ratio",
           "sample_points"]

log = logging.getLogger(__name__)


def face_mask_from_landmarks(landmarks: np.ndarray, shape: tuple[int, int] = (256, 256)) -> np.ndarray:
    """Boolean HxW mask: the filled convex hull of the (k, 2) landmark (x, y) positions."""
    import cv2

    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[0] < 3 or lm.shape[1] < 2 or not np.all(np.isfinite(lm[:, :2])):
        raise ValueError(f"face mask: expected at least 3 finite (x, y) landmarks, got shape {lm.shape}")
    pts = np.rint(lm[:, :2]).astype(np.int32)
    hull = cv2.convexHull(pts)
    mask = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def dlib_landmarks68(rgb: np.ndarray) -> Optional[np.ndarray]:
    """dlib's 68 landmarks (float32 (68, 2)) of the best face in a colour image, or None.

    Tries without upsampling first and with one upsampling step if nothing is found (256x256 crops
    hold faces near dlib's minimum detector size).
    """
    from prnet_synth.landmarks import detect_landmarks

    for up in (0, 1):
        res = detect_landmarks(rgb, upsample=up)
        if res is not None:
            return res[1]
    return None


def manual6_from_68(lm68: np.ndarray) -> np.ndarray:
    """KinectFaceDB's six manual landmarks (eye centres, nose tip, mouth corners, chin) from
    dlib-ordered 68 points, for the synthetic stand-in: (6, 2) float32."""
    lm = np.asarray(lm68, np.float64)[:, :2]
    pts = [lm[42:48].mean(0), lm[36:42].mean(0), lm[30], lm[54], lm[48], lm[8]]
    return np.asarray(pts, np.float32)


def sample_points(depth: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Depth (uint16) at each point's rounded pixel ``floor(x + 0.5)``; outside the image -> 65535
    (the same sampling rule as experiments.pad.geometric)."""
    d = np.asarray(depth)
    p = np.asarray(points, np.float64)[:, :2]
    ok = np.all(np.isfinite(p), axis=1)
    q = np.where(ok[:, None], p, -1.0)
    col = np.floor(q[:, 0] + 0.5).astype(np.int64)
    row = np.floor(q[:, 1] + 0.5).astype(np.int64)
    inside = ok & (col >= 0) & (col < d.shape[1]) & (row >= 0) & (row < d.shape[0])
    vals = np.full(len(p), 65535, np.uint16)
    vals[inside] = d[row[inside], col[inside]]
    return vals


def landmark_hole_ratio(depth: np.ndarray, points: np.ndarray) -> float:
    """IV-G: fraction of the landmarks whose depth is a hole."""
    v = sample_points(depth, points)
    return float(np.count_nonzero(v == 65535)) / len(v)
