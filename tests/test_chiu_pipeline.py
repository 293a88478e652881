"""Chiu experiments end to end on a micro preset (embedded synthetic default): tables written with
the paper's columns and provenance, resumable (a rerun reuses trained weights and gives equal tables)."""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.chiu_presets import get_preset

REPO = Path(__file__).resolve().parent.parent


def micro():
    q = get_preset("quick")
    return dataclasses.replace(
        q, name="micro",
        depthnet=dataclasses.replace(q.depthnet, size=32, base_filters=8, max_filters=16, disc_filters=8, epochs=1,
                                     batch_size=8),
        recognition=dataclasses.replace(q.recognition, size=32, widths=(8, 8, 16, 16), embedding=16, epochs=2,
                                        lr_milestones=(1,), batch_size=8),
        depthnet_train_identities=4, depthnet_samples_per_identity=2, depthnet_test_identities=2,
        rec_train_identities=3, rec_train_per_identity=3, rec_test_identities=3, rec_probes_per_set=2)


def test_chiu_tables_micro(results_tmp, monkeypatch):
    """Both command lines on the embedded default (a micro preset registered for the test)."""
    import experiments.chiu_01_depthnet_tables as s01
    import experiments.chiu_02_recognition_tables as s02
    from models import chiu_presets

    preset = micro()
    monkeypatch.setitem(chiu_presets.PRESETS, "micro", preset)
    out = results_tmp / "chiu"
    tables = s01.main(["--preset", "micro", "--seed", "5", "--out", str(out)])
    t1 = pd.read_csv(out / "table1_depth_mse.csv")
    assert list(t1["method"]) == ["3DDFA", "PRNet", "DepthNet"]
    assert t1.set_index("method").loc["PRNet", "status"] == "weights missing"
    assert np.isnan(t1.set_index("method").loc["PRNet", "bu3dfe"])
    ours = t1.set_index("method").loc["DepthNet", "bu3dfe"]
    assert np.isfinite(ours) and 0 <= ours <= 255 ** 2
    assert (t1["data"].str.contains("synthetic")).all() and (t1["preset"] == "micro").all()
    t5 = pd.read_csv(out / "table5_mask_ablation.csv")
    assert list(t5["method"]) == ["DepthNet w/o mask", "DepthNet w mask"]
    s02.main(["--preset", "micro", "--seed", "5", "--out", str(out)])
    t2 = pd.read_csv(out / "table2_identification.csv")
    assert list(t2["modalities"]) == ["RGB+D*+M*"]
    assert list(t2.columns[1:5]) == ["bu3dfe", "texas", "bosphorus_1", "bosphorus_2"]
    t3 = pd.read_csv(out / "table3_modalities.csv")
    assert list(t3["modalities"]) == ["RGB+M*", "D*+M*", "RGB+D*+M*"] and {"frgcv2", "bosphorus_1"} <= set(t3)
    # Bosphorus-1 is one stand-in evaluated once: Tables II and III carry the same number
    assert t2["bosphorus_1"][0] == t3.set_index("modalities").loc["RGB+D*+M*", "bosphorus_1"]
    t4 = pd.read_csv(out / "table4_lock3dface.csv")
    t6 = pd.read_csv(out / "table6_modalities.csv")
    assert list(t6["modalities"]) == ["D*+M*", "RGB+M*", "RGB+D*+M*"]
    cols = ["expression", "pose", "occlusion", "time"]
    vals = t6[cols].to_numpy(float)
    assert np.all((vals >= 0) & (vals <= 100))
    np.testing.assert_allclose(t6["average"], vals.mean(axis=1))
    np.testing.assert_allclose(t4[cols].to_numpy(float)[0], vals[2])
    # the protocols of IV-A.2 on the stand-ins (3 identities, rec_probes_per_set n = 2):
    # BU-3DFE neutral gallery / 2 expression captures each; Texas first image / 2 more; Bosphorus-1
    # neutral / expressions (2 each), Bosphorus-2 neutral / everything else (2 expr + 2 pose + 2 occl.);
    # Lock3DFace S1 neutral / expression 2, pose 2, occlusion 3 (hand, paper, glasses), S2 2
    counts = json.loads((out / "protocol_counts.json").read_text())["columns"]
    expect = {"bu3dfe": 6, "texas": 6, "bosphorus_1": 6, "bosphorus_2": 18, "frgcv2": 6, "expression": 6,
              "pose": 6, "occlusion": 9, "time": 6}
    assert {k: v["probes"] for k, v in counts.items()} == expect
    assert all(v["gallery"] == 3 for v in counts.values())
    assert (out / "figures" / "fig7_attention.png").is_file()
    spread = json.loads((out / "protocol_counts.json").read_text())["attention_spread"]
    assert set(spread) == {"stage0", "stage2"}
    # a real data set's protocols with the same (cached) networks: a Lock3DFace fixture
    from test_chiu_datasets import _lock_clip

    lock = results_tmp.parent / "lock3dface"
    _lock_clip(lock, "session1", "neutral", "001", 2)
    _lock_clip(lock, "session1", "neutral", "002", 1)
    _lock_clip(lock, "session1", "pose", "001", 1)
    _lock_clip(lock, "session1", "expression", "002", 1)
    _lock_clip(lock, "session2", "neutral", "002", 1, colour="video")
    with pytest.raises(SystemExit):
        s02.main(["--preset", "micro", "--data", str(lock)])  # --data needs --dataset
    from experiments.chiu import pipeline

    real = pipeline.recognition_tables_real(preset, 5, "Lock3DFace", lock, out)
    assert list(real["modalities"]) == ["D*+M*", "RGB+M*", "RGB+D*+M*"] and (real["n_records"] == 6).all()
    rc = json.loads((out / "identification_Lock3DFace_counts.json").read_text())["columns"]
    assert {k: (v["gallery"], v["probes"]) for k, v in rc.items()} == {
        "expression": (2, 1), "pose": (2, 1), "occlusion": (2, 0), "time": (2, 1)}
    got = real[["expression", "pose", "time"]].to_numpy(float)
    assert np.isin(got, [0.0, 100.0]).all() and real["occlusion"].isna().all()
    # resumable: a second run reuses the trained weights (no new training log lines) and reproduces the tables
    log = out / "logs"
    sizes = {p.name: p.stat().st_size for p in log.glob("*.csv")}
    again = pipeline.depth_tables(preset, seed=5, out_dir=out)
    pd.testing.assert_frame_equal(again["table1"].drop(columns=["code_version"]), tables["table1"].drop(columns=["code_version"]))
    assert {p.name: p.stat().st_size for p in log.glob("*.csv")} == sizes
    # the trained models are shipped compact (float16 npz), each with its provenance record
    shipped = sorted((results_tmp / "weights" / "micro" / "chiu").glob("*.npz"))
    assert [p.name.split("_")[0] for p in shipped] == ["depthnet", "depthnet", "recognition"]
    for w in shipped:
        rec = json.loads(w.with_suffix(".json").read_text())
        assert rec["preset"] == "micro" and rec["seed"] == 5 and rec["weights"] == w.name
        cfg = preset.recognition if rec["model"] == "MaskGuidedRecognizer" else preset.depthnet
        assert rec["images_seen"] == cfg.epochs * rec["n_train_images"] and rec["seconds_this_run"] >= 0
    # an earlier version kept the full state beside the record: it is taken over and compacted
    import shutil

    from prnet_synth.paths import work_dir

    rec_npz = next(p for p in shipped if p.name.startswith("recognition"))
    full = work_dir("chiu", f"{rec_npz.stem}.weights.h5")
    legacy = rec_npz.with_name(f"{rec_npz.stem}.weights.h5")
    shutil.move(str(full), str(legacy))
    rec_npz.unlink()
    pipeline.train_recognition(preset, 5)
    assert rec_npz.is_file() and full.is_file() and not legacy.exists()
    assert json.loads(rec_npz.with_suffix(".json").read_text())["weights"] == rec_npz.name
    assert {p.name: p.stat().st_size for p in log.glob("*.csv")} == sizes     # not retrained
    # the compact file alone (no full state in the work folder) reproduces the tables

    for full in work_dir("chiu").glob("*.weights.h5"):
        full.unlink()
    again = pipeline.depth_tables(preset, seed=5, out_dir=out)
    pd.testing.assert_frame_equal(again["table1"].drop(columns=["code_version"]), tables["table1"].drop(columns=["code_version"]))
    assert {p.name: p.stat().st_size for p in log.glob("*.csv")} == sizes     # still no retraining


