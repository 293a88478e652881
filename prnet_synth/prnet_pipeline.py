"""The PRNet pipeline around the network: face crop, position map, mesh, 256x256 depth image.

Follows the official ``api.py`` (``PRN.process``, ``get_vertices``, ``get_landmarks``) and
``utils/render_app.py`` ``get_depth_image`` (see ``shared/docs/prnet.md``):

1. Face square from a bounding box ``[left, right, top, bottom]`` or from landmarks (min/max of
   x and y): ``old_size = (right - left + bottom - top) / 2``, centre = box centre,
   ``size = int(old_size * 1.6)``; from dlib's CNN detector: centre y shifted down by
   ``0.14 * old_size`` and ``size = int(old_size * 1.58)``.
2. Similarity transform mapping the square onto the 256x256 crop (corners (0,0), (0,255), (255,0)),
   image / 255, ``skimage.transform.warp`` (bilinear, 0 outside).
3. Network output * 281.6 = the position map in crop pixels (x = column, y = row, z larger = nearer).
4. Vertices = position map pixels at ``face_ind``; 68 landmarks at ``uv_kpt_ind``; triangles from
   ``triangles.txt``.
5. Depth image: the mesh rendered in the 256x256 crop frame with the shared z-buffer
   (``prnet_synth.raster``, flat = official per-triangle mean depth, or barycentric), converted to
   the project's uint16 convention (nearest = 0, 250 mm range, background = 65535) with a scale
   of millimetres per PRNet unit; by default from the face's own eye distance (see
   ``mm_per_unit_from_landmarks``).

PRNet's data files are read from the user's PRNet folder (the repository root or its
``Data/uv-data``); the project never ships them.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from . import raster
from .prnet import INPUT_SIZE, MAX_POS

__all__ = [
    "PRNetData", "load_prnet_data", "grid_triangles", "NoFaceError",
    "square_from_box", "square_from_landmarks", "square_from_cnn_rect", "crop_transform", "crop_image",
    "vertices_from_posmap", "landmarks_from_posmap", "posmap_to_image_frame",
    "EYE_DISTANCE_MM", "eye_distance", "mm_per_unit_from_landmarks", "render_depth",
    "detect_square", "CROP_MODES", "PRNetPipeline", "MeshResult",
]

RESOLUTION = 256  # position map size (resolution_op)
EYE_DISTANCE_MM = 63.0  # decided: mean adult inter-pupillary distance (see docs/notes/30_prnet.md)
CROP_MODES = ("landmarks", "cnn", "image")


class NoFaceError(RuntimeError):
    """No face was found in an image."""


# ----------------------------------------------------------------------------- data files
@dataclass(frozen=True)
class PRNetData:
    """PRNet's UV data: vertex gather indices, mesh triangles and the 68 landmark UV positions."""

    face_ind: np.ndarray      # (N,) int64 flat indices row*256 + col into the position map
    triangles: np.ndarray     # (T, 3) int64 vertex indices
    uv_kpt_ind: np.ndarray    # (2, 68) int64: row 0 = UV column (x), row 1 = UV row (y)
    source: str = ""
    triangles_source: str = "triangles.txt"
    extra: dict = field(default_factory=dict)

    @property
    def n_vertices(self) -> int:
        return int(self.face_ind.shape[0])


def _uv_dir(folder: Path) -> Path:
    for cand in (folder, folder / "Data" / "uv-data", folder / "uv-data"):
        if (cand / "face_ind.txt").is_file():
            return cand
    raise FileNotFoundError(
        f"{folder}: PRNet data files not found (looked for face_ind.txt in {folder}, "
        f"{folder / 'Data' / 'uv-data'}); pass the PRNet repository folder or its Data/uv-data folder")


def _load_int_txt(path: Path, shape_desc: str, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: PRNet data file missing ({shape_desc})")
    try:
        arr = np.loadtxt(path, dtype=np.float64, ndmin=ndim)
    except ValueError as exc:
        raise ValueError(f"{path}: not a PRNet data file of numbers ({shape_desc}): {exc}") from exc
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)) or (arr.size and arr.min() < 0):
        raise ValueError(f"{path}: expected non-negative integer values ({shape_desc})")
    return arr.astype(np.int64)  # official: np.loadtxt(...).astype(np.int32)


