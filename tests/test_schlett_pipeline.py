"""The Schlett chain end to end on tiny sizes, with a stand-in generator (toy faces), and the
KinectFaceDB image set built from a fixture in the real layout."""
from __future__ import annotations

import sys
import types

import numpy as np
import pandas as pd
import pytest

from experiments.datasets import kinectfacedb as kf
from experiments.schlett import config
from prnet_synth.conventions import HOLE


def _astronaut_face() -> np.ndarray:
    """A 256x256 colour crop around the face of skimage's astronaut (dlib finds it)."""
    import cv2
    from skimage import data

    img = data.astronaut()[16:336, 62:382]
    return cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)


def test_kinect_set_from_fixture(tmp_path):
    from experiments.schlett.evalsets import DATA_KINECT, kinect_set

    root = tmp_path / "EURECOM_Kinect_Face_Dataset"
    face = _astronaut_face()
    yy, xx = np.mgrid[0:256, 0:256]
    depth = (800.0 + 0.2 * np.hypot(xx - 128, yy - 128)).astype(np.float32)
    depth[:20] = 0                              # holes
    for v in ("Neutral", "Smile", "OcclusionMouth", "LeftProfile"):
        kf.write_depth_txt(root, 3, 2, v, depth)
        kf.write_rgb_bmp(root, 3, 2, v, face if v != "LeftProfile" else np.zeros_like(face))
        kf.write_manual_landmarks(root, 3, 2, v, [[100, 110], [150, 110], [125, 140], [105, 170], [145, 170], [125, 200]])
    s = kinect_set(tmp_path)
    assert s.data == DATA_KINECT and s.names == ["0003_s2_Neutral", "0003_s2_Smile", "0003_s2_OcclusionMouth",
                                                 "0003_s2_LeftProfile"]
    assert s.has_mask.tolist() == [True, True, True, False]
    # the Neutral mask is reused for the other frontal variants
    assert (s.mask[1] == s.mask[0]).all() and (s.mask[2] == s.mask[0]).all() and 3000 < s.mask[0].sum() < 40000
    # dlib landmarks on the own colour image only for non-occlusion frontal variants
    has68 = [bool(np.isfinite(s.lm68[i]).all()) for i in range(4)]
    assert has68 == [True, True, False, False]
    # depth: holes stay holes; the 25 cm range starts at the nearest depth inside the ROI around the mask
    assert (s.depth[0][:20] == HOLE).all()
    rows, cols = np.nonzero(s.mask[0])
    r = np.hypot(cols - 128, rows - 128).min()
    assert s.depth[0][s.mask[0]].min() <= 1 + 0.2 * r * 65535 / 250


def _fake_procedural():
    from degrade.toyfaces import toy_faces

    def generate(n, seed, frontal=False, **opts):
        out = []
        depths = toy_faces(n, seed=seed % 100000)
        for d in depths:
            occ = opts.get("occluder", "none")
            if occ != "none":
                d = d.copy()
                d[150:200, 90:170] = np.where(d[150:200, 90:170] != HOLE, 100, HOLE)  # a flat "hand"
            lm = np.stack([np.linspace(80, 176, 68), np.linspace(90, 200, 68), np.zeros(68)], 1).astype(np.float32)
            out.append({"depth": d, "rgb": np.zeros((256, 256, 3), np.uint8), "gray": np.zeros((256, 256), np.uint8),
                        "mask": (d != HOLE).astype(np.uint8), "landmarks": lm, "identity": seed % 7,
                        "params": {"yaw": 0.0, "occluder": occ, "expression": opts.get("expression", "neutral")}})
        return out

    mod = types.ModuleType("prnet_synth.procedural")
    mod.generate = generate
    return mod


def test_chain_on_stand_in_generator(results_tmp, monkeypatch):
    import prnet_synth

    from experiments.schlett import steps
    from experiments.schlett.cli import parse

    fake = _fake_procedural()
    monkeypatch.setitem(sys.modules, "prnet_synth.procedural", fake)
    monkeypatch.setattr(prnet_synth, "procedural", fake, raising=False)
    tiny = config.SchlettPreset("quick", n_test_pairs=3, eval_subjects=2, eval_sessions=1, kinect_limit=0,
                                d435_limit=0, figure_samples=1, attack_repeats=1, batch_size=2, gt_chunk=2)
    monkeypatch.setitem(config.PRESETS, "quick", tiny)
    args = parse(["--preset", "quick", "--seed", "3"], "test")
    for step in (steps.step01_ground_truth, steps.step02_test_pairs, steps.step04_table4, steps.step05_table5,
                 steps.step06_table6, steps.step07_table7, steps.step08_figures, steps.step09_compare):
        step(args)
    out = results_tmp / "schlett"
    t4 = pd.read_csv(out / "table4_synthetic_rmse.csv", keep_default_na=False, na_values=["", "nan"])
    assert len(t4) == 16 and list(t4.columns[:5]) == ["enhancer", "mean", "std", "skewness", "excess_kurtosis"]
    ok = t4[t4["status"] == "ok"]
    assert ok["mean"].is_monotonic_increasing and {"None", "Sp-HfU"} <= set(ok["enhancer"])
    assert (t4["preset"] == "quick").all() and (t4["seed"] == 3).all() and t4["data"].str.contains("synthetic").all()
    # DL enhancers without weights keep their row, with the reason and no number
    assert t4[t4["status"] != "ok"]["mean"].isna().all()
    t5 = pd.read_csv(out / "table5_roughness_holes.csv", keep_default_na=False, na_values=["", "nan"])
    assert set(t5["camera"]) == {"kinect", "d435"} and t5["data"].str.contains("synthetic stand-in").all()
    t6 = pd.read_csv(out / "table6_falsification.csv", keep_default_na=False, na_values=["", "nan"])
    assert len(t6) == 8 * 3
    t7 = pd.read_csv(out / "table7_landmarks_pad.csv", keep_default_na=False, na_values=["", "nan"])
    assert set(t7["test"]) == {"manual_landmark_holes", "dlib_landmark_holes", "dlib_geometric_pad_error"}
    assert (out / "figures" / "fig08_rmse.png").stat().st_size > 1000
    assert (out / "figures" / "fig13_synthetic_sample1.png").is_file()
    assert (out / "compare_summary.csv").is_file()
    # resumable: a second run of a finished step does nothing (the table is not rewritten)
    before = (out / "table4_synthetic_rmse.csv").stat().st_mtime_ns
    steps.step04_table4(args)
    assert (out / "table4_synthetic_rmse.csv").stat().st_mtime_ns == before


def test_d435_set_from_png_pairs(tmp_path):
    from skimage import data

    from experiments.datasets.realsense import write_png_pairs
    from experiments.schlett.evalsets import DATA_D435, d435_set

    color = data.astronaut()                                       # 512x512, one face
    yy, xx = np.mgrid[0:512, 0:512]
    depth = (600 + 0.1 * np.hypot(xx - 222, yy - 126)).astype(np.uint16)   # mm (scale 0.001)
    depth[:, :40] = 0                                              # RealSense holes
    write_png_pairs(tmp_path, [color, np.zeros_like(color)], [depth, depth])
    s = d435_set(tmp_path)
    assert s.data == DATA_D435 and len(s) == 1                     # the black frame has no face: skipped
    assert s.depth.shape == (1, 256, 256) and s.depth.dtype == np.uint16
    assert s.has_mask[0] and s.mask[0].sum() > 2000
    # the 25 cm range starts at the ROI's nearest depth: the minimum inside the crop is 0
    assert s.depth[0][s.depth[0] != HOLE].min() == 0
