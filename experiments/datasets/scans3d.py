"""Readers for the 3D face data sets of Chiu et al. (002_dc34ad5f35326815.txt, IV-A) and their
identification protocols, turning each scan into pixel-aligned RGB and depth images (the paper's
use: depth for Tables I/V, RGB + DepthNet depth/mask for the recognition tables).

Formats follow ``shared/docs/datasets.md`` section 6 (several are "inferred"/"uncertain" there;
the readers are tolerant and say in their errors what they expected):

* BU-3DFE: ``F0001/F0001_NE00WH_F3D.wrl`` (VRML 2.0 IndexedFaceSet, mm) + ``_F3D.bmp`` texture
  (+ ``.bnd`` 83 landmarks). Expression code ``NE00`` = neutral; ``AN``, ``DI``, ``FE``, ``HA``,
  ``SA``, ``SU`` with intensity 1-4.
* Bosphorus: ``bs000/bs000_<Pose>_<Code>_<n>.bnt`` (binary grid of X, Y, Z, U, V) + ``.png``.
* FRGC v2: ``<subject>d<n>.abs`` (or ``.abs.gz``) ASCII range grid + ``.ppm`` texture.
* Texas 3DFR: 8-bit range PNG (larger = closer, 0.32 mm per pixel) + portrait PNG.
* Lock3DFace: 16-bit depth PNG frames (mm, 0 = hole) + colour frames or a colour video
  (``lock3dface_colour``; colour and depth are not registered, the colour frame is used on its own).

Scans become images by an orthographic z-buffer render (``prnet_synth.raster``) after an optional
yaw/pitch rotation about the scan's centroid (the pose augmentation of DepthNet's training data,
IV-A.1), in the project's depth convention.
"""
from __future__ import annotations

import gzip
import logging
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from prnet_synth.conventions import HOLE, SIZE, normalize_metric_depth
from prnet_synth.raster import interpolate_attributes, rasterize, zbuffer_to_depth

__all__ = ["Mesh", "ScanRecord", "ScanFormatError", "read_vrml", "read_bnt", "read_abs", "grid_to_mesh",
           "render_mesh", "rotation_matrix", "list_bu3dfe", "list_bosphorus", "list_frgc", "list_texas",
           "list_lock3dface", "lock3dface_colour", "load_record", "identification_protocol", "PROTOCOLS"]

log = logging.getLogger(__name__)


class ScanFormatError(ValueError):
    """A scan file does not have the expected format (the message names the file)."""


@dataclass
class Mesh:
    vertices: np.ndarray            # (N, 3) float64, mm; z larger = nearer the viewer
    triangles: np.ndarray           # (M, 3) int32
    colors: Optional[np.ndarray] = None   # (N, 3) float32 in [0, 255]


@dataclass
class ScanRecord:
    dataset: str
    subject: str
    path: Path
    variant: str                    # expression / pose / occlusion code
    session: int = 1
    texture: Optional[Path] = None
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- file formats
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def _bracket_after(text: str, key: str, path: Path, start: int = 0) -> tuple[str, int]:
    m = re.compile(re.escape(key) + r"\s*\[", re.S).search(text, start)
    if not m:
        raise ScanFormatError(f"{path}: VRML has no '{key} [' block")
    end = text.find("]", m.end())
    if end < 0:
        raise ScanFormatError(f"{path}: VRML block '{key} [' is not closed")
    return text[m.end():end], end


