"""Evaluation metrics, as the papers define them.

Schlett et al. (000_5d0e6bc7884ed0ba.txt), on paper-convention uint16 images (65535 = hole),
values normalised by 65535 before any arithmetic:

* :func:`face_rmse` (IV-D): RMSE over the *face image area* = the non-hole pixels of the ground
  truth ("n then being equivalent to the count thereof"); a hole left in the enhancer output
  keeps its value 65535 (1.0 after normalisation) and so counts as a large error.
  :func:`full_image_rmse`: the same over all pixels (n = 256^2), mentioned but not tabulated.
* :func:`roughness` (IV-E): per pixel, the response of the 3x3 kernel (centre 1, the eight
  neighbours -1/8); per image, the mean absolute response over the pixels of ``mask`` whose
  whole 3x3 neighbourhood lies inside the image and holds no hole (see the notes: holes are
  counted by :func:`hole_fraction`, not by the roughness). Table V reports it x 100.
* :func:`hole_fraction` (IV-E): the fraction of ``mask`` pixels that are holes (x 100 in Table V).
* :func:`falsification_rmse` (IV-F): RMSE between enhancer input and output inside ``mask``,
  ignoring the input's holes (x 100 in Table VI).
* :func:`summarize`: the Table IV columns for per-image values: mean, sample standard deviation
  (ddof = 1), skewness and excess kurtosis (scipy.stats, ``bias=False``: the adjusted
  Fisher-Pearson estimators G1 and G2).

Pini et al. (001_0e755b52ea8f3ea4.txt, Table 1) with the definitions of their reference [8]
(Eigen, Puhrsch, Fergus 2014), on positive depth maps (any unit): :func:`pixel_metrics` returns
the 13 values of Table 1 under the keys of ``PINI_METRICS``.

Batches: every Schlett metric takes HxW images (-> float) or NxHxW batches (-> float64 array of
N per-image values). A metric that has no pixel to average over returns NaN.
"""
from __future__ import annotations

import math

import numpy as np

from prnet_synth.conventions import HOLE

__all__ = ["face_rmse", "full_image_rmse", "roughness", "roughness_map", "ROUGHNESS_KERNEL",
           "hole_fraction", "falsification_rmse", "summarize", "PINI_METRICS", "PINI_DELTA_EXPONENTS",
           "pixel_metrics", "l1_norm", "l2_norm", "abs_rel_diff", "sq_rel_diff", "rmse_lin", "rmse_log",
           "rmse_scale_inv", "delta_accuracy"]

ROUGHNESS_KERNEL = np.full((3, 3), -1.0 / 8.0)
ROUGHNESS_KERNEL[1, 1] = 1.0

_SCALE = 65535.0


