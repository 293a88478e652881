"""Simple stand-in ground-truth faces (ellipsoid head with a nose bump) for tests, figures and
benchmarks, so the degradation package does not depend on the synthetic-face generator.

Depth follows the project's convention (uint16, 0 = nearest, 65535 = hole): the head is a
half-ellipsoid whose nearest point lies at ``near`` units, the nose a Gaussian bump nearer
still; everything outside the head outline is a hole.
"""
from __future__ import annotations

import numpy as np

from prnet_synth.conventions import HOLE, UNITS_PER_MM

__all__ = ["toy_faces"]


def toy_faces(n: int, size: int = 256, seed: int = 0, *, depth_mm: float = 90.0,
              nose_mm: float = 25.0, near_mm: float = 60.0) -> np.ndarray:
    """``n`` toy face depth images, uint16 ``n x size x size``, with random size, position and tilt."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.full((n, size, size), HOLE, np.uint16)
    for i in range(n):
        cx, cy = size * (0.5 + rng.uniform(-0.06, 0.06)), size * (0.52 + rng.uniform(-0.06, 0.06))
        rx, ry = size * rng.uniform(0.28, 0.34), size * rng.uniform(0.36, 0.42)
        ang = rng.uniform(-0.3, 0.3)
        c, s = np.cos(ang), np.sin(ang)
        u = ((x - cx) * c + (y - cy) * s) / rx
        v = (-(x - cx) * s + (y - cy) * c) / ry
        r2 = u * u + v * v
        inside = r2 < 1.0
        height = depth_mm * np.sqrt(np.clip(1.0 - r2, 0.0, 1.0))            # mm towards the camera
        height += nose_mm * np.exp(-((u / 0.16) ** 2 + ((v - 0.05) / 0.28) ** 2))
        z_mm = near_mm + (depth_mm + nose_mm) - height                      # larger = farther
        d = np.rint(z_mm * UNITS_PER_MM)
        out[i][inside] = np.clip(d[inside], 0, 65534).astype(np.uint16)
    return out
