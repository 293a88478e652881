"""DDRNet-dn: the depth-only denoising net of DDRNet (Yan et al., ECCV 2018), ported to Keras.

Schlett et al. (000_5d0e6bc7884ed0ba.txt, IV-B) use the official implementation
(github.com/neycyanshi/DDRNet, ``src/model.py`` ``convResnet``, scope ``dn_net``) with its public
pretrained checkpoint ``noBN_L1_sd100_B16-6000``. Architecture (shared/docs/ddrnet.md, section 2):
conv 3x3/32 -> conv 3x3 s2/64 -> conv 3x3 s2/128 -> 2 pre-activation residual blocks (128) ->
concat [skip, current] -> conv-transpose 3x3 s2/64 -> concat -> conv-transpose 3x3 s2/32 -> concat ->
conv 3x3/1 tanh -> ``clip(x + f, -1, 1)``; biases everywhere, no normalisation, 868,001 parameters.

The released weights are only on Google Drive / Baidu (not in git), so they cannot be fetched here:
``load_ddrnet_dn(path)`` reads the checkpoint from a path the user gives (the TF1 checkpoint as
downloaded: a folder with the ``checkpoint`` file, or the ``.../noBN_L1_sd100_B16-6000`` prefix) and
raises FileNotFoundError ("DDRNet-dn weights missing") when it is not there. Nothing is ever invented.

Domain mapping (the paper does not say how it fed its 16-bit face images to DDRNet; decided here,
docs/notes/50_unets.md): the project's float depth x in [0, 1] (0 = nearest, 1.0 = hole, 250 mm range)
becomes ``near_mm + 250 * x`` millimetres (``near_mm`` = 700 by default, a typical face distance),
holes become 0 mm as in DDRNet's inputs; then DDRNet's own normalisation ``(clip(d, low, up) - low) /
((up - low) / 2) - 1`` with low = 500, up = 2000 (the constants of the released training graph), the
8-pixel symmetric padding of ``evaluate.py``, the net, the crop, and the inverse mapping back to [0, 1]
(clipped; output outside the 250 mm range reads as a hole). No mask is applied (none is available).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

__all__ = ["DN_VARIABLES", "build_ddrnet_dn", "build_ddrnet_dn_enhancer", "read_ddrnet_checkpoint",
           "load_ddrnet_dn", "set_dn_weights", "DDRNetWeightsMissing"]

#: TF1 variable names of dn_net in the official checkpoint and their shapes (ddrnet.md, section 1)
DN_VARIABLES = {
    "cnv0": ((3, 3, 1, 32), (32,)),
    "cnv_down0": ((3, 3, 32, 64), (64,)),
    "cnv_down1": ((3, 3, 64, 128), (128,)),
    "res0/conv1": ((3, 3, 128, 128), (128,)),
    "res0/conv2": ((3, 3, 128, 128), (128,)),
    "res1/conv1": ((3, 3, 128, 128), (128,)),
    "res1/conv2": ((3, 3, 128, 128), (128,)),
    "cnv_up0": ((3, 3, 64, 256), (64,)),      # conv-transpose: [kh, kw, out, in]
    "cnv_up1": ((3, 3, 32, 128), (32,)),
    "cnv_final": ((3, 3, 64, 1), (1,)),
}

CHECKPOINT_NAME = "noBN_L1_sd100_B16-6000"


class DDRNetWeightsMissing(FileNotFoundError):
    """The pretrained DDRNet checkpoint is not where it was looked for."""


def _layer_name(var: str) -> str:
    return "dn_" + var.replace("/", "_")


def build_ddrnet_dn(activation: str = "relu", input_size: Optional[int] = None):
    """dn_net as a Keras model on the normalised depth in [-1, 1] (NxHxWx1, H and W multiples of 4).

    ``activation``: "relu" (what the released graph.pbtxt contains) or "leaky_relu" (alpha 0.2, what
    src/model.py says); see shared/docs/ddrnet.md."""
    import keras
    from keras import layers, ops

    if activation == "relu":
        act = "relu"
    elif activation == "leaky_relu":
        act = lambda t: keras.activations.leaky_relu(t, negative_slope=0.2)  # noqa: E731
    else:
        raise ValueError(f"activation must be 'relu' or 'leaky_relu', got {activation!r}")

    def conv(name, filters, strides=1, activation=act):
        return layers.Conv2D(filters, 3, strides=strides, padding="same", activation=activation,
                             name=_layer_name(name))

    x = keras.Input((input_size, input_size, 1), name="normalized_depth")
    s0 = conv("cnv0", 32)(x)
    s1 = conv("cnv_down0", 64, 2)(s0)
    s2 = conv("cnv_down1", 128, 2)(s1)
    r = s2
    for b in range(2):
        h = layers.ReLU(name=f"dn_res{b}_preact")(r)
        h = conv(f"res{b}/conv1", 128)(h)
        h = conv(f"res{b}/conv2", 128, activation=None)(h)
        r = layers.Add(name=f"dn_res{b}_add")([r, h])
    c1 = layers.Concatenate(name="dn_concat2")([s2, r])
    u0 = layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation=act, name=_layer_name("cnv_up0"))(c1)
    c2 = layers.Concatenate(name="dn_concat1")([s1, u0])
    u1 = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation=act, name=_layer_name("cnv_up1"))(c2)
    c3 = layers.Concatenate(name="dn_concat0")([s0, u1])
    f = conv("cnv_final", 1, activation="tanh")(c3)
    out = ops.clip(layers.Add(name="dn_residual")([x, f]), -1.0, 1.0)
    return keras.Model(x, out, name="ddrnet_dn")


def _find_prefix(path: os.PathLike | str) -> str:
    import tensorflow as tf

    p = Path(path)
    if p.is_dir():
        prefix = tf.train.latest_checkpoint(str(p))
        if prefix is None:
            cand = p / CHECKPOINT_NAME
            if Path(str(cand) + ".index").is_file():
                prefix = str(cand)
        if prefix is None or not Path(prefix + ".index").is_file():
            raise DDRNetWeightsMissing(
                f"{p}: DDRNet-dn weights missing: no TF checkpoint (expected {CHECKPOINT_NAME}.index/.data-* from "
                "the DDRNet README's download, see shared/docs/ddrnet.md)")
        return prefix
    if Path(str(p) + ".index").is_file():
        return str(p)
    if p.suffix == ".index" and p.is_file():
        return str(p.with_suffix(""))
    raise DDRNetWeightsMissing(
        f"{p}: DDRNet-dn weights missing: expected the pretrained checkpoint folder log/cscd/noBN_L1_sd100_B16/ "
        f"or the prefix .../{CHECKPOINT_NAME} (files .index and .data-00000-of-00001), from the DDRNet README's "
        "Google Drive link; they cannot be downloaded by this project")


def read_ddrnet_checkpoint(path: os.PathLike | str) -> dict[str, np.ndarray]:
    """The dn_net variables of an official DDRNet TF1 checkpoint: {"cnv0/weights": array, ...}.

    Other variables (dt_net, optimiser slots, global_step) are ignored. Missing files ->
    DDRNetWeightsMissing; missing variables or wrong shapes -> ValueError naming the checkpoint."""
    import tensorflow as tf

    prefix = _find_prefix(path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as exc:
        raise ValueError(f"{prefix}: not a readable TensorFlow checkpoint ({exc})") from exc
    shapes = reader.get_variable_to_shape_map()
    out = {}
    for var, (kshape, bshape) in DN_VARIABLES.items():
        for part, shape in (("weights", kshape), ("biases", bshape)):
            name = f"dn_net/{var}/{part}"
            if name not in shapes:
                raise ValueError(f"{prefix}: checkpoint lacks variable {name} (not a DDRNet checkpoint?)")
            if tuple(shapes[name]) != shape:
                raise ValueError(f"{prefix}: variable {name} has shape {tuple(shapes[name])}, expected {shape}")
            out[f"{var}/{part}"] = np.asarray(reader.get_tensor(name), np.float32)
    return out


def set_dn_weights(model, tensors: dict[str, np.ndarray]):
    """Copy checkpoint tensors into the dn_net layers (same kernel layouts in TF1 and Keras)."""
    for var in DN_VARIABLES:
        layer = model.get_layer(_layer_name(var))
        layer.set_weights([tensors[f"{var}/weights"], tensors[f"{var}/biases"]])
    return model


def build_ddrnet_dn_enhancer(dn_model=None, near_mm: float = 700.0, low_mm: float = 500.0, up_mm: float = 2000.0,
                             pad: int = 8, range_mm: float = 250.0):
    """Wrap dn_net for the project's convention: float NxHxWx1 in [0, 1] (holes 1.0) in and out,
    H and W such that H + 2*pad and W + 2*pad are multiples of 4 (256 works)."""
    import keras
    from keras import ops

    dn = dn_model if dn_model is not None else build_ddrnet_dn()
    half = (up_mm - low_mm) / 2.0
    x = keras.Input((None, None, 1), name="depth")
    hole = ops.cast(ops.greater_equal(x, 1.0), "float32")
    mm = (near_mm + range_mm * x) * (1.0 - hole)                       # holes -> 0 mm (DDRNet's holes)
    z = (ops.clip(mm, low_mm, up_mm) - low_mm) / half - 1.0
    z = ops.pad(z, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="symmetric")
    y = dn(z)
    y = y[:, pad:-pad, pad:-pad, :] if pad else y
    out_mm = (y + 1.0) * half + low_mm
    out = ops.clip((out_mm - near_mm) / range_mm, 0.0, 1.0)
    return keras.Model(x, out, name="DDRNet_dn")


def load_ddrnet_dn(path: Optional[os.PathLike | str] = None, activation: str = "relu", **mapping):
    """DDRNet-dn with the official pretrained weights from ``path`` (checkpoint folder or prefix), as a
    keras.Model on float NxHxWx1 in [0, 1] (holes 1.0). ``path`` None or missing ->
    DDRNetWeightsMissing (a FileNotFoundError) saying where to get the weights."""
    if path is None:
        raise DDRNetWeightsMissing("DDRNet-dn weights missing: pass the folder of the official pretrained checkpoint "
                                   f"({CHECKPOINT_NAME}.*, see shared/docs/ddrnet.md)")
    tensors = read_ddrnet_checkpoint(path)
    dn = set_dn_weights(build_ddrnet_dn(activation), tensors)
    return build_ddrnet_dn_enhancer(dn, **mapping)
