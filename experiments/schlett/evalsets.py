"""The image sets of IV-E..IV-J: KinectFaceDB, RealSense D435, or the embedded synthetic default.

An :class:`ImageSet` holds, per image: the depth in the paper's format (the enhancers' input), the
colour image, the *Neutral* face mask of its subject/session (IV-E), dlib's 68 landmarks detected on
its own colour image (IV-G; only for non-occlusion frontal variants) and the 6 manual landmarks
(KinectFaceDB's, or the generator's equivalents for the stand-in).

* ``kinect_set(root)``: KinectFaceDB in its real layout (``experiments.datasets.kinectfacedb``).
* ``d435_set(path)``: D435 recordings read by ``experiments.datasets.realsense`` and preprocessed as
  IV-J (``experiments.preprocess``).
* ``synthetic_sets(preset, seed)``: the embedded default: generator faces (``prnet_synth.procedural``)
  with Kinect-like and D435-like degradations (``degrade``'s named configurations), the generator's
  hand and paper occluders standing in for OcclusionMouth and OcclusionPaper. Its ``data`` label
  says it is synthetic; its numbers are never KinectFaceDB or D435 numbers.
"""
from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from pathlib import Path
from typing import Optional

import numpy as np

from .io import load_arrays, save_arrays
from .masks import dlib_landmarks68, face_mask_from_landmarks, manual6_from_68

__all__ = ["ImageSet", "kinect_set", "d435_set", "synthetic_sets", "SYNTH_VARIANTS", "D435_VARIANTS",
           "DATA_KINECT", "DATA_D435", "DATA_SYNTH_KINECT", "DATA_SYNTH_D435", "square_roi_mask"]

log = logging.getLogger(__name__)

DATA_KINECT = "KinectFaceDB"
DATA_D435 = "RealSense D435"
DATA_SYNTH_KINECT = "synthetic stand-in (generator faces, Kinect-like degradation)"
DATA_SYNTH_D435 = "synthetic stand-in (generator faces, D435-like degradation)"

# Synthetic stand-ins of the KinectFaceDB frontal variants: (expression, occluder).
SYNTH_VARIANTS = {
    "Neutral": ("neutral", "none"),
    "Smile": ("smile", "none"),
    "OpenMouth": ("open_mouth", "none"),
    "OcclusionMouth": ("neutral", "hand"),
    "OcclusionPaper": ("neutral", "paper"),
}
D435_VARIANTS = ("Neutral", "Smile", "OpenMouth")
OCCLUSION = ("OcclusionEyes", "OcclusionMouth", "OcclusionPaper")
PROFILES = ("LeftProfile", "RightProfile")


@dataclasses.dataclass
class ImageSet:
    data: str
    camera: str                     # "kinect" | "d435"
    names: list
    subject: np.ndarray             # int (N,)
    session: np.ndarray             # int (N,)
    variant: list
    depth: np.ndarray               # uint16 (N, H, W), paper convention
    rgb: np.ndarray                 # uint8 (N, H, W, 3) (zeros where absent)
    mask: np.ndarray                # bool (N, H, W): Neutral face mask of the subject/session
    has_mask: np.ndarray            # bool (N,)
    lm68: np.ndarray                # float32 (N, 68, 2), NaN where not detected / not used
    manual6: np.ndarray             # float32 (N, 6, 2), NaN where absent
    landmark_source: list           # "dlib" | "generator" | "none" (how the Neutral mask was made)
    gt: Optional[np.ndarray] = None  # uint16 (N, H, W) for synthetic sets

    def __len__(self) -> int:
        return len(self.names)

    @property
    def frontal(self) -> np.ndarray:
        return np.array([v not in PROFILES for v in self.variant], bool)

    @property
    def occlusion(self) -> np.ndarray:
        return np.array([v in OCCLUSION for v in self.variant], bool)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def save(self, path: Path, extra_meta: Optional[dict] = None) -> Path:
        meta = {"data": self.data, "camera": self.camera, "names": list(self.names),
                "variant": list(self.variant), "landmark_source": list(self.landmark_source)}
        meta.update(extra_meta or {})
        arrays = dict(subject=self.subject, session=self.session, depth=self.depth, rgb=self.rgb,
                      mask=self.mask, has_mask=self.has_mask, lm68=self.lm68, manual6=self.manual6)
        if self.gt is not None:
            arrays["gt"] = self.gt
        return save_arrays(path, meta, **arrays)

    @classmethod
    def load(cls, path: Path) -> tuple["ImageSet", dict]:
        a, meta = load_arrays(path)
        obj = cls(meta["data"], meta["camera"], list(meta["names"]), a["subject"], a["session"],
                  list(meta["variant"]), a["depth"], a["rgb"], a["mask"], a["has_mask"], a["lm68"],
                  a["manual6"], list(meta["landmark_source"]), a.get("gt"))
        return obj, meta


