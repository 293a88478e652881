"""Steps 01-04 of the Schlett chain on a folder of ground-truth PNGs (``--gt-dir``), the path a user
with PRNet's weights and MegaFace takes (``prnet_synth.synthesize`` writes such a folder)."""
from __future__ import annotations

import subprocess

import cv2
import numpy as np
import pandas as pd
import pytest

from degrade.toyfaces import toy_faces
from experiments.schlett import config
from prnet_synth.conventions import HOLE, write_depth_png


@pytest.fixture
def gt_folder(tmp_path):
    root = tmp_path / "mf2_gt"
    faces = toy_faces(5, seed=11)
    # sorted order: a_0.png, a_1.png, b_bad.png (not a PNG), c_8bit.png, d_empty.png, e_2.png ...
    write_depth_png(root / "a_0.png", faces[0])
    write_depth_png(root / "a_1.png", faces[1])
    (root / "b_bad.png").write_bytes(b"this is not an image")
    cv2.imwrite(str(root / "c_8bit.png"), np.full((256, 256), 7, np.uint8))
    write_depth_png(root / "d_empty.png", np.full((256, 256), HOLE, np.uint16))
    write_depth_png(root / "sub" / "e_2.png", faces[2])
    write_depth_png(root / "sub" / "f_3.png", faces[3])
    write_depth_png(root / "sub" / "g_4.png", faces[4])
    return root, faces


def test_steps_01_to_04_on_a_ground_truth_folder(gt_folder, results_tmp, monkeypatch, caplog):
    import degrade
    from experiments.schlett import steps
    from experiments.schlett.cli import parse
    from experiments.schlett.io import load_arrays

    root, faces = gt_folder
    tiny = config.SchlettPreset("quick", n_test_pairs=4, eval_subjects=2, eval_sessions=1, kinect_limit=0,
                                d435_limit=0, figure_samples=1, attack_repeats=1, batch_size=2, gt_chunk=3)
    monkeypatch.setitem(config.PRESETS, "quick", tiny)
    args = parse(["--preset", "quick", "--gt-dir", str(root), "--train", "quick"], "test")
    with caplog.at_level("WARNING"):
        steps.step01_ground_truth(args)
    # the bad files are named in the log, skipped and counted
    for name in ("b_bad.png", "c_8bit.png", "d_empty.png"):
        assert any(name in r.getMessage() for r in caplog.records), name
    t1 = pd.read_csv(results_tmp / "schlett" / "01_ground_truth.csv")
    assert t1.loc[0, "n"] == 4 and t1.loc[0, "skipped_files"] == 3
    # shard 0 = the first three usable files in sorted order, shard 1 = the next one; scaled as the
    # paper-default degradation says
    a0, m0 = load_arrays(steps._gt_shard(0))
    a1, m1 = load_arrays(steps._gt_shard(1))
    assert m0["files"] == ["a_0.png", "a_1.png", "sub/e_2.png"] and m1["files"] == ["sub/f_3.png"]
    want = degrade.normalize_ground_truth(np.stack([faces[0], faces[1], faces[2], faces[3]]), "paper")
    assert (np.concatenate([a0["depth"], a1["depth"]]) == want).all()
    steps.step02_test_pairs(args)
    # step 03 trains on the folder: the training command gets it as --data
    calls, real_run = [], subprocess.run

    def fake_run(cmd, *a, **kw):
        if "models.train_enhancers" not in cmd:
            return real_run(cmd, *a, **kw)
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr("prnet_synth.paths.weights_dir", lambda preset="quick": results_tmp / "no_weights")
    steps.step03_train(args)
    assert calls and calls[0][calls[0].index("--data") + 1] == str(root.resolve())
    steps.step04_table4(args)
    t4 = pd.read_csv(results_tmp / "schlett" / "table4_synthetic_rmse.csv", keep_default_na=False, na_values=[""])
    ok = t4[t4["status"] == "ok"].set_index("enhancer")
    assert {"None", "Sp-HfU"} <= set(ok.index) and ok.loc["None", "mean"] > ok.loc["Sp-HfU", "mean"]
    # another folder with the same name is other data: step 01 is not skipped
    stamp = (results_tmp / "schlett" / "steps" / "01.json").read_text()
    write_depth_png(root / "sub" / "h_5.png", faces[0])
    assert not steps.is_done("01", args, [steps._gt_shard(0)])
    assert str(root) not in stamp          # no machine path in the stamp


def test_too_few_usable_files_is_a_clear_error(gt_folder, results_tmp, monkeypatch):
    from experiments.schlett import steps
    from experiments.schlett.cli import parse

    root, _ = gt_folder
    tiny = config.SchlettPreset("quick", n_test_pairs=9, eval_subjects=2, eval_sessions=1, kinect_limit=0,
                                d435_limit=0, figure_samples=1, attack_repeats=1, batch_size=2, gt_chunk=9)
    monkeypatch.setitem(config.PRESETS, "quick", tiny)
    args = parse(["--preset", "quick", "--gt-dir", str(root)], "test")
    with pytest.raises(SystemExit, match=r"too few usable.*5 usable, 9 needed"):
        steps.step01_ground_truth(args)


def test_gt_dir_must_be_a_folder(tmp_path):
    from experiments.schlett.cli import parse

    with pytest.raises(SystemExit):
        parse(["--gt-dir", str(tmp_path / "missing")], "test")
