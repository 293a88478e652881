"""experiments.metrics against hand-computed cases (Schlett IV-D..IV-F, Table IV; Pini Table 1 / Eigen [8])."""
from __future__ import annotations

import math

import numpy as np
import pytest

from experiments import metrics as M

H = 65535
U = np.uint16


# ----------------------------------------------------------------------------- IV-D
def test_face_rmse_hand_computed():
    gt = np.array([[0, H], [13107, H]], U)          # face area: the two non-hole pixels
    out = np.array([[13107, 0], [H, H]], U)         # (0,0): 0.2 off; (1,0): leftover hole = 1.0
    # errors 0.2 and (1.0 - 0.2) = 0.8 -> sqrt((0.04 + 0.64) / 2)
    assert M.face_rmse(gt, out) == pytest.approx(math.sqrt(0.34), rel=1e-12)
    # full image: + (0,1) gt hole 1.0 vs 0 -> 1.0, + (1,1) hole vs hole -> 0
    assert M.full_image_rmse(gt, out) == pytest.approx(math.sqrt((0.04 + 0.64 + 1.0) / 4), rel=1e-12)
    assert M.face_rmse(gt, gt) == 0.0


def test_face_rmse_batch_and_errors():
    gt = np.array([[0, H], [13107, H]], U)
    out = np.array([[13107, 0], [H, H]], U)
    batch = M.face_rmse(np.stack([gt, gt]), np.stack([out, gt]))
    assert isinstance(batch, np.ndarray) and batch.shape == (2,)
    np.testing.assert_allclose(batch, [math.sqrt(0.34), 0.0])
    assert math.isnan(M.face_rmse(np.full((2, 2), H, U), np.zeros((2, 2), U)))
    with pytest.raises(ValueError, match="float64"):
        M.face_rmse(gt.astype(float), out)
    with pytest.raises(ValueError, match="shape"):
        M.face_rmse(gt, out[:1])


# ----------------------------------------------------------------------------- IV-E
def _bump():
    d = np.zeros((4, 4), U)
    d[1, 1] = 800
    return d


def test_roughness_kernel_hand_computed():
    d = _bump()
    # interior responses: (1,1) 800 - 0; (1,2), (2,1), (2,2): 0 - 800/8 = -100
    assert M.roughness(d) == pytest.approx((800 + 3 * 100) / 4 / H, rel=1e-12)
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    assert M.roughness(d, mask) == pytest.approx(800 / H, rel=1e-12)
    resp, ok = M.roughness_map(d)
    assert ok.sum() == 4 and not ok[0].any() and not ok[:, 3].any()
    assert resp[1, 1] == pytest.approx(800 / H) and resp[2, 2] == pytest.approx(-100 / H)


def test_roughness_holes_excluded():
    d = _bump()
    d[3, 3] = H           # (2,2) now has a hole in its neighbourhood
    assert M.roughness(d) == pytest.approx((800 + 100 + 100) / 3 / H, rel=1e-12)
    d = _bump()
    d[0, 0] = H           # excludes (1,1) only
    assert M.roughness(d) == pytest.approx(100 / H, rel=1e-12)
    assert math.isnan(M.roughness(np.full((4, 4), H, U)))
    assert math.isnan(M.roughness(np.zeros((2, 5), U)))


def test_roughness_matches_convolution():
    from scipy import ndimage

    rng = np.random.default_rng(0)
    d = rng.integers(1000, 3000, (20, 30)).astype(U)
    resp = ndimage.convolve(d.astype(np.float64) / H, M.ROUGHNESS_KERNEL, mode="constant")
    expect = np.abs(resp[1:-1, 1:-1]).mean()
    assert M.roughness(d) == pytest.approx(expect, rel=1e-10)
    assert M.ROUGHNESS_KERNEL.sum() == pytest.approx(0.0)
    batch = M.roughness(np.stack([d, np.zeros_like(d)]))
    np.testing.assert_allclose(batch, [expect, 0.0], rtol=1e-10)


def test_hole_fraction():
    d = np.array([[H, 0, H], [5, 6, 7]], U)
    assert M.hole_fraction(d) == pytest.approx(2 / 6)
    mask = np.array([[1, 1, 0], [1, 1, 0]], bool)
    assert M.hole_fraction(d, mask) == pytest.approx(1 / 4)
    np.testing.assert_allclose(M.hole_fraction(np.stack([d, np.zeros_like(d)]), mask), [0.25, 0.0])
    assert math.isnan(M.hole_fraction(d, np.zeros_like(mask)))


# ----------------------------------------------------------------------------- IV-F
def test_falsification_rmse():
    inp = np.array([[0, H], [13107, 26214]], U)
    out = np.array([[13107, 0], [13107, H]], U)
    mask = np.array([[1, 1], [1, 0]], bool)
    # (0,0) 0.2; (0,1) input hole ignored; (1,0) 0; (1,1) outside the mask
    assert M.falsification_rmse(inp, out, mask) == pytest.approx(math.sqrt(0.04 / 2), rel=1e-12)
    # no mask: (1,1) output hole counts as 65535: (65535 - 26214) / 65535 = 0.6
    assert M.falsification_rmse(inp, out) == pytest.approx(math.sqrt((0.04 + 0.36) / 3), rel=1e-12)


