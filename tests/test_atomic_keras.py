"""Issue 22, item 1: one atomic Keras save (prnet_synth.atomic), used by models.training, the cGAN
trainer and the Chiu pipeline."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from prnet_synth import atomic as A

REPO = Path(__file__).resolve().parent.parent


def _model(seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((4,))
    out = keras.layers.Dense(1)(keras.layers.Dense(3, activation="relu")(inp))
    return keras.Model(inp, out)


def _same_weights(a, b) -> bool:
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_model_saved_atomically_loads_back(tmp_path):
    import keras

    target = tmp_path / "sub" / "m.keras"                     # the folder is created
    model = _model(1)
    assert A.atomic_save_keras_model(model, target) == target
    assert _same_weights(keras.saving.load_model(target, compile=False), model)
    assert _entries(target.parent) == ["m.keras"]
    other = _model(2)                                         # overwriting replaces the file
    A.atomic_save_keras_model(other, target)
    back = keras.saving.load_model(target, compile=False)
    assert _same_weights(back, other) and not _same_weights(back, model)
    assert _entries(target.parent) == ["m.keras"]


def test_weights_saved_atomically_load_back(tmp_path):
    target = tmp_path / "w.weights.h5"
    model = _model(3)
    A.atomic_save_keras_weights(model, target)
    fresh = _model(4)
    assert not _same_weights(fresh, model)
    fresh.load_weights(target)
    assert _same_weights(fresh, model)
    assert _entries(tmp_path) == ["w.weights.h5"]


@pytest.mark.parametrize("kind", ["model", "weights"])
def test_a_failed_save_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, kind):
    save_fn, method, name, suffix = {
        "model": (A.atomic_save_keras_model, "save", "m.keras", ".keras"),
        "weights": (A.atomic_save_keras_weights, "save_weights", "w.weights.h5", ".weights.h5")}[kind]
    target = tmp_path / name
    model = _model(5)
    save_fn(model, target)
    before = target.read_bytes()
    seen = []

    def half_save(path, *args, **kwargs):
        seen.append(Path(path))
        Path(path).write_bytes(b"PK partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(model, method, half_save)
    with pytest.raises(RuntimeError, match="disk full"):
        save_fn(model, target)
    assert target.read_bytes() == before
    assert _entries(tmp_path) == [name]
    # the temporary file was a hidden sibling keeping the suffix Keras requires
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(f".{name}.") and tmp.name.endswith(".tmp" + suffix)


def test_temp_names_keep_the_keras_suffix(tmp_path):
    seen = []

    class Recorder:
        def save(self, path):
            seen.append(str(path))
            Path(path).write_bytes(b"m")

        def save_weights(self, path):
            seen.append(str(path))
            Path(path).write_bytes(b"w")

    A.atomic_save_keras_model(Recorder(), tmp_path / "a.keras")
    A.atomic_save_keras_weights(Recorder(), tmp_path / "a.weights.h5")
    assert seen[0].endswith(".tmp.keras") and seen[1].endswith(".tmp.weights.h5")
    assert (tmp_path / "a.keras").read_bytes() == b"m" and (tmp_path / "a.weights.h5").read_bytes() == b"w"


@pytest.mark.parametrize("save_fn, bad", [(A.atomic_save_keras_model, "m.h5"), (A.atomic_save_keras_model, ".keras"),
                                          (A.atomic_save_keras_weights, "w.h5"),
                                          (A.atomic_save_keras_weights, "w.keras")])
def test_a_target_without_the_keras_suffix_is_refused(tmp_path, save_fn, bad):
    class Never:
        def save(self, path):
            raise AssertionError("must not be called")

        save_weights = save

    with pytest.raises(ValueError, match="Keras needs"):
        save_fn(Never(), tmp_path / bad)
    assert _entries(tmp_path) == []


def test_killed_keras_saves_are_cleared_like_other_temp_files(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = A._host_id()
    stale = [f".m.keras.{host}-{dead.pid}-0123abcd.tmp.keras", f".w.weights.h5.{host}-{dead.pid}-0123abcd.tmp.weights.h5"]
    kept = [".m.tmp.keras", f".m.keras.{host}-{dead.pid}-0123abcd.tmp.zip"]   # not ours: never touched
    for n in stale + kept:
        (tmp_path / n).write_bytes(b"x")
    A.clear_stale_temp_files(tmp_path)
    assert _entries(tmp_path) == sorted(kept)


def test_the_callers_use_the_one_atomic_save():
    """No hand-made temp-and-rename Keras save is left in the places issue 22 named (and the cGAN
    verifier, which borrowed the cGAN trainer's)."""
    for rel in ("models/training.py", "experiments/cgan/train.py", "experiments/cgan/verification.py",
                "experiments/chiu/pipeline.py"):
        text = (REPO / rel).read_text()
        assert ".tmp.keras" not in text and ".tmp.weights.h5" not in text, rel
        assert "atomic_save_keras_" in text, rel
