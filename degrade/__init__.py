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
from .config import CONFIGS, PRESETS, VARIANTS, DegradationConfig, EvalSetPreset, get_config
from .groundtruth import face_depth_range, face_range_scale, face_range_unscale, normalize_ground_truth
from .render import degrade_batch, renderer, seed_tensor

__all__ = [
    "CONFIGS", "PRESETS", "VARIANTS", "DegradationConfig", "EvalSetPreset", "get_config",
    "degrade_batch", "renderer", "seed_tensor", "normalize_ground_truth", "face_depth_range",
    "face_range_scale", "face_range_unscale",
]
from .dataset import gt_dataset, pairs_dataset, to_network_float  # noqa: E402
from .evalset import EvalSet, read_eval_set, write_eval_set  # noqa: E402

__all__ += ["gt_dataset", "pairs_dataset", "to_network_float", "EvalSet", "read_eval_set", "write_eval_set"]
