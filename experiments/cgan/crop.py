"""Pini et al.'s dynamic face crop (001 sec. 3.2, eq. 6) and the 8-bit depth encoding of the crops.

The crop itself (eq. 6, the head distance D, the metric -> 8-bit encoding) lives with the data-set
readers that use it, in ``experiments.datasets.face_crop``, and is re-exported here for the cGAN code;
``project_depth_to_u8`` (the project's uint16 depth in the same 8-bit encoding) is the cGANs' own.
"""
from __future__ import annotations

import numpy as np

from experiments.datasets.face_crop import (DEPTH_WINDOW_MM, DISTANCE_WINDOW, FACE_SIZE_MM, FOCAL_BIWI,
                                            FOCAL_MOTORMARK, FOCAL_PANDORA, NEAR_OFFSET_MM, Box, crop_resize,
                                            depth_mm_to_u8, face_box, head_distance)

__all__ = ["FACE_SIZE_MM", "FOCAL_PANDORA", "FOCAL_BIWI", "FOCAL_MOTORMARK", "DISTANCE_WINDOW", "DEPTH_WINDOW_MM",
           "NEAR_OFFSET_MM", "Box", "head_distance", "face_box", "crop_resize", "depth_mm_to_u8",
           "project_depth_to_u8"]


def project_depth_to_u8(depth_u16: np.ndarray) -> np.ndarray:
    """The project's uint16 depth (0 = nearest, 65535 = hole, 250 mm range) -> the same 8-bit
    encoding (nearest = 255, far end of the range and holes = 0)."""
    d = np.asarray(depth_u16)
    if d.dtype != np.uint16:
        raise ValueError(f"expected uint16 project-convention depth, got {d.dtype}")
    v = 255.0 - np.rint(d.astype(np.float64) * (255.0 / 65535.0))
    v[d == 65535] = 0
    return np.clip(v, 0, 255).astype(np.uint8)
