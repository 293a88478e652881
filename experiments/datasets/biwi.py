"""Biwi Kinect Head Pose Database reader (001 sec. 4.1.2), in its on-disk format
(shared/docs/datasets.md, section 2):

``hpdb/<SS>/frame_XXXXX_depth.bin`` (run-length coded int16 depth in mm, little-endian header
int32 width, int32 height, then records int32 n_empty, int32 n_full, int16 value[n_full]),
``frame_XXXXX_rgb.png`` (640x480 RGB), ``frame_XXXXX_pose.txt`` (3x3 rotation, blank line, head
centre in mm in the depth camera frame), ``depth.cal`` / ``rgb.cal`` (K, distortion, R, t).
Frame numbers are enumerated by glob (they do not start at 0 and may have gaps).
"""
from __future__ import annotations

import logging
import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

__all__ = ["SEQUENCE_SUBJECT", "BiwiFrame", "Calibration", "read_depth_bin", "write_depth_bin", "read_pose",
           "write_pose", "read_calibration", "write_calibration", "euler_from_rotation", "list_frames",
           "load_frame", "face_sample"]

log = logging.getLogger(__name__)

SEQUENCE_SUBJECT = {1: "F01", 2: "F02", 3: "F03", 4: "F04", 5: "F05", 6: "F06", 7: "M01", 8: "M02",
                    9: "M03", 10: "M04", 11: "M05", 12: "M06", 13: "M07", 14: "M08", 15: "F03", 16: "M09",
                    17: "M10", 18: "F05", 19: "M11", 20: "M12", 21: "F02", 22: "M01", 23: "M13", 24: "M14"}

_FRAME_RE = re.compile(r"frame_(\d+)_depth\.bin$")


class BiwiFormatError(ValueError):
    """A Biwi file does not follow the documented format."""


