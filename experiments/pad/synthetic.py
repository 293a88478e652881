"""Synthetic D435-like colour + depth sequences for the PAD program's tests and benchmark (no camera).

* ``bona_fide``: a procedural face (``prnet_synth.procedural``) whose own depth is placed at
  ``distance_mm``; the rest of the scene is a wall at ``wall_mm``.
* ``flat``: a printed photo of the same face image: the photo's whole area (the 256x256 face image)
  is a plane at ``distance_mm``, slightly tilted.
* ``bent``: the same photo bent around a vertical axis (a cylinder, convex towards the camera; its
  edges ``bend_mm`` behind its centre line), or around a horizontal axis with ``axis="horizontal"``.

Every frame moves the image by a pixel or two and adds D435-like depth artefacts: Gaussian noise
(``noise_mm``), random dropout holes (``dropout``), 1 mm quantisation (depth scale 0.001 m/unit).
Depth is already aligned to colour (as a D435 stream after ``rs.align``).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from prnet_synth.conventions import HOLE, units_to_mm

__all__ = ["KINDS", "face_sample", "detectable_face", "make_sequence"]

KINDS = ("bona_fide", "flat", "bent", "bent_horizontal")


def face_sample(seed: int = 0, index: int = 0) -> dict:
    """One frontal procedural face (rgb, depth, landmarks, ...) from the synthetic-faces generator, with
    depth on the whole head (scalp and neck too), as a depth camera sees a person."""
    from prnet_synth import procedural

    return procedural.sample(seed, index, frontal=True, depth_region="head")


def detectable_face(seed: int = 0, tries: int = 10) -> dict:
    """The first of the frontal procedural faces ``seed``, ``seed + 1``, ... that dlib's detector finds
    (the PAD program needs a detected face); ValueError when none of ``tries`` is found."""
    from prnet_synth.landmarks import detect_faces

    for k in range(tries):
        face = face_sample(seed + k)
        if detect_faces(face["rgb"]):
            face = dict(face)
            face["seed"] = seed + k
            return face
    raise ValueError(f"dlib found no face in the procedural faces {seed}..{seed + tries - 1}")


def make_sequence(kind: str, n_frames: int = 12, seed: int = 0, face: Optional[dict] = None,
                  canvas: tuple[int, int] = (288, 352), distance_mm: float = 450.0, wall_mm: float = 900.0,
                  bend_mm: float = 40.0, tilt_mm_per_px: float = 0.05, noise_mm: float = 0.6,
                  dropout: float = 0.01) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(colours uint8 HxWx3, depths uint16 Z16 mm, 0 = hole) of ``n_frames`` frames of the given kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown sequence kind {kind!r}; known: {KINDS}")
    face = face if face is not None else face_sample(seed)
    rgb, fd = face["rgb"], face["depth"]
    s = rgb.shape[0]
    H, W = canvas
    if H < s + 8 or W < s + 8:
        raise ValueError(f"canvas {canvas} must be larger than the face image ({s}x{s}) plus a margin")
    rng = np.random.default_rng(seed + 1000 * KINDS.index(kind))
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float64)
    if kind == "bona_fide":
        patch = np.where(fd == HOLE, np.nan, distance_mm + units_to_mm(fd))
    elif kind == "flat":
        patch = distance_mm + tilt_mm_per_px * (xx - s / 2)
    elif kind == "bent":
        patch = distance_mm + bend_mm * ((xx - s / 2) / (s / 2)) ** 2
    else:
        patch = distance_mm + bend_mm * ((yy - s / 2) / (s / 2)) ** 2
    colors, depths = [], []
    for i in range(n_frames):
        dy = int(round(2 * np.sin(i / 3.0)))
        dx = int(round(3 * np.cos(i / 4.0)))
        top, left = (H - s) // 2 + dy, (W - s) // 2 + dx
        col = np.full((H, W, 3), 120, np.uint8)
        col[top:top + s, left:left + s] = rgb
        z = np.full((H, W), wall_mm, np.float64)
        zp = z[top:top + s, left:left + s]
        zp[np.isfinite(patch)] = patch[np.isfinite(patch)]
        z += rng.normal(0.0, noise_mm, z.shape)
        d = np.rint(z).astype(np.uint16)
        d[rng.random(z.shape) < dropout] = 0
        colors.append(col)
        depths.append(d)
    return colors, depths
