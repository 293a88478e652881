"""One function per numbered script (``experiments/01_*.py`` .. ``10_*.py``); the scripts stay thin.

Every step takes the parsed command line (``cli.parse``), writes atomically under
``results/schlett/`` (large arrays under ``results/schlett/cache/``), records preset, seed, data
source and code version, and skips work whose outputs already exist for the same preset and seed
(``--force`` redoes it), so a killed chain resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from prnet_synth.atomic import atomic_write_json, provenance
from prnet_synth.conventions import HOLE

from . import figures, tables
from .config import EVAL_SEED_OFFSET, get_preset
from .evalsets import (DATA_SYNTH_D435, DATA_SYNTH_KINECT, ImageSet, d435_set, kinect_set, synthetic_sets)
from .io import cache_dir, figures_dir, load_arrays, out_dir, read_table, save_arrays, write_table
from .run import run_enhancers

log = logging.getLogger(__name__)

__all__ = ["step01_ground_truth", "step02_test_pairs", "step03_train", "step04_table4", "step05_table5",
           "step06_table6", "step07_table7", "step08_figures", "step09_compare", "step10_attacks",
           "is_done", "mark_done", "image_sets", "DATA_TABLE4"]

# IV-D ground truth: PRNet renders the face only (no occluder geometry), in any pose of the
# colour input; the generator's random pose and expression, without occluders.
GT_OPTIONS = dict(occluder="none")
DATA_TABLE4 = ("synthetic (generator ground truth, degrade paper-default degradation, calibrated to Table IV's "
               "non-learned rows)")


# ----------------------------------------------------------------------------- resumability
def _stamp(step: str) -> Path:
    return out_dir() / "steps" / f"{step}.json"


def is_done(step: str, args, outputs: list[Path]) -> bool:
    """True when ``step`` finished before with the same preset/seed/data and its outputs exist."""
    if getattr(args, "force", False):
        return False
    p = _stamp(step)
    if not p.is_file() or not all(Path(o).exists() for o in outputs):
        return False
    try:
        rec = json.loads(p.read_text())
    except ValueError:
        return False
    same = rec.get("preset") == args.preset and rec.get("seed") == args.seed and rec.get("data") == _data_key(args)
    same = same and rec.get("upstream", {}) == _upstream(step)
    return same and (step in WEIGHTS_FREE or rec.get("weights") == _weights_signature(_wp(args)))


# The step graph, stated once: the steps each step reads from. A step is redone when one of them was
# redone after it; the chain runner (``experiments.reproduce.DEPENDS``, derived from this) skips it
# when one of them failed.
UPSTREAM = {"02": ("01",), "04": ("02",), "08": ("02",)}


def _upstream(step: str) -> dict:
    out = {}
    for dep in UPSTREAM.get(step, ()):
        try:
            out[dep] = json.loads(_stamp(dep).read_text()).get("created_utc")
        except (OSError, ValueError):
            out[dep] = None
    return out


# Steps whose outputs do not depend on the DL enhancers' weights.
WEIGHTS_FREE = {"01", "02", "03"}


def _weights_used(label: str, args) -> str:
    """For a DL enhancer, the weights preset it ran with ("cpu", "quick", ...); "" for the others."""
    from experiments.enhancers import DL_LABELS
    from prnet_synth.paths import resolve_weights_preset

    return resolve_weights_preset(label, _wp(args)) if label in DL_LABELS else ""


def _wp(args) -> str:
    """The weights the DL enhancers use (``--weights``; "best": paper > cpu > quick per enhancer)."""
    return getattr(args, "weights", None) or "best"


def _weights_signature(preset: str) -> dict:
    """Size and mtime of every DL enhancer's weights of ``preset``: results that used other (or no)
    weights are recomputed after (re)training."""
    from experiments.enhancers import DL_LABELS

    from .run import _weights_stamp

    return {label: _weights_stamp(label, preset) for label in DL_LABELS}


def _recorded_path(path) -> str:
    """An output's path as recorded in the step stamp: relative to results/ or to the repository
    (no machine paths in committed files), absolute only when it lies elsewhere."""
    from prnet_synth.paths import project_root

    if _under(path):
        return str(Path(path).relative_to(out_dir().parent))
    try:
        return str(Path(path).resolve().relative_to(project_root()))
    except ValueError:
        return str(path)


def mark_done(step: str, args, outputs: list[Path], **extra) -> None:
    if step not in WEIGHTS_FREE:
        extra.setdefault("weights", _weights_signature(_wp(args)))
    extra.setdefault("upstream", _upstream(step))
    rec = provenance(args.preset, args.seed, _data_key(args), step=step,
                     outputs=[_recorded_path(o) for o in outputs],
                     **extra)
    atomic_write_json(_stamp(step), rec)


def _under(p) -> bool:
    try:
        Path(p).resolve().relative_to(out_dir().parent.resolve())
        return True
    except ValueError:
        return False


def _folder_signature(path) -> str:
    """A folder's or file's identity for the resume stamps: its resolved path and, for its files,
    their count, total size and latest modification time (a different or changed folder is new work)."""
    p = Path(path).resolve()
    files = [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else ([p] if p.is_file() else [])
    stats = [f.stat() for f in files]
    return (f"{p}|{len(stats)}|{sum(st.st_size for st in stats)}|"
            f"{max((st.st_mtime_ns for st in stats), default=0)}")


def _data_id(path) -> str:
    """``<name>#<12 hex digits>``: the resolved file or folder's name (no machine path in the stamps)
    and a digest of ``_folder_signature``; a symlink to the same data gives the same id, another
    file of the same name or changed content another one."""
    return f"{Path(path).resolve().name}#{hashlib.sha1(_folder_signature(path).encode()).hexdigest()[:12]}"


def _data_key(args) -> str:
    d = dict(getattr(args, "data", None) or {})
    if getattr(args, "gt_dir", None):
        d["gt"] = args.gt_dir
    if not d:
        return "embedded default"
    return ";".join(f"{k}={_data_id(v)}" for k, v in sorted(d.items()))


def _prov(args, data: str, **extra) -> dict:
    return provenance(args.preset, args.seed, data, **extra)


# ----------------------------------------------------------------------------- 01, 02: synthetic data
def _shards(P) -> list[tuple[int, int, int]]:
    """(shard index, first pair index, pairs) covering the preset's test pairs, ``gt_chunk`` per shard
    (the paper preset's 100,000 pairs never sit in memory at once)."""
    chunk = max(1, P.gt_chunk)
    return [(k, start, min(chunk, P.n_test_pairs - start)) for k, start in enumerate(range(0, P.n_test_pairs, chunk))]


def _gt_shard(k: int) -> Path:
    return cache_dir("ground_truth") / f"gt_{k:05d}.npz"


def _pairs_shard(k: int) -> Path:
    return cache_dir("test_pairs") / f"pairs_{k:05d}.npz"


def _shard_ok(path: Path, **want) -> Optional[dict]:
    """The meta of an existing shard written with the same settings, else None."""
    if not path.is_file():
        return None
    try:
        _, meta = load_arrays(path)
    except ValueError:
        return None
    return meta if all(meta.get(k) == v for k, v in want.items()) else None


def load_pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    arr, _ = load_arrays(_pairs_shard(k))
    return arr["gt"], arr["degraded"]


def _gt_normalization() -> str:
    import degrade

    return degrade.get_config("paper").gt_normalization


def _folder_images(files: list[Path], start: int):
    """(index, file, depth) of the readable ground-truth PNGs among ``files[start:]``; every file that
    cannot be used is logged with the reason and yielded as (index, file, None)."""
    from prnet_synth.conventions import read_depth_png

    for i in range(start, len(files)):
        try:
            depth = read_depth_png(files[i])
        except (ValueError, OSError) as exc:
            log.warning("01: skipping ground-truth file %s: %s", files[i], exc)
            yield i, files[i], None
            continue
        if not (depth != HOLE).any():
            log.warning("01: skipping ground-truth file %s: no face pixel (every pixel is a hole)", files[i])
            yield i, files[i], None
            continue
        yield i, files[i], depth


def gt_folder_files(gt_dir) -> list[Path]:
    """The ground-truth PNGs of a folder (recursively, sorted by relative path)."""
    root = Path(gt_dir)
    files = sorted((p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".png"),
                   key=lambda p: p.relative_to(root).as_posix())
    if not files:
        raise FileNotFoundError(f"{root}: no .png ground-truth images in this folder")
    return files


def step01_ground_truth(args) -> list[Path]:
    """Held-out ground truth for IV-D, written in shards; finished shards are kept when the step is re-run.

    Source: the procedural generator (seeds offset from the training seeds), or ``--gt-dir``: a folder
    of ground-truth PNGs (e.g. PRNet on MegaFace, ``prnet_synth.synthesize``), taken in sorted order;
    unreadable, wrongly formatted and all-hole files are named in the log, skipped and counted.
    Both are scaled as the paper-default degradation config says (``degrade.normalize_ground_truth``)."""
    import degrade
    from prnet_synth import procedural

    P = get_preset(args.preset)
    csv = out_dir() / "01_ground_truth.csv"
    shards = _shards(P)
    outs = [_gt_shard(k) for k, _, _ in shards] + [csv]
    if is_done("01", args, outs):
        log.info("01: done before, skipped")
        return outs
    t0 = time.perf_counter()
    seed = args.seed + EVAL_SEED_OFFSET
    norm = _gt_normalization()
    gt_dir = getattr(args, "gt_dir", None)
    files = gt_folder_files(gt_dir) if gt_dir else None
    ident, face_px, skipped = [], [], []
    next_file = 0
    for k, start, n in shards:
        if files is None:
            want = {"seed": seed, "start": start, "n": n, "options": GT_OPTIONS, "gt_normalization": norm}
        else:
            want = {"gt_dir": _data_key(args), "start": start, "n": n, "first_file": next_file,
                    "gt_normalization": norm}
        meta = _shard_ok(_gt_shard(k), **want)
        if meta is None:
            if files is None:
                samples = procedural.generate(n, seed, start=start, **GT_OPTIONS)
                depth = np.stack([smp["depth"] for smp in samples])
                extra = {"params": [smp["params"] for smp in samples],
                         "identity": [int(smp["identity"]) for smp in samples]}
            else:
                images, names, bad = [], [], []
                for i, path, d in _folder_images(files, next_file):
                    if d is None:
                        bad.append(path.relative_to(gt_dir).as_posix())
                    else:
                        images.append(d)
                        names.append(path.relative_to(gt_dir).as_posix())
                    if len(images) == n:
                        break
                if len(images) < n:
                    raise SystemExit(f"01: {gt_dir} holds too few usable ground-truth PNGs for the {P.name} "
                                     f"preset ({start + len(images)} usable, {P.n_test_pairs} needed; "
                                     f"{len(skipped) + len(bad)} skipped, see the log)")
                depth = np.stack(images)
                extra = {"files": names, "skipped_files": bad, "next_file": i + 1,
                         "identity": list(range(start, start + n))}
            depth = degrade.normalize_ground_truth(depth, "paper")
            meta = {**want, **extra, "face_pixels": (depth != HOLE).reshape(n, -1).sum(1).tolist()}
            save_arrays(_gt_shard(k), meta, depth=depth)
            log.info("01: shard %d/%d written (%d images)", k + 1, len(shards), n)
        ident += meta["identity"]
        face_px += meta["face_pixels"]
        skipped += meta.get("skipped_files", [])
        next_file = meta.get("next_file", 0)
    row = {"n": len(ident), "shards": len(shards), "identities": len(set(ident)),
           "generator_seed": seed if files is None else "", "gt_normalization": norm,
           "face_pixels_mean": float(np.mean(face_px)), "skipped_files": len(skipped),
           "seconds": round(time.perf_counter() - t0, 1)}
    source = "generator (prnet_synth.procedural)" if files is None else f"ground-truth folder {Path(gt_dir).name}"
    write_table("01_ground_truth", pd.DataFrame([row]), _prov(args, source, skipped=skipped))
    mark_done("01", args, outs)
    return outs


def step02_test_pairs(args) -> list[Path]:
    """Degraded test pairs (``degrade.degrade_batch``, plain variant: IV-D test data has no
    deep-learning-specific background degradation), one file per ground-truth shard."""
    import degrade

    P = get_preset(args.preset)
    csv = out_dir() / "02_test_pairs.csv"
    shards = _shards(P)
    outs = [_pairs_shard(k) for k, _, _ in shards] + [csv]
    if is_done("02", args, outs):
        log.info("02: done before, skipped")
        return outs
    t0 = time.perf_counter()
    holes = []
    for k, start, n in shards:
        dseed = args.seed + EVAL_SEED_OFFSET + k
        meta = _shard_ok(_pairs_shard(k), degrade_seed=dseed, n=n)
        if meta is None:
            arr, gmeta = load_arrays(_gt_shard(k))
            gt = arr["depth"]
            deg = np.asarray(degrade.degrade_batch(gt, seed=dseed, variant="plain"), np.uint16)
            face = gt != HOLE
            frac = (((deg == HOLE) & face).reshape(n, -1).sum(1) / np.maximum(face.reshape(n, -1).sum(1), 1)).tolist()
            meta = {"gt_seed": gmeta.get("seed"), "degrade_seed": dseed, "n": n, "face_hole_fraction": frac}
            save_arrays(_pairs_shard(k), meta, gt=gt, degraded=deg)
        holes += meta["face_hole_fraction"]
    frame = pd.DataFrame([{"n": len(holes), "face_hole_fraction_mean": float(np.mean(holes)),
                           "seconds": round(time.perf_counter() - t0, 1)}])
    write_table("02_test_pairs", frame, _prov(args, DATA_TABLE4))
    mark_done("02", args, outs)
    return outs


# ----------------------------------------------------------------------------- 03: training
def step03_train(args) -> list[Path]:
    """With ``--train PRESET``: train the 7 U-Net enhancers of that training preset with
    ``python -m models.train_enhancers`` unless their weights exist (``--force``: retrain them too).
    Always: record which weights the later steps use (``--weights``; "best" = paper > cpu > quick)."""
    from experiments.enhancers import UNET_LABELS
    from prnet_synth.paths import resolve_weights_preset, weights_path

    csv = out_dir() / "03_training_status.csv"
    train = getattr(args, "train", "none") or "none"
    ran = False
    force = getattr(args, "force", False)
    if train != "none" and (force or not all(weights_path(l, train).is_file() for l in UNET_LABELS)):
        cmd = [sys.executable, "-m", "models.train_enhancers", "--preset", train, "--seed", str(args.seed)]
        if getattr(args, "gt_dir", None):
            cmd += ["--data", args.gt_dir]   # train on the folder's ground truth (e.g. PRNet on MegaFace)
        if force:
            cmd.append("--force")   # --force retrains the committed weights too (a killed run resumes without it)
        log.info("03: %s", " ".join(cmd))
        t0 = time.perf_counter()
        res = subprocess.run(cmd)   # TensorFlow's log level: os.environ, set by prnet_synth.tf_env
        ran = True
        if res.returncode != 0:
            log.error("03: training exited with %d", res.returncode)
        log.info("03: training took %.0f s", time.perf_counter() - t0)
    rows = []
    for l in UNET_LABELS:
        chosen = resolve_weights_preset(l, _wp(args))
        p = weights_path(l, chosen)
        meta = {}
        if p.with_suffix(".json").is_file():
            try:
                meta = json.loads(p.with_suffix(".json").read_text())
            except ValueError:
                meta = {}
        rows.append({"enhancer": l, "weights_preset": chosen, "weights": f"weights/{chosen}/{p.name}",
                     "present": p.is_file(), "bytes": p.stat().st_size if p.is_file() else 0,
                     "trained_code_version": meta.get("code_version", ""),
                     "training_data": meta.get("data", ""), "training_seconds": meta.get("seconds", "")})
    write_table("03_training_status", pd.DataFrame(rows),
                _prov(args, "generator + degrade (training data)", trained_now=ran, train=train, weights=_wp(args)))
    return [csv]


# ----------------------------------------------------------------------------- 04: Table IV
def step04_table4(args) -> list[Path]:
    """Table IV + Fig. 8, shard by shard; per-shard RMSE values are cached (with the weights they
    came from), enhancer outputs only for small presets."""
    from experiments import metrics
    from experiments.enhancers import LABELS

    from .run import WEIGHTS_MISSING, _weights_stamp

    P = get_preset(args.preset)
    outs = [out_dir() / "table4_synthetic_rmse.csv", figures_dir() / "fig08_rmse.png"]
    if is_done("04", args, outs):
        log.info("04: done before, skipped")
        return outs
    shards = _shards(P)
    keep_outputs = P.n_test_pairs <= 1000
    values: dict[str, list] = {l: [] for l in LABELS}
    status: dict[str, str] = {}
    seconds: dict[str, float] = {l: 0.0 for l in LABELS}
    for k, start, n in shards:
        stamps = {l: _weights_stamp(l, _wp(args)) for l in LABELS}
        rpath = cache_dir("table4") / f"rmse_{k:05d}.npz"
        meta = _shard_ok(rpath, stamps=stamps, n=n)
        if meta is None:
            gt, deg = load_pairs(k)
            runs = run_enhancers(deg, LABELS, cache=cache_dir("runs", "test_pairs", f"{k:05d}") if keep_outputs else None,
                                 preset=_wp(args), batch_size=P.batch_size)
            meta = {"stamps": stamps, "n": n, "status": {l: r.status for l, r in runs.items()},
                    "seconds": {l: r.seconds for l, r in runs.items()},
                    "rmse": {l: np.atleast_1d(metrics.face_rmse(gt, r.output)).tolist() for l, r in runs.items() if r.ok}}
            save_arrays(rpath, meta)
            log.info("04: shard %d/%d done", k + 1, len(shards))
        for l in LABELS:
            st = meta["status"].get(l, WEIGHTS_MISSING)
            if st != "ok":
                status.setdefault(l, st)
                continue
            values[l] += meta["rmse"][l]
            seconds[l] += float(meta["seconds"].get(l, 0.0))
    table, per = tables.table4_from_values(values, status)
    table["data"] = DATA_TABLE4
    table["weights"] = [_weights_used(l, args) for l in table["enhancer"]]
    prov = _prov(args, DATA_TABLE4)
    write_table("table4_synthetic_rmse", table, prov)
    write_table("table4_per_image", per, prov)
    write_table("enhancer_seconds_test_pairs", pd.DataFrame(
        [{"enhancer": l, "images": len(values[l]), "seconds": round(seconds[l], 2),
          "status": status.get(l, "ok")} for l in LABELS]), prov)
    figures.fig8(table, outs[1], DATA_TABLE4)
    mark_done("04", args, outs)
    return outs


# ----------------------------------------------------------------------------- image sets (05-08)
def image_sets(args) -> tuple[ImageSet, ImageSet]:
    """(Kinect set, D435 set): real data where ``--data kinect=`` / ``d435=`` are given, else the
    embedded synthetic stand-ins. Built once and cached per preset/seed/data."""
    P = get_preset(args.preset)
    d = getattr(args, "data", None) or {}
    key = f"{args.preset}_s{args.seed}"
    out = []
    for cam in ("kinect", "d435"):
        # another file or folder of the same name, or changed content, is another set
        src = _data_id(d[cam]).replace("#", "_") if cam in d else "synthetic"
        path = cache_dir("sets") / f"{cam}_{key}_{src}.npz"
        if path.is_file():
            try:
                iset, _ = ImageSet.load(path)
                out.append(iset)
                continue
            except (ValueError, KeyError) as exc:
                log.warning("%s: unusable cache (%s), rebuilding", path, exc)
        if cam in d:
            iset = kinect_set(d[cam], P.kinect_limit) if cam == "kinect" else d435_set(d[cam], P.d435_limit)
        else:
            kin, dsn = synthetic_sets(args.preset, args.seed)
            kin.save(cache_dir("sets") / f"kinect_{key}_synthetic.npz")
            dsn.save(cache_dir("sets") / f"d435_{key}_synthetic.npz")
            iset = kin if cam == "kinect" else dsn
        iset.save(path)
        out.append(iset)
    return out[0], out[1]


def _set_runs(args, iset: ImageSet, labels) -> dict:
    P = get_preset(args.preset)
    tag = f"{iset.camera}_{'real' if 'synthetic' not in iset.data else 'synthetic'}_{args.preset}_s{args.seed}"
    # the sets are in IV-J's 25 cm format; networks trained on face-range depth see it stretched (enhancers.py)
    return run_enhancers(iset.depth, labels, cache=cache_dir("runs", tag), preset=_wp(args), batch_size=P.batch_size,
                         input_format="fixed")


def _status(runs: dict) -> dict:
    return {l: r.status for l, r in runs.items() if not r.ok}


def _write_set_summary(args, sets) -> None:
    rows = []
    for s in sets:
        for i, name in enumerate(s.names):
            rows.append({"name": name, "camera": s.camera, "data": s.data, "subject": int(s.subject[i]),
                         "session": int(s.session[i]), "variant": s.variant[i], "has_mask": bool(s.has_mask[i]),
                         "mask_pixels": int(s.mask[i].sum()), "landmark_source": s.landmark_source[i],
                         "dlib68_on_own_colour": bool(np.all(np.isfinite(s.lm68[i]))),
                         "input_hole_fraction_in_mask": float(((s.depth[i] == HOLE) & s.mask[i]).sum() / max(s.mask[i].sum(), 1))})
    write_table("eval_images", pd.DataFrame(rows), _prov(args, "; ".join(s.data for s in sets)))


def step05_table5(args) -> list[Path]:
    from experiments.enhancers import LABELS

    outs = [out_dir() / "table5_roughness_holes.csv", figures_dir() / "fig09_roughness_holes.png"]
    if is_done("05", args, outs):
        log.info("05: done before, skipped")
        return outs
    kin, dsn = image_sets(args)
    _write_set_summary(args, (kin, dsn))
    runs = [_set_runs(args, kin, LABELS), _set_runs(args, dsn, LABELS)]
    table, per = tables.table5((kin, dsn), runs)
    prov = _prov(args, f"{kin.data}; {dsn.data}")
    write_table("table5_roughness_holes", table, prov)
    write_table("table5_per_image", per, prov)
    figures.fig9(table, outs[1])
    mark_done("05", args, outs)
    return outs


def _fig10_subject(iset: ImageSet) -> Optional[tuple[int, int]]:
    """The first subject/session with a Neutral mask and all three Table VI variants."""
    keys = {}
    for i, v in enumerate(iset.variant):
        if iset.has_mask[i]:
            keys.setdefault((int(iset.subject[i]), int(iset.session[i])), set()).add(v)
    for k in sorted(keys):
        if set(tables.TABLE6_VARIANTS) <= keys[k]:
            return k
    return None


def step06_table6(args) -> list[Path]:
    from experiments.enhancers import DL_LABELS

    outs = [out_dir() / "table6_falsification.csv", figures_dir() / "fig10_falsification.png"]
    if is_done("06", args, outs):
        log.info("06: done before, skipped")
        return outs
    kin, _ = image_sets(args)
    runs = _set_runs(args, kin, DL_LABELS)
    table, per = tables.table6(kin, runs, DL_LABELS)
    prov = _prov(args, kin.data)
    write_table("table6_falsification", table, prov)
    write_table("table6_per_image", per, prov)
    key = _fig10_subject(kin)
    if key is not None:
        rows, mask = [], None
        for var in tables.TABLE6_VARIANTS:
            i = next(j for j, v in enumerate(kin.variant) if v == var and (kin.subject[j], kin.session[j]) == key)
            mask = kin.mask[i]
            rows.append((var, kin.depth[i], {l: (r.output[i] if r.ok else None) for l, r in runs.items()}))
        figures.fig10(rows, mask, f"Fig. 10 - falsification samples, {key[0]:04d}_s{key[1]} - data: {kin.data}",
                      outs[1], DL_LABELS, status=_status(runs))
    else:
        log.warning("06: no subject/session with Neutral, OcclusionMouth and OcclusionPaper: no Fig. 10")
        outs = outs[:1]
    mark_done("06", args, outs)
    return outs


def step07_table7(args) -> list[Path]:
    from experiments.enhancers import LABELS

    outs = [out_dir() / "table7_landmarks_pad.csv",
            figures_dir() / "fig11_landmark_depth_error.png",
            figures_dir() / "fig12_landmarks68.png"]
    if is_done("07", args, outs):
        log.info("07: done before, skipped")
        return outs
    kin, _ = image_sets(args)
    runs = _set_runs(args, kin, LABELS)
    table, per = tables.table7(kin, runs, LABELS)
    prov = _prov(args, kin.data)
    write_table("table7_landmarks_pad", table, prov)
    write_table("table7_per_image", per, prov)
    figures.fig11(kin, runs, outs[1], status=_status(runs))
    figures.fig12(kin, outs[2])
    mark_done("07", args, outs)
    return outs


# ----------------------------------------------------------------------------- 08: Figs. 13-18
def step08_figures(args) -> list[Path]:
    from experiments.enhancers import LABELS

    P = get_preset(args.preset)
    rng = np.random.default_rng(args.seed)
    outs: list[Path] = []
    fd = figures_dir()
    # Figs. 13-14: random synthetic test pairs, masked by the ground truth's face area
    shards = _shards(P)
    picks = sorted(int(i) for i in rng.choice(P.n_test_pairs, size=min(P.figure_samples, P.n_test_pairs), replace=False))
    gts, degs = [], []
    for i in picks:
        k, start, _ = next(sh for sh in shards if sh[1] <= i < sh[1] + sh[2])
        g, d = load_pairs(k)
        gts.append(g[i - start])
        degs.append(d[i - start])
    runs = run_enhancers(np.stack(degs), LABELS, cache=cache_dir("runs", "figure_pairs"),
                         preset=_wp(args), batch_size=P.batch_size)
    for k, (i, gt, deg) in enumerate(zip(picks, gts, degs)):
        p = fd / f"fig{13 + k}_synthetic_sample{k + 1}.png"
        figures.qualitative_grid([("ground truth", gt), ("degraded", deg)],
                                 {l: (r.output[k] if r.ok else None) for l, r in runs.items()}, gt != HOLE,
                                 f"Fig. {13 + k} - random synthetic sample {k + 1} (test pair {i}) - data: {DATA_TABLE4}", p,
                                 status=_status(runs))
        outs.append(p)
    # Figs. 15-16 (Kinect) and 17-18 (D435): frontal images with a face mask
    kin, dsn = image_sets(args)
    for iset, first_fig in ((kin, 15), (dsn, 17)):
        sruns = _set_runs(args, iset, LABELS)
        cand = np.flatnonzero(iset.has_mask & iset.frontal & ~iset.occlusion)
        if cand.size == 0:
            log.warning("08: no frontal image with a face mask in %s", iset.data)
            continue
        for k, i in enumerate(rng.choice(cand, size=min(P.figure_samples, cand.size), replace=False)):
            first = [("colour", iset.rgb[i]), ("depth (input)", iset.depth[i])]
            if iset.gt is not None:
                first = [("ground truth", iset.gt[i])] + first[1:]
            p = fd / f"fig{first_fig + k}_{iset.camera}_sample{k + 1}.png"
            figures.qualitative_grid(first, {l: (r.output[i] if r.ok else None) for l, r in sruns.items()},
                                     iset.mask[i], f"Fig. {first_fig + k} - {iset.names[i]} - data: {iset.data}", p,
                                     status=_status(sruns))
            outs.append(p)
    mark_done("08", args, outs)
    return outs


# ----------------------------------------------------------------------------- 09, 10
def step09_compare(args) -> list[Path]:
    from experiments import compare_with_paper

    compare_with_paper.run(preset=args.preset, seed=args.seed)
    return [out_dir() / "compare_with_paper.csv", out_dir() / "compare_summary.csv", out_dir() / "compare_with_paper.md"]


def step10_attacks(args) -> list[Path]:
    from . import attack_suite

    outs = [out_dir() / "attack_suite.csv", figures_dir() / "attack_suite.png"]
    if is_done("10", args, outs):
        log.info("10: done before, skipped")
        return outs
    attack_suite.run(args.preset, args.seed, weights=_wp(args))
    mark_done("10", args, outs)
    return outs
