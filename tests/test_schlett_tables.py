"""Schlett Tables IV-VII, the enhancer runner and masks, on hand-made images with stand-in enhancers."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from experiments.enhancers import EnhancerUnavailableError
from experiments.schlett import tables
from experiments.schlett.evalsets import _stack
from experiments.schlett.masks import face_mask_from_landmarks, landmark_hole_ratio, sample_points
from experiments.schlett.run import OK, WEIGHTS_MISSING, EnhancerRun, run_enhancers

H = 65535


class Fn:
    """A stand-in enhancer applying ``fn`` to the uint16 batch, counting calls."""

    def __init__(self, label, fn):
        self.label, self.fn, self.calls = label, fn, 0

    def enhance(self, x):
        self.calls += 1
        return self.fn(x.copy())


def test_table4_hand_computed():
    gt = np.full((3, 8, 8), 1000, np.uint16)
    gt[:, :2, :] = H                                   # background of the ground truth: not counted
    deg = gt.copy()
    deg[:, 4, 4] = H                                   # one hole in the face area
    plus = gt.copy()
    plus[gt != H] += np.array([10, 20, 30], np.uint16)[:, None, None].repeat(8, 1).repeat(8, 2)[gt != H]
    runs = {"None": EnhancerRun("None", OK, deg), "Offset": EnhancerRun("Offset", OK, plus),
            "DDRNet-dn": EnhancerRun("DDRNet-dn", WEIGHTS_MISSING, None)}
    table, per = tables.table4(gt, runs)
    assert list(table["enhancer"]) == ["Offset", "None", "DDRNet-dn"]       # sorted by mean, missing last
    off = table.set_index("enhancer").loc["Offset"]
    assert off["mean"] == pytest.approx(20 / 65535)
    assert off["std"] == pytest.approx(10 / 65535)
    assert off["skewness"] == pytest.approx(0.0, abs=1e-9)
    none = table.set_index("enhancer").loc["None"]
    # one hole (error 64535 units) among 48 face pixels
    assert none["mean"] == pytest.approx(math.sqrt((64535 / 65535) ** 2 / 48))
    dd = table.set_index("enhancer").loc["DDRNet-dn"]
    assert dd["status"] == WEIGHTS_MISSING and math.isnan(dd["mean"])
    assert len(per) == 6


def _tiny_set():
    """Two subjects x (Neutral, OcclusionMouth, OcclusionPaper) on 16x16, with landmarks."""
    items = []
    yy, xx = np.mgrid[0:16, 0:16]
    mask = (xx >= 4) & (xx < 12) & (yy >= 4) & (yy < 12)
    lm68 = np.stack([4 + (np.arange(68) % 8), 4 + (np.arange(68) // 8) % 8], axis=1).astype(np.float32)
    man = np.array([[5, 5], [10, 5], [8, 8], [6, 10], [10, 10], [8, 11]], np.float32)
    for subj in (1, 2):
        for var in ("Neutral", "OcclusionMouth", "OcclusionPaper"):
            d = (1000 + 10 * xx).astype(np.uint16)
            if subj == 1:
                d[5, 5] = H                           # a manual landmark and a dlib landmark on a hole
            items.append({"name": f"{subj:04d}_s1_{var}", "subject": subj, "session": 1, "variant": var,
                          "depth": d, "rgb": None, "mask": mask, "lm68": lm68 if var == "Neutral" else None,
                          "manual6": man, "landmark_source": "test"})
    return _stack(items, "test data", "kinect")


def test_table5_roughness_and_holes():
    s = _tiny_set()
    fill = s.depth.copy()
    fill[fill == H] = 1050
    runs = {"None": EnhancerRun("None", OK, s.depth), "Fill": EnhancerRun("Fill", OK, fill)}
    table, _ = tables.table5([s], [runs])
    t = table.set_index("enhancer")
    # a linear ramp has zero kernel response; one hole in 64 mask pixels on 3 of 6 images
    assert t.at["Fill", "roughness_mean"] == pytest.approx(0.0, abs=1e-12)
    assert t.at["None", "holes_mean"] == pytest.approx(100 * (1 / 64) / 2)
    assert t.at["Fill", "holes_mean"] == 0.0
    assert t.at["None", "n"] == 6 and t.at["None", "camera"] == "kinect"


def test_table6_falsification_percent():
    s = _tiny_set()
    out = s.depth.copy()
    out[out != H] += 655                              # +1 % of the range everywhere valid
    runs = {"DL-Alpha": EnhancerRun("DL-Alpha", OK, out),
            "DDRNet-dn": EnhancerRun("DDRNet-dn", WEIGHTS_MISSING, None)}
    table, _ = tables.table6(s, runs, ["DL-Alpha", "DDRNet-dn"])
    a = table[table["enhancer"] == "DL-Alpha"].set_index("variant")
    assert a.loc[list(tables.TABLE6_VARIANTS), "mean"].tolist() == pytest.approx([100 * 655 / 65535] * 3)
    assert a.at["Neutral", "n"] == 2
    d = table[table["enhancer"] == "DDRNet-dn"]
    assert (d["status"] == WEIGHTS_MISSING).all() and d["mean"].isna().all()


def test_table7_subsets_and_values():
    s = _tiny_set()
    sub = tables.table7_subsets(s)
    # manual: only subject 1's images have a landmark hole (landmark 0 at (5, 5)); all 3 variants
    assert [s.names[i] for i in sub["manual_landmark_holes"]] == ["0001_s1_Neutral", "0001_s1_OcclusionMouth",
                                                                  "0001_s1_OcclusionPaper"]
    # dlib: non-occlusion images with dlib landmarks and a hole at one of them
    assert [s.names[i] for i in sub["dlib_landmark_holes"]] == ["0001_s1_Neutral"]
    fill = s.depth.copy()
    fill[fill == H] = 1000
    runs = {"None": EnhancerRun("None", OK, s.depth), "Fill": EnhancerRun("Fill", OK, fill)}
    table, _ = tables.table7(s, runs, ["None", "Fill"])
    t = table.set_index(["test", "enhancer"])
    assert t.loc[("manual_landmark_holes", "None"), "mean"] == pytest.approx(1 / 6)
    assert t.loc[("manual_landmark_holes", "Fill"), "max"] == 0.0
    n_hole = int(np.sum(sample_points(s.depth[0], s.lm68[0]) == H))
    assert t.loc[("dlib_landmark_holes", "None"), "mean"] == pytest.approx(n_hole / 68)
    # PAD error of "None": holes invalid; depth increases with x, the nose tip (30) sits at x = 10:
    # every landmark left of it is nearer -> invalid
    from experiments.pad.geometric import geometric_pad

    assert t.loc[("dlib_geometric_pad_error", "None"), "mean"] == pytest.approx(geometric_pad(s.depth[0], s.lm68[0]).error)


def test_masks_and_sampling():
    sq = np.array([[10, 10], [20, 10], [20, 20], [10, 20], [15, 15]], np.float32)
    m = face_mask_from_landmarks(sq, (32, 32))
    assert m.sum() == 121 and m[15, 15] and not m[9, 15]
    d = np.zeros((32, 32), np.uint16)
    d[10, 20] = H
    assert sample_points(d, [[19.6, 10.4], [19.4, 10.0], [-3, 0]]).tolist() == [H, 0, H]
    assert landmark_hole_ratio(d, [[20, 10], [0, 0]]) == 0.5


def test_run_enhancers_cache_and_missing(tmp_path):
    imgs = np.full((2, 8, 8), 500, np.uint16)
    made = {}

    def factory(label):
        if label == "DL-Beta":
            raise EnhancerUnavailableError("DL-Beta: trained weights not found (x.keras)")
        made[label] = Fn(label, lambda x: x + 1)
        return made[label]

    r = run_enhancers(imgs, ["None", "DL-Beta"], cache=tmp_path, factory=factory)
    assert r["None"].ok and (r["None"].output == 501).all()
    assert r["DL-Beta"].status == WEIGHTS_MISSING and r["DL-Beta"].output is None
    made.clear()
    r2 = run_enhancers(imgs, ["None"], cache=tmp_path, factory=factory)
    assert "None" not in made and r2["None"].detail == "cached" and (r2["None"].output == 501).all()
    run_enhancers(imgs + 1, ["None"], cache=tmp_path, factory=factory)  # new input -> recomputed
    assert made["None"].calls == 1


def test_sort_by_mean_keeps_missing_last():
    f = pd.DataFrame({"enhancer": ["a", "b", "c"], "mean": [0.3, np.nan, 0.1]})
    assert list(tables.sort_by_mean(f)["enhancer"]) == ["c", "a", "b"]
