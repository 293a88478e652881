"""Real-time depth PAD with a RealSense D435, live or from a recording (Schlett et al. IV-G, last part).

The paper: "A hand-crafted geometric depth PAD function similar to the quantitative evaluation variant
compared depth values at Dlib landmarks, with sufficiently large or implausible depth deviations
leading to rejections of the input. PAD decisions were temporal in the sense that per-frame decisions
were observed over time to form a final decision for the detected face". This program:

1. reads colour + depth aligned to colour (``experiments.datasets.realsense``: live D435, ``.bag`` /
   ``.db3`` playback returning every frame, or a folder of PNG pairs);
2. finds faces with dlib (detector every ``detect_every`` frames; in between each face is tracked
   by re-running the 68-point predictor in a box predicted from its previous landmarks);
3. preprocesses each face as IV-J (``experiments.preprocess``) and enhances its depth
   (``experiments.enhancers.get_enhancer``, default DL-Delta-1, or a ``.tflite`` export);
4. scores it with the IV-G geometric check plus plausibility bounds (``experiments.pad.geometric``):
   a frame passes when the PAD error is at most ``max_pad_error`` and every bound holds;
5. decides per tracked face over the last ``window`` frames: bona fide when at least
   ``accept_ratio`` of them pass, attack when at least ``reject_ratio`` fail, else undecided;
6. shows an overlay when a display exists, else writes ``frames.jsonl`` (one line per frame) and
   ``summary.json`` (decisions, fps, per-stage latency: capture, landmarks, preprocess,
   enhancement, PAD).

Run: ``python -m experiments.pad.realtime --source live|FILE.bag|FILE.db3|DIR [--enhancer LABEL]
[--tflite PATH] [--config FILE] [--preset NAME] [--out DIR]``.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from experiments.enhancers import Enhancer, on_face_range
from experiments.pad.geometric import PlausibilityBounds, geometric_pad, plausibility
from experiments.preprocess import preprocess_frame

log = logging.getLogger("experiments.pad.realtime")

__all__ = ["PadConfig", "PRESETS", "load_config", "FaceTrack", "FaceResult", "FrameResult", "PadProcessor",
           "TFLiteEnhancer", "KerasModelEnhancer", "make_enhancer", "prefetch", "run", "main", "BONA_FIDE", "ATTACK", "UNDECIDED"]

BONA_FIDE, ATTACK, UNDECIDED = "bona fide", "attack", "undecided"
STAGES = ("capture", "landmarks", "preprocess", "enhancement", "pad")


# ----------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class PadConfig:
    """Every setting of the PAD program (data, not constants; see ``PRESETS``)."""

    detect_every: int = 5            # run the dlib detector on every k-th frame, track in between
    upsample: int = 0                # dlib detector upsampling
    min_face_px: int = 40            # ignore detections smaller than this (colour pixels)
    max_faces: int = 4
    track_iou: float = 0.3           # a detection continues a track when their boxes overlap this much
    max_missed: int = 1              # detector runs a track may miss (unscored) before it is dropped
    max_pad_error: float = 0.25      # per-frame pass: IV-G PAD error <= this ...
    bounds: PlausibilityBounds = PlausibilityBounds()   # ... and every plausibility bound holds
    window: int = 15                 # temporal decision over the last `window` frames of a track
    min_frames: int = 8              # frames needed before deciding
    accept_ratio: float = 0.8        # bona fide when passing frames / frames >= this
    reject_ratio: float = 0.5        # attack when failing frames / frames >= this
    asynchronous: bool = False       # enhance + score in a worker thread; frames arriving while it is
                                     # busy are tracked and shown but not scored (for a live camera)
    #: before a network trained on face-range depth: pixels behind the face (farther than the farthest
    #: landmark depth + this share of the face's depth span) become holes, as in its training ground
    #: truth, and get their input depth back after it (``cut_background``); None = no cut
    face_cut_margin: Optional[float] = 0.1

    def __post_init__(self):
        if self.detect_every < 1 or self.window < 1 or not 1 <= self.min_frames <= self.window:
            raise ValueError(f"PadConfig: need detect_every >= 1 and 1 <= min_frames <= window, got {self}")
        if not (0 < self.accept_ratio <= 1 and 0 < self.reject_ratio <= 1):
            raise ValueError("PadConfig: accept_ratio and reject_ratio must be in (0, 1]")
        if self.accept_ratio + self.reject_ratio <= 1:
            raise ValueError("PadConfig: accept_ratio + reject_ratio must exceed 1 (else both could hold)")
        if self.face_cut_margin is not None and not float(self.face_cut_margin) >= 0:
            raise ValueError(f"PadConfig: face_cut_margin must be >= 0 or None, got {self.face_cut_margin!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict, base: Optional["PadConfig"] = None) -> "PadConfig":
        base = base or cls()
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown PAD config keys {sorted(unknown)}; known: {sorted(names)}")
        kw = dict(data)
        if "bounds" in kw:
            b = kw["bounds"]
            if isinstance(b, dict):
                bnames = {f.name for f in dataclasses.fields(PlausibilityBounds)}
                if set(b) - bnames:
                    raise ValueError(f"unknown bounds keys {sorted(set(b) - bnames)}; known: {sorted(bnames)}")
                kw["bounds"] = dataclasses.replace(base.bounds, **b)
        return dataclasses.replace(base, **kw)


PRESETS: dict[str, PadConfig] = {
    # the program's defaults: half a second of frames at 30 fps, a detector run every 5th frame
    "default": PadConfig(),
    # stricter: more frames, a higher agreement needed to accept
    "strict": PadConfig(window=30, min_frames=20, accept_ratio=0.9, reject_ratio=0.3, max_pad_error=0.15),
    # fast: detector every 10th frame (more tracking), decisions after 5 frames
    "fast": PadConfig(detect_every=10, window=10, min_frames=5),
    # live camera: scoring in a worker thread so tracking and display keep the camera's pace
    "live": PadConfig(asynchronous=True),
}


def load_config(path: Optional[str | os.PathLike] = None, preset: str = "default") -> PadConfig:
    """A preset, optionally overridden by a JSON file of PadConfig fields (``bounds`` as a nested dict)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown PAD preset {preset!r}; known: {sorted(PRESETS)}")
    cfg = PRESETS[preset]
    if path is None:
        return cfg
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: no such config file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a JSON object of PadConfig fields")
    try:
        return PadConfig.from_dict(data, cfg)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{p}: {exc}") from None


