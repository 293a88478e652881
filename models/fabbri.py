"""Fabbri et al., "Domain Translation with Conditional GANs: from Depth to RGB Face-to-Face"
(003_d939832514b6d00b.txt): the deterministic conditional GAN (det-cGAN), depth -> RGB.

Section III-B, read literally: the encoder is "three convolutions followed by a strided
convolution (stride 2)", the decoder "three convolutions followed by a fractionally strided
convolution ... with stride 1/2 ..., and a final convolution"; Leaky ReLU in the encoder, ReLU in
the decoder, batch norm before each activation but the last (tanh); filters "from 64 to 512 in the
encoder and from 256 to 32 in the decoder"; all kernels 5x5. With one such stage on each side the
filter counts are exactly 64-128-256-512 and 256-128-64-32, and the network does "less upsampling
and downsampling" than an hourglass, as the text says (one halving, one doubling). The
discriminator: stride-2 convolutions doubling 64 -> 512 maps (Leaky ReLU, batch norm), then one
sigmoid unit. Training (III-C): 64x64 input, Adam betas 0.5 / 0.999, lambda = 10, batch 64,
non-saturating adversarial term (eq. 4). The learning rate is not stated: 2e-4 (decided, the
value of the same group's 001 and of pix2pix).
"""
from __future__ import annotations

from typing import Sequence

import keras

from .gan_common import ConditionalGAN, conv_bn_act, gan_init, make_adam

__all__ = ["ENCODER_FILTERS", "DECODER_FILTERS", "DISC_FILTERS", "INPUT_SIZE", "LAMBDA", "BATCH_SIZE",
           "build_generator", "build_discriminator", "build_cgan", "build_autoencoder", "binary_map"]

ENCODER_FILTERS = (64, 128, 256, 512)     # three convolutions (stride 1), then a stride-2 one
DECODER_FILTERS = (256, 128, 64, 32)      # three convolutions (stride 1), then a transposed stride-2 one
DISC_FILTERS = (64, 128, 256, 512)        # stride-2 convolutions, one per doubling
KERNEL = 5
INPUT_SIZE = 64
LAMBDA = 10.0
BATCH_SIZE = 64


def build_generator(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
                    decoder_filters: Sequence[int] = DECODER_FILTERS, in_channels: int = 1,
                    out_channels: int = 3, name: str = "fabbri_generator") -> keras.Model:
    """det-cGAN generator on ``input_size`` x ``input_size`` x ``in_channels`` (depth in [-1, 1])."""
    if input_size % 2:
        raise ValueError(f"input size {input_size} must be even (one stride-2 layer and one transposed)")
    inp = keras.Input((input_size, input_size, in_channels), name="depth")
    x = inp
    for i, f in enumerate(encoder_filters):
        stride = 2 if i == len(encoder_filters) - 1 else 1
        x = conv_bn_act(x, f, KERNEL, stride, act="leaky_relu", alpha=0.2, name=f"enc{i + 1}")
    for i, f in enumerate(decoder_filters):
        last = i == len(decoder_filters) - 1
        x = conv_bn_act(x, f, KERNEL, 2 if last else 1, act="relu", transpose=last, name=f"dec{i + 1}")
    out = keras.layers.Conv2D(out_channels, KERNEL, padding="same", activation="tanh",
                              kernel_initializer=gan_init(), name="out_conv")(x)
    return keras.Model(inp, out, name=name)


def build_discriminator(input_size: int = INPUT_SIZE, filters: Sequence[int] = DISC_FILTERS,
                        in_channels: int = 3, name: str = "fabbri_discriminator") -> keras.Model:
    """Stride-2 5x5 convolutions (one halving per doubling of the maps), flatten, one sigmoid unit."""
    if input_size % (2 ** len(filters)):
        raise ValueError(f"input size {input_size} must be divisible by {2 ** len(filters)}")
    inp = keras.Input((input_size, input_size, in_channels), name="rgb")
    x = inp
    for i, f in enumerate(filters):
        x = conv_bn_act(x, f, KERNEL, 2, act="leaky_relu", alpha=0.2, name=f"d{i + 1}")
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=gan_init(), name="fc1")(x)
    return keras.Model(inp, out, name=name)


def build_cgan(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
               decoder_filters: Sequence[int] = DECODER_FILTERS, disc_filters: Sequence[int] = DISC_FILTERS,
               recon_weight: float = LAMBDA, lr: float = 2e-4, beta_1: float = 0.5,
               beta_2: float = 0.999) -> ConditionalGAN:
    """The compiled det-cGAN (eq. 3-4)."""
    gan = ConditionalGAN(build_generator(input_size, encoder_filters, decoder_filters),
                         build_discriminator(input_size, disc_filters),
                         recon="mse", recon_weight=recon_weight, name="fabbri_cgan")
    gan.compile(g_optimizer=make_adam(lr, beta_1, beta_2), d_optimizer=make_adam(lr, beta_1, beta_2))
    gan.build(None)
    return gan


def build_autoencoder(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
                      decoder_filters: Sequence[int] = DECODER_FILTERS, lr: float = 2e-4,
                      beta_1: float = 0.5, beta_2: float = 0.999) -> keras.Model:
    """The "Autoencoder" baseline of Table I: the same generator trained with the MSE alone."""
    g = build_generator(input_size, encoder_filters, decoder_filters, name="fabbri_ae")
    g.compile(optimizer=make_adam(lr, beta_1, beta_2), loss="mse")
    return g


def binary_map(depth_unit, threshold: float = 0.0):
    """The binary-map ablation input (III-E, "binary maps were gathered thresholding the depth maps"):
    1 where the depth (in [-1, 1], background = -1) is above ``threshold`` in the [-1, 1] scale
    mapped from 0..1, i.e. foreground, else -1. The threshold value is not stated; the default puts
    every measured (non-background) pixel in the foreground (decided)."""
    import numpy as np

    d = np.asarray(depth_unit, np.float32)
    level = -1.0 + 2.0 * float(threshold)
    return np.where(d > level + 1e-6, np.float32(1.0), np.float32(-1.0))
