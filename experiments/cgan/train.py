"""Training of the translation models with resume, and batched prediction.

A finished model is stored as ``<weights dir>/<label>.keras`` (the generator only) with a JSON
sidecar of the run's settings; a later run with the same settings loads it instead of training
again. An unfinished run resumes from ``BackupAndRestore``'s backup (last finished epoch).
"""
from __future__ import annotations

import datetime as _dt
import json
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np

__all__ = ["work_dir", "train_or_load", "predict", "load_generator", "UnitBatches", "as_unit"]


def as_unit(batch: np.ndarray) -> np.ndarray:
    """uint8 images (N x H x W or N x H x W x C) -> float32 in [-1, 1] with a channel axis; float
    input is passed through (assumed already in [-1, 1])."""
    b = np.asarray(batch)
    if b.dtype == np.uint8:
        b = b.astype(np.float32) / np.float32(127.5) - np.float32(1.0)
    return b[..., None] if b.ndim == 3 else b


def _py_dataset_base():
    import keras

    return keras.utils.PyDataset


class UnitBatches(_py_dataset_base()):
    """Mini-batches of (x, y) drawn from uint8 arrays (memory maps of a crop cache welcome) and
    converted to [-1, 1] floats one batch at a time; reshuffled every epoch from ``seed``. The last
    incomplete batch is kept. ``x`` may be a list of arrays (a multi-input model) indexed through
    ``index`` rows (pairs: ``index[:, j]`` picks the faces of input j)."""

    def __init__(self, x, y, batch_size: int, seed: int = 0, index: np.ndarray = None, shuffle: bool = True):
        super().__init__()
        self.x, self.y = x, np.asarray(y) if not isinstance(y, np.memmap) else y
        self.index = None if index is None else np.asarray(index, np.int64)
        self.n = len(self.index) if self.index is not None else len(y)
        if self.n == 0:
            raise ValueError("no training samples")
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size, self.seed, self.shuffle, self.epoch = int(batch_size), int(seed), bool(shuffle), 0
        self._order()

    def _order(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        self.order = rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def __getitem__(self, i):
        sel = np.sort(self.order[i * self.batch_size:(i + 1) * self.batch_size])   # sorted: fast memmap reads
        if self.index is not None:
            rows = self.index[sel]
            xs = tuple(as_unit(self.x[j][rows[:, j]]) for j in range(len(self.x)))
            y = self.y[sel]
        else:
            xs = as_unit(self.x[sel])
            y = self.y[sel]
        y = as_unit(y) if np.asarray(y).dtype == np.uint8 else np.asarray(y, np.float32)
        return xs, y

    def on_epoch_end(self):
        self.epoch += 1
        self._order()


def work_dir(preset: str) -> Path:
    """Where the trained models, backups and caches of the cGAN reproductions live (not committed)."""
    from prnet_synth.paths import weights_dir

    return weights_dir(preset) / "cgan"


def load_generator(path) -> "keras.Model":  # noqa: F821
    import keras

    import models.gan_common  # noqa: F401  (registers AlwaysDropout)

    return keras.saving.load_model(str(path), compile=False)


def stored_model_matches(path: Path, meta_path: Path, meta: dict) -> bool:
    """Whether the model file ``path`` exists and its record ``meta_path`` holds the settings ``meta``
    (the record's ``provenance``, who trained it and when, is no reason to retrain); an unreadable
    record counts as no match. ``meta["preset_fields"]`` names the preset fields the model depends on:
    a record holding more fields matches when those agree (a record of all fields, as older runs
    wrote, is not retrained for a change in a field the model does not use)."""
    if not (Path(path).is_file() and Path(meta_path).is_file()):
        return False
    try:
        stored = json.loads(Path(meta_path).read_text())
        stored.pop("provenance", None)
        want = dict(meta)
        if isinstance(want.get("preset_fields"), dict) and isinstance(stored.get("preset_fields"), dict):
            fields = want.pop("preset_fields")
            have = stored.pop("preset_fields")
            if any(k not in have or have[k] != v for k, v in fields.items()):
                return False
        return stored == want
    except (ValueError, OSError, AttributeError):
        return False


def train_or_load(label: str, build: Callable[[], "keras.Model"], x: np.ndarray, y: np.ndarray, *,  # noqa: F821
                  epochs: int, batch_size: int, preset: str, seed: int, settings: dict,
                  log: Callable[[str], None] = print, adversarial: Optional[bool] = None):
    """Train ``build()`` (a ``ConditionalGAN`` or a compiled plain generator) on (x, y) with ``fit``,
    resumably; return the trained generator. uint8 (x, y) (e.g. the memory maps of a crop cache)
    are converted to [-1, 1] one batch at a time, never as a whole. ``settings`` (data, sizes, ...) decide whether a stored
    model can be reused."""
    from prnet_synth.atomic import atomic_save_keras_model, atomic_write_json
    from models.gan_common import ConditionalGAN, fit_resumable

    wd = work_dir(preset)
    wd.mkdir(parents=True, exist_ok=True)
    path = wd / f"{label}.keras"
    meta_path = wd / f"{label}.json"
    meta = {"label": label, "preset": preset, "seed": seed, "epochs": epochs, "batch_size": batch_size,
            "n_train": int(len(x)), **settings}
    meta = json.loads(json.dumps(meta, default=str))      # the form it takes on disk
    if stored_model_matches(path, meta_path, meta):
        log(f"[{label}] trained model found, reusing {path.name}")
        return load_generator(path)
    import keras

    from prnet_synth.atomic import provenance

    started = time.time()
    prov = provenance(preset, seed, str(settings.get("data", "n/a")))   # code version at the start of training
    keras.utils.set_random_seed(seed)            # the initial weights follow the seed, not the run's history
    model = build()
    backup = wd / "backup" / label
    if np.asarray(x[:1]).dtype == np.uint8:      # uint8 images (a crop cache): converted batch by batch
        fit_resumable(model, UnitBatches(x, y, batch_size, seed), None, epochs=epochs, batch_size=None,
                      backup_dir=backup, label=label, seed=seed, log=log)
    else:
        fit_resumable(model, x, y, epochs=epochs, batch_size=batch_size, backup_dir=backup, label=label,
                      seed=seed, log=log)
    gen = model.generator if isinstance(model, ConditionalGAN) else model
    atomic_save_keras_model(gen, path)
    prov.update(images_seen=int(epochs) * int(len(x)),
                seconds_this_run=round(time.time() - started, 1),   # a resumed run counts only its own part
                finished_utc=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    atomic_write_json(meta_path, {**meta, "provenance": prov})
    return gen


def predict(generator, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Generator outputs for ``x`` (float [-1, 1], or uint8 images converted batch by batch) in
    batches, as float32."""
    outs = [np.asarray(generator(as_unit(x[i:i + batch_size]), training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0,), np.float32)
