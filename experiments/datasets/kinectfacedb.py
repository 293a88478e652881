"""KinectFaceDB (EURECOM Kinect Face Dataset, Kinect v1) reader in its on-disk layout.

Layout (``shared/docs/datasets.md`` section 1; inferred from three public loaders)::

    <root>/<SSSS>/s<n>/RGB/rgb_<SSSS>_s<n>_<Variant>.bmp                 256x256 24-bit colour
    <root>/<SSSS>/s<n>/Depth/DepthKinect/depth_<SSSS>_s<n>_<Variant>.txt  metric depth, "x y depth" lines
    <root>/<SSSS>/s<n>/Depth/DepthBMP/depth_<SSSS>_s<n>_<Variant>.bmp    8-bit preview (never used for metrics)
    <root>/<SSSS>/s<n>/Mark/MarkRGB/rgb_<SSSS>_s<n>_<Variant>_Points.txt  6 manual landmarks, "x<TAB>y"

``root`` may also be the folder that contains ``EURECOM_Kinect_Face_Dataset/``.

Metric depth comes from the DepthKinect text files: integer triples ``x y depth`` with x = column
and y = row in the original 640x480 Kinect frame and depth in millimetres; the 256x256 crop starts
at column 192, row 74 (``CROP_OFFSET``). Pixels that are not listed, or listed with depth 0, are
holes. Which pixels a file lists is not documented, so the reader starts from an all-hole image.

``to_paper_depth`` turns metric depth into the project's uint16 format as Schlett et al. IV-J
describe for real data: a 25 cm range starting at the nearest valid depth inside the face ROI,
holes = 65535.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from prnet_synth.conventions import DEPTH_RANGE_MM, normalize_metric_depth

__all__ = [
    "VARIANTS", "FRONTAL_VARIANTS", "OCCLUSION_VARIANTS", "PROFILE_VARIANTS", "CROP_OFFSET", "SIZE",
    "MANUAL_LANDMARK_NAMES", "KinectFaceDBError", "KinectRecord", "KinectSample",
    "find_root", "list_records", "read_depth_txt", "read_rgb_bmp", "read_manual_landmarks",
    "load_sample", "iter_samples", "to_paper_depth", "write_depth_txt", "write_rgb_bmp",
    "write_manual_landmarks",
]

log = logging.getLogger(__name__)

VARIANTS = ("Neutral", "Smile", "OpenMouth", "LightOn", "OcclusionEyes", "OcclusionMouth",
            "OcclusionPaper", "LeftProfile", "RightProfile")
PROFILE_VARIANTS = ("LeftProfile", "RightProfile")
FRONTAL_VARIANTS = tuple(v for v in VARIANTS if v not in PROFILE_VARIANTS)
OCCLUSION_VARIANTS = ("OcclusionEyes", "OcclusionMouth", "OcclusionPaper")
# Order of the 6 manual landmarks as we read the KinectFaceDB paper (uncertain, see datasets.md).
MANUAL_LANDMARK_NAMES = ("left_eye", "right_eye", "nose_tip", "left_mouth", "right_mouth", "chin")
CROP_OFFSET = (192, 74)  # (column, row) of the 256x256 crop in the 640x480 Kinect frame
SIZE = 256
ARCHIVE_DIR = "EURECOM_Kinect_Face_Dataset"

_STEM = re.compile(r"^(?P<kind>rgb|depth)_(?P<subject>\d+)_s(?P<session>\d+)_(?P<variant>[A-Za-z]+)$")


class KinectFaceDBError(ValueError):
    """A KinectFaceDB file or folder is not in the expected format."""


@dataclasses.dataclass(frozen=True)
class KinectRecord:
    """Where one (subject, session, variant) image lives; files that are absent are None."""

    subject: int
    session: int
    variant: str
    depth_txt: Path
    rgb_bmp: Optional[Path]
    landmarks_txt: Optional[Path]

    @property
    def name(self) -> str:
        """The paper's sample name, e.g. ``0011_s1_LightOn``."""
        return f"{self.subject:04d}_s{self.session}_{self.variant}"

    @property
    def frontal(self) -> bool:
        return self.variant not in PROFILE_VARIANTS

    @property
    def occlusion(self) -> bool:
        return self.variant in OCCLUSION_VARIANTS


