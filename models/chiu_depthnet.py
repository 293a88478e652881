"""DepthNet of Chiu et al. (002_dc34ad5f35326815.txt, section III-A, eq. 1-7).

A U-Net generator with one face encoder and two decoders:

* the **face decoder** reconstructs the RGB input (L1, eq. 1);
* the **auxiliary decoder** is one decoder whose weights are shared by two outputs, the depth map
  (L1, eq. 2) and the 7-class segmentation mask (binary cross-entropy per class channel, eq. 3);

and three least-squares discriminators, for RGB, depth and mask (eq. 4-5). Generator loss eq. 7:
``L_G = l1 * L_depth + l2 * L_mask + l3 * L_adv^Gen + L_recon`` (l1 = l2 = 100, l3 = 1); the
discriminators minimise eq. 5. Eq. 6 is the sum, optimised as the usual alternating pair.

Value ranges: RGB and depth in [-1, 1] (tanh outputs); depth is "near = bright": a pixel at the
nearest face point is 1, the far end of the 25 cm range and the background are -1
(see ``depth_to_target``). Mask: 7 sigmoid channels, one-hot targets.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .chiu_presets import DepthNetConfig

__all__ = ["build_generator", "build_discriminator", "DepthNet", "depth_to_target", "target_to_depth",
           "mask_to_onehot", "masked_depth_mse"]

HOLE = 65535


def depth_to_target(depth: np.ndarray) -> np.ndarray:
    """uint16 paper-convention depth (65535 = hole, 0 = nearest) -> float32 in [-1, 1], near = 1, holes = -1."""
    d = np.asarray(depth)
    if d.dtype != np.uint16:
        raise ValueError(f"depth_to_target: expected uint16 depth, got {d.dtype}")
    t = 1.0 - 2.0 * d.astype(np.float32) / 65535.0
    t[d == HOLE] = -1.0
    return t


def target_to_depth(t: np.ndarray, background_threshold: float = -0.999) -> np.ndarray:
    """Inverse of ``depth_to_target``; values at or below the threshold become holes."""
    t = np.asarray(t, dtype=np.float32)
    d = np.rint(np.clip((1.0 - t) / 2.0, 0.0, 1.0) * 65535.0).astype(np.uint16)
    d[t <= background_threshold] = HOLE
    return d


def mask_to_onehot(mask: np.ndarray, classes: int = 7) -> np.ndarray:
    """Class-index mask (..., H, W) -> float32 one-hot (..., H, W, classes)."""
    m = np.asarray(mask)
    if m.min(initial=0) < 0 or m.max(initial=0) >= classes:
        raise ValueError(f"mask_to_onehot: class values must lie in 0..{classes - 1}, got {m.min()}..{m.max()}")
    return np.eye(classes, dtype=np.float32)[m.astype(np.int64)]


def masked_depth_mse(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None,
                     scale: float = 255.0) -> float:
    """Table I / V metric: MSE between ground-truth and estimated depth over the intersection of
    valid pixels (pixels valid in the ground truth and in every compared estimate: pass their
    intersection as ``valid``), with both depths expressed as 8-bit grey levels (near = 255).

    ``gt`` and ``pred`` are uint16 paper-convention depth images (HxW or NxHxW).
    """
    g = np.asarray(gt)
    p = np.asarray(pred)
    if g.shape != p.shape:
        raise ValueError(f"masked_depth_mse: shapes differ, {g.shape} vs {p.shape}")
    both = (g != HOLE) & (p != HOLE)
    if valid is not None:
        both &= np.asarray(valid, bool)
    if not both.any():
        return float("nan")
    gv = (1.0 - g[both].astype(np.float64) / 65535.0) * scale
    pv = (1.0 - p[both].astype(np.float64) / 65535.0) * scale
    return float(np.mean((gv - pv) ** 2))


# ----------------------------------------------------------------------------- networks
def _widths(cfg: DepthNetConfig) -> list[int]:
    n = int(np.log2(cfg.size))  # down to 1x1, as pix2pix's 256 -> 1 encoder
    return [min(cfg.base_filters * 2 ** i, cfg.max_filters) for i in range(n)]


def _down(x, filters, bn=True, name=None):
    x = layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=not bn, name=f"{name}_conv")(x)
    if bn:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(x)


def _up(x, skip, filters, name):
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"{name}_deconv")(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    x = layers.ReLU(name=f"{name}_act")(x)
    if skip is not None:
        x = layers.Concatenate(name=f"{name}_skip")([x, skip])
    return x


def build_generator(cfg: DepthNetConfig) -> keras.Model:
    """Face encoder + face decoder (RGB) + auxiliary decoder (depth and mask, shared weights)."""
    inp = keras.Input((cfg.size, cfg.size, 3), name="rgb_in")
    widths = _widths(cfg)
    skips = []
    x = inp
    for i, f in enumerate(widths):
        x = _down(x, f, bn=i > 0, name=f"enc{i}")
        skips.append(x)
    bottleneck = skips.pop()  # 1x1 code: the face feature vector
    rev = list(reversed(skips))
    up_widths = list(reversed(widths[:-1]))

    def decoder(prefix):
        y = bottleneck
        for j, (f, s) in enumerate(zip(up_widths, rev)):
            y = _up(y, s, f, name=f"{prefix}{j}")
        return y

    face = decoder("face_dec")
    rgb = layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh", name="rgb_out")(face)
    aux = decoder("aux_dec")
    outputs = [rgb]
    outputs.append(layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh", name="depth_out")(aux))
    if cfg.use_mask_branch:
        outputs.append(layers.Conv2DTranspose(cfg.mask_classes, 4, strides=2, padding="same",
                                              activation="sigmoid", name="mask_out")(aux))
    return keras.Model(inp, outputs, name="depthnet_generator")


def build_discriminator(channels: int, cfg: DepthNetConfig, name: str) -> keras.Model:
    """PatchGAN discriminator with a linear output map (least-squares GAN)."""
    inp = keras.Input((cfg.size, cfg.size, channels), name=f"{name}_in")
    x = inp
    f = cfg.disc_filters
    for i in range(cfg.disc_layers):
        x = _down(x, min(f * 2 ** i, cfg.max_filters), bn=i > 0, name=f"{name}_d{i}")
    x = layers.Conv2D(min(f * 2 ** cfg.disc_layers, cfg.max_filters), 4, padding="same", name=f"{name}_c")(x)
    x = layers.BatchNormalization(name=f"{name}_cbn")(x)
    x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2D(1, 4, padding="same", name=f"{name}_out")(x)
    return keras.Model(inp, out, name=name)


class DepthNet(keras.Model):
    """The DepthNet GAN: ``fit`` on batches ``(rgb, {"depth": ..., "mask": ...})``.

    ``rgb`` (N,H,W,3) and ``depth`` (N,H,W,1) in [-1, 1]; ``mask`` one-hot (N,H,W,7).
    """

    def __init__(self, cfg: DepthNetConfig, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.generator = build_generator(cfg)
        self.d_rgb = build_discriminator(3, cfg, "d_rgb")
        self.d_depth = build_discriminator(1, cfg, "d_depth")
        self.d_mask = build_discriminator(cfg.mask_classes, cfg, "d_mask") if cfg.use_mask_branch else None
        self.trackers = {k: keras.metrics.Mean(name=k) for k in
                         ("g_loss", "d_loss", "recon", "depth_l1", "mask_bce", "adv_gen")}

    def compile(self, **kwargs):
        super().compile(**kwargs)
        c = self.cfg
        self.g_opt = keras.optimizers.Adam(c.learning_rate, beta_1=c.beta_1, beta_2=c.beta_2)
        self.d_opt = keras.optimizers.Adam(c.learning_rate, beta_1=c.beta_1, beta_2=c.beta_2)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, rgb, training=False):
        return self.generator(rgb, training=training)

    def _discs(self):
        pairs = [("rgb", self.d_rgb), ("depth", self.d_depth)]
        if self.d_mask is not None:
            pairs.append(("mask", self.d_mask))
        return pairs

    def _compute_losses(self, rgb, targets, training):
        outs = self.generator(rgb, training=training)
        fake = {"rgb": outs[0], "depth": outs[1]}
        if self.d_mask is not None:
            fake["mask"] = outs[2]
        real = {"rgb": rgb, "depth": targets["depth"]}
        if self.d_mask is not None:
            real["mask"] = targets["mask"]
        recon = tf.reduce_mean(tf.abs(rgb - fake["rgb"]))                       # eq. 1
        depth_l1 = tf.reduce_mean(tf.abs(targets["depth"] - fake["depth"]))     # eq. 2
        if self.d_mask is not None:                                             # eq. 3
            p = tf.clip_by_value(fake["mask"], 1e-7, 1.0 - 1e-7)
            y = targets["mask"]
            mask_bce = tf.reduce_mean(-(y * tf.math.log(p) + (1.0 - y) * tf.math.log(1.0 - p)))
        else:
            mask_bce = tf.constant(0.0)
        adv_gen = 0.0
        d_loss = 0.0
        for key, disc in self._discs():
            d_fake = disc(fake[key], training=training)
            d_real = disc(real[key], training=training)
            adv_gen += tf.reduce_mean(tf.square(d_fake - 1.0))                  # eq. 4
            # eq. 5; its gradient is applied to the discriminator's variables only
            d_loss += tf.reduce_mean(tf.square(d_real - 1.0)) + tf.reduce_mean(tf.square(d_fake))
        c = self.cfg
        g_loss = c.lambda_depth * depth_l1 + c.lambda_mask * mask_bce + c.lambda_adv * adv_gen + recon  # eq. 7
        return {"g_loss": g_loss, "d_loss": d_loss, "recon": recon, "depth_l1": depth_l1,
                "mask_bce": mask_bce, "adv_gen": adv_gen}

    def _d_vars(self):
        return [v for _, d in self._discs() for v in d.trainable_variables]

    def train_step(self, data):
        rgb, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape(persistent=True) as tape:
            losses = self._compute_losses(rgb, targets, training=True)
        g_vars = self.generator.trainable_variables
        d_vars = self._d_vars()
        self.g_opt.apply_gradients(zip(tape.gradient(losses["g_loss"], g_vars), g_vars))
        self.d_opt.apply_gradients(zip(tape.gradient(losses["d_loss"], d_vars), d_vars))
        del tape
        for k, v in losses.items():
            self.trackers[k].update_state(v)
        return {k: m.result() for k, m in self.trackers.items()}

    def test_step(self, data):
        rgb, targets, _ = keras.utils.unpack_x_y_sample_weight(data)
        losses = self._compute_losses(rgb, targets, training=False)
        for k, v in losses.items():
            self.trackers[k].update_state(v)
        return {k: m.result() for k, m in self.trackers.items()}

    def predict_depth_mask(self, rgb: np.ndarray, batch_size: int = 16):
        """RGB in [-1, 1] (N,H,W,3) -> (depth target-space (N,H,W), mask class indices (N,H,W) or None)."""
        depths, masks = [], []
        for i in range(0, len(rgb), batch_size):
            outs = self.generator(rgb[i:i + batch_size], training=False)
            depths.append(np.asarray(outs[1])[..., 0])
            if self.d_mask is not None:
                masks.append(np.argmax(np.asarray(outs[2]), axis=-1).astype(np.uint8))
        depth = np.concatenate(depths) if depths else np.zeros((0,) + rgb.shape[1:3], np.float32)
        mask = np.concatenate(masks) if masks else None
        return depth, mask
