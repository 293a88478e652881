"""Staged training of the U-Net enhancers (Schlett et al., IV-C), resumable mid-curriculum.

``train_enhancers(labels, preset, seed, out_dir=None, data=None)`` trains DL-Alpha, DL-Beta,
DL-Gamma and DL-Delta-1..4 with the paper's curriculum (``curriculum(label, preset)``):

* DL-Alpha: session "plain" (70,000 plain pairs), session "blurred" (60,000 blurred-background
  pairs), then session "main": 240,000 pairs with randomised hole values in 8 stages of 30,000
  pairs x 10 epochs. DL-Beta and DL-Gamma: the "main" session only (the same pairs).
* DL-Delta-n: 60,000 ground truths (the first ones of the main set), each with the three variants
  plain / random background / blurred background interleaved; 6 stages of 10,000 ground truths
  (30,000 pairs) x 10 epochs. DL-Delta-1 starts from scratch, DL-Delta-n from DL-Delta-(n-1).

Inputs are the degraded images as float in [0, 1] with holes at 1.0, targets the ground truths in the
same encoding (``prnet_synth.conventions.to_float``). Ground truths come from
``prnet_synth.procedural.generate`` (default), a directory of 16-bit GT PNGs, a uint16 NxHxW array,
or "toy" (``degrade.toyfaces``); pairs are degraded on the fly with ``degrade.degrade_batch``.

A model is saved only when its training loss improved (``keras.callbacks.ModelCheckpoint``,
``save_best_only=True``, monitor "loss"; the best value restarts with each training session). After
every epoch the full training state (model + optimiser, place in the curriculum, best loss) is
written atomically, so a killed run resumes at the next epoch. Progress is printed per stage and
epoch; every model has a CSV training log with a provenance sidecar (``<label>.json``: code version,
preset, seed, data, label). A ``tf.distribute`` strategy is chosen automatically
(MirroredStrategy on several GPUs) and mixed precision is used on GPUs only.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from prnet_synth.atomic import atomic_save_keras_model, atomic_write_json, atomic_write_text, provenance
from prnet_synth.conventions import read_depth_png

from .enhancer_presets import EnhancerPreset, get_preset, width_for
from .unet import ENHANCER_LABELS, any_size_copy, base_label, build_enhancer_network, to_float16_model

__all__ = [
    "Session", "curriculum", "GroundTruthSource", "make_source", "choose_strategy", "train_enhancers",
    "export_best_so_far",
    "train_one", "derive_seed", "ORDER", "PairCache", "stage_pairs", "sheet_ground_truths", "training_plan",
    "stage_shape", "total_steps", "learning_rate", "log_sidecar_from_weights",
]

log = logging.getLogger("models.training")

ORDER = ENHANCER_LABELS
RANDOM, PLAIN, BLURRED = "random_background", "plain", "blurred_background"


# ----------------------------------------------------------------------------- curriculum
@dataclass(frozen=True)
class Session:
    """One training session: ``n_gt`` ground truths from index ``gt_start``, each degraded once per
    entry of ``variants`` (interleaved), in stages of ``stage_gts`` ground truths x ``epochs``."""

    name: str
    variants: tuple[str, ...]
    gt_start: int
    n_gt: int
    stage_gts: int
    epochs: int

    @property
    def n_stages(self) -> int:
        return math.ceil(self.n_gt / self.stage_gts)

    def images(self, stage: Optional[int] = None) -> int:
        """Training images of stage ``stage`` (default: the whole session): GTs x variants x epochs."""
        n_gt = self.n_gt if stage is None else self.stage(stage)[1]
        return n_gt * len(self.variants) * self.epochs

    def stage(self, j: int) -> tuple[int, int]:
        """(first ground-truth index, number of ground truths) of stage ``j``."""
        start = j * self.stage_gts
        return self.gt_start + start, min(self.stage_gts, self.n_gt - start)


def curriculum(label: str, preset: "str | EnhancerPreset") -> list[Session]:
    """The sessions of IV-C for ``label`` ("DL-Delta-n": the schedule of one repetition)."""
    p = get_preset(preset)
    base_label(label)
    main = Session("main", (RANDOM,), 0, p.main_pairs, p.stage_pairs, p.epochs)
    if label == "DL-Alpha":
        out = []
        if p.alpha_plain_pairs:
            out.append(Session("plain", (PLAIN,), p.main_pairs, p.alpha_plain_pairs, p.stage_pairs, p.epochs))
        if p.alpha_blurred_pairs:
            out.append(Session("blurred", (BLURRED,), p.main_pairs + p.alpha_plain_pairs, p.alpha_blurred_pairs,
                               p.stage_pairs, p.epochs))
        return out + [main]
    if label in ("DL-Beta", "DL-Gamma"):
        return [main]
    if label == "DL-Delta":
        label = "DL-Delta-1"
    n = int(label.rsplit("-", 1)[1])
    if n > p.delta_repeats:
        raise ValueError(f"{label}: preset {p.name!r} has only {p.delta_repeats} DL-Delta repetitions")
    return [Session("delta", (PLAIN, RANDOM, BLURRED), 0, p.delta_gts, p.delta_stage_gts,
                    p.delta_epochs if p.delta_epochs is not None else p.epochs)]


def previous_model(label: str) -> Optional[str]:
    """DL-Delta-n (n > 1) continues from DL-Delta-(n-1); every other model starts from scratch."""
    if label.startswith("DL-Delta-"):
        n = int(label.rsplit("-", 1)[1])
        return f"DL-Delta-{n - 1}" if n > 1 else None
    return None


def derive_seed(*parts) -> int:
    """A 31-bit seed derived from integers and strings (stable across runs and platforms)."""
    ints = []
    for p in parts:
        if isinstance(p, str):
            ints.extend(p.encode("utf-8"))
            ints.append(255)
        else:
            ints.append(int(p) & 0xFFFFFFFF)
    return int(np.random.SeedSequence(ints).generate_state(1)[0] & 0x7FFFFFFF)


# ----------------------------------------------------------------------------- ground truth
class GroundTruthSource:
    """Ground truth by index: ``get(start, count)`` -> uint16 count x 256 x 256 (65535 = hole)."""

    description = "ground truth"

    def get(self, start: int, count: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class ArraySource(GroundTruthSource):
    """A uint16 NxHxW array; indices wrap around."""

    def __init__(self, array: np.ndarray, description: str = "array"):
        arr = np.asarray(array)
        if arr.dtype != np.uint16 or arr.ndim != 3 or len(arr) == 0:
            raise ValueError(f"ground-truth array: expected uint16 NxHxW with N >= 1, got {arr.dtype} {arr.shape}")
        self.array = arr
        self.description = description

    def get(self, start, count):
        idx = (np.arange(start, start + count) % len(self.array))
        return self.array[idx]


class BoundedCache:
    """Arrays (or tuples of arrays) by key, oldest dropped first once they would hold more than
    ``max_bytes``; the newest ``min_items`` are kept whatever their size. A value larger than the
    whole budget is not kept at all unless ``min_items`` asks for it."""

    def __init__(self, max_bytes: int, min_items: int = 0):
        self.max_bytes = int(max_bytes)
        self.min_items = int(min_items)
        self._items: dict = {}
        self._bytes = 0

    @staticmethod
    def _size(value) -> int:
        return sum(a.nbytes for a in value) if isinstance(value, tuple) else value.nbytes

    def get(self, key):
        return self._items.get(key)

    def put(self, key, value):
        size = self._size(value)
        if size > self.max_bytes and self.min_items == 0:
            return
        while self._items and len(self._items) >= self.min_items and self._bytes + size > self.max_bytes:
            self._bytes -= self._size(self._items.pop(next(iter(self._items))))
        self._items[key] = value
        self._bytes += size


class ChunkedSource(GroundTruthSource):
    """Ground truth produced in chunks by ``make_chunk(chunk_index, chunk_size)``; chunks cached."""

    #: memory the chunk cache may hold (chunks are regenerated beyond it); at least 4 chunks are kept
    CACHE_BYTES = 768 * 2 ** 20

    def __init__(self, make_chunk: Callable[[int, int], np.ndarray], chunk: int, description: str):
        self.make_chunk = make_chunk
        self.chunk = int(chunk)
        self.description = description
        # DL-Alpha, DL-Beta and DL-Gamma read the same ground truths one after the other: keep as many
        # chunks as the memory budget allows, so that small presets generate each ground truth once
        self._cache = BoundedCache(self.CACHE_BYTES, min_items=4)

    def _chunk(self, c: int) -> np.ndarray:
        arr = self._cache.get(c)
        if arr is None:
            arr = np.asarray(self.make_chunk(c, self.chunk))
            if arr.dtype != np.uint16 or arr.ndim != 3:
                raise ValueError(f"{self.description}: chunk {c} is {arr.dtype} {arr.shape}, expected uint16 NxHxW")
            self._cache.put(c, arr)
        return arr

    def get(self, start, count):
        parts, i = [], start
        while i < start + count:
            c, off = divmod(i, self.chunk)
            take = min(self.chunk - off, start + count - i)
            parts.append(self._chunk(c)[off:off + take])
            i += take
        return np.concatenate(parts, 0)


class DirectorySource(GroundTruthSource):
    """16-bit GT PNGs of a directory (sorted by name, recursively); indices wrap around.

    Unreadable or wrongly formatted files are logged and skipped (the next file is used instead)."""

    def __init__(self, directory: os.PathLike | str):
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise FileNotFoundError(f"{self.directory}: ground-truth directory does not exist")
        self.files = sorted(p for p in self.directory.rglob("*.png") if p.is_file())
        if not self.files:
            raise FileNotFoundError(f"{self.directory}: no .png ground-truth images found")
        self.description = f"GT PNG directory {self.directory.name} ({len(self.files)} files)"
        self._bad: set[Path] = set()

    def _read(self, i: int) -> np.ndarray:
        for k in range(len(self.files)):
            path = self.files[(i + k) % len(self.files)]
            if path in self._bad:
                continue
            try:
                return read_depth_png(path)
            except (ValueError, OSError) as exc:
                log.warning("skipping ground-truth file %s: %s", path, exc)
                self._bad.add(path)
        raise ValueError(f"{self.directory}: none of the {len(self.files)} PNG files is a 256x256 16-bit depth image")

    def get(self, start, count):
        return np.stack([self._read(i) for i in range(start, start + count)])


def make_source(data, seed: int, chunk: int = 2000) -> GroundTruthSource:
    """``data``: None (the synthetic generator ``prnet_synth.procedural``), "toy" (``degrade.toyfaces``),
    a directory of GT PNGs, a uint16 NxHxW array, or a GroundTruthSource."""
    if isinstance(data, GroundTruthSource):
        return data
    if isinstance(data, np.ndarray):
        return ArraySource(data)
    if data is None or data in ("procedural", "generator"):
        try:
            from prnet_synth import procedural
            generate_depths = procedural.generate_depths
        except (ImportError, AttributeError) as exc:
            raise RuntimeError("the synthetic ground-truth generator prnet_synth.procedural.generate_depths is not "
                               f"available ({exc}); pass data=<directory of GT PNGs> or data='toy'") from exc

        gt_seed = derive_seed(seed, "gt")

        def make(c, n):  # sample i of the training sequence is a function of (gt_seed, i) only
            return generate_depths(n, seed=gt_seed, start=c * n)   # in parallel processes (gt_workers())

        return ChunkedSource(make, chunk, "synthetic generator (prnet_synth.procedural)")
    if data == "toy":
        from degrade.toyfaces import toy_faces

        return ChunkedSource(lambda c, n: toy_faces(n, seed=derive_seed(seed, "toy", c)), chunk,
                             "toy faces (degrade.toyfaces)")
    return DirectorySource(data)


class PairCache(BoundedCache):
    """Degraded stage pairs kept in memory up to ``max_bytes`` (oldest dropped first), so that
    DL-Alpha, DL-Beta and DL-Gamma, which train on the same pairs, degrade them once."""

    def __init__(self, max_bytes: int = 512 * 2 ** 20):
        super().__init__(max_bytes)


def stage_pairs(source: GroundTruthSource, session: Session, stage: int, seed: int, repeat: int,
                degrade_chunk: int, cache: Optional[PairCache] = None,
                sheet_fraction: float = 0.0, epoch: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, ground truth) uint16 arrays of one stage, variants interleaved per ground truth.

    Degradation seeds depend on (seed, session, stage, repeat), not on the model, so DL-Alpha,
    DL-Beta and DL-Gamma see the same "240 000" pairs; each DL-Delta repetition draws fresh
    degradations of the same ground truths. With ``cache``, pairs made before are reused.
    ``sheet_fraction`` > 0 (not in the paper): that share of the stage's ground truths, chosen by
    (seed, session, stage), is replaced by face-free sheets (``sheet_ground_truths``). ``epoch`` > 0
    draws other degradations of the same ground truths (``EnhancerPreset.fresh_degradations``); epoch 0
    gives the pairs of the repeated-pairs recipe."""
    key = (session, stage, seed, repeat, degrade_chunk, float(sheet_fraction), int(epoch))
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    out, gt_rep = _make_stage_pairs(source, session, stage, seed, repeat, degrade_chunk, sheet_fraction, epoch)
    if cache is not None:
        cache.put(key, (out, gt_rep))
    return out, gt_rep


