"""IV-J preprocessing of real colour + depth frames into the paper's 256x256 depth format.

Schlett et al. (000_5d0e6bc7884ed0ba.txt, IV-J): the D435 depth is aligned with the colour stream, a
square face ROI is cut, "the depth is normalized for a 25cm range starting at the closest detected
depth value in the ROI", the ROI is "scaled to 256x256", and RealSense's 0-holes become 65535.

What the paper leaves open is decided here (see docs/notes/70_pad.md):

* **ROI** (``square_roi``): PRNet's own crop rule, because the enhancers were trained on PRNet's
  256x256 crop frame. From 68 landmarks: centre of their bounding box, side ``1.6 * (w + h) / 2``.
  From a dlib box: centre moved down by ``0.14 * old_size``, side ``1.58 * old_size``
  (``old_size = (w + h) / 2``). The side is rounded to whole pixels and the ROI is an integer pixel
  square; parts outside the frame are padded (depth: hole, colour: black).
* **Nearest depth**: the smallest valid metric depth in the square ROI (the paper's words,
  unfiltered).
* **Resize** (``resize_depth_mm``): holes must neither spread their value into valid pixels nor be
  closed or grown by the resize. Depth values are resampled with validity weights
  (``sum(w * v * z) / sum(w * v)``, cv2 INTER_AREA when shrinking, INTER_LINEAR when enlarging);
  the hole mask is resampled by centre-aligned nearest neighbour, so a hole in the source stays a
  hole of the same extent in the output. Normalisation to uint16 happens after the resize, in
  millimetres, so the resize never mixes hole codes with depth codes.
* **Coordinates**: pixel centres at integer positions; a source pixel centre ``x`` maps to
  ``(x - left + 0.5) * 256 / side - 0.5`` in the output frame (``map_points``), the same centre-
  aligned mapping the resampling uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from prnet_synth.conventions import DEPTH_RANGE_MM, HOLE, SIZE, normalize_metric_depth

__all__ = [
    "LANDMARK_CROP_FACTOR", "BOX_CROP_FACTOR", "BOX_CENTER_SHIFT",
    "Roi", "Preprocessed", "square_roi", "roi_from_landmarks", "roi_from_box",
    "crop_roi", "map_points", "unmap_points", "nearest_resize_mask", "resize_depth_mm",
    "resize_color", "raw_to_mm", "preprocess_frame",
]

LANDMARK_CROP_FACTOR = 1.6   # PRNet api.py, crop from landmarks / a bounding box
BOX_CROP_FACTOR = 1.58       # PRNet api.py, crop from a dlib detector box
BOX_CENTER_SHIFT = 0.14      # PRNet api.py: centre moved down by 0.14 * old_size for a dlib box


@dataclass(frozen=True)
class Roi:
    """An integer square region of the source frame: columns left..left+size-1, rows top..top+size-1."""

    left: int
    top: int
    size: int

    @property
    def right(self) -> int:
        return self.left + self.size

    @property
    def bottom(self) -> int:
        return self.top + self.size

    def as_tuple(self) -> tuple[int, int, int]:
        return (self.left, self.top, self.size)


@dataclass(frozen=True)
class Preprocessed:
    """The result of ``preprocess_frame``.

    ``depth``: uint16 out_size x out_size, paper convention (0 = nearest, 65535 = hole, 250 mm range);
    ``color``: uint8 out_size x out_size x 3 ROI crop (black outside the source frame);
    ``landmarks``: float32 (68, 2) in the output frame, or None when none were given;
    ``roi``: the square in source pixels; ``nearest_mm``: the ROI's nearest valid depth (None when
    the ROI holds no valid depth, then ``depth`` is all holes); ``scale``: output px per source px.
    """

    depth: np.ndarray
    color: Optional[np.ndarray]
    landmarks: Optional[np.ndarray]
    roi: Roi
    nearest_mm: Optional[float]
    scale: float


# ----------------------------------------------------------------------------- ROI
def square_roi(center_x: float, center_y: float, side: float) -> Roi:
    """Integer square of side ``round(side)`` (>= 1) centred on (center_x, center_y) (pixel-centre coordinates)."""
    if not (np.isfinite(center_x) and np.isfinite(center_y) and np.isfinite(side)) or side <= 0:
        raise ValueError(f"square_roi: need a finite centre and a positive side, got ({center_x}, {center_y}), {side}")
    n = max(1, int(round(side)))
    # pixel i covers [i - 0.5, i + 0.5]; the square [cx - n/2, cx + n/2] starts at pixel cx - n/2 + 0.5
    left = int(np.floor(center_x - n / 2.0 + 0.5))
    top = int(np.floor(center_y - n / 2.0 + 0.5))
    return Roi(left, top, n)


def roi_from_landmarks(landmarks: np.ndarray, factor: float = LANDMARK_CROP_FACTOR) -> Roi:
    """PRNet's landmark crop: centre of the landmarks' box, side ``factor * (w + h) / 2``."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] < 2 or pts.shape[0] < 2 or not np.all(np.isfinite(pts[:, :2])):
        raise ValueError(f"roi_from_landmarks: expected finite (N>=2, 2) points, got shape {pts.shape}")
    x0, y0 = pts[:, :2].min(axis=0)
    x1, y1 = pts[:, :2].max(axis=0)
    old = ((x1 - x0) + (y1 - y0)) / 2.0
    if old <= 0:
        raise ValueError("roi_from_landmarks: the landmarks span no area")
    return square_roi((x0 + x1) / 2.0, (y0 + y1) / 2.0, old * factor)