# ----------------------------------------------------------------------------- enhancers
def cut_background(depth: np.ndarray, landmarks: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """``depth`` (uint16 HxW, 65535 = hole) with the pixels behind the face turned into holes, and the
    mask of those pixels.

    A network trained on face-range ground truth saw faces spanning its whole depth range with no
    background (the ground truth's background is holes). A camera crop also holds the background
    (the IV-J frames: a wall or nothing up to 25 cm behind the face): stretched to the crop's depth
    range, the face then fills a third of it or less, which the hole-weighted cpu DL-Delta-1 answers
    with a flattened face (REPRODUCTION_NOTES, "The real-time PAD and face-range networks"). The face's
    far end: the farthest valid depth at the 68 landmarks plus ``margin`` x (that - the nearest valid
    pixel). With fewer than 6 valid landmarks nothing is cut."""
    from experiments.pad.geometric import sample_landmark_depth
    from prnet_synth.conventions import HOLE

    vals, inside = sample_landmark_depth(depth, landmarks)
    v = vals[inside & (vals != HOLE)].astype(np.float64)
    valid = depth != HOLE
    cut = np.zeros(depth.shape, bool)
    if v.size < 6 or not valid.any():
        return depth, cut
    near = float(depth[valid].min())
    far = float(v.max()) + float(margin) * (float(v.max()) - near)
    cut = valid & (depth > far)
    out = depth.copy()
    out[cut] = HOLE
    return out, cut


class _NetworkEnhancer(Enhancer):
    """An ``experiments.enhancers.Enhancer`` around a network on float NxHxWx1 depth in [0, 1] (holes
    1.0): the interface's input checks and shapes, the 8-bit-free conversions of
    ``prnet_synth.conventions``, and for a network trained on face-range depth (``face_range``) each
    frame stretched to its depth range and back. Subclasses implement ``_run(x)``."""

    face_range: bool = False

    def _run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _enhance_batch(self, frames: np.ndarray) -> np.ndarray:
        from prnet_synth.conventions import from_float, to_float

        def run(f):
            return from_float(np.asarray(self._run(to_float(f)[..., None]), np.float32).reshape(f.shape))

        return on_face_range(frames, self.face_range, run)


class TFLiteEnhancer(_NetworkEnhancer):
    """An enhancer exported to TensorFlow Lite, run by ``models.export.TFLiteModel`` (resized to each
    new frame size)."""

    kind = "tflite"

    def __init__(self, path: str | os.PathLike, label: Optional[str] = None, threads: Optional[int] = None,
                 face_range: bool = False):
        self.path = Path(path)
        self.face_range = bool(face_range)   # network trained on face-range depth: stretch each frame and back
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such TFLite model")
        from models.export import TFLiteModel

        self.model = TFLiteModel(self.path, num_threads=threads or os.cpu_count())   # ValueError: unusable file
        self.label = label or f"tflite:{self.path.name}"
        shape = tuple(int(s) for s in self.model.input_shape)
        if len(shape) != 4 or shape[-1] != 1:
            raise ValueError(f"{self.path}: expected an input of shape [N, H, W, 1], got {shape}")

    def _run(self, x: np.ndarray) -> np.ndarray:
        h, w = x.shape[1:3]
        if tuple(int(s) for s in self.model.input_shape) != (1, h, w, 1):
            self.model.resize_input(h, w)
        return self.model(x)                                 # frame by frame, float32 N x h x w x 1


class KerasModelEnhancer(_NetworkEnhancer):
    """A Keras enhancer model run through one traced tf.function with batch-norm folded
    (``models.inference.compile_for_inference``), the fast way on this CPU (``environment.md``: eager
    calls and ``predict`` are slower)."""

    kind = "keras"

    def __init__(self, model, label: str, face_range: bool = False):
        from models.inference import compile_for_inference

        self.label = label
        self.model = model
        self.face_range = bool(face_range)   # stretch each frame to its depth range and back (enhancers.py)
        self._fn = compile_for_inference(model)

    def _run(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self._fn(x), np.float32)


def make_enhancer(label: str = "DL-Delta-1", tflite: Optional[str] = None, weights: Optional[str] = None,
                  preset: str = "best", tflite_face_range: bool = False):
    """The enhancer the program uses: a TFLite file when given, else the registry's ``label`` with the
    weights of ``preset`` ("best" = the best shipped, paper > cpu > quick, logged).

    Frames are in IV-J's 25 cm format: a network trained on face-range depth is given each frame
    stretched to its depth range and back (``experiments.enhancers``, input_format="fixed"); a TFLite
    file carries no provenance, so ``tflite_face_range`` says whether its network needs that.

    Deep-learning enhancers are loaded at once so that missing weights are reported before the
    camera starts (``EnhancerUnavailableError`` with how to train them; ``--enhancer None`` runs
    without enhancement).
    """
    if tflite:
        return TFLiteEnhancer(tflite, label=f"{label} (tflite)" if label else None, face_range=tflite_face_range)
    from experiments.enhancers import LABELS, get_enhancer

    if label not in LABELS:
        raise ValueError(f"unknown enhancer {label!r}; known: {', '.join(LABELS)}")
    # frames are in IV-J's 25 cm format: networks trained on face-range depth see them stretched
    enh = get_enhancer(label, weights=weights, preset=preset, batch_size=1, input_format="fixed")
    if hasattr(enh, "load"):
        return KerasModelEnhancer(enh.load(), enh.label, face_range=enh.rescales)
    return enh


# ----------------------------------------------------------------------------- tracking
def _landmark_box(lm: np.ndarray) -> np.ndarray:
    x0, y0 = lm[:, :2].min(axis=0)
    x1, y1 = lm[:, :2].max(axis=0)
    return np.array([x0, y0, x1, y1], dtype=np.float64)


def _iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class FaceTrack:
    """One tracked face: its landmarks, the detector-box geometry relative to them, its pass history."""

    track_id: int
    landmarks: np.ndarray
    box_rel: np.ndarray              # detector box relative to the landmark box: (dcx, dcy, w, h) / lm size
    history: collections.deque
    frames: int = 0                  # frames scored
    missed: int = 0
    decision: str = UNDECIDED
    last: dict = field(default_factory=dict)   # the latest score (asynchronous mode reports it)

    def predicted_box(self) -> tuple[float, float, float, float]:
        lb = _landmark_box(self.landmarks)
        size = max(lb[2] - lb[0], lb[3] - lb[1], 1.0)
        cx, cy = (lb[0] + lb[2]) / 2 + self.box_rel[0] * size, (lb[1] + lb[3]) / 2 + self.box_rel[1] * size
        w, h = self.box_rel[2] * size, self.box_rel[3] * size
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)

    def box(self) -> np.ndarray:
        return np.array(self.predicted_box())


