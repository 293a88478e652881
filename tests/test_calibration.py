"""The calibrated degradation: ground-truth scaling, the noise laws, the calibration objective and the
adopted setting reproducing its recorded numbers (experiments/schlett/calibration.py)."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import degrade
from degrade.config import DegradationConfig
from prnet_synth.conventions import HOLE


def test_face_range_normalisation_by_hand():
    g = np.full((4, 4), HOLE, np.uint16)
    g[1, 1], g[1, 2], g[2, 1], g[2, 2] = 1000, 2000, 3000, 5000
    out = degrade.normalize_ground_truth(g, DegradationConfig(gt_normalization="face_range"))
    # (v - 1000) / 4000 * 65534, rounded
    assert out[1, 1] == 0 and out[2, 2] == 65534
    assert out[1, 2] == round(1000 / 4000 * 65534) and out[2, 1] == round(2000 / 4000 * 65534)
    assert (out[g == HOLE] == HOLE).all()
    # fixed: unchanged copy; batches per image; one distinct value -> 0; all-hole stays all-hole
    assert (degrade.normalize_ground_truth(g, DegradationConfig()) == g).all()
    flat = np.where(g != HOLE, 777, HOLE).astype(np.uint16)
    batch = degrade.normalize_ground_truth(np.stack([g, flat, np.full_like(g, HOLE)]),
                                           DegradationConfig(gt_normalization="face_range"))
    assert (batch[0] == out).all() and (batch[1][g != HOLE] == 0).all() and (batch[2] == HOLE).all()
    assert degrade.face_depth_range(g) == 4000


def _flat_noise(cfg, n=4, value=30000):
    gt = np.full((n, 64, 64), value, np.uint16)
    out = degrade.degrade_batch(gt, seed=5, config=cfg).astype(np.float64)
    return out[:, 8:-8, 8:-8] - value          # interior: no border effect of the blur


def test_noise_stage_and_laws():
    base = DegradationConfig(outline_holes=(0, 0), random_holes=(0, 0), blur_size=(5, 5), noise_mm=15.0)
    sigma = 15.0 * 65535 / 250
    before = _flat_noise(base).std()
    after = _flat_noise(base.replace(noise_stage="after_blur")).std()
    # a 5x5 box mean divides the SD of independent noise by 5; noise after the blur keeps it
    assert before == pytest.approx(sigma / 5, rel=0.06)
    assert after == pytest.approx(sigma, rel=0.03)
    # the scale follows depth_range_mm: 15 mm over a 100 mm scale is 2.5x the units of 250 mm
    wide = _flat_noise(base.replace(noise_stage="after_blur", depth_range_mm=100.0)).std()
    assert wide == pytest.approx(sigma * 2.5, rel=0.03)
    # uniform_bound: |error| <= 15 mm (plus rounding), SD = bound / sqrt(3)
    nb = base.replace(blur_size=(1, 1), noise_distribution="uniform_bound")
    e = _flat_noise(nb)
    assert np.abs(e).max() <= sigma + 1 and e.std() == pytest.approx(sigma / math.sqrt(3), rel=0.03)
    eu = _flat_noise(base.replace(blur_size=(1, 1), noise_distribution="uniform"))
    assert eu.std() == pytest.approx(sigma, rel=0.03) and np.abs(eu).max() > sigma * 1.5


def test_config_checks_new_fields():
    for bad in (dict(noise_stage="middle"), dict(gt_normalization="minmax"), dict(depth_range_mm=0)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            DegradationConfig(**bad)
    c = DegradationConfig(noise_stage="after_blur", gt_normalization="face_range", depth_range_mm=104.5)
    assert DegradationConfig.from_dict(c.to_dict()) == c


def test_objective_by_hand():
    from experiments.schlett import calibration as cal

    paper = pd.DataFrame({"mean": np.linspace(0.04, 0.3, 8), "std": np.full(8, 0.01)}, index=list(cal.NONLEARNED))
    same = cal.objective(paper, paper)
    assert same["objective"] == pytest.approx(0.0, abs=1e-12) and same["tau"] == pytest.approx(1.0)
    # all means doubled: log(2)^2; order kept; std equal
    doubled = paper.assign(mean=paper["mean"] * 2)
    assert cal.objective(doubled, paper)["objective"] == pytest.approx(math.log(2) ** 2)
    # two neighbours swapped (one discordant pair of 28): tau = 1 - 2/28, penalty 0.5 (1 - tau)
    swapped = paper.copy()
    swapped.iloc[[0, 1], 0] = swapped.iloc[[1, 0], 0].to_numpy()
    r = cal.objective(swapped, paper)
    lm = np.log(swapped["mean"] / paper["mean"])
    assert r["tau"] == pytest.approx(1 - 2 / 28)
    assert r["objective"] == pytest.approx(float(np.mean(lm ** 2)) + 0.5 * (2 / 28))


def test_search_point_to_config():
    from experiments.schlett import calibration as cal

    p = cal.CalibParams("face_range", "uniform_bound", "after_blur", outline_count=2.0, outline_radius=1.5,
                        random_count=0.5, random_radius=2.0, count_spread=0.7, radius_spread=0.75, blur_max=8.2)
    c = cal.to_config(p, 104.53)
    # counts: max = 10 x 2 and 6 x 0.5, min = max x 0.3; radii: max = 14 x 1.5 and 8 x 2, min = max / 4
    assert c.outline_holes == (6, 20) and c.outline_hole_radius == (5.25, 21.0)
    assert c.random_holes == (1, 3) and c.random_hole_radius == (4.0, 16.0)
    assert c.blur_size == (3, 9) and c.noise_mm == 15.0 and c.depth_range_mm == 104.5
    assert cal.to_config(cal.CalibParams(), 104.5).depth_range_mm == 250.0


def test_adopted_setting_reproduces_its_recorded_numbers():
    """The paper-default degradation is the calibration's best setting, and on the recorded seeded
    subset it gives the numbers the calibration recorded."""
    from experiments.schlett import calibration as cal
    from prnet_synth.paths import project_root

    rec = json.loads((project_root() / "results" / "schlett" / "degradation_calibration_best.json").read_text())
    best = DegradationConfig.from_dict(rec["best"]["config"])
    assert degrade.get_config("paper") == best
    chk = rec["check"]
    gt = cal.calibration_ground_truth(chk["n"], chk["gt_seed"] - cal.CALIB_SEED_OFFSET)
    ev = cal.Evaluator(gt, chk["degrade_seed"])
    vals, holes = ev.per_image(best, degrade.normalize_ground_truth(gt, best))
    np.testing.assert_allclose(holes, chk["face_hole_fraction"], atol=1e-6)
    for label, v in vals.items():
        np.testing.assert_allclose(v, chk["face_rmse"][label], atol=1e-6, err_msg=label)
