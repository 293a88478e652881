"""IV-G geometric PAD check and plausibility bounds, against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from _pad_helpers import face_layout
from experiments.pad import geometric as g
from prnet_synth.conventions import HOLE, UNITS_PER_MM


def _image_with(values: np.ndarray, lm: np.ndarray, background: int = 30000) -> np.ndarray:
    d = np.full((256, 256), background, np.uint16)
    col = np.floor(lm[:, 0] + 0.5).astype(int)
    row = np.floor(lm[:, 1] + 0.5).astype(int)
    d[row, col] = values
    return d


def _good_values() -> np.ndarray:
    v = np.full(68, 2000, np.int64)
    v[30] = 1000                                  # nose tip nearest
    for i in range(17):
        v[i] = 2000 + 100 * abs(i - 8)            # jaw gets farther away from the chin
    return v.astype(np.uint16)


def test_layout_has_distinct_pixels():
    lm = face_layout()
    px = {(int(np.floor(x + 0.5)), int(np.floor(y + 0.5))) for x, y in lm}
    assert len(px) == 68


def test_jaw_predecessors_walk_out_from_the_chin():
    pred = g.jaw_predecessor()
    assert 8 not in pred and len(pred) == 16
    assert pred[6] == 7 and pred[7] == 8 and pred[0] == 1 and pred[9] == 8 and pred[16] == 15


def test_valid_face_has_zero_error():
    lm = face_layout()
    res = g.geometric_pad(_image_with(_good_values(), lm), lm)
    assert res.error == 0.0 and not res.invalid.any()


def test_each_criterion_by_hand():
    lm = face_layout()
    v = _good_values()
    v[5] = 1500        # jaw: 5's predecessor is 6 (2300); 1500 < 2300 -> invalid (still farther than the tip)
    v[40] = 900        # nearer than the nose tip (1000)
    v[50] = HOLE       # hole
    v[12] = v[11]      # equal depth is no decrease -> stays valid
    v[13] = v[12] + 100
    res = g.geometric_pad(_image_with(v, lm), lm)
    assert set(np.flatnonzero(res.invalid)) == {5, 40, 50}
    assert res.error == pytest.approx(3 / 68)
    assert list(np.flatnonzero(res.jaw_decrease)) == [5]
    assert list(np.flatnonzero(res.nearer_than_nose)) == [40]
    assert list(np.flatnonzero(res.hole)) == [50]
    assert res.counts() == {"hole": 1, "nearer_than_nose": 1, "jaw_decrease": 1, "outside": 0, "invalid": 3}


def test_paper_example_landmark7_invalid_if_landmark8_greater():
    # 1-based landmarks 7, 8 = 0-based 6, 7
    lm = face_layout()
    v = _good_values()
    v[7] = v[6] + 1
    res = g.geometric_pad(_image_with(v, lm), lm)
    assert list(np.flatnonzero(res.invalid)) == [6]


def test_hole_nose_tip_invalidates_every_measured_landmark():
    # stored values compared as they are: every measured landmark is "nearer" than a hole tip -> error 1.0
    lm = face_layout()
    v = _good_values()
    v[30] = HOLE
    res = g.geometric_pad(_image_with(v, lm), lm)
    assert res.error == 1.0


def test_outside_landmark_counts_as_hole_and_rounding():
    lm = face_layout()
    v = _good_values()
    d = _image_with(v, lm)
    lm2 = lm.copy()
    lm2[20] = (-3.0, 100.0)
    res = g.geometric_pad(d, lm2)
    assert res.outside[20] and res.hole[20] and res.invalid.sum() == 1
    # x = 10.49 rounds to column 10, 10.5 to column 11
    d2 = np.zeros((4, 20), np.uint16)
    d2[1, 11] = 7
    pts = np.zeros((68, 2))
    pts[:, 1] = 1
    pts[0, 0], pts[1, 0] = 10.49, 10.5
    vals, inside = g.sample_landmark_depth(d2, pts)
    assert vals[0] == 0 and vals[1] == 7 and inside.all()


def test_batch_errors_and_bad_input():
    lm = face_layout()
    good = _image_with(_good_values(), lm)
    bad = good.copy()
    bad[:] = HOLE
    errs = g.geometric_pad_errors(np.stack([good, bad]), np.stack([lm, lm]))
    np.testing.assert_array_equal(errs, [0.0, 1.0])
    with pytest.raises(ValueError, match="68"):
        g.geometric_pad(good, lm[:10])
    with pytest.raises(ValueError, match="uint16"):
        g.geometric_pad(good.astype(np.float32), lm)


# ----------------------------------------------------------------------------- plausibility
def _surface(fn) -> np.ndarray:
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float64)
    z_mm = fn(xx, yy)
    return np.rint(z_mm * UNITS_PER_MM).astype(np.uint16)


def test_flat_and_bent_sheets_have_no_nose_protrusion():
    lm = face_layout()
    flat = _surface(lambda x, y: 20.0 + 0.05 * x + 0.02 * y)                    # tilted plane
    bent = _surface(lambda x, y: 20.0 + 60.0 * ((x - 128) / 128.0) ** 2)       # sheet bent around a vertical axis
    # the quadric fits both exactly; the tip depth is the nearest pixel within +-r of landmark 30,
    # r = round(0.04 * 140) = 6 (the layout's box is 140 px wide): the plane's window corner (x-6, y-6)
    box = float(max(np.ptp(lm[:, 0]), np.ptp(lm[:, 1])))
    r = int(round(0.04 * box))
    assert r == 6
    tx, ty = lm[30]
    cx, cy = np.floor(tx + 0.5), np.floor(ty + 0.5)
    expect_flat = 0.05 * (tx - (cx - r)) + 0.02 * (ty - (cy - r))
    p = g.plausibility(flat, lm)
    assert p.nose_protrusion_mm == pytest.approx(expect_flat, abs=0.01)
    assert not p.checks["nose_protrusion"] and not p.ok
    p = g.plausibility(bent, lm)                 # the tip is on the bend's axis (x = 128): nearest there
    assert p.nose_protrusion_mm == pytest.approx(0.0, abs=0.01)
    assert not p.checks["nose_protrusion"] and not p.ok
    # with tip_search 0 the landmark's own pixel is used: the plane then gives 0
    p0 = g.plausibility(flat, lm, g.PlausibilityBounds(tip_search=0.0))
    assert p0.nose_protrusion_mm == pytest.approx(0.0, abs=0.01)


def test_nose_bump_measured_in_millimetres():
    lm = face_layout()
    tip = lm[30]

    def face(x, y):
        base = 20.0 + 60.0 * ((x - 128) / 128.0) ** 2 + 20.0 * ((y - 128) / 128.0) ** 2
        bump = 20.0 * np.exp(-(((x - tip[0]) ** 2 + (y - tip[1]) ** 2) / (2 * 3.0 ** 2)))
        return base - bump                                                      # nose 20 mm nearer
    p = g.plausibility(_surface(face), lm)
    assert p.nose_protrusion_mm == pytest.approx(20.0, abs=0.1)
    assert p.ok and p.relief_mm < 150


def test_relief_bound_and_missing_tip():
    lm = face_layout()
    v = _good_values()
    d = _image_with(v, lm)
    v2 = v.copy()
    v2[40] = 1000 + int(100 * UNITS_PER_MM)       # an eye landmark 100 mm behind the tip: implausible
    p = g.plausibility(_image_with(v2, lm), lm)
    assert p.relief_mm == pytest.approx(100.0, abs=0.01) and not p.checks["inner_relief"] and not p.ok
    v4 = v.copy()
    v4[0] = 1000 + int(200 * UNITS_PER_MM)        # the jawline may lie far back (ears, neck): not checked
    assert g.plausibility(_image_with(v4, lm), lm).checks["inner_relief"]
    d3 = d.copy()
    cx, cy = (int(np.floor(c + 0.5)) for c in lm[30])
    d3[cy - 6:cy + 7, cx - 6:cx + 7] = HOLE        # nothing measured within +-6 px of the tip
    p3 = g.plausibility(d3, lm)
    assert not p3.ok and p3.nose_protrusion_mm is None and not p3.checks["nose_tip_measured"]
    d3[cy - 6, cx - 6] = 1000                       # one measured pixel in the window is enough
    assert g.plausibility(d3, lm).checks["nose_tip_measured"]
    assert g.plausibility(d, lm).n_fit == 68 - 9 - 8        # without nose and inner lips
