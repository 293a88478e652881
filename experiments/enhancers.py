"""The 16 enhancers of Schlett et al. (000_5d0e6bc7884ed0ba.txt, IV-A..IV-C) behind one interface.

``get_enhancer(label, **kwargs)`` returns an :class:`Enhancer` with ``.label`` and
``.enhance(depth)``: a uint16 image (HxW or HxWx1) or batch (NxHxW or NxHxWx1) in the paper's
convention (65535 = hole, 0 = nearest) in, the same shape and dtype out. Wrong dtype, rank or
channel count (HxWxC / NxHxWxC with C > 1) -> ValueError saying what was given. ``LABELS`` lists the 16 labels.

* "None": the input unchanged (a copy).
* Hand-crafted (Table II): "De-M2", "De-M8" (decimation, upscaled back to the input size with
  hole-aware bilinear interpolation), "Hf-FFA", "Hf-NFA", "Hf-L" (hole filling), "Sp-Hf16",
  "Sp-HfU" (spatial with hole filling), run by the RealSense SDK (pyrealsense2) or by its
  bit-exact numba twin: keyword ``backend`` = "sdk" | "twin" | "auto" (default; the twin with one
  logged warning where pyrealsense2 cannot be imported).
* Deep learning (IV-B, IV-C, Table III): "DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta-1".."DL-Delta-4"
  (``models.unet.load_enhancer_model``) and "DDRNet-dn" (``models.ddrnet.load_ddrnet_dn``), loaded
  lazily on the first ``enhance`` (or ``load()``); keywords ``weights`` (a path; default
  ``prnet_synth.paths.weights_path(label, preset)``), ``preset`` (default "best": the best shipped
  weights under ``results/weights/``, paper > cpu > quick, logged; or a training preset of
  ``models.enhancer_presets.PRESETS``; another name is a ValueError listing them),
  ``batch_size``. Missing modules or weights raise :class:`EnhancerUnavailableError` saying how to
  get them; weights of another label raise ValueError (``models.unet.check_model_label``). Any image
  size is accepted: the U-Nets' input is padded with holes to the size multiple they need and the
  output cropped back (``models.inference.compile_for_inference``).

Keyword ``input_format`` (deep-learning U-Nets only): the depth format of the images given, "fixed"
(IV-J's 25 cm from the nearest pixel: real recordings, the Kinect/D435 stand-ins, the attack suite,
the real-time PAD) or "face_range" (IV-A: each image stretched to its face depth range, the Table IV
pairs); None (default) = the format the network was trained on, passed as is. Weights trained on
face-range ground truth (their provenance JSON says ``degradation.gt_normalization``) are given a
"fixed" image stretched to its own depth range (``degrade.face_range_scale``) and their output is
put back (``degrade.face_range_unscale``), so the network sees the format it learnt and the caller
gets millimetres in its own format. Hand-crafted enhancers and DDRNet-dn ignore the keyword.

Every keyword is accepted by every label (irrelevant ones are ignored) so that one loop can build
all enhancers with the same settings; unknown keywords raise TypeError.
"""
from __future__ import annotations

import importlib
import logging

import numpy as np
from numba import njit

from prnet_synth.conventions import HOLE, check_depth, from_float, from_realsense, to_float, to_realsense
from models.unet import ENHANCER_LABELS as UNET_LABELS     # imports no TensorFlow, as this module

from .realsense_filters import TABLE_II, FilterSpec, apply_filter, resolve_backend

__all__ = ["LABELS", "HANDCRAFTED_LABELS", "DL_LABELS", "UNET_LABELS", "Enhancer", "NoneEnhancer", "on_face_range",
           "RealSenseEnhancer", "KerasEnhancer", "EnhancerUnavailableError", "get_enhancer",
           "upscale_bilinear_valid", "DL_BATCH_SIZE", "INPUT_FORMATS"]

_log = logging.getLogger(__name__)

HANDCRAFTED_LABELS = ("De-M2", "De-M8", "Hf-FFA", "Hf-NFA", "Hf-L", "Sp-Hf16", "Sp-HfU")
DL_LABELS = UNET_LABELS + ("DDRNet-dn",)
LABELS = ("None",) + HANDCRAFTED_LABELS + DL_LABELS

_KWARGS = ("backend", "weights", "preset", "batch_size", "input_format")
INPUT_FORMATS = ("fixed", "face_range")


class EnhancerUnavailableError(RuntimeError):
    """A deep-learning enhancer cannot be used: its model code or trained weights are missing."""


#: a rank-3 input whose last axis has 2..4 entries while its first two have at least this many is
#: read as an HxWxC multi-channel image (and refused), not as a batch of very narrow images
_CHANNEL_GUESS_MIN_SIDE = 16


