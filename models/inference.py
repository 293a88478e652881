"""The inference form of the U-Net enhancers: batch-norm folded into the convolutions, one compiled graph.

Training and the weight files keep the Keras models exactly as built by ``models.unet`` (DL-Alpha with
a BatchNormalization after every convolution). For inference, a BatchNormalization with its moving
statistics is an affine map per channel, so it folds into the convolution before it:

    BN(conv(x; W, b)) = conv(x; W * s, (b - mean) * s + beta),   s = gamma / sqrt(var + epsilon)

(``s`` scales the output channels: the last kernel axis of Conv2D, the third of Conv2DTranspose).
``fold_batchnorm(model)`` returns the equivalent U-Net without BatchNormalization layers (ReLU fused
into the convolutions, as in the layouts without batch-norm); the outputs agree to float rounding
(tests/test_inference.py). ``compile_for_inference(model)`` returns a ``tf.function`` over the folded
network for float NxHxWx1 batches, so TensorFlow runs one optimised graph (convolution, bias and ReLU
fused) instead of the layer-by-layer eager calls. The DL enhancers (``experiments.enhancers``), the
U-Net benchmark and the real-time PAD use it.

``layout_of(model)`` (defined in ``models.unet``, re-exported here) reads the ``UNetLayout`` back from
a model that ``models.unet.build_unet`` made (the layer names and kernel shapes), e.g. a loaded weight
file of the quick preset's narrowed nets.

Image sizes: a U-Net takes heights and widths that are multiples of ``size_multiple_of(model)``
(2 ** pooling steps: 128 for DL-Beta/Gamma/Delta, 32 for DL-Alpha). The callable of
``compile_for_inference`` takes any size: it pads the batch at the bottom and right with holes (1.0 in
the network convention) up to the next multiple (or up to the fixed input size of a model built for
one size, refusing larger images) and crops the output back, so a size that is already a multiple
runs unchanged.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np

from .unet import _layer, any_size_copy, build_unet, layout_of, to_float16_model, to_float32_model

__all__ = ["layout_of", "fold_batchnorm", "compile_for_inference", "size_multiple_of", "HOLE_FLOAT",
           "to_float16_model", "to_float32_model", "any_size_copy"]

#: a hole in the network convention (uint16 65535 / 65535)
HOLE_FLOAT = 1.0


def _bn_of(name: str) -> str:
    """The BatchNormalization that follows the conv ``name`` in build_unet's naming."""
    return name.replace("_conv", "_bn") if "_conv" in name else f"{name}_bn"


def fold_batchnorm(model):
    """``model`` (a build_unet U-Net) without BatchNormalization: each BN folded into the conv before
    it. A model without BN is returned unchanged. The input size (fixed or None) is kept."""
    import keras

    layout = layout_of(model)
    if not layout.batchnorm:
        return model
    size = model.input_shape[1]
    folded = build_unet(dataclasses.replace(layout, batchnorm=False), size, name=f"{model.name}_folded")
    for layer in folded.layers:
        if not layer.weights:
            continue
        kernel, bias = model.get_layer(layer.name).get_weights()
        bn = _layer(model, _bn_of(layer.name))
        if bn is not None:
            gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
            s = gamma / np.sqrt(var + bn.epsilon)
            if isinstance(layer, keras.layers.Conv2DTranspose):   # kernel (kh, kw, out, in)
                kernel = kernel * s[None, None, :, None]
            else:                                                  # kernel (kh, kw, in, out)
                kernel = kernel * s
            bias = (bias - mean) * s + beta
        elif layer.name != "head":
            raise ValueError(f"{model.name}: layer {layer.name} has no BatchNormalization {_bn_of(layer.name)}")
        layer.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])
    return folded


def size_multiple_of(model) -> int:
    """Heights and widths a model built by ``models.unet.build_unet`` takes are multiples of this
    (2 ** number of poolings); 1 for any other model (no requirement known)."""
    try:
        return 2 ** len(layout_of(model).widths)
    except (ValueError, AttributeError):
        return 1


def _padded_size(size: int, multiple: int, fixed) -> int:
    """The size an axis of ``size`` is padded to: the model's fixed size, else the next multiple."""
    return int(fixed) if fixed is not None else size + (-size % multiple)


def compile_for_inference(model) -> Callable:
    """A compiled callable float NxHxWx1 -> NxHxWx1 (numpy or tensor in, tensor out) computing
    ``model(x, training=False)``: U-Nets with batch-norm folded, any other Keras model as it is; a
    callable that is not a keras.Model is called directly (``model(x, training=False)``).

    Any image size is accepted by a Keras model's callable: the batch is padded with holes (1.0) at the
    bottom and right to the next multiple of ``size_multiple_of(model)`` (or to the model's fixed input
    size; a larger image is a ValueError) and the output is cropped back to the input's size."""
    import keras
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        return lambda x: model(x, training=False)
    try:
        net = fold_batchnorm(model)
    except ValueError:                      # not a build_unet U-Net (e.g. DDRNet-dn): no folding
        net = model
    multiple = size_multiple_of(model)
    shape = tuple(model.input_shape) if len(model.input_shape) == 4 else (None, None, None, None)
    fixed_h, fixed_w = shape[1], shape[2]
    # a partial, not a lambda: TF counts traces per code object, and every model needs its own trace
    fn = tf.function(functools.partial(net, training=False), reduce_retracing=True)

    def call(x):
        x = tf.convert_to_tensor(x, tf.float32)
        if x.shape.rank != 4 or x.shape[1] is None or x.shape[2] is None:   # unknown size: as it is
            return fn(x)
        h, w = int(x.shape[1]), int(x.shape[2])
        if (fixed_h is not None and h > fixed_h) or (fixed_w is not None and w > fixed_w):
            raise ValueError(f"{model.name}: the model takes images of at most {fixed_h}x{fixed_w} (HxW, it was "
                             f"built for that input size), got {h}x{w}")
        ph = _padded_size(h, multiple, fixed_h) - h
        pw = _padded_size(w, multiple, fixed_w) - w
        if not ph and not pw:
            return fn(x)
        y = fn(tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]], constant_values=HOLE_FLOAT))
        return y[:, :h, :w, :]

    call.model = net
    call.size_multiple = multiple
    return call
