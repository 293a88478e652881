"""Attack suite: the relief measure, the bound check, and the bound itself on the DL enhancers.

The bound (experiments.schlett.attack_suite.RELIEF_BOUND_MM = 5 mm): on flat, tilted and bent plane inputs
(no face), a deep-learning enhancer's output must not stand out from the input's robustly fitted
quadric surface by more than 5 mm towards the camera (99th percentile over the sheet area). A face's nose, brows and
lips give about 10 mm or more under the same measure (checked below on a surface with a nose).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.schlett import attack_suite as A
from prnet_synth.conventions import HOLE, UNITS_PER_MM

REPO = __import__("pathlib").Path(__file__).resolve().parent.parent


def _nose(depth, height_mm=20.0, sigma=12.0):
    """Add a Gaussian bump ``height_mm`` towards the camera at the sheet centre."""
    yy, xx = np.mgrid[0:256, 0:256]
    bump = height_mm * np.exp(-((xx - 128) ** 2 + (yy - 128) ** 2) / (2 * sigma ** 2)) * UNITS_PER_MM
    out = depth.astype(np.float64)
    valid = depth != HOLE
    out[valid] = np.clip(out[valid] - bump[valid], 0, 65534)
    return np.where(valid, np.rint(out), HOLE).astype(np.uint16)


def test_relief_of_surfaces():
    area = A.sheet_mask(margin=A.MARGIN)
    for kind in A.PLANE_KINDS:
        d = A.plane_depth(kind)
        # a plane and a parabolic bend are quadrics: only rounding to whole units is left
        assert abs(A.relief_mm(d, area)) < 0.01, kind
        # a 20 mm nose stands out by well over the bound
        assert A.relief_mm(_nose(A.plane_depth(kind, offset_mm=40.0)), area) > 2 * A.RELIEF_BOUND_MM, kind
    assert np.isnan(A.relief_mm(np.full((256, 256), HOLE, np.uint16), area))


def test_relief_ignores_far_outliers():
    """Holes filled with far background depth are dips, not relief: they must not tilt the fit."""
    area = A.sheet_mask(margin=A.MARGIN)
    d = A.plane_depth("bent_plane")
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(area)
    pick = rng.choice(len(rows), size=len(rows) // 20, replace=False)     # 5 % of the sheet
    clean = d.copy()
    d[rows[pick], cols[pick]] = 65534
    assert abs(A.relief_mm(d, area)) < 0.5
    assert A.relief_mm(_nose(d), area) > 2 * A.RELIEF_BOUND_MM
    # against the input's surface: erasing most of the sheet is not relief, a nose in front of it is
    erased = np.where(area, 65534, clean).astype(np.uint16)
    erased[rows[pick], cols[pick]] = clean[rows[pick], cols[pick]]
    assert A.relief_mm(erased, area, reference=clean) < 0.5
    assert A.relief_mm(_nose(A.plane_depth("bent_plane", offset_mm=40.0)), area,
                       reference=A.plane_depth("bent_plane", offset_mm=40.0)) > 2 * A.RELIEF_BOUND_MM


def test_relief_parts_tell_hole_edge_ringing_from_relief_on_the_sheet():
    """A 20 mm ring in front of the sheet around an input hole counts as hole-edge relief; a 20 mm
    nose far from the holes as relief away from them; the hole filled in front as relief in holes."""
    area = A.sheet_mask(margin=A.MARGIN)
    clean = A.plane_depth("flat_plane", offset_mm=40.0)
    inp = clean.copy()
    inp[60:72, 60:72] = HOLE                                             # a 12x12 hole, far from the centre
    yy, xx = np.mgrid[0:256, 0:256]
    d = np.maximum(np.maximum(np.abs(yy - 65.5), np.abs(xx - 65.5)) - 6.0, 0.0)  # px outside the hole
    ring = clean.astype(np.float64) - np.where((d > 0) & (d <= 3), 20.0 * UNITS_PER_MM, 0.0)
    out = np.rint(ring).astype(np.uint16)                               # hole filled at the sheet's depth
    parts = A.relief_parts(out, inp, area)
    assert parts["relief_hole_edge_mm"] == pytest.approx(20.0, abs=0.1)
    assert abs(parts["relief_away_mm"]) < 0.05 and abs(parts["relief_in_holes_mm"]) < 0.05
    nose = _nose(clean)
    nose[60:72, 60:72] = clean[60:72, 60:72] - np.uint16(10 * UNITS_PER_MM)   # and the hole filled 10 mm in front
    parts = A.relief_parts(nose, inp, area)
    assert parts["relief_away_mm"] > 2 * A.RELIEF_BOUND_MM and abs(parts["relief_hole_edge_mm"]) < 0.05
    assert parts["relief_in_holes_mm"] == pytest.approx(10.0, abs=0.1)
    # "near" is a 4-px chessboard dilation of the holes (the background around the sheet is 8 px away)
    assert (A.near_holes(inp) & area).sum() == (12 + 8) ** 2


def test_bent_plane_geometry():
    d = A.plane_depth("bent_plane")
    r0, r1, c0, c1 = A.SHEET
    mid = (c0 + c1) // 2
    # centre nearest (30 mm), the edges 40 mm farther
    assert d[100, mid] == pytest.approx(30 * UNITS_PER_MM, abs=20)
    assert d[100, c0] == pytest.approx(70 * UNITS_PER_MM, rel=0.01)
    assert d[0, 0] == HOLE


def test_neighbour_hole_filling_stays_inside_the_bound():
    """The bound is reachable: Table II filters fill holes from their neighbours (the RealSense SDK
    here), and on degraded sheets they stay under 5 mm of relief, as the input itself does."""
    from experiments import realsense_filters as RF

    if not RF.sdk_available():
        pytest.skip("pyrealsense2 cannot be imported")
    degrade = pytest.importorskip("degrade")
    area = A.sheet_mask(margin=A.MARGIN)
    clean = np.stack([A.plane_depth(k) for k in A.PLANE_KINDS])
    inp = np.asarray(degrade.degrade_batch(clean, seed=11, config="d435"), np.uint16)
    attacks = [{"kind": k, "repeat": 0, "clean": c, "input": i, "area": area}
               for k, c, i in zip(A.PLANE_KINDS, clean, inp)]
    assert {"None", "De-M8", "Sp-HfU"} <= set(A.REFERENCE_LABELS)
    frame, outs = A.evaluate(attacks, ["None", "De-M8", "Sp-HfU"])
    assert (frame["status"] == "ok").all()
    # the filters did fill the sheet's holes (so their rows measure filled pixels, not just the input)
    for lab in ("De-M8", "Sp-HfU"):
        assert (outs[lab][(inp == HOLE) & area[None]] != HOLE).mean() > 0.9, lab
    assert A.check_bound(frame).empty, frame[["kind", "enhancer", "relief_mm"]].to_string()
    assert (frame["relief_mm"] > 0.1).all()      # the noise of the input is measured, not zero


class _Stand:
    def __init__(self, label, fn):
        self.label, self.fn = label, fn

    def enhance(self, x):
        return np.stack([self.fn(i) for i in x])


def test_bound_check_flags_invented_nose():
    area = A.sheet_mask(margin=A.MARGIN)
    attacks = [{"kind": k, "repeat": 0, "clean": A.plane_depth(k, offset_mm=40.0), "input": A.plane_depth(k, offset_mm=40.0), "area": area}
               for k in A.PLANE_KINDS]
    stand = {"DL-Alpha": _Stand("DL-Alpha", lambda d: d.copy()), "DL-Beta": _Stand("DL-Beta", _nose)}
    frame, outs = A.evaluate(attacks, ["DL-Alpha", "DL-Beta"], factory=stand.__getitem__)
    bad = A.check_bound(frame)
    assert set(bad["enhancer"]) == {"DL-Beta"} and len(bad) == 3
    alpha = frame[frame["enhancer"] == "DL-Alpha"]
    assert (alpha["departure_percent"] == 0).all()
    beta = frame[frame["enhancer"] == "DL-Beta"]
    assert (beta["relief_gain_mm"] > 10).all() and (beta["departure_percent"] > 0).all()


# The quick-preset U-Nets (narrowed networks, minutes of CPU training) break the bound: on flat, tilted and bent
# sheets every one of them fills holes with depth 11-39 mm in front of the input (results/schlett/
# attack_suite_summary.csv). That is a real finding about under-trained enhancers, kept visible here:
# the two quick-weight bound tests below are expected to fail and turn into failures (strict) as soon as
# those weights respect the bound. The cpu weights, trained on face-range depth and given the sheets in
# that format (experiments.enhancers, input_format="fixed"), must keep the bound: ordinary tests.
QUICK_WEIGHTS_BREAK_BOUND = ("the quick U-Net weights (minutes of training) put depth in front of sheets: DL-Beta, the one "
                             "U-Net still evaluated with quick weights, 5.5 mm on the tilted sheet (attack_suite_summary.csv of "
                             "clean eea2cc5; DL-Alpha has cpu weights since); the 5 mm bound is for trained enhancers")


def test_committed_attack_report_is_consistent():
    """The committed report's within_bound column says what check_bound finds, and faces exceed the bound."""
    path = REPO / "results" / "schlett" / "attack_suite_summary.csv"
    full = REPO / "results" / "schlett" / "attack_suite.csv"
    if not (path.is_file() and full.is_file()):
        pytest.skip("results/schlett/attack_suite*.csv not present: run `make reproduce` first")
    summary = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    rows = summary[summary["within_bound"].isin(["yes", "NO"])]
    assert len(rows)
    # the summary holds the mean relief per plane kind and enhancer: NO exactly where it exceeds 5 mm
    assert ((rows["within_bound"] == "NO") == (rows["relief_mm"] > A.RELIEF_BOUND_MM)).all()
    assert (rows["bound_mm"] == A.RELIEF_BOUND_MM).all()
    frame = pd.read_csv(full, keep_default_na=False, na_values=["", "nan", "NaN"])
    faces = frame[frame["kind"] == "face_reference"]["relief_mm"]
    assert (faces > A.RELIEF_BOUND_MM).all()


