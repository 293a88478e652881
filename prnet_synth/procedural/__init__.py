"""Procedural synthetic faces: the embedded default data set of the project.

``generate(n, seed, frontal=False, **options)`` renders ``n`` samples, each a dict with

* ``depth``: uint16 256x256 in the project's convention (``prnet_synth.conventions``: 65535 = hole,
  0 = the nearest point, 250 mm over the full range, ``UNITS_PER_MM`` units per mm); valid on the
  visible face region (forehead to chin, ear to ear, like a PRNet face mesh) and on occluders in
  front of it, holes elsewhere (``depth_region="head"`` keeps scalp and neck too);
* ``rgb`` (uint8 256x256x3) and ``gray`` (uint8 256x256, ``cv2.COLOR_RGB2GRAY`` of ``rgb``);
* ``mask``: uint8 256x256 with the 7 classes ``MASK_CLASSES`` of Chiu et al.;
* ``landmarks``: float32 (68, 3), dlib's 68 points (0-based order) as x, y pixel positions and
  the depth in the units of ``depth`` (same zero point; points behind an occluder keep the depth
  of the face surface);
* ``identity``: int; ``params``: a JSON-serialisable dict (``yaw``, ``pitch``, ``roll`` in degrees,
  ``expression``, ``occluder``, the sampled identity, light, background and placement parameters).

Options: ``identities=K`` (sample i shows identity i mod K; default: a new identity per sample),
``expression=`` one of ``EXPRESSIONS``, ``occluder=`` one of ``OCCLUDERS``, ``yaw_range``,
``pitch_range``, ``roll_range`` (maximum absolute angle in degrees; defaults 45 / 30 / 20),
``yaw``, ``pitch``, ``roll`` (fixed angles instead),
``depth_region``, ``size_range``, ``offset_range``, ``resolution``. ``frontal=True`` restricts the
pose to |yaw| <= 15, |pitch| <= 10, |roll| <= 8 degrees and removes occluders.

Every sample is a function of (seed, index) only, so shards and streams are independent and the
same seed gives the same faces.
"""
from __future__ import annotations

import atexit
import os
from typing import Iterator, Optional

import numpy as np

from .model import EXPRESSIONS
from .scene import DEFAULTS, FRONTAL, MASK_CLASSES, OCCLUDERS, SIZE, check_options, identity_params, render
from .dataset import as_tf_dataset, read_dataset, write_dataset

__all__ = ["MASK_CLASSES", "EXPRESSIONS", "OCCLUDERS", "DEFAULTS", "generate", "generate_depths", "sample", "stream",
           "as_tf_dataset", "write_dataset", "read_dataset", "identity_params", "resolve_options", "gt_workers"]


def resolve_options(frontal: bool = False, **options) -> dict:
    """The full option dict (defaults, the frontal preset, then the given options)."""
    o = dict(FRONTAL) if frontal else {}
    if frontal and options.get("occluder") not in (None, "none"):
        raise ValueError("frontal=True renders faces without occluders; drop occluder= or set frontal=False")
    if frontal and options.get("yaw") is not None and abs(float(options["yaw"])) > FRONTAL["yaw_range"]:
        raise ValueError(f"frontal=True means |yaw| <= {FRONTAL['yaw_range']} degrees, got yaw={options['yaw']}")
    o.update(options)
    return check_options(o)


def sample(seed: int, index: int, frontal: bool = False, **options) -> dict:
    """Sample number ``index`` of the sequence defined by ``seed`` and the options."""
    return render(int(seed), int(index), resolve_options(frontal, **options))


def generate(n: int, seed: int, frontal: bool = False, start: int = 0, **options) -> list[dict]:
    """``n`` samples (indices ``start`` .. ``start + n - 1``) of the sequence defined by ``seed``."""
    if int(n) < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    o = resolve_options(frontal, **options)
    return [render(int(seed), i, o) for i in range(int(start), int(start) + int(n))]


def stream(seed: int, frontal: bool = False, start: int = 0, stop: Optional[int] = None, **options) -> Iterator[dict]:
    """Endless iterator over the samples of ``seed`` (from ``start``; until ``stop`` if given)."""
    o = resolve_options(frontal, **options)
    i = int(start)
    while stop is None or i < stop:
        yield render(int(seed), i, o)
        i += 1


# ----------------------------------------------------------------------------- parallel depth maps
#: below this many samples per worker, ``generate_depths`` renders in the calling process
MIN_PER_WORKER = 16
_POOLS: dict = {}


def gt_workers() -> int:
    """Processes ``generate_depths`` uses by default: ``$FACE_DEPTH_GT_WORKERS`` if set, else the CPU
    count (the training loop renders a stage's ground truths between its epochs, when the cores are
    otherwise idle)."""
    env = os.environ.get("FACE_DEPTH_GT_WORKERS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"FACE_DEPTH_GT_WORKERS must be a whole number >= 1, got {env!r}") from None
        if n < 1:
            raise ValueError(f"FACE_DEPTH_GT_WORKERS must be >= 1, got {n}")
        return n
    return max(1, os.cpu_count() or 1)


def _depth_range(seed: int, start: int, n: int, options: dict) -> np.ndarray:
    return np.stack([render(seed, i, options)["depth"] for i in range(start, start + n)])


def _pool(workers: int):
    pool = _POOLS.get(workers)
    if pool is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the caller may hold TensorFlow's threads, which a forked child must not inherit
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        _POOLS[workers] = pool
    return pool


@atexit.register
def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(cancel_futures=True)
    _POOLS.clear()


def generate_depths(n: int, seed: int, frontal: bool = False, start: int = 0, workers: Optional[int] = None,
                    **options) -> np.ndarray:
    """The ``depth`` maps of ``generate(n, seed, frontal, start, **options)`` as one uint16 Nx256x256
    array, rendered by ``workers`` processes (default ``gt_workers()``) over consecutive index ranges.
    Every sample is a function of (seed, index), so the result equals the serial one exactly."""
    n, start = int(n), int(start)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    o = resolve_options(frontal, **options)
    w = gt_workers() if workers is None else int(workers)
    if w < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    w = min(w, max(1, n // MIN_PER_WORKER))
    if n == 0:
        return np.zeros((0, SIZE, SIZE), np.uint16)
    if w == 1:
        return _depth_range(int(seed), start, n, o)
    bounds = np.linspace(start, start + n, w + 1).astype(int)
    futures = [_pool(w).submit(_depth_range, int(seed), int(a), int(b - a), o) for a, b in zip(bounds[:-1], bounds[1:])]
    return np.concatenate([f.result() for f in futures], 0)
