"""Shared machinery of the image-to-image cGANs (Pini et al. 001, Fabbri et al. 003, pix2pix).

``ConditionalGAN`` is a ``keras.Model`` subclass with its own ``train_step`` / ``test_step``,
trained with ``fit`` and callbacks. One step is the alternating update with K = 1 of
Goodfellow et al. (003, III-C): first the discriminator, then the generator against the
updated discriminator.

Label convention (the papers disagree with themselves, see docs/notes/80_cgans.md):
001 section 3.1.1 says the discriminator's score is "0 for a real depth map and 1 for a fake one",
while its eq. 1 defines D(x) as the probability of being *real* and its eq. 5 trains the generator
with target **1** for generated images (L_adv(G(s), 1)). Only the second reading is a working GAN
(with 0 = real, eq. 5 would train G to be recognised as fake), so this code uses
``REAL_LABEL = 1`` and ``FAKE_LABEL = 0`` everywhere, for 001, 003 (eq. 2, 4) and pix2pix.

Losses:
- discriminator: binary cross-entropy (001 eq. 2) over the batch of N real and N generated
  samples, i.e. the mean of the two halves (= pix2pix's "divide the D objective by 2");
- generator: ``recon_weight * recon + adversarial`` (001 eq. 5, 003 eq. 3) with the
  non-saturating adversarial term -log D(G(x)) (001 eq. 5 with target 1; 003 eq. 4), averaged
  over the batch (003 eq. 1 averages the per-sample loss over N);
- ``recon`` is the mean squared error (001 eq. 3, 003 eq. 3) or L1 (pix2pix).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "REAL_LABEL", "FAKE_LABEL", "RECON_REDUCTIONS", "ConditionalGAN", "AlwaysDropout", "gan_init",
    "conv_bn_act", "make_adam", "to_unit", "from_unit", "fit_resumable", "count_params",
]

RECON_REDUCTIONS = ("mean", "image_sum")
REAL_LABEL = 1.0
FAKE_LABEL = 0.0


def gan_init(seed: Optional[int] = None) -> keras.initializers.Initializer:
    """N(0, 0.02) weights, the DCGAN / pix2pix initialisation (decided for all GANs here)."""
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02, seed=seed)


def conv_bn_act(x, filters: int, kernel: int, stride: int, *, act: str, transpose: bool = False,
                bn: bool = True, name: str, alpha: float = 0.2, seed: Optional[int] = None):
    """Conv (or transposed conv) -> batch norm (before the activation) -> activation."""
    layer = keras.layers.Conv2DTranspose if transpose else keras.layers.Conv2D
    x = layer(filters, kernel, strides=stride, padding="same", use_bias=not bn,
              kernel_initializer=gan_init(seed), name=f"{name}_conv")(x)
    if bn:
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    if act == "leaky_relu":
        x = keras.layers.LeakyReLU(negative_slope=alpha, name=f"{name}_lrelu")(x)
    elif act == "relu":
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    elif act != "linear":
        x = keras.layers.Activation(act, name=f"{name}_{act}")(x)
    return x


@keras.saving.register_keras_serializable(package="face_depth_toolkit")
class AlwaysDropout(keras.layers.Dropout):
    """Dropout that stays on at inference: pix2pix's only noise source, "applied at both training
    and test time" (Isola et al. 2017, sec. 2.1). ``always=False`` makes it an ordinary Dropout."""

    def __init__(self, rate, always: bool = True, **kwargs):
        super().__init__(rate, **kwargs)
        self.always = bool(always)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True if self.always else training)

    def get_config(self):
        cfg = super().get_config()
        cfg["always"] = self.always
        return cfg


def make_adam(lr: float = 2e-4, beta_1: float = 0.5, beta_2: float = 0.999) -> keras.optimizers.Adam:
    """Adam with the papers' settings (001 sec. 3.1.2, 003 III-C, pix2pix)."""
    return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, beta_2=beta_2)


def to_unit(img: np.ndarray) -> np.ndarray:
    """uint8 image -> float32 in [-1, 1] (the tanh range of the generators)."""
    return np.asarray(img, np.float32) / np.float32(127.5) - np.float32(1.0)