def _box_rel(box, lm) -> np.ndarray:
    lb = _landmark_box(lm)
    size = max(lb[2] - lb[0], lb[3] - lb[1], 1.0)
    return np.array([((box[0] + box[2]) - (lb[0] + lb[2])) / 2 / size, ((box[1] + box[3]) - (lb[1] + lb[3])) / 2 / size,
                     (box[2] - box[0]) / size, (box[3] - box[1]) / size])


def decide(history: Iterable[bool], cfg: PadConfig) -> str:
    """Temporal decision from the pass/fail history (most recent ``window`` entries)."""
    h = list(history)[-cfg.window:]
    if len(h) < cfg.min_frames:
        return UNDECIDED
    passed = sum(bool(x) for x in h)
    if passed / len(h) >= cfg.accept_ratio:
        return BONA_FIDE
    if (len(h) - passed) / len(h) >= cfg.reject_ratio:
        return ATTACK
    return UNDECIDED


# ----------------------------------------------------------------------------- per-frame processing
@dataclass
class FaceResult:
    track_id: int
    box: tuple                       # predicted/detected box in colour pixels
    detected: bool                   # True on detector frames, False when tracked
    roi: tuple                       # (left, top, size) of the IV-J square ROI
    nearest_mm: Optional[float]
    pad_error: Optional[float]
    criteria: dict
    plausibility: dict
    passed: bool
    score: Optional[float]           # 1 - PAD error when plausible, else 0 (higher = more bona fide)
    decision: str
    landmarks: Optional[np.ndarray] = None     # 68x2 in the 256x256 frame
    depth: Optional[np.ndarray] = None         # enhanced 256x256 depth (kept only when asked)
    scored: bool = True              # False (asynchronous mode): this frame was not scored; the PAD
                                     # fields repeat the track's latest score

    def as_json(self) -> dict:
        return {"track": self.track_id, "box": [round(float(v), 1) for v in self.box], "detected": self.detected,
                "scored": self.scored,
                "roi": list(self.roi), "nearest_mm": self.nearest_mm, "pad_error": self.pad_error,
                "criteria": self.criteria, "plausibility": self.plausibility, "passed": self.passed,
                "score": None if self.score is None else round(self.score, 4), "decision": self.decision}