# ----------------------------------------------------------------------------- helpers
def _as_u16(a, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype != np.uint16:
        raise ValueError(f"{what}: expected uint16 depth (65535 = hole), got dtype {arr.dtype} shape {arr.shape}")
    if arr.ndim not in (2, 3):
        raise ValueError(f"{what}: expected HxW or NxHxW, got shape {arr.shape}")
    return arr


def _pair(a, b, names: tuple[str, str]):
    x = _as_u16(a, names[0])
    y = _as_u16(b, names[1])
    if x.shape != y.shape:
        raise ValueError(f"{names[0]} shape {x.shape} differs from {names[1]} shape {y.shape}")
    return x, y


def _mask_for(mask, shape, what: str) -> np.ndarray:
    """Broadcast a HxW or NxHxW mask (None = everywhere) to ``shape``."""
    if mask is None:
        return np.ones(shape, bool)
    m = np.asarray(mask).astype(bool)
    if m.shape != shape and m.shape != shape[-2:]:
        raise ValueError(f"{what}: mask shape {m.shape} does not fit image shape {shape}")
    return np.broadcast_to(m, shape)


def _per_image(fn, *arrays):
    """Apply ``fn`` image by image; float for HxW input, float64 array for NxHxW."""
    if arrays[0].ndim == 2:
        return float(fn(*arrays))
    return np.array([fn(*(a[i] for a in arrays)) for i in range(arrays[0].shape[0])], dtype=np.float64)


def _rmse_over(gt, out, sel) -> float:
    n = int(np.count_nonzero(sel))
    if n == 0:
        return math.nan
    d = (gt[sel].astype(np.float64) - out[sel].astype(np.float64)) / _SCALE
    return math.sqrt(float(np.dot(d, d)) / n)


# ----------------------------------------------------------------------------- Schlett IV-D
def face_rmse(gt, out):
    """IV-D RMSE over the ground truth's non-hole pixels, values / 65535 (output holes = 1.0)."""
    g, o = _pair(gt, out, ("face_rmse ground truth", "face_rmse output"))
    return _per_image(lambda a, b: _rmse_over(a, b, a != HOLE), g, o)


def full_image_rmse(gt, out):
    """IV-D RMSE over the full image area (n = H*W), values / 65535, holes as 1.0 on both sides."""
    g, o = _pair(gt, out, ("full_image_rmse ground truth", "full_image_rmse output"))
    return _per_image(lambda a, b: _rmse_over(a, b, np.ones(a.shape, bool)), g, o)


# ----------------------------------------------------------------------------- Schlett IV-E
def roughness_map(depth):
    """Per-pixel kernel response (values / 65535) and the boolean map of pixels where it is
    defined: interior pixels whose 3x3 neighbourhood holds no hole. HxW only."""
    d = _as_u16(depth, "roughness input")
    if d.ndim != 2:
        raise ValueError(f"roughness_map takes one HxW image, got shape {d.shape}")
    h, w = d.shape
    resp = np.zeros((h, w), np.float64)
    ok = np.zeros((h, w), bool)
    if h < 3 or w < 3:
        return resp, ok
    v = d.astype(np.float64) / _SCALE
    valid = d != HOLE
    centre = v[1:-1, 1:-1]
    neigh = np.zeros_like(centre)
    good = valid[1:-1, 1:-1].copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neigh += v[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
            good &= valid[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx]
    resp[1:-1, 1:-1] = centre - neigh / 8.0
    ok[1:-1, 1:-1] = good
    return resp, ok


def _roughness_one(d, m):
    resp, ok = roughness_map(d)
    sel = ok & m
    n = int(np.count_nonzero(sel))
    return math.nan if n == 0 else float(np.abs(resp[sel]).mean())


def roughness(depth, mask=None):
    """IV-E roughness: mean |3x3 kernel response| (values / 65535) over the ``mask`` pixels
    whose whole 3x3 neighbourhood is inside the image and hole-free. NaN if there is none."""
    d = _as_u16(depth, "roughness input")
    m = _mask_for(mask, d.shape, "roughness")
    return _per_image(_roughness_one, d, m)


def hole_fraction(depth, mask=None):
    """IV-E: fraction (0..1) of the ``mask`` pixels that are holes (65535). NaN for an empty mask."""
    d = _as_u16(depth, "hole_fraction input")
    m = _mask_for(mask, d.shape, "hole_fraction")

    def one(a, mm):
        n = int(np.count_nonzero(mm))
        return math.nan if n == 0 else np.count_nonzero((a == HOLE) & mm) / n

    return _per_image(one, d, m)


# ----------------------------------------------------------------------------- Schlett IV-F
def falsification_rmse(inp, out, mask=None):
    """IV-F: RMSE (values / 65535) between enhancer input and output over the ``mask`` pixels
    where the input is not a hole; holes left in the output count as 65535."""
    i, o = _pair(inp, out, ("falsification_rmse input", "falsification_rmse output"))
    m = _mask_for(mask, i.shape, "falsification_rmse")
    return _per_image(lambda a, b, mm: _rmse_over(a, b, mm & (a != HOLE)), i, o, m)


# ----------------------------------------------------------------------------- summaries
def summarize(values) -> dict:
    """Table IV columns for a set of per-image values: ``n`` (finite values used), ``mean``,
    ``std`` (sample, ddof=1), ``skewness`` and ``kurtosis`` (excess, Fisher), both with
    scipy.stats ``bias=False``. Non-finite values (NaN from images without usable pixels) are
    left out and counted in ``n_dropped``."""
    from scipy import stats

    a = np.asarray(values, dtype=np.float64).ravel()
    fin = a[np.isfinite(a)]
    n = int(fin.size)
    res = {"n": n, "n_dropped": int(a.size - n), "mean": math.nan, "std": math.nan,
           "skewness": math.nan, "kurtosis": math.nan}
    if n >= 1:
        res["mean"] = float(fin.mean())
    if n >= 2:
        res["std"] = float(fin.std(ddof=1))
    if n >= 3:
        res["skewness"] = float(stats.skew(fin, bias=False))
    if n >= 4:
        res["kurtosis"] = float(stats.kurtosis(fin, fisher=True, bias=False))
    return res


# ----------------------------------------------------------------------------- Pini Table 1
PINI_DELTA_EXPONENTS = {"delta_1.25": 1.0, "delta_1.25^2": 2.0, "delta_1.25^3": 3.0,
                        "delta_1.25^(1/4)": 0.25, "delta_1.25^(1/3)": 1.0 / 3.0, "delta_1.25^(1/2)": 0.5}
PINI_METRICS = ("l1_norm", "l2_norm", "abs_rel_diff", "sq_rel_diff", "rmse_lin", "rmse_log",
                "rmse_scale_inv") + tuple(PINI_DELTA_EXPONENTS)


def _pix(gt, pred, mask, eps):
    """The evaluated pixels T: inside mask, finite, ground truth > 0. Returns (y*, y) as float64
    vectors; the prediction is clipped below at ``eps`` so that ratios and logs stay defined."""
    g = np.asarray(gt, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if g.shape != p.shape:
        raise ValueError(f"ground truth shape {g.shape} differs from prediction shape {p.shape}")
    sel = np.isfinite(g) & np.isfinite(p) & (g > 0)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != g.shape:
            raise ValueError(f"mask shape {m.shape} differs from image shape {g.shape}")
        sel &= m
    return g[sel], np.maximum(p[sel], eps)


def l1_norm(gt, pred, mask=None, eps=1e-6):
    """Mean absolute difference over T (Pini's "L1 norm", per pixel)."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.mean(np.abs(p - g))) if g.size else math.nan


def l2_norm(gt, pred, mask=None, eps=1e-6):
    """Euclidean norm of the difference over T, sqrt(sum (y - y*)^2) (Pini's "L2 norm")."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.sqrt(np.sum((p - g) ** 2))) if g.size else math.nan


def abs_rel_diff(gt, pred, mask=None, eps=1e-6):
    """[8]: 1/|T| sum |y - y*| / y*."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.mean(np.abs(p - g) / g)) if g.size else math.nan


def sq_rel_diff(gt, pred, mask=None, eps=1e-6):
    """[8]: 1/|T| sum (y - y*)^2 / y*."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.mean((p - g) ** 2 / g)) if g.size else math.nan


def rmse_lin(gt, pred, mask=None, eps=1e-6):
    """[8]: sqrt(1/|T| sum (y - y*)^2)."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.sqrt(np.mean((p - g) ** 2))) if g.size else math.nan


def rmse_log(gt, pred, mask=None, eps=1e-6):
    """[8]: sqrt(1/|T| sum (log y - log y*)^2)."""
    g, p = _pix(gt, pred, mask, eps)
    return float(np.sqrt(np.mean((np.log(p) - np.log(g)) ** 2))) if g.size else math.nan


def rmse_scale_inv(gt, pred, mask=None, eps=1e-6):
    """[8] eq. (1)-(3): sqrt(1/n sum d^2 - 1/n^2 (sum d)^2), d = log y - log y*."""
    g, p = _pix(gt, pred, mask, eps)
    if not g.size:
        return math.nan
    d = np.log(p) - np.log(g)
    val = float(np.mean(d ** 2) - np.mean(d) ** 2)
    return math.sqrt(max(val, 0.0))


def delta_accuracy(gt, pred, exponent=1.0, mask=None, eps=1e-6):
    """[8] threshold accuracy: fraction of T with max(y/y*, y*/y) < 1.25 ** exponent."""
    g, p = _pix(gt, pred, mask, eps)
    if not g.size:
        return math.nan
    return float(np.mean(np.maximum(p / g, g / p) < 1.25 ** exponent))


def pixel_metrics(gt, pred, mask=None, eps=1e-6) -> dict:
    """Pini's 13 pixel-wise metrics (Table 1) for one depth map pair, keys ``PINI_METRICS``.

    y = prediction, y* = ground truth; T = pixels inside ``mask`` with a finite, positive
    ground truth; predictions below ``eps`` are clipped to ``eps``. Average the per-image
    values over a test set for the table."""
    out = {
        "l1_norm": l1_norm(gt, pred, mask, eps),
        "l2_norm": l2_norm(gt, pred, mask, eps),
        "abs_rel_diff": abs_rel_diff(gt, pred, mask, eps),
        "sq_rel_diff": sq_rel_diff(gt, pred, mask, eps),
        "rmse_lin": rmse_lin(gt, pred, mask, eps),
        "rmse_log": rmse_log(gt, pred, mask, eps),
        "rmse_scale_inv": rmse_scale_inv(gt, pred, mask, eps),
    }
    for key, e in PINI_DELTA_EXPONENTS.items():
        out[key] = delta_accuracy(gt, pred, e, mask, eps)
    return out
