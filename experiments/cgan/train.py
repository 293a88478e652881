"""Training of the translation models with resume, and batched prediction.

A finished model is stored as ``<weights dir>/<label>.keras`` (the generator only) with a JSON
sidecar of the run's settings; a later run with the same settings loads it instead of training
again. An unfinished run resumes from ``BackupAndRestore``'s backup (last finished epoch).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

__all__ = ["work_dir", "train_or_load", "predict", "load_generator"]


def work_dir(preset: str) -> Path:
    """Where the trained models, backups and caches of the cGAN reproductions live (not committed)."""
    from prnet_synth.paths import weights_dir

    return weights_dir(preset) / "cgan"


def load_generator(path) -> "keras.Model":  # noqa: F821
    import keras

    import models.gan_common  # noqa: F401  (registers AlwaysDropout)

    return keras.saving.load_model(str(path), compile=False)


def _save_model_atomic(model, path: Path) -> None:
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(str(tmp))
    os.replace(tmp, path)


def train_or_load(label: str, build: Callable[[], "keras.Model"], x: np.ndarray, y: np.ndarray, *,  # noqa: F821
                  epochs: int, batch_size: int, preset: str, seed: int, settings: dict,
                  log: Callable[[str], None] = print, adversarial: Optional[bool] = None):
    """Train ``build()`` (a ``ConditionalGAN`` or a compiled plain generator) on (x, y) with ``fit``,
    resumably; return the trained generator. ``settings`` (data, sizes, ...) decide whether a stored
    model can be reused."""
    from prnet_synth.atomic import atomic_write_json
    from models.gan_common import ConditionalGAN, fit_resumable

    wd = work_dir(preset)
    wd.mkdir(parents=True, exist_ok=True)
    path = wd / f"{label}.keras"
    meta_path = wd / f"{label}.json"
    meta = {"label": label, "preset": preset, "seed": seed, "epochs": epochs, "batch_size": batch_size,
            "n_train": int(len(x)), **settings}
    meta = json.loads(json.dumps(meta, default=str))      # the form it takes on disk
    if path.is_file() and meta_path.is_file():
        try:
            if json.loads(meta_path.read_text()) == meta:
                log(f"[{label}] trained model found, reusing {path.name}")
                return load_generator(path)
        except (ValueError, OSError):
            pass
    model = build()
    backup = wd / "backup" / label
    fit_resumable(model, x, y, epochs=epochs, batch_size=batch_size, backup_dir=backup, label=label,
                  seed=seed, log=log)
    gen = model.generator if isinstance(model, ConditionalGAN) else model
    _save_model_atomic(gen, path)
    atomic_write_json(meta_path, meta)
    return gen


def predict(generator, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Generator outputs for ``x`` (float [-1, 1]) in batches, as float32."""
    outs = [np.asarray(generator(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return np.concatenate(outs).astype(np.float32) if outs else np.zeros((0,), np.float32)
