"""Pini et al. (001): eq. 6 crop, eq. 7 subsets, fixed pair lists, Table 1/2 assembly, end-to-end run."""
from __future__ import annotations

import dataclasses
import json

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
    # Table 1's Cui et al. column: present as in the paper, empty, marked "not reproduced" with the reason
    assert t1["pandora_cui"].isna().all()
    assert t1["pandora_cui_status"].str.startswith("not reproduced: Cui et al. [5]").all()
    t2 = pd.read_csv(results_tmp / "pini" / "table2_face_verification.csv")
    assert len(t2) == 9 and set(t2["angle_subset"]) == {"A1", "A2", "A1+A2"}
    assert (results_tmp / "pini" / "figures" / "samples.png").stat().st_size > 0
    # the pair lists' sidecars: the run's code version, preset and seed (issue 21, item 9)
    from prnet_synth.atomic import code_version

    for name, pair_seed in (("pairs_val", 11), ("pairs_test", 13)):
        side = json.loads((results_tmp / "pini" / f"{name}.json").read_text())
        prov = side["provenance"]
        assert (prov["preset"], prov["seed"], prov["pair_seed"]) == ("tiny", 0, pair_seed)
        assert prov["code_version"] == code_version() and prov["data"] == summary["data"]
        assert side["rows"] == len(pd.read_csv(results_tmp / "pini" / f"{name}.csv"))
    # a second run reuses the trained models (resume without redoing finished work)
    msgs = []
    pini_run.run("tiny", 0, generate=standin.generate, log_fn=msgs.append)
    assert sum("reusing" in m for m in msgs) == 4


# ----------------------------------------------------------------------------- exclusion (001 sec. 4.1.1)
def test_crop_quality_hand_computed():
    from experiments.cgan.exclusion import crop_quality

    z = np.full((10, 10), 1000.0)            # D = 1000: window [875, 1125] holds these
    z[0, :5] = 850.0                          # 150 mm in front: "near" (> 100 mm) and outside the window
    z[1, :5] = 920.0                          # 80 mm in front: face relief, inside the window
    z[9, :] = 0.0                             # no reading
    q = crop_quality(z, 1000.0, crop.Box(-10.0, 0.0, 90.0, 100.0), (424, 512))
    assert q["near_fraction"] == pytest.approx(5 / 100)
    assert q["valid_fraction"] == pytest.approx((100 - 5 - 10) / 100)
    assert q["outside_fraction"] == pytest.approx(0.10)      # 10 of the 100 columns lie left of the frame


def test_exclusion_reasons_and_boundaries():
    from experiments.cgan import exclusion as ex

    ok = {"yaw": 75.0, "pitch": -60.0, "roll": 50.0, "near_fraction": 0.10, "valid_fraction": 0.25,
          "outside_fraction": 0.25}
    assert ex.exclusion_reason(ok) is None                   # every limit is inclusive
    assert ex.exclusion_reason({**ok, "yaw": -75.5}).startswith("extreme pose: |yaw| 75.5")
    assert ex.exclusion_reason({**ok, "pitch": 61}).startswith("extreme pose: |pitch|")
    assert ex.exclusion_reason({**ok, "roll": -50.1}).startswith("extreme pose: |roll|")
    assert ex.exclusion_reason({**ok, "near_fraction": 0.11}).startswith("occlusion")
    assert ex.exclusion_reason({**ok, "valid_fraction": 0.2}).startswith("failed crop")
    assert ex.exclusion_reason({**ok, "outside_fraction": 0.3}).startswith("failed crop")
    assert ex.exclusion_reason({"yaw": float("nan")}) is None   # unknown angle: not judged
    counts = ex.ExclusionCounts()
    kept = list(ex.filter_samples([ok, {**ok, "yaw": 90}, {**ok, "near_fraction": 0.5}, ok], counts))
    assert len(kept) == 2 and counts.excluded == {"extreme pose": 1, "occlusion": 1, "failed crop": 0}
    assert counts.total == 4 and "kept 2 of 4" in counts.summary()


