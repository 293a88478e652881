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
import logging
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from prnet_synth.atomic import atomic_write_csv, atomic_write_json, provenance
from prnet_synth.conventions import HOLE
from prnet_synth.paths import results_dir, work_dir

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


def _keras_fit_resumable(model, x, y, epochs, batch_size, tag: str, out_dir: Path, seed: int, callbacks=()):
    """``models.gan_common.fit_resumable`` (BackupAndRestore under work_dir) plus a CSV training log."""
    import keras

    from models.gan_common import fit_resumable

    out_dir.mkdir(parents=True, exist_ok=True)
    csv = keras.callbacks.CSVLogger(str(out_dir / f"train_log_{tag}.csv"), append=True)
    return fit_resumable(model, x, y, epochs=epochs, batch_size=batch_size, backup_dir=work_dir("chiu", "backup", tag),
                         label=tag, seed=seed, log=log.info, extra_callbacks=[csv, *callbacks])


def _save_weights(model, path: Path):
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.weights.h5")
    model.save_weights(str(tmp))
    os.replace(tmp, path)


def train_depthnet(preset, seed: int, with_mask: bool = True, log_dir: Optional[Path] = None):
    """Train (or load, when finished weights exist) DepthNet; returns the model."""
    from models.chiu_depthnet import DepthNet

    cfg = dataclasses.replace(preset.depthnet, use_mask_branch=with_mask)
    tag = f"depthnet_{'mask' if with_mask else 'nomask'}_{preset.name}_{_config_hash(cfg, preset.depthnet_train_identities, preset.depthnet_samples_per_identity)}_s{seed}"
    weights = work_dir("chiu", f"{tag}.weights.h5")
    model = DepthNet(cfg)
    model.compile()
    model(np.zeros((1, cfg.size, cfg.size, 3), np.float32))
    model.g_opt.build(model.generator.trainable_variables)  # so saved optimizer state loads too
    model.d_opt.build(model._d_vars())
    if weights.is_file():
        model.load_weights(str(weights))
        return model
    n_ids = preset.depthnet_train_identities
    n_train = n_ids * preset.depthnet_samples_per_identity
    data = _cached(work_dir("chiu", f"depthnet_train_{n_ids}x{n_train}_{cfg.size}px_s{seed}.npz"),
                   lambda: synth_samples(n_train, seed + SEED_OFFSETS["depthnet_train"], cfg.size, identities=n_ids))
    x, y = depthnet_arrays(data, cfg.mask_classes)
    if not with_mask:
        y = {"depth": y["depth"]}
    log.info("training %s on %d images", tag, len(x))
    _keras_fit_resumable(model, x, y, cfg.epochs, cfg.batch_size, tag, log_dir or results_dir() / "chiu" / "logs", seed)
    _save_weights(model, weights)
    return model


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
    prov = provenance(preset.name, seed, DATA_LABEL, n_test_images=int(len(gt)))
    rows = []
    # The paper's column layout (bu3dfe = the in-distribution test set, like ours); the data column
    # says that these are synthetic-face numbers, a stand-in, not BU-3DFE numbers.
    for method in ("3DDFA", "PRNet", "DepthNet"):
        mse = masked_depth_mse(gt, estimates[method], inter) if method in estimates else float("nan")
        rows.append({"method": method, "bu3dfe": mse, "status": status[method], "data": DATA_LABEL})
    t1 = pd.DataFrame(rows)
    t5 = pd.DataFrame([
        {"method": "DepthNet w/o mask", "bu3dfe": image_mse(gt, raw_nomask), "data": DATA_LABEL},
        {"method": "DepthNet w mask", "bu3dfe": image_mse(gt, raw_mask), "data": DATA_LABEL},
    ])
    for df in (t1, t5):
        for k in ("preset", "seed", "code_version"):
            df[k] = prov[k]
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
    """Generator options of the four probe sets (Lock3DFace-like)."""
    return {
        "expression": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, occluder="none"),
        "pose": dict(yaw_range=45.0, pitch_range=25.0, roll_range=10.0, occluder="none", expression="neutral"),
        "occlusion": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, expression="neutral"),
        "time": dict(yaw_range=10.0, pitch_range=8.0, roll_range=5.0, occluder="none", expression="neutral"),
    }[kind]


