"""Issue #21, item 9 (part): bench_degrade measures the U-Net training rate in its own run and divides
by that, not by a rate copied from a document."""
from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from benchmarks import bench_degrade as B  # noqa: E402

ARGS = ["--batch", "4", "--repeats", "2", "--size", "128", "--train-width", "0.0625", "--train-batch", "4",
        "--pipeline-batches", "0"]


def _rates(text: str) -> tuple[float, float, float]:
    tf_rate = float(re.search(r"TF renderer \(batched\):\s+([\d.]+) pairs/s", text)[1])
    train = float(re.search(r"U-Net training \(measured\):\s+([\d.]+) img/s", text)[1])
    ratio = float(re.search(r"ratio TF / U-Net training:\s+([\d.]+)", text)[1])
    return tf_rate, train, ratio


def test_the_ratio_divides_by_the_rate_measured_in_the_run(capsys, monkeypatch):
    """Every timed training step is made to last 0.5 s (4 images): the rate printed must be 8 img/s
    and the ratio the renderer's rate / 8, whatever any document says."""
    assert not hasattr(B, "UNET_TRAIN_IMG_PER_S")                 # no fixed rate left in the script

    def step(self):
        self.model.train_on_batch(self.x, self.y)
        self.times.append(0.5)

    monkeypatch.setattr(B.TrainingTimer, "step", step)
    assert B.main(ARGS + ["--train-steps", "3"]) == 0
    out = capsys.readouterr().out
    tf_rate, train, ratio = _rates(out)
    assert train == pytest.approx(8.0, abs=0.005)
    assert ratio == pytest.approx(tf_rate / 8.0, rel=0.01, abs=0.05)
    assert "median of 3 steps" in out                            # 3 steps with 2 repeats: the rest after them


def test_training_timer_times_real_steps():
    from degrade.toyfaces import toy_faces

    gt = toy_faces(2, 128, seed=0)
    timer = B.TrainingTimer("DL-Delta-1", 0.0625, 128, 3, gt, gt.copy())
    assert timer.x.shape == (3, 128, 128, 1) and timer.x.max() <= 1.0
    timer.warm_up()
    for _ in range(2):
        timer.step()
    assert len(timer.times) == 2 and min(timer.times) > 0
    assert timer.rate == pytest.approx(3 / float(np.median(timer.times)))


def test_no_training_steps_means_no_training_ratio(capsys):
    assert B.main(ARGS + ["--train-steps", "0"]) == 0
    out = capsys.readouterr().out
    assert "TF renderer" in out and "U-Net training" not in out