def test_identification_on_hand_made_features():
    """Rank-1 per protocol and modality against a hand-worked case (Lock3DFace protocol)."""
    from experiments.chiu.pipeline import identification
    from experiments.datasets.scans3d import ScanRecord

    R = lambda s, v, sess=1: ScanRecord("Lock3DFace", s, None, v, session=sess)  # noqa: E731
    recs = [R("a", "neutral"), R("b", "neutral"), R("a", "expression"), R("b", "expression"),
            R("a", "pose"), R("b", "neutral", 2)]
    e = np.eye(2)
    # gallery a = e0, b = e1 in both branches; probes:
    # expression a: rgb right (e0), depth wrong (e1)  -> RGB yes, D no; fused: cos(a)=.5+0 vs cos(b)=0+.5 tie
    # expression b: rgb right, depth right
    # pose a: rgb 0.9 a / 0.1 b, depth 0.2 a / 0.98 b -> fused mean picks a (0.55+... see below)
    rgb = np.array([e[0], e[1], e[0], e[1], [0.9, 0.1], e[1]])
    dep = np.array([e[0], e[1], e[1], e[1], [0.2, 0.98], e[0]])
    acc, counts = identification(recs, {"rgb": rgb, "depth": dep}, ["Lock3DFace"])
    assert counts["expression"] == {"gallery": 2, "probes": 2, "protocol": "Lock3DFace"}
    assert acc["expression"]["RGB+M*"] == 100.0 and acc["expression"]["D*+M*"] == 50.0
    # pose a: cos rgb = (0.9939, 0.1104), cos depth = (0.1999, 0.9798); mean a = 0.5969 > b = 0.5451
    assert acc["pose"] == {"D*+M*": 0.0, "RGB+M*": 100.0, "RGB+D*+M*": 100.0}
    # time (session 2) b: rgb right, depth says a
    assert acc["time"]["RGB+M*"] == 100.0 and acc["time"]["D*+M*"] == 0.0
    assert np.isnan(acc["occlusion"]["RGB+D*+M*"]) and counts["occlusion"]["probes"] == 0