def _without_channel_axis(arr: np.ndarray, what: str) -> np.ndarray:
    """``arr`` (uint16 HxW, NxHxW, HxWx1 or NxHxWx1) as HxW or NxHxW (a view); ValueError otherwise.

    A rank-3 array with a last axis of 1 is one HxWx1 image, not H images of Wx1. Rank-4 arrays
    must have one channel. A rank-3 array with 2..4 entries on its last axis and at least
    ``_CHANNEL_GUESS_MIN_SIDE`` on the other two is refused as an HxWxC image (a batch of depth
    images 2..4 pixels wide is not plausible; smaller arrays stay NxHxW batches).
    """
    if arr.dtype != np.uint16:
        raise ValueError(f"{what}: expected uint16 depth (65535 = hole), got dtype {arr.dtype} with shape {arr.shape}")
    channels = None
    if arr.ndim == 4:
        channels = arr.shape[-1]
    elif arr.ndim == 3 and (arr.shape[-1] == 1 or (2 <= arr.shape[-1] <= 4 and min(arr.shape[:2]) >= _CHANNEL_GUESS_MIN_SIDE)):
        channels = arr.shape[-1]
    if channels is None:
        if arr.ndim not in (2, 3):
            raise ValueError(f"{what}: expected a HxW, NxHxW, HxWx1 or NxHxWx1 array, got rank {arr.ndim} "
                             f"with shape {arr.shape}")
        return check_depth(arr, what)
    if channels != 1:
        layout = "NxHxWxC" if arr.ndim == 4 else "HxWxC"
        raise ValueError(f"{what}: depth images have one channel, got {channels} channels ({layout} with shape "
                         f"{arr.shape}); pass HxW, NxHxW, HxWx1 or NxHxWx1")
    return arr[..., 0]


def on_face_range(frames: np.ndarray, rescale: bool, run) -> np.ndarray:
    """``run(frames)`` (uint16 NxHxW -> uint16 NxHxW); with ``rescale`` each frame is first stretched
    to its own depth range (``degrade.face_range_scale``) and the output put back
    (``face_range_unscale``): how a network trained on face-range depth is given fixed-format frames."""
    if not rescale:
        return run(frames)
    from degrade.groundtruth import face_range_scale, face_range_unscale

    scaled, lo, hi = face_range_scale(frames)
    return face_range_unscale(run(scaled), lo, hi)


class Enhancer:
    """Base class: subclasses implement ``_enhance_batch(frames)`` on uint16 NxHxW."""

    label: str = ""
    kind: str = ""

    def enhance(self, depth: np.ndarray) -> np.ndarray:
        arr = np.asarray(depth)
        core = _without_channel_axis(arr, f"{self.label} enhancer input")
        if core.shape[-2] == 0 or core.shape[-1] == 0 or (core.ndim == 3 and core.shape[0] == 0):
            return arr.copy()
        frames = core if core.ndim == 3 else core[None]
        out = self._enhance_batch(frames)
        if out.shape != frames.shape or out.dtype != np.uint16:  # pragma: no cover - internal guard
            raise RuntimeError(f"{self.label}: produced {out.dtype} {out.shape} for input {frames.shape}")
        return (out if core.ndim == 3 else out[0]).reshape(arr.shape)

    __call__ = enhance

    def _enhance_batch(self, frames: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


class NoneEnhancer(Enhancer):
    """The 16th "None" variant: no enhancement (returns a copy)."""

    label = "None"
    kind = "none"

    def _enhance_batch(self, frames):
        return frames.copy()


# ----------------------------------------------------------------------------- hand-crafted
def _axis_weights(n_out: int, n_low: int, scale: int):
    """Bilinear source indices and weights along one axis (pixel centres, clamped edges).

    Low-resolution sample j is the decimation block covering input pixels [j*s, j*s+s), so its
    centre sits at input coordinate j*s + (s-1)/2; output pixel i reads low-res coordinate
    (i + 0.5) / s - 0.5 (the same half-pixel mapping as OpenCV's INTER_LINEAR when n_out = s*n_low),
    clamped to [0, n_low - 1].
    """
    u = (np.arange(n_out, dtype=np.float64) + 0.5) / scale - 0.5
    u = np.clip(u, 0.0, n_low - 1)
    i0 = np.floor(u).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_low - 1)
    f = u - i0
    return i0, i1, 1.0 - f, f


