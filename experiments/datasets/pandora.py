"""Pandora reader (001 sec. 4.1.1, 003 IV-A).

The on-disk format is **uncertain** (shared/docs/datasets.md, section 3: no public loader or sample
was found). Following that document's recommendation, everything is configuration
(``PandoraLayout``) and the default is the documented assumption:

    <root>/<SS>/<sequence>/DEPTH/<frame>_DEPTH.png    16-bit single-channel PNG, mm, 0 = no reading
    <root>/<SS>/<sequence>/RGB/<frame>_RGB.png        8-bit colour
    <root>/<SS>/<sequence>/data.csv                   one row per frame: frame, head roll/pitch/yaw
                                                      (degrees), head centre x/y (depth pixels)

``SS`` is the subject number (two digits); the sequence number (S1..S5) is the first integer in the
sequence folder name, or its rank among the subject's folders. Test subjects: 10, 14, 16, 20 (001).
"""
from __future__ import annotations

import csv
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

__all__ = ["TEST_SUBJECTS", "PandoraLayout", "PandoraFrame", "list_frames", "load_frame", "face_sample",
           "iter_face_samples", "is_test_subject", "sequence_group", "angle_subset"]

log = logging.getLogger(__name__)

TEST_SUBJECTS = (10, 14, 16, 20)


class PandoraFormatError(ValueError):
    """A Pandora file does not follow the configured layout."""


@dataclass(frozen=True)
class PandoraLayout:
    subject_pattern: str = r"^\d{1,3}$"
    sequence_pattern: str = r"(\d+)"     # first integer of the sequence folder name, else its rank
    depth_dir: str = "DEPTH"
    depth_suffix: str = "_DEPTH.png"
    rgb_dir: str = "RGB"
    rgb_suffix: str = "_RGB.png"
    annotation: str = "data.csv"
    col_frame: str = "frame"
    col_roll: str = "head_roll"
    col_pitch: str = "head_pitch"
    col_yaw: str = "head_yaw"
    col_x: str = "head_x"
    col_y: str = "head_y"
    focal: float = 365.0       # 001: f_x = f_y = 365 for Pandora


@dataclass(frozen=True)
class PandoraFrame:
    subject: int
    sequence: int
    frame: str
    depth_path: Path
    rgb_path: Path
    roll: float
    pitch: float
    yaw: float
    head_x: float
    head_y: float
    layout: PandoraLayout = field(default_factory=PandoraLayout, repr=False)


def _sequence_number(name: str, rank: int, pattern: str) -> int:
    m = re.search(pattern, name)
    return int(m.group(1)) if m else rank


def _read_annotations(path: Path, lay: PandoraLayout) -> list[dict]:
    if not path.is_file():
        raise PandoraFormatError(f"{path}: annotation file missing")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    need = [lay.col_frame, lay.col_roll, lay.col_pitch, lay.col_yaw, lay.col_x, lay.col_y]
    if rows and any(c not in rows[0] for c in need):
        raise PandoraFormatError(f"{path}: missing columns {[c for c in need if c not in rows[0]]} "
                                 f"(has {list(rows[0])}); configure PandoraLayout")
    return rows


def list_frames(root, layout: Optional[PandoraLayout] = None, subjects: Optional[set[int]] = None) -> list[PandoraFrame]:
    """All annotated frames; a malformed annotation row is logged and skipped."""
    lay = layout or PandoraLayout()
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: Pandora root folder not found")
    frames = []
    pat = re.compile(lay.subject_pattern)
    for sdir in sorted(p for p in root.iterdir() if p.is_dir() and pat.match(p.name)):
        subj = int(sdir.name)
        if subjects is not None and subj not in subjects:
            continue
        for rank, qdir in enumerate(sorted(p for p in sdir.iterdir() if p.is_dir()), 1):
            ann = qdir / lay.annotation
            if not ann.is_file():
                continue
            seq = _sequence_number(qdir.name, rank, lay.sequence_pattern)
            for i, row in enumerate(_read_annotations(ann, lay), 2):
                try:
                    fid = str(row[lay.col_frame]).strip()
                    frames.append(PandoraFrame(
                        subj, seq, fid, qdir / lay.depth_dir / f"{fid}{lay.depth_suffix}",
                        qdir / lay.rgb_dir / f"{fid}{lay.rgb_suffix}", float(row[lay.col_roll]),
                        float(row[lay.col_pitch]), float(row[lay.col_yaw]), float(row[lay.col_x]),
                        float(row[lay.col_y]), lay))
                except (TypeError, ValueError) as exc:
                    log.warning("Pandora: %s line %d skipped: %s", ann, i, exc)
    return frames


def load_frame(frame: PandoraFrame) -> tuple[np.ndarray, np.ndarray]:
    """(depth uint16 mm, rgb uint8 HxWx3); errors name the file."""
    from prnet_synth.conventions import read_depth_png, read_png

    depth = read_depth_png(frame.depth_path, size=None)
    rgb = read_png(frame.rgb_path)
    if rgb.ndim != 3:
        raise PandoraFormatError(f"{frame.rgb_path}: expected a colour image, got shape {rgb.shape}")
    return depth, rgb


def face_sample(frame: PandoraFrame, size: int = 96) -> dict:
    """Eq. 6 face crop (f = 365, R = 320) of depth and intensity, resized to size x size.

    The RGB frame is assumed registered to the depth frame; when its size differs (1920x1080 vs
    512x424) the window is scaled by the ratio of the image sizes (an approximation, documented)."""
    import cv2

    from .face_crop import crop_quality, crop_resize, depth_mm_to_u8, face_box, head_distance

    depth, rgb = load_frame(frame)
    D = head_distance(depth, frame.head_x, frame.head_y)
    if not math.isfinite(D):
        raise PandoraFormatError(f"{frame.depth_path}: no depth reading around the head centre "
                                 f"({frame.head_x:.1f}, {frame.head_y:.1f})")
    box = face_box(frame.head_x, frame.head_y, D, frame.layout.focal)
    crop_mm = crop_resize(depth, box, size, nearest=True)
    depth8 = depth_mm_to_u8(crop_mm, D)
    sy, sx = rgb.shape[0] / depth.shape[0], rgb.shape[1] / depth.shape[1]
    rgb_c = crop_resize(rgb, box.scaled(sx, sy), size)
    return {"gray": cv2.cvtColor(rgb_c, cv2.COLOR_RGB2GRAY), "rgb": rgb_c, "depth8": depth8,
            "yaw": frame.yaw, "pitch": frame.pitch, "roll": frame.roll, "subject": frame.subject,
            "sequence": frame.sequence, "frame": frame.frame, "distance_mm": D,
            **crop_quality(crop_mm, D, box, depth.shape)}


def iter_face_samples(frames, size: int = 96) -> Iterator[dict]:
    for fr in frames:
        try:
            yield face_sample(fr, size)
        except (OSError, ValueError) as exc:
            log.warning("Pandora: skipping %s: %s", fr.depth_path, exc)


def is_test_subject(subject: int) -> bool:
    return int(subject) in TEST_SUBJECTS


def sequence_group(sequence: int) -> str:
    """"S1-S3" (constrained movements) or "S4-S5" (free movements, occlusions), 001 sec. 4.1.1."""
    return "S1-S3" if int(sequence) <= 3 else "S4-S5"


def angle_subset(yaw: float, pitch: float, roll: float, limit: float = 10.0) -> str:
    """Eq. 7: "A1" when every angle lies in [-10, 10] degrees, else "A2"."""
    return "A1" if all(-limit <= a <= limit for a in (yaw, pitch, roll)) else "A2"