def _committed_attacks():
    import json

    path = REPO / "results" / "schlett" / "attack_suite.csv"
    if not path.is_file():
        pytest.skip("results/schlett/attack_suite.csv not present: run `make reproduce` first")
    frame = pd.read_csv(path, keep_default_na=False, na_values=["", "nan", "NaN"])
    weights = json.loads(path.with_suffix(".json").read_text())["provenance"].get("weights", {})
    return frame, weights


def _committed_bound_check(trained_presets):
    frame, weights = _committed_attacks()
    labels = [l for l, p in weights.items() if p in trained_presets]
    ran = frame[frame["enhancer"].isin(labels) & (frame["status"] == "ok")]
    if ran.empty:
        pytest.skip(f"no DL enhancer with {'/'.join(trained_presets)} weights ran in the committed attack suite")
    bad = A.check_bound(ran)
    assert bad.empty, bad[["kind", "enhancer", "relief_mm"]].to_string()
    faces = frame[frame["kind"] == "face_reference"]["relief_mm"]
    assert (faces > A.RELIEF_BOUND_MM).all()


def test_committed_attack_results_within_bound():
    """The DL enhancers with cpu (or paper) weights, which see the sheets in their training format,
    keep every plane within the bound in the committed suite."""
    _committed_bound_check(("cpu", "paper"))


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=QUICK_WEIGHTS_BREAK_BOUND)
def test_committed_attack_results_within_bound_quick_weights():
    _committed_bound_check(("quick",))


