"""The training-recipe knobs of the cpu preset (models.training): learning-rate schedule, fresh
degradations per epoch, progressive resizing, and the time budget that stops a run at a resumable point."""
from __future__ import annotations

import math

import numpy as np
import pytest

from models.enhancer_presets import tiny_preset
from models.training import (ArraySource, curriculum, learning_rate, stage_pairs, stage_shape, total_steps,
                             train_one)


def test_stage_shape_and_total_steps_by_hand():
    p = tiny_preset(delta_gts=8, delta_stage_gts=2, train_size=128, batch_size=4, full_size_stages=1,
                    full_size_batch=2, epochs=3)
    (sess,) = curriculum("DL-Delta-1", p)           # 4 stages of 2 GTs x 3 variants = 6 pairs, 3 epochs
    assert [stage_shape(p, sess, j) for j in range(4)] == [(128, 4), (128, 4), (128, 4), (256, 2)]
    # 3 stages x 3 epochs x ceil(6/4) + 1 stage x 3 epochs x ceil(6/2)
    assert total_steps(p, [sess]) == 3 * 3 * 2 + 3 * 3
    assert total_steps(p, [sess], replicas=2) == 3 * 3 * 1 + 3 * 2


def test_cosine_schedule_with_warmup():
    p = tiny_preset(lr_schedule="cosine", warmup_fraction=0.1, learning_rate=2e-3)
    sched = learning_rate(p, 100)
    lr = [float(sched(step)) for step in (0, 5, 10, 55, 100)]
    assert lr[0] == pytest.approx(0.0, abs=1e-9) and lr[1] == pytest.approx(1e-3)   # linear warm-up
    assert lr[2] == pytest.approx(2e-3)                                               # the peak after 10 steps
    assert lr[3] == pytest.approx(2e-3 * 0.5 * (1 + math.cos(math.pi * 45 / 90)))    # half-way down
    assert lr[4] == pytest.approx(0.0, abs=1e-9)
    assert learning_rate(tiny_preset(learning_rate=5e-4), 100) == 5e-4


def test_fresh_degradations_change_the_inputs_not_the_targets():
    from degrade.toyfaces import toy_faces

    p = tiny_preset()
    (sess,) = curriculum("DL-Delta-1", p)
    src = ArraySource(toy_faces(8, seed=1))
    d0, g0 = stage_pairs(src, sess, 0, 3, 1, p.degrade_chunk, epoch=0)
    d0b, _ = stage_pairs(src, sess, 0, 3, 1, p.degrade_chunk)
    d1, g1 = stage_pairs(src, sess, 0, 3, 1, p.degrade_chunk, epoch=1)
    assert (d0 == d0b).all()                         # epoch 0: the repeated-pairs recipe's pairs
    assert (g0 == g1).all() and not (d0 == d1).all()
    assert ((d1 == 65535) == (d1 == 65535)).all()


@pytest.mark.parametrize("fresh", [False, True])
def test_budget_stops_resumably_and_a_second_run_finishes(tmp_path, fresh):
    kw = dict(delta_gts=4, delta_stage_gts=2, epochs=2, delta_epochs=2, fresh_degradations=fresh,
              lr_schedule="cosine", warmup_fraction=0.25, full_size_stages=1, full_size_batch=2)
    p = tiny_preset(**kw)
    first = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False, budget_seconds=1e-6)
    assert first["status"] == "stopped" and first["global_epoch"] == 1      # one epoch, then the budget
    assert not (tmp_path / "DL-Delta-1.keras").exists()
    second = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False)
    assert second["status"] == "trained" and second["epochs"] == 4           # 2 stages x 2 epochs in all
    assert (tmp_path / "DL-Delta-1.keras").is_file()
    log = (tmp_path / "logs" / "DL-Delta-1.csv").read_text().splitlines()
    assert len(log) == 1 + 4


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path):
    import keras

    from models.inference import to_float16_model, to_float32_model
    from models.unet import build_enhancer_network, load_enhancer_model

    net = build_enhancer_network("DL-Delta-1", 0.25, input_size=None, min_width=4, name="DL_Delta_1")
    rng = np.random.default_rng(0)
    net.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in net.get_weights()])
    net.save(tmp_path / "f32.keras")
    half = to_float16_model(net)
    stored = [np.dtype(w.dtype) for w in half.weights]
    assert stored.count(np.float16) == len(stored) - 2          # all but the float32 output head (kernel, bias)
    half.save(tmp_path / "DL-Delta-1.keras")
    size32, size16 = (tmp_path / "f32.keras").stat().st_size, (tmp_path / "DL-Delta-1.keras").stat().st_size
    assert size16 < 0.6 * size32
    back = load_enhancer_model("DL-Delta-1", path=tmp_path / "DL-Delta-1.keras")
    assert all(np.dtype(w.dtype) == np.float32 for w in back.weights)
    for a, b, dt in zip(net.get_weights(), back.get_weights(), stored):   # the weights, rounded where stored in f16
        np.testing.assert_array_equal(b, a.astype(dt).astype(np.float32))
    x = rng.random((2, 128, 128, 1), np.float32)
    y32, y16 = np.asarray(net(x)), np.asarray(back(x))
    assert np.abs(y16 - y32).max() < 2e-3 * max(1.0, np.abs(y32).max())
    assert to_float32_model(net) is net