def roi_from_box(box: Sequence[float], factor: float = BOX_CROP_FACTOR, shift: float = BOX_CENTER_SHIFT) -> Roi:
    """PRNet's detector-box crop for a (left, top, right, bottom[, score]) box."""
    l, t, r, b = (float(v) for v in tuple(box)[:4])
    old = ((r - l) + (b - t)) / 2.0
    if old <= 0:
        raise ValueError(f"roi_from_box: empty box {tuple(box)[:4]}")
    return square_roi((l + r) / 2.0, (t + b) / 2.0 + shift * old, old * factor)


def crop_roi(image: np.ndarray, roi: Roi, fill) -> np.ndarray:
    """Cut ``roi`` out of ``image`` (HxW or HxWxC); pixels outside the image get ``fill``."""
    img = np.asarray(image)
    h, w = img.shape[:2]
    out = np.full((roi.size, roi.size) + img.shape[2:], fill, dtype=img.dtype)
    x0, y0 = max(roi.left, 0), max(roi.top, 0)
    x1, y1 = min(roi.right, w), min(roi.bottom, h)
    if x1 > x0 and y1 > y0:
        out[y0 - roi.top:y1 - roi.top, x0 - roi.left:x1 - roi.left] = img[y0:y1, x0:x1]
    return out


def map_points(points: np.ndarray, roi: Roi, out_size: int = SIZE) -> np.ndarray:
    """Source-frame (x, y[, ...]) points -> the out_size x out_size ROI frame (extra columns kept)."""
    pts = np.array(points, dtype=np.float32, copy=True)
    s = out_size / roi.size
    pts[:, 0] = (pts[:, 0] - roi.left + 0.5) * s - 0.5
    pts[:, 1] = (pts[:, 1] - roi.top + 0.5) * s - 0.5
    return pts


def unmap_points(points: np.ndarray, roi: Roi, out_size: int = SIZE) -> np.ndarray:
    """Inverse of ``map_points``."""
    pts = np.array(points, dtype=np.float32, copy=True)
    s = roi.size / out_size
    pts[:, 0] = (pts[:, 0] + 0.5) * s - 0.5 + roi.left
    pts[:, 1] = (pts[:, 1] + 0.5) * s - 0.5 + roi.top
    return pts


# ----------------------------------------------------------------------------- resampling
def nearest_resize_mask(mask: np.ndarray, out_size: int = SIZE) -> np.ndarray:
    """Centre-aligned nearest-neighbour resize of a square boolean mask: out[i, j] = mask[si, sj],
    ``si = floor((i + 0.5) * n / out_size)``."""
    m = np.asarray(mask, dtype=bool)
    n_y, n_x = m.shape
    iy = np.minimum(((np.arange(out_size) + 0.5) * n_y / out_size).astype(np.int64), n_y - 1)
    ix = np.minimum(((np.arange(out_size) + 0.5) * n_x / out_size).astype(np.int64), n_x - 1)
    return m.take(iy, axis=0).take(ix, axis=1)