@dataclasses.dataclass
class KinectSample:
    """One loaded image: metric depth (float32 mm, 0 = hole), RGB, manual landmarks (or None)."""

    record: KinectRecord
    depth_mm: np.ndarray
    rgb: Optional[np.ndarray]
    landmarks: Optional[np.ndarray]

    @property
    def name(self) -> str:
        return self.record.name


# ----------------------------------------------------------------------------- discovery
def find_root(root: str | Path) -> Path:
    """The folder holding the 4-digit subject folders (accepts the archive's parent too)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: KinectFaceDB folder not found")
    if (root / ARCHIVE_DIR).is_dir():
        root = root / ARCHIVE_DIR
    if not any(p.is_dir() and p.name.isdigit() for p in root.iterdir()):
        raise KinectFaceDBError(f"{root}: no subject folders (0001, 0002, ...) found; expected the "
                                f"layout <root>/<SSSS>/s<n>/Depth/DepthKinect/depth_<SSSS>_s<n>_<Variant>.txt")
    return root


def _parse_stem(stem: str) -> Optional[tuple[int, int, str]]:
    m = _STEM.match(stem)
    if not m:
        return None
    return int(m["subject"]), int(m["session"]), m["variant"]


def list_records(root: str | Path, variants: Optional[Iterable[str]] = None,
                 subjects: Optional[Iterable[int]] = None,
                 sessions: Optional[Iterable[int]] = None) -> list[KinectRecord]:
    """All images with a DepthKinect file, sorted by (subject, session, variant order).

    Files whose name does not follow ``depth_<SSSS>_s<n>_<Variant>.txt`` are logged and skipped;
    unknown variant names are kept (logged once) so a differently named variant still loads.
    """
    root = find_root(root)
    want_v = None if variants is None else set(variants)
    want_s = None if subjects is None else {int(s) for s in subjects}
    want_n = None if sessions is None else {int(s) for s in sessions}
    if want_v is not None:
        unknown = want_v - set(VARIANTS)
        if unknown:
            raise ValueError(f"unknown KinectFaceDB variant(s) {sorted(unknown)}; known: {VARIANTS}")
    out: list[KinectRecord] = []
    for subj_dir in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        for sess_dir in sorted(p for p in subj_dir.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)):
            depth_dir = sess_dir / "Depth" / "DepthKinect"
            if not depth_dir.is_dir():
                log.warning("%s: no Depth/DepthKinect folder, skipped", sess_dir)
                continue
            for txt in sorted(depth_dir.glob("*.txt")):
                parsed = _parse_stem(txt.stem)
                if parsed is None:
                    log.warning("%s: file name is not depth_<SSSS>_s<n>_<Variant>.txt, skipped", txt)
                    continue
                subject, session, variant = parsed
                if variant not in VARIANTS:
                    log.warning("%s: unknown variant %r", txt, variant)
                if want_v is not None and variant not in want_v:
                    continue
                if want_s is not None and subject not in want_s:
                    continue
                if want_n is not None and session not in want_n:
                    continue
                tag = f"{subject:04d}_s{session}_{variant}"
                rgb = sess_dir / "RGB" / f"rgb_{tag}.bmp"
                lms = sess_dir / "Mark" / "MarkRGB" / f"rgb_{tag}_Points.txt"
                out.append(KinectRecord(subject, session, variant, txt,
                                        rgb if rgb.is_file() else None,
                                        lms if lms.is_file() else None))
    order = {v: i for i, v in enumerate(VARIANTS)}
    out.sort(key=lambda r: (r.subject, r.session, order.get(r.variant, len(order)), r.variant))
    return out


# ----------------------------------------------------------------------------- readers
def read_depth_txt(path: str | Path, offset: Optional[tuple[int, int]] = None,
                   size: int = SIZE) -> np.ndarray:
    """Read a DepthKinect ``x y depth`` file into a float32 ``size`` x ``size`` image in mm (0 = hole).

    ``offset`` = (column, row) subtracted from x, y; default: ``CROP_OFFSET`` when any coordinate
    lies outside the crop (the documented 640x480 coordinates), else (0, 0) (a file already in crop
    coordinates). Points that fall outside the crop are counted and logged, not an error.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such DepthKinect file")
    text = path.read_text(errors="strict") if path.stat().st_size else ""
    try:
        values = np.array(text.split(), dtype=np.float64)
    except ValueError as exc:
        raise KinectFaceDBError(f"{path}: not a DepthKinect file (expected numeric 'x y depth' lines): {exc}") from None
    if values.size == 0:
        raise KinectFaceDBError(f"{path}: empty DepthKinect file")
    if values.size % 3:
        raise KinectFaceDBError(f"{path}: expected 'x y depth' triples, got {values.size} numbers "
                                f"(not a multiple of 3)")
    xyz = values.reshape(-1, 3)
    if not np.all(np.isfinite(xyz)):
        raise KinectFaceDBError(f"{path}: non-finite values in the DepthKinect file")
    x = np.rint(xyz[:, 0]).astype(np.int64)
    y = np.rint(xyz[:, 1]).astype(np.int64)
    z = xyz[:, 2]
    if np.any(z < 0):
        raise KinectFaceDBError(f"{path}: negative depth values (expected millimetres, 0 = missing)")
    if offset is None:
        offset = CROP_OFFSET if (x.max() >= size or y.max() >= size) else (0, 0)
    col = x - int(offset[0])
    row = y - int(offset[1])
    inside = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    if not inside.all():
        log.warning("%s: %d of %d points lie outside the %dx%d crop (offset %s), ignored",
                    path, int((~inside).sum()), len(inside), size, size, tuple(offset))
    out = np.zeros((size, size), np.float32)
    out[row[inside], col[inside]] = z[inside].astype(np.float32)
    return out


