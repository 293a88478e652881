"""On-disk form of the synthetic faces (sharded, resumable, deterministic) and the tf.data form.

Layout of ``write_dataset(out_dir, n, seed, shard_size=...)``::

    out_dir/dataset.json                       options, seed, n, shard size, provenance
    out_dir/shard_00000/000000_depth.png       16-bit PNG, project convention
    out_dir/shard_00000/000000_rgb.png         8-bit RGB PNG
    out_dir/shard_00000/000000_mask.png        8-bit PNG, class ids (MASK_CLASSES)
    out_dir/shard_00000/manifest.jsonl         one line per sample: index, file names, identity,
                                               landmarks (68 x [x, y, depth]), params

A shard's manifest is written (atomically) after its images, so a shard with a complete
manifest is finished; a rerun skips finished shards and redoes the others (same bytes, since
every sample is a function of (seed, index)).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..atomic import atomic_write_json, atomic_write_text, provenance
from ..conventions import DepthFormatError, read_depth_png, read_png, write_depth_png, write_png

log = logging.getLogger(__name__)

FORMAT = "prnet_synth.procedural/1"


def _shard_dir(out_dir: Path, k: int) -> Path:
    return out_dir / f"shard_{k:05d}"


def _shard_complete(d: Path, expect: int) -> bool:
    man = d / "manifest.jsonl"
    if not man.is_file():
        return False
    try:
        lines = [json.loads(s) for s in man.read_text().splitlines() if s.strip()]
    except (OSError, json.JSONDecodeError):
        return False
    if len(lines) != expect:
        return False
    return all((d / rec[k]).is_file() for rec in lines for k in ("depth", "rgb", "mask"))


def write_dataset(out_dir, n: int, seed: int, shard_size: int = 1000, frontal: bool = False,
                  progress: bool = True, shards: Optional[Sequence[int]] = None, **options) -> Path:
    """Render samples 0..n-1 of ``seed`` into ``out_dir`` (see the module docstring).

    ``shards`` restricts the run to the given shard numbers (for cluster jobs); finished shards
    are skipped. Returns ``out_dir``. Raises ValueError when ``out_dir`` holds a data set written
    with other settings.
    """
    from tqdm import tqdm

    from . import resolve_options
    from .scene import render

    n, seed, shard_size = int(n), int(seed), int(shard_size)
    if n < 0 or shard_size < 1:
        raise ValueError(f"need n >= 0 and shard_size >= 1, got n={n}, shard_size={shard_size}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"{out_dir}: exists and is not a folder")
    o = resolve_options(frontal, **options)
    settings = {"format": FORMAT, "n": n, "seed": seed, "shard_size": shard_size, "frontal": bool(frontal),
                "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}}
    meta_path = out_dir / "dataset.json"
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{meta_path}: not a readable dataset.json ({exc})") from exc
        old_settings = {k: old.get(k) for k in settings}
        if old_settings != settings:
            raise ValueError(f"{meta_path}: {out_dir} holds a data set with other settings "
                             f"({old_settings}); choose another folder")
    else:
        atomic_write_json(meta_path, dict(settings, provenance=provenance("synthetic", seed, "procedural")))
    n_shards = (n + shard_size - 1) // shard_size
    todo = list(range(n_shards)) if shards is None else [int(k) for k in shards]
    bar = tqdm(total=sum(min(shard_size, n - k * shard_size) for k in todo), disable=not progress,
               desc="synthetic faces", unit="face")
    for k in todo:
        if not 0 <= k < n_shards:
            raise ValueError(f"shard {k} out of range 0..{n_shards - 1}")
        lo, hi = k * shard_size, min(n, (k + 1) * shard_size)
        d = _shard_dir(out_dir, k)
        if _shard_complete(d, hi - lo):
            bar.update(hi - lo)
            continue
        lines = []
        failed = 0
        for i in range(lo, hi):
            try:
                s = render(seed, i, o)
            except Exception:  # log, skip, continue; the shard stays unfinished and is retried
                log.exception("sample %d (seed %d) failed; skipped, shard %s will be redone on the next run",
                              i, seed, d)
                failed += 1
                bar.update(1)
                continue
            names = {m: f"{i:06d}_{m}.png" for m in ("depth", "rgb", "mask")}
            write_depth_png(d / names["depth"], s["depth"])
            write_png(d / names["rgb"], s["rgb"])
            write_png(d / names["mask"], s["mask"])
            rec = {"index": i, **names, "identity": s["identity"],
                   "landmarks": np.round(s["landmarks"].astype(np.float64), 3).tolist(), "params": s["params"]}
            lines.append(json.dumps(rec, sort_keys=True))
            bar.update(1)
        name = "manifest.jsonl" if not failed else "manifest.partial.jsonl"
        atomic_write_text(d / name, "\n".join(lines) + ("\n" if lines else ""))
    bar.close()
    return out_dir


class SyntheticDataset(Sequence):
    """A data set written by ``write_dataset``: ``len()``, indexing (loads one sample), iteration."""

    def __init__(self, root: Path, records: list[dict], meta: dict):
        self.root = root
        self.records = records
        self.meta = meta

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        rec = self.records[i]
        import cv2

        d = self.root / rec["_shard"]
        rgb = read_png(d / rec["rgb"])
        if rgb.ndim != 3:
            raise DepthFormatError(f"{d / rec['rgb']}: expected an RGB image, got shape {rgb.shape}")
        mask = read_png(d / rec["mask"])
        if mask.ndim != 2:
            raise DepthFormatError(f"{d / rec['mask']}: expected a single-channel class mask, got shape {mask.shape}")
        return {"depth": read_depth_png(d / rec["depth"]), "rgb": rgb,
                "gray": cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), "mask": mask,
                "landmarks": np.asarray(rec["landmarks"], np.float32), "identity": int(rec["identity"]),
                "params": rec["params"]}


def read_dataset(path) -> SyntheticDataset:
    """Open a data set written by ``write_dataset``. Shards without a finished manifest are
    skipped with a warning, so a partly written set can still be used."""
    root = Path(path)
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path}: no dataset.json; {root} is not a synthetic-face data set")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{meta_path}: not valid JSON ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise ValueError(f"{meta_path}: unknown format {meta.get('format')!r}, expected {FORMAT!r}")
    records = []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("shard_")):
        man = d / "manifest.jsonl"
        if not man.is_file():
            log.warning("%s: shard not finished (no manifest.jsonl), skipped", d)
            continue
        for ln, line in enumerate(man.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{man}:{ln}: not valid JSON ({exc})") from exc
            rec["_shard"] = d.name
            records.append(rec)
    records.sort(key=lambda r: r["index"])
    return SyntheticDataset(root, records, meta)


def as_tf_dataset(seed: int, frontal: bool = False, start: int = 0, stop: Optional[int] = None,
                  keys: Sequence[str] = ("depth", "rgb", "gray", "mask", "landmarks", "identity"), **options):
    """The endless (or ``stop``-bounded) sample stream as a ``tf.data.Dataset`` of dicts with ``keys``."""
    import tensorflow as tf

    from . import stream

    spec = {"depth": tf.TensorSpec((256, 256), tf.uint16), "rgb": tf.TensorSpec((256, 256, 3), tf.uint8),
            "gray": tf.TensorSpec((256, 256), tf.uint8), "mask": tf.TensorSpec((256, 256), tf.uint8),
            "landmarks": tf.TensorSpec((68, 3), tf.float32), "identity": tf.TensorSpec((), tf.int64)}
    bad = [k for k in keys if k not in spec]
    if bad:
        raise ValueError(f"as_tf_dataset: unknown keys {bad}; choose from {sorted(spec)}")
    sig = {k: spec[k] for k in keys}

    def gen():
        for s in stream(seed, frontal=frontal, start=start, stop=stop, **options):
            yield {k: (np.int64(s[k]) if k == "identity" else s[k]) for k in keys}

    return tf.data.Dataset.from_generator(gen, output_signature=sig)