def _flat_sheet_frame(preset):
    from experiments.enhancers import UNET_LABELS
    from prnet_synth.paths import weights_path

    labels = [l for l in UNET_LABELS if weights_path(l, preset).is_file()]
    if not labels:
        pytest.skip(f"no trained {preset} U-Net weights under results/weights/{preset}/")
    degrade = pytest.importorskip("degrade")
    clean = A.plane_depth("flat_plane")
    inp = np.asarray(degrade.degrade_batch(clean[None], seed=5, config="d435")[0], np.uint16)
    attacks = [{"kind": "flat_plane", "repeat": 0, "clean": clean, "input": inp, "area": A.sheet_mask(margin=A.MARGIN)}]
    frame, _ = A.evaluate(attacks, labels, preset=preset)
    return frame


def test_cpu_dl_enhancers_make_no_relief_on_a_flat_sheet():
    """Live check with the shipped cpu weights (given the sheet in their training format)."""
    frame = _flat_sheet_frame("cpu")
    assert A.check_bound(frame).empty, frame[["enhancer", "relief_mm"]].to_string()


def test_trained_dl_enhancers_make_no_relief_on_a_flat_sheet():
    """Live check with the trained quick weights, where present. The quick DL-Gamma and DL-Delta-1..4
    retrained at clean ad9d9da (with DL-Alpha and DL-Beta of bea5942) keep the flat sheet within the
    bound (0.5-2.2 mm when measured); this was an expected failure with the quick weights before."""
    frame = _flat_sheet_frame("quick")
    assert A.check_bound(frame).empty, frame[["enhancer", "relief_mm"]].to_string()