@njit(cache=True, nogil=True)
def _upscale_kernel(low, y0, y1, wy0, wy1, x0, x1, wx0, wx1, out):
    # normalised bilinear interpolation: hole samples (65535) get no weight
    for y in range(out.shape[0]):
        ya = y0[y]
        yb = y1[y]
        wa = wy0[y]
        wb = wy1[y]
        for x in range(out.shape[1]):
            xa = x0[x]
            xb = x1[x]
            va = wx0[x]
            vb = wx1[x]
            num = 0.0
            den = 0.0
            v = low[ya, xa]
            w = wa * va
            if v != 65535:
                num += w * v
                den += w
            v = low[ya, xb]
            w = wa * vb
            if v != 65535:
                num += w * v
                den += w
            v = low[yb, xa]
            w = wb * va
            if v != 65535:
                num += w * v
                den += w
            v = low[yb, xb]
            w = wb * vb
            if v != 65535:
                num += w * v
                den += w
            if den > 0.0:
                r = np.rint(num / den)
                out[y, x] = 65534 if r > 65534.0 else np.int64(r)
            else:
                out[y, x] = 65535


def upscale_bilinear_valid(low: np.ndarray, shape: tuple[int, int], scale: int) -> np.ndarray:
    """Upscale a decimated paper-convention image back to ``shape`` with bilinear interpolation
    that keeps holes out: each output pixel is the bilinear blend of the *valid* ones among its
    four nearest low-resolution samples, the weights renormalised to sum to 1 (normalised
    convolution); it is a hole only when every sample with a non-zero weight is a hole.
    Rounded to nearest (half to even), at most 65534."""
    low = np.ascontiguousarray(low, dtype=np.uint16)
    h, w = shape
    lh, lw = low.shape
    out = np.empty((h, w), np.uint16)
    if lh == 0 or lw == 0:
        out[:] = HOLE
        return out
    _upscale_kernel(low, *_axis_weights(h, lh, scale), *_axis_weights(w, lw, scale), out)
    return out


class RealSenseEnhancer(Enhancer):
    """A Table II enhancer: paper convention -> RealSense (0 = hole) -> SDK filter (or twin) -> back.

    Decimation output is upscaled back to the input size with :func:`upscale_bilinear_valid`.
    """

    kind = "handcrafted"

    def __init__(self, label: str, spec: FilterSpec, backend: str = "auto"):
        self.label = label
        self.spec = spec
        self.backend = resolve_backend(backend)

    def _enhance_batch(self, frames):
        out = np.empty_like(frames)
        for i, frame in enumerate(frames):
            filtered = from_realsense(apply_filter(self.spec, to_realsense(frame), self.backend))
            if self.spec.kind == "decimation":
                filtered = upscale_bilinear_valid(filtered, frame.shape, self.spec.value)
            out[i] = filtered
        return out

    def __repr__(self) -> str:
        return f"RealSenseEnhancer({self.label!r}, backend={self.backend!r})"


# ----------------------------------------------------------------------------- deep learning
def _how_to_get(label: str, path) -> str:
    if label == "DDRNet-dn":
        return ("DDRNet-dn needs the official pretrained DDRNet checkpoint converted by models.ddrnet "
                f"(see shared/docs/ddrnet.md and the README); pass weights=<path> or place it at {path}")
    return (f"train it with the U-Net training script of the models package (see the README, 'U-Net "
            f"enhancers'), which writes the weights to {path}, or pass weights=<path>")


#: images per inference call of the deep-learning enhancers (the batch the U-Net benchmark times)
DL_BATCH_SIZE = 16


def _check_preset(label: str, preset) -> None:
    """ValueError listing the valid names unless ``preset`` is a training preset of
    models.enhancer_presets.PRESETS or a weights folder prnet_synth.paths resolves (its
    ``WEIGHTS_PREFERENCE`` and "best", where it defines them); not checked when the models package
    cannot be imported (loading then says it is missing)."""
    try:
        from models.enhancer_presets import PRESETS
    except ImportError:  # pragma: no cover - the models package is absent
        return
    from prnet_synth import paths

    names = set(PRESETS) | set(getattr(paths, "WEIGHTS_PREFERENCE", ()))
    if hasattr(paths, "resolve_weights_preset"):
        names.add("best")
    if not isinstance(preset, str) or preset not in names:
        raise ValueError(f"{label}: unknown preset {preset!r}; valid presets: {', '.join(sorted(names))}")


