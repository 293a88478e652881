"""tf.data stage: (degraded, ground truth) pairs rendered on the fly (Schlett et al. III-B/C).

Sources of ground truth:

* a directory of 16-bit single-channel PNGs (paper convention; searched recursively, sorted);
  files that are not 16-bit grey PNGs of the expected size are logged and skipped, undecodable
  ones too (``ignore_errors``);
* ``"procedural"``: the synthetic-face generator ``prnet_synth.procedural.stream`` (imported only
  when asked for);
* a uint16 NxHxW numpy array, or a ``tf.data.Dataset`` of uint16 HxW images.

The degradation runs batched (``degrade.renderer``) in a parallel, order-preserving map and the
pipeline ends in a prefetch, so rendering overlaps training. Batch ``i`` is degraded with the
stateless seed ``fold_in(seed, i)``, so the same arguments give the same pairs on every run.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from .config import VARIANTS, DegradationConfig, get_config
from .render import renderer, seed_tensor

__all__ = ["list_pngs", "gt_dataset", "pairs_dataset", "to_network_float"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TAG_SHUFFLE, _TAG_VARIANT, _TAG_BATCH = 201, 202, 203


def list_pngs(directory: str | os.PathLike) -> list[Path]:
    """The PNG files under ``directory`` (recursive), sorted; an error naming it if there are none."""
    d = Path(directory)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: ground-truth directory does not exist")
    files = sorted(p for p in d.rglob("*") if p.suffix.lower() == ".png" and p.is_file())
    if not files:
        raise FileNotFoundError(f"{d}: no .png ground-truth files found")
    return files


def _be_uint32(b):
    v = tf.cast(tf.io.decode_raw(b, tf.uint8), tf.int64)
    return ((v[0] * 256 + v[1]) * 256 + v[2]) * 256 + v[3]


def _png_loader(height: int, width: int):
    def load(path):
        data = tf.io.read_file(path)
        padded = data + tf.constant(b"\0" * 32)  # header fields can be read even from short files
        sig_ok = tf.strings.substr(padded, 0, 8) == tf.constant(_PNG_SIGNATURE)
        ihdr_ok = tf.strings.substr(padded, 12, 4) == tf.constant(b"IHDR")
        w = _be_uint32(tf.strings.substr(padded, 16, 4))
        h = _be_uint32(tf.strings.substr(padded, 20, 4))
        bits = tf.io.decode_raw(tf.strings.substr(padded, 24, 2), tf.uint8)
        ok = sig_ok & ihdr_ok & tf.equal(bits[0], 16) & tf.equal(bits[1], 0) & tf.equal(h, height) & tf.equal(w, width)

        def decode():
            return tf.io.decode_png(data, channels=1, dtype=tf.uint16)[:, :, 0]

        img = tf.cond(ok, decode, lambda: tf.zeros([height, width], tf.uint16))
        img = tf.ensure_shape(img, [height, width])
        return path, img, ok

    return load


def _keep_valid(path, img, ok):
    def warn():
        tf.print("degrade: skipping", path, "- not a 16-bit single-channel (grey) PNG of the expected size",
                 output_stream=sys.stderr)
        return ok

    return tf.cond(ok, lambda: ok, warn)


def gt_dataset(source: Any, seed: int, *, shuffle: bool = True, repeat: bool = True,
               image_size: tuple[int, int] = (256, 256), num_parallel_calls: int = tf.data.AUTOTUNE,
               procedural_options: Mapping[str, Any] | None = None) -> tf.data.Dataset:
    """A dataset of ground-truth uint16 HxW images from any of the supported sources."""
    height, width = int(image_size[0]), int(image_size[1])
    if isinstance(source, tf.data.Dataset):
        ds = source
        if shuffle:
            ds = ds.shuffle(1024, seed=_int_seed(seed, _TAG_SHUFFLE), reshuffle_each_iteration=True)
        return ds.repeat() if repeat else ds
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint16 or source.ndim != 3:
            raise ValueError(f"ground-truth array: expected uint16 NxHxW, got {source.dtype} {source.shape}")
        ds = tf.data.Dataset.from_tensor_slices(source)
        if shuffle:
            ds = ds.shuffle(len(source), seed=_int_seed(seed, _TAG_SHUFFLE), reshuffle_each_iteration=True)
        return ds.repeat() if repeat else ds
    if isinstance(source, str) and source == "procedural":
        return _procedural_dataset(seed, height, width, dict(procedural_options or {}))
    if isinstance(source, (str, os.PathLike)):
        files = [str(p) for p in list_pngs(source)]
        ds = tf.data.Dataset.from_tensor_slices(files)
        if shuffle:
            ds = ds.shuffle(len(files), seed=_int_seed(seed, _TAG_SHUFFLE), reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat()
        ds = ds.map(_png_loader(height, width), num_parallel_calls=num_parallel_calls, deterministic=True)
        ds = ds.ignore_errors(log_warning=True)  # undecodable files: logged, skipped
        ds = ds.filter(_keep_valid)
        return ds.map(lambda path, img, ok: img)
    raise TypeError(f"ground-truth source: expected a directory, 'procedural', a uint16 NxHxW array or a "
                    f"tf.data.Dataset, got {type(source).__name__}")


def _int_seed(seed, tag: int) -> int:
    """A Python int seed for tf.data ops, derived from the user's seed and a tag."""
    ss = np.random.SeedSequence([int(seed) if not isinstance(seed, (tuple, list)) else int(seed[0]), tag])
    return int(ss.generate_state(1, np.uint32)[0] & 0x7FFFFFFF)