def resize_depth_mm(z_mm: np.ndarray, valid: np.ndarray, out_size: int = SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Resize metric depth with holes to out_size x out_size; returns (z float64, valid bool).

    Valid output pixels carry the validity-weighted mean of the source pixels under them (area
    weights when shrinking, bilinear weights when enlarging); the output hole mask is the
    nearest-neighbour resize of the source hole mask (plus pixels with no valid source weight).
    """
    import cv2

    z = np.asarray(z_mm, dtype=np.float64)
    v = np.asarray(valid, dtype=bool)
    if z.shape != v.shape or z.ndim != 2:
        raise ValueError(f"resize_depth_mm: depth {z.shape} and mask {v.shape} must be equal 2-D shapes")
    if z.shape == (out_size, out_size):
        return np.where(v, z, 0.0), v.copy()
    shrink = z.shape[0] >= out_size and z.shape[1] >= out_size
    interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    vf = v.astype(np.float64)
    num = cv2.resize(np.where(v, z, 0.0), (out_size, out_size), interpolation=interp)
    den = cv2.resize(vf, (out_size, out_size), interpolation=interp)
    ok = nearest_resize_mask(v, out_size) & (den > 1e-9)
    out = np.zeros((out_size, out_size), dtype=np.float64)
    out[ok] = num[ok] / den[ok]
    return out, ok


def resize_color(color: np.ndarray, out_size: int = SIZE) -> np.ndarray:
    """Resize a uint8 colour/gray crop (INTER_AREA when shrinking, INTER_LINEAR when enlarging)."""
    import cv2

    img = np.ascontiguousarray(color)
    if img.shape[:2] == (out_size, out_size):
        return img.copy()
    interp = cv2.INTER_AREA if img.shape[0] >= out_size else cv2.INTER_LINEAR
    return cv2.resize(img, (out_size, out_size), interpolation=interp)


def raw_to_mm(depth_raw: np.ndarray, depth_scale_m: float) -> tuple[np.ndarray, np.ndarray]:
    """RealSense Z16 (0 = hole) and its depth scale (metres per unit) -> (mm float64, valid bool)."""
    d = np.asarray(depth_raw)
    if d.ndim != 2 or d.dtype.kind not in "ui":
        raise ValueError(f"raw_to_mm: expected an integer HxW RealSense depth image, got {d.dtype} {d.shape}")
    if not (depth_scale_m > 0 and np.isfinite(depth_scale_m)):
        raise ValueError(f"raw_to_mm: depth scale must be a positive number of metres per unit, got {depth_scale_m}")
    valid = d > 0
    return d.astype(np.float64) * (float(depth_scale_m) * 1000.0), valid


# ----------------------------------------------------------------------------- the whole step
def preprocess_frame(depth_raw: np.ndarray, depth_scale_m: float, *, color: Optional[np.ndarray] = None,
                     landmarks: Optional[np.ndarray] = None, box: Optional[Sequence[float]] = None,
                     roi: Optional[Roi] = None, out_size: int = SIZE,
                     range_mm: float = DEPTH_RANGE_MM) -> Preprocessed:
    """IV-J: square face ROI -> 25 cm normalisation from the ROI's nearest depth -> 65535 holes -> 256x256.

    ``depth_raw``: RealSense Z16 depth **aligned to the colour frame** (0 = hole), with
    ``depth_scale_m`` metres per unit (D435: usually 0.001). The ROI comes from ``roi`` if given,
    else from ``landmarks`` (68x2, colour-frame pixels; PRNet factor 1.6), else from a detector
    ``box`` (PRNet factor 1.58, centre shifted down by 0.14 of the box size).
    """
    d = np.asarray(depth_raw)
    if color is not None and np.asarray(color).shape[:2] != d.shape[:2]:
        raise ValueError(f"preprocess_frame: colour {np.asarray(color).shape[:2]} and depth {d.shape[:2]} "
                         "differ in size; align depth to colour first")
    if roi is None:
        if landmarks is not None:
            roi = roi_from_landmarks(landmarks)
        elif box is not None:
            roi = roi_from_box(box)
        else:
            raise ValueError("preprocess_frame: give landmarks, a face box or an explicit roi")
    # crop first (RealSense 0 = hole pads the outside), then convert only the ROI
    z_roi, v_roi = raw_to_mm(crop_roi(d, roi, 0), depth_scale_m)
    nearest = float(z_roi[v_roi].min()) if v_roi.any() else None
    z_out, v_out = resize_depth_mm(z_roi, v_roi, out_size)
    if nearest is None:
        depth = np.full((out_size, out_size), HOLE, dtype=np.uint16)
    else:
        # weighted means of values >= nearest are >= nearest; clip float round-off below it
        z_out = np.maximum(z_out, nearest)
        depth = normalize_metric_depth(z_out, v_out, near_mm=nearest, range_mm=range_mm)
    col = None
    if color is not None:
        col = resize_color(crop_roi(np.asarray(color), roi, 0), out_size)
    lm = None
    if landmarks is not None:
        lm = map_points(np.asarray(landmarks, dtype=np.float32)[:, :2], roi, out_size)
    return Preprocessed(depth=depth, color=col, landmarks=lm, roi=roi, nearest_mm=nearest,
                        scale=out_size / roi.size)
