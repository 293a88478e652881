"""Numba twins of the RealSense SDK post-processing filters (decimation, hole filling, spatial).

Each kernel works on one uint16 HxW image in the **RealSense convention (0 = hole)** and
reproduces the SDK's Z16 code path bit for bit (the semantics are listed in
``shared/docs/realsense_filters.md``; ``tests/test_realsense_parity.py`` compares against
pyrealsense2 on hundreds of randomised images). The kernels are compiled with
``cache=True``, so the JIT cost is paid once per machine, not once per process.

Public functions (numpy in, new numpy array out; the input is never modified):

* ``decimate(img, magnitude)`` -> (H // magnitude) x (W // magnitude)
* ``hole_fill(img, mode)`` with mode 0 = fill from left, 1 = farest from around,
  2 = nearest from around
* ``spatial(img, holes_fill=0, iterations=2, alpha=0.5, delta=20)``, ``holes_fill`` as the
  SDK option (0 = off, 1..4 = radius 2, 4, 8, 16, 5 = unlimited)
* ``warm_up()`` compiles (or loads from the cache) every kernel.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["decimate", "hole_fill", "spatial", "spatial_radius", "warm_up",
           "HOLE_FILL_LEFT", "HOLE_FILL_FAREST", "HOLE_FILL_NEAREST"]

HOLE_FILL_LEFT = 0
HOLE_FILL_FAREST = 1
HOLE_FILL_NEAREST = 2

# SDK option value of the spatial filter's holes_fill -> fill radius in pixels
_SPATIAL_RADIUS = (0, 2, 4, 8, 16, 255)


def spatial_radius(holes_fill: int) -> int:
    """The spatial filter's hole-filling radius for an SDK ``holes_fill`` option value (0..5)."""
    if not 0 <= int(holes_fill) <= 5:
        raise ValueError(f"spatial holes_fill must be 0..5, got {holes_fill}")
    return _SPATIAL_RADIUS[int(holes_fill)]