def _procedural_dataset(seed, height, width, options):
    try:
        from prnet_synth import procedural
    except ImportError as exc:  # the generator ships with another package part
        raise ImportError("ground-truth source 'procedural' needs prnet_synth.procedural "
                          f"(the synthetic-face generator), which could not be imported: {exc}") from exc

    def gen():
        for item in procedural.stream(int(seed), **options):
            yield item["depth"]

    return tf.data.Dataset.from_generator(gen, output_signature=tf.TensorSpec([height, width], tf.uint16))


def to_network_float(depth):
    """uint16 NxHxW (paper convention) -> float32 NxHxWx1 in [0, 1] with holes at 1.0 (the networks' input)."""
    return (tf.cast(depth, tf.float32) / 65535.0)[..., None]


def pairs_dataset(source: Any, seed: int, batch_size: int, variants: Sequence[str] = ("plain",),
                  config: DegradationConfig | str | None = None, *, variant_mode: str = "each",
                  output: str = "float", shuffle: bool = True, repeat: bool = True,
                  drop_remainder: bool | None = None, image_size: tuple[int, int] = (256, 256),
                  num_parallel_calls: int = tf.data.AUTOTUNE, prefetch: int = tf.data.AUTOTUNE,
                  procedural_options: Mapping[str, Any] | None = None) -> tf.data.Dataset:
    """Batches of (degraded, ground truth) pairs, rendered on the fly.

    source: a directory of 16-bit PNGs, ``"procedural"``, a uint16 NxHxW array or a dataset.
    variants: hole-value variants to train with (``VARIANTS``). ``variant_mode="each"``: every
        ground-truth image appears once per variant (the paper's DL-Delta training, IV-C);
        ``"random"``: one variant drawn per image.
    output: ``"float"``: float32 NxHxWx1 in [0, 1], holes 1.0 (the networks' convention);
        ``"uint16"``: uint16 NxHxW (paper convention).
    drop_remainder: defaults to ``repeat`` (fixed batch shapes for endless training streams).
    """
    cfg = get_config(config)
    variants = tuple(variants)
    if not variants or any(v not in VARIANTS for v in variants):
        raise ValueError(f"variants: expected a non-empty subset of {VARIANTS}, got {variants!r}")
    if variant_mode not in ("each", "random"):
        raise ValueError(f"variant_mode: expected 'each' or 'random', got {variant_mode!r}")
    if output not in ("float", "uint16"):
        raise ValueError(f"output: expected 'float' or 'uint16', got {output!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size: expected >= 1, got {batch_size!r}")
    drop = repeat if drop_remainder is None else drop_remainder
    ids = tf.constant([VARIANTS.index(v) for v in variants], tf.int32)
    n_var = len(variants)
    base = seed_tensor(seed)

    ds = gt_dataset(source, seed, shuffle=shuffle, repeat=repeat, image_size=image_size,
                    num_parallel_calls=num_parallel_calls, procedural_options=procedural_options)
    if n_var == 1:
        ds = ds.map(lambda x: (x, ids[0]))
    elif variant_mode == "each":
        ds = ds.flat_map(lambda x: tf.data.Dataset.zip(
            (tf.data.Dataset.from_tensors(x).repeat(n_var), tf.data.Dataset.from_tensor_slices(ids))))
    else:
        vseed = tf.random.experimental.stateless_fold_in(base, _TAG_VARIANT, alg="philox")

        def pick(i, x):
            s = tf.random.experimental.stateless_fold_in(vseed, i, alg="philox")
            k = tf.random.stateless_uniform([], s, minval=0, maxval=n_var, dtype=tf.int32, alg="philox")
            return x, ids[k]

        ds = ds.enumerate().map(pick)
    ds = ds.batch(int(batch_size), drop_remainder=drop)
    render = renderer(cfg, variants)
    bseed = tf.random.experimental.stateless_fold_in(base, _TAG_BATCH, alg="philox")

    def degrade_pairs(i, batch):
        gt, vid = batch
        s = tf.random.experimental.stateless_fold_in(bseed, i, alg="philox")
        deg = render(gt, s, vid)
        if output == "float":
            return to_network_float(deg), to_network_float(gt)
        return deg, gt

    ds = ds.enumerate().map(degrade_pairs, num_parallel_calls=num_parallel_calls, deterministic=True)
    return ds.prefetch(prefetch)
