"""The Chiu CSV training logs: a fresh run starts a new log, a resumed run keeps the epochs its
backup holds (a rerun used to append a second copy of every epoch to the committed log)."""
import json

from experiments.chiu.pipeline import prepare_training_log

HEADER = "epoch,acc,loss"


def _log(path, epochs):
    path.write_text("\n".join([HEADER] + [f"{e},0.{e},1.{e}" for e in epochs]) + "\n")


def test_fresh_run_removes_the_earlier_log(tmp_path):
    csv = tmp_path / "train_log_x.csv"
    _log(csv, range(5))
    backup = tmp_path / "backup"
    backup.mkdir()
    assert prepare_training_log(csv, backup) == 0
    assert not csv.exists()


def test_resumed_run_keeps_the_backed_up_epochs_only(tmp_path):
    csv = tmp_path / "train_log_x.csv"
    _log(csv, [0, 1, 2, 3, 4])           # the killed run logged epoch 4 after its last backup (epoch 3 done)
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "training_metadata.json").write_text(json.dumps({"epoch": 3, "batch": -1}))
    assert prepare_training_log(csv, backup) == 3
    lines = csv.read_text().splitlines()
    assert lines == [HEADER, "0,0.0,1.0", "1,0.1,1.1", "2,0.2,1.2"]


def test_no_log_yet(tmp_path):
    assert prepare_training_log(tmp_path / "none.csv", tmp_path) == 0


def test_real_keras_run_twice_logs_each_epoch_once(tmp_path, monkeypatch):
    import numpy as np
    import keras

    from experiments.chiu import pipeline

    monkeypatch.setattr(pipeline, "work_dir", lambda *parts: tmp_path.joinpath("work", *parts))
    out = tmp_path / "logs"
    x = np.zeros((8, 3), np.float32)
    y = np.zeros((8, 1), np.float32)
    for _ in range(2):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        pipeline._keras_fit_resumable(model, x, y, epochs=3, batch_size=4, tag="t", out_dir=out, seed=0)
    rows = (out / "train_log_t.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2"]
    assert json.loads((out / "train_log_t.json").read_text())["rows"] == 3