def grid_triangles(face_ind: np.ndarray, resolution: int = RESOLUTION) -> np.ndarray:
    """A regular-grid triangulation of the UV face pixels (stand-in for ``triangles.txt``).

    Each 2x2 pixel cell a=(r,c), b=(r,c+1), c=(r+1,c), d=(r+1,c+1) gives the triangles (a, c, b)
    and (b, c, d) when all three corners are face pixels. Not identical to PRNet's file (86,907
    instead of 86,906 triangles for the official ``face_ind``; see shared/docs/prnet.md): use it
    only where the original file is unavailable, and never mix side-length statistics of the two.
    """
    face_ind = np.asarray(face_ind, dtype=np.int64)
    idx = np.full(resolution * resolution, -1, dtype=np.int64)
    idx[face_ind] = np.arange(face_ind.shape[0])
    idx = idx.reshape(resolution, resolution)
    a = idx[:-1, :-1].ravel()
    b = idx[:-1, 1:].ravel()
    c = idx[1:, :-1].ravel()
    d = idx[1:, 1:].ravel()
    t1 = np.stack([a, c, b], axis=1)
    t2 = np.stack([b, c, d], axis=1)
    # interleave so that the two triangles of a cell are adjacent, cells in raster order
    tris = np.stack([t1, t2], axis=1).reshape(-1, 3)
    return tris[np.all(tris >= 0, axis=1)]


def load_prnet_data(folder: str | os.PathLike, triangles: str = "file") -> PRNetData:
    """Read ``face_ind.txt``, ``triangles.txt`` and ``uv_kpt_ind.txt`` from the user's PRNet folder.

    ``triangles="file"`` (default) requires PRNet's ``triangles.txt``; ``"grid"`` regenerates a grid
    triangulation from ``face_ind`` instead (``grid_triangles``; not identical to the original).
    """
    folder = Path(folder)
    uv = _uv_dir(folder)
    face_ind = _load_int_txt(uv / "face_ind.txt", "one flat position-map index per line", 1).ravel()
    if face_ind.size == 0 or face_ind.max() >= RESOLUTION * RESOLUTION:
        raise ValueError(f"{uv / 'face_ind.txt'}: indices must lie in [0, {RESOLUTION ** 2 - 1}]")
    kpt = _load_int_txt(uv / "uv_kpt_ind.txt", "2 rows of 68 UV coordinates", 2)
    if kpt.shape != (2, 68) or kpt.max() >= RESOLUTION:
        raise ValueError(f"{uv / 'uv_kpt_ind.txt'}: expected 2 x 68 UV coordinates in [0, 255], got {kpt.shape}")
    if triangles == "file":
        tri = _load_int_txt(uv / "triangles.txt", "T x 3 vertex indices; get it from the PRNet repository "
                            "Data/uv-data/triangles.txt, or use the grid triangulation option", 2)
        if tri.ndim != 2 or tri.shape[1] != 3 or tri.max() >= face_ind.size:
            raise ValueError(f"{uv / 'triangles.txt'}: expected T x 3 vertex indices below {face_ind.size}, "
                             f"got shape {tri.shape}")
        src = str(uv / "triangles.txt")
    elif triangles == "grid":
        tri = grid_triangles(face_ind)
        src = "grid"
    else:
        raise ValueError(f"triangles must be 'file' or 'grid', got {triangles!r}")
    return PRNetData(face_ind=face_ind, triangles=tri, uv_kpt_ind=kpt, source=str(uv), triangles_source=src)


# ----------------------------------------------------------------------------- crop
def square_from_box(left: float, right: float, top: float, bottom: float) -> tuple[np.ndarray, int]:
    """PRNet's face square from a box: (centre (x, y), size) with size = int(mean side * 1.6)."""
    old_size = (right - left + bottom - top) / 2.0
    center = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0])
    return center, int(old_size * 1.6)


def square_from_landmarks(kpt: np.ndarray) -> tuple[np.ndarray, int]:
    """PRNet's face square from landmarks (K, 2+) via their bounding box (factor 1.6)."""
    k = np.asarray(kpt, dtype=np.float64)
    if k.ndim != 2 or k.shape[1] < 2 or k.shape[0] < 2:
        raise ValueError(f"landmarks must be a (K, 2) array, got shape {k.shape}")
    return square_from_box(k[:, 0].min(), k[:, 0].max(), k[:, 1].min(), k[:, 1].max())


