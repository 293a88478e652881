"""Pini et al., "Learning to Generate Facial Depth Maps" (001_0e755b52ea8f3ea4.txt): gray -> depth cGAN.

Generator (Fig. 2, sec. 3.1.1): k5n128s2 - k5n256s2 - k5n512s2 - k5n1024s2 (Leaky ReLU 0.2) -
transposed k5n512s2 - k5n256s2 - k5n128s2 - k5n64s2 (ReLU) - k5n1s1 (tanh); batch norm before
every activation except the last. Discriminator: the generator's encoder, flatten, fc1 + sigmoid.
Training (sec. 3.1.2): Adam lr 2e-4, betas 0.5 / 0.999; D with BCE (eq. 2); G with
lambda * MSE (eq. 3) + BCE(D(G(x)), 1) (eq. 5). The "AE" baseline is the same generator trained
with the MSE alone. Input 96x96 (4.1.1; the poster 004 says 100x100, which the four stride-2
layers cannot map back to the input size: 100 -> 7 -> 112).
"""
from __future__ import annotations

from typing import Optional, Sequence

import keras

from .gan_common import ConditionalGAN, conv_bn_act, gan_init, make_adam

__all__ = ["ENCODER_FILTERS", "DECODER_FILTERS", "INPUT_SIZE", "build_generator", "build_discriminator",
           "build_cgan", "build_autoencoder"]

ENCODER_FILTERS = (128, 256, 512, 1024)
DECODER_FILTERS = (512, 256, 128, 64)
KERNEL = 5
INPUT_SIZE = 96          # 001 sec. 4.1.1 ("resize them to the size of 96x96 pixels")


def _check_size(size: int, n_down: int) -> None:
    if size % (2 ** n_down):
        raise ValueError(f"input size {size} must be divisible by {2 ** n_down} "
                         f"({n_down} stride-2 layers and as many transposed ones)")


def _encoder(x, filters: Sequence[int], prefix: str):
    for i, f in enumerate(filters):
        x = conv_bn_act(x, f, KERNEL, 2, act="leaky_relu", alpha=0.2, name=f"{prefix}{i + 1}")
    return x


def build_generator(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
                    decoder_filters: Sequence[int] = DECODER_FILTERS, in_channels: int = 1,
                    out_channels: int = 1, name: str = "pini_generator") -> keras.Model:
    """Fig. 2 generator on ``input_size`` x ``input_size`` x ``in_channels`` in [-1, 1]."""
    if len(encoder_filters) != len(decoder_filters):
        raise ValueError("the encoder and the decoder need as many layers (each halves / doubles the size)")
    _check_size(input_size, len(encoder_filters))
    inp = keras.Input((input_size, input_size, in_channels), name="gray")
    x = _encoder(inp, encoder_filters, "enc")
    for i, f in enumerate(decoder_filters):
        x = conv_bn_act(x, f, KERNEL, 2, act="relu", transpose=True, name=f"dec{i + 1}")
    out = keras.layers.Conv2D(out_channels, KERNEL, strides=1, padding="same", activation="tanh",
                              kernel_initializer=gan_init(), name="out_conv")(x)
    return keras.Model(inp, out, name=name)


def build_discriminator(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
                        in_channels: int = 1, name: str = "pini_discriminator") -> keras.Model:
    """Fig. 2 discriminator: the generator's encoder, flatten, one sigmoid unit (P(real))."""
    _check_size(input_size, len(encoder_filters))
    inp = keras.Input((input_size, input_size, in_channels), name="depth")
    x = _encoder(inp, encoder_filters, "d")
    x = keras.layers.Flatten(name="flatten")(x)
    out = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=gan_init(), name="fc1")(x)
    return keras.Model(inp, out, name=name)


def build_cgan(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
               decoder_filters: Sequence[int] = DECODER_FILTERS, recon_weight: float = 10.0,
               lr: float = 2e-4, beta_1: float = 0.5, beta_2: float = 0.999,
               recon_reduction: str = "mean") -> ConditionalGAN:
    """The compiled cGAN of sec. 3.1 (lambda is not stated in 001; 10 is decided, see notes).
    ``recon_reduction="image_sum"`` is eq. 3 read literally (squared L2 norm of each image's error,
    averaged over the batch); "mean" averages over the pixels too (see docs/notes/80_cgans.md)."""
    gan = ConditionalGAN(build_generator(input_size, encoder_filters, decoder_filters),
                         build_discriminator(input_size, encoder_filters),
                         recon="mse", recon_weight=recon_weight, recon_reduction=recon_reduction,
                         name="pini_cgan")
    gan.compile(g_optimizer=make_adam(lr, beta_1, beta_2), d_optimizer=make_adam(lr, beta_1, beta_2))
    gan.build(None)
    return gan


def build_autoencoder(input_size: int = INPUT_SIZE, encoder_filters: Sequence[int] = ENCODER_FILTERS,
                      decoder_filters: Sequence[int] = DECODER_FILTERS, lr: float = 2e-4,
                      beta_1: float = 0.5, beta_2: float = 0.999, name: Optional[str] = None) -> keras.Model:
    """The "AE" baseline: the same generator, compiled with the MSE loss only (eq. 3)."""
    g = build_generator(input_size, encoder_filters, decoder_filters, name=name or "pini_ae")
    g.compile(optimizer=make_adam(lr, beta_1, beta_2), loss="mse")
    return g