def from_unit(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> uint8 (clipped, rounded)."""
    a = (np.asarray(x, np.float32) + 1.0) * 127.5
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def count_params(model: keras.Model) -> int:
    """Trainable parameters."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_weights))


class ConditionalGAN(keras.Model):
    """Generator + discriminator trained adversarially with a weighted reconstruction loss.

    ``conditional_discriminator``: the discriminator sees ``concat(input, output)`` (pix2pix)
    instead of the output alone (001, 003). ``recon``: "mse" or "l1". ``recon_weight``: lambda.
    ``recon_reduction``: "mean" (over every pixel and sample: pix2pix's L1, 003's "mean squared
    errors") or "image_sum" (squared / absolute error summed over the pixels and channels of each
    image, then averaged over the batch: 001 eq. 3, ``1/N sum_i ||G(s_i) - d_i||_2^2``).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, recon: str = "mse",
                 recon_weight: float = 10.0, conditional_discriminator: bool = False,
                 recon_reduction: str = "mean", **kwargs):
        super().__init__(**kwargs)
        if recon not in ("mse", "l1"):
            raise ValueError(f"recon must be 'mse' or 'l1', got {recon!r}")
        if recon_reduction not in RECON_REDUCTIONS:
            raise ValueError(f"recon_reduction must be one of {RECON_REDUCTIONS}, got {recon_reduction!r}")
        self.recon_reduction = recon_reduction
        self.generator = generator
        self.discriminator = discriminator
        self.recon = recon
        self.recon_weight = float(recon_weight)
        self.conditional_discriminator = bool(conditional_discriminator)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.g_adv_tracker = keras.metrics.Mean(name="g_adv")
        self.recon_tracker = keras.metrics.Mean(name="recon")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    # ------------------------------------------------------------------ keras plumbing
    def compile(self, g_optimizer=None, d_optimizer=None, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or make_adam()
        self.d_optimizer = d_optimizer or make_adam()
        # build the optimizer variables now so that BackupAndRestore finds them on a restart
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def build(self, input_shape=None):
        self.built = True

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker, self.g_adv_tracker, self.recon_tracker,
                self.d_real_tracker, self.d_fake_tracker]

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # ------------------------------------------------------------------ losses
    def _recon_loss(self, target, output):
        diff = tf.cast(output, tf.float32) - tf.cast(target, tf.float32)
        err = tf.square(diff) if self.recon == "mse" else tf.abs(diff)
        if self.recon_reduction == "mean":
            return tf.reduce_mean(err)
        per_image = tf.reduce_sum(tf.reshape(err, [tf.shape(err)[0], -1]), axis=1)
        return tf.reduce_mean(per_image)

    def _disc(self, x, y, training):
        if self.conditional_discriminator:
            return self.discriminator(tf.concat([x, y], axis=-1), training=training)
        return self.discriminator(y, training=training)

    @staticmethod
    def _bce(target: float, prob):
        """Mean binary cross-entropy (001 eq. 2) against a constant target."""
        p = tf.clip_by_value(tf.cast(prob, tf.float32), 1e-7, 1.0 - 1e-7)
        t = tf.constant(target, tf.float32)
        return -tf.reduce_mean(t * tf.math.log(p) + (1.0 - t) * tf.math.log(1.0 - p))

    # ------------------------------------------------------------------ steps
    def train_step(self, data):
        x, y = data[0], data[1]
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)
            with g_tape.stop_recording():
                with tf.GradientTape() as d_tape:
                    d_real = self._disc(x, y, training=True)
                    d_fake = self._disc(x, tf.stop_gradient(fake), training=True)
                    d_loss = 0.5 * (self._bce(REAL_LABEL, d_real) + self._bce(FAKE_LABEL, d_fake))
                d_grads = d_tape.gradient(d_loss, self.discriminator.trainable_variables)
                self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
            # generator step against the updated discriminator, whose weights stay fixed here
            d_on_fake = self._disc(x, fake, training=True)
            g_adv = self._bce(REAL_LABEL, d_on_fake)            # -log D(G(x)), non-saturating
            recon = self._recon_loss(y, fake)
            g_loss = self.recon_weight * recon + g_adv
        g_grads = g_tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.g_adv_tracker.update_state(g_adv)
        self.recon_tracker.update_state(recon)
        self.d_real_tracker.update_state(tf.reduce_mean(d_real))
        self.d_fake_tracker.update_state(tf.reduce_mean(d_fake))
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data[0], data[1]
        fake = self.generator(x, training=False)
        d_real = self._disc(x, y, training=False)
        d_fake = self._disc(x, fake, training=False)
        d_loss = 0.5 * (self._bce(REAL_LABEL, d_real) + self._bce(FAKE_LABEL, d_fake))
        g_adv = self._bce(REAL_LABEL, d_fake)
        recon = self._recon_loss(y, fake)
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(self.recon_weight * recon + g_adv)
        self.g_adv_tracker.update_state(g_adv)
        self.recon_tracker.update_state(recon)
        self.d_real_tracker.update_state(tf.reduce_mean(d_real))
        self.d_fake_tracker.update_state(tf.reduce_mean(d_fake))
        return {m.name: m.result() for m in self.metrics}


class _EpochLog(keras.callbacks.Callback):
    def __init__(self, label: str, log):
        super().__init__()
        self.label, self.log = label, log

    def on_epoch_end(self, epoch, logs=None):
        if self.log is not None:
            parts = ", ".join(f"{k}={float(v):.4g}" for k, v in sorted((logs or {}).items()))
            self.log(f"[{self.label}] epoch {epoch + 1}: {parts}")


def fit_resumable(model: keras.Model, x, y, *, epochs: int, batch_size: int, backup_dir: str | os.PathLike,
                  label: str = "model", validation_data=None, seed: int = 0, log=print,
                  extra_callbacks: Sequence[keras.callbacks.Callback] = ()) -> keras.callbacks.History:
    """``model.fit`` with ``BackupAndRestore`` in ``backup_dir``: a killed run resumes at the last
    finished epoch (weights, optimizer state and epoch counter). The backup is removed when the
    run completes. ``x`` may be a ``keras.utils.PyDataset`` (then ``y`` is None)."""
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(seed)
    cbs = [keras.callbacks.BackupAndRestore(str(backup_dir)), _EpochLog(label, log), *extra_callbacks]
    if isinstance(x, keras.utils.PyDataset):      # batches come from the dataset (it shuffles itself)
        if y is not None:
            raise ValueError("with a PyDataset as x, y must be None")
        return model.fit(x, epochs=epochs, verbose=0, validation_data=validation_data, callbacks=cbs)
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
                     validation_data=validation_data, callbacks=cbs)
