"""The geometric frontal PAD function of Schlett et al. IV-G, plus plausibility bounds.

IV-G (000_5d0e6bc7884ed0ba.txt): "This function declared each landmark as either valid or invalid,
and computed the PAD error as the ratio of invalid landmarks to the total landmark count (i.e. 68).
Landmarks were declared as invalid if they had a hole depth value, or if their depth was nearer than
the tip of the nose landmark depth, or, for the jawline landmarks, if their depth decreased from the
frontal chin landmark center (landmark 9 in Figure 12) relative to the preceding landmark (e.g.
landmark 7 was marked invalid if landmark 8 had a greater depth value)."

Implemented literally on the paper's depth format (uint16, 0 = nearest, larger = farther, 65535 =
hole), 0-based dlib indices (nose tip 30 = paper's 31, chin 8 = paper's 9):

* hole: ``d[i] == 65535``;
* nearer than the nose tip: ``d[i] < d[30]``;
* jawline (0..16 without the chin 8): walking outwards from the chin, the preceding landmark is the
  neighbour nearer to the chin (``i + 1`` for ``i < 8``, ``i - 1`` for ``i > 8``); invalid when
  ``d[i] < d[preceding]`` (strictly: equal depth is not a decrease).

Comparisons use the stored values, holes included, as the paper's wording and Table VII imply (a
maximum error of 1.000 for "None" is only reachable when a hole nose tip makes every measured
landmark "nearer" than it). A landmark is sampled at its rounded pixel position
(``floor(x + 0.5)``); a landmark outside the image counts as a hole.

``plausibility`` adds the bounds the real-time program needs beyond IV-G (the paper: "sufficiently
large or implausible depth deviations leading to rejections"): a printed photo, flat or bent, is a
smooth low-order surface, so a quadratic surface fitted to the other landmarks (all but the nose 27..35
and the inner lips 60..67) predicts the nose
tip's depth; a real nose sticks out of that surface by one to three centimetres. See docs/notes/70_pad.md.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np

from prnet_synth.conventions import HOLE, MM_PER_UNIT
from prnet_synth.landmarks import CHIN, JAW, NOSE, NOSE_TIP

__all__ = [
    "N_LANDMARKS", "jaw_predecessor", "sample_landmark_depth", "GeometricPadResult", "geometric_pad",
    "geometric_pad_errors", "PlausibilityBounds", "PlausibilityResult", "plausibility", "BOUNDS_PRESETS",
]

N_LANDMARKS = 68


def jaw_predecessor() -> dict[int, int]:
    """For each jawline landmark except the chin: the preceding landmark on the way out from the chin."""
    pred = {}
    for i in JAW:
        if i < CHIN:
            pred[i] = i + 1
        elif i > CHIN:
            pred[i] = i - 1
    return pred


_PRED = jaw_predecessor()
_JAW_IDX = np.array(sorted(_PRED), dtype=np.int64)
_JAW_PRED = np.array([_PRED[i] for i in sorted(_PRED)], dtype=np.int64)


def _check_landmarks(landmarks: np.ndarray, what: str = "landmarks") -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 2 or lm.shape[0] != N_LANDMARKS or lm.shape[1] < 2:
        raise ValueError(f"{what}: expected dlib's 68 (x, y) points as a (68, 2) array, got shape {lm.shape}")
    return lm


def sample_landmark_depth(depth: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth at each landmark's rounded pixel: (uint16 (68,), inside bool (68,)); outside -> 65535."""
    d = np.asarray(depth)
    if d.dtype != np.uint16 or d.ndim != 2:
        raise ValueError(f"geometric PAD: expected a uint16 HxW depth image (65535 = hole), got {d.dtype} {d.shape}")
    lm = _check_landmarks(landmarks)
    finite = np.all(np.isfinite(lm[:, :2]), axis=1)
    xy = np.where(finite[:, None], lm[:, :2], -1.0)
    col = np.floor(xy[:, 0] + 0.5).astype(np.int64)
    row = np.floor(xy[:, 1] + 0.5).astype(np.int64)
    inside = finite & (col >= 0) & (col < d.shape[1]) & (row >= 0) & (row < d.shape[0])
    vals = np.full(N_LANDMARKS, HOLE, dtype=np.uint16)
    vals[inside] = d[row[inside], col[inside]]
    return vals, inside


