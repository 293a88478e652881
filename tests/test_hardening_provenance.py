"""Issue #21, item 9 (provenance): the U-Net and Chiu training logs, the Pini pair lists, the PAD
calibration CSV and bench_unets' JSON say which code, preset and seed wrote them (a sidecar
``<name>.json`` beside each CSV: ``{"provenance": ..., "columns": ..., "rows": ...}``, as
``experiments.schlett.io.write_table`` writes; a ``provenance`` block in the benchmark's JSON)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prnet_synth.atomic import code_version, provenance


def _sidecar(csv: Path) -> dict:
    """The sidecar of ``csv``, checked against the CSV it describes (columns and row count)."""
    side = csv.with_suffix(".json")
    assert side.is_file(), f"{side} missing"
    rec = json.loads(side.read_text())
    df = pd.read_csv(csv)
    assert rec["columns"] == list(df.columns)
    assert rec["rows"] == len(df)
    return rec["provenance"]


def test_unet_training_log_has_a_sidecar_updated_with_every_epoch(results_tmp):
    pytest.importorskip("tensorflow")
    from models.enhancer_presets import tiny_preset
    from models.training import train_one

    preset = tiny_preset(delta_gts=4, delta_stage_gts=4, epochs=2, width_multiplier=0.0625)
    csv = results_tmp / "training" / "tiny" / "DL-Delta-1.csv"
    for epochs_so_far in (1, 2):   # a run stopped after one epoch, then resumed for one more
        res = train_one("DL-Delta-1", preset, 3, data="toy", verbose=False, stop_after_epochs=1)
        assert res["status"] == "stopped"
        prov = _sidecar(csv)
        assert len(pd.read_csv(csv)) == epochs_so_far
        assert prov["code_version"] == code_version() == prov["code_version_written"]
        assert (prov["preset"], prov["seed"], prov["label"]) == ("tiny", 3, "DL-Delta-1")
        assert prov["data"]


def test_chiu_training_log_has_a_sidecar(results_tmp):
    pytest.importorskip("tensorflow")
    from test_chiu_pipeline import micro

    from experiments.chiu.pipeline import train_depthnet

    logs = results_tmp / "chiu" / "logs"
    train_depthnet(micro(), 5, with_mask=False, log_dir=logs)
    (csv,) = logs.glob("train_log_depthnet_nomask_micro_*_s5.csv")
    prov = _sidecar(csv)
    assert prov["code_version"] == code_version()
    assert (prov["preset"], prov["seed"], prov["model"], prov["with_mask"]) == ("micro", 5, "DepthNet", False)
    assert prov["tag"] == csv.stem[len("train_log_"):] and prov["epochs"] == 1
    assert "synthetic" in prov["data"]


def _faces(n=24, ids=4):
    from experiments.cgan.data import FaceSet

    z = np.zeros((n, 8, 8), np.uint8)
    return FaceSet(z, z.copy(), np.zeros((n, 8, 8, 3), np.uint8), np.array([f"p{i % ids}" for i in range(n)]),
                   np.where(np.arange(n) % 2 == 0, 0.0, 30.0).astype(np.float32), np.zeros(n, np.float32),
                   np.zeros(n, np.float32), np.where(np.arange(n) % 3 == 0, "S4-S5", "S1-S3"),
                   np.full((n, 68, 2), np.nan, np.float32))


def test_pini_pair_list_has_a_sidecar_kept_when_the_list_is_reused(tmp_path):
    from experiments.cgan import verification as ver

    faces = _faces()
    path = tmp_path / "pairs_val.csv"
    ver.pairs_csv(path, faces, 4, seed=18, log=None, prov=provenance("tiny", 7, "stand-in faces"))
    prov = _sidecar(path)
    assert prov["code_version"] == code_version()
    assert (prov["preset"], prov["seed"], prov["pair_seed"], prov["pairs_per_cell"]) == ("tiny", 7, 18, 4)
    assert prov["data"] == "stand-in faces" and prov["n_faces"] == len(faces)
    before = path.with_suffix(".json").read_text()
    ver.pairs_csv(path, faces, 4, seed=99, log=None, prov=provenance("other", 1, "x"))   # reused, not redrawn
    assert path.with_suffix(".json").read_text() == before


def test_pad_calibration_sidecar(results_tmp):
    from experiments.pad import calibrate

    assert calibrate.main(["--faces", "1", "--frames", "2", "--seed", "4"]) == 0
    prov = _sidecar(results_tmp / "pad" / "calibration_None.csv")
    assert prov["code_version"] == code_version()
    assert (prov["preset"], prov["seed"], prov["enhancer"], prov["pad_config"]) == ("n/a", 4, "None", "default")
    assert (prov["faces"], prov["frames"]) == (1, 2)
    # a deep-learning enhancer's record names its weights preset ("best" resolved: none shipped here)
    assert calibrate.weights_preset_of("DL-Delta-1", "cpu") == "cpu"
    assert calibrate.weights_preset_of("DL-Delta-1", "best") == "quick"
    assert calibrate.weights_preset_of("Sp-HfU", "best") == "n/a"


def test_bench_unets_json_has_a_provenance_block(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow")
    from benchmarks import bench_unets as B

    # the measurements stubbed: only what main writes is checked
    monkeypatch.setattr(B, "matmul_peak", lambda seconds: 100.0)
    monkeypatch.setattr(B, "conv_probe", lambda *a: 50.0)
    monkeypatch.setattr(B, "bench_network", lambda label, batch, seconds, xla=False: {
        "network": label, "params": 1, "gflop_per_image": 1.0, "infer_keras_batch": batch, "infer_img_s": 1.0,
        "infer_gflop_s": 1.0, "train_img_s": 1.0, "train_gflop_s": 3.0, "deployed_batch": 16,
        "deployed_img_s": 2.0, "deployed_gflop_s": 2.0})
    monkeypatch.setattr(B, "bench_tflite", lambda seconds, test_images, tmp: {
        "full_delta_img_s": {"keras_fp32_b1": 1.0}, "full_delta_ratio_vs_keras": {"keras_fp32_b1": 1.0},
        "trained": "weights missing"})
    out = tmp_path / "bench.json"
    assert B.main(["--json", str(out), "--networks", "DL-Delta", "--batch", "2", "--test-images", "5",
                   "--seconds", "0.1"]) == 0
    rec = json.loads(out.read_text())
    prov = rec["provenance"]
    assert prov["code_version"] == code_version()
    assert (prov["preset"], prov["seed"], prov["test_set_seed"]) == ("quick", 0, 9100)
    assert (prov["batch"], prov["test_images"], prov["networks"], prov["image_size"]) == (2, 5, ["DL-Delta"], 256)
    assert prov["machine"] == rec["machine"] and prov["tensorflow"] and prov["cpu_count"]


def _old_log(tmp_path: Path, model="DL-Delta-2", losses=(0.0123456, 0.0100589, 0.0112593)) -> Path:
    """A training log as the training wrote it before logs had sidecars (no ``.json`` beside it)."""
    csv = tmp_path / "training" / "cpu" / f"{model}.csv"
    csv.parent.mkdir(parents=True)
    lines = ["model,session,stage,epoch,global_epoch,pairs,loss,best,saved,seconds"]
    best = None
    for i, loss in enumerate(losses, 1):
        saved = best is None or loss < best
        best = loss if saved else best
        lines.append(f"{model},delta,1,{i},{i},2850,{loss},{best},{int(saved)},274.38")
    csv.write_text("\n".join(lines) + "\n")
    return csv


def _weights_record(tmp_path: Path, **changes) -> Path:
    rec = {"model": "DL-Delta-2", "epochs": 3, "best_loss": 0.010058912345, "preset": "cpu", "seed": 0,
           "code_version": "6b0d1ec5ec", "created_utc": "2026-12-07T06:37:18Z",
           "data": "synthetic generator (prnet_synth.procedural)", **changes}
    path = tmp_path / "DL-Delta-2.json"
    path.write_text(json.dumps(rec))
    return path


def test_old_training_log_gets_its_sidecar_from_the_weights_record_of_the_same_run(tmp_path):
    from models.training import log_sidecar_from_weights

    csv = _old_log(tmp_path)
    log_sidecar_from_weights(csv, _weights_record(tmp_path))
    prov = _sidecar(csv)
    # the weights' code and time, not this call's: the log was written by that run
    assert (prov["code_version"], prov["code_version_written"]) == ("6b0d1ec5ec", "6b0d1ec5ec")
    assert (prov["preset"], prov["seed"], prov["label"]) == ("cpu", 0, "DL-Delta-2")
    assert prov["created_utc"] == "2026-12-07T06:37:18Z" and prov["from_weights_record"] == "DL-Delta-2.json"
    with pytest.raises(ValueError, match="already has a sidecar"):      # the training's own is kept
        log_sidecar_from_weights(csv, _weights_record(tmp_path))


@pytest.mark.parametrize("changes, message", [
    ({"epochs": 12}, "3 rows.*12 epochs"),                   # another run's record
    ({"best_loss": 0.0093}, "lowest logged loss"),           # same length, other losses
    ({"model": "DL-Delta-3"}, "DL-Delta-3"),                 # another network's record
])
def test_sidecar_from_a_weights_record_of_another_run_is_refused(tmp_path, changes, message):
    from models.training import log_sidecar_from_weights

    csv = _old_log(tmp_path)
    with pytest.raises(ValueError, match=message) as err:
        log_sidecar_from_weights(csv, _weights_record(tmp_path, **changes))
    assert str(csv) in str(err.value) and not csv.with_suffix(".json").exists()


def test_every_committed_training_log_has_a_sidecar():
    """The committed U-Net training logs (results/training/<preset>/) each say what wrote them."""
    root = Path(__file__).resolve().parent.parent / "results" / "training"
    logs = sorted(p for p in root.glob("*/*.csv"))
    assert logs, f"no training logs under {root}"
    for csv in logs:
        prov = _sidecar(csv)
        assert prov["preset"] == csv.parent.name and prov["label"] == csv.stem
        assert prov["code_version"] and prov["seed"] is not None
