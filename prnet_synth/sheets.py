"""Ground truths without a face: smooth sheets (a printed photo, a screen, a card) in paper format.

Not part of Schlett et al.; used where a training preset asks for them (``EnhancerPreset.
sheet_fraction``, REPRODUCTION_NOTES "Sheet pairs"): a U-Net trained on faces only learns a face prior
and, trained briefly, draws relief into flat input; a share of sheet pairs (degraded by the same
renderer, target the clean sheet) teaches it that a surface without relief stays without relief.

A sheet is a superellipse outline (ellipse to nearly a rectangle, rotated a little) filled with a
quadric surface ``z = z0 + a u + b v + c u^2 + d v^2 + e u v`` (u, v in -1..1 across the sheet):
tilted and bent both ways, nearest point ``z0`` mm behind the range start; outside the outline is
background (``HOLE``), as around a face ground truth.
"""
from __future__ import annotations

import numpy as np

from .conventions import HOLE, UNITS_PER_MM

__all__ = ["SHEET_RANGES", "random_sheets"]

#: every range the generator draws from, uniformly (mm for depths, fractions of the image side for sizes)
SHEET_RANGES = {
    "centre": (0.4, 0.6),            # of the image side, both axes
    "half_height": (0.25, 0.42),
    "half_width": (0.2, 0.4),
    "rotation_rad": (-0.35, 0.35),
    "exponent": (2.0, 12.0),          # superellipse: 2 = ellipse, large = rectangle
    "tilt_mm": (-40.0, 40.0),         # a, b: depth change from the centre to an edge
    "bend_mm": (-40.0, 40.0),         # c, d: bend along each axis (negative: centre farther)
    "twist_mm": (-10.0, 10.0),        # e
    "nearest_mm": (0.0, 60.0),        # z0; a third of the sheets at 0 (IV-J's normalisation)
    "farthest_mm": 200.0,             # surfaces deeper than this are scaled back
}


def random_sheets(n: int, seed: int, shape: tuple[int, int] = (256, 256)) -> np.ndarray:
    """``n`` sheets as uint16 ``n x H x W`` depth in paper format; a function of (seed, n, shape)."""
    if n < 0:
        raise ValueError(f"random_sheets: n must be >= 0, got {n}")
    h, w = int(shape[0]), int(shape[1])
    if h < 8 or w < 8:
        raise ValueError(f"random_sheets: shape {shape} is too small (at least 8x8)")
    R = SHEET_RANGES
    rng = np.random.default_rng(seed)
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]
    side = float(min(h, w))
    out = np.full((n, h, w), HOLE, np.uint16)
    for i in range(n):
        cy, cx = rng.uniform(*R["centre"]) * h, rng.uniform(*R["centre"]) * w
        hy, hx = rng.uniform(*R["half_height"]) * side, rng.uniform(*R["half_width"]) * side
        th = rng.uniform(*R["rotation_rad"])
        p = rng.uniform(*R["exponent"])
        dy, dx = rows - cy, cols - cx
        u = (np.cos(th) * dx + np.sin(th) * dy) / hx           # -1..1 across the sheet's width
        v = (-np.sin(th) * dx + np.cos(th) * dy) / hy          # -1..1 along its height
        inside = np.abs(u) ** p + np.abs(v) ** p <= 1.0
        if not inside.any():
            continue
        a, b = rng.uniform(*R["tilt_mm"], size=2)
        c, d = rng.uniform(*R["bend_mm"], size=2)
        e = rng.uniform(*R["twist_mm"])
        z = a * u + b * v + c * u * u + d * v * v + e * u * v
        z = z - z[inside].min()
        span = z[inside].max()
        z0 = 0.0 if rng.random() < 1.0 / 3.0 else rng.uniform(*R["nearest_mm"])
        room = R["farthest_mm"] - z0
        if span > room:
            z = z * (room / span)
        depth = np.rint((z + z0) * UNITS_PER_MM)
        out[i][inside] = np.clip(depth[inside], 0, HOLE - 1).astype(np.uint16)
    return out