@dataclass
class FrameResult:
    index: int
    timestamp_ms: float
    faces: list
    latency_ms: dict

    def as_json(self) -> dict:
        return {"frame": self.index, "timestamp_ms": self.timestamp_ms,
                "latency_ms": {k: round(v, 3) for k, v in self.latency_ms.items()},
                "faces": [f.as_json() for f in self.faces]}


class PadProcessor:
    """Stateful per-frame PAD: detection/tracking, IV-J preprocessing, enhancement, scoring, decisions."""

    def __init__(self, enhancer, config: PadConfig = PadConfig(), keep_images: bool = False):
        self.enhancer = enhancer
        self.cfg = config
        self.keep_images = keep_images
        self.tracks: list[FaceTrack] = []
        self.ended: list[FaceTrack] = []
        self._next_id = 0
        self._frame = 0
        import threading

        self._lock = threading.Lock()
        self._worker = None
        self._jobs = None
        self._worker_error: Optional[BaseException] = None
        self.worker_latency = {"enhancement": [], "pad": []}
        from prnet_synth.landmarks import detector, predictor

        detector(), predictor()          # load dlib's models now, not inside the first frame's timing

    # -- faces
    def _new_track(self, box, lm) -> FaceTrack:
        t = FaceTrack(self._next_id, lm, _box_rel(box, lm), collections.deque(maxlen=self.cfg.window))
        self._next_id += 1
        return t

    def _find_faces(self, image: np.ndarray) -> list[tuple[FaceTrack, tuple, bool]]:
        from prnet_synth.landmarks import detect_faces, landmarks68

        cfg = self.cfg
        active = [t for t in self.tracks if t.missed == 0]
        if self._frame % cfg.detect_every == 0 or not active:
            boxes = [b for b in detect_faces(image, cfg.upsample) if min(b.width, b.height) >= cfg.min_face_px]
            boxes = boxes[:cfg.max_faces]
            used, out, keep = set(), [], []
            for t in self.tracks:
                tb = t.box()
                best, best_iou = None, cfg.track_iou
                for j, b in enumerate(boxes):
                    if j not in used:
                        iou = _iou(tb, b[:4])
                        if iou >= best_iou:
                            best, best_iou = j, iou
                if best is None:
                    # not seen by the detector: kept for re-association but neither tracked nor
                    # scored (a face that left must not collect failing frames)
                    t.missed += 1
                    if t.missed > cfg.max_missed:
                        self.ended.append(t)
                    else:
                        keep.append(t)
                    continue
                used.add(best)
                b = boxes[best]
                t.landmarks = landmarks68(image, b)
                t.box_rel = _box_rel(b[:4], t.landmarks)
                t.missed = 0
                keep.append(t)
                out.append((t, tuple(b[:4]), True))
            for j, b in enumerate(boxes):
                if j not in used:
                    t = self._new_track(b[:4], landmarks68(image, b))
                    keep.append(t)
                    out.append((t, tuple(b[:4]), True))
            self.tracks = keep
            return out
        out = []
        for t in active:
            box = t.predicted_box()
            t.landmarks = landmarks68(image, box)
            out.append((t, box, False))
        return out

    # -- scoring
    def _score(self, track: FaceTrack, pre) -> dict:
        """Enhance and score one preprocessed face; update its track's history and decision."""
        t2 = time.perf_counter()
        cut = None
        if getattr(self.enhancer, "face_range", False) and self.cfg.face_cut_margin is not None:
            given, cut = cut_background(pre.depth, pre.landmarks, self.cfg.face_cut_margin)
        else:
            given = pre.depth
        depth = self.enhancer.enhance(given)
        if cut is not None and cut.any():
            depth = np.where(cut, pre.depth, depth)
        t3 = time.perf_counter()
        geo = geometric_pad(depth, pre.landmarks)
        pl = plausibility(depth, pre.landmarks, self.cfg.bounds)
        passed = bool(geo.error <= self.cfg.max_pad_error and pl.ok)
        with self._lock:
            track.history.append(passed)
            track.frames += 1
            track.decision = decide(track.history, self.cfg)
            track.last = {
                "pad_error": geo.error, "criteria": geo.counts(), "passed": passed,
                "plausibility": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in pl.as_dict().items()},
                "score": (1.0 - geo.error) if pl.ok else 0.0, "depth": depth if self.keep_images else None}
        t4 = time.perf_counter()
        return {"enhancement": (t3 - t2) * 1e3, "pad": (t4 - t3) * 1e3}

    def _worker_loop(self):
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                lat = self._score(*job)
                with self._lock:
                    for k, v in lat.items():
                        self.worker_latency[k].append(v)
            except BaseException as exc:  # reported by the main thread
                self._worker_error = exc
            finally:
                self._jobs.task_done()

    def _submit(self, track: FaceTrack, pre) -> bool:
        import queue
        import threading

        if self._worker is None:
            self._jobs = queue.Queue(maxsize=1)
            self._worker = threading.Thread(target=self._worker_loop, name="pad-score", daemon=True)
            self._worker.start()
        if self._worker_error is not None:
            raise RuntimeError(f"PAD scoring failed: {self._worker_error!r}") from self._worker_error
        try:
            self._jobs.put_nowait((track, pre))
            return True
        except queue.Full:
            return False

    def close(self) -> None:
        """Finish the pending asynchronous job (if any) and stop the worker thread."""
        if self._worker is not None:
            self._jobs.join()
            self._jobs.put(None)
            self._worker.join()
            self._worker = None
            if self._worker_error is not None:
                raise RuntimeError(f"PAD scoring failed: {self._worker_error!r}") from self._worker_error

    # -- one frame
    def process(self, frame, capture_ms: float = 0.0) -> FrameResult:
        lat = {s: 0.0 for s in STAGES}
        lat["capture"] = capture_ms
        t0 = time.perf_counter()
        faces = self._find_faces(frame.color)
        lat["landmarks"] = (time.perf_counter() - t0) * 1e3
        results = []
        for track, box, detected in faces:
            t1 = time.perf_counter()
            pre = preprocess_frame(frame.depth, frame.depth_scale, landmarks=track.landmarks)
            lat["preprocess"] += (time.perf_counter() - t1) * 1e3
            if self.cfg.asynchronous:
                scored = self._submit(track, pre)
            else:
                for k, v in self._score(track, pre).items():
                    lat[k] += v
                scored = True
            with self._lock:
                last = dict(track.last)
                decision = track.decision
            results.append(FaceResult(
                track_id=track.track_id, box=tuple(float(v) for v in box), detected=detected,
                roi=pre.roi.as_tuple(), nearest_mm=pre.nearest_mm, pad_error=last.get("pad_error"),
                criteria=last.get("criteria", {}), plausibility=last.get("plausibility", {}),
                passed=bool(last.get("passed", False)), score=last.get("score"), decision=decision,
                landmarks=pre.landmarks, depth=last.get("depth"), scored=scored))
        self._frame += 1
        return FrameResult(frame.index, frame.timestamp_ms, results, lat)

    def all_tracks(self) -> list[FaceTrack]:
        return sorted(self.ended + self.tracks, key=lambda t: t.track_id)


