"""Degradation synthesis (Schlett et al. III-B): ground-truth face depth -> degraded depth.

Public API:

* ``DegradationConfig``, ``CONFIGS`` (``"paper"``, ``"kinect_v1"``, ``"d435"``), ``get_config``,
  ``VARIANTS``, ``PRESETS`` (evaluation-set sizes ``"paper"``/``"quick"``);
* ``degrade_batch(gt, seed, variant="plain", config=None)``: uint16 NxHxW in and out;
* ``normalize_ground_truth(gt, config=None)``: the ground-truth scaling the config asks for;
  ``face_range_scale`` / ``face_range_unscale``: that stretch per image and its inverse;
* ``pairs_dataset(source, seed, batch_size, ...)``: tf.data pipeline of (degraded, ground truth);
* ``write_eval_set(out_dir, gt_source, n, seed, ...)`` / ``read_eval_set(dir)``: fixed test sets.
"""
from __future__ import annotations

import importlib
from typing import Any

import prnet_synth as _prnet_synth  # noqa: F401  (TensorFlow's environment before TensorFlow: prnet_synth.tf_env)

from .config import CONFIGS, PRESETS, VARIANTS, DegradationConfig, EvalSetPreset, get_config
from .groundtruth import face_depth_range, face_range_scale, face_range_unscale, normalize_ground_truth

# The TensorFlow parts load on first use, so `python -m degrade --help`, the config and the
# ground-truth scaling do not import TensorFlow.
_LAZY = {
    "degrade_batch": "render", "renderer": "render", "seed_tensor": "render",
    "gt_dataset": "dataset", "pairs_dataset": "dataset", "to_network_float": "dataset",
    "EvalSet": "evalset", "read_eval_set": "evalset", "write_eval_set": "evalset",
}

__all__ = [
    "CONFIGS", "PRESETS", "VARIANTS", "DegradationConfig", "EvalSetPreset", "get_config",
    "normalize_ground_truth", "face_depth_range", "face_range_scale", "face_range_unscale", *_LAZY,
]


_SUBMODULES = ("render", "dataset", "evalset", "toyfaces")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
