"""Chiu et al. experiments on the embedded default (synthetic faces of ``prnet_synth.procedural``)
or, for evaluation, on the 3D data sets of ``experiments.datasets.scans3d``.

Steps (each resumable: finished artefacts are reused, training resumes from its backup):

1. ``train_depthnet``: DepthNet (with and, for Table V, without the mask branch) on RGB -> depth +
   7-class mask pairs. Embedded default: ``depthnet_train_identities`` synthetic identities (as the
   paper's 90 BU-3DFE identities) in random poses (the paper's yaw/pitch pose augmentation).
2. ``depth_tables``: Table I (MSE over the intersection of the valid pixels of the ground truth and
   every estimate; PRNet when its weights are given, 3DDFA is not ported) and Table V (DepthNet with
   vs without the mask branch, MSE over the ground truth's face pixels).
3. ``train_recognition`` + ``recognition_tables``: the mask-guided RGB-D network trained on RGB of
   disjoint synthetic identities with DepthNet's D* and M* (the paper's VGGFace2*), tested on a
   gallery / probe split like Lock3DFace's (expression, pose, occlusion, time) for the modality
   variants of Table VI.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from prnet_synth.atomic import (atomic_save_keras_weights, atomic_write_bytes, atomic_write_csv, atomic_write_json,
                                 atomic_write_text, provenance, stamp_provenance)
from prnet_synth.conventions import HOLE
from prnet_synth.paths import results_dir, weights_dir, work_dir

log = logging.getLogger(__name__)

DATA_LABEL = "synthetic (embedded default, prnet_synth.procedural)"
# seeds of the three disjoint identity pools (identities are a function of the seed)
SEED_OFFSETS = {"depthnet_train": 0, "depthnet_test": 1, "rec_train": 2, "rec_test": 3}
PROBE_SETS = ("expression", "pose", "occlusion", "time")


# ----------------------------------------------------------------------------- data
def _resize(img: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    import cv2

    if img.shape[0] == size:
        return img
    interp = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(img, (size, size), interpolation=interp)


def synth_samples(n: int, seed: int, size: int, start: int = 0, **options) -> dict:
    """``n`` generator samples resized to ``size``: rgb uint8, depth uint16, mask uint8, identity."""
    from prnet_synth import procedural

    samples = procedural.generate(n, seed, start=start, **options)
    return {
        "rgb": np.stack([_resize(s["rgb"], size, False) for s in samples]) if samples else np.zeros((0, size, size, 3), np.uint8),
        "depth": np.stack([_resize(s["depth"], size, True) for s in samples]) if samples else np.zeros((0, size, size), np.uint16),
        "mask": np.stack([_resize(s["mask"], size, True) for s in samples]) if samples else np.zeros((0, size, size), np.uint8),
        "identity": np.array([s["identity"] for s in samples], np.int64),
        "expression": np.array([s["params"]["expression"] for s in samples]),
        "occluder": np.array([s["params"]["occluder"] for s in samples]),
        "yaw": np.array([s["params"]["yaw"] for s in samples], np.float32),
    }


def _cached(path: Path, make) -> dict:
    """Load an npz cache or build it with ``make()`` and store it atomically."""
    from prnet_synth.atomic import atomic_open

    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    data = make()
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **data)
    return data


def rgb_to_net(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) / 127.5 - 1.0


def depthnet_arrays(data: dict, classes: int = 7):
    from models.chiu_depthnet import depth_to_target, mask_to_onehot

    return rgb_to_net(data["rgb"]), {"depth": depth_to_target(data["depth"])[..., None],
                                     "mask": mask_to_onehot(data["mask"], classes)}


# ----------------------------------------------------------------------------- DepthNet
def _config_hash(*parts) -> str:
    """Short digest of the settings that shape a trained artefact (a changed preset retrains)."""
    import hashlib

    return hashlib.sha1(repr(parts).encode()).hexdigest()[:8]


def prepare_training_log(csv_path: Path, backup_dir: Path) -> int:
    """Make the CSV training log ``csv_path`` match the run about to start and return the epoch it
    starts at: a fresh run (no ``training_metadata.json`` from ``BackupAndRestore`` in
    ``backup_dir``) starts a new log (an earlier run's rows are removed, not appended to); a resumed
    run keeps only the rows of the epochs the backup holds (those the killed run logged after its
    last backup are run again and logged again). Rewritten atomically."""
    import json

    meta = Path(backup_dir) / "training_metadata.json"
    start = 0
    if meta.is_file():
        try:
            start = int(json.loads(meta.read_text())["epoch"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{meta}: not a BackupAndRestore training_metadata.json ({exc})") from exc
    if not csv_path.is_file():
        return start
    if start == 0:
        csv_path.unlink()
        return 0
    lines = csv_path.read_text().splitlines()
    kept = lines[:1] + [ln for ln in lines[1:] if ln.split(",", 1)[0].strip().isdigit()
                        and int(ln.split(",", 1)[0]) < start]
    atomic_write_text(csv_path, "\n".join(kept) + "\n")
    return start


#: what a shipped Chiu weights file holds (its provenance record says so)
COMPACT_FORMAT = "float16 npz of the inference variables in build order"


def model_weights_path(preset_name: str, tag: str) -> Path:
    """The shipped weights of a trained Chiu model: ``results/weights/<preset>/chiu/<tag>.npz`` (the
    cpu preset's are committed, so the tables are evaluated without retraining), compact
    (``save_compact_weights``), with its provenance record ``<tag>.json`` beside it."""
    return weights_dir(preset_name) / "chiu" / f"{tag}.npz"


def full_weights_path(tag: str) -> Path:
    """The full training state (weights, discriminators, optimizer) of a finished model: in the work
    folder, not shipped."""
    return work_dir("chiu", f"{tag}.weights.h5")


def inference_variables(model) -> list:
    """What a trained Chiu model needs for the tables, in build order: DepthNet's generator (not its
    three discriminators), the recognizer's whole network (branches, attention, ArcFace heads); no
    optimizer state."""
    gen = getattr(model, "generator", None)
    return list(gen.weights if gen is not None else model.weights)


def save_compact_weights(model, path: Path) -> Path:
    """``inference_variables(model)`` as a compressed ``.npz`` in build order, floats as float16 where
    they fit (the rest as they are), written atomically."""
    arrays = {}
    for k, v in enumerate(inference_variables(model)):
        a = np.asarray(v)
        if a.dtype.kind == "f":
            with np.errstate(over="ignore"):
                half = a.astype(np.float16)
            if np.array_equal(np.isfinite(half), np.isfinite(a)):
                a = half
        arrays[f"v{k:04d}"] = a
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, buf.getvalue())


def load_compact_weights(model, path: Path) -> None:
    """Load what ``save_compact_weights`` wrote into a built model of the same configuration; a file
    of another configuration is refused, naming the file and the first mismatch."""
    variables = inference_variables(model)
    try:
        with np.load(path) as z:
            arrays = [z[k] for k in sorted(z.files)]
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable weights file ({exc})") from None
    if len(arrays) != len(variables):
        raise ValueError(f"{path}: {len(arrays)} arrays for a model with {len(variables)} variables "
                         "(weights of another configuration?)")
    for k, (a, v) in enumerate(zip(arrays, variables)):
        if tuple(a.shape) != tuple(v.shape):
            raise ValueError(f"{path}: array {k} has shape {tuple(a.shape)}, the model's {v.path} "
                             f"{tuple(v.shape)} (weights of another configuration?)")
    for a, v in zip(arrays, variables):
        v.assign(a.astype(np.dtype(v.dtype)))


def _load_trained(model, preset_name: str, tag: str) -> bool:
    """Load the finished model ``tag`` if it exists: the shipped compact weights, else the full state
    of an earlier run (the work folder, or beside the shipped weights where one version kept it),
    from which the compact file is then written. False when there is none (train it)."""
    compact = model_weights_path(preset_name, tag)
    if compact.is_file():
        load_compact_weights(model, compact)
        return True
    full = full_weights_path(tag)
    legacy = compact.with_name(f"{tag}.weights.h5")
    if not full.is_file() and legacy.is_file():
        full.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(legacy), str(full))
    if not full.is_file():
        return False
    model.load_weights(str(full))
    save_compact_weights(model, compact)
    load_compact_weights(model, compact)           # the tables come from the weights that are shipped
    record = compact.with_suffix(".json")          # one version wrote it beside the full weights
    if record.is_file():
        rec = json.loads(record.read_text())
        rec.update(weights=compact.name, weights_format=COMPACT_FORMAT)
        atomic_write_json(record, rec)
    return True


def _finish_training(model, preset_name: str, tag: str, prov: dict, epochs: int, n_images: int,
                     started: float) -> None:
    """Keep the full state in the work folder, ship the compact weights, and write their provenance
    record (the training's record: code version at the start, preset, seed, data; plus the images
    it saw and the seconds this run took)."""
    atomic_save_keras_weights(model, full_weights_path(tag))
    compact = save_compact_weights(model, model_weights_path(preset_name, tag))
    load_compact_weights(model, compact)           # this run's tables come from the weights it ships
    atomic_write_json(compact.with_suffix(".json"), {
        **prov, "images_seen": int(epochs) * int(n_images), "seconds_this_run": round(time.time() - started, 1),
        "weights": compact.name, "weights_format": COMPACT_FORMAT})


def _keras_fit_resumable(model, x, y, epochs, batch_size, tag: str, out_dir: Path, seed: int, callbacks=(),
                         prov: Optional[dict] = None):
    """``models.gan_common.fit_resumable`` (BackupAndRestore under work_dir) plus a CSV training log
    ``train_log_<tag>.csv`` and its sidecar ``train_log_<tag>.json`` (``prov``, default
    ``provenance("n/a", seed, "n/a")``, with the tag, epochs and batch size; rewritten atomically at
    the start and after every epoch's CSV line, with the epochs logged so far)."""
    import keras

    from models.gan_common import fit_resumable

    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / f"train_log_{tag}.csv"
    record = {**(prov if prov is not None else provenance("n/a", seed, "n/a")),
              "tag": tag, "epochs": int(epochs), "batch_size": int(batch_size)}

    class Sidecar(keras.callbacks.Callback):
        def _write(self):
            lines = csv_path.read_text().splitlines() if csv_path.is_file() else []
            atomic_write_json(csv_path.with_suffix(".json"), {
                "provenance": record, "columns": lines[0].split(",") if lines else [],
                "rows": max(len(lines) - 1, 0)})

        def on_train_begin(self, logs=None):
            self._write()

        def on_epoch_end(self, epoch, logs=None):
            self._write()

    backup_dir = work_dir("chiu", "backup", tag)
    prepare_training_log(csv_path, backup_dir)
    csv = keras.callbacks.CSVLogger(str(csv_path), append=True)
    return fit_resumable(model, x, y, epochs=epochs, batch_size=batch_size, backup_dir=backup_dir,
                         label=tag, seed=seed, log=log.info, extra_callbacks=[csv, Sidecar(), *callbacks])


def bu3dfe_depthnet_data(root: Path, size: int, mask_source: Optional[str] = "dlib", seed: int = 0, split: str = "train",
                         train_subjects: int = 90, poses_per_scan: int = 3, limit: Optional[int] = None) -> dict:
    """DepthNet data from BU-3DFE (IV-A.1): the scans of the first ``train_subjects`` subjects (sorted
    ids; the paper trains on 90 of the 100) for ``split="train"``, the others for ``"test"``. Each
    training scan is rendered frontally and at ``poses_per_scan - 1`` random poses (yaw within 45,
    pitch within 30 degrees: the paper's pose augmentation), test scans frontally; masks from
    ``mask_source`` (``dlib`` polygons: BU-3DFE has no parsing masks; images without a detected face
    are dropped). Unreadable scans are logged and skipped."""
    from experiments.chiu.masks import masks_for
    from experiments.datasets import scans3d

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    recs = scans3d.list_bu3dfe(root)
    subjects = sorted({r.subject for r in recs})
    if not subjects:
        raise FileNotFoundError(f"{root}: no BU-3DFE scans (<subject>/<subject>_<code>_F3D.wrl)")
    train = set(subjects[:train_subjects])
    chosen = [r for r in recs if (r.subject in train) == (split == "train")][:limit]
    if not chosen:
        raise ValueError(f"{root}: BU-3DFE has {len(subjects)} subjects; none left for the {split} split "
                         f"(the first {train_subjects} train)")
    rng = np.random.default_rng(seed)
    rgb, depth, subj = [], [], []
    for rec in chosen:
        try:
            mesh = scans3d.read_vrml(rec.path)
        except (scans3d.ScanFormatError, OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rec.path, exc)
            continue
        poses = [(0.0, 0.0)]
        if split == "train":
            poses += [(float(rng.uniform(-45, 45)), float(rng.uniform(-30, 30))) for _ in range(poses_per_scan - 1)]
        for yaw, pitch in poses:
            out = scans3d.render_mesh(mesh, size, yaw, pitch)
            rgb.append(out["rgb"])
            depth.append(out["depth"])
            subj.append(rec.subject)
    if not rgb:
        raise ValueError(f"{root}: no readable BU-3DFE scan in the {split} split")
    data = {"rgb": np.stack(rgb), "depth": np.stack(depth), "subject": np.array(subj)}
    if mask_source is None:  # evaluation: depth only
        return data
    if mask_source == "generator":
        raise ValueError("mask source 'generator' exists only for the synthetic stand-in; BU-3DFE needs "
                         "--mask-source dlib")
    data, dropped = masks_for(data, mask_source)
    if len(data["rgb"]) == 0:
        raise ValueError(f"{root}: dlib found no face in any of the {dropped} rendered BU-3DFE images")
    return data


def depthnet_training_data(preset, seed: int) -> tuple[dict, str]:
    """(training images, cache tag) of DepthNet: the synthetic stand-in (default) or BU-3DFE when
    ``preset.depthnet_data`` names its folder; masks from ``preset.mask_source``."""
    from experiments.chiu.masks import masks_for

    cfg = preset.depthnet
    if preset.depthnet_data:
        root = Path(preset.depthnet_data)
        tag = f"bu3dfe_{_config_hash(str(root.resolve()), preset.mask_source, preset.depthnet_poses_per_scan, preset.depthnet_train_identities)}"
        return _cached(work_dir("chiu", f"depthnet_train_{tag}_{cfg.size}px_s{seed}.npz"),
                       lambda: bu3dfe_depthnet_data(root, cfg.size, preset.mask_source, seed, "train",
                                                    train_subjects=preset.depthnet_train_identities,
                                                    poses_per_scan=preset.depthnet_poses_per_scan)), tag
    n_ids = preset.depthnet_train_identities
    n_train = n_ids * preset.depthnet_samples_per_identity
    src = "" if preset.mask_source == "generator" else f"_{preset.mask_source}"
    return _cached(work_dir("chiu", f"depthnet_train_{n_ids}x{n_train}_{cfg.size}px{src}_s{seed}.npz"),
                   lambda: masks_for(synth_samples(n_train, seed + SEED_OFFSETS["depthnet_train"], cfg.size,
                                                   identities=n_ids), preset.mask_source)[0]), f"synth{src}"


def train_depthnet(preset, seed: int, with_mask: bool = True, log_dir: Optional[Path] = None):
    """Train (or load, when finished weights exist) DepthNet; returns the model."""
    from models.chiu_depthnet import DepthNet

    cfg = dataclasses.replace(preset.depthnet, use_mask_branch=with_mask)
    source = ()
    if preset.depthnet_data or preset.mask_source != "generator":  # the default keeps its old tag
        source = (str(Path(preset.depthnet_data).resolve()) if preset.depthnet_data else None, preset.mask_source,
                  preset.depthnet_poses_per_scan)
    tag = f"depthnet_{'mask' if with_mask else 'nomask'}_{preset.name}_{_config_hash(cfg, preset.depthnet_train_identities, preset.depthnet_samples_per_identity, *source)}_s{seed}"
    model = DepthNet(cfg)
    model.compile()
    model(np.zeros((1, cfg.size, cfg.size, 3), np.float32))
    model.g_opt.build(model.generator.trainable_variables)  # so saved optimizer state loads too
    model.d_opt.build(model._d_vars())
    if _load_trained(model, preset.name, tag):
        return model
    data, data_tag = depthnet_training_data(preset, seed)
    x, y = depthnet_arrays(data, cfg.mask_classes)
    if not with_mask:
        y = {"depth": y["depth"]}
    log.info("training %s on %d images", tag, len(x))
    data_label = (f"BU-3DFE ({Path(preset.depthnet_data).name})" if preset.depthnet_data else DATA_LABEL)
    prov = provenance(preset.name, seed, data_label, model="DepthNet", with_mask=bool(with_mask),
                      mask_source=preset.mask_source, data_tag=data_tag, n_train_images=int(len(x)))
    started = time.time()
    _keras_fit_resumable(model, x, y, cfg.epochs, cfg.batch_size, tag, log_dir or results_dir() / "chiu" / "logs", seed,
                         prov=prov)
    _finish_training(model, preset.name, tag, prov, cfg.epochs, len(x), started)
    return model


def prnet_estimator(prnet_dir: Path, weights: Optional[Path] = None, pipeline=None):
    """Table I's PRNet row: a function uint8 RGB images (N, S, S, 3) -> uint16 depth (N, S, S) in the
    project convention, pixel-aligned with the input. Each image is enlarged to PRNet's 256x256, the
    face found by ``PRNetPipeline`` (dlib), the mesh mapped back from the crop frame to the image
    frame and rendered; images without a detected face give an all-hole estimate."""
    import cv2

    from prnet_synth import prnet_pipeline as P

    pipe = pipeline if pipeline is not None else P.PRNetPipeline(prnet_dir, weights)

    def estimate(rgb: np.ndarray) -> np.ndarray:
        out = []
        for img in rgb:
            s = img.shape[0]
            big = cv2.resize(img, (256, 256), interpolation=cv2.INTER_CUBIC) if s != 256 else img
            try:
                mesh = pipe.mesh(big)
                verts = P.posmap_to_image_frame(mesh.vertices, mesh.tform)
                mm = pipe.depth_scale(mesh) * float(mesh.tform[0, 0])  # mm per crop unit -> per image pixel
                d = P.render_depth(verts, mesh.triangles, mm, mode=pipe.render_mode, size=256)
            except (P.NoFaceError, ValueError) as exc:
                log.info("PRNet: no estimate (%s)", exc)
                d = np.full((256, 256), HOLE, np.uint16)
            out.append(_resize(d, s, True))
        return np.stack(out)

    return estimate


def predict_depth(model, rgb_uint8: np.ndarray, batch_size: int = 16, raw: bool = False):
    """DepthNet estimate: uint16 depth (project convention; output <= -0.95, i.e. the background
    level, becomes a hole) and class mask (or None); with ``raw=True`` also the network's depth
    output in [-1, 1] (near = 1)."""
    from models.chiu_depthnet import target_to_depth

    t, mask = model.predict_depth_mask(rgb_to_net(rgb_uint8), batch_size)
    depth = target_to_depth(t, background_threshold=-0.95)
    return (depth, mask, t) if raw else (depth, mask)


def depth_tables(preset, seed: int, out_dir: Optional[Path] = None, prnet_estimator=None) -> dict:
    """Tables I and V on held-out synthetic identities; returns the two DataFrames."""
    from models.chiu_depthnet import masked_depth_mse

    out_dir = out_dir or results_dir() / "chiu"
    size = preset.depthnet.size
    n_ids = preset.depthnet_test_identities
    data_label = DATA_LABEL
    if preset.depthnet_data:  # trained on BU-3DFE: its held-out subjects, frontal renders
        root = Path(preset.depthnet_data)
        test = bu3dfe_depthnet_data(root, size, None, seed, "test", train_subjects=preset.depthnet_train_identities)
        data_label = (f"BU-3DFE ({root.name}, subjects after the first {preset.depthnet_train_identities}, "
                      "frontal renders)")
    else:
        test = _cached(work_dir("chiu", f"depthnet_test_{n_ids}x5_{size}px_s{seed}.npz"),
                       lambda: synth_samples(n_ids * 5, seed + SEED_OFFSETS["depthnet_test"], size, identities=n_ids))
    with_mask = train_depthnet(preset, seed, True)
    without = train_depthnet(preset, seed, False)
    d_mask, _, raw_mask = predict_depth(with_mask, test["rgb"], raw=True)
    d_nomask, _, raw_nomask = predict_depth(without, test["rgb"], raw=True)
    gt = test["depth"]
    estimates = {"DepthNet": d_mask}
    status = {"DepthNet": "ok", "3DDFA": "not ported", "PRNet": "weights missing"}
    if prnet_estimator is not None:
        estimates["PRNet"] = prnet_estimator(test["rgb"])
        status["PRNet"] = "ok"
    inter = gt != HOLE
    for d in estimates.values():
        inter &= d != HOLE
    prov = provenance(preset.name, seed, data_label, n_test_images=int(len(gt)))
    rows = []
    # The paper's column layout (bu3dfe = the in-distribution test set, like ours); the data column
    # says that these are synthetic-face numbers, a stand-in, not BU-3DFE numbers.
    for method in ("3DDFA", "PRNet", "DepthNet"):
        mse = masked_depth_mse(gt, estimates[method], inter) if method in estimates else float("nan")
        rows.append({"method": method, "bu3dfe": mse, "status": status[method], "data": data_label})
    t1 = pd.DataFrame(rows)
    t5 = pd.DataFrame([
        {"method": "DepthNet w/o mask", "bu3dfe": image_mse(gt, raw_nomask), "data": data_label},
        {"method": "DepthNet w mask", "bu3dfe": image_mse(gt, raw_mask), "data": data_label},
    ])
    for df in (t1, t5):
        stamp_provenance(df, prov, ("preset", "seed", "code_version"))
    atomic_write_csv(out_dir / "table1_depth_mse.csv", t1)
    atomic_write_csv(out_dir / "table5_mask_ablation.csv", t5)
    _depth_figure(test, d_mask, d_nomask, out_dir / "figures" / "fig4_5_depth_estimates.png", preset.name)
    return {"table1": t1, "table5": t5}


def image_mse(gt: np.ndarray, raw: np.ndarray) -> float:
    """Table V ("directly" between the images): MSE over all pixels of the depth images as 8-bit grey
    levels, near = 255 and background = 0 in the ground truth, the network's raw output mapped the
    same way (``(t + 1) / 2 * 255``)."""
    g = np.where(gt == HOLE, 0.0, (1.0 - gt.astype(np.float64) / 65535.0) * 255.0)
    p = (np.clip(np.asarray(raw, np.float64), -1.0, 1.0) + 1.0) / 2.0 * 255.0
    return float(np.mean((g - p) ** 2))


def _save_figure(fig, title: str, path: Path) -> None:
    """Title, lay out and write a matplotlib figure as PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    from prnet_synth.atomic import atomic_open

    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=80)
    plt.close(fig)


def _depth_figure(test: dict, d_mask, d_nomask, path: Path, preset_name: str, n: int = 6):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prnet_synth.conventions import colorize

    n = min(n, len(test["rgb"]))
    rows = [("RGB", None), ("ground truth", test["depth"]), ("DepthNet w/ mask", d_mask), ("DepthNet w/o mask", d_nomask)]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.7 * len(rows)), squeeze=False)
    for r, (name, arr) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            ax.imshow(test["rgb"][c] if arr is None else colorize(arr[c], cmap="gray_r", hole_color=(0, 0, 0)))
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=7)
    _save_figure(fig, f"Chiu DepthNet on synthetic faces (embedded default, preset {preset_name})", path)


# ----------------------------------------------------------------------------- recognition
def recognition_inputs(rgb: np.ndarray, depth: np.ndarray, mask: np.ndarray, size: int) -> dict:
    """Network inputs: RGB with the background zeroed by the mask (Fig. 1), depth near = 1 (holes 0),
    7-channel one-hot mask; all resized to ``size``."""
    from models.chiu_depthnet import mask_to_onehot

    m = np.stack([_resize(k, size, True) for k in mask])
    r = np.stack([_resize(k, size, False) for k in rgb]).astype(np.float32) / 255.0
    r[m == 0] = 0.0
    d = np.stack([_resize(k, size, True) for k in depth])
    dn = np.where(d == HOLE, 0.0, 1.0 - d.astype(np.float32) / 65535.0).astype(np.float32)[..., None]
    return {"rgb": r, "depth": dn, "mask": mask_to_onehot(m, 7)}


def _augment_with_depthnet(depthnet, data: dict) -> dict:
    d_star, m_star = predict_depth(depthnet, data["rgb"])
    return {"rgb": data["rgb"], "depth": d_star, "mask": m_star}


def probe_options(kind: str) -> dict:
    """Generator options of the Lock3DFace-like capture kinds."""
    return {
        "neutral": dict(frontal=True, expression="neutral"),
        "expression": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, occluder="none"),
        "pose": dict(yaw_range=45.0, pitch_range=25.0, roll_range=10.0, occluder="none", expression="neutral"),
        "occlusion": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, expression="neutral"),
        "time": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, occluder="none", expression="neutral"),
    }[kind]


# ----------------------------------------------------------------------------- protocols (Tables II-IV, VI)
# The identification protocols of IV-A.2 (``scans3d.identification_protocol``) and the columns of the
# paper's tables they fill. Lock3DFace's probe sets 1-4 are its expression / pose / occlusion / time columns.
PROTOCOL_COLUMNS = {"BU-3DFE": {"probe": "bu3dfe"}, "Texas": {"probe": "texas"},
                    "Bosphorus-1": {"probe": "bosphorus_1"}, "Bosphorus-2": {"probe": "bosphorus_2"},
                    "FRGCv2": {"probe": "frgcv2"},
                    "Lock3DFace": {f"probe_set_{k}": c for k, c in enumerate(PROBE_SETS, start=1)}}
# data set -> the protocols evaluated on it
DATASET_PROTOCOLS = {"BU-3DFE": ("BU-3DFE",), "Texas": ("Texas",), "Bosphorus": ("Bosphorus-1", "Bosphorus-2"),
                     "FRGCv2": ("FRGCv2",), "Lock3DFace": ("Lock3DFace",)}
MODALITY_VARIANTS = {"D*+M*": ("depth",), "RGB+M*": ("rgb",), "RGB+D*+M*": ("rgb", "depth")}
TABLE_COLUMNS = {"table2": ("bu3dfe", "texas", "bosphorus_1", "bosphorus_2"), "table3": ("frgcv2", "bosphorus_1"),
                 "table4": PROBE_SETS}


def stand_in_captures(dataset: str, n: int) -> list[tuple]:
    """Capture kinds of the synthetic stand-in of a data set, in record order:
    (variant, session, meta, generator options, captures per identity). The first kind of each is
    the neutral frontal capture the protocol puts in the gallery; ``n`` sets the probe counts."""
    front = dict(frontal=True)
    neutral = dict(frontal=True, expression="neutral")
    half = max(1, (n + 1) // 2)
    if dataset == "BU-3DFE":  # 7 expressions, no pose variation
        return [("NE00", 1, {}, neutral, 1), ("HA01", 1, {}, dict(front, expression="smile"), half),
                ("SU01", 1, {}, dict(front, expression="open_mouth"), half)]
    if dataset == "Texas":  # frontal, varied expressions; the first image per subject is the gallery
        return [("frontal", 1, {}, neutral, 1), ("frontal", 1, {}, front, n)]
    if dataset == "Bosphorus":  # expressions, poses, occlusions
        return [("N_N", 1, {"pose": "N", "code": "N"}, neutral, 1),
                ("E_HAPPY", 1, {"pose": "E", "code": "HAPPY"}, dict(front, expression="smile"), half),
                ("E_MOUTH", 1, {"pose": "E", "code": "MOUTH"}, dict(front, expression="open_mouth"), half),
                ("YR_R45", 1, {"pose": "YR", "code": "R45"}, probe_options("pose"), n),
                ("O_HAND", 1, {"pose": "O", "code": "HAND"}, dict(probe_options("occlusion"), occluder="hand"), half),
                ("O_GLASSES", 1, {"pose": "O", "code": "GLASSES"},
                 dict(probe_options("occlusion"), occluder="glasses"), half)]
    if dataset == "FRGCv2":  # neutral and smile, small pose changes
        return [("neutral", 1, {}, neutral, 1), ("smile", 1, {}, dict(probe_options("expression"), expression="smile"), n)]
    if dataset == "Lock3DFace":
        return [("neutral", 1, {}, neutral, 1),
                ("expression", 1, {}, dict(probe_options("expression"), expression="smile"), half),
                ("expression", 1, {}, dict(probe_options("expression"), expression="open_mouth"), half),
                ("pose", 1, {}, probe_options("pose"), n),
                ("occlusion", 1, {}, dict(probe_options("occlusion"), occluder="hand"), (n + 2) // 3),
                ("occlusion", 1, {}, dict(probe_options("occlusion"), occluder="paper"), (n + 2) // 3),
                ("occlusion", 1, {}, dict(probe_options("occlusion"), occluder="glasses"), (n + 2) // 3),
                ("neutral", 2, {}, probe_options("time"), n)]  # session 2: new light, placement, background
    raise ValueError(f"no synthetic stand-in for {dataset!r}; choose from {sorted(DATASET_PROTOCOLS)}")


def stand_in_records(dataset: str, n_ids: int, n: int, seed: int, size: int) -> tuple[list, dict]:
    """Synthetic stand-in of a data set: ``scans3d.ScanRecord`` list (subject = generator identity)
    and the matching images (``rgb`` ...), one block of captures per kind, identities 0..n_ids-1."""
    from experiments.datasets.scans3d import ScanRecord

    recs, parts = [], []
    for k, (variant, session, meta, opts, count) in enumerate(stand_in_captures(dataset, n)):
        part = synth_samples(n_ids * count, seed, size, start=k * 100_000, identities=n_ids, **opts)
        parts.append(part)
        recs += [ScanRecord(dataset, str(int(i)), None, variant, session=session, meta=dict(meta))
                 for i in part["identity"]]
    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return recs, data


def embed_images(model, depthnet, rgb: np.ndarray, size: int, batch: int = 32) -> dict:
    """Recognition features of RGB face images with DepthNet's D* and M* (the paper's test input)."""
    out_r, out_d = [], []
    for i in range(0, len(rgb), batch):
        aug = _augment_with_depthnet(depthnet, {"rgb": rgb[i:i + batch]})
        f_r, f_d = model.embeddings(recognition_inputs(aug["rgb"], aug["depth"], aug["mask"], size))
        out_r.append(f_r)
        out_d.append(f_d)
    if not out_r:
        raise ValueError("embed_images: no images")
    return {"rgb": np.concatenate(out_r), "depth": np.concatenate(out_d)}


def identification(records: list, feats: dict, protocols) -> tuple[dict, dict]:
    """Rank-1 identification on the protocols' gallery / probe splits for every modality variant.
    Returns ({column: {variant: accuracy in %}}, {column: {"gallery": n, "probes": n}})."""
    from experiments.datasets.scans3d import identification_protocol
    from models.chiu_recognition import fused_scores, rank1_accuracy

    subjects = np.array([r.subject for r in records])
    acc, counts = {}, {}
    for proto in protocols:
        split = identification_protocol(records, proto)
        g = np.array(split["gallery"], np.int64)
        if len(g) == 0:
            raise ValueError(f"protocol {proto}: no gallery image (no subject has a neutral capture)")
        g_feats = {m: v[g] for m, v in feats.items()}
        for probe_set, column in PROTOCOL_COLUMNS[proto].items():
            p = np.array(split[probe_set], np.int64)
            counts[column] = {"gallery": int(len(g)), "probes": int(len(p)), "protocol": proto}
            acc[column] = {}
            for v, mods in MODALITY_VARIANTS.items():
                if len(p) == 0:
                    acc[column][v] = float("nan")
                    continue
                s = fused_scores({m: feats[m][p] for m in mods}, g_feats, mods)
                acc[column][v] = 100.0 * rank1_accuracy(s, subjects[p], subjects[g])
    return acc, counts


def _table(acc: dict, columns, variants, prov: dict, data_label: str, average: bool = False) -> pd.DataFrame:
    rows = []
    for v in variants:
        row = {"modalities": v}
        row.update({c: acc.get(c, {}).get(v, float("nan")) for c in columns})
        if average:
            row["average"] = float(np.mean([row[c] for c in columns]))
        row.update({"data": data_label, "preset": prov["preset"], "seed": prov["seed"],
                    "code_version": prov["code_version"]})
        rows.append(row)
    return pd.DataFrame(rows)


def recognition_training_data(preset, seed: int, depthnet=None) -> dict:
    """The recognizer's training set (the paper's VGGFace2* stand-in): ``rec_train_identities`` x
    ``rec_train_per_identity`` synthetic faces with DepthNet's D* and M* (trained or loaded when
    ``depthnet`` is None); cached in the work folder. Keys rgb, depth, mask, identity."""
    n_ids = preset.rec_train_identities
    data_tag = _config_hash(preset.depthnet, preset.depthnet_train_identities, preset.depthnet_samples_per_identity,
                            n_ids, preset.rec_train_per_identity, sorted(preset.rec_train_options.items()))
    path = work_dir("chiu", f"rec_train_{data_tag}_s{seed}.npz")

    def make():
        net = depthnet or train_depthnet(preset, seed, True)
        raw = synth_samples(n_ids * preset.rec_train_per_identity, seed + SEED_OFFSETS["rec_train"],
                            preset.depthnet.size, identities=n_ids, **preset.rec_train_options)
        aug = _augment_with_depthnet(net, raw)
        return {"rgb": aug["rgb"], "depth": aug["depth"], "mask": aug["mask"], "identity": raw["identity"]}

    return _cached(path, make)


def train_recognition(preset, seed: int, depthnet=None, log_dir: Optional[Path] = None):
    import keras

    from models.chiu_recognition import MaskGuidedRecognizer, lr_schedule

    cfg = preset.recognition
    tag = f"recognition_{preset.name}_{_config_hash(cfg, preset.depthnet, preset.rec_train_identities, preset.rec_train_per_identity, sorted(preset.rec_train_options.items()))}_s{seed}"
    n_ids = preset.rec_train_identities
    model = MaskGuidedRecognizer(cfg, n_classes=n_ids)
    model.compile(optimizer=keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum))
    dummy = recognition_inputs(np.zeros((1, 8, 8, 3), np.uint8), np.full((1, 8, 8), HOLE, np.uint16),
                               np.zeros((1, 8, 8), np.uint8), cfg.size)
    model(dummy)  # build the variables before loading weights
    model.optimizer.build(model.trainable_variables)
    if _load_trained(model, preset.name, tag):
        return model
    data = recognition_training_data(preset, seed, depthnet)
    x = recognition_inputs(data["rgb"], data["depth"], data["mask"], cfg.size)
    y = data["identity"]
    log.info("training %s on %d images of %d identities", tag, len(y), n_ids)
    prov = provenance(preset.name, seed, DATA_LABEL, model="MaskGuidedRecognizer", n_train_images=int(len(y)),
                      n_identities=int(n_ids))
    started = time.time()
    _keras_fit_resumable(model, x, y, cfg.epochs, cfg.batch_size, tag,
                         log_dir or results_dir() / "chiu" / "logs", seed,
                         callbacks=[keras.callbacks.LearningRateScheduler(lr_schedule(cfg))], prov=prov)
    _finish_training(model, preset.name, tag, prov, cfg.epochs, len(y), started)
    return model


STAND_INS = ("BU-3DFE", "Texas", "Bosphorus", "FRGCv2", "Lock3DFace")


def recognition_tables(preset, seed: int, out_dir: Optional[Path] = None) -> dict:
    """Tables II, III, IV and VI on the synthetic stand-ins of the paper's test sets, each evaluated on
    its own protocol (``scans3d.identification_protocol``): Table II (BU-3DFE, Texas, Bosphorus-1/2;
    RGB+D*+M*), Table III (FRGCv2, Bosphorus-1; the three modality variants), Table IV (Lock3DFace
    probe sets 1-4; RGB+D*+M*) and Table VI (Lock3DFace, the three variants). Returns the DataFrames."""
    out_dir = out_dir or results_dir() / "chiu"
    depthnet = train_depthnet(preset, seed, True)
    model = train_recognition(preset, seed, depthnet)
    size = preset.recognition.size
    dsize = preset.depthnet.size
    n_ids = preset.rec_test_identities
    acc, counts = {}, {}
    lock_gallery = None
    for j, ds in enumerate(STAND_INS):
        # one identity pool per stand-in, disjoint from the training pools (other generator seeds)
        recs, data = stand_in_records(ds, n_ids, preset.rec_probes_per_set,
                                      seed + SEED_OFFSETS["rec_test"] + 10 * j, dsize)
        a, c = identification(recs, embed_images(model, depthnet, data["rgb"], size), DATASET_PROTOCOLS[ds])
        for col in a:  # Bosphorus-1 appears in Tables II and III: one stand-in, one number
            acc[col], counts[col] = a[col], dict(c[col], data_set=ds)
        if ds == "Lock3DFace":
            first = {}
            for i, r in enumerate(recs):
                if r.variant == "neutral" and r.session == 1:
                    first.setdefault(r.subject, i)
            lock_gallery = {k: v[sorted(first.values())] for k, v in data.items()}
    prov = provenance(preset.name, seed, DATA_LABEL)
    best = ("RGB+D*+M*",)
    tables = {
        "table2": _table(acc, TABLE_COLUMNS["table2"], best, prov, DATA_LABEL),
        "table3": _table(acc, TABLE_COLUMNS["table3"], ("RGB+M*", "D*+M*", "RGB+D*+M*"), prov, DATA_LABEL),
        "table4": _table(acc, TABLE_COLUMNS["table4"], best, prov, DATA_LABEL, average=True),
        "table6": _table(acc, TABLE_COLUMNS["table4"], tuple(MODALITY_VARIANTS), prov, DATA_LABEL, average=True),
    }
    files = {"table2": "table2_identification.csv", "table3": "table3_modalities.csv",
             "table4": "table4_lock3dface.csv", "table6": "table6_modalities.csv"}
    lock_probes = sum(counts[c]["probes"] for c in TABLE_COLUMNS["table4"])
    for key in ("table4", "table6"):  # the notebook shows the Lock3DFace set sizes beside the tables
        tables[key]["n_gallery"] = counts[TABLE_COLUMNS["table4"][0]]["gallery"]
        tables[key]["n_probes"] = lock_probes
    for key, df in tables.items():
        atomic_write_csv(out_dir / files[key], df)
    spread = _attention_figure(model, depthnet, lock_gallery, size, out_dir / "figures" / "fig7_attention.png",
                               preset.name)
    atomic_write_json(out_dir / "protocol_counts.json", {"columns": counts, "gallery_identities": n_ids,
                                                         "attention_spread": spread, **prov})
    return tables


def recognition_tables_real(preset, seed: int, dataset: str, root: Path, out_dir: Optional[Path] = None,
                            limit: Optional[int] = None) -> pd.DataFrame:
    """The identification protocols of a real data set (Table II/III/IV columns): each record read as
    an RGB face image (``scans3d.load_record``), D* and M* from DepthNet, features of the trained
    recognizer, rank-1 on the data set's protocols for every modality variant. Unreadable records are
    logged and left out of the protocol."""
    from experiments.datasets import scans3d

    listers = {"BU-3DFE": scans3d.list_bu3dfe, "Texas": scans3d.list_texas, "Bosphorus": scans3d.list_bosphorus,
               "FRGCv2": scans3d.list_frgc, "Lock3DFace": scans3d.list_lock3dface}
    if dataset not in listers:
        raise ValueError(f"recognition on real data supports {sorted(listers)}, got {dataset!r}")
    recs = listers[dataset](root)[:limit]
    if not recs:
        raise FileNotFoundError(f"{root}: no {dataset} records found")
    depthnet = train_depthnet(preset, seed, True)
    model = train_recognition(preset, seed, depthnet)
    dsize, size = preset.depthnet.size, preset.recognition.size
    kept, feats, chunk, skipped = [], [], [], 0

    def flush():
        if chunk:
            feats.append(embed_images(model, depthnet, np.stack(chunk), size))
            chunk.clear()

    for rec in recs:  # streamed: only the features are kept
        try:
            rgb = scans3d.load_record(rec, size=dsize)["rgb"]
        except (scans3d.ScanFormatError, OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rec.path, exc)
            skipped += 1
            continue
        kept.append(rec)
        chunk.append(rgb)
        if len(chunk) == 32:
            flush()
    flush()
    if not kept:
        raise ValueError(f"{root}: none of the {len(recs)} {dataset} records could be read")
    all_feats = {m: np.concatenate([f[m] for f in feats]) for m in ("rgb", "depth")}
    acc, counts = identification(kept, all_feats, DATASET_PROTOCOLS[dataset])
    label = f"{dataset} ({root.name})"
    prov = provenance(preset.name, seed, label)
    df = _table(acc, list(acc), tuple(MODALITY_VARIANTS), prov, label)
    df["n_records"] = len(kept)
    df["skipped"] = skipped
    out_dir = out_dir or results_dir() / "chiu"
    atomic_write_csv(out_dir / f"identification_{dataset}.csv", df)
    atomic_write_json(out_dir / f"identification_{dataset}_counts.json", {"columns": counts, **prov})
    return df


def _attention_figure(model, depthnet, gal: dict, size: int, path: Path, preset_name: str, n: int = 6) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = min(n, len(gal["rgb"]))
    aug = _augment_with_depthnet(depthnet, {k: v[:n] for k, v in gal.items()})
    x = recognition_inputs(aug["rgb"], aug["depth"], aug["mask"], size)
    maps = model.attention_maps(x)
    levels = sorted(maps)
    fig, axes = plt.subplots(1 + len(levels), n, figsize=(1.6 * n, 1.7 * (1 + len(levels))), squeeze=False)
    for c in range(n):
        axes[0][c].imshow(gal["rgb"][c])
        for r, lv in enumerate(levels, start=1):
            axes[r][c].imshow(maps[lv][c], cmap="jet", vmin=0, vmax=1)
        for r in range(1 + len(levels)):
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
    axes[0][0].set_ylabel("RGB", fontsize=7)
    for r, lv in enumerate(levels, start=1):
        axes[r][0].set_ylabel(f"SAM stage {lv}", fontsize=7)
    _save_figure(fig, f"Mask-guided spatial attention, synthetic faces (preset {preset_name})", path)
    # how much the maps differ between the faces shown: mean over pixels of the std across faces
    return {f"stage{lv}": float(np.mean(np.std(maps[lv], axis=0))) for lv in levels}


# ----------------------------------------------------------------------------- real 3D data
def depth_table_real(preset, seed: int, dataset: str, root: Path, out_dir: Optional[Path] = None,
                     limit: Optional[int] = None, prnet_estimator=None) -> pd.DataFrame:
    """Table I column for a real data set (BU-3DFE, Bosphorus, FRGCv2): each scan rendered frontally
    to RGB + ground-truth depth, DepthNet's (and, when given, PRNet's) estimate from the RGB, MSE
    over the intersection of the valid pixels of the ground truth and every estimate. Unreadable
    scans are logged and skipped."""
    from experiments.datasets import scans3d
    from models.chiu_depthnet import masked_depth_mse

    listers = {"BU-3DFE": scans3d.list_bu3dfe, "Bosphorus": scans3d.list_bosphorus, "FRGCv2": scans3d.list_frgc}
    if dataset not in listers:
        raise ValueError(f"Table I real-data evaluation supports {sorted(listers)}, got {dataset!r}")
    recs = listers[dataset](root)[:limit]
    depthnet = train_depthnet(preset, seed, True)
    size = preset.depthnet.size
    methods = ["DepthNet"] + (["PRNet"] if prnet_estimator is not None else [])
    errors, skipped = {m: [] for m in methods}, 0
    for rec in recs:
        try:
            scan = scans3d.load_record(rec, size=size)
        except (scans3d.ScanFormatError, OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rec.path, exc)
            skipped += 1
            continue
        est = {"DepthNet": predict_depth(depthnet, scan["rgb"][None])[0][0]}
        if prnet_estimator is not None:
            est["PRNet"] = prnet_estimator(scan["rgb"][None])[0]
        inter = scan["depth"] != HOLE
        for d in est.values():
            inter &= d != HOLE
        for m in methods:
            errors[m].append(masked_depth_mse(scan["depth"], est[m], inter))
    prov = provenance(preset.name, seed, f"{dataset} ({root.name})")
    col = dataset.lower().replace("-", "")
    df = pd.DataFrame([{"method": m, col: float(np.nanmean(errors[m])) if errors[m] else float("nan"),
                        "n_scans": len(errors[m]), "skipped": skipped, "data": prov["data"],
                        "preset": prov["preset"], "seed": seed, "code_version": prov["code_version"]}
                       for m in methods])
    out_dir = out_dir or results_dir() / "chiu"
    atomic_write_csv(out_dir / f"table1_depth_mse_{dataset}.csv", df)
    return df
