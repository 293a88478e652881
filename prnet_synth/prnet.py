"""PRNet's ``resfcn256`` (Feng et al., ECCV 2018) in Keras 3, and its official TF1 checkpoint.

The network follows the official ``predictor.py`` layer for layer (see ``shared/docs/prnet.md``):
every convolution and transposed convolution has no bias, is followed by batch normalisation
(epsilon 1e-3, scale and centre) and ReLU; an encoder of one 4x4 convolution and ten residual
blocks (256x256x16 down to 8x8x512), a decoder of 17 4x4 transposed convolutions back to
256x256x3, the last one with batch normalisation and a sigmoid. The network output times
``MAX_POS`` (256 * 1.1) is the UV position map in pixel units of the 256x256 input crop.

Every Keras weight has exactly one variable of the official checkpoint
(``256_256_resfcn256_weight``, a TF1 Saver V2 bundle) by name: ``official_variable_names()``
lists them, ``load_official_checkpoint(model, path)`` reads them by name and
``save_official_checkpoint(model, prefix)`` writes a bundle in the same layout.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np

__all__ = [
    "INPUT_SIZE", "MAX_POS", "SCOPE", "ENCODER", "DECODER",
    "build_prnet", "official_variable_names", "official_variable_map",
    "load_official_checkpoint", "save_official_checkpoint", "CheckpointMismatchError",
]

INPUT_SIZE = 256
MAX_POS = 256 * 1.1  # PosPrediction: pos = network output * MaxPos
SCOPE = "resfcn256"
_SIZE = 16  # predictor.py: size = 16

# Encoder residual blocks: (scope, output channels, stride); the 4x4 "Conv" (16 channels) comes first.
ENCODER = tuple(
    (("resBlock" if i == 0 else f"resBlock_{i}"), _SIZE * 2 ** (1 + i // 2), 2 if i % 2 == 0 else 1)
    for i in range(10)
)
# Decoder transposed convolutions: (scope, output channels, stride).
_DEC_SPEC = [(512, 1), (256, 2), (256, 1), (256, 1), (128, 2), (128, 1), (128, 1), (64, 2), (64, 1),
             (64, 1), (32, 2), (32, 1), (16, 2), (16, 1), (3, 1), (3, 1), (3, 1)]
DECODER = tuple(
    (("Conv2d_transpose" if i == 0 else f"Conv2d_transpose_{i}"), c, s) for i, (c, s) in enumerate(_DEC_SPEC)
)
_BN_VARS = ("gamma", "beta", "moving_mean", "moving_variance")  # Keras BatchNormalization weight order


class CheckpointMismatchError(ValueError):
    """The checkpoint lacks a tensor the network needs, or holds it with another shape or dtype."""


def _kname(scope: str) -> str:
    """Keras layer name for an official scope ('/' is not allowed in Keras layer names)."""
    return scope.replace("/", "__")


def build_prnet(input_size: int = INPUT_SIZE, name: str = SCOPE):
    """The ``resfcn256`` network as a ``keras.Model``: float32 RGB in [0, 1] NxSxSx3 -> sigmoid NxSxSx3.

    ``input_size`` (default 256, the official size) must be a multiple of 32; other sizes exist only
    to keep tests small. Layer names are the official scopes with '/' written as '__'.
    """
    import keras
    from keras import layers

    if input_size % 32 or input_size <= 0:
        raise ValueError(f"build_prnet: input_size must be a positive multiple of 32, got {input_size}")

    def bn(scope):
        return layers.BatchNormalization(epsilon=1e-3, momentum=0.999, center=True, scale=True,
                                         name=_kname(scope + "/BatchNorm"))

    def conv_bn_relu(x, filters, k, stride, scope):
        x = layers.Conv2D(filters, k, strides=stride, padding="same", use_bias=False, name=_kname(scope))(x)
        x = bn(scope)(x)
        return layers.ReLU(name=_kname(scope + "/Relu"))(x)

    def res_block(x, filters, stride, scope):
        in_ch = x.shape[-1]
        if stride != 1 or in_ch != filters:
            shortcut = layers.Conv2D(filters, 1, strides=stride, padding="same", use_bias=False,
                                     name=_kname(scope + "/shortcut"))(x)
        else:
            shortcut = x
        y = conv_bn_relu(x, filters // 2, 1, 1, scope + "/Conv")
        y = conv_bn_relu(y, filters // 2, 4, stride, scope + "/Conv_1")
        y = layers.Conv2D(filters, 1, strides=1, padding="same", use_bias=False, name=_kname(scope + "/Conv_2"))(y)
        y = layers.Add(name=_kname(scope + "/add"))([y, shortcut])
        y = bn(scope)(y)
        return layers.ReLU(name=_kname(scope + "/Relu"))(y)

    inp = keras.Input((input_size, input_size, 3), name="image")
    x = conv_bn_relu(inp, _SIZE, 4, 1, "Conv")
    for scope, ch, stride in ENCODER:
        x = res_block(x, ch, stride, scope)
    for i, (scope, ch, stride) in enumerate(DECODER):
        x = layers.Conv2DTranspose(ch, 4, strides=stride, padding="same", use_bias=False, name=_kname(scope))(x)
        x = bn(scope)(x)
        last = i == len(DECODER) - 1
        x = layers.Activation("sigmoid" if last else "relu", name=_kname(scope + ("/Sigmoid" if last else "/Relu")))(x)
    return keras.Model(inp, x, name=name)


def _layer_variables(model) -> Iterator[tuple[str, object]]:
    """(official name, Keras variable) for every weight of the model, in model order."""
    from keras import layers

    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            scope = layer.name.replace("__", "/")
            yield f"{SCOPE}/{scope}/weights", layer.kernel
        elif isinstance(layer, layers.BatchNormalization):
            scope = layer.name.replace("__", "/")
            for vname, var in zip(_BN_VARS, (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance)):
                yield f"{SCOPE}/{scope}/{vname}", var
        elif layer.weights:
            raise TypeError(f"unexpected layer with weights in the PRNet model: {layer.name}")


def official_variable_map(model) -> dict[str, object]:
    """Mapping official checkpoint variable name -> Keras variable of ``model``."""
    out = dict(_layer_variables(model))
    n_weights = len(model.weights)
    if len(out) != n_weights:
        raise ValueError(f"PRNet model has {n_weights} weights but {len(out)} official names")
    return out


def official_variable_names(model=None) -> dict[str, tuple[int, ...]]:
    """Official variable name -> shape for the 256x256 network (245 tensors, as in the checkpoint)."""
    if model is None:
        model = build_prnet()
    return {k: tuple(int(d) for d in v.shape) for k, v in official_variable_map(model).items()}


def _checkpoint_prefix(path: str | os.PathLike) -> str:
    """Accept a bundle prefix, its .index / .data file, or a folder holding one bundle."""
    p = Path(path)
    if p.is_dir():
        indexes = sorted(p.glob("*.index"))
        if len(indexes) != 1:
            raise FileNotFoundError(
                f"{p}: expected exactly one TF checkpoint (*.index) in the folder, found {len(indexes)}; "
                "pass the prefix, e.g. <PRNet>/Data/net-data/256_256_resfcn256_weight")
        p = indexes[0].with_suffix("")
    s = str(p)
    for suffix in (".index", ".data-00000-of-00001"):
        if s.endswith(suffix):
            s = s[: -len(suffix)]
    index = Path(s + ".index")
    if not index.is_file():
        raise FileNotFoundError(f"{index}: checkpoint index not found (expected a TF1 bundle "
                                "'256_256_resfcn256_weight.index' + '.data-00000-of-00001')")
    if not list(Path(s).parent.glob(Path(s).name + ".data-*")):
        raise FileNotFoundError(
            f"{s}.data-00000-of-00001: checkpoint data file not found; download the PRNet weights "
            "(see the PRNet README) into the folder of the .index file")
    return s


def load_official_checkpoint(model, path: str | os.PathLike) -> dict[str, tuple[int, ...]]:
    """Load the official PRNet weights into ``model`` (from ``build_prnet``), by variable name.

    ``path`` is the checkpoint prefix (``.../Data/net-data/256_256_resfcn256_weight``), one of its
    files, or the folder holding it. Every weight of the model must be present with the same shape
    and float dtype; otherwise ``CheckpointMismatchError`` names the tensor(s). Extra tensors in
    the bundle (Adam slots, ``beta1_power``...) are ignored. Nothing is assigned unless all tensors
    match. Returns name -> shape of what was loaded.
    """
    import tensorflow as tf

    prefix = _checkpoint_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except Exception as exc:  # corrupt or unreadable bundle
        raise CheckpointMismatchError(f"{prefix}: cannot read the TF checkpoint: {exc}") from exc
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    wanted = official_variable_map(model)
    missing = [n for n in wanted if n not in shapes]
    if missing:
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise CheckpointMismatchError(f"{prefix}: missing tensor(s) {', '.join(missing[:5])}{more}")
    values = {}
    for name, var in wanted.items():
        want_shape = tuple(int(d) for d in var.shape)
        got_shape = tuple(int(d) for d in shapes[name])
        if got_shape != want_shape:
            raise CheckpointMismatchError(
                f"{prefix}: tensor {name} has shape {list(got_shape)}, the network needs {list(want_shape)}")
        if not dtypes[name].is_floating:
            raise CheckpointMismatchError(f"{prefix}: tensor {name} has dtype {dtypes[name].name}, expected float")
        arr = np.asarray(reader.get_tensor(name), dtype=np.float32)
        if not np.all(np.isfinite(arr)):
            raise CheckpointMismatchError(f"{prefix}: tensor {name} holds NaN or infinite values")
        values[name] = arr
    for name, var in wanted.items():
        var.assign(values[name])
    return {n: v.shape for n, v in values.items()}


def save_official_checkpoint(model, prefix: str | os.PathLike) -> str:
    """Write the model's weights as a TF1 V2 bundle with the official variable names.

    Produces ``<prefix>.index`` and ``<prefix>.data-00000-of-00001`` readable by the official
    PRNet code and by ``load_official_checkpoint`` (model tensors only, no optimiser slots).
    """
    import tensorflow as tf

    prefix = str(prefix)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    items = sorted(official_variable_map(model).items())
    names = [n for n, _ in items]
    tensors = [tf.convert_to_tensor(np.asarray(v.numpy(), dtype=np.float32)) for _, v in items]
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=names, shape_and_slices=[""] * len(names), tensors=tensors)
    return prefix