def _pandora_fixture(root, subject, seq, frames):
    """Pandora frames in the assumed layout; ``frames``: (frame id, yaw, kind) with kind "ok",
    "occluded" (a hand 300 mm in front of the face over a fifth of the crop) or "missed" (the
    annotated head centre lies on a lone reading far from the head)."""
    from prnet_synth.conventions import write_depth_png, write_png

    qdir = root / f"{subject:02d}" / f"base_{seq}_ID{subject:02d}"
    (qdir / "DEPTH").mkdir(parents=True)
    (qdir / "RGB").mkdir()
    lines = ["frame,head_roll,head_pitch,head_yaw,head_x,head_y"]
    rng = np.random.default_rng(subject * 100 + seq)
    for fid, yaw, kind in frames:
        depth = np.zeros((424, 512), np.uint16)
        yy, xx = np.mgrid[0:424, 0:512]
        head = ((xx - 260) / 55.0) ** 2 + ((yy - 210) / 65.0) ** 2 < 1
        depth[head] = (900 - 40 * np.sqrt(np.clip(1 - ((xx - 260) / 55.0) ** 2 - ((yy - 210) / 65.0) ** 2, 0, 1)))[head]
        hx, hy = 260, 210
        if kind == "occluded":
            depth[218:278, 195:262] = 600       # a hand over the lower left of the face, not its centre
        elif kind == "missed":
            hx, hy = 40, 40
            depth[38:43, 38:43] = 2000
        write_depth_png(qdir / "DEPTH" / f"{fid:06d}_DEPTH.png", depth)
        rgb = np.clip(rng.normal(90 + 3 * subject, 20, (424, 512, 3)), 0, 255).astype(np.uint8)
        write_png(qdir / "RGB" / f"{fid:06d}_RGB.png", rgb)
        lines.append(f"{fid:06d},0.0,0.0,{yaw},{hx},{hy}")
    (qdir / "data.csv").write_text("\n".join(lines) + "\n")


def test_pandora_frames_excluded_and_cached_on_disk(tmp_path, results_tmp, monkeypatch):
    from experiments.cgan import facecache, pini_run
    from models import cgan_presets

    root = tmp_path / "pandora"
    _pandora_fixture(root, 3, 1, [(1, 0.0, "ok"), (2, 100.0, "ok"), (3, 5.0, "occluded"), (4, 0.0, "missed"),
                                  (5, -20.0, "ok")])
    _pandora_fixture(root, 10, 4, [(1, 0.0, "ok"), (2, 30.0, "ok")])
    (root / "10" / "base_4_ID10" / "DEPTH" / "000002_DEPTH.png").write_bytes(b"not a png")   # unreadable
    tiny = dataclasses.replace(cgan_presets.PINI_PRESETS["quick"], name="tiny")
    monkeypatch.setitem(cgan_presets.PINI_PRESETS, "tiny", tiny)
    train, val, test, label = pini_run.load_data(tiny, 0, "pandora", str(root), log_fn=lambda m: None)
    assert label == "pandora" and len(train) == 2 and len(test) == 1      # 001's exclusion removed 3 of 5
    assert np.allclose(sorted(train.yaw), [-20.0, 0.0])
    from experiments.cgan.train import work_dir

    cache = work_dir("tiny") / "crops" / "pandora_train_64px"
    summ = facecache.cache_summary(cache)
    assert summ["excluded"] == {"extreme pose": 1, "occlusion": 1, "failed crop": 1, "unreadable": 0}
    assert facecache.cache_summary(work_dir("tiny") / "crops" / "pandora_test_64px")["excluded"]["unreadable"] == 1
    assert isinstance(train.gray, np.memmap) and not train.gray.flags.writeable     # memory-mapped, not loaded
    assert not list(cache.glob("shard_*")) and not list(cache.glob(".*.tmp"))