def _stack(items: list[dict], data: str, camera: str, with_gt: bool = False) -> ImageSet:
    n = len(items)
    shape = items[0]["depth"].shape if n else (256, 256)
    lm68 = np.full((n, 68, 2), np.nan, np.float32)
    man = np.full((n, 6, 2), np.nan, np.float32)
    for i, it in enumerate(items):
        if it.get("lm68") is not None:
            lm68[i] = np.asarray(it["lm68"], np.float32)[:, :2]
        if it.get("manual6") is not None and len(it["manual6"]) == 6:
            man[i] = np.asarray(it["manual6"], np.float32)[:, :2]
    zero_mask = np.zeros(shape, bool)
    return ImageSet(
        data=data, camera=camera, names=[it["name"] for it in items],
        subject=np.array([it["subject"] for it in items], np.int64),
        session=np.array([it["session"] for it in items], np.int64),
        variant=[it["variant"] for it in items],
        depth=np.stack([it["depth"] for it in items]) if n else np.zeros((0,) + shape, np.uint16),
        rgb=np.stack([it["rgb"] if it.get("rgb") is not None else np.zeros(shape + (3,), np.uint8) for it in items])
        if n else np.zeros((0,) + shape + (3,), np.uint8),
        mask=np.stack([it["mask"] if it.get("mask") is not None else zero_mask for it in items])
        if n else np.zeros((0,) + shape, bool),
        has_mask=np.array([it.get("mask") is not None for it in items], bool),
        lm68=lm68, manual6=man,
        landmark_source=[it.get("landmark_source", "none") for it in items],
        gt=np.stack([it["gt"] for it in items]) if (with_gt and n) else None,
    )