def sheet_ground_truths(gt: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``gt`` with round(fraction x N) ground truths, chosen by ``seed``, replaced by face-free sheets
    (``prnet_synth.sheets.random_sheets``, seeded by ``seed``); ``gt`` itself is not changed."""
    k = int(round(float(fraction) * len(gt)))
    if k <= 0:
        return gt
    from prnet_synth.sheets import random_sheets

    rng = np.random.default_rng(derive_seed(seed, "which"))
    idx = np.sort(rng.choice(len(gt), size=min(k, len(gt)), replace=False))
    out = gt.copy()
    out[idx] = random_sheets(len(idx), derive_seed(seed, "sheets"), gt.shape[1:])
    return out


def _make_stage_pairs(source, session, stage, seed, repeat, degrade_chunk, sheet_fraction=0.0, epoch=0):
    import degrade

    start, n = session.stage(stage)
    # the ground-truth scaling of the paper-default degradation (face range or fixed 250 mm), as the
    # test pairs of IV-D (experiments step 01) have it
    gt = degrade.normalize_ground_truth(source.get(start, n), "paper")
    if sheet_fraction > 0:
        gt = sheet_ground_truths(gt, sheet_fraction, derive_seed(seed, "sheet", session.name, stage))
    nv = len(session.variants)
    gt_rep = np.repeat(gt, nv, axis=0)                       # g0 g0 g0 g1 g1 g1 ...
    variants = [session.variants[i % nv] for i in range(len(gt_rep))]
    out = np.empty_like(gt_rep)
    for k, i in enumerate(range(0, len(gt_rep), degrade_chunk)):
        chunk = gt_rep[i:i + degrade_chunk]
        var = variants[i:i + degrade_chunk]
        m = len(chunk)
        if m < degrade_chunk:  # keep one batch shape (the renderer is XLA-compiled per shape)
            pad = degrade_chunk - m
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)])
            var = var + [var[-1]] * pad
        s = derive_seed(seed, "degrade", session.name, stage, repeat, k)
        if epoch:
            s = derive_seed(s, "epoch", epoch)
        out[i:i + m] = np.asarray(degrade.degrade_batch(chunk, s, variant=var))[:m]
    return out, gt_rep


# ----------------------------------------------------------------------------- strategy
def choose_strategy():
    """MirroredStrategy on several GPUs, OneDeviceStrategy on one GPU, the default strategy on CPU."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    if len(gpus) == 1:
        return tf.distribute.OneDeviceStrategy(gpus[0].name)
    return tf.distribute.get_strategy()


def set_precision_policy() -> str:
    """mixed_float16 on GPU, float32 otherwise (mixed precision is slower on CPUs); returns the name."""
    import keras
    import tensorflow as tf

    name = "mixed_float16" if tf.config.list_logical_devices("GPU") else "float32"
    keras.mixed_precision.set_dtype_policy(name)
    return name


# ----------------------------------------------------------------------------- data feeding
#: "broken" input pixel for ``EnhancerPreset.hole_weight``: a hole, or this far off the ground truth
BROKEN_MM = 20.0


def pixel_weights(x: np.ndarray, y: np.ndarray, hole_weight: float) -> np.ndarray:
    """Loss weights for float inputs ``x`` and targets ``y`` (NxHxWx1 in [0, 1], holes 1.0): 1 +
    ``hole_weight`` where the target is valid and the input is a hole or more than ``BROKEN_MM`` off,
    1 elsewhere; NxHxW float32."""
    from prnet_synth.conventions import UNITS_PER_MM

    xi, yi = x[..., 0], y[..., 0]
    broken = (yi < 1.0) & ((xi >= 1.0) | (np.abs(xi - yi) > BROKEN_MM * UNITS_PER_MM / 65535.0))
    return (1.0 + float(hole_weight) * broken).astype(np.float32)


def _batches(deg: np.ndarray, gt: np.ndarray, batch: int, size: int, seed: int, start_epoch: int = 0,
             hole_weight: float = 0.0, regen: Optional[Callable[[int], tuple[np.ndarray, np.ndarray]]] = None):
    """keras.utils.PyDataset of shuffled (degraded, target) float batches in [0, 1], random crops of
    ``size`` px at native scale when ``size`` is smaller than the images; with ``hole_weight`` > 0
    also per-pixel loss weights (``pixel_weights``). ``regen(epoch)``: the pairs of that epoch
    (fresh degradations), used from the epoch after ``start_epoch`` on (and for ``start_epoch`` > 0).

    The epoch advances in ``on_epoch_begin`` from the second call on: Keras' ``fit`` also calls
    ``on_epoch_end`` once before the first epoch (``EpochIterator.reset``), which must neither skip
    epoch ``start_epoch``'s pairs nor degrade a set of pairs that is never trained on."""
    import keras

    class Pairs(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.epoch = start_epoch
            self.started = False
            self.deg, self.gt = (deg, gt) if regen is None or start_epoch == 0 else regen(start_epoch)
            self.order = self._order()

        def _order(self):
            return np.random.default_rng(derive_seed(seed, "shuffle", self.epoch)).permutation(len(self.deg))

        def __len__(self):
            return math.ceil(len(self.deg) / batch)

        def __getitem__(self, i):
            idx = np.sort(self.order[i * batch:(i + 1) * batch])
            x, y = self.deg[idx], self.gt[idx]
            h, w = x.shape[1:3]
            if size < h or size < w:
                rng = np.random.default_rng(derive_seed(seed, "crop", self.epoch, i))
                xs, ys = np.empty((len(idx), size, size), np.uint16), np.empty((len(idx), size, size), np.uint16)
                for k in range(len(idx)):
                    r, c = rng.integers(0, h - size + 1), rng.integers(0, w - size + 1)
                    xs[k], ys[k] = x[k, r:r + size, c:c + size], y[k, r:r + size, c:c + size]
                x, y = xs, ys
            scale = np.float32(1.0 / 65535.0)
            xf, yf = x[..., None].astype(np.float32) * scale, y[..., None].astype(np.float32) * scale
            return (xf, yf, pixel_weights(xf, yf, hole_weight)) if hole_weight > 0 else (xf, yf)

        def on_epoch_begin(self):
            if not self.started:             # epoch start_epoch: the pairs made in __init__
                self.started = True
                return
            self.epoch += 1
            if regen is not None:
                self.deg, self.gt = regen(self.epoch)
            self.order = self._order()

    return Pairs()


# ----------------------------------------------------------------------------- state and logs
@dataclass
class _State:
    label: str
    preset: str
    seed: int
    session: int = 0
    stage: int = 0
    epoch: int = 0          # epochs completed in the current stage
    global_epoch: int = 0   # epochs completed in total
    best: Optional[float] = None
    latest: Optional[str] = None
    done: bool = False
    seconds: float = 0.0
    code_version: Optional[str] = None   # the code the training started with (recorded in the weights' provenance)

    @classmethod
    def load(cls, path: Path) -> Optional["_State"]:
        if not path.is_file():
            return None
        try:
            return cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: corrupt training state ({exc}); delete it to restart this model") from exc

    def save(self, path: Path):
        atomic_write_json(path, asdict(self))


_CSV_COLUMNS = ("model", "session", "stage", "epoch", "global_epoch", "pairs", "loss", "best", "saved", "seconds")


def _write_csv(path: Path, rows: list[dict], prov: Optional[dict] = None):
    """The training log, then (with ``prov``) its sidecar ``<label>.json``: the provenance record,
    the columns and the row count, rewritten with every CSV write (both atomically)."""
    lines = [",".join(_CSV_COLUMNS)]
    for r in rows:
        lines.append(",".join(str(r[c]) for c in _CSV_COLUMNS))
    atomic_write_text(path, "\n".join(lines) + "\n")
    if prov is not None:
        _write_sidecar(path, prov, len(rows))


def _write_sidecar(path: Path, prov: dict, n_rows: int) -> dict:
    """The training log's sidecar ``<label>.json``: provenance, columns, row count (atomically)."""
    side = {"provenance": prov, "columns": list(_CSV_COLUMNS), "rows": int(n_rows)}
    atomic_write_json(path.with_suffix(".json"), side)
    return side


def _read_csv(path: Path, upto_global_epoch: int) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    text = path.read_text().strip().splitlines()
    for line in text[1:]:
        vals = line.split(",")
        if len(vals) != len(_CSV_COLUMNS):
            continue
        r = dict(zip(_CSV_COLUMNS, vals))
        if int(r["global_epoch"]) <= upto_global_epoch:
            rows.append(r)
    return rows


def log_sidecar_from_weights(csv_path: "os.PathLike | str", weights_record: "os.PathLike | str") -> dict:
    """Write the sidecar ``<label>.json`` of a training log written before logs had one, from the
    record of the weights the same run exported (``results/weights/<preset>/<label>.json``).

    The record is accepted as the log's only after three checks against the log itself: the same model
    in every row, one row per trained epoch (``epochs``) and the log's lowest loss equal to the record's
    ``best_loss`` (the log prints six significant digits). An existing sidecar is never replaced (it came
    from the training). Returns the sidecar written; ``ValueError`` names the file and the mismatch."""
    csv_path, weights_record = Path(csv_path), Path(weights_record)
    sidecar = csv_path.with_suffix(".json")
    if sidecar.exists():
        raise ValueError(f"{sidecar}: the log already has a sidecar; not replaced")
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path}: no such training log")
    try:
        rec = json.loads(weights_record.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{weights_record}: no such weights record") from None
    except ValueError as exc:
        raise ValueError(f"{weights_record}: not a JSON weights record ({exc})") from None
    missing = [k for k in ("model", "epochs", "best_loss", "preset", "seed", "code_version") if k not in rec]
    if missing:
        raise ValueError(f"{weights_record}: weights record lacks {', '.join(missing)}")
    rows = _read_csv(csv_path, 1 << 30)
    if not rows:
        raise ValueError(f"{csv_path}: no log rows with the columns {', '.join(_CSV_COLUMNS)}")
    models = sorted({r["model"] for r in rows})
    if models != [rec["model"]]:
        raise ValueError(f"{csv_path}: rows of {models}, the record {weights_record.name} is of {rec['model']}")
    if len(rows) != int(rec["epochs"]):
        raise ValueError(f"{csv_path}: {len(rows)} rows, the record {weights_record.name} trained "
                         f"{rec['epochs']} epochs: not the same run")
    low, best = min(float(r["loss"]) for r in rows), float(rec["best_loss"])
    if abs(low - best) > 1e-5 * abs(best) + 1e-9:
        raise ValueError(f"{csv_path}: lowest logged loss {low:g}, the record {weights_record.name} saved "
                         f"{best:g}: not the same run")
    prov = {"preset": rec["preset"], "seed": rec["seed"], "data": rec.get("data"),
            "code_version": rec["code_version"], "code_version_written": rec["code_version"],
            "created_utc": rec.get("created_utc"), "label": rec["model"],
            "from_weights_record": weights_record.name}
    return _write_sidecar(csv_path, prov, len(rows))


def _paths(label: str, preset: str, out_dir: Optional[Path]):
    from prnet_synth.paths import results_dir, weights_path

    if out_dir is None:
        weights = weights_path(label, preset)
        logs = results_dir() / "training" / preset
    else:
        weights = Path(out_dir) / f"{label}.keras"
        logs = Path(out_dir) / "logs"
    work = logs / "_work" / label
    return weights, logs / f"{label}.csv", work


# ----------------------------------------------------------------------------- training
def stage_shape(p: EnhancerPreset, session: Session, stage: int, image_size: int = 256) -> tuple[int, int]:
    """(crop side, batch size) of a stage: whole images in the last ``full_size_stages`` stages of
    a session, ``train_size`` crops before."""
    if p.full_size_stages and stage >= session.n_stages - p.full_size_stages:
        return image_size, int(p.full_size_batch or p.batch_size)
    return min(p.train_size, image_size), int(p.batch_size)


def total_steps(p: EnhancerPreset, sessions: Sequence[Session], replicas: int = 1) -> int:
    """Optimiser steps of a model's whole curriculum (the span of the learning-rate schedule)."""
    n = 0
    for sess in sessions:
        for j in range(sess.n_stages):
            _, batch = stage_shape(p, sess, j)
            n += sess.epochs * math.ceil(sess.stage(j)[1] * len(sess.variants) / (batch * replicas))
    return max(n, 1)


def learning_rate(p: EnhancerPreset, steps: int):
    """The preset's learning rate: a float, or a cosine schedule with linear warm-up over ``steps``."""
    import keras

    if p.lr_schedule == "constant":
        return p.learning_rate
    warm = int(round(p.warmup_fraction * steps))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warm else p.learning_rate, decay_steps=max(steps - warm, 1), alpha=0.0,
        warmup_target=p.learning_rate if warm else None, warmup_steps=warm)


def _train_input_size(p: EnhancerPreset) -> Optional[int]:
    """The training model's fixed input side: the crop size when every stage trains on it, else None
    (any size). A fixed shape trains about 2x faster on the CPU than an unknown one (measured with
    DL-Delta at 128 px; oneDNN plans its convolutions for the known shape)."""
    return None if p.full_size_stages else int(p.train_size)


def _compile(model, p: EnhancerPreset, steps: int = 1):
    import keras

    loss = {"mse": keras.losses.MeanSquaredError(), "mae": keras.losses.MeanAbsoluteError()}[p.loss]
    model.compile(optimizer=keras.optimizers.Adam(learning_rate(p, steps)), loss=loss)


def _export(best_weights: Path, label: str, p: EnhancerPreset, weights: Path):
    """Write the best weights as an uncompiled .keras model (no optimiser state), atomically: float32, or
    float16 variables with ``EnhancerPreset.store_float16`` (``models.unet.load_enhancer_model`` loads
    both as float32)."""
    import keras

    model = build_enhancer_network(label, width_for(p, label), input_size=None, min_width=p.min_width, name=label.replace("-", "_"))
    model.load_weights(best_weights)
    if p.store_float16:
        model = to_float16_model(model)
    atomic_save_keras_model(model, weights)
    return weights


def train_one(label: str, preset: "str | EnhancerPreset", seed: int, out_dir=None, data=None,
              source: Optional[GroundTruthSource] = None, force: bool = False, verbose: bool = True,
              stop_after_epochs: Optional[int] = None, pair_cache: Optional[PairCache] = None,
              budget_seconds: Optional[float] = None, callbacks: Sequence = (), export_on_stop: bool = False,
              strategy=None) -> dict:
    """Train one enhancer (its previous DL-Delta model must exist). Returns a summary dict.

    ``stop_after_epochs``: return (unfinished, resumable) after that many epochs of this call.
    ``budget_seconds``: stop at the first epoch end after that much time in this call (resumable:
    the next call continues there). ``callbacks``: more Keras callbacks for every ``fit``.
    ``export_on_stop``: when the budget stops the run, also export the best weights so far (provenance
    ``complete: false``); a later call still resumes the schedule. ``strategy``: a ``tf.distribute``
    strategy (default ``choose_strategy()``); each step takes ``batch_size`` pairs per replica, so the
    global batch is ``batch_size`` x replicas and the schedule's step count follows it."""
    import keras

    p = get_preset(preset)
    label_base = base_label(label)
    if label_base == "DL-Delta" and label == "DL-Delta":
        label = "DL-Delta-1"
    weights, csv_path, work = _paths(label, p.name, Path(out_dir) if out_dir is not None else None)
    state_path = work / "state.json"
    state = _State.load(state_path)
    if state is not None and (state.preset != p.name or state.seed != seed):
        log.warning("%s: discarding the training state of preset %s seed %s (now %s seed %s)", label,
                    state.preset, state.seed, p.name, seed)
        state = None
    if weights.is_file() and not force and (state is None or state.done):
        _say(verbose, f"{label}: weights exist at {weights}, skipped (force=True retrains)")
        return {"label": label, "weights": str(weights), "status": "exists"}
    if force and state is not None and state.done:
        state = None
    sessions = curriculum(label, p)
    source = source or make_source(data, seed, p.gt_chunk)
    strategy = strategy if strategy is not None else choose_strategy()
    policy = set_precision_policy()
    best_file = work / "best.weights.h5"
    work.mkdir(parents=True, exist_ok=True)

    # the initial weights follow the seed and the label, not what the process ran before
    keras.utils.set_random_seed(derive_seed(seed, "init", label))
    with strategy.scope():
        model = build_enhancer_network(label, width_for(p, label), input_size=_train_input_size(p), min_width=p.min_width,
                                       name=label.replace("-", "_"))
        _compile(model, p, total_steps(p, sessions, strategy.num_replicas_in_sync))
        if state is not None and state.latest and (work / state.latest).is_file():
            model = keras.models.load_model(work / state.latest, compile=True)
            _say(verbose, f"{label}: resuming at session {state.session + 1}/{len(sessions)} "
                          f"stage {state.stage + 1} epoch {state.epoch + 1} (after {state.global_epoch} epochs)")
        else:
            from prnet_synth.atomic import code_version

            state = _State(label=label, preset=p.name, seed=seed, code_version=code_version())
            prev = previous_model(label)
            if prev is not None:
                prev_weights, _, _ = _paths(prev, p.name, Path(out_dir) if out_dir is not None else None)
                if not prev_weights.is_file():
                    raise FileNotFoundError(f"{prev_weights}: {label} starts from {prev}, which is not trained yet")
                model.set_weights(keras.models.load_model(prev_weights, compile=False).get_weights())
                _say(verbose, f"{label}: starting from {prev} ({prev_weights.name})")
            if best_file.exists():
                best_file.unlink()
    rows = _read_csv(csv_path, state.global_epoch)
    # the log's provenance: like the weights' record, code_version is the code the training started
    # with; code_version_written the code of this call (a resumed run may append under later code)
    log_prov = provenance(p.name, seed, source.description, label=label)
    log_prov["code_version_written"] = log_prov["code_version"]
    log_prov["code_version"] = state.code_version or log_prov["code_version"]
    repeat = int(label.rsplit("-", 1)[1]) if label.startswith("DL-Delta-") else 0
    epochs_this_call = 0
    t_start = time.perf_counter()
    sec0 = state.seconds

    class Tracker(keras.callbacks.Callback):
        """After ModelCheckpoint: CSV row, progress line, then the resumable state (in that order)."""

        def __init__(self, sess_i, sess, stage_i, n_pairs):
            super().__init__()
            self.sess_i, self.sess, self.stage_i, self.n_pairs = sess_i, sess, stage_i, n_pairs
            self.t0 = time.perf_counter()

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            nonlocal epochs_this_call
            loss = float(logs["loss"])
            saved = state.best is None or loss < state.best
            if saved:
                state.best = loss
            state.epoch = epoch + 1
            state.global_epoch += 1
            dt = time.perf_counter() - self.t0
            rows.append({"model": label, "session": self.sess.name, "stage": self.stage_i + 1, "epoch": epoch + 1,
                         "global_epoch": state.global_epoch, "pairs": self.n_pairs, "loss": f"{loss:.6g}",
                         "best": f"{state.best:.6g}", "saved": int(saved), "seconds": f"{dt:.2f}"})
            _write_csv(csv_path, rows, log_prov)
            _say(verbose, f"{label} | {self.sess.name} {self.sess_i + 1}/{len(sessions)} | stage "
                          f"{self.stage_i + 1}/{self.sess.n_stages} ({self.n_pairs} pairs) | epoch "
                          f"{epoch + 1}/{self.sess.epochs} | loss {loss:.5f}{' (saved)' if saved else ''} | {dt:.1f} s")
            name = f"latest-{state.global_epoch:05d}.keras"
            self.model.save(work / name)
            old, state.latest = state.latest, name
            state.seconds = sec0 + time.perf_counter() - t_start
            state.save(state_path)
            if old and old != name and (work / old).exists():
                (work / old).unlink()
            epochs_this_call += 1
            if stop_after_epochs is not None and epochs_this_call >= stop_after_epochs:
                self.model.stop_training = True
            if budget_seconds is not None and time.perf_counter() - t_start >= budget_seconds:
                self.model.stop_training = True
                budget_hit[0] = True

    budget_hit = [False]
    for si in range(state.session, len(sessions)):
        sess = sessions[si]
        for sj in range(state.stage if si == state.session else 0, sess.n_stages):
            if state.session != si or state.stage != sj:
                state.session, state.stage, state.epoch = si, sj, 0
                if sj == 0:
                    state.best = None  # a new training session: ModelCheckpoint starts afresh
                state.save(state_path)
            if state.epoch >= sess.epochs:
                continue
            ts = time.perf_counter()
            deg, gt = stage_pairs(source, sess, sj, seed, repeat, p.degrade_chunk, pair_cache,
                                      sheet_fraction=p.sheet_fraction)
            _say(verbose, f"{label} | {sess.name} {si + 1}/{len(sessions)} | stage {sj + 1}/{sess.n_stages}: "
                          f"{len(deg)} pairs ({'+'.join(sess.variants)}) ready in {time.perf_counter() - ts:.1f} s")
            size, batch = stage_shape(p, sess, sj, gt.shape[1])
            fixed = model.input_shape[1]
            if fixed is not None and fixed != size:   # images smaller than the crop: an any-size copy
                model = any_size_copy(model)
                _compile(model, p, total_steps(p, sessions, strategy.num_replicas_in_sync))
            regen = None
            if p.fresh_degradations:
                def regen(e, sess=sess, sj=sj):
                    return stage_pairs(source, sess, sj, seed, repeat, p.degrade_chunk, None,
                                       sheet_fraction=p.sheet_fraction, epoch=e)
            data_seq = _batches(deg, gt, batch * strategy.num_replicas_in_sync, size,
                                derive_seed(seed, label, si, sj), start_epoch=state.epoch,
                                hole_weight=p.hole_weight, regen=regen)
            checkpoint = keras.callbacks.ModelCheckpoint(
                str(best_file), monitor="loss", mode="min", save_best_only=True, save_weights_only=True,
                initial_value_threshold=state.best)
            model.fit(data_seq, epochs=sess.epochs, initial_epoch=state.epoch, verbose=0, shuffle=False,
                      callbacks=[checkpoint, Tracker(si, sess, sj, len(deg)), *callbacks])
            if (stop_after_epochs is not None and epochs_this_call >= stop_after_epochs) or budget_hit[0]:
                if budget_hit[0]:
                    _say(verbose, f"{label}: time budget reached after {state.global_epoch} epochs; "
                                  "a later run continues from here")
                stopped = {"label": label, "status": "stopped", "global_epoch": state.global_epoch,
                           "seconds": state.seconds}
                if budget_hit[0] and export_on_stop and best_file.exists():
                    _export_with_provenance(best_file, label, p, weights, seed, source, state, policy, strategy,
                                            sessions, rows, complete=False)
                    _say(verbose, f"{label}: best weights so far exported to {weights} (schedule not finished)")
                    stopped["weights"] = str(weights)
                return stopped
    _export_with_provenance(best_file, label, p, weights, seed, source, state, policy, strategy, sessions, rows,
                            complete=True)
    state.done = True
    if state.latest and (work / state.latest).exists():
        (work / state.latest).unlink()
    if best_file.exists():  # exported to the weights file above
        best_file.unlink()
    state.latest = None
    state.save(state_path)
    _say(verbose, f"{label}: done in {state.seconds:.0f} s, best loss {state.best:.5f} -> {weights}")
    return {"label": label, "weights": str(weights), "status": "trained", "best_loss": state.best,
            "epochs": state.global_epoch, "seconds": state.seconds}


def export_best_so_far(label: str, preset: "str | EnhancerPreset", seed: int, out_dir=None, data=None) -> Path:
    """Export the best weights of a stopped, unfinished training of ``label`` (its resumable state in the
    work folder) with the provenance record ``complete: false``, without training: what
    ``train_one(..., export_on_stop=True)`` does when its budget ends. The state stays, so a later
    ``train_one`` still resumes the schedule. Returns the weights path; FileNotFoundError without a
    stopped run's best weights, ValueError for a finished or another seed's run."""
    p = get_preset(preset)
    weights, csv_path, work = _paths(label, p.name, Path(out_dir) if out_dir is not None else None)
    state = _State.load(work / "state.json")
    best_file = work / "best.weights.h5"
    if state is not None and state.done:
        raise ValueError(f"{work}: the training of {label} finished; its weights are {weights}")
    if state is None or not best_file.is_file():
        raise FileNotFoundError(f"{work}: no stopped training of {label} (preset {p.name}) with best weights to export")
    if state.preset != p.name or state.seed != seed:
        raise ValueError(f"{work}: the stopped training is preset {state.preset} seed {state.seed}, not {p.name} seed {seed}")
    rows = _read_csv(csv_path, state.global_epoch)
    _export_with_provenance(best_file, label, p, weights, seed, make_source(data, seed, p.gt_chunk), state,
                            set_precision_policy(), choose_strategy(), curriculum(label, p), rows, complete=False)
    return weights


def _export_with_provenance(best_file, label, p, weights, seed, source, state, policy, strategy, sessions, rows,
                            complete: bool):
    """The weights file and its provenance record (``complete`` False: a time-boxed run stopped before
    the end of its schedule; the record says how much of it was done)."""
    _export(best_file, label, p, weights)
    from degrade import get_config

    degrade_config = get_config("paper")     # what the training pairs were degraded with
    planned = sum(sess.images() for sess in sessions)
    seen = int(sum(int(r["pairs"]) for r in rows))
    record = provenance(
        p.name, seed, source.description, model=label, best_loss=state.best, epochs=state.global_epoch,
        seconds=round(state.seconds, 1), precision=policy, replicas=strategy.num_replicas_in_sync,
        width_multiplier=width_for(p, label), min_width=p.min_width, train_size=p.train_size,
        sheet_fraction=p.sheet_fraction, hole_weight=p.hole_weight, curriculum=[asdict(s) for s in sessions],
        recipe={k: getattr(p, k) for k in ("batch_size", "learning_rate", "lr_schedule", "warmup_fraction", "loss",
                                           "fresh_degradations", "full_size_stages", "full_size_batch")},
        images_seen=seen, images_planned=int(planned), schedule_done=round(seen / max(planned, 1), 4),
        complete=bool(complete), stored_dtype="float16" if p.store_float16 else "float32",
        degradation=degrade_config.to_dict())
    # the code the training ran (started) with; the export may happen after later commits
    record["code_version_at_export"] = record["code_version"]
    record["code_version"] = state.code_version or record["code_version"]
    atomic_write_json(weights.with_suffix(".json"), record)


def _say(verbose: bool, msg: str):
    log.info(msg)
    if verbose:
        print(msg, flush=True)


def _with_dependencies(labels: Sequence[str]) -> list[str]:
    want = set()
    for label in labels:
        if label == "DL-Delta":
            label = "DL-Delta-1"
        if label not in ORDER:
            raise ValueError(f"unknown enhancer label {label!r}; expected some of {ORDER}")
        want.add(label)
        while (prev := previous_model(label)) is not None:
            want.add(prev)
            label = prev
    return [l for l in ORDER if l in want]


def training_plan(labels: Optional[Sequence[str]] = None, preset: "str | EnhancerPreset" = "quick") -> list[dict]:
    """What training ``labels`` (with their DL-Delta predecessors) under ``preset`` costs, without
    training: per model the training images it sees (ground truths x variants x epochs, summed over
    its sessions), the network's forward GFLOP per training image (``unet.conv_flops`` at the
    preset's crop size) and the training PFLOP, counted as 3 x forward (the usual estimate: the
    backward pass costs about twice the forward one)."""
    from .unet import conv_flops

    p = get_preset(preset)
    rows, flops = [], {}
    for label in _with_dependencies(labels or ORDER):
        sessions = curriculum(label, p)
        images = sum(s.images() for s in sessions)
        key = (base_label(label), width_for(p, label))
        if key not in flops:
            net = build_enhancer_network(label, key[1], input_size=p.train_size, min_width=p.min_width)
            flops[key] = conv_flops(net, p.train_size, p.train_size)
        rows.append({"label": label, "preset": p.name, "sessions": len(sessions),
                     "stages": sum(s.n_stages for s in sessions), "images": int(images),
                     "train_size": p.train_size, "width_multiplier": key[1],
                     "forward_gflop_per_image": flops[key] / 1e9,
                     "train_pflop": 3.0 * flops[key] * images / 1e15})
    return rows


def train_enhancers(labels: Optional[Sequence[str]] = None, preset: "str | EnhancerPreset" = "quick", seed: int = 0,
                    out_dir=None, data=None, force: bool = False, verbose: bool = True,
                    budget_seconds: Optional[float] = None, export_on_stop: bool = False) -> list[dict]:
    """Train the given enhancers (default: all 7, in the order Alpha, Beta, Gamma, Delta-1..4) with the
    IV-C curriculum; DL-Delta-n pulls in DL-Delta-1..n-1. Finished models are skipped, an interrupted
    one resumes. Weights go to ``prnet_synth.paths.weights_path(label, preset)`` (or ``out_dir``).
    ``budget_seconds``: stop at the first epoch end after that much time (resumable); with
    ``export_on_stop`` the stopped model's best weights so far are exported (``complete: false``)."""
    p = get_preset(preset)
    todo = _with_dependencies(labels or ORDER)
    source = make_source(data, seed, p.gt_chunk)
    t0 = time.perf_counter()
    results = []
    cache = PairCache()
    for label in todo:
        left = None if budget_seconds is None else budget_seconds - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            _say(verbose, f"time budget spent before {label}; a later run continues there")
            break
        results.append(train_one(label, p, seed, out_dir=out_dir, source=source, force=force, verbose=verbose,
                                 pair_cache=cache, budget_seconds=left, export_on_stop=export_on_stop))
        if results[-1]["status"] == "stopped":
            break
    trained = [r["label"] for r in results if r["status"] == "trained"]
    _say(verbose, f"trained {', '.join(trained) or 'nothing'}; present {', '.join(todo)}; "
                  f"{time.perf_counter() - t0:.0f} s")
    return results
