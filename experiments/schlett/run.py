"""Run the 16 enhancers over a stack of depth images, cached on disk, missing weights reported.

``run_enhancers(images, labels, cache=...)`` returns ``{label: EnhancerRun}``. A deep-learning
enhancer whose weights are absent gets ``status = "weights missing"`` and ``output = None``: the
tables then show that status and no number (nothing is invented). Outputs are cached per label as
``<cache>/<label>.npz`` together with a digest of the input stack, so a re-run (or a killed job
resumed) reuses every finished enhancer and recomputes only when the input changed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np

from .io import array_digest, load_arrays, save_arrays

__all__ = ["EnhancerRun", "run_enhancers", "OK", "WEIGHTS_MISSING"]

log = logging.getLogger(__name__)

OK = "ok"
WEIGHTS_MISSING = "weights missing"


@dataclass
class EnhancerRun:
    label: str
    status: str
    output: Optional[np.ndarray]
    seconds: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK and self.output is not None


_MADE: dict = {}


def _default_factory(preset: str, batch_size: int, input_format: Optional[str] = None) -> Callable:
    """``get_enhancer`` with the weights of ``preset``; enhancers are kept for the process (a model
    is loaded once, not once per shard) and rebuilt when their weights file changed."""
    from experiments.enhancers import get_enhancer

    def make(label):
        from prnet_synth.paths import resolve_weights_preset

        chosen = resolve_weights_preset(label, preset)
        key = (label, chosen, batch_size, input_format, _weights_stamp(label, chosen))
        if key not in _MADE:
            if label in _dl_labels():
                log.info("%s: weights of preset %s (asked: %s)", label, chosen, preset)
            _MADE[key] = get_enhancer(label, preset=chosen, batch_size=batch_size, input_format=input_format)
        return _MADE[key]

    return make


def _dl_labels():
    from experiments.enhancers import DL_LABELS

    return DL_LABELS


def _weights_stamp(label: str, preset: str) -> str:
    """Preset, size and mtime of a deep-learning enhancer's weights file ("" for the others), so cached
    outputs are recomputed after retraining; ``preset`` "best" resolves as ``get_enhancer`` does."""
    try:
        from experiments.enhancers import DL_LABELS
        from prnet_synth.paths import weights_path
    except ImportError:  # pragma: no cover
        return ""
    if label not in DL_LABELS:
        return ""
    from prnet_synth.paths import resolve_weights_preset

    chosen = resolve_weights_preset(label, preset)
    p = weights_path(label, chosen)
    if not p.is_file():
        return "absent"
    st = p.stat()
    return f"{chosen}:{st.st_size}:{int(st.st_mtime)}"


def _unavailable_status(exc: Exception) -> str:
    text = str(exc).lower()
    if "is not available" in text and not isinstance(exc, FileNotFoundError):
        return "model code unavailable"
    return WEIGHTS_MISSING


def run_enhancers(images: np.ndarray, labels: Iterable[str], cache: Optional[Path] = None,
                  preset: str = "best", batch_size: int = 8,
                  factory: Optional[Callable] = None, input_format: Optional[str] = None) -> dict[str, EnhancerRun]:
    """Enhance ``images`` (uint16 NxHxW) with each label; see the module docstring.

    ``factory(label)`` builds an enhancer (default: ``experiments.enhancers.get_enhancer`` with the
    weights of ``preset``: "quick", "cpu", "paper", or "best" = the best shipped, paper > cpu > quick);
    tests pass stand-ins. ``input_format``: the depth format of ``images`` ("fixed" = 25 cm, IV-J;
    "face_range"; None = as the networks were trained), passed to ``get_enhancer``.
    """
    from experiments.enhancers import EnhancerUnavailableError

    imgs = np.asarray(images)
    if imgs.dtype != np.uint16 or imgs.ndim != 3:
        raise ValueError(f"run_enhancers: expected uint16 NxHxW, got {imgs.dtype} {imgs.shape}")
    digest = array_digest(imgs)
    make = factory or _default_factory(preset, batch_size, input_format)
    out: dict[str, EnhancerRun] = {}
    for label in labels:
        path = None if cache is None else Path(cache) / f"{label}.npz"
        if path is not None and path.is_file():
            try:
                arrays, meta = load_arrays(path)
                if (meta.get("digest") == digest and meta.get("preset") == preset
                        and meta.get("weights", "") == _weights_stamp(label, preset)
                        and meta.get("input_format") == input_format):
                    out[label] = EnhancerRun(label, OK, arrays["output"], float(meta.get("seconds", 0.0)), "cached")
                    continue
            except (ValueError, KeyError) as exc:
                log.warning("%s: unusable cache (%s), recomputing", path, exc)
        t0 = time.perf_counter()
        try:
            enh = make(label)
            res = enh.enhance(imgs)
        except (EnhancerUnavailableError, FileNotFoundError) as exc:
            status = _unavailable_status(exc)
            log.warning("%s: %s (%s)", label, status, str(exc).splitlines()[0][:200])
            out[label] = EnhancerRun(label, status, None, 0.0, str(exc).splitlines()[0][:300])
            continue
        secs = time.perf_counter() - t0
        if res.shape != imgs.shape or res.dtype != np.uint16:
            raise RuntimeError(f"{label}: returned {res.dtype} {res.shape} for {imgs.dtype} {imgs.shape}")
        log.info("%s: %d images in %.1f s", label, len(imgs), secs)
        if path is not None:
            save_arrays(path, {"digest": digest, "preset": preset, "seconds": secs, "label": label,
                                     "weights": _weights_stamp(label, preset), "input_format": input_format},
                        output=res)
        out[label] = EnhancerRun(label, OK, res, secs)
    return out