# ----------------------------------------------------------------------------- depth .bin
def read_depth_bin(path) -> np.ndarray:
    """Decode ``frame_XXXXX_depth.bin`` -> int16 HxW depth in mm (0 = no reading), as uint16."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 8:
        raise BiwiFormatError(f"{path}: too short for the width/height header ({len(data)} bytes)")
    w, h = struct.unpack_from("<ii", data, 0)
    if not (0 < w <= 10000 and 0 < h <= 10000):
        raise BiwiFormatError(f"{path}: implausible size {w}x{h} in the header")
    n = w * h
    out = np.zeros(n, np.int16)
    pos, p = 8, 0
    while p < n:
        if pos + 8 > len(data):
            raise BiwiFormatError(f"{path}: truncated at pixel {p} of {n} (record header)")
        n_empty, n_full = struct.unpack_from("<ii", data, pos)
        pos += 8
        if n_empty < 0 or n_full < 0 or p + n_empty + n_full > n:
            raise BiwiFormatError(f"{path}: bad run lengths ({n_empty}, {n_full}) at pixel {p} of {n}")
        p += n_empty
        if n_full:
            if pos + 2 * n_full > len(data):
                raise BiwiFormatError(f"{path}: truncated in a run of {n_full} values at pixel {p}")
            out[p:p + n_full] = np.frombuffer(data, "<i2", n_full, pos)
            pos += 2 * n_full
            p += n_full
    return np.clip(out, 0, None).astype(np.uint16).reshape(h, w)


def write_depth_bin(path, depth: np.ndarray) -> None:
    """Encode an HxW depth image (mm, 0 = no reading) in the Biwi run-length format (fixtures)."""
    from prnet_synth.atomic import atomic_write_bytes

    d = np.asarray(depth).astype(np.int16)
    h, w = d.shape
    flat = d.ravel()
    parts = [struct.pack("<ii", w, h)]
    p, n = 0, flat.size
    while p < n:
        q = p
        while q < n and flat[q] == 0:
            q += 1
        r = q
        while r < n and flat[r] != 0:
            r += 1
        parts.append(struct.pack("<ii", q - p, r - q))
        parts.append(flat[q:r].astype("<i2").tobytes())
        p = r
    atomic_write_bytes(path, b"".join(parts))


# ----------------------------------------------------------------------------- pose / calibration
def _numeric_rows(path: Path) -> list[list[float]]:
    rows = []
    for ln, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        try:
            rows.append([float(v) for v in s.split()])
        except ValueError:
            raise BiwiFormatError(f"{path}: line {ln} is not numeric: {s!r}") from None
    return rows


def read_pose(path) -> tuple[np.ndarray, np.ndarray]:
    """``frame_XXXXX_pose.txt`` -> (R 3x3, head centre T (3,) in mm, depth camera frame)."""
    path = Path(path)
    rows = _numeric_rows(path)
    if len(rows) < 4 or any(len(r) != 3 for r in rows[:4]):
        raise BiwiFormatError(f"{path}: expected 3 rows of a rotation and 1 row of a translation, 3 numbers each")
    return np.array(rows[:3], np.float64), np.array(rows[3], np.float64)


def write_pose(path, R: np.ndarray, T: np.ndarray) -> None:
    from prnet_synth.atomic import atomic_write_text

    lines = [" ".join(f"{v:.6f}" for v in row) + " " for row in np.asarray(R)]
    lines += ["", " ".join(f"{v:.2f}" for v in np.asarray(T)) + " "]
    atomic_write_text(path, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Calibration:
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray


def read_calibration(path) -> Calibration:
    """``depth.cal`` / ``rgb.cal``: K (3 rows), distortion (4), R (3 rows), t (3)."""
    path = Path(path)
    rows = _numeric_rows(path)
    if len(rows) != 8 or [len(r) for r in rows] != [3, 3, 3, 4, 3, 3, 3, 3]:
        raise BiwiFormatError(f"{path}: expected K (3x3), 4 distortion numbers, R (3x3) and t (3), "
                              f"got rows of lengths {[len(r) for r in rows]}")
    return Calibration(np.array(rows[0:3]), np.array(rows[3]), np.array(rows[4:7]), np.array(rows[7]))


def write_calibration(path, cal: Calibration) -> None:
    from prnet_synth.atomic import atomic_write_text

    fmt = lambda r: " ".join(f"{v:g}" for v in r)  # noqa: E731
    lines = [fmt(r) for r in cal.K] + ["", fmt(cal.dist), ""] + [fmt(r) for r in cal.R] + ["", fmt(cal.t)]
    atomic_write_text(path, "\n".join(lines) + "\n")


def euler_from_rotation(R: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees with the convention of datasets.md (inferred)."""
    R = np.asarray(R, np.float64)
    roll = math.atan2(R[1, 0], R[0, 0])
    yaw = math.atan2(-R[2, 0], math.hypot(R[2, 1], R[2, 2]))
    pitch = -math.atan2(R[2, 1], R[2, 2])
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


# ----------------------------------------------------------------------------- frames
@dataclass(frozen=True)
class BiwiFrame:
    sequence: int
    frame: int
    depth_path: Path
    rgb_path: Path
    pose_path: Path
    subject: str = field(default="")


def _root(root) -> Path:
    root = Path(root)
    if (root / "hpdb").is_dir():
        root = root / "hpdb"
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: Biwi root folder (hpdb/) not found")
    return root


def list_frames(root, sequences: Optional[set[int]] = None) -> list[BiwiFrame]:
    """All frames with a depth file, in sequence/frame order (pose and rgb paths may be missing)."""
    root = _root(root)
    frames = []
    for seq_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        seq = int(seq_dir.name)
        if sequences is not None and seq not in sequences:
            continue
        for dp in sorted(seq_dir.glob("frame_*_depth.bin")):
            m = _FRAME_RE.search(dp.name)
            if not m:
                continue
            stem = f"frame_{m.group(1)}"
            frames.append(BiwiFrame(seq, int(m.group(1)), dp, seq_dir / f"{stem}_rgb.png",
                                    seq_dir / f"{stem}_pose.txt", SEQUENCE_SUBJECT.get(seq, f"S{seq:02d}")))
    return frames