def read_vrml(path: str | Path) -> Mesh:
    """BU-3DFE ``*_F3D.wrl``: VRML 2.0 IndexedFaceSet (Coordinate points in mm, coordIndex polygons
    ended by -1, optional TextureCoordinate + texCoordIndex). Texture colours are sampled from the
    sibling ``.bmp`` when it exists."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise ScanFormatError(f"{path}: cannot read ({exc})") from exc
    if not text.lstrip().startswith("#VRML"):
        raise ScanFormatError(f"{path}: not a VRML file (no '#VRML' header)")
    coord_pos = text.find("Coordinate")
    if coord_pos < 0:
        raise ScanFormatError(f"{path}: VRML has no Coordinate node")
    pts_txt, _ = _bracket_after(text, "point", path, coord_pos)
    pts = np.array([float(v) for v in _NUM.findall(pts_txt)], dtype=np.float64)
    if pts.size == 0 or pts.size % 3:
        raise ScanFormatError(f"{path}: Coordinate point list has {pts.size} numbers (not a multiple of 3)")
    verts = pts.reshape(-1, 3)
    idx_txt, _ = _bracket_after(text, "coordIndex", path)
    tris = _polygons_to_triangles([int(v) for v in re.findall(r"-?\d+", idx_txt)], len(verts), path)
    colors = None
    tex_pos = text.find("TextureCoordinate")
    bmp = path.with_suffix(".bmp")
    if tex_pos >= 0 and bmp.is_file():
        uv_txt, _ = _bracket_after(text, "point", path, tex_pos)
        uv = np.array([float(v) for v in _NUM.findall(uv_txt)], dtype=np.float64).reshape(-1, 2)
        per_vertex_uv = np.zeros((len(verts), 2))
        if "texCoordIndex" in text:
            t_txt, _ = _bracket_after(text, "texCoordIndex", path)
            t_idx = [int(v) for v in re.findall(r"-?\d+", t_txt)]
            c_idx = [int(v) for v in re.findall(r"-?\d+", idx_txt)]
            for ci, ti in zip(c_idx, t_idx):
                if ci >= 0 and 0 <= ti < len(uv):
                    per_vertex_uv[ci] = uv[ti]
        elif len(uv) == len(verts):
            per_vertex_uv = uv
        colors = _sample_texture(bmp, per_vertex_uv)
    return Mesh(verts, tris, colors)


def _polygons_to_triangles(indices: list[int], n_vert: int, path: Path) -> np.ndarray:
    tris, poly = [], []
    for i in indices + [-1]:
        if i >= 0:
            if i >= n_vert:
                raise ScanFormatError(f"{path}: coordIndex {i} out of range ({n_vert} points)")
            poly.append(i)
        else:
            for k in range(1, len(poly) - 1):  # fan triangulation
                tris.append((poly[0], poly[k], poly[k + 1]))
            poly = []
    if not tris:
        raise ScanFormatError(f"{path}: no polygons in coordIndex")
    return np.asarray(tris, dtype=np.int32)


def _sample_texture(image_path: Path, uv: np.ndarray) -> np.ndarray:
    img = _read_rgb(image_path)
    h, w = img.shape[:2]
    x = np.clip(np.rint(uv[:, 0] * (w - 1)), 0, w - 1).astype(int)
    y = np.clip(np.rint((1.0 - uv[:, 1]) * (h - 1)), 0, h - 1).astype(int)  # VRML v runs upwards
    return img[y, x].astype(np.float32)


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    buf = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if img is None:
        raise ScanFormatError(f"{path}: not a readable colour image")
    return img[..., ::-1].copy()


def read_bnt(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Bosphorus ``.bnt``: returns (xyz grid (R, C, 3) in mm, valid mask (R, C)).

    Layout (little-endian): uint16 nrows, uint16 ncols, float64 zmin, uint16 L, L bytes of the
    image-file name, uint32 N (= nrows*ncols*5), N float64 stored as 5 columns (X, Y, Z, U, V) of
    nrows*ncols values each; points whose Z equals zmin are background. Row order as in the authors'
    reader: the grid is flipped upside down after reshaping.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        nrows, ncols = struct.unpack_from("<HH", data, 0)
        (zmin,) = struct.unpack_from("<d", data, 4)
        (name_len,) = struct.unpack_from("<H", data, 12)
        off = 14 + name_len
        (n,) = struct.unpack_from("<I", data, off)
        off += 4
    except struct.error as exc:
        raise ScanFormatError(f"{path}: truncated .bnt header") from exc
    if n != nrows * ncols * 5:
        raise ScanFormatError(f"{path}: .bnt says {n} values, expected nrows*ncols*5 = {nrows * ncols * 5}")
    if len(data) < off + 8 * n:
        raise ScanFormatError(f"{path}: .bnt data truncated ({len(data) - off} of {8 * n} bytes)")
    vals = np.frombuffer(data, dtype="<f8", count=n, offset=off).reshape(5, nrows * ncols)
    xyz = vals[:3].T.reshape(nrows, ncols, 3)[::-1].copy()
    valid = xyz[..., 2] != zmin
    return xyz, valid


def read_abs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """FRGC v2 ``.abs`` (or ``.abs.gz``): returns (xyz grid (R, C, 3) in mm, valid mask).

    ASCII: ``<R> rows``, ``<C> columns``, ``pixels (flag X Y Z):``, then four lines with R*C values
    each: flags (0/1), X, Y, Z; invalid points are -999999.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            lines = [ln for ln in fh.read().splitlines() if ln.strip()]
    except (OSError, EOFError) as exc:
        raise ScanFormatError(f"{path}: cannot read ({exc})") from exc
    try:
        rows = int(lines[0].split()[0])
        cols = int(lines[1].split()[0])
        arrays = [np.array(lines[3 + k].split(), dtype=np.float64) for k in range(4)]
    except (IndexError, ValueError) as exc:
        raise ScanFormatError(f"{path}: not an .abs range file (expected '<R> rows', '<C> columns', "
                              f"a header line and 4 data lines)") from exc
    for name, arr in zip(("flag", "X", "Y", "Z"), arrays):
        if arr.size != rows * cols:
            raise ScanFormatError(f"{path}: {name} line has {arr.size} values, expected {rows}x{cols}")
    flag, x, y, z = (a.reshape(rows, cols) for a in arrays)
    valid = (flag > 0) & (z > -999998)
    return np.stack([x, y, z], axis=-1), valid