def read_rgb_bmp(path: str | Path) -> np.ndarray:
    """Read a KinectFaceDB colour BMP as uint8 RGB (HxWx3)."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such RGB file")
    buf = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if img is None:
        raise KinectFaceDBError(f"{path}: not a readable BMP image")
    return np.ascontiguousarray(img[..., ::-1])


def read_manual_landmarks(path: str | Path, expect: int = 6) -> np.ndarray:
    """Read a ``MarkRGB/..._Points.txt`` file: float32 (k, 2) pixel coordinates (x, y).

    Fields may be separated by TABs or spaces, with 2 or 3 columns (the first two are used); blank
    lines are ignored. A count other than ``expect`` is logged (not an error).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such landmark file")
    rows = []
    for no, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.replace(",", " ").split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise KinectFaceDBError(f"{path}: line {no}: expected 2 or 3 numbers, got {len(fields)}")
        try:
            rows.append([float(fields[0]), float(fields[1])])
        except ValueError:
            raise KinectFaceDBError(f"{path}: line {no}: not numeric: {line!r}") from None
    if not rows:
        raise KinectFaceDBError(f"{path}: no landmarks")
    if expect and len(rows) != expect:
        log.warning("%s: %d landmarks, expected %d", path, len(rows), expect)
    return np.asarray(rows, np.float32)


def load_sample(record: KinectRecord, with_rgb: bool = True) -> KinectSample:
    depth = read_depth_txt(record.depth_txt)
    rgb = read_rgb_bmp(record.rgb_bmp) if (with_rgb and record.rgb_bmp is not None) else None
    if rgb is not None and rgb.shape[:2] != depth.shape:
        raise KinectFaceDBError(f"{record.rgb_bmp}: colour image is {rgb.shape[1]}x{rgb.shape[0]}, "
                                f"depth crop is {depth.shape[1]}x{depth.shape[0]}")
    lms = read_manual_landmarks(record.landmarks_txt) if record.landmarks_txt is not None else None
    return KinectSample(record, depth, rgb, lms)