def test_crop_cache_resumes_after_a_killed_run_and_refuses_another_key(tmp_path):
    from experiments.cgan import facecache
    from experiments.cgan.data import FaceSet

    def faces(frames):
        n = len(frames)
        v = np.array(frames, np.uint8)[:, None, None]
        return FaceSet(np.broadcast_to(v, (n, 4, 4)).copy(), np.broadcast_to(v + 1, (n, 4, 4)).copy(),
                       np.zeros((n, 4, 4, 3), np.uint8), np.array([f"s{f}" for f in frames]),
                       np.zeros(n, np.float32), np.zeros(n, np.float32), np.zeros(n, np.float32),
                       np.array(["S1-S3"] * n), np.full((n, 68, 2), np.nan, np.float32))
    calls = []

    def crop_shard(frames, fail_at=None):
        calls.append(list(frames))
        if fail_at is not None and frames[0] == fail_at:
            raise KeyboardInterrupt("killed")
        return faces([f for f in frames if f % 5]), {"extreme pose": sum(1 for f in frames if f % 5 == 0)}

    frames = list(range(1, 12))          # shards [1-4] [5-8] [9-11]
    key = {"data": "x", "n": len(frames)}
    with pytest.raises(KeyboardInterrupt):
        facecache.build_cache(frames, lambda fr: crop_shard(fr, fail_at=5), tmp_path / "c", 4, key, shard_size=4,
                              log_fn=lambda m: None)
    assert sorted(p.name for p in (tmp_path / "c").glob("shard_*.npz")) == ["shard_00000.npz"]
    calls.clear()
    facecache.build_cache(frames, crop_shard, tmp_path / "c", 4, key, shard_size=4, log_fn=lambda m: None)
    assert [c[0] for c in calls] == [5, 9]                          # the finished shard is not redone
    fs = facecache.load_cache(tmp_path / "c")
    assert fs.gray[:, 0, 0].tolist() == [1, 2, 3, 4, 6, 7, 8, 9, 11]     # 5 and 10 excluded, order kept
    assert fs.depth8[:, 0, 0].tolist() == [2, 3, 4, 5, 7, 8, 9, 10, 12]
    assert facecache.cache_summary(tmp_path / "c")["excluded"] == {"extreme pose": 2}
    with pytest.raises(ValueError, match="cache_key.json"):
        facecache.build_cache(frames, crop_shard, tmp_path / "c", 4, {"data": "y"}, log_fn=lambda m: None)


def test_unit_batches_convert_per_batch_and_cover_every_sample():
    from experiments.cgan.train import UnitBatches

    x = np.arange(10, dtype=np.uint8).reshape(10, 1, 1) * 25          # 0, 25, ..., 225
    y = (255 - x).astype(np.uint8)
    ds = UnitBatches(x, y, 4, seed=1)
    assert len(ds) == 3
    seen = []
    for i in range(len(ds)):
        bx, by = ds[i]
        assert bx.dtype == np.float32 and bx.shape[1:] == (1, 1, 1)
        np.testing.assert_allclose(bx + by, 0.0, atol=1e-6)         # (v / 127.5 - 1) + ((255 - v) / 127.5 - 1) = 0
        seen += np.rint((bx[:, 0, 0, 0] + 1) * 127.5).astype(int).tolist()
    assert sorted(seen) == list(range(0, 250, 25))
    first = ds.order.copy()
    ds.on_epoch_end()
    assert sorted(ds.order) == list(range(10)) and not np.array_equal(first, ds.order)
    pairs = UnitBatches([x, x], np.array([1.0, 0.0], np.float32), 2, index=np.array([[0, 9], [3, 3]]), shuffle=False)
    (a, b), lab = pairs[0]
    assert a[:, 0, 0, 0].tolist() == pytest.approx([-1.0, 3 * 25 / 127.5 - 1]) and lab.tolist() == [1.0, 0.0]
    assert b[0, 0, 0, 0] == pytest.approx(225 / 127.5 - 1)


