"""Face-parsing masks for DepthNet's training targets (Chiu et al., IV-A.1: 7 classes background,
skin, brows, eyes, glasses, nose, mouth; the paper takes them from a modified BiSeNet, whose weights
are not obtainable here).

Sources (``MASK_SOURCES``):

* ``generator``: the procedural generator's own 7-class masks (``prnet_synth.procedural`` emits the
  same classes in the same order, ``MASK_CLASSES``); exact, only for the synthetic stand-in;
* ``dlib``: the documented substitute for real data: dlib's 68 landmarks (``prnet_synth.landmarks``)
  turned into class polygons by ``landmarks_to_mask``: skin = the jaw line closed over a forehead
  band, brows = the brow polylines thickened, eyes = the eye contours, nose = the bridge and the
  nostril line, mouth = the outer lip contour. Glasses are never produced (landmarks carry no sign
  of them); images without a detected face get no mask (``None``).
"""
from __future__ import annotations

import logging
from typing import Optional

import numpy as np

log = logging.getLogger(__name__)

MASK_SOURCES = ("generator", "dlib")
CLASSES = ("background", "skin", "brows", "eyes", "glasses", "nose", "mouth")
BACKGROUND, SKIN, BROWS, EYES, GLASSES, NOSE, MOUTH = range(7)
# forehead band above the brows, as a fraction of the brow-to-chin distance
FOREHEAD = 0.35
# half thickness of a brow polygon, as a fraction of the distance between the eye centres
BROW_HALF = 0.07


def _fill(mask: np.ndarray, pts: np.ndarray, value: int) -> None:
    import cv2

    cv2.fillPoly(mask, [np.round(np.asarray(pts, np.float64) * 16).astype(np.int32)], int(value),
                 lineType=cv2.LINE_8, shift=4)


def landmarks_to_mask(landmarks: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(68, 2) dlib-order landmarks (x, y pixels) -> uint8 class mask of ``shape`` (H, W).

    Polygons are painted in the order skin, brows, eyes, nose, mouth (later ones win)."""
    lm = np.asarray(landmarks, np.float64)
    if lm.ndim != 2 or lm.shape[0] != 68 or lm.shape[1] < 2:
        raise ValueError(f"landmarks_to_mask: expected (68, 2) landmarks, got {lm.shape}")
    lm = lm[:, :2]
    mask = np.zeros(tuple(shape), np.uint8)
    jaw, brows = lm[0:17], lm[17:27]
    chin = lm[8]
    brow_mid = brows.mean(axis=0)
    up = brow_mid - chin
    norm = np.linalg.norm(up)
    if norm < 1e-6:
        raise ValueError("landmarks_to_mask: degenerate landmarks (brows on the chin)")
    up_unit = up / norm
    forehead = brows[::-1] + FOREHEAD * up  # the brow line lifted, right to left to close the polygon
    _fill(mask, np.concatenate([jaw, forehead]), SKIN)
    eye_dist = np.linalg.norm(lm[36:42].mean(0) - lm[42:48].mean(0))
    off = BROW_HALF * eye_dist * up_unit
    for b in (lm[17:22], lm[22:27]):
        _fill(mask, np.concatenate([b + off, (b - off)[::-1]]), BROWS)
    _fill(mask, lm[36:42], EYES)
    _fill(mask, lm[42:48], EYES)
    # nose: bridge top (27) down the right side to the nostrils (31..35) and back up
    _fill(mask, np.stack([lm[27], lm[35], lm[34], lm[33], lm[32], lm[31]]), NOSE)
    _fill(mask, lm[48:60], MOUTH)
    return mask


def dlib_mask(rgb: np.ndarray, min_side: int = 256) -> Optional[np.ndarray]:
    """Mask of one RGB uint8 image from dlib's landmarks, or None when dlib finds no face.
    Small images are enlarged to ``min_side`` for the detector (dlib misses faces under ~80 px)."""
    import cv2

    from prnet_synth import landmarks as L

    h, w = rgb.shape[:2]
    scale = max(1.0, min_side / min(h, w))
    img = cv2.resize(rgb, (int(round(w * scale)), int(round(h * scale))), interpolation=cv2.INTER_CUBIC) \
        if scale > 1 else rgb
    found = L.detect_landmarks(img, upsample=1)
    if found is None:
        return None
    _, lm = found
    return landmarks_to_mask(np.asarray(lm, np.float64) / scale, (h, w))


def masks_for(data: dict, source: str) -> tuple[dict, int]:
    """Replace ``data["mask"]`` by the chosen source's masks; with ``dlib`` the samples without a
    detected face are dropped. Returns (data, number of dropped samples)."""
    if source not in MASK_SOURCES:
        raise ValueError(f"unknown mask source {source!r}; choose from {MASK_SOURCES}")
    if source == "generator":
        if "mask" not in data:
            raise ValueError("mask source 'generator' needs the generator's masks (synthetic data only); "
                             "use --mask-source dlib for real scans")
        return data, 0
    masks = [dlib_mask(img) for img in data["rgb"]]
    keep = np.array([m is not None for m in masks], bool)
    n = len(masks)
    out = {k: np.asarray(v)[keep] for k, v in data.items() if k != "mask" and len(v) == n}
    out["mask"] = np.stack([m for m in masks if m is not None]) if keep.any() else \
        np.zeros((0,) + data["rgb"].shape[1:3], np.uint8)
    dropped = int(n - keep.sum())
    if dropped:
        log.info("dlib masks: no face found in %d of %d images (dropped)", dropped, n)
    return out, dropped
