"""Pini et al. (001): eq. 6 crop, eq. 7 subsets, fixed pair lists, Table 1/2 assembly, end-to-end run."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from experiments.cgan import crop
from experiments.cgan import verification as ver
from experiments.cgan.data import FaceSet


def test_face_box_eq6_hand_computed():
    box = crop.face_box(200.0, 150.0, 1000.0, crop.FOCAL_PANDORA)
    # w = h = 365 * 320 / 1000 = 116.8 pixels, centred on the head centre
    assert box.width == pytest.approx(116.8) and box.height == pytest.approx(116.8)
    assert (box.left + box.right) / 2 == pytest.approx(200.0)
    assert (box.top + box.bottom) / 2 == pytest.approx(150.0)
    b2 = crop.face_box(0, 0, 800.0, crop.FOCAL_BIWI)
    assert b2.width == pytest.approx(370 * 320 / 800)
    with pytest.raises(ValueError):
        crop.face_box(0, 0, float("nan"), 365)


def test_head_distance_ignores_missing_readings():
    d = np.zeros((50, 50), np.uint16)
    d[20:30, 20:30] = 1000
    d[25, 25] = 1300
    # 15x15 window around (25, 25) sees 99 values of 1000 and one of 1300, zeros ignored
    assert crop.head_distance(d, 25, 25) == pytest.approx((99 * 1000 + 1300) / 100)
    assert np.isnan(crop.head_distance(np.zeros((9, 9), np.uint16), 4, 4))


def test_depth_encoding():
    z = np.array([[0, 875, 1000, 1125, 1400]], np.float64)
    v = crop.depth_mm_to_u8(z, 1000.0)
    assert v.tolist() == [[0, 255, 128, 0, 0]]       # 255 at D-125, 127.5 -> 128 at D, 0 from D+125
    u = np.array([[0, 65535, 65534]], np.uint16)
    assert crop.project_depth_to_u8(u).tolist() == [[255, 0, 0]]


def test_crop_resize_pads_outside():
    img = np.arange(100, dtype=np.uint8).reshape(10, 10) + 1
    out = crop.crop_resize(img, crop.Box(-5, -5, 5, 5), 10, nearest=True)
    assert out[:5, :5].max() == 0                   # outside the frame -> fill
    np.testing.assert_array_equal(out[5:, 5:], img[:5, :5])


def test_angle_subsets_eq7_boundaries():
    yaw = np.array([10.0, -10.0, 10.01, 0.0, 0.0])
    pitch = np.array([0.0, 10.0, 0.0, -10.5, 0.0])
    roll = np.array([-10.0, 0.0, 0.0, 0.0, 11.0])
    assert ver.angle_subsets(yaw, pitch, roll).tolist() == ["A1", "A1", "A2", "A2", "A2"]


def _faces(n=40, ids=4, seed=0):
    rng = np.random.default_rng(seed)
    z = np.zeros((n, 8, 8), np.uint8)
    return FaceSet(z, z.copy(), np.zeros((n, 8, 8, 3), np.uint8), np.array([f"p{i % ids}" for i in range(n)]),
                   rng.choice([0.0, 30.0], n).astype(np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32),
                   np.where(np.arange(n) % 3 == 0, "S4-S5", "S1-S3"), np.full((n, 68, 2), np.nan, np.float32))


def test_pair_lists_fixed_balanced_within_cells(tmp_path):
    faces = _faces()
    p = ver.pairs_csv(tmp_path / "pairs.csv", faces, 10, seed=3, log=None)
    again = ver.pairs_csv(tmp_path / "pairs.csv", faces, 10, seed=99, log=None)   # reused, not redrawn
    pd.testing.assert_frame_equal(p.reset_index(drop=True), again.reset_index(drop=True))
    cells = ver.cell_of(faces)
    for r in p.itertuples():
        assert cells[r.a] == r.cell and cells[r.b] == r.cell and r.a != r.b
        assert (faces.identity[r.a] == faces.identity[r.b]) == bool(r.same)
    counts = p.groupby("cell")["same"].agg(["sum", "count"])
    assert (counts["count"] == 10).all() and (counts["sum"] == 5).all()


def test_table2_pools_cells():
    pairs = pd.DataFrame({"cell": ["A1/S1-S3", "A1/S4-S5", "A2/S1-S3", "A2/S4-S5"], "same": [1, 1, 0, 0],
                          "a": 0, "b": 1})
    orig = np.array([0.9, 0.1, 0.2, 0.7])     # correct, wrong, correct, wrong
    gen = np.array([0.9, 0.9, 0.9, 0.1])      # correct, correct, wrong, correct
    t = ver.table2(pairs, orig, gen).set_index(["angle_subset", "sequences"])
    assert t.loc[("A1", "S1-S3"), "original"] == 1.0
    assert t.loc[("A1", "S1-S5"), "original"] == 0.5 and t.loc[("A1", "S1-S5"), "generated"] == 1.0
    assert t.loc[("A1+A2", "S1-S3"), "generated"] == 0.5
    assert t.loc[("A1+A2", "S1-S5"), "original"] == 0.5 and t.loc[("A1+A2", "S1-S5"), "n_pairs"] == 4


def test_pixel_table_perfect_and_offset_predictions():
    from experiments.cgan.pini_run import pixel_table

    gt = np.full((2, 4, 4), 100, np.uint8)
    gt[:, 0, 0] = 0                                     # background: excluded by the metrics
    t = pixel_table(gt, {"cgan": gt.copy(), "ae": (gt + 10).astype(np.uint8)}, "pandora").set_index("metric")
    assert t.loc["l1_norm", "pandora_cgan"] == 0 and t.loc["delta_1.25^(1/4)", "pandora_cgan"] == 1
    assert t.loc["l1_norm", "pandora_ae"] == pytest.approx(10.0)
    assert t.loc["l2_norm", "pandora_ae"] == pytest.approx(10.0 * np.sqrt(15))
    assert t.loc["abs_rel_diff", "pandora_ae"] == pytest.approx(0.1)
    # ratio 1.1 passes 1.25^(1/2) = 1.118 but not 1.25^(1/3) = 1.077
    assert t.loc["delta_1.25^(1/2)", "pandora_ae"] == 1 and t.loc["delta_1.25^(1/3)", "pandora_ae"] == 0


def test_pini_end_to_end_tiny(results_tmp, monkeypatch):
    from experiments.cgan import pini_run, standin
    from models import cgan_presets

    tiny = dataclasses.replace(
        cgan_presets.PINI_PRESETS["quick"], name="tiny", epochs=1, n_train=24, n_test=16, n_val=12,
        encoder_filters=(4, 4, 8, 8), decoder_filters=(8, 4, 4, 4), pix2pix_ngf=4, pix2pix_ndf=4,
        siamese_filters=(4, 4, 4, 4, 4), siamese_fc=(8, 4), siamese_epochs=1, siamese_train_pairs=32,
        val_pairs_per_cell=4, test_pairs_per_cell=4, train_identities=4, test_identities=3)
    monkeypatch.setitem(cgan_presets.PINI_PRESETS, "tiny", tiny)
    summary = pini_run.run("tiny", 0, generate=standin.generate, log_fn=lambda m: None)
    t1 = pd.read_csv(results_tmp / "pini" / "table1_pixel_metrics.csv")
    assert list(t1["metric"])[-1] == "face_verification_accuracy" and len(t1) == 14
    for col in ("pandora_cgan", "pandora_ae", "pandora_pix2pix"):
        assert t1[col].notna().all()
    assert (t1["data"] == summary["data"]).all() and summary["data"].startswith("stand-in")
    t2 = pd.read_csv(results_tmp / "pini" / "table2_face_verification.csv")
    assert len(t2) == 9 and set(t2["angle_subset"]) == {"A1", "A2", "A1+A2"}
    assert (results_tmp / "pini" / "figures" / "samples.png").stat().st_size > 0
    # a second run reuses the trained models (resume without redoing finished work)
    msgs = []
    pini_run.run("tiny", 0, generate=standin.generate, log_fn=msgs.append)
    assert sum("reusing" in m for m in msgs) == 4
