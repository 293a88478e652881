"""pix2pix (Isola et al., CVPR 2017), the baseline "[14]" of 001 and "[9]" of 003, with its published
settings: U-Net generator of 4x4 stride-2 convolutions (encoder C64-C128-C256-C512-C512...: Leaky
ReLU 0.2, no batch norm on the first layer; decoder of transposed convolutions with ReLU, dropout
0.5 on the three innermost decoder layers, active at training and test time; skip connections
between mirrored layers; tanh output), 70x70 PatchGAN discriminator (C64-C128-C256-C512, the last
with stride 1, then a 1-map convolution and a sigmoid) conditioned on the input, L1 weight 100,
Adam 2e-4 with betas 0.5 / 0.999, N(0, 0.02) initialisation, the discriminator objective halved.

The published U-Net has 8 levels for 256x256 inputs (down to 1x1). For the papers' 96x96 (001) and
64x64 (003) inputs the number of levels is the number of halvings the size allows (96 -> 3x3 after 5,
64 -> 1x1 after 6), the filters following the same schedule min(64 * 2^i, 512).
"""
from __future__ import annotations

from typing import Optional

import keras

from .gan_common import AlwaysDropout, ConditionalGAN, gan_init, make_adam

__all__ = ["L1_WEIGHT", "unet_levels", "build_unet_generator", "build_patchgan", "build_pix2pix"]

L1_WEIGHT = 100.0
KERNEL = 4


def unet_levels(size: int) -> int:
    """Number of stride-2 halvings of ``size`` that stay integral and >= 1 pixel (at most 8)."""
    n = 0
    while size % 2 == 0 and size > 1 and n < 8:
        size //= 2
        n += 1
    if n < 2:
        raise ValueError("pix2pix U-Net needs an input size divisible by 4")
    return n


def build_unet_generator(input_size: int, in_channels: int, out_channels: int, ngf: int = 64,
                         max_filters: int = 512, levels: Optional[int] = None, dropout: float = 0.5,
                         dropout_at_test: bool = True, name: str = "pix2pix_unet") -> keras.Model:
    n = levels or unet_levels(input_size)
    init = gan_init()
    filters = [min(ngf * 2 ** i, max_filters) for i in range(n)]
    inp = keras.Input((input_size, input_size, in_channels), name="input")
    skips = []
    x = inp
    for i, f in enumerate(filters):
        if i > 0:
            x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"down{i + 1}_lrelu")(x)
        innermost = i == n - 1
        use_bn = 0 < i and not innermost    # no BN on the first layer (paper) nor the 1x1 bottleneck (code)
        x = keras.layers.Conv2D(f, KERNEL, strides=2, padding="same", use_bias=not use_bn,
                                kernel_initializer=init, name=f"down{i + 1}_conv")(x)
        if use_bn:
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"down{i + 1}_bn")(x)
        skips.append(x)
    # decoder: mirrored levels, each a ReLU -> transposed conv -> BN (-> dropout) -> concat skip
    for j, i in enumerate(range(n - 2, -1, -1)):
        x = keras.layers.ReLU(name=f"up{j + 1}_relu")(x)
        x = keras.layers.Conv2DTranspose(filters[i], KERNEL, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=init, name=f"up{j + 1}_conv")(x)
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"up{j + 1}_bn")(x)
        if j < 3 and dropout > 0:
            x = AlwaysDropout(dropout, always=dropout_at_test, name=f"up{j + 1}_dropout")(x)
        x = keras.layers.Concatenate(name=f"up{j + 1}_skip")([x, skips[i]])
    x = keras.layers.ReLU(name="out_relu")(x)
    out = keras.layers.Conv2DTranspose(out_channels, KERNEL, strides=2, padding="same", activation="tanh",
                                       kernel_initializer=init, name="out_conv")(x)
    return keras.Model(inp, out, name=name)


def build_patchgan(input_size: int, in_channels: int, out_channels: int, ndf: int = 64, n_layers: int = 3,
                   name: str = "pix2pix_patchgan") -> keras.Model:
    """70x70 PatchGAN on concat(input, output): C64-C128-C256 (stride 2) - C512 (stride 1) - conv1 - sigmoid."""
    init = gan_init()
    inp = keras.Input((input_size, input_size, in_channels + out_channels), name="pair")
    x = inp
    for i in range(n_layers + 1):
        f = min(ndf * 2 ** i, ndf * 8)
        stride = 2 if i < n_layers else 1
        x = keras.layers.Conv2D(f, KERNEL, strides=stride, padding="same", use_bias=i == 0,
                                kernel_initializer=init, name=f"c{i + 1}_conv")(x)
        if i > 0:
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"c{i + 1}_bn")(x)
        x = keras.layers.LeakyReLU(negative_slope=0.2, name=f"c{i + 1}_lrelu")(x)
    out = keras.layers.Conv2D(1, KERNEL, strides=1, padding="same", activation="sigmoid",
                              kernel_initializer=init, name="patch_out")(x)
    return keras.Model(inp, out, name=name)


def build_pix2pix(input_size: int, in_channels: int, out_channels: int, ngf: int = 64, ndf: int = 64,
                  l1_weight: float = L1_WEIGHT, lr: float = 2e-4, beta_1: float = 0.5,
                  beta_2: float = 0.999, dropout_at_test: bool = True) -> ConditionalGAN:
    gan = ConditionalGAN(build_unet_generator(input_size, in_channels, out_channels, ngf=ngf,
                                              max_filters=8 * ngf, dropout_at_test=dropout_at_test),
                         build_patchgan(input_size, in_channels, out_channels, ndf=ndf),
                         recon="l1", recon_weight=l1_weight, conditional_discriminator=True, name="pix2pix")
    gan.compile(g_optimizer=make_adam(lr, beta_1, beta_2), d_optimizer=make_adam(lr, beta_1, beta_2))
    gan.build(None)
    return gan