def _probe_samples(preset, seed: int, kind: str, size: int) -> dict:
    n_ids = preset.rec_test_identities
    k = PROBE_SETS.index(kind) + 1
    opts = probe_options(kind)
    data = synth_samples(n_ids * preset.rec_probes_per_set, seed + SEED_OFFSETS["rec_test"], size,
                         start=k * 100_000, identities=n_ids, **opts)
    if kind == "expression":  # expression changes only: drop accidental neutral captures
        keep = data["expression"] != "neutral"
        data = {key: v[keep] for key, v in data.items()}
    if kind == "occlusion":
        keep = data["occluder"] != "none"
        data = {key: v[keep] for key, v in data.items()}
    return data


def train_recognition(preset, seed: int, depthnet=None, log_dir: Optional[Path] = None):
    import keras

    from models.chiu_recognition import MaskGuidedRecognizer, lr_schedule

    cfg = preset.recognition
    tag = f"recognition_{preset.name}_{_config_hash(cfg, preset.depthnet, preset.rec_train_identities, preset.rec_train_per_identity, sorted(preset.rec_train_options.items()))}_s{seed}"
    weights = work_dir("chiu", f"{tag}.weights.h5")
    n_ids = preset.rec_train_identities
    model = MaskGuidedRecognizer(cfg, n_classes=n_ids)
    model.compile(optimizer=keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum))
    dummy = recognition_inputs(np.zeros((1, 8, 8, 3), np.uint8), np.full((1, 8, 8), HOLE, np.uint16),
                               np.zeros((1, 8, 8), np.uint8), cfg.size)
    model(dummy)  # build the variables before loading weights
    model.optimizer.build(model.trainable_variables)
    if weights.is_file():
        model.load_weights(str(weights))
        return model
    depthnet = depthnet or train_depthnet(preset, seed, True)
    dsize = preset.depthnet.size

    def make():
        raw = synth_samples(n_ids * preset.rec_train_per_identity, seed + SEED_OFFSETS["rec_train"], dsize,
                            identities=n_ids, **preset.rec_train_options)
        aug = _augment_with_depthnet(depthnet, raw)
        return {"rgb": aug["rgb"], "depth": aug["depth"], "mask": aug["mask"], "identity": raw["identity"]}

    data_tag = _config_hash(preset.depthnet, preset.depthnet_train_identities, preset.depthnet_samples_per_identity,
                            n_ids, preset.rec_train_per_identity, sorted(preset.rec_train_options.items()))
    data = _cached(work_dir("chiu", f"rec_train_{data_tag}_s{seed}.npz"), make)
    x = recognition_inputs(data["rgb"], data["depth"], data["mask"], cfg.size)
    y = data["identity"]
    log.info("training %s on %d images of %d identities", tag, len(y), n_ids)
    _keras_fit_resumable(model, x, y, cfg.epochs, cfg.batch_size, tag,
                         log_dir or results_dir() / "chiu" / "logs", seed,
                         callbacks=[keras.callbacks.LearningRateScheduler(lr_schedule(cfg))])
    _save_weights(model, weights)
    return model


