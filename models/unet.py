"""U-Net depth enhancers DL-Alpha, DL-Beta, DL-Gamma, DL-Delta (Schlett et al., III-C, IV-C, Table III).

The paper (000_5d0e6bc7884ed0ba.txt) gives no layer list, only: Keras, U-Net-like, 256x256x1 in and
out, skips from each downsampling stage to the matching upscaling stage, 3x3 kernels except DL-Gamma
(5x5), DL-Beta = DL-Alpha with "markedly increased filter size", DL-Delta = "shrunken and simplified"
DL-Alpha, and the trainable parameter counts of Table III. The layouts below are inferred by matching
those counts (shared/docs/unet_architectures.md and docs/notes/50_unets.md):

* DL-Delta: widths 16-32-64-128-128-128-128, bottleneck 256, 3x3, two convs per stage, max-pooling,
  UpSampling2D + Concatenate, 1x1 linear head -> 4,175,713 (exact).
* DL-Gamma: the same network with 5x5 kernels -> 11,593,825 (exact).
* DL-Beta: widths doubled (32-64-128-256-256-256-256), bottleneck 256, 3x3 -> 13,746,881 (exact).
* DL-Alpha: no plausible layout reproduces 6,731,041; the nearest regular one found is used:
  widths 16-32-64-128-256, bottleneck 256, three convs per encoder/decoder stage, two in the
  bottleneck, BatchNormalization after every conv, 2x2 stride-2 Conv2DTranspose upsampling ->
  6,733,649 (+2,608, +0.039 %).

Public API: ``TABLE_III``, ``LAYOUTS``, ``UNetLayout``, ``base_label``, ``build_enhancer_network``,
``load_enhancer_model``, ``trainable_count``, ``conv_flops``, ``size_multiple``, ``preset_names``,
``check_preset_name``, ``check_model_label``, ``label_of_model_name``; ``layout_of`` (a built U-Net's
layout read back) and ``to_float16_model`` / ``to_float32_model`` / ``any_size_copy`` (the same network
rebuilt under another dtype or input size). The labels live in ``models.labels``.
Inputs and outputs are float in [0, 1] with holes at 1.0 (``prnet_synth.conventions.to_float``).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

# This module imports no TensorFlow at import time, so that importing the enhancer registry stays light.
from .enhancer_presets import PRESETS
from .labels import ENHANCER_LABELS, base_label

__all__ = [
    "TABLE_III", "LAYOUTS", "UNetLayout", "ENHANCER_LABELS", "base_label", "build_enhancer_network",
    "build_unet", "load_enhancer_model", "trainable_count", "conv_flops", "size_multiple", "scaled_layout",
    "preset_names", "check_preset_name", "check_model_label", "label_of_model_name",
    "trained_depth_format", "layout_of", "any_size_copy", "to_float16_model", "to_float32_model",
]

#: Trainable parameter counts, Table III of the paper.
TABLE_III = {
    "DL-Alpha": 6_731_041,
    "DL-Beta": 13_746_881,
    "DL-Gamma": 11_593_825,
    "DL-Delta": 4_175_713,
}


@dataclass(frozen=True)
class UNetLayout:
    """A plain U-Net: ``len(widths)`` encoder levels (each ending in 2x2 max-pooling), a bottleneck,
    the mirrored decoder (upsampling, concatenation with the encoder level's output, convs) and a
    1x1 linear head to one channel. All convs: ``kernel`` x ``kernel``, padding 'same', bias, ReLU."""

    widths: tuple[int, ...]
    bottleneck: int
    kernel: int = 3
    enc_convs: int = 2
    dec_convs: int = 2
    bottleneck_convs: int = 2
    upsampling: str = "nearest"      # "nearest": UpSampling2D (no weights); "transpose": Conv2DTranspose
    up_kernel: int = 2               # kernel of the transposed conv (stride 2, out = level width)
    batchnorm: bool = False          # BatchNormalization after every conv (and transposed conv)

    def __post_init__(self):
        if self.upsampling not in ("nearest", "transpose"):
            raise ValueError(f"UNetLayout.upsampling: expected 'nearest' or 'transpose', got {self.upsampling!r}")
        if not self.widths or min(self.widths) < 1 or self.bottleneck < 1:
            raise ValueError(f"UNetLayout: widths must be positive, got {self.widths} / {self.bottleneck}")

    def param_count(self) -> int:
        """Trainable parameters, counted analytically (k*k*c_in*c_out + c_out per conv, 2c per BN)."""
        bn = 2 if self.batchnorm else 0

        def conv(k, ci, co):
            return k * k * ci * co + co + bn * co

        total, c = 0, 1
        for f in self.widths:
            for _ in range(self.enc_convs):
                total += conv(self.kernel, c, f)
                c = f
        for _ in range(self.bottleneck_convs):
            total += conv(self.kernel, c, self.bottleneck)
            c = self.bottleneck
        for f in reversed(self.widths):
            if self.upsampling == "transpose":
                total += conv(self.up_kernel, c, f)
                c = f
            c = c + f
            for _ in range(self.dec_convs):
                total += conv(self.kernel, c, f)
                c = f
        return total + c + 1


_N16 = (16, 32, 64, 128, 128, 128, 128)

#: Inferred layouts (see the module docstring and docs/notes/50_unets.md).
LAYOUTS = {
    "DL-Alpha": UNetLayout(widths=(16, 32, 64, 128, 256), bottleneck=256, kernel=3, enc_convs=3, dec_convs=3,
                           bottleneck_convs=2, upsampling="transpose", up_kernel=2, batchnorm=True),
    "DL-Beta": UNetLayout(widths=tuple(2 * w for w in _N16), bottleneck=256, kernel=3),
    "DL-Gamma": UNetLayout(widths=_N16, bottleneck=256, kernel=5),
    "DL-Delta": UNetLayout(widths=_N16, bottleneck=256, kernel=3),
}


def scaled_layout(label: str, width_multiplier: float = 1.0, min_width: int = 1) -> UNetLayout:
    """The layout of ``label`` with every width multiplied by ``width_multiplier`` (rounded, at least
    ``min_width``). Multiplier 1.0 is the paper's network; smaller ones are used by the ``quick``
    training preset only.
    """
    layout = LAYOUTS[base_label(label)]
    if width_multiplier <= 0:
        raise ValueError(f"width_multiplier must be > 0, got {width_multiplier}")
    if width_multiplier == 1.0 and min_width <= min(layout.widths):
        return layout

    def s(w):
        return max(int(min_width), 1, int(round(w * width_multiplier)))

    return dataclasses.replace(layout, widths=tuple(s(w) for w in layout.widths), bottleneck=s(layout.bottleneck))


def size_multiple(label: str) -> int:
    """Input height and width must be multiples of this (2 ** number of pooling steps)."""
    return 2 ** len(LAYOUTS[base_label(label)].widths)


def build_enhancer_network(label: str, width_multiplier: float = 1.0, input_size: Optional[int] = 256,
                           name: Optional[str] = None, min_width: int = 1):
    """Build the Keras U-Net of ``label`` ("DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta" or
    "DL-Delta-1".."4"): float input HxWx1 in [0, 1] (holes 1.0), linear output HxWx1.

    ``input_size``: 256 (the paper), another multiple of ``size_multiple(label)``, or None for any
    such size. ``width_multiplier`` != 1 scales every width, no width below ``min_width`` (quick
    preset only). The last layer
    computes in float32 so the model also works under a mixed-precision policy.
    """
    layout = scaled_layout(label, width_multiplier, min_width)
    model_name = name or (label.replace("-", "_") + ("" if width_multiplier == 1.0 else f"_x{width_multiplier:g}"))
    return build_unet(layout, input_size, model_name)


def build_unet(layout: UNetLayout, input_size: Optional[int] = 256, name: str = "unet"):
    """The Keras model of a ``UNetLayout`` (see ``build_enhancer_network``)."""
    import keras
    from keras import layers

    mult = 2 ** len(layout.widths)
    if input_size is not None and (input_size < mult or input_size % mult):
        raise ValueError(f"{name}: input_size must be a multiple of {mult} (>= {mult}), got {input_size}")
    k = layout.kernel

    def conv_block(x, filters, n, tag):
        for j in range(n):
            x = layers.Conv2D(filters, k, padding="same", activation=None if layout.batchnorm else "relu",
                              name=f"{tag}_conv{j}")(x)
            if layout.batchnorm:
                x = layers.BatchNormalization(name=f"{tag}_bn{j}")(x)
                x = layers.ReLU(name=f"{tag}_relu{j}")(x)
        return x

    inp = keras.Input((input_size, input_size, 1), name="depth")
    x = inp
    skips = []
    for i, f in enumerate(layout.widths):
        x = conv_block(x, f, layout.enc_convs, f"enc{i}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{i}_pool")(x)
    x = conv_block(x, layout.bottleneck, layout.bottleneck_convs, "bottleneck")
    for i in reversed(range(len(layout.widths))):
        f = layout.widths[i]
        if layout.upsampling == "transpose":
            x = layers.Conv2DTranspose(f, layout.up_kernel, strides=2, padding="same",
                                       activation=None if layout.batchnorm else "relu", name=f"dec{i}_up")(x)
            if layout.batchnorm:
                x = layers.BatchNormalization(name=f"dec{i}_up_bn")(x)
                x = layers.ReLU(name=f"dec{i}_up_relu")(x)
        else:
            x = layers.UpSampling2D(2, name=f"dec{i}_up")(x)
        x = layers.Concatenate(name=f"dec{i}_concat")([x, skips[i]])
        x = conv_block(x, f, layout.dec_convs, f"dec{i}")
    out = layers.Conv2D(1, 1, padding="same", dtype="float32", name="head")(x)
    return keras.Model(inp, out, name=name)


def trainable_count(model) -> int:
    """Sum of the sizes of the trainable weights (the quantity Table III reports)."""
    return int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))


def conv_flops(model, height: int = 256, width: int = 256) -> int:
    """Forward FLOPs per image (2 per multiply-add) of the Conv2D / Conv2DTranspose / Dense layers,
    counted from the layers' kernel shapes and output sizes at ``height`` x ``width`` input."""
    import keras

    fixed = keras.models.clone_model(model, input_tensors=keras.Input((height, width, model.input_shape[-1])))
    total = 0
    for layer in fixed.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            kh, kw, cout, cin = layer.kernel.shape
            _, h, w, _ = layer.input.shape
            total += 2 * kh * kw * cin * cout * h * w
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            _, h, w, _ = layer.output.shape
            total += 2 * kh * kw * cin * cout * h * w
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
    return int(total)


def _train_hint(label: str, preset: str) -> str:
    if preset not in PRESETS:       # a weights folder without a training preset of that name (e.g. "best")
        return (f"train it with `python -m models.train_enhancers --preset {{{','.join(sorted(PRESETS))}}} "
                f"--labels {label}`, or pass the path of its weights; DL-Delta-n needs DL-Delta-(n-1) first, "
                "which that command trains as well")
    return (f"train it with `python -m models.train_enhancers --preset {preset} --labels {label}` "
            f"(or models.training.train_enhancers([{label!r}], {preset!r}, seed=0)); "
            "DL-Delta-n needs DL-Delta-(n-1) first, which that command trains as well")


def preset_names() -> list[str]:
    """The preset names weights can be asked for: the training presets of
    ``models.enhancer_presets.PRESETS``, plus the weight folders ``prnet_synth.paths`` names when it
    resolves presets (``WEIGHTS_PREFERENCE`` and "best")."""
    from prnet_synth import paths

    names = set(PRESETS) | set(getattr(paths, "WEIGHTS_PREFERENCE", ()))
    if hasattr(paths, "resolve_weights_preset"):
        names.add("best")
    return sorted(names)


def check_preset_name(preset: str) -> str:
    """``preset`` if it is one of ``preset_names()``, else a ValueError listing them."""
    names = preset_names()
    if not isinstance(preset, str) or preset not in names:
        raise ValueError(f"unknown enhancer preset {preset!r}; valid presets: {', '.join(names)}")
    return preset


#: a model name as training (models.training._export: label with "_" for "-") or build_enhancer_network
#: (the same, plus "_x<width multiplier>") give it
_MODEL_NAME_RE = re.compile(r"^(DL_(?:Alpha|Beta|Gamma|Delta(?:_[1-4])?))(?:_x[0-9.eE+-]+)?$")


def label_of_model_name(name: str) -> Optional[str]:
    """The enhancer label a model name belongs to ('DL_Delta_2_x0.5' -> 'DL-Delta-2'), None if it is
    not a name training or ``build_enhancer_network`` gives."""
    m = _MODEL_NAME_RE.match(name or "")
    return m.group(1).replace("_", "-") if m else None


def _structure(layout: UNetLayout) -> tuple:
    """What a layout keeps whatever its width multiplier: depth, kernels, conv counts, upsampling, BN."""
    return (len(layout.widths), layout.kernel, layout.enc_convs, layout.dec_convs, layout.bottleneck_convs,
            layout.upsampling, layout.up_kernel if layout.upsampling == "transpose" else None, layout.batchnorm)


def check_model_label(model, label: str, where: str = "model") -> None:
    """ValueError (naming ``where``) unless ``model`` can be the enhancer ``label``: its name, when it is
    one training gives, must be ``label``'s (DL-Delta-n: that n; the base label "DL-Delta" takes any n),
    and its layout must be ``label``'s up to the widths (``layout_of``)."""
    want = label.replace("-", "_")
    named = label_of_model_name(model.name)
    if named is not None and named != label and not (label == "DL-Delta" and base_label(named) == "DL-Delta"):
        raise ValueError(f"{where}: holds the model {model.name!r} ({named}), not {label}; "
                         f"pass the weights of {label} (a model named {want!r})")
    try:
        layout = layout_of(model)
    except ValueError as exc:
        raise ValueError(f"{where}: not a U-Net enhancer ({exc}), so not {label}") from None
    expected = LAYOUTS[base_label(label)]
    if _structure(layout) != _structure(expected):
        raise ValueError(f"{where}: the model {model.name!r} has a layout that is not {label}'s "
                         f"(levels, kernel, convs, upsampling, batch-norm: {_structure(layout)}, "
                         f"expected {_structure(expected)})")


def trained_depth_format(weights: os.PathLike | str) -> str:
    """The ground-truth depth format a trained enhancer learnt: ``degradation.gt_normalization`` of the
    provenance JSON beside ``weights`` ("face_range" or "fixed"); "fixed" when the JSON or the field
    is missing (weights from before the calibration were trained on the fixed 250 mm format). An
    unreadable JSON or an unknown value raises ValueError naming the file."""
    import json

    meta = Path(weights).with_suffix(".json")
    if not meta.is_file():
        return "fixed"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{meta}: unreadable provenance JSON ({exc})") from None
    fmt = (data.get("degradation") or {}).get("gt_normalization", "fixed") if isinstance(data, dict) else "fixed"
    if fmt not in ("fixed", "face_range"):
        raise ValueError(f"{meta}: unknown degradation.gt_normalization {fmt!r} (expected 'fixed' or 'face_range')")
    return fmt


def load_enhancer_model(label: str, path: Optional[os.PathLike | str] = None, preset: str = "quick"):
    """Load a trained enhancer as a keras.Model on float NxHxWx1 in [0, 1] (holes 1.0).

    ``path`` defaults to ``prnet_synth.paths.weights_path(label, preset)``; ``preset`` must be one of
    ``preset_names()`` (the training presets of ``models.enhancer_presets.PRESETS`` and the weight
    folders prnet_synth.paths resolves; ValueError listing them). A missing file raises
    FileNotFoundError saying how to train it; a file that is not a one-channel image-to-image Keras
    model, or holds another enhancer than ``label`` (``check_model_label``: the model name training
    gives, the layout), raises ValueError naming the file.
    """
    import keras

    from prnet_synth.paths import weights_path

    base_label(label)  # validates the label
    check_preset_name(preset)
    p = Path(path) if path is not None else weights_path(label, preset)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no trained weights for {label} (preset {preset!r}); {_train_hint(label, preset)}")
    try:
        model = keras.models.load_model(p, compile=False)
    except Exception as exc:  # noqa: BLE001 - report the file and the reason
        raise ValueError(f"{p}: not a loadable Keras model for {label} ({type(exc).__name__}: {exc})") from exc
    ins, outs = model.input_shape, model.output_shape
    if len(ins) != 4 or ins[-1] != 1 or len(outs) != 4 or outs[-1] != 1:
        raise ValueError(f"{p}: expected a model from NxHxWx1 to NxHxWx1, got {ins} -> {outs}")
    check_model_label(model, label, str(p))
    return to_float32_model(model)   # weights stored as float16 (compact presets) run in float32


# ----------------------------------------------------------------------------- a built U-Net read back
def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:
        return None


def layout_of(model) -> UNetLayout:
    """The ``UNetLayout`` of a model built by ``models.unet.build_unet`` (ValueError for any other)."""
    import keras

    def count(tag):
        n = 0
        while _layer(model, f"{tag}_conv{n}") is not None:
            n += 1
        return n

    widths = []
    while _layer(model, f"enc{len(widths)}_conv0") is not None:
        widths.append(int(model.get_layer(f"enc{len(widths)}_conv0").filters))
    if not widths or _layer(model, "bottleneck_conv0") is None or _layer(model, "head") is None:
        raise ValueError(f"{model.name}: not a U-Net of models.unet.build_unet (no enc0_conv0 / bottleneck / head layer)")
    up = model.get_layer("dec0_up")
    transpose = isinstance(up, keras.layers.Conv2DTranspose)
    return UNetLayout(
        widths=tuple(widths), bottleneck=int(model.get_layer("bottleneck_conv0").filters),
        kernel=int(model.get_layer("enc0_conv0").kernel_size[0]), enc_convs=count("enc0"),
        dec_convs=count("dec0"), bottleneck_convs=count("bottleneck"),
        upsampling="transpose" if transpose else "nearest",
        up_kernel=int(up.kernel_size[0]) if transpose else UNetLayout.up_kernel,
        batchnorm=_layer(model, "enc0_bn0") is not None)


# ----------------------------------------------------------------------------- compact storage (float16)
def _rebuilt(model, policy: str):
    """The same U-Net (``layout_of``) built under the dtype policy ``policy``, weights cast into it."""
    import keras

    prev = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        twin = build_unet(layout_of(model), input_size=None, name=model.name)
    finally:
        keras.config.set_dtype_policy(prev)
    twin.set_weights([np.asarray(w).astype(v.dtype) for w, v in zip(model.get_weights(), twin.weights)])
    return twin


def any_size_copy(model):
    """A float32 copy of a U-Net (same weights) whose input takes any multiple of its size multiple, e.g.
    to run a model trained on fixed-size crops on whole images."""
    return _rebuilt(model, "float32")


def to_float16_model(model):
    """A copy of a build_unet model whose variables are float16 (half the bytes on disk; the 1x1 output
    head stays float32). Load it back with ``to_float32_model``."""
    return _rebuilt(model, "float16")


def to_float32_model(model):
    """A float32 copy of a U-Net stored with float16 variables (``to_float16_model``); a float32 model
    is returned unchanged."""
    if all(np.dtype(w.dtype) != np.float16 for w in model.weights):
        return model
    return _rebuilt(model, "float32")
