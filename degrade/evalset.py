"""Fixed evaluation sets of (degraded, ground truth) pairs, written reproducibly from a seed.

Layout of a set directory::

    manifest.json        parameters, provenance, finished shards (with SHA-256), skipped inputs
    shard_00000.npz      compressed: degraded, gt (uint16 NxHxW), source (str N)
    shard_00001.npz      ...

Shard ``k`` holds pairs ``k*shard_size ...``; its ground truth and its degradation seeds depend
only on (seed, k), so a killed writer resumes at the first unfinished shard and produces the
same files it would have produced in one go. Every file is written atomically; the manifest is
rewritten after each shard.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from prnet_synth.atomic import atomic_open, atomic_write_json, provenance
from prnet_synth.conventions import DepthFormatError, read_depth_png

from .config import VARIANTS, DegradationConfig, get_config

__all__ = ["FORMAT", "write_eval_set", "read_eval_set", "EvalSet"]

FORMAT = "degrade-eval-set/1"
MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


def _sub_seed(*words: int) -> int:
    """A 63-bit seed derived from integers (numpy's SeedSequence: stable across machines)."""
    a, b = np.random.SeedSequence([int(w) for w in words]).generate_state(2, np.uint32)
    return (int(a) << 31) ^ int(b)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _Source:
    """Ground truth for shard k: a list of (name, uint16 HxW or None when unreadable)."""

    def __init__(self, gt_source: Any, n: int, seed: int, image_size, procedural_options):
        self.image_size = tuple(image_size)
        self.options = dict(procedural_options or {})
        self.seed = seed
        if isinstance(gt_source, np.ndarray):
            if gt_source.dtype != np.uint16 or gt_source.ndim != 3:
                raise ValueError(f"ground-truth array: expected uint16 NxHxW, got {gt_source.dtype} {gt_source.shape}")
            if len(gt_source) < n:
                raise ValueError(f"ground-truth array holds {len(gt_source)} images, {n} requested")
            self.kind, self.array = "array", gt_source
            self.describe = f"array {gt_source.shape}"
        elif isinstance(gt_source, str) and gt_source == "procedural":
            self.kind = "procedural"
            self.describe = "procedural " + json.dumps(self.options, sort_keys=True, default=str)
        elif isinstance(gt_source, (str, os.PathLike)):
            from .dataset import list_pngs

            self.kind, self.root = "dir", Path(gt_source)
            files = list_pngs(self.root)
            if len(files) < n:
                raise ValueError(f"{self.root}: holds {len(files)} PNG files, {n} requested")
            order = np.random.default_rng(_sub_seed(seed, 301)).permutation(len(files))[:n]
            self.files = [files[i] for i in order]
            self.describe = f"directory {self.root.name} ({len(files)} PNGs)"
        else:
            raise TypeError(f"ground-truth source: expected a directory, 'procedural' or a uint16 array, "
                            f"got {type(gt_source).__name__}")

    def shard(self, k: int, start: int, stop: int) -> list[tuple[str, np.ndarray | None]]:
        if self.kind == "array":
            return [(f"index {i}", self.array[i]) for i in range(start, stop)]
        if self.kind == "dir":
            items = []
            for p in self.files[start:stop]:
                name = p.relative_to(self.root).as_posix()
                try:
                    items.append((name, read_depth_png(p, size=self.image_size)))
                except (DepthFormatError, OSError) as exc:
                    log.warning("skipping %s: %s", p, exc)
                    items.append((name, None))
            return items
        try:
            from prnet_synth import procedural
        except ImportError as exc:
            raise ImportError(f"ground-truth source 'procedural' needs prnet_synth.procedural: {exc}") from exc
        # pairs start..stop-1 hold samples start..stop-1 of the generator's sequence for the seed
        samples = procedural.generate(stop - start, int(self.seed), start=start, **self.options)
        return [(f"procedural seed {self.seed} #{start + j}", np.asarray(d["depth"], np.uint16))
                for j, d in enumerate(samples)]


def write_eval_set(out_dir: str | os.PathLike, gt_source: Any, n: int, seed: int, *,
                   variant: str = "plain", config: DegradationConfig | str | None = None,
                   shard_size: int = 1000, batch_size: int = 64, image_size=(256, 256),
                   procedural_options: Mapping[str, Any] | None = None, preset: str = "custom") -> Path:
    """Write ``n`` (degraded, ground truth) pairs to ``out_dir``; resume if it holds a partial set.

    gt_source: a directory of 16-bit ground-truth PNGs (``n`` of them are chosen by a seeded
    permutation), ``"procedural"`` (``prnet_synth.procedural.generate``), or a uint16 NxHxW array.
    Unreadable PNGs are logged, skipped and listed in the manifest. Returns the manifest's path.
    Test sets use ``variant="plain"`` (the paper never tests on the training-only variants).
    """
    from .groundtruth import normalize_ground_truth
    from .render import degrade_batch

    cfg = get_config(config)
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    n, shard_size, batch_size = int(n), int(shard_size), int(batch_size)
    if n < 1 or shard_size < 1 or batch_size < 1:
        raise ValueError(f"write_eval_set: n, shard_size and batch_size must be >= 1, got {n}, {shard_size}, {batch_size}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = _Source(gt_source, n, seed, image_size, procedural_options)
    params = {
        "format": FORMAT, "n": n, "seed": int(seed), "variant": variant, "config": cfg.to_dict(),
        "shard_size": shard_size, "batch_size": batch_size, "image_size": list(image_size),
        "source": src.describe,
    }
    mpath = out / MANIFEST
    done: dict[int, dict] = {}
    skipped: list[str] = []
    if mpath.exists():
        try:
            old = json.loads(mpath.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{mpath}: not valid JSON ({exc}); delete the directory to start afresh") from exc

        def comparable(rec):  # the config's free-text description does not change the pairs
            return {k: ({**rec.get(k), "description": None} if k == "config" and isinstance(rec.get(k), dict)
                        else rec.get(k)) for k in params}

        before, now = comparable(old), comparable(json.loads(json.dumps(params)))
        diff = sorted(k for k in params if before[k] != now[k])
        if diff:
            raise ValueError(f"{mpath}: holds a different evaluation set (differs in {diff}); "
                             f"choose another directory or delete it")
        for rec in old.get("shards", []):
            f = out / rec["file"]
            if f.is_file() and _sha256(f) == rec["sha256"]:
                done[int(rec["index"])] = rec
        skipped = list(old.get("skipped", []))
    n_shards = -(-n // shard_size)
    prov = provenance(preset, int(seed), src.describe)
    for k in range(n_shards):
        if k in done:
            continue
        start, stop = k * shard_size, min(n, (k + 1) * shard_size)
        items = src.shard(k, start, stop)
        names = [name for name, img in items if img is not None]
        skipped = sorted(set(skipped) | {name for name, img in items if img is None})
        gt = np.stack([img for _, img in items if img is not None]) if names else \
            np.zeros((0,) + tuple(image_size), np.uint16)
        gt = normalize_ground_truth(gt, cfg)    # the ground-truth scaling the config asks for
        deg = np.empty_like(gt)
        for j in range(0, len(gt), batch_size):
            deg[j:j + batch_size] = degrade_batch(gt[j:j + batch_size], _sub_seed(seed, 303, k, j // batch_size),
                                                  variant, cfg)
        fname = f"shard_{k:05d}.npz"
        with atomic_open(out / fname, "wb") as fh:
            np.savez_compressed(fh, degraded=deg, gt=gt, source=np.array(names, dtype=str))
        done[k] = {"index": k, "file": fname, "count": int(len(gt)), "sha256": _sha256(out / fname)}
        manifest = dict(params, shards=[done[i] for i in sorted(done)], skipped=skipped,
                        complete=len(done) == n_shards, provenance=prov)
        atomic_write_json(mpath, manifest)
        log.info("eval set %s: shard %d/%d written (%d pairs)", out, k + 1, n_shards, len(gt))
    manifest = dict(params, shards=[done[i] for i in sorted(done)], skipped=skipped, complete=True,
                    provenance=prov)
    atomic_write_json(mpath, manifest)
    return mpath


@dataclass
class EvalSet:
    """A written evaluation set: ``len()``, ``shards()``, ``load()``, ``dataset()``."""

    path: Path
    manifest: dict

    @property
    def config(self) -> DegradationConfig:
        return DegradationConfig.from_dict(self.manifest["config"])

    def __len__(self) -> int:
        return sum(int(s["count"]) for s in self.manifest["shards"])

    def shards(self, verify: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(degraded, gt) uint16 arrays, shard by shard."""
        for rec in self.manifest["shards"]:
            f = self.path / rec["file"]
            if not f.is_file():
                raise FileNotFoundError(f"{f}: shard listed in {self.path / MANIFEST} is missing")
            if verify and _sha256(f) != rec["sha256"]:
                raise ValueError(f"{f}: checksum differs from the manifest (corrupt or replaced shard)")
            try:
                with np.load(f) as z:
                    deg, gt = z["degraded"], z["gt"]
            except (OSError, ValueError, KeyError) as exc:
                raise ValueError(f"{f}: not a readable evaluation shard ({exc})") from exc
            if deg.shape != gt.shape or deg.dtype != np.uint16 or gt.dtype != np.uint16:
                raise ValueError(f"{f}: expected uint16 degraded/gt arrays of equal shape, "
                                 f"got {deg.dtype} {deg.shape} and {gt.dtype} {gt.shape}")
            yield deg, gt

    def load(self, verify: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """All pairs in memory: (degraded, gt) uint16 NxHxW (mind the size of large sets)."""
        parts = list(self.shards(verify=verify))
        if not parts:
            h, w = self.manifest["image_size"]
            empty = np.zeros((0, h, w), np.uint16)
            return empty, empty.copy()
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def dataset(self, batch_size: int, output: str = "float"):
        """A tf.data pipeline over the stored pairs, in order (float [0,1] NxHxWx1 or uint16)."""
        import tensorflow as tf

        from .dataset import to_network_float

        h, w = self.manifest["image_size"]
        spec = tf.TensorSpec([None, h, w], tf.uint16)
        ds = tf.data.Dataset.from_generator(lambda: self.shards(), output_signature=(spec, spec)).unbatch()
        ds = ds.batch(int(batch_size))
        if output == "float":
            ds = ds.map(lambda d, g: (to_network_float(d), to_network_float(g)))
        elif output != "uint16":
            raise ValueError(f"output: expected 'float' or 'uint16', got {output!r}")
        return ds.prefetch(tf.data.AUTOTUNE)


def read_eval_set(directory: str | os.PathLike, allow_partial: bool = False) -> EvalSet:
    """Open an evaluation set written by ``write_eval_set`` (an error if it is unfinished)."""
    d = Path(directory)
    mpath = d / MANIFEST
    if not mpath.is_file():
        raise FileNotFoundError(f"{mpath}: no evaluation-set manifest (write one with degrade.write_eval_set)")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{mpath}: not valid JSON ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{mpath}: unknown format {manifest.get('format')!r}, expected {FORMAT!r}")
    if not manifest.get("complete") and not allow_partial:
        n_shards = -(-int(manifest["n"]) // int(manifest["shard_size"]))
        raise ValueError(f"{mpath}: unfinished set ({len(manifest['shards'])} of {n_shards} shards); "
                         f"rerun write_eval_set with the same arguments to finish it")
    return EvalSet(d, manifest)