def test_pini_reconstruction_is_eq3_squared_norm_per_image():
    """001 eq. 3: L_MSE = 1/N sum_i ||G(s_i) - d_i||_2^2 (summed over the pixels of each image)."""
    import tensorflow as tf

    from models import pini as pini_models
    from models.cgan_presets import get_preset

    p = get_preset("pini", "quick")
    gan = pini_models.build_cgan(16, (2, 2, 2, 2), (2, 2, 2, 2), p.recon_weight, recon_reduction=p.recon_reduction)
    target = np.zeros((2, 16, 16, 1), np.float32)
    out = np.zeros((2, 16, 16, 1), np.float32)
    out[0, :2, :2] = 0.5              # image 0: 4 pixels off by 0.5 -> ||.||^2 = 1.0
    out[1, 0, 0] = -1.0               # image 1: 1 pixel off by 1   -> ||.||^2 = 1.0
    assert float(gan._recon_loss(tf.constant(target), tf.constant(out))) == pytest.approx(1.0)
    mean_gan = pini_models.build_cgan(16, (2, 2, 2, 2), (2, 2, 2, 2), recon_reduction="mean")
    assert float(mean_gan._recon_loss(tf.constant(target), tf.constant(out))) == pytest.approx(2.0 / 512)
    with pytest.raises(ValueError, match="recon_reduction"):
        pini_models.build_cgan(16, (2, 2, 2, 2), (2, 2, 2, 2), recon_reduction="sum")


def test_pini_real_data_sets_write_their_own_files(tmp_path, results_tmp, monkeypatch):
    """A Pandora run (fixture in the assumed layout) writes results/pini/pandora/, leaving the
    default's results/pini/ files alone; its crops are excluded, cached and memory-mapped."""
    from experiments.cgan import pini_run
    from models import cgan_presets

    root = tmp_path / "pandora"
    _pandora_fixture(root, 3, 1, [(1, 0.0, "ok"), (2, 5.0, "ok"), (3, 100.0, "ok")])
    _pandora_fixture(root, 5, 4, [(1, 0.0, "ok"), (2, 20.0, "ok")])
    _pandora_fixture(root, 10, 1, [(1, 0.0, "ok"), (2, 20.0, "ok"), (3, 0.0, "occluded")])
    _pandora_fixture(root, 14, 4, [(1, 0.0, "ok"), (2, 0.0, "ok")])
    tiny = dataclasses.replace(
        cgan_presets.PINI_PRESETS["quick"], name="tiny", epochs=1, encoder_filters=(4, 4, 4, 4),
        decoder_filters=(4, 4, 4, 4), pix2pix_ngf=4, pix2pix_ndf=4, siamese_filters=(4, 4, 4, 4, 4),
        siamese_fc=(8, 4), siamese_epochs=1, siamese_train_pairs=16, val_pairs_per_cell=2, test_pairs_per_cell=2)
    monkeypatch.setitem(cgan_presets.PINI_PRESETS, "tiny", tiny)
    (results_tmp / "pini").mkdir()
    (results_tmp / "pini" / "table1_pixel_metrics.csv").write_text("metric\nsentinel\n")
    summary = pini_run.run("tiny", 0, "pandora", str(root), log_fn=lambda m: None)
    assert summary["n_train"] == 4 and summary["n_test"] == 4          # 1 extreme pose, 1 occlusion excluded
    t1 = pd.read_csv(results_tmp / "pini" / "pandora" / "table1_pixel_metrics.csv")
    assert (t1["data"] == "pandora").all() and t1["pandora_cgan"].notna().all()
    assert (results_tmp / "pini" / "pandora" / "table2_face_verification.csv").is_file()
    assert (results_tmp / "pini" / "pandora" / "figures" / "samples.png").is_file()
    assert (results_tmp / "pini" / "table1_pixel_metrics.csv").read_text() == "metric\nsentinel\n"
    assert pini_run._out_dir("biwi") != pini_run._out_dir("pandora")
