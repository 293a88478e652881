"""Batched degradation renderer in TensorFlow ops (Schlett et al. III-B).

``degrade_batch(gt, seed, variant)`` turns a batch of ground-truth depth images (uint16 NxHxW,
65535 = hole) into degraded ones, in the order of the paper:

1. holes: ellipses centred on the face outline (non-hole ground-truth pixels with a hole among
   their 4 neighbours; they erode the outline) and ellipses centred on random face pixels, each
   with its own size, aspect ratio and orientation; both kinds are rasterised together in one
   step for the whole batch;
2. noise added to every remaining non-hole pixel (zero mean, standard deviation
   ``noise_mm`` converted to depth units);
3. blur of the non-hole pixels by normalised convolution (box window): a pixel becomes the mean
   of the non-hole pixels in its window, so hole values never leak into the face;
4. hole values: 65535 ("plain"), fully random ("random_background") or random within a depth
   range and blurred ("blurred_background"); the last two are training-only.

Speed: all random numbers come from stateless Philox ops (outside XLA, where they are fast);
everything else is one XLA-compiled function (elementwise ellipse maths and shift-and-add box
blurs fuse into a few loops there). Ellipses are rasterised per image row: each ellipse gives
one x-interval per row, so a pixel costs two comparisons per ellipse.

Determinism: the output is a function of (ground truth, seed, variant, config) only; the
random streams are Philox with fixed derivation, identical on CPU and GPU.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

import numpy as np
import tensorflow as tf

from prnet_synth.conventions import MAX_VALID

from .config import VARIANTS, DegradationConfig, get_config

__all__ = ["degrade_batch", "seed_tensor", "renderer"]

_ALG = "philox"
# fold-in tags of the independent random streams
_TAG_HOLES, _TAG_IMAGE, _TAG_NOISE, _TAG_BACKGROUND = 101, 102, 103, 104
# per-image uniforms: outline count, random count, blur size, bg width, bg position, bg blur size
_N_IMAGE_U = 6
# per-hole uniforms: centre pick, radius, aspect, angle, jitter x, jitter y
_N_HOLE_U = 6
_HALF_ULP = 2.0 ** -24  # centres Philox's k/2^23 uniforms on (0, 1)


def seed_tensor(seed) -> tf.Tensor:
    """A stateless-op seed (int64 [2]) from a non-negative Python int, a pair, or a tensor."""
    if isinstance(seed, (tf.Tensor, tf.Variable)):
        seed = tf.cast(seed, tf.int64)
        if seed.shape.rank == 0:
            return tf.stack([seed, tf.constant(0, tf.int64)])
        return tf.reshape(seed, [2])
    if isinstance(seed, (tuple, list, np.ndarray)) and np.size(seed) == 2:
        vals = [int(v) for v in np.asarray(seed).ravel()]
        if any(v < 0 or v >= 2 ** 63 for v in vals):
            raise ValueError(f"seed: expected non-negative 64-bit integers, got {seed!r}")
        return tf.constant(vals, tf.int64)
    try:
        s = int(seed)
    except (TypeError, ValueError):
        raise TypeError(f"seed: expected a non-negative int, got {seed!r}") from None
    if s != seed or s < 0 or s >= 2 ** 64:
        raise ValueError(f"seed: expected a non-negative integer below 2**64, got {seed!r}")
    return tf.constant([s & 0x7FFFFFFFFFFFFFFF, s >> 63], tf.int64)


def _lerp(lo_hi, u):
    lo, hi = float(lo_hi[0]), float(lo_hi[1])
    return lo + (hi - lo) * u


def _pick_int(lo_hi, u):
    """Uniform integer in [lo, hi] (inclusive) from u in (0, 1)."""
    lo, hi = int(lo_hi[0]), int(lo_hi[1])
    return tf.minimum(lo + tf.floor(u * (hi - lo + 1)), float(hi))


def _sample_pixels(row_mask_fn, rows, u, width):
    """Pick pixels uniformly among a mask's ones, given the mask's row counts rows [N,H] (float)
    and ``row_mask_fn(row [N,K] int32) -> bool [N,K,W]`` (the mask's chosen rows); u [N,K] in
    (0, 1) -> rows, cols [N,K] (float), ok [N] (mask not empty).

    Two levels (a row by the cumulated row counts, then a column within that row), so besides the
    row counts it costs O(N*K*(H+W)) and needs neither searchsorted nor a scatter.
    """
    h = tf.shape(rows)[1]
    cum = tf.cumsum(rows, axis=1)                            # N,H
    total = cum[:, -1]                                       # N
    t = tf.minimum(tf.floor(u * total[:, None]), tf.maximum(total[:, None] - 1.0, 0.0))  # N,K
    row = tf.reduce_sum(tf.cast(cum[:, None, :] <= t[:, :, None], tf.int32), axis=2)
    row = tf.minimum(row, h - 1)
    before = tf.gather(cum, row, batch_dims=1) - tf.gather(rows, row, batch_dims=1)
    offset = t - before
    row_mask = tf.cast(row_mask_fn(row), tf.float32)        # N,K,W
    col = tf.reduce_sum(tf.cast(tf.cumsum(row_mask, axis=2) <= offset[:, :, None], tf.int32), axis=2)
    col = tf.minimum(col, width - 1)
    return tf.cast(row, tf.float32), tf.cast(col, tf.float32), total > 0


def _row_counts(gt):
    """Row counts (float [N,H]) of the face (non-hole) and outline masks; XLA fuses the masks
    into the reductions, so they are never stored."""
    valid_f = tf.cast(gt != tf.constant(65535, gt.dtype), tf.float32)
    return tf.reduce_sum(valid_f, axis=2), tf.reduce_sum(_outline(valid_f), axis=2)


def _valid_rows(gt, row):
    """Face mask of the given rows: gt [N,H,W], row [N,K] -> bool [N,K,W]."""
    return tf.gather(gt, row, batch_dims=1) != tf.constant(65535, gt.dtype)


def _outline_rows(gt, row):
    """Outline mask (as ``_outline``) of the given rows, from those rows and their neighbours."""
    h = tf.shape(gt)[1]
    cur = _valid_rows(gt, row)
    up = _valid_rows(gt, tf.maximum(row - 1, 0)) | (row == 0)[:, :, None]
    down = _valid_rows(gt, tf.minimum(row + 1, h - 1)) | (row == h - 1)[:, :, None]
    side = tf.pad(cur, [[0, 0], [0, 0], [1, 1]], constant_values=True)
    inner = up & down & side[:, :, :-2] & side[:, :, 2:]
    return cur & ~inner


def _ellipse_intervals(cx, cy, a, b, theta, active, height):
    """Per-row x-intervals of filled ellipses: centres/axes/angles [N,E], active [N,E] bool ->
    x0, x1 [N,E,H] (empty rows and inactive ellipses get x0 > x1).

    Pixel (x, y) (centre at integer coordinates) is inside when q(x-cx, y-cy) <= 1 with
    q = A dx^2 + 2B dx dy + C dy^2 the rotated ellipse's quadratic form; per row y that is the
    interval between the roots of the quadratic in dx.
    """
    c, s = tf.cos(theta), tf.sin(theta)
    ia2 = 1.0 / tf.square(tf.maximum(a, 1e-3))
    ib2 = 1.0 / tf.square(tf.maximum(b, 1e-3))
    qa = c * c * ia2 + s * s * ib2
    qb = c * s * (ia2 - ib2)
    qc = s * s * ia2 + c * c * ib2
    ys = tf.range(height, dtype=tf.float32)
    dy = ys[None, None, :] - cy[:, :, None]                  # N,E,H
    qa_, qb_, qc_ = qa[:, :, None], qb[:, :, None], qc[:, :, None]
    disc = qb_ * qb_ * dy * dy - qa_ * (qc_ * dy * dy - 1.0)
    root = tf.sqrt(tf.maximum(disc, 0.0))
    x0 = cx[:, :, None] + (-qb_ * dy - root) / qa_
    x1 = cx[:, :, None] + (-qb_ * dy + root) / qa_
    x0 = tf.where((disc >= 0.0) & active[:, :, None], x0, 3e9)
    return x0, x1


def _interval_mask(x0, x1, width, n_ell=None):
    """Union over E of the row intervals: x0, x1 [N,E,H] -> bool [N,H,W] (two comparisons per
    pixel and ellipse). ``n_ell``: E, when the static shape does not tell it."""
    xs = tf.range(width, dtype=tf.float32)
    n_ell = x0.shape[1] if n_ell is None else n_ell
    if n_ell is None:
        return tf.reduce_any((xs >= x0[..., None]) & (xs <= x1[..., None]), axis=1)
    # the OR over the ellipses as an unrolled elementwise chain (E is static), which XLA fuses
    # into one loop over the pixels; a reduce_any over an [N,E,H,W] tensor was as fast for some E
    # and 50-80x slower for others (E = 20..32) on XLA:CPU
    mask = None
    for e in range(n_ell):
        term = (xs >= x0[:, e, :, None]) & (xs <= x1[:, e, :, None])
        mask = term if mask is None else mask | term
    return mask


def _ellipse_mask(cx, cy, a, b, theta, active, height, width):
    """Union of filled ellipses per image (bool [N,H,W]); see ``_ellipse_intervals``."""
    return _interval_mask(*_ellipse_intervals(cx, cy, a, b, theta, active, height), width)


def _box_taps(radius, max_radius):
    """0/1 tap weights [N, 2*max_radius+1] of per-image box windows of the given radii [N]."""
    offs = tf.abs(tf.range(-max_radius, max_radius + 1, dtype=tf.float32))
    return tf.cast(offs[None, :] <= radius[:, None], tf.float32)


def _box_sum(x, taps, max_radius):
    """Separable per-image box sums with zero padding; x [N,C,H,W], taps [N,T]: shift-and-add."""
    if max_radius == 0:
        return x
    w = tf.shape(x)[3]
    h = tf.shape(x)[2]
    t = taps[:, None, None, None, :]
    xp = tf.pad(x, [[0, 0], [0, 0], [0, 0], [max_radius, max_radius]])
    acc = None
    for i in range(2 * max_radius + 1):
        term = t[..., i] * xp[:, :, :, i:i + w]
        acc = term if acc is None else acc + term
    xp = tf.pad(acc, [[0, 0], [0, 0], [max_radius, max_radius], [0, 0]])
    acc = None
    for i in range(2 * max_radius + 1):
        term = t[..., i] * xp[:, :, i:i + h, :]
        acc = term if acc is None else acc + term
    return acc


def _outline(valid_f):
    """Non-hole pixels with a hole among their 4 neighbours (outside the image counts as non-hole)."""
    hole = 1.0 - valid_f
    p = tf.pad(hole, [[0, 0], [1, 1], [1, 1]])
    nb = tf.maximum(tf.maximum(p[:, :-2, 1:-1], p[:, 2:, 1:-1]), tf.maximum(p[:, 1:-1, :-2], p[:, 1:-1, 2:]))
    return valid_f * nb


def _stage_fns(cfg: DegradationConfig, need_random: bool, need_blurred: bool):
    """Stages after the row-count stage (``_row_counts``, XLA): ``geometry`` (hole parameters, plain TF),
    ``raster`` and ``finish`` (XLA). They are compiled separately on purpose: fused into one
    cluster, XLA re-computed the hole sampling inside the per-pixel loops that consume it (about
    20x slower on this CPU)."""
    eo, er = cfg.outline_holes[1], cfg.random_holes[1]
    blur_r = ((cfg.blur_size[0] - 1) // 2, (cfg.blur_size[1] - 1) // 2)
    bg_r = ((cfg.background_blur_size[0] - 1) // 2, (cfg.background_blur_size[1] - 1) // 2)
    sigma = cfg.noise_mm * cfg.units_per_mm
    q_step = cfg.quantize_mm * cfg.units_per_mm
    noise_after = cfg.noise_stage == "after_blur"

    def geometry(gt, counts, u_holes, u_img):
        """Hole parameters [N,E]: centres (outline / random face pixels), axes, angles, active."""
        valid_rows, outline_rows = counts
        width = tf.shape(gt)[2]
        parts = []
        for kind, k0, k1 in (("outline", 0, eo), ("random", eo, eo + er)):
            if k1 == k0:
                continue
            uh = u_holes[:, k0:k1, :]
            if kind == "outline":
                row, col, ok = _sample_pixels(lambda r: _outline_rows(gt, r), outline_rows, uh[..., 0], width)
            else:
                row, col, ok = _sample_pixels(lambda r: _valid_rows(gt, r), valid_rows, uh[..., 0], width)
            counts = cfg.outline_holes if kind == "outline" else cfg.random_holes
            radius = cfg.outline_hole_radius if kind == "outline" else cfg.random_hole_radius
            aspect = cfg.outline_hole_aspect if kind == "outline" else cfg.random_hole_aspect
            count = _pick_int(counts, u_img[:, 0] if kind == "outline" else u_img[:, 1])
            active = (tf.range(k1 - k0, dtype=tf.float32)[None, :] < count[:, None]) & ok[:, None]
            a = _lerp(radius, uh[..., 1])
            b = a * _lerp(aspect, uh[..., 2])
            theta = math.pi * uh[..., 3]
            cx = col + uh[..., 4] - 0.5
            cy = row + uh[..., 5] - 0.5
            parts.append((cx, cy, a, b, theta, active))
        ellipses = [tf.concat(p, axis=1) for p in zip(*parts)]
        # row intervals [N,E,H] computed here, outside the raster's XLA cluster, so that XLA
        # cannot fuse (and repeat) their square roots inside the per-pixel loop
        return _ellipse_intervals(*ellipses, tf.shape(gt)[1])

    def raster(gt, x0, x1):
        """Non-hole mask after the new holes (bool [N,H,W])."""
        valid = gt != tf.constant(65535, gt.dtype)
        return valid & ~_interval_mask(x0, x1, tf.shape(gt)[2], eo + er)

    def finish(gt, valid, u_img, u_noise, u_bg, variant_ids):
        """Noise and normalised blur of the non-hole pixels, then the hole values."""
        depth = tf.cast(gt, tf.float32)
        m = tf.cast(valid, tf.float32)

        def add_noise(d):
            u = (tf.cast(u_noise, tf.float32) + 0.5) * (1.0 / 65536.0)   # 16-bit uniforms on (0, 1)
            if cfg.noise_distribution == "gaussian":
                z = math.sqrt(2.0) * tf.math.erfinv(2.0 * u - 1.0)
            elif cfg.noise_distribution == "uniform":
                z = math.sqrt(3.0) * (2.0 * u - 1.0)
            else:                                   # "uniform_bound"
                z = 2.0 * u - 1.0
            return tf.clip_by_value(d + sigma * z, 0.0, float(MAX_VALID))

        if u_noise is not None and not noise_after:
            depth = add_noise(depth)
        if blur_r[1] > 0:
            r = _pick_int(blur_r, u_img[:, 2])
            taps = _box_taps(r, blur_r[1])
            sums = _box_sum(tf.stack([depth * m, m], axis=1), taps, blur_r[1])
            depth = sums[:, 0] / tf.maximum(sums[:, 1], 1e-6)
        if u_noise is not None and noise_after:
            depth = add_noise(depth)
        if q_step > 0:
            depth = tf.round(depth / q_step) * q_step
        depth = tf.clip_by_value(tf.round(depth), 0.0, float(MAX_VALID))

        hole_val = tf.fill(tf.shape(depth), 65535.0)
        vid = variant_ids[:, None, None]
        if need_random or need_blurred:
            bg_bits = tf.cast(u_bg, tf.float32)
        if need_random:
            rnd = bg_bits                                    # fully random: every uint16 value alike
            hole_val = tf.where(vid == 1, rnd, hole_val)
        if need_blurred:
            width = _lerp(cfg.background_range, u_img[:, 3]) * float(MAX_VALID)
            lo = u_img[:, 4] * (float(MAX_VALID) - width)
            rb = _pick_int(bg_r, u_img[:, 5])
            taps = _box_taps(rb, bg_r[1])
            u_bg = (bg_bits + 0.5) * (1.0 / 65536.0)
            sums = _box_sum(tf.stack([u_bg, tf.ones_like(u_bg)], axis=1), taps, bg_r[1])
            smooth = sums[:, 0] / tf.maximum(sums[:, 1], 1e-6)
            blurred = tf.round(lo[:, None, None] + width[:, None, None] * smooth)
            hole_val = tf.where(vid == 2, tf.clip_by_value(blurred, 0.0, float(MAX_VALID)), hole_val)
        return tf.cast(tf.where(valid, depth, hole_val), tf.uint16)

    return geometry, raster, finish


_RENDERERS: dict = {}


def _bucket(n):
    """Batch size the renderer computes for n images: 4 (for 1..4), 8, then multiples of 8 up to
    64, then multiples of 32. (Single images are rare and cheap; sharing one compiled shape for
    1..4 saves seconds of XLA compilation per size.)"""
    return tf.where(n <= 4, 4, tf.where(n <= 64, (n + 7) // 8 * 8, (n + 31) // 32 * 32))


def renderer(config: DegradationConfig | str | None = None, variants: Sequence[str] = ("plain",),
             jit_compile: bool | None = True):
    """The compiled renderer ``f(gt uint16 [N,H,W], seed int64 [2], variant_ids int32 [N]) -> uint16``.

    ``variants`` lists the variants that may occur (so only their random fields are drawn);
    ``variant_ids`` index ``VARIANTS``. Cached per (config, variants, jit_compile).
    """
    cfg = get_config(config)
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"unknown degradation variant(s) {bad}; expected one of {VARIANTS}")
    need_random = "random_background" in variants
    need_blurred = "blurred_background" in variants
    key = (cfg, need_random, need_blurred, jit_compile)
    fn = _RENDERERS.get(key)
    if fn is not None:
        return fn
    geometry, raster, finish = _stage_fns(cfg, need_random, need_blurred)
    # the geometry stage (sampling centres, drawing parameters) works on small tensors: plain TF
    # ops are fast there and XLA would only add seconds of compilation; the per-pixel work (masks,
    # rasterising, noise and blur) is elementwise and XLA fuses it well
    counts = tf.function(_row_counts, jit_compile=jit_compile, reduce_retracing=True)
    raster = tf.function(raster, jit_compile=jit_compile, reduce_retracing=True)
    finish = tf.function(finish, jit_compile=jit_compile, reduce_retracing=True)
    n_holes = cfg.max_holes
    with_noise = cfg.noise_mm > 0
    with_bg = need_random or need_blurred

    @tf.function(input_signature=[tf.TensorSpec([None, None, None], tf.uint16),
                                  tf.TensorSpec([2], tf.int64),
                                  tf.TensorSpec([None], tf.int32)])
    def render(gt, seed, variant_ids):
        n_in = tf.shape(gt)[0]
        # pad the batch (with all-hole images) to a bucket size, so odd batch sizes reuse a few
        # compiled shapes; the random draws of image i do not depend on the batch size (Philox
        # counters run along the flattened arrays), so padding does not change any output
        n = _bucket(n_in)
        gt = tf.pad(gt, [[0, n - n_in], [0, 0], [0, 0]], constant_values=65535)
        variant_ids = tf.pad(variant_ids, [[0, n - n_in]])
        h, w = tf.shape(gt)[1], tf.shape(gt)[2]

        def uniform(tag, shape):
            s = tf.random.experimental.stateless_fold_in(seed, tag, alg=_ALG)
            return tf.random.stateless_uniform(shape, s, alg=_ALG) + _HALF_ULP

        u_holes = uniform(_TAG_HOLES, [n, max(n_holes, 1), _N_HOLE_U])
        u_img = uniform(_TAG_IMAGE, [n, _N_IMAGE_U])
        def bits16(tag):
            # per-pixel 16-bit random integers: each 32-bit Philox output gives two (little-endian
            # halves), which halves the cost of the largest random draws
            s = tf.random.experimental.stateless_fold_in(seed, tag, alg=_ALG)
            half = (h * w + 1) // 2
            r = tf.random.stateless_uniform([n, half], s, minval=None, maxval=None, dtype=tf.uint32, alg=_ALG)
            return tf.reshape(tf.reshape(tf.bitcast(r, tf.uint16), [n, 2 * half])[:, :h * w], [n, h, w])

        u_noise = bits16(_TAG_NOISE) if with_noise else None
        u_bg = bits16(_TAG_BACKGROUND) if with_bg else None
        if n_holes > 0:
            valid = raster(gt, *geometry(gt, counts(gt), u_holes, u_img))
        else:
            valid = gt != tf.constant(65535, tf.uint16)
        return finish(gt, valid, u_img, u_noise, u_bg, variant_ids)[:n_in]

    _RENDERERS[key] = render
    return render


def _variant_ids(variant, n: int | tf.Tensor):
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown degradation variant {variant!r}; expected one of {VARIANTS}")
        return (variant,), tf.fill([n], VARIANTS.index(variant))
    if isinstance(variant, (tf.Tensor, np.ndarray)) and np.issubdtype(np.dtype(variant.dtype.name if isinstance(variant, tf.Tensor) else variant.dtype), np.integer):
        return VARIANTS, tf.cast(tf.reshape(variant, [-1]), tf.int32)
    names = list(variant)
    bad = [v for v in names if v not in VARIANTS]
    if bad:
        raise ValueError(f"unknown degradation variant(s) {bad}; expected one of {VARIANTS}")
    ids = tf.constant([VARIANTS.index(v) for v in names], tf.int32)
    if len(set(names)) == 1:  # one variant throughout: only its random fields are drawn
        return (names[0],), ids
    # a mixed list gets the all-variant renderer, so mixed batches share one compilation
    return VARIANTS, ids


def degrade_batch(gt, seed, variant: Union[str, Sequence[str]] = "plain",
                  config: DegradationConfig | str | None = None):
    """Degrade a batch of ground-truth depth images (paper convention: uint16, 65535 = hole).

    gt: uint16 NxHxW (or HxW, treated as a batch of one), numpy array or tf.Tensor.
    seed: non-negative int (or an int64 [2] tensor): same seed, same output; different seed,
        different output.
    variant: "plain", "random_background", "blurred_background", or a per-image sequence of
        those names (or of their indices into ``VARIANTS``).
    config: a ``DegradationConfig``, a name in ``CONFIGS`` or None (the paper's defaults).

    Returns the degraded batch, uint16, same shape, as a numpy array for numpy input and a
    tf.Tensor for tensor input.
    """
    is_tensor = isinstance(gt, tf.Tensor)
    if is_tensor:
        if gt.dtype != tf.uint16:
            raise ValueError(f"degrade_batch: expected uint16 depth (65535 = hole), got {gt.dtype.name}")
        x = gt
    else:
        arr = np.asarray(gt)
        if arr.dtype != np.uint16:
            raise ValueError(f"degrade_batch: expected uint16 depth (65535 = hole), got dtype {arr.dtype} "
                             f"with shape {arr.shape}")
        x = tf.convert_to_tensor(arr)
    rank = x.shape.rank
    if rank not in (2, 3):
        raise ValueError(f"degrade_batch: expected an HxW or NxHxW batch, got shape {tuple(x.shape)}")
    if rank == 2:
        x = x[None]
    if x.shape[0] == 0:  # nothing to render (and no compilation for an empty shape)
        return gt if is_tensor else np.array(gt, copy=True)
    n = tf.shape(x)[0]
    variants, ids = _variant_ids(variant, n)
    if not isinstance(variant, str) and not is_tensor:
        if int(ids.shape[0]) != int(x.shape[0]):
            raise ValueError(f"degrade_batch: {int(ids.shape[0])} variants given for a batch of {int(x.shape[0])}")
    fn = renderer(config, variants)
    out = fn(x, seed_tensor(seed), ids)
    if rank == 2:
        out = out[0]
    return out if is_tensor else out.numpy()