class KerasEnhancer(Enhancer):
    """A deep-learning enhancer: a Keras model on float32 NxHxWx1 in [0, 1] (holes 1.0).

    The model is loaded lazily; inference runs in batches of ``batch_size`` through its compiled
    inference form (``models.inference.compile_for_inference``: batch-norm folded, one tf.function).
    """

    kind = "dl"

    def __init__(self, label: str, weights=None, preset: str = "best", batch_size: int = DL_BATCH_SIZE,
                 input_format: str | None = None):
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if input_format is not None and input_format not in INPUT_FORMATS:
            raise ValueError(f"{label}: unknown input_format {input_format!r}; valid: {', '.join(INPUT_FORMATS)} or None")
        self.input_format = input_format
        _check_preset(label, preset)
        self.label = label
        self.weights = weights
        self.requested_preset = preset
        if preset == "best" and weights is None and label != "DDRNet-dn":
            from prnet_synth.paths import resolve_weights_preset

            preset = resolve_weights_preset(label, "best")   # paper > cpu > quick, the first shipped
            _log.info("%s: using the %s weights (best shipped preset)", label, preset)
        elif preset == "best":
            preset = "quick"
        self.preset = preset
        self.batch_size = int(batch_size)
        self._model = None
        self._infer = None          # the compiled inference form (models.inference), made on first use
        self._trained_format = None  # the ground-truth format of the weights' training, read on load

    @property
    def trained_format(self) -> str:
        """The depth format the loaded network was trained on ("fixed" or "face_range")."""
        self.load()
        return self._trained_format

    @property
    def rescales(self) -> bool:
        """Whether inputs are stretched to the face range before the network (see the module docstring)."""
        return (self.input_format == "fixed" and self.label != "DDRNet-dn"
                and self.trained_format == "face_range")

    def _default_path(self):
        from prnet_synth.paths import weights_path

        return weights_path(self.label, self.preset)

    def load(self):
        """Load (once) and return the Keras model, or raise EnhancerUnavailableError."""
        if self._model is not None:
            return self._model
        where = self.weights if self.weights is not None else self._default_path()
        modname, fname = (("models.ddrnet", "load_ddrnet_dn") if self.label == "DDRNet-dn"
                          else ("models.unet", "load_enhancer_model"))
        try:
            module = importlib.import_module(modname)
            loader = getattr(module, fname)
        except (ImportError, AttributeError) as exc:
            raise EnhancerUnavailableError(
                f"{self.label}: {modname}.{fname} is not available ({exc}); {_how_to_get(self.label, where)}"
            ) from exc
        try:
            if self.label == "DDRNet-dn":
                model = loader(where)
            else:
                model = loader(self.label, path=self.weights, preset=self.preset)
        except FileNotFoundError as exc:
            raise EnhancerUnavailableError(
                f"{self.label}: trained weights not found ({exc}); {_how_to_get(self.label, where)}"
            ) from exc
        if self.label == "DDRNet-dn":
            self._trained_format = "fixed"
        else:
            from models.unet import trained_depth_format

            self._trained_format = trained_depth_format(where)
        if self.input_format is not None and self.input_format != self._trained_format:
            _log.info("%s: trained on %s depth, given %s depth%s", self.label, self._trained_format,
                      self.input_format, ": each image is stretched to its depth range and back"
                      if self._trained_format == "face_range" else " (passed as is)")
        self._model = model
        return model

    def _enhance_batch(self, frames):
        model = self.load()
        if self._infer is None:
            from models.inference import compile_for_inference

            self._infer = compile_for_inference(model)
        return on_face_range(frames, self.rescales, self._run_network)

    def _run_network(self, frames):
        out = np.empty(frames.shape, np.uint16)
        for start in range(0, len(frames), self.batch_size):
            chunk = to_float(frames[start:start + self.batch_size])[..., None]
            y = np.asarray(self._infer(chunk), dtype=np.float32)
            if y.shape[:3] != chunk.shape[:3]:
                raise RuntimeError(f"{self.label}: model returned shape {y.shape} for input {chunk.shape}")
            out[start:start + len(chunk)] = from_float(y.reshape(chunk.shape[:3]))
        return out


# ----------------------------------------------------------------------------- registry
def get_enhancer(label: str, **kwargs) -> Enhancer:
    """The enhancer called ``label`` (one of ``LABELS``).

    Keywords: ``backend`` ("auto" | "sdk" | "twin", hand-crafted only), ``weights``, ``preset``,
    ``batch_size`` (deep-learning only). Irrelevant keywords are ignored; unknown ones raise TypeError.
    """
    unknown = sorted(set(kwargs) - set(_KWARGS))
    if unknown:
        raise TypeError(f"get_enhancer: unknown keyword(s) {unknown}; allowed: {list(_KWARGS)}")
    if label == "None":
        return NoneEnhancer()
    if label in TABLE_II:
        return RealSenseEnhancer(label, TABLE_II[label], backend=kwargs.get("backend", "auto"))
    if label in DL_LABELS:
        return KerasEnhancer(label, weights=kwargs.get("weights"), preset=kwargs.get("preset", "best"),
                             batch_size=kwargs.get("batch_size", DL_BATCH_SIZE),
                             input_format=kwargs.get("input_format"))
    raise KeyError(f"unknown enhancer label {label!r}; known: {', '.join(LABELS)}")


def _check_labels() -> None:  # import-time consistency check of the two tables
    assert len(LABELS) == 16 and len(set(LABELS)) == 16
    assert set(HANDCRAFTED_LABELS) == set(TABLE_II)


_check_labels()