# ----------------------------------------------------------------------------- decimation
@njit(cache=True, nogil=True)
def _decimate_kernel(img, s, out):
    oh, ow = out.shape
    buf = np.empty(s * s, np.uint16)
    use_median = s == 2 or s == 3
    for by in range(oh):
        for bx in range(ow):
            k = 0
            total = 0
            for dy in range(s):
                y = by * s + dy
                for dx in range(s):
                    v = img[y, bx * s + dx]
                    if v != 0:
                        if use_median:
                            # insertion into the sorted prefix buf[:k]
                            j = k
                            while j > 0 and buf[j - 1] > v:
                                buf[j] = buf[j - 1]
                                j -= 1
                            buf[j] = v
                        total += np.int64(v)
                        k += 1
            if k == 0:
                out[by, bx] = 0
            elif use_median:
                out[by, bx] = buf[(k - 1) // 2]
            else:
                out[by, bx] = np.uint16(total // k)


@njit(cache=True, nogil=True)
def _decimate2_kernel(img, out):
    # magnitude 2 fast path: lower median of the valid values among four without sorting
    oh, ow = out.shape
    for by in range(oh):
        r0 = 2 * by
        for bx in range(ow):
            c0 = 2 * bx
            k = 0
            a = np.uint16(0)
            b = np.uint16(0)
            c = np.uint16(0)
            d = np.uint16(0)
            for v in (img[r0, c0], img[r0, c0 + 1], img[r0 + 1, c0], img[r0 + 1, c0 + 1]):
                if v != 0:
                    if k == 0:
                        a = v
                    elif k == 1:
                        b = v
                    elif k == 2:
                        c = v
                    else:
                        d = v
                    k += 1
            if k == 0:
                out[by, bx] = 0
            elif k == 1:
                out[by, bx] = a
            elif k == 2:
                out[by, bx] = min(a, b)
            elif k == 3:
                out[by, bx] = max(min(a, b), min(max(a, b), c))
            else:  # second smallest of four
                out[by, bx] = min(max(min(a, b), min(c, d)), min(max(a, b), max(c, d)))


def decimate(img: np.ndarray, magnitude: int) -> np.ndarray:
    """SDK decimation filter (RealSense convention): median of the valid pixels of each
    ``magnitude`` x ``magnitude`` block for magnitude 2 and 3 (the lower median), integer mean
    otherwise; a block without a valid pixel gives 0; leftover rows/columns are dropped."""
    s = int(magnitude)
    if not 1 <= s <= 8:
        raise ValueError(f"decimation magnitude must be 1..8, got {magnitude}")
    a = np.ascontiguousarray(img, dtype=np.uint16)
    out = np.empty((a.shape[0] // s, a.shape[1] // s), np.uint16)
    if s == 2:
        _decimate2_kernel(a, out)
    else:
        _decimate_kernel(a, s, out)
    return out


# ----------------------------------------------------------------------------- hole filling
@njit(cache=True, nogil=True)
def _hole_fill_kernel(a, mode):
    h, w = a.shape
    if mode == 0:
        for y in range(h):
            for x in range(1, w):
                if a[y, x] == 0:
                    a[y, x] = a[y, x - 1]
        return
    for y in range(1, h - 1):
        for x in range(1, w):
            if a[y, x] != 0:
                continue
            up = a[y - 1, x]
            upl = a[y - 1, x - 1]
            left = a[y, x - 1]
            dnl = a[y + 1, x - 1]
            dn = a[y + 1, x]
            if mode == 1:
                t = up
                if upl > t:
                    t = upl
                if left > t:
                    t = left
                if dnl > t:
                    t = dnl
                if dn > t:
                    t = dn
            else:
                t = up
                if upl != 0 and upl < t:
                    t = upl
                if left != 0 and left < t:
                    t = left
                if dnl != 0 and dnl < t:
                    t = dnl
                if dn != 0 and dn < t:
                    t = dn
            a[y, x] = t


def hole_fill(img: np.ndarray, mode: int) -> np.ndarray:
    """SDK hole-filling filter (RealSense convention), in raster order on a copy.

    mode 0: fill from left; 1: farest from around; 2: nearest from around."""
    if int(mode) not in (0, 1, 2):
        raise ValueError(f"hole-filling mode must be 0, 1 or 2, got {mode}")
    a = np.array(img, dtype=np.uint16, order="C", copy=True)
    _hole_fill_kernel(a, int(mode))
    return a


# ----------------------------------------------------------------------------- spatial
@njit(cache=True, nogil=True, inline="always")
def _blend(cur, other, alpha, beta):
    # float32 arithmetic as in the SDK: uint16(float(cur*alpha + other*(1-alpha)) + 0.5f)
    f = np.float32(np.float32(cur) * alpha) + np.float32(np.float32(other) * beta)
    return np.uint16(np.int32(f + np.float32(0.5)))


@njit(cache=True, nogil=True)
def _spatial_kernel(a, iterations, alpha, delta, radius):
    h, w = a.shape
    beta = np.float32(np.float32(1.0) - alpha)
    for _ in range(iterations):
        # ---- horizontal: each row left->right then right->left
        for y in range(h):
            cnt = 0
            p = a[y, 0]
            for x in range(1, w - 1):
                c = a[y, x]
                if p >= 1:
                    if c >= 1:
                        cnt = 0
                        d = abs(np.int32(c) - np.int32(p))
                        if d >= 1 and d <= delta:
                            c = _blend(c, p, alpha, beta)
                            a[y, x] = c
                    elif radius > 0:
                        cnt += 1
                        if cnt < radius:
                            c = p
                            a[y, x] = c
                p = c
            cnt = 0
            n = a[y, w - 1]
            for x in range(w - 2, -1, -1):
                c = a[y, x]
                if n >= 1:
                    if c > 1:
                        cnt = 0
                        d = abs(np.int32(n) - np.int32(c))
                        if d <= delta:
                            c = _blend(c, n, alpha, beta)
                            a[y, x] = c
                    elif radius > 0:
                        cnt += 1
                        if cnt < radius:
                            c = n
                            a[y, x] = c
                n = c
        # ---- vertical: top->bottom (no validity test), then bottom->top
        for y in range(1, h):
            for x in range(w):
                p = a[y - 1, x]
                c = a[y, x]
                d = abs(np.int32(p) - np.int32(c))
                if d < delta:
                    a[y, x] = _blend(c, p, alpha, beta)
        for y in range(h - 2, -1, -1):
            for x in range(w):
                c = a[y, x]
                n = a[y + 1, x]
                if c >= 1 and n >= 1:
                    d = abs(np.int32(c) - np.int32(n))
                    if d < delta:
                        a[y, x] = _blend(c, n, alpha, beta)


def spatial(img: np.ndarray, holes_fill: int = 0, iterations: int = 2, alpha: float = 0.5,
            delta: int = 20) -> np.ndarray:
    """SDK spatial edge-preserving filter (RealSense convention) on a copy.

    ``holes_fill``, ``iterations`` (the SDK's filter_magnitude), ``alpha``
    (filter_smooth_alpha, float32) and ``delta`` (filter_smooth_delta, raw units) as the SDK
    options; SDK defaults 0, 2, 0.5, 20."""
    if not 1 <= int(iterations) <= 5:
        raise ValueError(f"spatial iterations must be 1..5, got {iterations}")
    if not 0.25 <= float(alpha) <= 1.0:
        raise ValueError(f"spatial alpha must be in [0.25, 1], got {alpha}")
    if not 1 <= int(delta) <= 50:
        raise ValueError(f"spatial delta must be 1..50, got {delta}")
    a = np.array(img, dtype=np.uint16, order="C", copy=True)
    _spatial_kernel(a, int(iterations), np.float32(alpha), int(delta), spatial_radius(holes_fill))
    return a


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) every kernel, outside any timing."""
    tiny = np.zeros((8, 8), np.uint16)
    tiny[::2, ::3] = 7
    decimate(tiny, 2)
    decimate(tiny, 4)
    for mode in (0, 1, 2):
        hole_fill(tiny, mode)
    spatial(tiny, 4)
