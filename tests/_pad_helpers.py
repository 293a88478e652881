"""Helpers shared by the PAD / preprocessing / RealSense I/O tests (owned with tests/test_pad*.py)."""
from __future__ import annotations

import numpy as np


def face_layout(cx: float = 128.0, cy: float = 128.0, s: float = 1.0) -> np.ndarray:
    """A hand-made 68-point layout in dlib's order (jaw, brows, nose, eyes, mouth), float32 (68, 2)."""
    pts = []
    for k in range(17):                      # jaw: U-shaped arc from the right ear over the chin (8) to the left
        a = np.pi * (1.0 - k / 16.0)
        pts.append((cx + 70 * s * np.cos(a), cy + 10 * s + 70 * s * np.sin(a) * (1.0 if k != 0 and k != 16 else 0.9)))
    for k in range(5):                       # right brow
        pts.append((cx - 55 * s + 10 * s * k, cy - 45 * s - 3 * s * np.sin(np.pi * k / 4)))
    for k in range(5):                       # left brow
        pts.append((cx + 15 * s + 10 * s * k, cy - 45 * s - 3 * s * np.sin(np.pi * k / 4)))
    for k in range(4):                       # nose bridge 27..30 (30 = tip)
        pts.append((cx, cy - 30 * s + 10 * s * k))
    for k in range(5):                       # nostrils 31..35
        pts.append((cx - 12 * s + 6 * s * k, cy + 10 * s))
    for ex in (-30.0, 30.0):                 # eyes 36..41, 42..47
        for k in range(6):
            a = 2 * np.pi * k / 6
            pts.append((cx + ex * s - 10 * s * np.cos(a), cy - 25 * s - 4 * s * np.sin(a)))
    for k in range(12):                      # outer lip 48..59
        a = 2 * np.pi * k / 12
        pts.append((cx - 22 * s * np.cos(a), cy + 35 * s - 8 * s * np.sin(a)))
    for k in range(8):                       # inner lip 60..67
        a = 2 * np.pi * k / 8
        pts.append((cx - 14 * s * np.cos(a), cy + 35 * s - 3 * s * np.sin(a)))
    out = np.array(pts, dtype=np.float32)
    assert out.shape == (68, 2)
    return out
