"""dlib face detection and the 68-point landmark predictor (from ``face-recognition-models``).

Shared by the PRNet pipeline, the synthetic-face realism checks, the experiments (face masks
from landmarks, IV-E/IV-G) and the PAD program. The models are loaded once per process.
Landmarks are returned as float32 (68, 2) arrays of (x, y) pixel positions in dlib's order
(0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth); point 30 is the nose tip and
point 8 the chin ("landmark 9" in the 1-based numbering of the paper).
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import numpy as np

__all__ = ["FaceBox", "detector", "predictor", "detect_faces", "landmarks68", "detect_landmarks",
           "JAW", "RIGHT_BROW", "LEFT_BROW", "NOSE", "RIGHT_EYE", "LEFT_EYE", "MOUTH", "NOSE_TIP", "CHIN"]

JAW = tuple(range(0, 17))
RIGHT_BROW = tuple(range(17, 22))
LEFT_BROW = tuple(range(22, 27))
NOSE = tuple(range(27, 36))
RIGHT_EYE = tuple(range(36, 42))
LEFT_EYE = tuple(range(42, 48))
MOUTH = tuple(range(48, 68))
NOSE_TIP = 30
CHIN = 8


class FaceBox(NamedTuple):
    left: int
    top: int
    right: int
    bottom: int
    score: float

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@functools.lru_cache(maxsize=1)
def detector():
    """dlib's HOG frontal face detector (loaded once)."""
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=1)
def predictor():
    """dlib's 68-point shape predictor from the ``face-recognition-models`` package (loaded once)."""
    import dlib

    return dlib.shape_predictor(str(predictor_model_path()))


def predictor_model_path():
    """Path of ``shape_predictor_68_face_landmarks.dat`` inside the installed ``face-recognition-models``.

    Found without importing the package: its ``__init__`` needs ``pkg_resources``, which current
    setuptools no longer ships.
    """
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("dlib's 68-point model comes from the 'face-recognition-models' package: "
                          "pip install face-recognition-models")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: dlib's 68-point model is missing from face-recognition-models")
    return path


def _as_uint8_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 gray (HxW) or RGB (HxWx3) image, got {img.dtype} {img.shape}")
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 3)):
        raise ValueError(f"expected a uint8 gray (HxW) or RGB (HxWx3) image, got shape {img.shape}")
    return np.ascontiguousarray(img)


def detect_faces(image: np.ndarray, upsample: int = 0) -> list[FaceBox]:
    """Faces found by dlib's frontal detector, best score first."""
    img = _as_uint8_image(image)
    rects, scores, _ = detector().run(img, upsample, 0.0)
    boxes = [FaceBox(r.left(), r.top(), r.right(), r.bottom(), float(s)) for r, s in zip(rects, scores)]
    return sorted(boxes, key=lambda b: -b.score)


def landmarks68(image: np.ndarray, box: FaceBox | tuple) -> np.ndarray:
    """The 68 dlib landmarks inside ``box`` (left, top, right, bottom[, score]) as float32 (68, 2)."""
    import dlib

    img = _as_uint8_image(image)
    l, t, r, b = (int(round(v)) for v in tuple(box)[:4])
    shape = predictor()(img, dlib.rectangle(l, t, r, b))
    return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)


def detect_landmarks(image: np.ndarray, upsample: int = 0) -> Optional[tuple[FaceBox, np.ndarray]]:
    """Detect the best face and return (box, landmarks), or None when no face is found."""
    boxes = detect_faces(image, upsample)
    if not boxes:
        return None
    return boxes[0], landmarks68(image, boxes[0])