# ----------------------------------------------------------------------------- capture in a thread
def prefetch(frames: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``frames`` in a background thread, ``depth`` frames ahead, so reading, decoding and
    aligning the next frame overlaps the processing of the current one. Errors are re-raised here."""
    import queue
    import threading

    q: "queue.Queue" = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def worker():
        it = iter(frames)
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer
            q.put((False, exc))
            return
        finally:
            close = getattr(it, "close", None)
            if close is not None and stop.is_set():
                try:
                    close()
                except Exception:
                    pass
        q.put((True, done))

    th = threading.Thread(target=worker, name="pad-capture", daemon=True)
    th.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        th.join()


# ----------------------------------------------------------------------------- output
def _display_available() -> bool:
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return False
    try:
        import cv2

        cv2.namedWindow("PAD")
        return True
    except Exception:
        return False


_COLOURS = {BONA_FIDE: (0, 200, 0), ATTACK: (220, 0, 0), UNDECIDED: (230, 180, 0)}


def overlay(color: np.ndarray, res: FrameResult, fps: Optional[float] = None) -> np.ndarray:
    """The colour frame with each face's box, decision, PAD error and score drawn on it (RGB)."""
    import cv2

    img = np.ascontiguousarray(color).copy()
    for f in res.faces:
        c = _COLOURS[f.decision]
        l, t, r, b = (int(round(v)) for v in f.box)
        cv2.rectangle(img, (l, t), (r, b), c, 2)
        err = "-" if f.pad_error is None else f"{f.pad_error:.2f}"
        sc = "-" if f.score is None else f"{f.score:.2f}"
        text = f"#{f.track_id} {f.decision} err={err} s={sc}"
        cv2.putText(img, text, (l, max(12, t - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, c, 1, cv2.LINE_AA)
    if fps is not None:
        cv2.putText(img, f"{fps:.1f} fps", (6, img.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return img


def _stats(values: list[float]) -> dict:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        return {"n": 0}
    return {"n": int(a.size), "mean": round(float(a.mean()), 3), "median": round(float(np.median(a)), 3),
            "p90": round(float(np.percentile(a, 90)), 3), "max": round(float(a.max()), 3)}


def run(frames: Iterable, enhancer, config: PadConfig = PadConfig(), out_dir: Optional[str | os.PathLike] = None,
        display: bool = False, source: str = "", max_frames: Optional[int] = None,
        on_frame=None, prefetch_frames: int = 2, preset: str = "custom") -> dict:
    """Run the PAD loop over ``frames`` (RGBDFrame iterable); returns the summary dict.

    With ``out_dir``: ``frames.jsonl`` (written as ``frames.jsonl.partial`` and renamed at the end),
    ``summary.json`` and ``last_overlay.png``. ``on_frame(FrameResult)`` is called for each frame.
    ``prefetch_frames`` > 0 reads the source in a background thread (capture overlaps processing;
    the "capture" latency is then the time the loop waited for a frame).
    """
    from prnet_synth.atomic import atomic_write_json, provenance
    from prnet_synth.conventions import write_png

    proc = PadProcessor(enhancer, config)
    out = Path(out_dir) if out_dir is not None else None
    log_fh = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        log_fh = open(out / "frames.jsonl.partial", "w")
    lat = {s: [] for s in STAGES}
    total = []
    n = 0
    last = None
    it: Iterator = prefetch(frames, prefetch_frames) if prefetch_frames > 0 else iter(frames)
    start = time.perf_counter()
    t_prev = start
    fps_now = None
    try:
        while max_frames is None or n < max_frames:
            t0 = time.perf_counter()
            try:
                frame = next(it)
            except StopIteration:
                break
            cap = (time.perf_counter() - t0) * 1e3
            res = proc.process(frame, capture_ms=cap)
            n += 1
            now = time.perf_counter()
            total.append((now - t0) * 1e3)
            inst = 1.0 / max(now - t_prev, 1e-9)
            fps_now = inst if fps_now is None else 0.9 * fps_now + 0.1 * inst   # smoothed for the overlay
            t_prev = now
            for s in STAGES:
                lat[s].append(res.latency_ms[s])
            if log_fh is not None:
                log_fh.write(json.dumps(res.as_json()) + "\n")
                log_fh.flush()
            if on_frame is not None:
                on_frame(res)
            last = (frame.color, res, fps_now)      # drawn once at the end when there is no display
            if display:
                import cv2

                cv2.imshow("PAD", overlay(*last)[..., ::-1])
                if (cv2.waitKey(1) & 0xFF) in (27, ord("q")):
                    break
    finally:
        wall = time.perf_counter() - start
        close = getattr(it, "close", None)
        if close is not None:
            close()
        if log_fh is not None:
            log_fh.close()
        proc.close()
    if config.asynchronous:   # enhancement and PAD ran in the worker: its own timings
        for s in ("enhancement", "pad"):
            lat[s] = list(proc.worker_latency[s])
    tracks = [{"track": t.track_id, "frames_scored": t.frames, "decision": t.decision,
               "passed_in_window": int(sum(t.history)), "window_frames": len(t.history)} for t in proc.all_tracks()]
    scored = sum(t["frames_scored"] for t in tracks)
    summary = {
        "provenance": provenance(preset, None, source or "frames", config=config.to_dict()),
        "enhancer": getattr(enhancer, "label", str(enhancer)), "enhancer_backend": getattr(enhancer, "kind", ""),
        "frames": n, "wall_s": round(wall, 3), "fps": round(n / wall, 3) if wall > 0 and n else 0.0,
        "faces_scored": scored, "scored_per_s": round(scored / wall, 3) if wall > 0 else 0.0,
        "latency_ms": {s: _stats(v) for s, v in lat.items()}, "frame_total_ms": _stats(total),
        "tracks": tracks, "decision": _overall(tracks),
    }
    if out is not None:
        os.replace(out / "frames.jsonl.partial", out / "frames.jsonl")
        if last is not None:
            write_png(out / "last_overlay.png", overlay(*last))
        atomic_write_json(out / "summary.json", summary)
    return summary


def _overall(tracks: list[dict]) -> str:
    """The recording's decision: attack if any face was decided attack, bona fide if a face was accepted
    and none rejected, else undecided."""
    ds = {t["decision"] for t in tracks}
    if ATTACK in ds:
        return ATTACK
    if BONA_FIDE in ds:
        return BONA_FIDE
    return UNDECIDED


# ----------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m experiments.pad.realtime", description=__doc__.split("\n\n")[0])
    p.add_argument("--source", required=True, help="'live' (a D435), a .bag/.db3 recording, or a folder of PNG pairs")
    p.add_argument("--enhancer", default="DL-Delta-1", help="enhancer label (default DL-Delta-1; 'None' = no enhancement)")
    p.add_argument("--tflite", default=None, help="run this TFLite export of the enhancer instead of Keras")
    p.add_argument("--weights", default=None, help="Keras weights file (default: the trained weights of --weights-preset)")
    p.add_argument("--weights-preset", default="best", choices=("best", "quick", "cpu", "paper"),
                   help="shipped U-Net weights (default best: paper > cpu > quick)")
    p.add_argument("--tflite-face-range", action="store_true",
                   help="the --tflite network was trained on face-range depth (e.g. exported from cpu weights)")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help="PAD config preset (default: 'live' for a camera, else 'default')")
    p.add_argument("--config", default=None, help="JSON file overriding PadConfig fields")
    p.add_argument("--out", default=None, help="folder for frames.jsonl / summary.json (default results/pad/<source>)")
    p.add_argument("--display", default="auto", choices=("auto", "on", "off"))
    p.add_argument("--max-frames", type=int, default=None)
    p.add_argument("--async", dest="asynchronous", action="store_true",
                   help="score in a worker thread (frames arriving meanwhile are tracked, not scored)")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = build_parser().parse_args(argv)
    from experiments.datasets.realsense import open_source
    from prnet_synth.paths import results_dir

    try:
        preset = args.preset or ("live" if args.source == "live" else "default")
        cfg = load_config(args.config, preset)
        if args.asynchronous:
            cfg = dataclasses.replace(cfg, asynchronous=True)
        enhancer = make_enhancer(args.enhancer, tflite=args.tflite, weights=args.weights, preset=args.weights_preset,
                                 tflite_face_range=args.tflite_face_range)
    except Exception as exc:  # a clear message, no traceback, for user errors
        name = type(exc).__name__
        print(f"error: {exc}" + ("\nhint: run with --enhancer None to score unenhanced depth"
                                 if name == "EnhancerUnavailableError" else ""), file=sys.stderr)
        return 2
    display = args.display == "on" or (args.display == "auto" and _display_available())
    out = args.out
    if out is None and not display:
        stem = "live" if args.source == "live" else Path(args.source).name.replace(".", "_")
        out = results_dir() / "pad" / stem
    try:
        frames = open_source(args.source)
        summary = run(frames, enhancer, cfg, out_dir=out, display=display, source=str(args.source),
                      max_frames=args.max_frames, preset=preset + (f"+{args.config}" if args.config else ""))
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    lat = summary["latency_ms"]
    print(f"{summary['frames']} frames, {summary['fps']:.2f} fps; median ms: "
          + ", ".join(f"{s} {lat[s].get('median', 0):.1f}" for s in STAGES))
    for t in summary["tracks"]:
        print(f"face #{t['track']}: {t['decision']} ({t['passed_in_window']}/{t['window_frames']} frames passed, "
              f"{t['frames_scored']} scored)")
    print(f"decision: {summary['decision']}" + (f"; log in {out}" if out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