def grid_to_mesh(xyz: np.ndarray, valid: np.ndarray, colors: Optional[np.ndarray] = None) -> Mesh:
    """Triangulate a range grid: two triangles per 2x2 cell whose corners are all valid."""
    r, c = valid.shape
    idx = np.arange(r * c).reshape(r, c)
    a, b, d, e = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    ok = valid[:-1, :-1] & valid[:-1, 1:] & valid[1:, :-1] & valid[1:, 1:]
    tris = np.concatenate([np.stack([a[ok], d[ok], b[ok]], 1), np.stack([b[ok], d[ok], e[ok]], 1)]).astype(np.int32)
    cols = None if colors is None else colors.reshape(-1, 3).astype(np.float32)
    return Mesh(xyz.reshape(-1, 3).astype(np.float64), tris, cols)


# ----------------------------------------------------------------------------- rendering
def rotation_matrix(yaw_deg: float = 0.0, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """R = Rz(roll) @ Rx(pitch) @ Ry(yaw), for points with x right, y up, z towards the viewer."""
    y, p, r = np.deg2rad([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


def render_mesh(mesh: Mesh, size: int = SIZE, yaw: float = 0.0, pitch: float = 0.0,
                mm_per_pixel: Optional[float] = None, margin: float = 0.08) -> dict:
    """Orthographic render of a scan mesh (x right, y up, z towards the viewer, mm).

    The mesh is rotated about its centroid by (yaw, pitch), centred, and scaled so that its
    frontal extent fits the image with ``margin`` (or at ``mm_per_pixel``). Returns ``depth``
    (uint16, project convention, nearest point = 0, 250 mm range), ``rgb`` (uint8, zeros where
    no texture), ``valid`` (bool) and ``mm_per_pixel``.
    """
    v = np.asarray(mesh.vertices, np.float64)
    if len(v) == 0 or len(mesh.triangles) == 0:
        raise ValueError("render_mesh: empty mesh")
    centre = v.mean(axis=0)
    rv = (v - centre) @ rotation_matrix(yaw, pitch).T
    if mm_per_pixel is None:
        extent = max(np.ptp(v[:, 0]), np.ptp(v[:, 1]), 1e-6)
        mm_per_pixel = extent / (size * (1.0 - 2.0 * margin))
    px = np.empty_like(rv)
    px[:, 0] = rv[:, 0] / mm_per_pixel + (size - 1) / 2.0
    px[:, 1] = -rv[:, 1] / mm_per_pixel + (size - 1) / 2.0   # image rows grow downwards
    px[:, 2] = rv[:, 2]
    zbuf, tri = rasterize(px, mesh.triangles, size, size, mode="barycentric")
    valid = tri >= 0
    depth = zbuffer_to_depth(zbuf, 1.0)
    rgb = np.zeros((size, size, 3), np.uint8)
    if mesh.colors is not None:
        col = interpolate_attributes(px, mesh.triangles, tri, mesh.colors.astype(np.float32))
        rgb[valid] = np.clip(np.rint(col[valid]), 0, 255).astype(np.uint8)
    return {"depth": depth, "rgb": rgb, "valid": valid, "mm_per_pixel": float(mm_per_pixel)}


# ----------------------------------------------------------------------------- data-set listings
_BU_RE = re.compile(r"^(?P<subj>[FM]\d{4})_(?P<expr>[A-Z]{2})(?P<lvl>\d{2})(?P<race>[A-Z]{2})_F3D$")


def _require_dir(root: Path, what: str) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: {what} folder not found")
    return root


def list_bu3dfe(root: str | Path) -> list[ScanRecord]:
    root = _require_dir(root, "BU-3DFE")
    recs = []
    for wrl in sorted(root.glob("*/*_F3D.wrl")):
        m = _BU_RE.match(wrl.stem)
        if not m:
            log.warning("%s: unexpected BU-3DFE file name, skipped", wrl)
            continue
        code = m["expr"] + m["lvl"]
        bmp = wrl.with_suffix(".bmp")
        recs.append(ScanRecord("BU-3DFE", m["subj"], wrl, code, texture=bmp if bmp.is_file() else None,
                               meta={"expression": m["expr"], "level": int(m["lvl"]), "race": m["race"]}))
    return recs


def list_bosphorus(root: str | Path) -> list[ScanRecord]:
    root = _require_dir(root, "Bosphorus")
    recs = []
    for bnt in sorted(root.glob("bs*/bs*.bnt")):
        parts = bnt.stem.split("_")
        if len(parts) < 4:
            log.warning("%s: unexpected Bosphorus file name, skipped", bnt)
            continue
        png = bnt.with_suffix(".png")
        recs.append(ScanRecord("Bosphorus", parts[0], bnt, f"{parts[1]}_{parts[2]}",
                               texture=png if png.is_file() else None,
                               meta={"pose": parts[1], "code": parts[2], "index": int(parts[3])}))
    return recs


_FRGC_RE = re.compile(r"^(?P<subj>\d{5})d(?P<n>\d+)$")


def list_frgc(root: str | Path, neutral: Optional[Iterable[str]] = None) -> list[ScanRecord]:
    """FRGC v2 range files; ``neutral`` optionally lists the stems known to be neutral (FRGC's
    metadata spreadsheet), otherwise every subject's first scan is taken as neutral."""
    root = _require_dir(root, "FRGC v2")
    neutral = set(neutral or [])
    recs = []
    for f in sorted(list(root.rglob("*.abs")) + list(root.rglob("*.abs.gz"))):
        stem = f.name.split(".")[0]
        m = _FRGC_RE.match(stem)
        if not m:
            log.warning("%s: unexpected FRGC file name, skipped", f)
            continue
        ppm = f.parent / f"{stem}.ppm"
        recs.append(ScanRecord("FRGCv2", m["subj"], f, "neutral" if stem in neutral else "unknown",
                               texture=ppm if ppm.is_file() else None, meta={"index": int(m["n"])}))
    return recs


def list_texas(root: str | Path) -> list[ScanRecord]:
    """Texas 3DFR: range PNGs named ``<...>_Range.png`` (or in a Range folder) with portraits
    ``<...>_Portrait.png``; the subject id is the first ``_`` field (naming uncertain: see docs)."""
    root = _require_dir(root, "Texas 3DFR")
    recs = []
    for f in sorted(root.rglob("*.png")):
        if "range" not in f.name.lower() and f.parent.name.lower() != "range":
            continue
        # only the file name and its own folder name change (never the folders above: any of them
        # may contain the word "range")
        swap = lambda t: t.replace("Range", "Portrait").replace("range", "portrait").replace("RANGE", "PORTRAIT")  # noqa: E731
        portrait = f.parent.parent / swap(f.parent.name) / swap(f.name)
        recs.append(ScanRecord("Texas", f.stem.split("_")[0], f, "frontal",
                               texture=portrait if portrait.is_file() and portrait != f else None))
    return recs


def list_lock3dface(root: str | Path) -> list[ScanRecord]:
    """Lock3DFace depth frames: ``<session>/<subset>/<subject>/.../*.png`` 16-bit (layout varies
    between copies: session ``S1``/``session1``, subset in {neutral, expression, pose, occlusion};
    session 2 holds the time-lapse subset). A frame's path must contain ``depth`` (folder or file
    name). Its colour frame (``texture``) is found by ``lock3dface_colour``."""
    root = _require_dir(root, "Lock3DFace")
    recs = []
    for f in sorted(root.rglob("*.png")):
        parts = [p.lower() for p in f.relative_to(root).parts]
        sess = 2 if any(p in ("s2", "session2", "session_2") for p in parts) else 1
        subset = next((p for p in parts if p in ("neutral", "expression", "pose", "occlusion")), "unknown")
        subj = next((p for p in f.relative_to(root).parts[:-1] if re.fullmatch(r"\d{3,}", p)), None)
        if subj is None or "depth" not in "/".join(parts):
            continue
        recs.append(ScanRecord("Lock3DFace", subj, f, subset, session=sess, texture=lock3dface_colour(f, root)))
    return recs


_COLOUR_WORDS = ("color", "colour", "rgb")
_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp")
_VIDEO_EXTS = (".avi", ".mp4", ".mkv")


def _swap_depth_word(text: str, word: str) -> str:
    """Replace every ``depth`` (any case) by ``word`` written in the same case pattern."""
    def repl(m):
        d = m.group(0)
        if d.isupper():
            return word.upper()
        if d[0].isupper():
            return word.capitalize()
        return word
    return re.sub("depth", repl, text, flags=re.I)


def lock3dface_colour(depth_path: Path, root: Optional[Path] = None) -> Optional[Path]:
    """The colour stream of a Lock3DFace depth frame (layout inferred, see ``shared/docs/datasets.md``
    s. 6: "colour as video/frames"): a frame at the depth frame's path with every ``depth`` in the
    folder and file names replaced by ``color``, ``colour`` or ``rgb`` (same case pattern) and an
    image extension; else a colour video (``*color*``/``*colour*``/``*rgb*`` + .avi/.mp4/.mkv) in the
    frame's folder or the one above (then the frame is picked by ``load_record``). None if neither.
    Only names below ``root`` (the data set's folder) change, never the folders above it."""
    depth_path = Path(depth_path)
    anchor = Path(root) if root is not None else Path(depth_path.anchor)
    parts = depth_path.relative_to(anchor).parts
    for word in _COLOUR_WORDS:
        swapped = anchor.joinpath(*[_swap_depth_word(p, word) for p in parts])
        if swapped == depth_path:
            continue
        for ext in _IMAGE_EXTS + tuple(e.upper() for e in _IMAGE_EXTS):
            cand = swapped.with_suffix(ext)
            if cand.is_file():
                return cand
    for folder in (depth_path.parent, depth_path.parent.parent):
        for f in sorted(folder.iterdir()) if folder.is_dir() else []:
            if f.suffix.lower() in _VIDEO_EXTS and any(w in f.stem.lower() for w in _COLOUR_WORDS):
                return f
    return None


def _square_resize(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return cv2.resize(img[y0:y0 + s, x0:x0 + s], (size, size), interpolation=cv2.INTER_AREA)


def _lock3dface_rgb(rec: ScanRecord, size: int) -> np.ndarray:
    import cv2

    if rec.texture is None:
        raise ScanFormatError(f"{rec.path}: no colour frame found (looked for the path with 'depth' replaced by "
                              f"{'/'.join(_COLOUR_WORDS)} and an image extension, or a colour video beside it)")
    if rec.texture.suffix.lower() in _VIDEO_EXTS:
        frames = sorted(p for p in rec.path.parent.glob("*.png"))
        index = frames.index(rec.path) if rec.path in frames else 0
        cap = cv2.VideoCapture(str(rec.texture))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, bgr = cap.read()
        finally:
            cap.release()
        if not ok or bgr is None:
            raise ScanFormatError(f"{rec.texture}: colour video has no frame {index} (for {rec.path.name})")
        rgb = bgr[..., ::-1].copy()
    else:
        rgb = _read_rgb(rec.texture)
    # Kinect v2 colour (1920x1080) and depth (512x424) are not registered: the colour frame is used on
    # its own (the recognizer takes RGB; D* and M* come from DepthNet), centre-cropped to a square
    return _square_resize(rgb, size)


def load_record(rec: ScanRecord, size: int = SIZE, yaw: float = 0.0, pitch: float = 0.0,
                texas_mm_per_level: float = 1.0) -> dict:
    """Read one scan as pixel-aligned ``depth`` (uint16, project convention) and ``rgb`` (uint8).

    Texas range PNGs store 8-bit depth (larger = closer) whose step in mm is not documented in
    our sources: ``texas_mm_per_level`` (default 1 mm per grey level) is an assumption.
    """
    import cv2

    if rec.dataset == "BU-3DFE":
        return render_mesh(read_vrml(rec.path), size, yaw, pitch)
    if rec.dataset in ("Bosphorus", "FRGCv2"):
        xyz, valid = read_bnt(rec.path) if rec.dataset == "Bosphorus" else read_abs(rec.path)
        colors = None
        if rec.texture is not None:
            tex = _read_rgb(rec.texture)
            if tex.shape[:2] != valid.shape:
                tex = cv2.resize(tex, (valid.shape[1], valid.shape[0]), interpolation=cv2.INTER_AREA)
            colors = tex.astype(np.float32)
        return render_mesh(grid_to_mesh(xyz, valid, colors), size, yaw, pitch)
    if rec.dataset == "Texas":
        rng = cv2.imdecode(np.fromfile(str(rec.path), np.uint8), cv2.IMREAD_UNCHANGED)
        if rng is None or rng.ndim != 2:
            raise ScanFormatError(f"{rec.path}: expected a single-channel range PNG")
        z_mm = np.where(rng > 0, (255.0 - rng.astype(np.float64)) * texas_mm_per_level, 0.0)
        z_mm = cv2.resize(z_mm, (size, size), interpolation=cv2.INTER_NEAREST)
        valid = cv2.resize((rng > 0).astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        depth = normalize_metric_depth(z_mm + 1.0, valid)
        rgb = np.zeros((size, size, 3), np.uint8)
        if rec.texture is not None:
            rgb = cv2.resize(_read_rgb(rec.texture), (size, size), interpolation=cv2.INTER_AREA)
        return {"depth": depth, "rgb": rgb, "valid": depth != HOLE}
    if rec.dataset == "Lock3DFace":
        d = cv2.imdecode(np.fromfile(str(rec.path), np.uint8), cv2.IMREAD_UNCHANGED)
        if d is None or d.dtype != np.uint16 or d.ndim != 2:
            raise ScanFormatError(f"{rec.path}: expected a 16-bit single-channel depth PNG")
        d = cv2.resize(d, (size, size), interpolation=cv2.INTER_NEAREST)
        depth = normalize_metric_depth(d.astype(np.float64), d > 0)
        return {"depth": depth, "rgb": _lock3dface_rgb(rec, size), "valid": depth != HOLE}
    raise ValueError(f"unknown data set {rec.dataset!r}")


# ----------------------------------------------------------------------------- protocols (IV-A.2)
def _first_per_subject(recs, pred):
    gallery = {}
    for i, r in enumerate(recs):
        if pred(r) and r.subject not in gallery:
            gallery[r.subject] = i
    return gallery


def identification_protocol(recs: list[ScanRecord], name: str) -> dict[str, list[int]]:
    """Gallery and probe index lists for the paper's protocols.

    ``BU-3DFE``: neutral scan per subject in the gallery, every other scan a probe (100 / 2,400).
    ``Texas``: first image per subject / the rest. ``Bosphorus-1``: first neutral per subject /
    the expression scans (pose codes ``N``, ``E``, ``LFAU``, ``UFAU``, ``CAU``: 2,797 in the paper).
    ``Bosphorus-2``: first neutral / all remaining. ``FRGCv2``: first neutral per subject / the rest.
    ``Lock3DFace``: first neutral of session 1 / probe sets 1-4 (expression, pose, occlusion in S1;
    everything in S2).
    """
    out: dict[str, list[int]] = {}
    if name in ("BU-3DFE", "Texas", "FRGCv2", "Bosphorus-1", "Bosphorus-2"):
        if name == "BU-3DFE":
            neutral = lambda r: r.variant.startswith("NE")  # noqa: E731
        elif name == "FRGCv2":
            neutral = lambda r: r.variant in ("neutral", "unknown")  # noqa: E731
        elif name.startswith("Bosphorus"):
            neutral = lambda r: r.meta.get("pose") == "N" and r.meta.get("code") == "N"  # noqa: E731
        else:
            neutral = lambda r: True  # noqa: E731
        gallery = _first_per_subject(recs, neutral)
        g_idx = set(gallery.values())
        probes = [i for i, r in enumerate(recs) if i not in g_idx and r.subject in gallery]
        if name == "Bosphorus-1":
            probes = [i for i in probes if recs[i].meta.get("pose") in ("N", "E", "LFAU", "UFAU", "CAU")]
        out["gallery"] = sorted(g_idx)
        out["probe"] = probes
        return out
    if name == "Lock3DFace":
        gallery = _first_per_subject(recs, lambda r: r.session == 1 and r.variant == "neutral")
        g_idx = set(gallery.values())
        out["gallery"] = sorted(g_idx)
        for k, subset in enumerate(("expression", "pose", "occlusion"), start=1):
            out[f"probe_set_{k}"] = [i for i, r in enumerate(recs)
                                     if r.session == 1 and r.variant == subset and r.subject in gallery]
        out["probe_set_4"] = [i for i, r in enumerate(recs) if r.session == 2 and r.subject in gallery]
        return out
    raise ValueError(f"unknown protocol {name!r}; choose from {PROTOCOLS}")


PROTOCOLS = ("BU-3DFE", "Texas", "Bosphorus-1", "Bosphorus-2", "FRGCv2", "Lock3DFace")