def iter_samples(records: Sequence[KinectRecord], with_rgb: bool = True) -> Iterator[KinectSample]:
    """Load records one by one; unreadable ones are logged and skipped (batch-job rule)."""
    for rec in records:
        try:
            yield load_sample(rec, with_rgb)
        except (OSError, KinectFaceDBError) as exc:
            log.error("skipping %s: %s", rec.name, exc)


# ----------------------------------------------------------------------------- preprocessing
def to_paper_depth(depth_mm: np.ndarray, roi_mask: Optional[np.ndarray] = None,
                   range_mm: float = DEPTH_RANGE_MM) -> np.ndarray:
    """Metric depth (mm, 0 = hole) -> uint16 paper convention (65535 = hole).

    The 25 cm range starts at the nearest valid depth inside ``roi_mask`` (the face ROI; whole image
    when None), as in IV-J. The crop is already 256x256 and aligned with the colour image, so no
    resizing is needed and masks from the colour image apply unchanged.
    """
    z = np.asarray(depth_mm, np.float64)
    valid = z > 0
    sel = valid if roi_mask is None else (valid & np.asarray(roi_mask, bool))
    if not sel.any():
        return np.full(z.shape, 65535, np.uint16)
    return normalize_metric_depth(z, valid=valid, near_mm=float(z[sel].min()), range_mm=range_mm)


# ----------------------------------------------------------------------------- fixture writers
def _tag(subject: int, session: int, variant: str) -> str:
    return f"{subject:04d}_s{session}_{variant}"


def write_depth_txt(root: str | Path, subject: int, session: int, variant: str,
                    depth_mm: np.ndarray, offset: tuple[int, int] = CROP_OFFSET,
                    all_pixels: bool = True) -> Path:
    """Write a DepthKinect file in the real layout (for tests and fixtures).

    ``all_pixels``: every crop pixel as one line in row-major order with 0 for holes (the
    documented-safe fixture form); else only valid pixels.
    """
    from prnet_synth.atomic import atomic_write_text

    d = np.asarray(depth_mm)
    rows, cols = np.indices(d.shape)
    keep = np.ones(d.shape, bool) if all_pixels else d > 0
    zz = np.rint(np.where(d > 0, d, 0)).astype(np.int64)
    lines = [f"{c + offset[0]} {r + offset[1]} {v}" for r, c, v in zip(rows[keep], cols[keep], zz[keep])]
    path = Path(root) / f"{subject:04d}" / f"s{session}" / "Depth" / "DepthKinect" / f"depth_{_tag(subject, session, variant)}.txt"
    return atomic_write_text(path, "\n".join(lines) + "\n")


def write_rgb_bmp(root: str | Path, subject: int, session: int, variant: str, rgb: np.ndarray) -> Path:
    import cv2

    from prnet_synth.atomic import atomic_write_bytes

    ok, buf = cv2.imencode(".bmp", np.ascontiguousarray(np.asarray(rgb, np.uint8)[..., ::-1]))
    if not ok:
        raise OSError("BMP encoding failed")
    path = Path(root) / f"{subject:04d}" / f"s{session}" / "RGB" / f"rgb_{_tag(subject, session, variant)}.bmp"
    return atomic_write_bytes(path, buf.tobytes())


def write_manual_landmarks(root: str | Path, subject: int, session: int, variant: str,
                           points: np.ndarray) -> Path:
    from prnet_synth.atomic import atomic_write_text

    lines = [f"{x:g}\t{y:g}" for x, y in np.asarray(points, np.float64)[:, :2]]
    path = (Path(root) / f"{subject:04d}" / f"s{session}" / "Mark" / "MarkRGB"
            / f"rgb_{_tag(subject, session, variant)}_Points.txt")
    return atomic_write_text(path, "\n".join(lines) + "\n")
