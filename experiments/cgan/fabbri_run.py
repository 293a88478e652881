"""Fabbri et al. (003) end to end: data -> Autoencoder / det-cGAN ("Ours") / pix2pix / det-cGAN on
binary maps (depth -> RGB) -> Table I (reconstruction metrics), Tables II-IV (attribute concordance,
dlib face detection and landmarks) -> figure.

Outputs (``results/fabbri/``): ``table1_reconstruction.csv``, ``table3_4_probes.csv`` (the paper's
layouts, method names as in the paper), ``table2_attributes.csv`` (per-attribute concordance of
"Ours"), ``figures/samples.png``, ``run.json``; every CSV row carries the provenance columns.
"""
from __future__ import annotations

import math
import dataclasses
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd

from .data import FaceSet, cached_synthetic, data_label

__all__ = ["METHODS", "THRESHOLDS", "reconstruction_metrics", "black_background", "load_data", "run"]

METHODS = (("ae", "Autoencoder"), ("pix2pix", "pix2pix"), ("cgan", "Ours"), ("cgan_binary", "Ours (Binary Maps)"))
THRESHOLDS = (1.25, 2.5, 3.75)     # Table I's threshold columns, as printed


def _out_dir() -> Path:
    from prnet_synth.paths import results_dir

    return results_dir() / "fabbri"


def reconstruction_metrics(gt_u8: np.ndarray, pred_u8: np.ndarray) -> dict:
    """Table I columns for one image pair (RGB, 0..255, all channels): the metrics of Eigen et al.
    [22] as implemented in experiments.metrics; threshold t = fraction of values with
    max(y/y*, y*/y) < t. Ground-truth zeros are excluded and predictions clipped at 1 (eps)."""
    from experiments import metrics as M

    g, p = gt_u8.astype(np.float64), pred_u8.astype(np.float64)
    row = {"l1": M.l1_norm(g, p, eps=1.0), "l2": M.l2_norm(g, p, eps=1.0), "abs_diff": M.abs_rel_diff(g, p, eps=1.0),
           "sq_diff": M.sq_rel_diff(g, p, eps=1.0), "rmse_lin": M.rmse_lin(g, p, eps=1.0),
           "rmse_log": M.rmse_log(g, p, eps=1.0), "rmse_scale_inv": M.rmse_scale_inv(g, p, eps=1.0)}
    for t in THRESHOLDS:
        row[f"thr_{t:g}"] = M.delta_accuracy(g, p, math.log(t) / math.log(1.25), eps=1.0)
    return row


def binary_map_u8(depth8: np.ndarray, threshold: float = 0.0, chunk: int = 4096) -> np.ndarray:
    """``models.fabbri.binary_map`` on 8-bit depth, as uint8 (255 foreground, 0 background), computed
    in chunks so that a memory-mapped input is never converted to floats as a whole."""
    from models.fabbri import binary_map
    from models.gan_common import to_unit

    out = np.empty(np.shape(depth8), np.uint8)
    for i in range(0, len(depth8), chunk):
        out[i:i + chunk] = np.where(binary_map(to_unit(depth8[i:i + chunk]), threshold) > 0, 255, 0)
    return out


def black_background(fs: FaceSet) -> FaceSet:
    """Set the RGB and gray images to black where the depth has no reading (in place; returned)."""
    fs.rgb = np.where((fs.depth8 > 0)[..., None], fs.rgb, 0).astype(np.uint8)
    fs.gray = np.where(fs.depth8 > 0, fs.gray, 0).astype(np.uint8)
    return fs


