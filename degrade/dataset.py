"""tf.data stage: (degraded, ground truth) pairs rendered on the fly (Schlett et al. III-B/C).

Sources of ground truth:

* a directory of 16-bit single-channel PNGs (paper convention; searched recursively, sorted).
  Unusable files are skipped and each is logged once (Python logging, logger ``degrade.dataset``,
  level WARNING, naming the file and the problem; independent of TF_CPP_MIN_LOG_LEVEL): files that
  are not 16-bit grey PNGs of the expected size or are truncated (no IEND chunk at the end) are
  found when the dataset is made, from their header and trailer; files whose image data cannot be
  decoded, when they are read. No usable file: a ValueError naming the folder when the dataset is
  made, or (every file damaged inside) an error naming it when it is iterated, never an endless
  stream that filters forever;
* ``"procedural"``: the synthetic-face generator ``prnet_synth.procedural.stream`` (imported only
  when asked for);
* a uint16 NxHxW numpy array, or a ``tf.data.Dataset`` of uint16 HxW images.

The degradation runs batched (``degrade.renderer``) in a parallel, order-preserving map and the
pipeline ends in a prefetch, so rendering overlaps training. Batch ``i`` is degraded with the
stateless seed ``fold_in(seed, i)``, so the same arguments give the same pairs on every run.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf

from .config import VARIANTS, DegradationConfig, get_config
from .render import renderer, seed_tensor

__all__ = ["list_pngs", "png_problem", "usable_pngs", "gt_dataset", "pairs_dataset", "to_network_float"]

log = logging.getLogger(__name__)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_TAIL = 1024          # the IEND chunk must lie in the last _TAIL bytes (a decoder ignores what follows it)
_COLOUR_TYPES = {0: "grey", 2: "RGB", 3: "palette", 4: "grey + alpha", 6: "RGBA"}
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


def png_problem(path: str | os.PathLike, height: int, width: int) -> str | None:
    """Why ``path`` is not a usable ground-truth PNG (16-bit, one grey channel, ``height`` x ``width``,
    complete), judged from its header and its last bytes only; None if it looks usable."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(33)
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - _TAIL))
            tail = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if len(head) < 33 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return "not a PNG file" + (" (empty)" if not head else "")
    w = int.from_bytes(head[16:20], "big")
    h = int.from_bytes(head[20:24], "big")
    bits, colour = head[24], head[25]
    if colour != 0:
        kind = _COLOUR_TYPES.get(colour, f"colour type {colour}")
        return f"{kind} PNG, expected a single-channel (grey) depth image"
    if bits != 16:
        return f"{bits}-bit PNG, expected a 16-bit depth image"
    if (h, w) != (height, width):
        return f"size {h}x{w} (HxW), expected {height}x{width}"
    if _IEND not in tail:
        return "truncated or damaged PNG (it does not end with the IEND chunk)"
    return None


def usable_pngs(directory: str | os.PathLike, height: int, width: int) -> list[Path]:
    """The PNG files under ``directory`` that pass ``png_problem``; each other one is logged
    (WARNING). ValueError naming the folder if none is usable, FileNotFoundError if it holds no PNG."""
    files = list_pngs(directory)
    good, bad = [], 0
    for p in files:
        problem = png_problem(p, height, width)
        if problem is None:
            good.append(p)
        else:
            bad += 1
            log.warning("degrade: skipping %s: %s", p, problem)
    if not good:
        raise ValueError(f"{Path(directory)}: no usable ground-truth file: all {bad} file(s) skipped (see the "
                         f"warnings above); expected 16-bit single-channel PNGs of {height}x{width}")
    return good


def _png_loader(height: int, width: int):
    """A tf.data map: path -> (image, ok). Decodes in Python (cv2, as prnet_synth.conventions does) so
    that a file that cannot be decoded is logged with Python logging, once per dataset, and skipped."""
    from prnet_synth.conventions import DepthFormatError, read_depth_png

    reported: set[str] = set()

    def load_py(path):
        name = path.numpy().decode("utf-8", "surrogateescape")
        try:
            return read_depth_png(name, size=(height, width)), True
        except (DepthFormatError, OSError) as exc:
            level = logging.WARNING if name not in reported else logging.DEBUG
            reported.add(name)
            detail = str(exc).removeprefix(f"{name}: ")
            if isinstance(exc, DepthFormatError) and "readable" in detail:
                detail = "cannot be decoded (damaged image data)"
            log.log(level, "degrade: skipping %s: %s", name, detail)
            return np.zeros((height, width), np.uint16), False

    def load(path):
        img, ok = tf.py_function(load_py, [path], (tf.uint16, tf.bool))
        return tf.ensure_shape(img, [height, width]), tf.ensure_shape(ok, [])

    return load


def _decoded(img, ok):
    return ok


def _image(img, ok):
    return img


def _no_usable_file(folder: str, height: int, width: int) -> tf.data.Dataset:
    """One element whose computation fails with an error naming ``folder`` (the end of a stream that
    should never end: no file of the folder could be decoded)."""
    msg = (f"{folder}: no usable ground-truth file: every file failed to decode (see the warnings); "
           f"expected 16-bit single-channel PNGs of {height}x{width}")

    def raise_it():
        raise ValueError(msg)

    def fail(_):
        return tf.ensure_shape(tf.py_function(raise_it, [], tf.uint16), [height, width])

    return tf.data.Dataset.from_tensors(0).map(fail)


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
        files = [str(p) for p in usable_pngs(source, height, width)]
        ds = tf.data.Dataset.from_tensor_slices(files)
        if shuffle:
            ds = ds.shuffle(len(files), seed=_int_seed(seed, _TAG_SHUFFLE), reshuffle_each_iteration=True)
        ds = ds.map(_png_loader(height, width), num_parallel_calls=num_parallel_calls,
                    deterministic=True)
        ds = ds.filter(_decoded).map(_image)
        if repeat:
            # filtered before repeating: a pass without any decodable file ends repeat() (tf.data stops
            # an endless repeat whose input is empty), and the endless stream's end is an error
            ds = ds.repeat().concatenate(_no_usable_file(str(source), height, width))
        return ds
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