def test_chiu_notebook_runs(monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    if not (REPO / "results" / "chiu" / "table6_modalities.csv").is_file():
        pytest.skip("results/chiu not present: run the Chiu scripts first")
    monkeypatch.delenv("FACE_DEPTH_RESULTS", raising=False)
    path = REPO / "notebooks" / "chiu.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert [o for o in outputs if o.get("output_type") in ("execute_result", "display_data")]


class _FakePRNet:
    """Stands in for ``PRNetPipeline``: a flat square mesh covering the whole 256x256 crop frame,
    with a crop transform that doubles image coordinates (crop = 2 x image)."""
    render_mode = "flat"

    def __init__(self, fail=False):
        self.fail = fail
        self.calls = []

    def mesh(self, image):
        from prnet_synth.prnet_pipeline import MeshResult, NoFaceError

        self.calls.append(image.shape)
        if self.fail:
            raise NoFaceError("no face")
        v = np.array([[0, 0, 10], [255, 0, 10], [255, 255, 10], [0, 255, 10]], np.float32)
        tris = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
        tform = np.diag([2.0, 2.0, 1.0])
        return MeshResult(v, tris, np.zeros((68, 3), np.float32), tform, {})

    def depth_scale(self, mesh):
        return 0.5


def test_prnet_estimator_maps_the_crop_frame_back():
    from experiments.chiu.pipeline import prnet_estimator
    from prnet_synth.conventions import HOLE

    fake = _FakePRNet()
    est = prnet_estimator(None, pipeline=fake)(np.zeros((2, 64, 64, 3), np.uint8))
    assert fake.calls == [(256, 256, 3), (256, 256, 3)]  # enlarged to PRNet's input size
    # the crop frame's 256 px are 128 image px of the 256 px input = 32 of the 64 px output
    assert est.shape == (2, 64, 64)
    assert (est[:, :31, :31] == 0).all() and (est[:, 33:, :] == HOLE).all() and (est[:, :, 33:] == HOLE).all()
    none = prnet_estimator(None, pipeline=_FakePRNet(fail=True))(np.zeros((1, 64, 64, 3), np.uint8))
    assert (none == HOLE).all()


def test_depthnet_on_bu3dfe_and_prnet_row_from_the_command_line(results_tmp, monkeypatch, tmp_path):
    import experiments.chiu_01_depthnet_tables as s01
    from experiments.chiu import pipeline
    from models import chiu_presets
    from test_chiu_datasets import bu3dfe_fixture

    root = tmp_path / "BU3DFE"
    bu3dfe_fixture(root)
    m = micro()
    # 64 px renders (dlib needs a face of some size); the first subject trains, the second tests
    preset = dataclasses.replace(m, depthnet=dataclasses.replace(m.depthnet, size=64), depthnet_train_identities=1)
    monkeypatch.setitem(chiu_presets.PRESETS, "micro64", preset)
    orig = pipeline.prnet_estimator
    monkeypatch.setattr(pipeline, "prnet_estimator", lambda d, w=None: orig(d, w, pipeline=_FakePRNet()))
    out = results_tmp / "chiu"
    with pytest.raises(SystemExit):  # BU-3DFE has no parsing masks of its own
        s01.main(["--preset", "micro64", "--depthnet-data", str(root), "--mask-source", "generator"])
    tables = s01.main(["--preset", "micro64", "--depthnet-data", str(root), "--out", str(out),
                       "--prnet-dir", str(tmp_path)])
    cache = list((tmp_path / "work_data" / "chiu").glob("depthnet_train_bu3dfe_*.npz"))
    assert len(cache) == 1
    with np.load(cache[0]) as z:  # 2 scans x 3 poses of F0001, less renders without a dlib face
        assert set(z["subject"]) == {"F0001"} and 2 <= len(z["rgb"]) <= 6 and z["mask"].shape[1:] == (64, 64)
    t1 = tables["table1"].set_index("method")
    assert t1.loc["PRNet", "status"] == "ok" and np.isfinite(t1.loc["PRNet", "bu3dfe"])
    assert np.isfinite(t1.loc["DepthNet", "bu3dfe"]) and "BU-3DFE" in t1.loc["DepthNet", "data"]
    assert (tables["table5"]["data"].str.contains("BU-3DFE")).all()


def test_compact_weights_round_trip_and_refuse_another_configuration(tmp_path):
    """float16 where a value fits (a weight of 1e6 stays exact), build order kept, and a file of
    another configuration refused with its name."""
    import keras

    from experiments.chiu.pipeline import load_compact_weights, save_compact_weights

    def net(width):
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(width), keras.layers.BatchNormalization(),
                              keras.layers.Dense(2)])
        return m

    a = net(3)
    w = [np.random.default_rng(k).normal(size=np.shape(v)).astype(np.float32) for k, v in enumerate(a.weights)]
    w[0][0, 0] = 1e6                                     # beyond float16
    a.set_weights(w)
    path = save_compact_weights(a, tmp_path / "m.npz")
    with np.load(path) as z:
        assert z["v0000"].dtype == np.float32 and z["v0001"].dtype == np.float16
    b = net(3)
    load_compact_weights(b, path)
    for x, y in zip(w, b.get_weights()):
        np.testing.assert_allclose(y, x.astype(np.float16).astype(np.float32) if np.all(np.abs(x) < 6e4) else x,
                                   rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"m\.npz: array 0 has shape \(4, 3\)"):
        load_compact_weights(net(5), path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz: not a readable weights file"):
        load_compact_weights(b, tmp_path / "bad.npz")
