"""Face-pair data for the two reproductions: the embedded synthetic default and the real data sets.

Every source is turned into the same arrays (``FaceSet``): ``gray`` / ``depth8`` (uint8 NxSxS),
``rgb`` (uint8 NxSxSx3), ``identity`` (str), ``yaw`` / ``pitch`` / ``roll`` (degrees),
``group`` ("S1-S3" / "S4-S5"), ``attributes`` (dict name -> bool array, synthetic only) and
``landmarks`` (float32 Nx68x2 in crop pixels, NaN when unknown).

Synthetic default (``prnet_synth.procedural.generate``): the 256x256 renders are resized to the
preset's input size (no eq. 6 crop: the renders are already face crops); the depth is the project's
uint16 format mapped to the papers' 8-bit encoding (``crop.project_depth_to_u8``). Train and test
faces come from disjoint identity sets (cross-subject protocol, 001 sec. 4; cross-data-set in 003).
Pandora's sequence split is mimicked by the occluder: faces without one count as "S1-S3"
(constrained), faces with a hand, paper or glasses as "S4-S5" (Pandora's free sequences hold the
occlusions and garments).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

__all__ = ["cached_synthetic", "data_label", "SYNTHETIC_OPTIONS", "FaceSet", "ATTRIBUTES", "attributes_from_params", "from_samples", "synthetic_faces",
           "synthetic_faceset", "real_faceset", "SYNTHETIC_DATA_LABEL"]

log = logging.getLogger(__name__)

SYNTHETIC_DATA_LABEL = "synthetic (prnet_synth.procedural)"

# attributes the synthetic generator knows (003's CelebA attributes that exist in it)
ATTRIBUTES = {
    "smiling": lambda p: p.get("expression") == "smile",
    "mouth_open": lambda p: p.get("expression") == "open_mouth",
    "eyeglasses": lambda p: p.get("occluder") == "glasses",
    "occluded_by_hand_or_paper": lambda p: p.get("occluder") in ("hand", "paper"),
}


def attributes_from_params(params: dict) -> dict[str, bool]:
    return {name: bool(fn(params)) for name, fn in ATTRIBUTES.items()}


@dataclass
class FaceSet:
    gray: np.ndarray
    depth8: np.ndarray
    rgb: np.ndarray
    identity: np.ndarray
    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    group: np.ndarray
    landmarks: np.ndarray
    attributes: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.gray.shape[0])

    def subset(self, idx) -> "FaceSet":
        idx = np.asarray(idx)
        return FaceSet(self.gray[idx], self.depth8[idx], self.rgb[idx], self.identity[idx], self.yaw[idx],
                       self.pitch[idx], self.roll[idx], self.group[idx], self.landmarks[idx],
                       {k: v[idx] for k, v in self.attributes.items()})

    @staticmethod
    def concat(sets: Iterable["FaceSet"]) -> "FaceSet":
        sets = list(sets)
        keys = set.intersection(*(set(s.attributes) for s in sets)) if sets else set()
        cat = lambda name: np.concatenate([getattr(s, name) for s in sets])  # noqa: E731
        return FaceSet(cat("gray"), cat("depth8"), cat("rgb"), cat("identity"), cat("yaw"), cat("pitch"),
                       cat("roll"), cat("group"), cat("landmarks"),
                       {k: np.concatenate([s.attributes[k] for s in sets]) for k in sorted(keys)})

    def save(self, path) -> None:
        import io

        from prnet_synth.atomic import atomic_write_bytes

        buf = io.BytesIO()
        arrays = {k: getattr(self, k) for k in ("gray", "depth8", "rgb", "identity", "yaw", "pitch", "roll",
                                                 "group", "landmarks")}
        arrays.update({f"attr_{k}": v for k, v in self.attributes.items()})
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())

    @staticmethod
    def load(path) -> "FaceSet":
        with np.load(path, allow_pickle=False) as z:
            attrs = {k[5:]: z[k] for k in z.files if k.startswith("attr_")}
            return FaceSet(z["gray"], z["depth8"], z["rgb"], z["identity"], z["yaw"], z["pitch"], z["roll"],
                           z["group"], z["landmarks"], attrs)


def _resize(img: np.ndarray, size: int) -> np.ndarray:
    import cv2

    if img.shape[0] == size and img.shape[1] == size:
        return img
    interp = cv2.INTER_AREA if img.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(img, (size, size), interpolation=interp)


def from_samples(samples: Iterable[dict], size: int, identity_prefix: str = "") -> FaceSet:
    """Samples of ``procedural.generate`` (256x256 renders) -> FaceSet at ``size``."""
    from .crop import project_depth_to_u8

    cols = {k: [] for k in ("gray", "depth8", "rgb", "identity", "yaw", "pitch", "roll", "group", "landmarks")}
    attrs: dict[str, list] = {k: [] for k in ATTRIBUTES}
    for s in samples:
        p = s.get("params", {})
        src = s["gray"].shape[0]
        cols["gray"].append(_resize(s["gray"], size))
        cols["depth8"].append(_resize(project_depth_to_u8(s["depth"]), size))
        cols["rgb"].append(_resize(s["rgb"], size))
        cols["identity"].append(f"{identity_prefix}{s['identity']}")
        cols["yaw"].append(float(p.get("yaw", 0.0)))
        cols["pitch"].append(float(p.get("pitch", 0.0)))
        cols["roll"].append(float(p.get("roll", 0.0)))
        cols["group"].append("S1-S3" if p.get("occluder", "none") in ("none", None) else "S4-S5")
        lm = np.asarray(s.get("landmarks", np.full((68, 2), np.nan)), np.float32)[:, :2] * (size / src)
        cols["landmarks"].append(lm)
        for k, v in attributes_from_params(p).items():
            attrs[k].append(v)
    return FaceSet(np.stack(cols["gray"]).astype(np.uint8), np.stack(cols["depth8"]).astype(np.uint8),
                   np.stack(cols["rgb"]).astype(np.uint8), np.array(cols["identity"]),
                   np.array(cols["yaw"], np.float32), np.array(cols["pitch"], np.float32),
                   np.array(cols["roll"], np.float32), np.array(cols["group"]),
                   np.stack(cols["landmarks"]).astype(np.float32), {k: np.array(v, bool) for k, v in attrs.items()})


def synthetic_faces(n: int, seed: int, identities: int, **options) -> list[dict]:
    """``prnet_synth.procedural.generate`` (the embedded default data)."""
    try:
        from prnet_synth import procedural
    except ImportError as exc:  # pragma: no cover - depends on the other package being present
        raise RuntimeError("the embedded synthetic faces need prnet_synth.procedural "
                           "(the [Synthetic faces] package); it is not importable: " + str(exc)) from exc
    return procedural.generate(n, seed, identities=identities, **options)


def synthetic_faceset(n: int, seed: int, identities: int, size: int, *, split: str,
                      generate: Optional[Callable[..., list]] = None, **options) -> FaceSet:
    """``n`` synthetic faces of ``identities`` identities in one ``generate`` call (its default
    variation of pose, expression and occluders); the group of a face follows its occluder
    ("S1-S3" without, "S4-S5" with). ``split`` names the identity set: train / val / test use
    different seeds, hence different identities, and get different identity labels."""
    gen = generate or synthetic_faces
    return from_samples(gen(n, seed, identities=identities, **options), size, f"{split}-")


# pose ranges of the synthetic faces for both reproductions (decided): Pandora's and MotorMark's
# drivers look mostly ahead, and eq. 7's frontal subset A1 (all angles within 10 degrees) needs
# enough members; the generator's defaults (45 / 30 / 20) would leave about 4 % of faces in A1.
SYNTHETIC_OPTIONS = {"yaw_range": 25.0, "pitch_range": 15.0, "roll_range": 12.0}


def cached_synthetic(split: str, n: int, identities: int, seed: int, size: int, cache_dir,
                     generate: Optional[Callable[..., list]] = None, log_fn=print) -> FaceSet:
    """``synthetic_faceset`` with SYNTHETIC_OPTIONS, cached as .npz in ``cache_dir`` (shared by the
    two reproductions when their sizes agree). A stand-in ``generate`` is never cached."""
    import time
    from pathlib import Path

    path = Path(cache_dir) / f"faces_{split}_n{n}_k{identities}_s{seed}_{size}px.npz"
    if generate is None and path.is_file():
        return FaceSet.load(path)
    t0 = time.time()
    fs = synthetic_faceset(n, seed, identities, size, split=split, generate=generate, **SYNTHETIC_OPTIONS)
    log_fn(f"[data] {split}: {len(fs)} synthetic faces ({identities} identities) in {time.time() - t0:.1f} s")
    if generate is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fs.save(path)
    return fs


def data_label(generate: Optional[Callable] = None) -> str:
    if generate is None:
        return SYNTHETIC_DATA_LABEL
    return f"stand-in ({getattr(generate, '__module__', 'custom')}.{getattr(generate, '__name__', 'generate')})"


def real_faceset(samples: Iterable[dict], size: int) -> FaceSet:
    """Face crops from the real readers (Pandora, Biwi, MotorMark ``face_sample`` dicts). Landmarks
    are mapped to dlib's 68 points by their count (``landmarks68.to_dlib68``)."""
    cols = {k: [] for k in ("gray", "depth8", "rgb", "identity", "yaw", "pitch", "roll", "group", "landmarks")}
    for s in samples:
        rgb = _resize(s["rgb"], size)
        import cv2

        cols["rgb"].append(rgb)
        cols["gray"].append(_resize(s["gray"], size) if "gray" in s else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        cols["depth8"].append(_resize(s["depth8"], size))
        cols["identity"].append(str(s.get("subject", "")))
        cols["yaw"].append(float(s.get("yaw", np.nan)))
        cols["pitch"].append(float(s.get("pitch", np.nan)))
        cols["roll"].append(float(s.get("roll", np.nan)))
        seq = s.get("sequence")
        cols["group"].append("" if seq is None else ("S1-S3" if int(seq) <= 3 else "S4-S5"))
        lm = s.get("landmarks")
        if lm is None:
            cols["landmarks"].append(np.full((68, 2), np.nan, np.float32))
        else:      # in dlib's 68-point order (experiments.cgan.landmarks68), NaN where the data set has none
            from .landmarks68 import to_dlib68

            src = str(s.get("landmarks_path", s.get("frame", "landmarks")))
            try:
                cols["landmarks"].append(to_dlib68(lm, src) * np.float32(size / s["rgb"].shape[0]))
            except ValueError as exc:
                log.warning("landmarks left out of the probe: %s", exc)
                cols["landmarks"].append(np.full((68, 2), np.nan, np.float32))
    if not cols["gray"]:
        raise ValueError("no usable face sample (every frame was skipped or the folder is empty)")
    return FaceSet(np.stack(cols["gray"]), np.stack(cols["depth8"]), np.stack(cols["rgb"]),
                   np.array(cols["identity"]), np.array(cols["yaw"], np.float32),
                   np.array(cols["pitch"], np.float32), np.array(cols["roll"], np.float32),
                   np.array(cols["group"]), np.stack(cols["landmarks"]).astype(np.float32), {})
