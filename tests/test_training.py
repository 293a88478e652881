"""IV-C curriculum sizes, presets, and a killed-and-resumed tiny training run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from models.enhancer_presets import PRESETS, get_preset, tiny_preset
from models.training import curriculum, previous_model, _with_dependencies

REPO = Path(__file__).resolve().parent.parent


def test_paper_curriculum_is_iv_c():
    p = PRESETS["paper"]
    for label in ("DL-Beta", "DL-Gamma"):
        (main,) = curriculum(label, p)
        assert main.variants == ("random_background",)
        assert (main.n_gt, main.stage_gts, main.epochs, main.n_stages) == (240_000, 30_000, 10, 8)
    plain, blurred, main = curriculum("DL-Alpha", p)
    assert (plain.variants, plain.n_gt) == (("plain",), 70_000)
    assert (blurred.variants, blurred.n_gt) == (("blurred_background",), 60_000)
    assert main == curriculum("DL-Beta", p)[0]                     # the same 240,000 pairs
    # the pre-training ground truths are not part of the 240,000 set
    assert plain.gt_start >= main.gt_start + main.n_gt and blurred.gt_start >= plain.gt_start + plain.n_gt
    for n in (1, 2, 3, 4):
        (delta,) = curriculum(f"DL-Delta-{n}", p)
        assert delta.variants == ("plain", "random_background", "blurred_background")
        assert delta.n_stages == 6 and delta.stage_gts * len(delta.variants) == 30_000 and delta.epochs == 10
        assert delta.gt_start >= main.gt_start and delta.gt_start + delta.n_gt <= main.gt_start + main.n_gt
    assert [previous_model(f"DL-Delta-{n}") for n in (1, 2, 3, 4)] == [None, "DL-Delta-1", "DL-Delta-2", "DL-Delta-3"]
    assert _with_dependencies(["DL-Delta-3", "DL-Beta"]) == ["DL-Beta", "DL-Delta-1", "DL-Delta-2", "DL-Delta-3"]


def test_quick_preset_keeps_the_structure():
    q, p = get_preset("quick"), get_preset("paper")
    for label in ("DL-Alpha", "DL-Beta", "DL-Delta-4"):
        qs, ps = curriculum(label, q), curriculum(label, p)
        assert [s.name for s in qs] == [s.name for s in ps]
        assert [s.variants for s in qs] == [s.variants for s in ps]
    assert curriculum("DL-Beta", q)[0].n_stages == 8 and curriculum("DL-Delta-1", q)[0].n_stages == 6
    assert q.delta_repeats == 4 and p.width_multiplier == 1.0
    with pytest.raises(ValueError, match="unknown enhancer training preset"):
        get_preset("huge")


def test_delta_epochs_override_only_the_delta_stages():
    p = tiny_preset(epochs=3, delta_epochs=5)
    assert curriculum("DL-Delta-2", p)[0].epochs == 5
    assert {s.epochs for s in curriculum("DL-Alpha", p)} == {3}
    assert curriculum("DL-Delta-1", tiny_preset(epochs=3))[0].epochs == 3    # None: the common value
    with pytest.raises(ValueError, match="delta_epochs"):
        tiny_preset(delta_epochs=0)


def test_training_plan_counts_the_paper_training():
    """IV-C by hand: DL-Alpha (70,000 + 60,000 + 240,000 pairs) x 10 epochs in 3 + 2 + 8 stages of
    30,000; DL-Delta-n 60,000 GTs x 3 variants x 10 epochs in 6 stages; FLOPs = 3 x forward."""
    from models.training import training_plan
    from models.unet import build_enhancer_network, conv_flops

    rows = {r["label"]: r for r in training_plan(["DL-Alpha", "DL-Delta-2"], "paper")}
    assert list(rows) == ["DL-Alpha", "DL-Delta-1", "DL-Delta-2"]          # Delta-2 pulls in Delta-1
    assert rows["DL-Alpha"]["images"] == 3_700_000 and rows["DL-Alpha"]["stages"] == 13
    assert rows["DL-Delta-1"]["images"] == 1_800_000 and rows["DL-Delta-2"]["stages"] == 6
    fwd = conv_flops(build_enhancer_network("DL-Delta"), 256, 256)
    assert rows["DL-Delta-1"]["train_pflop"] == pytest.approx(3 * fwd * 1_800_000 / 1e15)
    # the quick preset: 6 stages x 64 GTs x 3 variants x 4 epochs, on 128 px crops of the x0.5 network
    q = training_plan(["DL-Delta-1"], "quick")[0]
    assert q["images"] == 6 * 64 * 3 * 4 and q["train_size"] == 128 and q["width_multiplier"] == 0.5
    assert q["forward_gflop_per_image"] * 1e9 == conv_flops(build_enhancer_network("DL-Delta", 0.5, 128), 128, 128)


def test_plan_cli_turns_the_measured_rate_into_hours(tmp_path, monkeypatch, capsys):
    from models.train_enhancers import main

    (tmp_path / "unets").mkdir()
    (tmp_path / "unets" / "bench_unets.json").write_text(json.dumps(
        {"machine": "test box", "networks": [{"network": "DL-Delta", "train_img_s": 10.0}]}))
    monkeypatch.setenv("FACE_DEPTH_RESULTS", str(tmp_path))
    assert main(["--plan", "--preset", "paper", "--labels", "DL-Delta-2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = next(l for l in lines if l.startswith("total")).split()
    assert total[1] == "3,600,000" and total[-1] == "100"          # 2 x 1.8M images at 10 img/s = 100 h
    assert main(["--plan", "--preset", "quick", "--labels", "DL-Delta-1"]) == 0   # narrowed: no rate applies
    assert next(l for l in capsys.readouterr().out.splitlines() if l.startswith("total")).split()[-1] == "-"


def test_plan_cli_gpu_hours_and_input_rate_by_hand(capsys):
    from models.train_enhancers import main
    from models.training import training_plan

    assert main(["--plan", "--preset", "paper", "--labels", "DL-Delta-1", "--gpu-tflops", "100",
                 "--gpu-utilisation", "0.5"]) == 0
    out = capsys.readouterr().out.splitlines()
    r = training_plan(["DL-Delta-1"], "paper")[0]
    sec = r["train_pflop"] * 1e15 / 50e12                     # 50 TFLOP/s sustained
    row = [l for l in out if l.startswith("DL-Delta-1")][-1].split()
    assert float(row[1]) == pytest.approx(sec / 3600, abs=0.01)
    assert float(row[2].replace(",", "")) == pytest.approx(1_800_000 / sec, rel=0.01)   # 1.8 M images
    with pytest.raises(SystemExit):
        main(["--plan", "--preset", "paper", "--gpu-utilisation", "0"])


def test_stage_pairs_are_made_once_per_stage_and_the_cache_is_bounded():
    pytest.importorskip("degrade")
    from models.training import ArraySource, PairCache, Session, stage_pairs

    gt = np.full((6, 256, 256), 65535, np.uint16)
    gt[:, 64:192, 64:192] = np.arange(6, dtype=np.uint16)[:, None, None] * 1000 + 20000
    src = ArraySource(gt)
    sess = Session("main", ("random_background",), 0, 6, 3, 1)
    cache = PairCache()
    a = stage_pairs(src, sess, 1, seed=5, repeat=0, degrade_chunk=4, cache=cache)
    b = stage_pairs(src, sess, 1, seed=5, repeat=0, degrade_chunk=4, cache=cache)
    fresh = stage_pairs(src, sess, 1, seed=5, repeat=0, degrade_chunk=4)
    assert a[0] is b[0] and a[1] is b[1]                                   # second call: from the cache
    np.testing.assert_array_equal(a[0], fresh[0])                          # and the same as a fresh draw
    # the targets are the stage's ground truths, scaled as the paper-default degradation says (face range:
    # each flat square -> 0)
    np.testing.assert_array_equal(a[1], np.where(gt[3:6] == 65535, 65535, 0))
    assert not np.array_equal(stage_pairs(src, sess, 1, seed=5, repeat=1, degrade_chunk=4, cache=cache)[0], a[0])
    one_stage = a[0].nbytes + a[1].nbytes
    small = PairCache(max_bytes=one_stage)                                 # room for exactly one stage
    stage_pairs(src, sess, 0, seed=5, repeat=0, degrade_chunk=4, cache=small)
    stage_pairs(src, sess, 1, seed=5, repeat=0, degrade_chunk=4, cache=small)
    assert len(small._items) == 1 and next(iter(small._items))[1] == 1     # the older stage was dropped


def test_chunked_source_generates_each_chunk_once_and_keeps_four_over_budget():
    from models.training import ChunkedSource

    calls = []

    def make(c, n):
        calls.append(c)
        return np.full((n, 256, 256), c, np.uint16)

    src = ChunkedSource(make, 2, "counting")
    np.testing.assert_array_equal(src.get(1, 4)[:, 0, 0], [0, 1, 1, 2])
    src.get(0, 6)
    assert calls == [0, 1, 2]                                    # nothing generated twice
    tight = ChunkedSource(make, 2, "tight")
    tight._cache.max_bytes = 0                                   # no budget: still the newest 4 chunks
    calls.clear()
    tight.get(0, 10)                                             # chunks 0..4: chunk 0 dropped
    tight.get(2, 8)                                              # chunks 1..4: all still there
    tight.get(0, 2)                                              # chunk 0: made again
    assert calls == [0, 1, 2, 3, 4, 0]


def _run_child(out_dir: Path, preset_kwargs: dict):
    code = (
        "import sys; from models.enhancer_presets import tiny_preset; from models.training import train_one\n"
        f"train_one('DL-Delta-1', tiny_preset(**{preset_kwargs!r}), 3, out_dir={str(out_dir)!r}, data='toy')\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_killed_run_resumes_mid_curriculum(tmp_path):
    pytest.importorskip("tensorflow")
    pytest.importorskip("degrade")
    from models.training import train_one
    from models.unet import load_enhancer_model

    kw = dict(delta_gts=8, delta_stage_gts=4, epochs=3, width_multiplier=0.0625)   # 2 stages x 3 epochs
    out = tmp_path / "run"
    state = out / "logs" / "_work" / "DL-Delta-1" / "state.json"
    child = _run_child(out, kw)
    deadline = time.time() + 900  # generous: the machine may be shared
    killed_at = None
    try:
        while time.time() < deadline and child.poll() is None:
            if state.is_file():
                s = json.loads(state.read_text())
                if s["global_epoch"] >= 2 and not s["done"]:
                    child.send_signal(signal.SIGKILL)
                    killed_at = s["global_epoch"]
                    break
            time.sleep(0.05)
    finally:
        if child.poll() is None and killed_at is None:
            child.kill()
        child.wait()
    assert killed_at is not None, f"the child run ended before it could be killed:\n{child.stdout.read()}"
    s = json.loads(state.read_text())
    assert not s["done"] and s["latest"] and not (out / "DL-Delta-1.keras").exists()

    lines = []
    import builtins
    orig = builtins.print
    builtins.print = lambda *a, **k: lines.append(" ".join(map(str, a)))
    try:
        res = train_one("DL-Delta-1", tiny_preset(**kw), 3, out_dir=out, data="toy")
    finally:
        builtins.print = orig
    assert res["status"] == "trained"
    assert any("resuming" in l for l in lines), lines
    assert sum("| epoch" in l for l in lines) == 6 - s["global_epoch"]     # no finished epoch redone
    import csv
    rows = list(csv.DictReader(open(out / "logs" / "DL-Delta-1.csv")))
    assert [int(r["global_epoch"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(int(r["stage"]), int(r["epoch"])) for r in rows] == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]
    # save_best_only: a row is 'saved' exactly when its loss beat every earlier loss of the session
    best = np.inf
    for r in rows:
        loss = float(r["loss"])
        assert int(r["saved"]) == int(loss < best)
        best = min(best, loss)
    model = load_enhancer_model("DL-Delta-1", path=out / "DL-Delta-1.keras")
    assert model.output_shape[-1] == 1
    assert json.loads(state.read_text())["done"]
    # finished models are skipped
    assert train_one("DL-Delta-1", tiny_preset(**kw), 3, out_dir=out, data="toy", verbose=False)["status"] == "exists"


def test_pixel_weights_mark_the_broken_face_pixels():
    """hole_weight (not in the paper): 1 + w on valid target pixels whose input is a hole or > 20 mm off."""
    from models.training import _batches, pixel_weights
    from prnet_synth.conventions import UNITS_PER_MM

    mm = UNITS_PER_MM
    gt = np.array([[[1000, 1000, 1000, 65535]]], np.uint16)
    deg = np.array([[[65535, 1000 + round(19 * mm), 1000 + round(21 * mm), 65535]]], np.uint16)
    # hole on the face; 19 mm off (kept at 1); 21 mm off; background hole (target invalid)
    x, y = deg[..., None] / 65535.0, gt[..., None] / 65535.0
    np.testing.assert_array_equal(pixel_weights(x, y, 4.0), [[[5.0, 1.0, 5.0, 1.0]]])
    np.testing.assert_array_equal(pixel_weights(x, y, 0.0), np.ones((1, 1, 4)))
    plain = _batches(deg, gt, 1, 4, seed=0)[0]
    weighted = _batches(deg, gt, 1, 4, seed=0, hole_weight=4.0)[0]
    assert len(plain) == 2 and len(weighted) == 3
    np.testing.assert_array_equal(weighted[2], [[[5.0, 1.0, 5.0, 1.0]]])
    with pytest.raises(ValueError, match="hole_weight"):
        tiny_preset(hole_weight=-1.0)
    assert PRESETS["paper"].hole_weight == 0.0 and PRESETS["quick"].hole_weight == 0.0


def test_weighted_training_runs(tmp_path):
    pytest.importorskip("tensorflow")
    from models.training import train_one

    kw = dict(delta_gts=4, delta_stage_gts=4, epochs=1, width_multiplier=0.0625, hole_weight=10.0)
    res = train_one("DL-Delta-1", tiny_preset(**kw), 3, out_dir=tmp_path, data="toy", verbose=False)
    assert res["status"] == "trained" and np.isfinite(res["best_loss"])
    assert json.loads((tmp_path / "DL-Delta-1.json").read_text())["hole_weight"] == 10.0