@dataclass(frozen=True)
class GeometricPadResult:
    """Per-landmark criteria of IV-G (bool arrays of 68) and the PAD error (invalid / 68)."""

    depth: np.ndarray              # uint16 (68,) sampled depth (65535 = hole or outside)
    hole: np.ndarray               # criterion 1 (includes landmarks outside the image)
    nearer_than_nose: np.ndarray   # criterion 2
    jaw_decrease: np.ndarray       # criterion 3 (False for non-jaw landmarks and the chin)
    outside: np.ndarray            # subset of ``hole``: landmark outside the image
    invalid: np.ndarray            # union of the three criteria
    error: float                   # invalid.sum() / 68

    def counts(self) -> dict[str, int]:
        return {"hole": int(self.hole.sum()), "nearer_than_nose": int(self.nearer_than_nose.sum()),
                "jaw_decrease": int(self.jaw_decrease.sum()), "outside": int(self.outside.sum()),
                "invalid": int(self.invalid.sum())}


def geometric_pad(depth: np.ndarray, landmarks: np.ndarray) -> GeometricPadResult:
    """IV-G geometric PAD check of one depth image (paper format) at dlib's 68 landmarks (x, y)."""
    vals, inside = sample_landmark_depth(depth, landmarks)
    v = vals.astype(np.int64)
    hole = vals == HOLE
    nearer = v < v[NOSE_TIP]
    jaw = np.zeros(N_LANDMARKS, dtype=bool)
    jaw[_JAW_IDX] = v[_JAW_IDX] < v[_JAW_PRED]
    invalid = hole | nearer | jaw
    return GeometricPadResult(depth=vals, hole=hole, nearer_than_nose=nearer, jaw_decrease=jaw,
                              outside=~inside, invalid=invalid, error=float(invalid.sum()) / N_LANDMARKS)