# ----------------------------------------------------------------------------- Table IV summary
def test_summarize_hand_computed():
    x = [1.0, 2.0, 3.0, 4.0, 10.0]
    s = M.summarize(x)
    n = 5
    m2, m3, m4 = 50 / 5, 180 / 5, 1394 / 5          # central moments about the mean 4
    g1 = m3 / m2 ** 1.5
    g2 = m4 / m2 ** 2 - 3
    G1 = math.sqrt(n * (n - 1)) / (n - 2) * g1       # adjusted Fisher-Pearson
    G2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6)
    assert s["n"] == 5 and s["n_dropped"] == 0
    assert s["mean"] == pytest.approx(4.0)
    assert s["std"] == pytest.approx(math.sqrt(12.5))
    assert s["skewness"] == pytest.approx(G1, rel=1e-12)
    assert s["kurtosis"] == pytest.approx(G2, rel=1e-12)
    assert G2 == pytest.approx(3.152)


def test_summarize_drops_nan_and_small_n():
    s = M.summarize([1.0, float("nan"), 3.0])
    assert s["n"] == 2 and s["n_dropped"] == 1
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(math.sqrt(2.0))
    assert math.isnan(s["skewness"]) and math.isnan(s["kurtosis"])


# ----------------------------------------------------------------------------- Pini Table 1
def test_pixel_metrics_errors_hand_computed():
    gt = np.array([[1.0, 2.0, 4.0, 0.0]])            # the 0 ground truth pixel is not evaluated
    pred = np.array([[2.0, 2.0, 2.0, 7.0]])
    r = M.pixel_metrics(gt, pred)
    assert set(r) == set(M.PINI_METRICS) and len(r) == 13
    assert r["l1_norm"] == pytest.approx(1.0)                    # |1|, 0, |-2| -> mean 1
    assert r["l2_norm"] == pytest.approx(math.sqrt(5.0))
    assert r["abs_rel_diff"] == pytest.approx((1 / 1 + 0 + 2 / 4) / 3)
    assert r["sq_rel_diff"] == pytest.approx((1 / 1 + 0 + 4 / 4) / 3)
    assert r["rmse_lin"] == pytest.approx(math.sqrt(5 / 3))
    ln2 = math.log(2.0)
    assert r["rmse_log"] == pytest.approx(ln2 * math.sqrt(2 / 3))   # d = ln2, 0, -ln2
    assert r["rmse_scale_inv"] == pytest.approx(ln2 * math.sqrt(2 / 3))  # mean d = 0


def test_scale_invariant_ignores_global_scale():
    gt = np.array([1.0, 2.0, 4.0])
    pred = 2.0 * gt
    assert M.rmse_log(gt, pred) == pytest.approx(math.log(2.0))
    assert M.rmse_scale_inv(gt, pred) == pytest.approx(0.0, abs=1e-12)
    pred2 = np.array([2.0, 2.0, 8.0])                 # d = ln2, 0, ln2: mean 2/3 ln2
    d = np.array([1.0, 0.0, 1.0]) * math.log(2.0)
    assert M.rmse_scale_inv(gt, pred2) == pytest.approx(math.sqrt(np.mean(d ** 2) - np.mean(d) ** 2))


def test_delta_thresholds_hand_computed():
    gt = np.full(7, 10.0)
    pred = np.array([10.0, 10.5, 10.7, 11.0, 12.0, 15.0, 19.0])   # ratios 1 .. 1.9
    r = M.pixel_metrics(gt, pred)
    # 1.25^(1/4)=1.057, ^(1/3)=1.077, ^(1/2)=1.118, 1.25, ^2=1.5625, ^3=1.953
    expect = {"delta_1.25^(1/4)": 2, "delta_1.25^(1/3)": 3, "delta_1.25^(1/2)": 4,
              "delta_1.25": 5, "delta_1.25^2": 6, "delta_1.25^3": 7}
    for key, count in expect.items():
        assert r[key] == pytest.approx(count / 7), key
    # symmetric: an under-estimate by the same ratio counts the same
    assert M.delta_accuracy(gt, gt / 1.2) == 1.0 and M.delta_accuracy(gt, gt / 1.3) == 0.0


def test_pixel_metrics_mask_and_clipping():
    gt = np.array([[1.0, 2.0], [3.0, 4.0]])
    pred = np.array([[1.0, 0.0], [6.0, 4.0]])
    mask = np.array([[1, 0], [1, 1]], bool)
    assert M.l1_norm(gt, pred, mask) == pytest.approx(1.0)      # (0 + 3 + 0) / 3
    # a non-positive prediction is clipped to eps: the ratio is huge, not undefined
    assert M.delta_accuracy(gt, pred, 3.0) == pytest.approx(2 / 4)
    assert np.isfinite(M.rmse_log(gt, pred))
    with pytest.raises(ValueError, match="shape"):
        M.pixel_metrics(gt, pred[:1])
