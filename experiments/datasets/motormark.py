"""MotorMark reader (003 IV-A: the cross-data-set test set, Kinect One, > 30k frames, 35 subjects).

The on-disk format is **uncertain** (shared/docs/datasets.md, section 4: nothing public found; "treat
like Pandora: configurable globs, uint16 depth in mm, RGB 8-bit; landmarks as an optional per-frame
file of ``x y`` rows"). Default layout (an assumption, configurable in ``MotorMarkLayout``):

    <root>/<subject>/**/<frame>_depth.png       16-bit PNG, mm, 0 = no reading
    <root>/<subject>/**/<frame>_rgb.png         8-bit colour, registered to the depth frame
    <root>/<subject>/**/<frame>_landmarks.txt   optional, one ``x y`` row per landmark (depth pixels)

The face window is Pini's eq. 6 crop (the same group's pre-processing; 003 does not describe its
crop) centred on the landmarks' mean, f = 365 (Kinect One); frames without landmarks are skipped.
The landmarks are mapped onto dlib's 68 points by their count (``experiments.cgan.landmarks68``:
68 = 300-W, 66 = Multi-PIE, 51 / 49 = without the jaw line) when the faces are collected
(``experiments.cgan.data.real_faceset``); a frame with another count still locates the face, its
landmarks are left out of the probe with a warning naming the file.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

__all__ = ["MotorMarkLayout", "MotorMarkFrame", "list_frames", "read_landmarks", "load_frame", "face_sample",
           "iter_face_samples"]

log = logging.getLogger(__name__)


class MotorMarkFormatError(ValueError):
    """A MotorMark file does not follow the configured layout."""


@dataclass(frozen=True)
class MotorMarkLayout:
    depth_glob: str = "**/*_depth.png"
    depth_suffix: str = "_depth.png"
    rgb_suffix: str = "_rgb.png"
    landmarks_suffix: str = "_landmarks.txt"
    focal: float = 365.0


@dataclass(frozen=True)
class MotorMarkFrame:
    subject: str
    frame: str
    depth_path: Path
    rgb_path: Path
    landmarks_path: Path
    layout: MotorMarkLayout = field(default_factory=MotorMarkLayout, repr=False)


def list_frames(root, layout: Optional[MotorMarkLayout] = None) -> list[MotorMarkFrame]:
    lay = layout or MotorMarkLayout()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: MotorMark root folder not found")
    frames = []
    for sdir in sorted(p for p in root.iterdir() if p.is_dir()):
        for dp in sorted(sdir.glob(lay.depth_glob)):
            stem = dp.name[: -len(lay.depth_suffix)] if dp.name.endswith(lay.depth_suffix) else dp.stem
            frames.append(MotorMarkFrame(sdir.name, stem, dp, dp.with_name(stem + lay.rgb_suffix),
                                         dp.with_name(stem + lay.landmarks_suffix), lay))
    return frames


def read_landmarks(path) -> np.ndarray:
    """``x y`` rows (spaces, tabs or commas) -> float32 (N, 2); blank lines ignored."""
    path = Path(path)
    pts = []
    for ln, line in enumerate(path.read_text().splitlines(), 1):
        s = line.replace(",", " ").split()
        if not s:
            continue
        try:
            vals = [float(v) for v in s]
        except ValueError:
            raise MotorMarkFormatError(f"{path}: line {ln} is not numeric: {line!r}") from None
        if len(vals) < 2:
            raise MotorMarkFormatError(f"{path}: line {ln} has fewer than 2 numbers")
        pts.append(vals[:2])
    if not pts:
        raise MotorMarkFormatError(f"{path}: no landmarks")
    return np.array(pts, np.float32)


def load_frame(frame: MotorMarkFrame) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    from prnet_synth.conventions import read_depth_png, read_png

    depth = read_depth_png(frame.depth_path, size=None)
    rgb = read_png(frame.rgb_path)
    if rgb.ndim != 3:
        raise MotorMarkFormatError(f"{frame.rgb_path}: expected a colour image, got shape {rgb.shape}")
    lms = read_landmarks(frame.landmarks_path) if frame.landmarks_path.is_file() else None
    return depth, rgb, lms


def face_sample(frame: MotorMarkFrame, size: int = 64) -> dict:
    """depth8 / rgb crops (size x size) and the landmarks in crop pixels."""
    from .face_crop import crop_resize, depth_mm_to_u8, face_box, head_distance

    depth, rgb, lms = load_frame(frame)
    if lms is None:
        raise MotorMarkFormatError(f"{frame.landmarks_path}: no landmark file, the face cannot be located")
    cx, cy = (float(v) for v in lms.mean(axis=0))
    D = head_distance(depth, cx, cy)
    if not math.isfinite(D):
        raise MotorMarkFormatError(f"{frame.depth_path}: no depth reading around the face centre ({cx:.1f}, {cy:.1f})")
    box = face_box(cx, cy, D, frame.layout.focal)
    depth8 = depth_mm_to_u8(crop_resize(depth, box, size, nearest=True), D)
    sy, sx = rgb.shape[0] / depth.shape[0], rgb.shape[1] / depth.shape[1]
    rgb_c = crop_resize(rgb, box.scaled(sx, sy), size)
    lm_c = np.stack([(lms[:, 0] - box.left) * size / box.width, (lms[:, 1] - box.top) * size / box.height], 1)
    return {"depth8": depth8, "rgb": rgb_c, "landmarks": lm_c.astype(np.float32), "subject": frame.subject,
            "frame": frame.frame, "distance_mm": D, "landmarks_path": str(frame.landmarks_path)}


def iter_face_samples(frames, size: int = 64) -> Iterator[dict]:
    for fr in frames:
        try:
            yield face_sample(fr, size)
        except (OSError, ValueError) as exc:
            log.warning("MotorMark: skipping %s: %s", fr.depth_path, exc)