def _real_attributes(faces: FaceSet, root, path, name: str, log_fn) -> dict:
    """Per-subject attribute labels (experiments.cgan.attributes) from ``path`` or, if not given,
    ``<root>/attributes.csv`` when it exists; {} when there are none (the probe is then not run)."""
    from . import attributes as attrs

    p = Path(path) if path else Path(root) / "attributes.csv"
    if not p.is_file():
        if path:
            raise FileNotFoundError(f"{p}: attribute file not found")
        log_fn(f"[data] {name}: no {p.name} in the data set folder: no attribute labels")
        return {}
    return attrs.attach(faces.identity, attrs.read_subject_attributes(p), str(p))


def load_data(preset, seed: int, data: str, root: Optional[str] = None, test_root: Optional[str] = None,
              generate: Optional[Callable] = None, log_fn=print, attributes_train: Optional[str] = None,
              attributes_test: Optional[str] = None) -> tuple[FaceSet, FaceSet, str]:
    """(train, test). Synthetic: disjoint identity sets (cross-identity, standing in for 003's
    Pandora -> MotorMark cross-data-set protocol). Real: Pandora (all subjects) -> MotorMark, crops
    cached on disk, attribute labels per subject where a file gives them (``attributes_train`` /
    ``attributes_test``, default ``<root>/attributes.csv``), landmarks mapped to dlib's 68."""
    from .train import work_dir

    size = preset.input_size
    if data == "synthetic":
        wd = work_dir(preset.name)
        train = cached_synthetic("train", preset.n_train, preset.train_identities, seed, size, wd, generate, log_fn)
        test = cached_synthetic("test", preset.n_test, preset.test_identities, seed + 1, size, wd, generate, log_fn)
        return train, test, data_label(generate)
    if data == "pandora-motormark":
        if root is None or test_root is None:
            raise ValueError("--root (Pandora) and --test-root (MotorMark) are required for --data pandora-motormark")
        from experiments.datasets import motormark, pandora

        from .facecache import cached_real_faces

        # crops cached on disk (memory-mapped); 003 states no exclusion of frames: every readable frame
        train = cached_real_faces("pandora", "all", pandora.list_frames(root), pandora, size, preset.name,
                                  exclude=False, log_fn=log_fn)
        test = cached_real_faces("motormark", "all", motormark.list_frames(test_root), motormark, size,
                                 preset.name, exclude=False, log_fn=log_fn)
        train.attributes = _real_attributes(train, root, attributes_train, "Pandora", log_fn)
        test.attributes = _real_attributes(test, test_root, attributes_test, "MotorMark", log_fn)
        keep = [a for a in train.attributes if a in test.attributes]
        train.attributes = {a: train.attributes[a] for a in keep}
        test.attributes = {a: test.attributes[a] for a in keep}
        return train, test, "Pandora (train) -> MotorMark (test)"
    raise ValueError(f"unknown data {data!r}: synthetic | pandora-motormark")


