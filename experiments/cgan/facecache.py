"""On-disk cache of real-data face crops, so that a data set of 250k frames (Pandora: about 11 GB
of 96x96 crops as uint8, four times that as float) is never held in memory.

``build_cache`` crops the frames in shards of ``shard_size`` frames; each shard is written atomically
as ``shard_NNNNN.npz`` (uncompressed) and a killed run resumes at the first missing shard. When every
shard is there, the image arrays are copied into memory-mapped ``gray.npy`` / ``depth8.npy`` /
``rgb.npy`` (written under a temporary name, then renamed) and the per-face values into ``meta.npz``;
``complete.json`` is written last and the shards are removed. ``load_cache`` returns a ``FaceSet``
whose image arrays are read-only memory maps; training converts them to floats one batch at a time
(``experiments.cgan.train.UnitBatches``).

The cache is keyed by ``key`` (data set, size, frame list, exclusion settings): a folder built with
another key is refused with an error naming it, never silently reused or overwritten.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .data import FaceSet

__all__ = ["IMAGE_FIELDS", "frames_digest", "build_cache", "load_cache", "is_complete", "cache_summary",
           "crop_shard_fn", "cached_real_faces"]

log = logging.getLogger(__name__)

IMAGE_FIELDS = ("gray", "depth8", "rgb")
META_FIELDS = ("identity", "yaw", "pitch", "roll", "group", "landmarks")


def frames_digest(names: Sequence[str]) -> str:
    """Short hash of the frame list (order matters: shards cover fixed ranges of it)."""
    h = hashlib.sha1()
    for n in names:
        h.update(str(n).encode())
        h.update(b"\n")
    return h.hexdigest()[:16]


def is_complete(folder) -> bool:
    return (Path(folder) / "complete.json").is_file()


def _check_key(folder: Path, key: dict) -> None:
    from prnet_synth.atomic import atomic_write_json

    kp = folder / "cache_key.json"
    want = json.loads(json.dumps(key, default=str, sort_keys=True))
    if kp.is_file():
        try:
            have = json.loads(kp.read_text())
        except ValueError as exc:
            raise ValueError(f"{kp}: unreadable cache key ({exc}); remove the folder to rebuild") from None
        if have != want:
            raise ValueError(f"{kp}: this crop cache was built for {have}, not {want}; "
                             "remove the folder or choose another cache location")
    else:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(kp, want, sort_keys=True)


def _shard_arrays(faces: Optional[FaceSet], size: int, excluded: dict) -> dict:
    if faces is None:
        arrays = {"gray": np.zeros((0, size, size), np.uint8), "depth8": np.zeros((0, size, size), np.uint8),
                  "rgb": np.zeros((0, size, size, 3), np.uint8), "identity": np.array([], dtype="U1"),
                  "yaw": np.zeros(0, np.float32), "pitch": np.zeros(0, np.float32), "roll": np.zeros(0, np.float32),
                  "group": np.array([], dtype="U1"), "landmarks": np.zeros((0, 68, 2), np.float32)}
    else:
        arrays = {k: np.asarray(getattr(faces, k)) for k in IMAGE_FIELDS + META_FIELDS}
    arrays["excluded"] = np.array(json.dumps(excluded))
    return arrays


def build_cache(frames: Sequence, crop_shard: Callable[[Sequence], tuple[Optional[FaceSet], dict]], folder,
                size: int, key: dict, shard_size: int = 1024, log_fn=print) -> Path:
    """Crop ``frames`` into the cache at ``folder`` (resumable); return the folder.

    ``crop_shard(frames_of_one_shard)`` returns (FaceSet of the kept faces or None when none is
    kept, {reason: count} of the excluded / skipped frames)."""
    import io

    from prnet_synth.atomic import atomic_write_bytes, atomic_write_json

    folder = Path(folder)
    if shard_size < 1:
        raise ValueError(f"shard_size must be positive, got {shard_size}")
    _check_key(folder, key)
    if is_complete(folder):
        return folder
    n_shards = (len(frames) + shard_size - 1) // shard_size
    for i in range(n_shards):
        sp = folder / f"shard_{i:05d}.npz"
        if sp.is_file():
            continue
        faces, excluded = crop_shard(frames[i * shard_size:(i + 1) * shard_size])
        buf = io.BytesIO()
        np.savez(buf, **_shard_arrays(faces, size, excluded))
        atomic_write_bytes(sp, buf.getvalue())
        log_fn(f"[cache] {folder.name}: shard {i + 1}/{n_shards} ({0 if faces is None else len(faces)} faces)")
    # consolidate: memory-mapped image arrays, small per-face arrays in meta.npz
    counts, excluded_total = [], {}
    for i in range(n_shards):
        with np.load(folder / f"shard_{i:05d}.npz", allow_pickle=False) as z:
            counts.append(int(z["gray"].shape[0]))
            for k, v in json.loads(str(z["excluded"])).items():
                excluded_total[k] = excluded_total.get(k, 0) + int(v)
    n = int(sum(counts))
    if n == 0:
        raise ValueError(f"{folder}: no usable face among {len(frames)} frames (excluded / skipped: {excluded_total})")
    shapes = {"gray": (n, size, size), "depth8": (n, size, size), "rgb": (n, size, size, 3)}
    maps = {k: np.lib.format.open_memmap(folder / f".{k}.npy.tmp", mode="w+", dtype=np.uint8, shape=shapes[k])
            for k in IMAGE_FIELDS}
    meta: dict[str, list] = {k: [] for k in META_FIELDS}
    pos = 0
    for i, c in enumerate(counts):
        with np.load(folder / f"shard_{i:05d}.npz", allow_pickle=False) as z:
            for k in IMAGE_FIELDS:
                maps[k][pos:pos + c] = z[k]
            for k in META_FIELDS:
                meta[k].append(z[k])
        pos += c
    for k, m in maps.items():
        m.flush()
        del m
    maps.clear()
    for k in IMAGE_FIELDS:
        os.replace(folder / f".{k}.npy.tmp", folder / f"{k}.npy")
    buf = io.BytesIO()
    np.savez(buf, **{k: np.concatenate(v) for k, v in meta.items()})
    atomic_write_bytes(folder / "meta.npz", buf.getvalue())
    atomic_write_json(folder / "complete.json", {"n_faces": n, "n_frames": len(frames), "excluded": excluded_total})
    for i in range(n_shards):
        (folder / f"shard_{i:05d}.npz").unlink(missing_ok=True)
    log_fn(f"[cache] {folder.name}: {n} faces of {len(frames)} frames (excluded / skipped: {excluded_total})")
    return folder


def load_cache(folder) -> FaceSet:
    """The cached faces; gray / depth8 / rgb are read-only memory maps."""
    folder = Path(folder)
    if not is_complete(folder):
        raise FileNotFoundError(f"{folder}: crop cache incomplete (no complete.json); run build_cache")
    imgs = {k: np.load(folder / f"{k}.npy", mmap_mode="r") for k in IMAGE_FIELDS}
    with np.load(folder / "meta.npz", allow_pickle=False) as z:
        meta = {k: z[k] for k in META_FIELDS}
    n = imgs["gray"].shape[0]
    bad = [k for k, v in {**imgs, **meta}.items() if v.shape[0] != n]
    if bad:
        raise ValueError(f"{folder}: cache arrays {bad} do not hold {n} faces like gray.npy; remove the folder to rebuild")
    return FaceSet(imgs["gray"], imgs["depth8"], imgs["rgb"], meta["identity"], meta["yaw"], meta["pitch"],
                   meta["roll"], meta["group"], meta["landmarks"], {})


def cache_summary(folder) -> dict:
    return json.loads((Path(folder) / "complete.json").read_text())


def crop_shard_fn(reader, size: int, source: str, exclude: bool = True):
    """A ``build_cache`` shard function: the reader's face crops (``reader.iter_face_samples``), with
    001's exclusion filter when ``exclude`` (``exclusion.filter_samples``); frames the reader could
    not read are counted as "unreadable"."""
    from .data import real_faceset
    from .exclusion import ExclusionCounts, filter_samples

    def crop(frames):
        counts = ExclusionCounts()
        samples = reader.iter_face_samples(frames, size)
        if exclude:
            kept = list(filter_samples(samples, counts, source))
            excluded = dict(counts.excluded)
        else:
            kept, excluded = list(samples), {}
        excluded["unreadable"] = len(frames) - (counts.total if exclude else len(kept))
        return (real_faceset(kept, size) if kept else None), excluded
    return crop


def cached_real_faces(data: str, split: str, frames, reader, size: int, preset_name: str, *, exclude: bool,
                      log_fn=print, shard_size: int = 1024) -> FaceSet:
    """Crops of ``frames`` through the on-disk cache ``<work dir>/crops/<data>_<split>_<size>px[_all]``
    (memory-mapped, resumable, keyed by the frame list and the exclusion criteria)."""
    from . import exclusion
    from .train import work_dir

    key = {"data": data, "split": split, "size": size, "n_frames": len(frames),
           "frames": frames_digest([str(f.depth_path) for f in frames]), "exclude": bool(exclude)}
    if exclude:
        key["exclusion"] = {"pose_limits": exclusion.POSE_LIMITS, "occluder_mm": exclusion.OCCLUDER_MM,
                            "max_near": exclusion.MAX_NEAR_FRACTION, "min_valid": exclusion.MIN_VALID_FRACTION,
                            "max_outside": exclusion.MAX_OUTSIDE_FRACTION}
    folder = work_dir(preset_name) / "crops" / f"{data}_{split}_{size}px{'' if exclude else '_all'}"
    build_cache(frames, crop_shard_fn(reader, size, f"{data} {split}", exclude), folder, size, key,
                shard_size=shard_size, log_fn=log_fn)
    summ = cache_summary(folder)
    log_fn(f"[data] {data} {split}: {summ['n_faces']} faces of {summ['n_frames']} frames; excluded / skipped "
           f"{summ['excluded']}" + (" (001 sec. 4.1.1 exclusion, experiments/cgan/exclusion.py)" if exclude else ""))
    return load_cache(folder)