def square_from_cnn_rect(left: float, top: float, right: float, bottom: float) -> tuple[np.ndarray, int]:
    """PRNet's face square from a dlib CNN detection: centre y + 0.14 * size, size = int(mean side * 1.58)."""
    old_size = (right - left + bottom - top) / 2.0
    center = np.array([right - (right - left) / 2.0, bottom - (bottom - top) / 2.0 + old_size * 0.14])
    return center, int(old_size * 1.58)


def crop_transform(center, size: int, out: int = INPUT_SIZE) -> np.ndarray:
    """3x3 similarity matrix mapping the square (centre, size) onto the out x out crop.

    Equal to ``skimage.transform.estimate_transform('similarity', src, dst)`` with the official
    corner points (the fit is exact: a scale of (out - 1) / size plus a translation).
    """
    if size <= 0:
        raise ValueError(f"face square size must be positive, got {size}")
    cx, cy = float(center[0]), float(center[1])
    s = (out - 1) / float(size)
    return np.array([[s, 0.0, -s * (cx - size / 2.0)],
                     [0.0, s, -s * (cy - size / 2.0)],
                     [0.0, 0.0, 1.0]])


def _as_rgb(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    elif img.ndim == 3 and img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected a gray or RGB image, got shape {img.shape}")
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image (0..255), got {img.dtype}")
    return img


def crop_image(image: np.ndarray, tform: np.ndarray, out: int = INPUT_SIZE) -> np.ndarray:
    """The float32 out x out x 3 network input in [0, 1]: image / 255 warped by ``tform``
    (``skimage.transform.warp``: bilinear, constant 0 outside), as in the official code."""
    from skimage.transform import ProjectiveTransform, warp

    img = _as_rgb(image).astype(np.float64) / 255.0
    inverse = ProjectiveTransform(matrix=np.linalg.inv(tform))
    return warp(img, inverse, output_shape=(out, out)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _cnn_detector():
    import dlib

    from .landmarks import predictor_model_path

    path = predictor_model_path().parent / "mmod_human_face_detector.dat"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dlib's CNN face detector (face-recognition-models) is missing")
    return dlib.cnn_face_detection_model_v1(str(path))


def detect_square(image: np.ndarray, mode: str = "landmarks") -> tuple[np.ndarray, int, dict]:
    """The face square of an image: (centre, size, info).

    ``mode``: ``"landmarks"`` dlib HOG detection (upsample 1, best score) + 68 landmarks
    (``prnet_synth.landmarks``) and PRNet's landmark rule; ``"cnn"`` PRNet's default: dlib's CNN
    detector (``mmod_human_face_detector.dat``, upsample 1, first face) with its rule (slow on
    CPU); ``"image"`` the whole image as the box (PRNet's rule for non-square inputs without dlib).
    Raises ``NoFaceError`` when no face is found.
    """
    img = _as_rgb(image)
    h, w = img.shape[:2]
    if mode == "image":
        c, s = square_from_box(0, w - 1, 0, h - 1)
        return c, s, {"crop": "image"}
    if mode == "landmarks":
        from . import landmarks

        boxes = landmarks.detect_faces(img, upsample=1)
        if not boxes:
            raise NoFaceError("dlib found no face")
        kpt = landmarks.landmarks68(img, boxes[0])
        c, s = square_from_landmarks(kpt)
        return c, s, {"crop": "landmarks", "box": list(boxes[0][:4]), "score": boxes[0].score}
    if mode == "cnn":
        dets = _cnn_detector()(img, 1)
        if len(dets) == 0:
            raise NoFaceError("dlib CNN detector found no face")
        r = dets[0].rect
        c, s = square_from_cnn_rect(r.left(), r.top(), r.right(), r.bottom())
        return c, s, {"crop": "cnn", "box": [r.left(), r.top(), r.right(), r.bottom()],
                      "score": float(dets[0].confidence)}
    raise ValueError(f"crop mode must be one of {CROP_MODES}, got {mode!r}")


# ----------------------------------------------------------------------------- position map
def _check_pos(pos: np.ndarray) -> np.ndarray:
    p = np.asarray(pos)
    if p.shape != (RESOLUTION, RESOLUTION, 3):
        raise ValueError(f"position map must be {RESOLUTION}x{RESOLUTION}x3, got {p.shape}")
    return p


def vertices_from_posmap(pos: np.ndarray, data: PRNetData) -> np.ndarray:
    """``get_vertices``: position-map pixels at ``face_ind`` -> (N, 3) vertices (x, y, z)."""
    return _check_pos(pos).reshape(RESOLUTION * RESOLUTION, 3)[data.face_ind]


def landmarks_from_posmap(pos: np.ndarray, data: PRNetData) -> np.ndarray:
    """``get_landmarks``: the 68 (x, y, z) landmarks at ``pos[uv_kpt_ind[1], uv_kpt_ind[0]]``."""
    return _check_pos(pos)[data.uv_kpt_ind[1], data.uv_kpt_ind[0], :]


def posmap_to_image_frame(pos: np.ndarray, tform: np.ndarray) -> np.ndarray:
    """Crop-frame position map -> original image frame (``process``): x, y through inv(T), z / T[0,0]."""
    p = np.asarray(pos, dtype=np.float64)
    flat = p.reshape(-1, 3).T.copy()
    z = flat[2] / tform[0, 0]
    flat[2] = 1.0
    xy = np.linalg.inv(tform) @ flat
    return np.vstack([xy[:2], z]).T.reshape(p.shape)


# ----------------------------------------------------------------------------- depth
def eye_distance(kpt68: np.ndarray) -> float:
    """3D distance between the eye centres (means of dlib points 36-41 and 42-47) of 68 landmarks."""
    k = np.asarray(kpt68, dtype=np.float64)
    if k.shape[0] != 68 or k.ndim != 2 or k.shape[1] < 3:
        raise ValueError(f"expected 68 x 3 landmarks, got shape {k.shape}")
    right = k[36:42, :3].mean(axis=0)
    left = k[42:48, :3].mean(axis=0)
    return float(np.linalg.norm(left - right))


def mm_per_unit_from_landmarks(kpt68: np.ndarray, eye_distance_mm: float = EYE_DISTANCE_MM) -> float:
    """Millimetres per PRNet unit (crop pixel; PRNet's x, y, z share one scale) such that the
    face's eye-centre distance is ``eye_distance_mm`` (default 63 mm)."""
    d = eye_distance(kpt68)
    if not (d > 1e-6 and np.isfinite(d)):
        raise ValueError(f"eye distance of the mesh is {d}: cannot derive a depth scale")
    return float(eye_distance_mm) / d


def render_depth(vertices: np.ndarray, triangles: np.ndarray, mm_per_unit: float, mode: str = "flat",
                 size: int = RESOLUTION) -> np.ndarray:
    """Mesh (x = column, y = row, z larger = nearer) -> size x size uint16 depth image.

    The shared z-buffer (``prnet_synth.raster``; ``mode="flat"`` = official PRNet per-triangle
    mean depth, nearest wins; ``"barycentric"`` = interpolated), then nearest covered pixel = 0,
    ``mm_per_unit`` * 65535 / 250 uint16 units per PRNet unit behind it, empty = 65535.
    A mesh that covers no pixel raises ValueError.
    """
    zbuf, _ = raster.rasterize(vertices, triangles, size, size, mode=mode)
    if not np.isfinite(zbuf).any():
        raise ValueError(f"the mesh covers no pixel of the {size}x{size} frame (degenerate PRNet output)")
    return raster.zbuffer_to_depth(zbuf, mm_per_unit)


# ----------------------------------------------------------------------------- pipeline
@dataclass
class MeshResult:
    """What the pipeline produced for one image (all geometry in the 256x256 crop frame)."""

    vertices: np.ndarray       # (N, 3) float32
    triangles: np.ndarray      # (T, 3) int64
    landmarks: np.ndarray      # (68, 3) float32
    tform: np.ndarray          # 3x3 crop similarity (image -> crop)
    info: dict


class PRNetPipeline:
    """Image -> PRNet mesh -> depth image.

    ``prnet_dir``: the user's PRNet folder (repository root or ``Data/uv-data``) with the data files;
    ``weights``: the checkpoint prefix (default ``<prnet_dir>/Data/net-data/256_256_resfcn256_weight``);
    ``model``: an already built/loaded network instead of ``weights`` (tests).
    """

    def __init__(self, prnet_dir: str | os.PathLike, weights: Optional[str | os.PathLike] = None, *,
                 model=None, data: Optional[PRNetData] = None, triangles: str = "file",
                 crop: str = "landmarks", render_mode: str = "flat",
                 mm_per_unit: Optional[float] = None, eye_distance_mm: float = EYE_DISTANCE_MM):
        if crop not in CROP_MODES:
            raise ValueError(f"crop must be one of {CROP_MODES}, got {crop!r}")
        if render_mode not in raster.MODES:
            raise ValueError(f"render_mode must be one of {raster.MODES}, got {render_mode!r}")
        self.data = data if data is not None else load_prnet_data(prnet_dir, triangles=triangles)
        if model is None:
            from .prnet import build_prnet, load_official_checkpoint

            if weights is None:
                weights = Path(prnet_dir) / "Data" / "net-data" / "256_256_resfcn256_weight"
            model = build_prnet()
            load_official_checkpoint(model, weights)
        self.model = model
        self.crop = crop
        self.render_mode = render_mode
        self.mm_per_unit = mm_per_unit
        self.eye_distance_mm = eye_distance_mm
        self._forward = None

    def posmap(self, cropped: np.ndarray) -> np.ndarray:
        """Network forward on (256, 256, 3) or (B, 256, 256, 3) crops in [0, 1] -> position maps * 281.6."""
        import tensorflow as tf

        x = np.asarray(cropped, dtype=np.float32)
        single = x.ndim == 3
        if single:
            x = x[None]
        if self._forward is None:
            model = self.model
            self._forward = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
        out = self._forward(tf.constant(x)).numpy().astype(np.float32) * np.float32(MAX_POS)
        return out[0] if single else out

    def crop_input(self, image: np.ndarray, box: Optional[Sequence[float]] = None,
                   landmarks: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """(cropped input, tform, info) for an RGB/gray uint8 image. ``box`` is
        ``[left, right, top, bottom]`` (PRNet's order); ``landmarks`` (K, 2); otherwise ``self.crop``."""
        img = _as_rgb(image)
        if box is not None:
            if len(box) != 4:
                raise ValueError(f"box must be [left, right, top, bottom], got {box!r}")
            center, size = square_from_box(*[float(v) for v in box])
            info = {"crop": "box", "box": [float(v) for v in box]}
        elif landmarks is not None:
            center, size = square_from_landmarks(landmarks)
            info = {"crop": "given_landmarks"}
        else:
            center, size, info = detect_square(img, self.crop)
        tform = crop_transform(center, size)
        info.update(center=[float(center[0]), float(center[1])], size=int(size))
        return crop_image(img, tform), tform, info

    def mesh(self, image: np.ndarray, box=None, landmarks=None) -> MeshResult:
        """Run the pipeline up to the mesh (crop frame). Raises ``NoFaceError`` without a face."""
        cropped, tform, info = self.crop_input(image, box=box, landmarks=landmarks)
        pos = self.posmap(cropped)
        return self.mesh_from_posmap(pos, tform, info)

    def mesh_from_posmap(self, pos: np.ndarray, tform=None, info=None) -> MeshResult:
        verts = vertices_from_posmap(pos, self.data).astype(np.float32)
        kpt = landmarks_from_posmap(pos, self.data).astype(np.float32)
        return MeshResult(verts, self.data.triangles, kpt, np.eye(3) if tform is None else tform, dict(info or {}))

    def depth_scale(self, mesh: MeshResult) -> float:
        """mm per PRNet unit: the fixed ``mm_per_unit`` if given, else from the eye distance."""
        if self.mm_per_unit is not None:
            return float(self.mm_per_unit)
        return mm_per_unit_from_landmarks(mesh.landmarks, self.eye_distance_mm)

    def depth(self, mesh: MeshResult) -> np.ndarray:
        """The 256x256 uint16 ground-truth depth image of a mesh (crop frame)."""
        return render_depth(mesh.vertices, mesh.triangles, self.depth_scale(mesh), mode=self.render_mode)

    def process(self, image: np.ndarray, box=None, landmarks=None) -> tuple[np.ndarray, MeshResult]:
        """Image -> (depth uint16 256x256, mesh)."""
        m = self.mesh(image, box=box, landmarks=landmarks)
        return self.depth(m), m
