"""Degradation renderer (Schlett III-B): determinism, holes, noise, blur, hole-value variants.

Images are small (64x64, batches of 4) and most tests share a few compiled renderers.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

import degrade
from degrade.toyfaces import toy_faces
from prnet_synth.conventions import MAX_VALID, UNITS_PER_MM

N, S = 4, 64
HOLE = 65535


# The mechanics tests (determinism, batching, variants) run on 64-pixel toy faces; the calibrated
# "paper" config's 23-33 outline holes of up to 13 px would turn most of such a face into holes, so
# they use the first reading of III-B, whose hole sizes leave most of the face (the calibrated
# config has its own tests in test_calibration.py).
MECH = degrade.get_config("paper_uncalibrated")


@pytest.fixture(scope="module")
def gt():
    return toy_faces(N, S, seed=3)


@pytest.fixture(scope="module")
def plain(gt):
    return degrade.degrade_batch(gt, 11, "plain", config=MECH)


def _outline(valid):
    """Non-hole pixels with a hole among their 4 neighbours (independent numpy version)."""
    p = np.pad(~valid, 1, constant_values=False)
    nb = p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return valid & nb


# ----------------------------------------------------------------------------- determinism
def test_same_seed_same_output_different_seed_different(gt, plain):
    again = degrade.degrade_batch(gt, 11, "plain", config=MECH)
    other = degrade.degrade_batch(gt, 12, "plain", config=MECH)
    assert plain.dtype == np.uint16 and plain.shape == gt.shape
    np.testing.assert_array_equal(plain, again)
    face = gt != HOLE
    assert np.mean(other[face] != plain[face]) > 0.5
    # image i's result depends on its position and the seed, not on the batch size
    np.testing.assert_array_equal(degrade.degrade_batch(gt[:3], 11, "plain", config=MECH), plain[:3])
    # a single image is a batch of one; big seeds are accepted
    one = degrade.degrade_batch(gt[0], 2 ** 40 + 5, "plain", config=MECH)
    assert one.shape == gt[0].shape and one.dtype == np.uint16


def test_empty_and_hole_free_images(gt):
    batch = gt.copy()
    batch[0] = HOLE                                       # no face at all: stays all holes
    batch[1] = 30000                                      # no background: no outline to erode
    out = degrade.degrade_batch(batch, 11, "plain", config=MECH)
    assert np.all(out[0] == HOLE)
    assert np.mean(out[1] == HOLE) < 0.2                  # only the random holes (at most 6 small ones)
    empty = degrade.degrade_batch(np.zeros((0, S, S), np.uint16), 1, "plain")
    assert empty.shape == (0, S, S)


def test_bad_input_is_refused(gt):
    with pytest.raises(ValueError, match="uint16"):
        degrade.degrade_batch(gt.astype(np.float32), 0)
    with pytest.raises(ValueError, match="variant"):
        degrade.degrade_batch(gt, 0, "fancy")
    with pytest.raises(ValueError, match="seed"):
        degrade.degrade_batch(gt, -1)


# ----------------------------------------------------------------------------- holes
def test_plain_keeps_background_holes_and_adds_holes_only_in_the_face(gt, plain):
    bg = gt == HOLE
    assert np.all(plain[bg] == HOLE)                      # background holes stay holes
    new = (plain == HOLE) & ~bg
    assert new.any()                                      # the paper config does make holes
    assert np.all(plain[~(plain == HOLE)] <= MAX_VALID)


def test_outline_holes_lie_along_the_outline():
    cfg = degrade.DegradationConfig(outline_holes=(4, 6), outline_hole_radius=(2.0, 5.0), random_holes=(0, 0),
                                    noise_mm=0.0, blur_size=(1, 1))
    gt = toy_faces(N, S, seed=4)
    out = degrade.degrade_batch(gt, 5, "plain", cfg)
    valid = gt != HOLE
    for i in range(N):
        new = (out[i] == HOLE) & valid[i]
        assert new.sum() > 0
        outline = _outline(valid[i])
        dist = ndimage.distance_transform_edt(~outline)   # distance to the nearest outline pixel
        # every new hole pixel lies within one hole radius (+ centre jitter) of the outline
        assert dist[new].max() <= 5.0 + 1.0
        # and the holes erode it: outline pixels were removed
        assert (outline & new).sum() > 0
        # nothing else changed (no noise, no blur)
        keep = valid[i] & ~new
        np.testing.assert_array_equal(out[i][keep], gt[i][keep])


def test_outline_rows_and_counts_match_the_full_outline(gt):
    import tensorflow as tf

    from degrade.render import _outline_rows, _row_counts

    batch = gt.copy()
    batch[:, 0, 10:50] = 30000                            # face pixels on the top and bottom border rows
    batch[:, -1, 5:20] = 30000
    want = np.stack([_outline(b != HOLE) for b in batch])
    rows = np.array([[0, 1, 20, 31, 62, 63]] * N, np.int32)
    got = _outline_rows(tf.constant(batch), tf.constant(rows)).numpy()
    np.testing.assert_array_equal(got, np.stack([want[i][rows[i]] for i in range(N)]))
    valid_rows, outline_rows = (t.numpy() for t in _row_counts(tf.constant(batch)))
    np.testing.assert_array_equal(valid_rows, (batch != HOLE).sum(axis=2))
    np.testing.assert_array_equal(outline_rows, want.sum(axis=2))


def test_random_holes_lie_in_the_face():
    cfg = degrade.DegradationConfig(outline_holes=(0, 0), random_holes=(5, 5), random_hole_radius=(2.0, 3.0),
                                    noise_mm=0.0, blur_size=(1, 1))
    gt = toy_faces(N, S, seed=4)
    out = degrade.degrade_batch(gt, 6, "plain", cfg)
    valid = gt != HOLE
    for i in range(N):
        new = (out[i] == HOLE) & valid[i]
        lab, n_blobs = ndimage.label(new)
        assert 1 <= n_blobs <= 5                          # at most the 5 ellipses (some may merge)
        # centres lie in the face: every hole blob's pixels are mostly face pixels far from the border
        dist_in = ndimage.distance_transform_edt(valid[i])
        for k in range(1, n_blobs + 1):
            assert dist_in[lab == k].max() >= 1.0


def test_ellipse_raster_matches_the_quadratic_form():
    """Row-interval rasterisation vs the ellipse equation evaluated at every pixel (numpy)."""
    import tensorflow as tf

    from degrade.render import _ellipse_mask

    rng = np.random.default_rng(0)
    n, e, h, w = 3, 5, 40, 48
    cx, cy = rng.uniform(0, w, (n, e)), rng.uniform(0, h, (n, e))
    a = rng.uniform(1.5, 9, (n, e))
    b = a * rng.uniform(0.2, 1.0, (n, e))
    th = rng.uniform(0, math.pi, (n, e))
    active = rng.uniform(size=(n, e)) < 0.8
    got = _ellipse_mask(*(tf.constant(v, tf.float32) for v in (cx, cy, a, b, th)), tf.constant(active), h, w).numpy()
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    want = np.zeros((n, h, w), bool)
    near_edge = np.zeros((n, h, w), bool)
    for i in range(n):
        for j in range(e):
            if not active[i, j]:
                continue
            dx, dy = x - cx[i, j], y - cy[i, j]
            u = dx * math.cos(th[i, j]) + dy * math.sin(th[i, j])     # along the major axis
            v = -dx * math.sin(th[i, j]) + dy * math.cos(th[i, j])
            q = (u / a[i, j]) ** 2 + (v / b[i, j]) ** 2
            want[i] |= q <= 1.0
            near_edge[i] |= np.abs(q - 1.0) < 1e-3
    assert want.sum() > 100
    assert np.array_equal(got & ~near_edge, want & ~near_edge)


# ----------------------------------------------------------------------------- noise
@pytest.mark.parametrize("dist", ["gaussian", "uniform"])
def test_noise_spread_is_15_mm(dist):
    cfg = degrade.DegradationConfig(outline_holes=(0, 0), random_holes=(0, 0), blur_size=(1, 1),
                                    noise_distribution=dist)
    gt = np.full((4 * N, S, S), 30000, np.uint16)         # 61,440 noisy pixels: the SD's sampling error ~0.3 %
    gt[:, :4] = HOLE                                      # a background strip stays untouched
    out = degrade.degrade_batch(gt, 21, "plain", cfg)
    assert np.all(out[:, :4] == HOLE)
    err = out[:, 4:].astype(np.float64) - 30000.0
    assert err.size == 61_440
    sigma = 15.0 * 65535.0 / 250.0                        # the paper's 15 mm in units of the 25 cm range
    assert sigma == pytest.approx(15.0 * UNITS_PER_MM)
    assert abs(err.mean()) < 0.02 * sigma                 # zero mean
    # a scale of 65535/256 instead of /250 (2.3 % smaller) fails by more than four sampling errors
    assert err.std() == pytest.approx(sigma, rel=0.01)
    frac_1sd = np.mean(np.abs(err) <= sigma)
    if dist == "gaussian":
        assert frac_1sd == pytest.approx(0.6827, abs=0.02)
        assert np.abs(err).max() > 3.0 * sigma
    else:
        assert frac_1sd == pytest.approx(1.0 / math.sqrt(3.0), abs=0.02)
        assert np.abs(err).max() <= math.sqrt(3.0) * sigma + 1.0


# ----------------------------------------------------------------------------- blur
def test_blur_averages_only_non_hole_pixels():
    cfg = degrade.DegradationConfig(outline_holes=(0, 0), random_holes=(0, 0), noise_mm=0.0, blur_size=(5, 5))
    rng = np.random.default_rng(1)
    gt = rng.integers(10000, 20000, (N, S, S)).astype(np.uint16)
    gt[:, 20:40, 25:35] = HOLE                            # holes inside the face
    gt[:, :, :6] = HOLE
    out = degrade.degrade_batch(gt, 3, "plain", cfg)
    valid = gt != HOLE
    assert np.array_equal(out == HOLE, ~valid)
    # independent expectation: mean of the non-hole pixels of each 5x5 window (zero outside)
    g = np.where(valid, gt.astype(np.float64), 0.0)
    v = valid.astype(np.float64)
    gp = np.pad(g, ((0, 0), (2, 2), (2, 2)))
    vp = np.pad(v, ((0, 0), (2, 2), (2, 2)))
    num = sum(gp[:, dy:dy + S, dx:dx + S] for dy in range(5) for dx in range(5))
    den = sum(vp[:, dy:dy + S, dx:dx + S] for dy in range(5) for dx in range(5))
    want = np.rint(num / np.maximum(den, 1))
    np.testing.assert_allclose(out[valid].astype(np.float64), want[valid], atol=1.0)
    assert out[valid].max() < 20000                       # no hole value (65535) pulled into the face


def test_blur_of_a_flat_face_with_holes_stays_flat():
    cfg = degrade.DegradationConfig(outline_holes=(0, 0), random_holes=(0, 0), noise_mm=0.0, blur_size=(5, 5))
    gt = np.full((N, S, S), 12345, np.uint16)
    gt[:, 30:34, :] = HOLE
    gt[:, :, 50:] = HOLE
    out = degrade.degrade_batch(gt, 4, "plain", cfg)
    assert np.all(out[gt != HOLE] == 12345)
    assert np.all(out[gt == HOLE] == HOLE)


# ----------------------------------------------------------------------------- variants
@pytest.fixture(scope="module")
def variants_out(gt):
    """Each image under each variant, from mixed-variant batches (one compiled renderer)."""
    names = degrade.VARIANTS
    out = {v: np.zeros_like(gt) for v in names}
    for k in range(3):
        per_image = [names[(i + k) % 3] for i in range(N)]
        batch = degrade.degrade_batch(gt, 11, per_image, config=MECH)
        for i, v in enumerate(per_image):
            out[v][i] = batch[i]
    return out


def test_mixed_batches_match_single_variant_batches(gt, plain, variants_out):
    np.testing.assert_array_equal(variants_out["plain"], plain)


def test_variants_change_only_the_hole_values(variants_out):
    plain = variants_out["plain"]
    holes = plain == HOLE
    for v in ("random_background", "blurred_background"):
        out = variants_out[v]
        np.testing.assert_array_equal(out[~holes], plain[~holes])
        assert np.mean(out[holes] != HOLE) > 0.99


def test_random_background_is_uniform_over_the_full_range(variants_out):
    plain = variants_out["plain"]
    vals = variants_out["random_background"][plain == HOLE].astype(np.float64)
    assert vals.min() < 1000 and vals.max() > 64500
    assert vals.mean() == pytest.approx(32767.5, rel=0.03)
    assert vals.std() == pytest.approx(65536 / math.sqrt(12.0), rel=0.03)


def test_blurred_background_lies_in_a_range_and_is_smooth(variants_out):
    cfg = degrade.get_config("paper_uncalibrated")   # the config variants_out used
    plain = variants_out["plain"]
    rnd, blr = variants_out["random_background"], variants_out["blurred_background"]
    for i in range(N):
        holes = plain[i] == HOLE
        vals = blr[i][holes].astype(np.float64)
        assert vals.max() - vals.min() <= cfg.background_range[1] * MAX_VALID + 1
        # neighbouring hole pixels differ far less than fully random ones
        pair = holes[:, 1:] & holes[:, :-1]
        d_blr = np.abs(np.diff(blr[i].astype(np.float64), axis=1))[pair].mean()
        d_rnd = np.abs(np.diff(rnd[i].astype(np.float64), axis=1))[pair].mean()
        assert d_blr < 0.2 * d_rnd


# ----------------------------------------------------------------------------- configs
def test_configs_are_data_with_validated_ranges():
    assert set(degrade.CONFIGS) >= {"paper", "kinect_v1", "d435"}
    assert degrade.CONFIGS["paper_uncalibrated"] == degrade.DegradationConfig()
    assert degrade.CONFIGS["paper"].noise_mm == 15.0 and degrade.CONFIGS["paper"] != degrade.DegradationConfig()
    paper = degrade.CONFIGS["paper_uncalibrated"]
    for name in ("kinect_v1", "d435"):
        c = degrade.get_config(name)
        assert c.outline_holes[1] > paper.outline_holes[1]
        assert c.outline_hole_radius[1] > paper.outline_hole_radius[1]
        assert c.noise_mm != paper.noise_mm
    assert degrade.DegradationConfig.from_dict(paper.to_dict()) == paper
    with pytest.raises(ValueError, match="outline_holes"):
        degrade.DegradationConfig(outline_holes=(5, 2))
    with pytest.raises(ValueError, match="odd"):
        degrade.DegradationConfig(blur_size=(3, 4))
    with pytest.raises(ValueError, match="noise_distribution"):
        degrade.DegradationConfig(noise_distribution="laplace")
    with pytest.raises(ValueError, match="unknown degradation config"):
        degrade.get_config("kinect_v9")
    assert degrade.PRESETS["paper"].n == 100_000 and degrade.PRESETS["paper"].variant == "plain"
