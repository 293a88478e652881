"""The DepthNet study's relief scores against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.chiu_depthnet_study import RECIPES, _Rows, relief_scores


def _face():
    t = np.full((1, 6, 6), -1.0)                      # background
    t[0, 1:5, 1:5] = np.linspace(0.0, 0.6, 16).reshape(4, 4)   # a face with a ramp of relief
    return t


def test_a_perfect_estimate_and_an_offset_one_have_no_relief_error():
    g = _face()
    s = relief_scores(g, g)
    assert s["relief_rmse"] == pytest.approx(0.0, abs=1e-9) and s["relief_corr"] == pytest.approx(1.0)
    shifted = g.copy()
    shifted[g > -0.95] += 0.2                           # nearer by a constant: the same relief
    assert relief_scores(g, shifted)["relief_rmse"] == pytest.approx(0.0, abs=1e-9)


def test_a_flat_estimate_scores_the_flat_baseline_and_no_correlation():
    g = _face()
    flat = np.where(g > -0.95, 0.5, -1.0)
    s = relief_scores(g, flat)
    vals = (g[g > -0.95] + 1.0) * 127.5
    assert s["relief_rmse"] == pytest.approx(np.sqrt(np.mean((vals - vals.mean()) ** 2)))
    assert s["relief_rmse"] == pytest.approx(s["flat_relief_rmse"]) and s["relief_corr"] == 0.0


def test_an_inverted_relief_correlates_negatively_and_background_is_left_out():
    g = _face()
    inv = g.copy()
    inv[g > -0.95] = 0.6 - g[g > -0.95]
    s = relief_scores(g, inv)
    assert s["relief_corr"] == pytest.approx(-1.0)
    assert s["relief_rmse"] == pytest.approx(2 * s["flat_relief_rmse"])
    none = np.full_like(g, -1.0)                         # D* found no face: nothing to score
    assert np.isnan(relief_scores(g, none)["relief_rmse"])


def test_rows_index_every_target_together():
    r = _Rows({"depth": np.arange(5), "mask": np.arange(5) * 10})
    assert len(r) == 5
    got = r[np.array([3, 1])]
    assert got["depth"].tolist() == [3, 1] and got["mask"].tolist() == [30, 10]
    assert set(RECIPES) >= {"cpu", "cpu_noadv", "cpu_lr1e3"}


def test_the_inset_leaves_the_edge_out():
    g = np.full((1, 12, 12), -1.0)
    g[0, 2:10, 2:10] = 0.5                               # a flat face 8 px wide
    p = g.copy()
    p[0, 2, 2:10] = -0.9                                 # a blurred top edge in D*
    whole = relief_scores(g, p)
    inner = relief_scores(g, p, inset=1)
    assert whole["relief_rmse"] > 1.0                    # the edge shows as relief
    assert inner["relief_rmse"] == pytest.approx(0.0, abs=1e-9) and inner["flat_relief_rmse"] == 0.0
    assert np.isnan(relief_scores(g, p, inset=5)["relief_rmse"])   # nothing left 5 px inside