def square_roi_mask(points_or_mask: np.ndarray, shape=(256, 256), factor: float = 1.0) -> np.ndarray:
    """A square boolean region around a mask's bounding box (or (k, 2) points), side scaled by ``factor``."""
    a = np.asarray(points_or_mask)
    if a.dtype == bool and a.shape == tuple(shape):
        rows, cols = np.nonzero(a)
        x0, x1, y0, y1 = cols.min(), cols.max(), rows.min(), rows.max()
    else:
        x0, y0 = np.nanmin(a[:, :2], axis=0)
        x1, y1 = np.nanmax(a[:, :2], axis=0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(x1 - x0, y1 - y0) * factor / 2.0
    out = np.zeros(shape, bool)
    r0, r1 = int(max(0, np.floor(cy - half))), int(min(shape[0], np.ceil(cy + half) + 1))
    c0, c1 = int(max(0, np.floor(cx - half))), int(min(shape[1], np.ceil(cx + half) + 1))
    out[r0:r1, c0:c1] = True
    return out


# ----------------------------------------------------------------------------- KinectFaceDB
def kinect_set(root, limit_subjects: int = 0) -> ImageSet:
    """All variants of KinectFaceDB (profiles included for the manual-landmark test of IV-G).

    Per subject/session: dlib runs on the Neutral colour image; the convex hull of its 68
    landmarks is the face mask of every frontal variant (profiles get none). Depth is normalised to
    the paper format with the 25 cm range starting at the nearest depth in the square around that
    mask (profiles: around their manual landmarks, enlarged 1.6x as PRNet's crop; else whole image).
    """
    from experiments.datasets import kinectfacedb as kf

    recs = kf.list_records(root)
    groups: dict = defaultdict(list)
    for r in recs:
        groups[(r.subject, r.session)].append(r)
    subjects = sorted({s for s, _ in groups})
    if limit_subjects:
        subjects = subjects[:limit_subjects]
    items = []
    for key in sorted(k for k in groups if k[0] in subjects):
        grp = groups[key]
        neutral = next((r for r in grp if r.variant == "Neutral"), None)
        mask, src = None, "none"
        if neutral is None or neutral.rgb_bmp is None:
            log.warning("%04d_s%d: no Neutral colour image, frontal variants get no face mask", *key)
        else:
            try:
                lm = dlib_landmarks68(kf.read_rgb_bmp(neutral.rgb_bmp))
            except (OSError, ValueError) as exc:
                log.error("%s: %s", neutral.rgb_bmp, exc)
                lm = None
            if lm is None:
                log.warning("%s: dlib found no face on the Neutral colour image; no mask", neutral.name)
            else:
                mask, src = face_mask_from_landmarks(lm), "dlib"
        for rec in grp:
            try:
                s = kf.load_sample(rec)
            except (OSError, ValueError) as exc:
                log.error("skipping %s: %s", rec.name, exc)
                continue
            fmask = mask if rec.frontal else None
            if fmask is not None:
                roi = square_roi_mask(fmask, s.depth_mm.shape)
            elif s.landmarks is not None:
                roi = square_roi_mask(s.landmarks, s.depth_mm.shape, 1.6)
            else:
                roi = None
            lm68 = None
            if rec.frontal and not rec.occlusion and s.rgb is not None:
                lm68 = dlib_landmarks68(s.rgb)
            items.append({"name": rec.name, "subject": rec.subject, "session": rec.session,
                          "variant": rec.variant, "depth": kf.to_paper_depth(s.depth_mm, roi),
                          "rgb": s.rgb, "mask": fmask, "lm68": lm68, "manual6": s.landmarks,
                          "landmark_source": src if fmask is not None else "none"})
    if not items:
        raise ValueError(f"{root}: no KinectFaceDB image could be read")
    return _stack(items, DATA_KINECT, "kinect")


# ----------------------------------------------------------------------------- D435
def d435_set(path, limit: int = 0) -> ImageSet:
    """Frontal D435 frames (a .bag/.db3 recording or a folder of colour/depth PNG pairs, read by
    ``experiments.datasets.realsense.open_source``), preprocessed as IV-J by
    ``experiments.preprocess.preprocess_frame`` with the ROI from dlib's 68 landmarks on the colour
    frame. The face mask of each frame is the hull of those landmarks mapped into the 256x256 crop
    (the D435 set has no variants, IV-E). Frames without a detectable face are logged and skipped."""
    from experiments.datasets import realsense
    from experiments.preprocess import preprocess_frame

    items = []
    for frame in realsense.open_source(path):
        if limit and len(items) >= limit:
            break
        name = f"{Path(str(frame.source or path)).stem}_{frame.index:05d}"
        lm = dlib_landmarks68(frame.color)
        if lm is None:
            log.warning("%s: no face found by dlib, frame skipped", name)
            continue
        try:
            pre = preprocess_frame(frame.depth, frame.depth_scale, color=frame.color, landmarks=lm)
        except ValueError as exc:
            log.error("%s: %s, frame skipped", name, exc)
            continue
        items.append({"name": name, "subject": 0, "session": 0, "variant": "Neutral", "depth": pre.depth,
                      "rgb": pre.color, "mask": face_mask_from_landmarks(pre.landmarks, pre.depth.shape),
                      "lm68": pre.landmarks, "manual6": None, "landmark_source": "dlib"})
    if not items:
        raise ValueError(f"{path}: no D435 frame with a detectable face")
    return _stack(items, DATA_D435, "d435")


# ----------------------------------------------------------------------------- embedded default
def _synthetic_items(camera: str, variants, subjects: int, sessions: int, seed: int, config_name: str) -> list[dict]:
    import degrade
    from prnet_synth import procedural

    cfg = degrade.get_config(config_name)
    items, gts = [], []
    for subj in range(1, subjects + 1):
        base = seed + 7919 * subj + (0 if camera == "kinect" else 15485863)
        for sess in range(1, sessions + 1):
            samples = {}
            for var in variants:
                expr, occ = SYNTH_VARIANTS[var]
                samples[var] = _generate_variant(procedural, base, sess, expr, occ)
            neutral = samples["Neutral"]
            lm_n = dlib_landmarks68(neutral["rgb"])
            src = "dlib"
            if lm_n is None:
                lm_n, src = neutral["landmarks"][:, :2], "generator"
            mask = face_mask_from_landmarks(lm_n, neutral["depth"].shape)
            for var in variants:
                smp = samples[var]
                lm68 = None
                if var not in OCCLUSION:
                    lm68 = dlib_landmarks68(smp["rgb"])
                    if lm68 is None:
                        lm68 = smp["landmarks"][:, :2]
                gts.append(smp["depth"])
                items.append({"name": f"{subj:04d}_s{sess}_{var}", "subject": subj, "session": sess,
                              "variant": var, "gt": smp["depth"], "rgb": smp["rgb"], "mask": mask,
                              "lm68": lm68, "manual6": manual6_from_68(smp["landmarks"]), "landmark_source": src})
    if items:
        # one call for the whole set: the degradation renderer is traced once per configuration
        degs = np.asarray(degrade.degrade_batch(np.stack(gts), seed=seed + (0 if camera == "kinect" else 1),
                                                variant="plain", config=cfg), np.uint16)
        for it, d in zip(items, degs):
            it["depth"] = d
    return items


# Pose ranges of the generator's frontal preset, given explicitly so that occluders can be added
# (``frontal=True`` removes them); identity and pose depend on (seed, index) only, so the variants of
# one subject/session share them.
FRONTAL_POSE = dict(yaw_range=15.0, pitch_range=10.0, roll_range=8.0)


def _generate_variant(procedural, seed: int, session: int, expression: str, occluder: str) -> dict:
    """One frontal generator face: identity from ``seed`` (one identity per subject), pose from the
    session index, the variant's expression and occluder."""
    return procedural.generate(1, seed, start=session - 1, identities=1, expression=expression,
                               occluder=occluder, **FRONTAL_POSE)[0]


def synthetic_sets(preset: str, seed: int) -> tuple[ImageSet, ImageSet]:
    """The embedded default for IV-E..J: (Kinect-like set with the five frontal stand-in variants,
    D435-like set with Neutral/Smile/OpenMouth of other identities)."""
    from .config import EVAL_SEED_OFFSET, get_preset

    P = get_preset(preset)
    s0 = seed + 2 * EVAL_SEED_OFFSET
    kin = _synthetic_items("kinect", tuple(SYNTH_VARIANTS), P.eval_subjects, P.eval_sessions, s0, "kinect_v1")
    dsn = _synthetic_items("d435", D435_VARIANTS, P.eval_subjects, P.eval_sessions, s0, "d435")
    return (_stack(kin, DATA_SYNTH_KINECT, "kinect", with_gt=True),
            _stack(dsn, DATA_SYNTH_D435, "d435", with_gt=True))