def test_training_exports_float16_with_provenance(tmp_path):
    import json

    kw = dict(delta_gts=2, delta_stage_gts=2, epochs=1, delta_epochs=1, store_float16=True)
    res = train_one("DL-Delta-1", tiny_preset(**kw), 3, out_dir=tmp_path, data="toy", verbose=False)
    assert res["status"] == "trained"
    meta = json.loads((tmp_path / "DL-Delta-1.json").read_text())
    assert meta["stored_dtype"] == "float16" and meta["images_seen"] == 6     # 2 GTs x 3 variants x 1 epoch
    assert meta["degradation"]["gt_normalization"] == "face_range"
    from models.unet import load_enhancer_model

    m = load_enhancer_model("DL-Delta-1", path=tmp_path / "DL-Delta-1.keras")
    assert all(np.dtype(w.dtype) == np.float32 for w in m.weights)


def test_cpu_preset_keeps_the_paper_structure_and_the_size_cap():
    from models.enhancer_presets import get_preset, width_for
    from models.unet import ENHANCER_LABELS, build_enhancer_network

    cpu, paper = get_preset("cpu"), get_preset("paper")
    for label in ENHANCER_LABELS:
        a, b = curriculum(label, cpu), curriculum(label, paper)
        assert [(s.name, s.variants, s.n_stages) for s in a] == [(s.name, s.variants, s.n_stages) for s in b], label
    assert cpu.delta_repeats == paper.delta_repeats == 4
    # DL-Alpha's pre-sessions keep the paper's 7:6 ratio
    assert cpu.alpha_plain_pairs / cpu.alpha_blurred_pairs == pytest.approx(70 / 60, rel=0.01)
    assert {width_for(cpu, l) for l in ENHANCER_LABELS} == {0.5}
    assert cpu.fresh_degradations and cpu.lr_schedule == "cosine" and cpu.store_float16
    # all seven as float16 within the 60 MB the issue allows (parameters x 2 bytes, plus file overhead)
    params = sum(build_enhancer_network(l, width_for(cpu, l), input_size=None, min_width=cpu.min_width).count_params()
                 for l in ENHANCER_LABELS)
    assert params * 2 < 55e6


def test_budget_stop_can_export_the_best_weights_so_far(tmp_path):
    import json

    kw = dict(delta_gts=4, delta_stage_gts=2, epochs=2, delta_epochs=2)
    p = tiny_preset(**kw)
    first = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False, budget_seconds=1e-6,
                      export_on_stop=True)
    assert first["status"] == "stopped" and first["weights"] == str(tmp_path / "DL-Delta-1.keras")
    meta = json.loads((tmp_path / "DL-Delta-1.json").read_text())
    # one epoch of 2 GTs x 3 variants of the 4 x 3 x 2 planned
    assert meta["complete"] is False and meta["images_seen"] == 6 and meta["schedule_done"] == pytest.approx(0.25)
    second = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False)   # resumes, finishes
    assert second["status"] == "trained" and second["epochs"] == 4
    meta = json.loads((tmp_path / "DL-Delta-1.json").read_text())
    assert meta["complete"] is True and meta["images_seen"] == 24 and meta["schedule_done"] == 1.0


def test_images_smaller_than_the_crop_train_through_an_any_size_copy(tmp_path):
    from degrade.toyfaces import toy_faces

    p = tiny_preset(delta_gts=2, delta_stage_gts=2, epochs=1, delta_epochs=1, train_size=256)
    res = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data=toy_faces(2, size=128, seed=1), verbose=False)
    assert res["status"] == "trained" and (tmp_path / "DL-Delta-1.keras").is_file()


def test_a_stopped_run_exports_its_best_weights_later_without_training(tmp_path):
    import json

    from models.training import export_best_so_far

    p = tiny_preset(delta_gts=4, delta_stage_gts=2, epochs=2, delta_epochs=2)
    with pytest.raises(FileNotFoundError, match="no stopped training"):
        export_best_so_far("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy")
    first = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False, budget_seconds=1e-6)
    assert first["status"] == "stopped" and "weights" not in first
    assert not (tmp_path / "DL-Delta-1.keras").exists()
    with pytest.raises(ValueError, match="seed 3"):
        export_best_so_far("DL-Delta-1", p, 4, out_dir=tmp_path, data="toy")
    path = export_best_so_far("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy")
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["complete"] is False and meta["images_seen"] == 6 and meta["schedule_done"] == pytest.approx(0.25)
    second = train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False)   # still resumes
    assert second["status"] == "trained" and second["epochs"] == 4
    with pytest.raises(ValueError, match="finished"):
        export_best_so_far("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy")