def run(preset_name: str = "quick", seed: int = 0, data: str = "synthetic", root: Optional[str] = None,
        test_root: Optional[str] = None, generate: Optional[Callable] = None, log_fn=print,
        dlib_probes: bool = True, attributes_train: Optional[str] = None,
        attributes_test: Optional[str] = None) -> dict:
    import keras

    from prnet_synth.atomic import atomic_write_csv, atomic_write_json, provenance, stamp_provenance
    from models import fabbri as fab
    from models.cgan_presets import get_preset
    from models.gan_common import from_unit
    from models.pix2pix import build_pix2pix

    from . import probes
    from .figures import sample_grid
    from .train import predict, train_or_load, work_dir

    t_start = time.time()
    preset = get_preset("fabbri", preset_name)
    out = _out_dir()
    out.mkdir(parents=True, exist_ok=True)
    train, test, label = load_data(preset, seed, data, root, test_root, generate, log_fn,
                                   attributes_train, attributes_test)
    if data == "synthetic" and preset.synthetic_black_background:
        # the renders' random per-face backgrounds cannot be inferred from depth and dominate every loss;
        # on the embedded default the RGB faces are shown on black outside the measured depth (decided)
        for fs in (train, test):
            black_background(fs)
        label = f"{label}, RGB background outside the depth set to black"
    prov = provenance(preset_name, seed, label)
    settings = {"data": label, "input_size": preset.input_size, "preset_fields": dataclasses.asdict(preset)}
    s = preset.input_size

    # uint8 images (memory maps for real data), converted to [-1, 1] one batch at a time
    x_tr, y_tr, x_te = train.depth8, train.rgb, test.depth8
    inputs = {"ae": (x_tr, x_te), "pix2pix": (x_tr, x_te), "cgan": (x_tr, x_te),
              "cgan_binary": (binary_map_u8(x_tr, preset.binary_threshold), binary_map_u8(x_te, preset.binary_threshold))}
    cg = lambda: fab.build_cgan(s, preset.encoder_filters, preset.decoder_filters, preset.disc_filters,  # noqa: E731
                                preset.recon_weight, preset.lr, preset.beta_1, preset.beta_2)
    builders = {
        "ae": lambda: fab.build_autoencoder(s, preset.encoder_filters, preset.decoder_filters, preset.lr,
                                            preset.beta_1, preset.beta_2),
        "pix2pix": lambda: build_pix2pix(s, 1, 3, ngf=preset.pix2pix_ngf, ndf=preset.pix2pix_ndf, lr=preset.lr,
                                         beta_1=preset.beta_1, beta_2=preset.beta_2),
        "cgan": cg, "cgan_binary": cg,
    }
    preds, timings = {}, {}
    for key, _ in METHODS:
        t0 = time.time()
        xt, xe = inputs[key]
        bs = preset.pix2pix_batch_size if key == "pix2pix" else preset.batch_size
        gen = train_or_load(f"fabbri_{key}", builders[key], xt, y_tr, epochs=preset.epochs, batch_size=bs,
                            preset=preset_name, seed=seed,
                            settings={**settings, "binary_threshold": preset.binary_threshold if key == "cgan_binary" else None},
                            log=log_fn)
        keras.utils.set_random_seed(seed)
        preds[key] = from_unit(predict(gen, xe))
        timings[key] = round(time.time() - t0, 1)

    # ---- Table I
    rows = []
    for key, name in METHODS:
        vals = pd.DataFrame([reconstruction_metrics(test.rgb[i], preds[key][i]) for i in range(len(test))])
        rows.append({"method": name, **vals.mean(numeric_only=True).to_dict()})
    t1 = pd.DataFrame(rows)
    stamp_provenance(t1, prov)
    t1["n"] = len(test)
    t1["note"] = ("RGB 0..255 over all channels, per-image values averaged; thresholds are fractions "
                  "(the paper prints values above 1 under these headings)")
    atomic_write_csv(out / "table1_reconstruction.csv", t1)

    # ---- Tables II-III: attribute concordance with our attribute classifier
    attr_names = list(train.attributes)      # synthetic: the generator's; real: the per-subject file's
    t0 = time.time()
    t34 = pd.DataFrame({"method": [name for _, name in METHODS]})
    t2_rows = []
    if attr_names:
        labels = np.stack([train.attributes[a] for a in attr_names], 1)
        clf = probes.train_attribute_classifier(train.rgb, labels, filters=preset.attr_filters,
                                                epochs=preset.attr_epochs, seed=seed,
                                                backup_dir=work_dir(preset_name) / "backup" / "fabbri_attributes",
                                                log=log_fn)
        ref = probes.predict_attributes(clf, test.rgb)
        truth = np.stack([test.attributes[a] for a in attr_names], 1) if all(a in test.attributes for a in attr_names) else None
        clf_acc = float(np.mean(ref == truth) * 100) if truth is not None else math.nan
        for col, metric in (("attr_accuracy", "accuracy"), ("attr_precision", "precision"),
                            ("attr_recall", "recall"), ("attr_f1", "f1")):
            t34[col] = np.nan
        for r, (key, name) in enumerate(METHODS):
            gen_attr = probes.predict_attributes(clf, preds[key])
            per = [probes.concordance(ref[:, j], gen_attr[:, j]) for j in range(len(attr_names))]
            for col, metric in (("attr_accuracy", "accuracy"), ("attr_precision", "precision"),
                                ("attr_recall", "recall"), ("attr_f1", "f1")):
                vals = [p[metric] for p in per if not math.isnan(p[metric])]
                t34.loc[r, col] = float(np.mean(vals)) if vals else math.nan
            if key == "cgan":
                for a, p in zip(attr_names, per):
                    t2_rows.append({"attribute": a, **p, "positives_in_reference": int(ref[:, attr_names.index(a)].sum())})
        t34["attribute_classifier"] = probes.CLASSIFIER_NOTE.format(attrs=", ".join(attr_names))
        t34["classifier_accuracy_on_original"] = clf_acc
    else:
        t34["attribute_classifier"] = "no attribute labels in this data: attribute probe not run"
    timings["attributes"] = round(time.time() - t0, 1)

    # ---- Table IV: dlib face detection and landmarks
    t0 = time.time()
    if dlib_probes:
        ref_probe = probes.dlib_probe(test.rgb, test.landmarks, preset.dlib_upscale)
        det, l2, l2o = [], [], []
        for key, _ in METHODS:
            pr = probes.dlib_probe(preds[key], test.landmarks, preset.dlib_upscale)
            det.append(pr["detection_accuracy"])
            l2.append(pr["landmark_l2"])
            both = pr["found"] & ref_probe["found"]
            l2o.append(float(np.mean(np.linalg.norm(pr["landmarks"][both] - ref_probe["landmarks"][both], axis=-1)))
                       if both.any() else math.nan)
        t34["face_detector_accuracy"] = det
        t34["landmark_l2"] = l2
        t34["landmark_l2_vs_original"] = l2o
        ref_row = {"method": "Original RGB (reference)", "face_detector_accuracy": ref_probe["detection_accuracy"],
                   "landmark_l2": ref_probe["landmark_l2"], "landmark_l2_vs_original": 0.0}
        t34 = pd.concat([t34, pd.DataFrame([ref_row])], ignore_index=True)
    timings["dlib"] = round(time.time() - t0, 1)
    stamp_provenance(t34, prov)
    t34["n"] = len(test)
    t34["note"] = (f"dlib on faces upscaled to {preset.dlib_upscale} px; landmark L2 in pixels of the "
                   f"{s}x{s} input against the data set's landmarks; percentages for accuracies")
    atomic_write_csv(out / "table3_4_probes.csv", t34)
    if t2_rows:
        t2 = pd.DataFrame(t2_rows)
        stamp_provenance(t2, prov)
        atomic_write_csv(out / "table2_attributes.csv", t2)

    # ---- figure like 003 Fig. 3 (original, input depth, generated) plus the baselines
    k = min(8, len(test))
    pick = np.linspace(0, len(test) - 1, k).astype(int)
    bin_in = inputs["cgan_binary"][1][pick]
    sample_grid(out / "figures" / "samples.png",
                [("input depth", test.depth8[pick]), ("target RGB", test.rgb[pick]), ("AE", preds["ae"][pick]),
                 ("det-cGAN", preds["cgan"][pick]), ("pix2pix", preds["pix2pix"][pick]),
                 ("binary input", bin_in), ("cGAN binary", preds["cgan_binary"][pick])],
                title=f"Fabbri et al. reproduction ({preset_name} preset, {label})")
    summary = {**prov, "seconds": round(time.time() - t_start, 1), "train_seconds": timings,
               "n_train": len(train), "n_test": len(test), "input_size": s, "attributes": attr_names}
    atomic_write_json(out / "run.json", summary)
    log_fn(f"[fabbri] done in {summary['seconds']} s -> {out}")
    return summary