def geometric_pad_errors(depths: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """PAD errors (float64 (N,)) of N depth images (NxHxW) with their landmarks (Nx68x2)."""
    d = np.asarray(depths)
    lm = np.asarray(landmarks)
    if d.ndim != 3 or lm.ndim != 3 or d.shape[0] != lm.shape[0]:
        raise ValueError(f"geometric_pad_errors: expected NxHxW depths and Nx68x2 landmarks, got {d.shape}, {lm.shape}")
    return np.array([geometric_pad(d[i], lm[i]).error for i in range(d.shape[0])], dtype=np.float64)


# ----------------------------------------------------------------------------- plausibility
@dataclass(frozen=True)
class PlausibilityBounds:
    """Bounds on landmark depth geometry (millimetres) beyond IV-G, for the real-time program.

    ``min_nose_protrusion_mm``: the nose tip must be at least this much nearer than the quadratic
    surface fitted to the other landmarks (all but nose and inner lips) predicts (a flat or bent
    sheet: about 0).
    ``max_nose_protrusion_mm``: ...and not implausibly far out (a pointed object, a spike).
    ``max_inner_relief_mm``: no measured brow, nose or eye landmark (17..47) farther than this behind
    the nose tip (a real face: about 20-45 mm). The jawline is left out because at the face contour
    it may lie on ears, hair or neck, the mouth because an open mouth is deep.
    ``min_fit_landmarks``: valid landmarks needed for the fit (of 51); fewer -> not plausible.
    ``tip_search``: the nose tip's depth is the nearest valid depth within +-r pixels of landmark 30,
    r = ``tip_search`` x the landmarks' box size (dlib's tip often sits a few pixels up the nose
    slope; the real tip is the locally nearest point). 0 = the landmark's own pixel.
    """

    min_nose_protrusion_mm: float = 5.0
    max_nose_protrusion_mm: float = 60.0
    max_inner_relief_mm: float = 80.0
    min_fit_landmarks: int = 24
    tip_search: float = 0.04


BOUNDS_PRESETS: dict[str, PlausibilityBounds] = {
    "default": PlausibilityBounds(),
    # looser, for noisy sensors at a distance
    "lenient": PlausibilityBounds(min_nose_protrusion_mm=3.5, max_nose_protrusion_mm=80.0, max_inner_relief_mm=120.0,
                                  min_fit_landmarks=16),
}


@dataclass(frozen=True)
class PlausibilityResult:
    nose_protrusion_mm: Optional[float]
    relief_mm: Optional[float]      # farthest measured brow/nose/eye landmark behind the nose tip
    n_fit: int
    checks: dict = field(default_factory=dict)   # name -> bool (True = passed)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(self.checks.values())

    def as_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return out


_NOSE_SET = set(NOSE)
_INNER = tuple(range(17, 48))     # brows, nose, eyes (not the jaw, not the mouth: an open mouth is deep)
_INNER_LIP = set(range(60, 68))  # on the mouth opening when the mouth is open
_FIT_IDX = np.array([i for i in range(N_LANDMARKS) if i not in _NOSE_SET and i not in _INNER_LIP], dtype=np.int64)


def _quadric_design(xy: np.ndarray) -> np.ndarray:
    x, y = xy[:, 0], xy[:, 1]
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _tip_depth(depth: np.ndarray, lm: np.ndarray, search: float) -> Optional[float]:
    """Nearest valid depth (units) within +-r pixels of the nose-tip landmark, r = round(search * face size)."""
    x0, y0 = lm[:, :2].min(axis=0)
    x1, y1 = lm[:, :2].max(axis=0)
    r = max(0, int(round(search * max(x1 - x0, y1 - y0))))
    if not np.all(np.isfinite(lm[NOSE_TIP, :2])):
        return None
    c = int(np.floor(lm[NOSE_TIP, 0] + 0.5))
    rr = int(np.floor(lm[NOSE_TIP, 1] + 0.5))
    win = depth[max(rr - r, 0):max(rr + r + 1, 0), max(c - r, 0):max(c + r + 1, 0)]
    win = win[win != HOLE]
    return float(win.min()) if win.size else None


def plausibility(depth: np.ndarray, landmarks: np.ndarray,
                 bounds: PlausibilityBounds = PlausibilityBounds(),
                 mm_per_unit: float = MM_PER_UNIT) -> PlausibilityResult:
    """Depth-geometry plausibility of a face (paper-format depth, 68 landmarks in its frame)."""
    vals, _ = sample_landmark_depth(depth, landmarks)
    lm = _check_landmarks(landmarks)
    valid = vals != HOLE
    z = vals.astype(np.float64) * mm_per_unit
    tip_units = _tip_depth(np.asarray(depth), lm, bounds.tip_search)
    if tip_units is None:
        return PlausibilityResult(None, None, 0, {"nose_tip_measured": False})
    tip = tip_units * mm_per_unit
    inner = np.zeros(N_LANDMARKS, dtype=bool)
    inner[list(_INNER)] = True
    inner &= valid
    relief = float(z[inner].max() - tip)
    fit = _FIT_IDX[valid[_FIT_IDX]]
    checks = {"nose_tip_measured": True, "inner_relief": bool(relief <= bounds.max_inner_relief_mm),
              "enough_landmarks": bool(fit.size >= bounds.min_fit_landmarks)}
    protrusion = None
    if fit.size >= 6:
        xy = lm[:, :2]
        centre = xy[fit].mean(axis=0)
        scale = float(np.sqrt(((xy[fit] - centre) ** 2).sum(axis=1).mean())) or 1.0
        norm = (xy - centre) / scale
        coef, *_ = np.linalg.lstsq(_quadric_design(norm[fit]), z[fit], rcond=None)
        predicted = float((_quadric_design(norm[NOSE_TIP:NOSE_TIP + 1]) @ coef)[0])
        protrusion = float(predicted - tip)
        checks["nose_protrusion"] = bool(bounds.min_nose_protrusion_mm <= protrusion <= bounds.max_nose_protrusion_mm)
    else:
        checks["nose_protrusion"] = False
    return PlausibilityResult(nose_protrusion_mm=protrusion, relief_mm=relief, n_fit=int(fit.size), checks=checks)