def recognition_tables(preset, seed: int, out_dir: Optional[Path] = None) -> pd.DataFrame:
    """Table VI: rank-1 identification per probe set for D*+M*, RGB+M*, RGB+D*+M*."""
    from models.chiu_recognition import fused_scores, rank1_accuracy

    out_dir = out_dir or results_dir() / "chiu"
    depthnet = train_depthnet(preset, seed, True)
    model = train_recognition(preset, seed, depthnet)
    size = preset.recognition.size
    dsize = preset.depthnet.size
    n_ids = preset.rec_test_identities
    gal = synth_samples(n_ids, seed + SEED_OFFSETS["rec_test"], dsize, identities=n_ids, frontal=True,
                        expression="neutral")

    def feats(data):
        aug = _augment_with_depthnet(depthnet, data)
        f_r, f_d = model.embeddings(recognition_inputs(aug["rgb"], aug["depth"], aug["mask"], size))
        return {"rgb": f_r, "depth": f_d}

    g_feats = feats(gal)
    variants = {"D*+M*": ("depth",), "RGB+M*": ("rgb",), "RGB+D*+M*": ("rgb", "depth")}
    acc = {v: {} for v in variants}
    n_probes = {}
    for kind in PROBE_SETS:
        probes = _probe_samples(preset, seed, kind, dsize)
        n_probes[kind] = int(len(probes["identity"]))
        p_feats = feats(probes)
        for v, mods in variants.items():
            acc[v][kind] = 100.0 * rank1_accuracy(fused_scores(p_feats, g_feats, mods), probes["identity"],
                                                  gal["identity"])
    prov = provenance(preset.name, seed, DATA_LABEL)
    rows = []
    for v in variants:
        row = {"modalities": v}  # the paper's layout (Lock3DFace probe sets); data says synthetic
        row.update({k: acc[v][k] for k in PROBE_SETS})
        row["average"] = float(np.mean([acc[v][k] for k in PROBE_SETS]))
        row.update({"data": DATA_LABEL, "n_gallery": n_ids, "n_probes": sum(n_probes.values()),
                    "preset": prov["preset"], "seed": seed, "code_version": prov["code_version"]})
        rows.append(row)
    df = pd.DataFrame(rows)
    atomic_write_csv(out_dir / "table6_modalities.csv", df)
    atomic_write_json(out_dir / "table6_probe_counts.json", {"probes": n_probes, **prov})
    _attention_figure(model, depthnet, gal, size, out_dir / "figures" / "fig7_attention.png", preset.name)
    return df


def _attention_figure(model, depthnet, gal: dict, size: int, path: Path, preset_name: str, n: int = 6):
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


# ----------------------------------------------------------------------------- real 3D data
def depth_table_real(preset, seed: int, dataset: str, root: Path, out_dir: Optional[Path] = None,
                     limit: Optional[int] = None) -> pd.DataFrame:
    """Table I column for a real data set (BU-3DFE, Bosphorus, FRGCv2): each scan rendered frontally
    to RGB + ground-truth depth, DepthNet's estimate from the RGB, MSE over the intersection of
    valid pixels. Unreadable scans are logged and skipped."""
    from experiments.datasets import scans3d
    from models.chiu_depthnet import masked_depth_mse

    listers = {"BU-3DFE": scans3d.list_bu3dfe, "Bosphorus": scans3d.list_bosphorus, "FRGCv2": scans3d.list_frgc}
    if dataset not in listers:
        raise ValueError(f"Table I real-data evaluation supports {sorted(listers)}, got {dataset!r}")
    recs = listers[dataset](root)[:limit]
    depthnet = train_depthnet(preset, seed, True)
    size = preset.depthnet.size
    errors, skipped = [], 0
    for rec in recs:
        try:
            scan = scans3d.load_record(rec, size=size)
        except (scans3d.ScanFormatError, OSError, ValueError) as exc:
            log.warning("skipped %s: %s", rec.path, exc)
            skipped += 1
            continue
        est, _ = predict_depth(depthnet, scan["rgb"][None])
        errors.append(masked_depth_mse(scan["depth"], est[0]))
    prov = provenance(preset.name, seed, f"{dataset} ({root.name})")
    df = pd.DataFrame([{"method": "DepthNet", dataset.lower().replace("-", ""): float(np.nanmean(errors)) if errors else float("nan"),
                        "n_scans": len(errors), "skipped": skipped, "data": prov["data"],
                        "preset": prov["preset"], "seed": seed, "code_version": prov["code_version"]}])
    out_dir = out_dir or results_dir() / "chiu"
    atomic_write_csv(out_dir / f"table1_depth_mse_{dataset}.csv", df)
    return df
