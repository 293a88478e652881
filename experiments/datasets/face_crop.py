"""Pini et al.'s dynamic face crop (001 sec. 3.2, eq. 6), the 8-bit depth encoding of the crops and
the crop statistics the frame exclusion judges; used by the data-set readers (Biwi, Pandora, MotorMark).

w_H = f_x * R_x / D,  h_H = f_y * R_y / D, centred on the head centre (x_H, y_H) of the depth map,
with R_x = R_y = 320 (mm) and f_x = f_y = 365 (Pandora, Kinect v2) or 370 (Biwi, Kinect v1) pixels;
D = distance of the head centre from the camera, "estimated averaging the depth values around the
head center". The averaging window is not stated: a 15 x 15 pixel square ignoring zero (missing)
readings is decided here (``DISTANCE_WINDOW``).

``crop_quality`` gives the statistics of one crop that ``experiments.cgan.exclusion`` judges (the
criteria and their decided thresholds are described there; ``OCCLUDER_MM`` is the occlusion
threshold). ``experiments.cgan.crop`` and ``experiments.cgan.exclusion`` re-export these names.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

__all__ = ["FACE_SIZE_MM", "FOCAL_PANDORA", "FOCAL_BIWI", "FOCAL_MOTORMARK", "DISTANCE_WINDOW", "DEPTH_WINDOW_MM",
           "NEAR_OFFSET_MM", "OCCLUDER_MM", "Box", "head_distance", "face_box", "crop_resize", "depth_mm_to_u8",
           "crop_quality"]

FACE_SIZE_MM = 320.0
FOCAL_PANDORA = 365.0
FOCAL_BIWI = 370.0
FOCAL_MOTORMARK = 365.0      # Kinect One as Pandora (003 IV-A); not stated in 003, decided
DISTANCE_WINDOW = 15
DEPTH_WINDOW_MM = 250.0      # 8-bit encoding: 250 mm window (the project's depth range)
NEAR_OFFSET_MM = 125.0       # window starts 125 mm in front of the head centre
OCCLUDER_MM = 100.0          # exclusion: a reading this much in front of D is an occluder (cgan.exclusion)


class Box(NamedTuple):
    """Crop window in pixels: left, top (inclusive), right, bottom (exclusive), floats."""
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> "Box":
        return Box(self.left * sx + dx, self.top * sy + dy, self.right * sx + dx, self.bottom * sy + dy)


def head_distance(depth_mm: np.ndarray, x: float, y: float, window: int = DISTANCE_WINDOW) -> float:
    """D: mean of the non-zero depth values (mm) in a ``window`` x ``window`` square around (x, y).
    NaN when the square holds no reading (the frame is then skipped by the callers)."""
    d = np.asarray(depth_mm)
    h, w = d.shape[:2]
    cx, cy = int(round(x)), int(round(y))
    r = window // 2
    patch = d[max(cy - r, 0):min(cy + r + 1, h), max(cx - r, 0):min(cx + r + 1, w)].astype(np.float64)
    vals = patch[patch > 0]
    return float(vals.mean()) if vals.size else math.nan


def face_box(x: float, y: float, distance_mm: float, fx: float, fy: Optional[float] = None,
             rx: float = FACE_SIZE_MM, ry: float = FACE_SIZE_MM) -> Box:
    """Eq. 6: a w_H x h_H window centred on the head centre (x, y)."""
    if not (distance_mm > 0 and math.isfinite(distance_mm)):
        raise ValueError(f"head distance must be a positive number of mm, got {distance_mm}")
    fy = fx if fy is None else fy
    w = fx * rx / distance_mm
    h = fy * ry / distance_mm
    return Box(x - w / 2.0, y - h / 2.0, x + w / 2.0, y + h / 2.0)


def crop_resize(image: np.ndarray, box: Box, size: int, *, nearest: bool = False, fill=0) -> np.ndarray:
    """Crop ``box`` (parts outside the image are filled with ``fill``) and resize to size x size.
    ``nearest`` for depth (no mixing of readings with holes), area/linear for intensity."""
    import cv2

    img = np.asarray(image)
    h, w = img.shape[:2]
    l, t = int(math.floor(box.left)), int(math.floor(box.top))
    r, b = max(int(math.ceil(box.right)), l + 1), max(int(math.ceil(box.bottom)), t + 1)
    out_shape = (b - t, r - l) + img.shape[2:]
    canvas = np.full(out_shape, fill, dtype=img.dtype)
    sl, st, sr, sb = max(l, 0), max(t, 0), min(r, w), min(b, h)
    if sr > sl and sb > st:
        canvas[st - t:sb - t, sl - l:sr - l] = img[st:sb, sl:sr]
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if canvas.shape[0] > size else cv2.INTER_LINEAR)
    return cv2.resize(canvas, (size, size), interpolation=interp)


def depth_mm_to_u8(depth_mm: np.ndarray, distance_mm: float, window_mm: float = DEPTH_WINDOW_MM,
                   near_offset_mm: float = NEAR_OFFSET_MM) -> np.ndarray:
    """Metric depth (mm, 0 = no reading) -> 8-bit depth map as the papers use (004: "8-bit images"):
    255 at ``distance - near_offset``, 0 at ``distance - near_offset + window`` and beyond (nearer
    = brighter); missing readings and background = 0. The encoding is not stated in 001/003:
    decided here (1 grey level = 250/255 mm)."""
    z = np.asarray(depth_mm, np.float64)
    near = distance_mm - near_offset_mm
    v = 255.0 * (1.0 - (z - near) / window_mm)
    v = np.clip(np.rint(v), 0, 255)
    v[(z <= 0) | ~np.isfinite(z)] = 0
    return v.astype(np.uint8)


def crop_quality(depth_crop_mm: np.ndarray, distance_mm: float, box, image_shape,
                 window_mm: float = 250.0, near_offset_mm: float = 125.0) -> dict:
    """Statistics of one eq. 6 crop for ``experiments.cgan.exclusion.exclusion_reason``:

    near_fraction: share of crop pixels with a reading more than OCCLUDER_MM in front of D;
    valid_fraction: share of crop pixels with a reading inside the 8-bit window
    [D - near_offset, D - near_offset + window];
    outside_fraction: share of the window's area outside the frame (image_shape = (h, w))."""
    z = np.asarray(depth_crop_mm, np.float64)
    if z.size == 0:
        raise ValueError("empty depth crop")
    has = (z > 0) & np.isfinite(z)
    near = has & (z < distance_mm - OCCLUDER_MM)
    lo = distance_mm - near_offset_mm
    valid = has & (z >= lo) & (z <= lo + window_mm)
    h, w = image_shape[:2]
    area = max(box.width, 1e-9) * max(box.height, 1e-9)
    iw = max(0.0, min(box.right, w) - max(box.left, 0.0))
    ih = max(0.0, min(box.bottom, h) - max(box.top, 0.0))
    return {"near_fraction": float(near.mean()), "valid_fraction": float(valid.mean()),
            "outside_fraction": float(1.0 - iw * ih / area)}