def load_frame(frame: BiwiFrame) -> dict:
    """Depth (uint16 mm), RGB (uint8 HxWx3), R, T, (yaw, pitch, roll), the two calibrations."""
    from prnet_synth.conventions import read_png

    depth = read_depth_bin(frame.depth_path)
    rgb = read_png(frame.rgb_path)
    if rgb.ndim != 3:
        raise BiwiFormatError(f"{frame.rgb_path}: expected an RGB image, got shape {rgb.shape}")
    R, T = read_pose(frame.pose_path)
    seq_dir = frame.depth_path.parent
    return {"depth": depth, "rgb": rgb, "R": R, "T": T, "angles": euler_from_rotation(R),
            "depth_cal": read_calibration(seq_dir / "depth.cal"), "rgb_cal": read_calibration(seq_dir / "rgb.cal")}


def face_sample(frame: BiwiFrame, size: int = 96, focal: Optional[float] = None) -> dict:
    """One face crop pair (001 sec. 3.2): gray (uint8 size^2), depth8 (uint8), angles, subject.

    The head centre T is projected with the depth intrinsics (x_H, y_H); D is the mean depth around
    it; the depth window follows eq. 6 with f = 370 (001). The RGB camera is not registered to the
    depth camera: the RGB window is centred on T projected with rgb.cal (R, t, K) and sized by eq. 6
    with f scaled by the ratio of the two focal lengths (decided)."""
    import cv2

    from .face_crop import FOCAL_BIWI, crop_quality, crop_resize, depth_mm_to_u8, face_box, head_distance

    f = FOCAL_BIWI if focal is None else focal
    fr = load_frame(frame)
    K = fr["depth_cal"].K
    X, Y, Z = fr["T"]
    if Z <= 0:
        raise BiwiFormatError(f"{frame.pose_path}: head centre has non-positive depth {Z}")
    xh, yh = K[0, 0] * X / Z + K[0, 2], K[1, 1] * Y / Z + K[1, 2]
    D = head_distance(fr["depth"], xh, yh)
    if not math.isfinite(D):
        raise BiwiFormatError(f"{frame.depth_path}: no depth reading around the head centre ({xh:.1f}, {yh:.1f})")
    box = face_box(xh, yh, D, f)
    crop_mm = crop_resize(fr["depth"], box, size, nearest=True)
    depth8 = depth_mm_to_u8(crop_mm, D)
    rc = fr["rgb_cal"]
    P = rc.R @ fr["T"] + rc.t
    xr, yr = rc.K[0, 0] * P[0] / P[2] + rc.K[0, 2], rc.K[1, 1] * P[1] / P[2] + rc.K[1, 2]
    rbox = face_box(xr, yr, D, f * rc.K[0, 0] / K[0, 0], f * rc.K[1, 1] / K[1, 1])
    rgb = crop_resize(fr["rgb"], rbox, size)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    yaw, pitch, roll = fr["angles"]
    return {"gray": gray, "rgb": rgb, "depth8": depth8, "yaw": yaw, "pitch": pitch, "roll": roll,
            "subject": frame.subject, "sequence": frame.sequence, "frame": frame.frame, "distance_mm": D,
            **crop_quality(crop_mm, D, box, fr["depth"].shape)}


def iter_face_samples(frames, size: int = 96) -> Iterator[dict]:
    """Face samples of ``frames``; a bad frame is logged and skipped."""
    for fr in frames:
        try:
            yield face_sample(fr, size)
        except (OSError, ValueError) as exc:
            log.warning("Biwi: skipping %s: %s", fr.depth_path, exc)
