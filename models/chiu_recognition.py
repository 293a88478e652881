"""Mask-guided RGB-D face recognition of Chiu et al. (002_dc34ad5f35326815.txt, III-B, eq. 8-13).

Three SENet branches (RGB, depth, mask). The mask branch feeds a spatial attention module (SAM,
CBAM's spatial attention [35]) at two feature levels (56x56x64 and 14x14x256 for 112x112 input);
the attention map computed from the mask features multiplies the RGB and the depth features of
the same level, with one SAM per level shared by the RGB and the depth branch. Each recognition
branch ends in an embedding and an ArcFace classifier.

Losses per training step (batch means):

* ``L_cls^m``: cross-entropy of the ArcFace logits of branch m;
* eq. 8-9 cross-modal focal loss ``L_CMFL^{m,n} = -alpha (1 - w)^gamma log p_m`` with
  ``w = p_n * 2 p_m p_n / (p_m + p_n)``, p = the true-class probabilities (softmax of the ArcFace
  logits); w is a weight (no gradient flows through it);
* eq. 10-11 semantic alignment ``L_SA^{m,n} = rho (1 - cos(f_m, f_n))`` with
  ``rho = exp(beta (L_cls^m - L_cls^n)) - 1`` when ``L_cls^m > L_cls^n`` else 0; rho and the other
  branch's feature f_n carry no gradient (information flows from the stronger to the weaker branch);
* eq. 12-13 ``L^RGB = (1 - l1) L_cls^RGB + l1 L_CMFL^{RGB,D} + l2 L_SA^{RGB,D}`` and likewise for D.

Minimising ``L^RGB + L^D`` updates the RGB branch by ``L^RGB`` only, the depth branch by ``L^D``
only and the shared mask branch and SAMs by both, as the paper says.
Test time: per-branch cosine similarity of the embeddings, fused by averaging (``fused_scores``).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from .chiu_presets import RecognitionConfig

__all__ = ["build_branch_stages", "SpatialAttention", "ArcFace", "MaskGuidedRecognizer",
           "cmfl", "semantic_alignment", "cosine_similarity_matrix", "fused_scores", "rank1_accuracy"]


# ----------------------------------------------------------------------------- building blocks
class SEBlock(layers.Layer):
    def __init__(self, channels: int, reduction: int = 16, **kwargs):
        super().__init__(**kwargs)
        hidden = max(channels // reduction, 4)
        self.pool = layers.GlobalAveragePooling2D(keepdims=True)
        self.fc1 = layers.Conv2D(hidden, 1, use_bias=False)
        self.fc2 = layers.Conv2D(channels, 1, use_bias=False, activation="sigmoid")

    def call(self, x):
        return x * self.fc2(tf.nn.relu(self.fc1(self.pool(x))))


def _bottleneck_ir_se(x, in_ch: int, depth: int, stride: int, wd: float, name: str, cfg: RecognitionConfig):
    """IR-SE unit (ArcFace's SENet variant): BN-conv3x3-BN-PReLU-conv3x3(stride)-BN-SE + shortcut."""
    reg = keras.regularizers.L2(wd / 2.0) if wd else None
    if in_ch == depth and stride == 1:
        shortcut = x
    elif in_ch == depth:
        shortcut = layers.MaxPooling2D(1, strides=stride, name=f"{name}_sc_pool")(x)
    else:
        shortcut = layers.Conv2D(depth, 1, strides=stride, use_bias=False, kernel_regularizer=reg,
                                 name=f"{name}_sc_conv")(x)
        shortcut = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_sc_bn")(shortcut)
    r = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_bn1")(x)
    r = layers.Conv2D(depth, 3, padding="same", use_bias=False, kernel_regularizer=reg, name=f"{name}_conv1")(r)
    r = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_bn2")(r)
    r = layers.PReLU(shared_axes=[1, 2], name=f"{name}_prelu")(r)
    r = layers.Conv2D(depth, 3, strides=stride, padding="same", use_bias=False, kernel_regularizer=reg,
                      name=f"{name}_conv2")(r)
    r = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_bn3")(r)
    r = SEBlock(depth, name=f"{name}_se")(r)
    return layers.Add(name=f"{name}_add")([r, shortcut])


def build_branch_stages(channels: int, cfg: RecognitionConfig, name: str) -> list[keras.Model]:
    """One SENet branch as a list of models: [stem+stage0, stage1, ..., stage3, head].

    With 112x112 input the stage outputs are 56x56x64, 28x28x128, 14x14x256, 7x7x512 (IR-SE-50 with
    the paper preset); the head maps the last stage to the L2-free embedding.
    """
    wd = cfg.weight_decay
    reg = keras.regularizers.L2(wd / 2.0) if wd else None
    models = []
    inp = keras.Input((cfg.size, cfg.size, channels), name=f"{name}_in")
    x = layers.Conv2D(cfg.widths[0], 3, padding="same", use_bias=False, kernel_regularizer=reg,
                      name=f"{name}_stem_conv")(inp)
    x = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_stem_bn")(x)
    x = layers.PReLU(shared_axes=[1, 2], name=f"{name}_stem_prelu")(x)
    in_ch = cfg.widths[0]
    cur = x
    cur_in = inp
    for s, (units, depth) in enumerate(zip(cfg.units, cfg.widths)):
        if s > 0:
            cur_in = keras.Input(tuple(cur.shape[1:]), name=f"{name}_s{s}_in")
            cur = cur_in
        for u in range(units):
            cur = _bottleneck_ir_se(cur, in_ch, depth, 2 if u == 0 else 1, wd, f"{name}_s{s}u{u}", cfg)
            in_ch = depth
        models.append(keras.Model(cur_in if s > 0 else inp, cur, name=f"{name}_stage{s}"))
    h_in = keras.Input(tuple(cur.shape[1:]), name=f"{name}_head_in")
    h = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_head_bn1")(h_in)
    h = layers.Dropout(0.4, name=f"{name}_head_drop")(h)
    h = layers.Flatten(name=f"{name}_head_flat")(h)
    h = layers.Dense(cfg.embedding, kernel_regularizer=reg, name=f"{name}_head_fc")(h)
    h = layers.BatchNormalization(momentum=cfg.bn_momentum, name=f"{name}_head_bn2")(h)
    models.append(keras.Model(h_in, h, name=f"{name}_head"))
    return models


class SpatialAttention(layers.Layer):
    """CBAM spatial attention [35]: ``sigmoid(BN(conv_k([mean_c(x), max_c(x)])))`` -> (N,H,W,1).

    As CBAM's reference ``SpatialGate`` (a ``BasicConv`` = bias-free conv + BatchNorm, no ReLU): the
    BatchNorm keeps the pre-sigmoid map standardised whatever the scale of the mask features; without
    it the map saturates at 1 within a few steps and is then the same for every face."""

    def __init__(self, kernel: int = 7, bn_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(1, kernel, padding="same", use_bias=False)
        self.bn = layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-5)

    def call(self, x, training=False):
        avg = tf.reduce_mean(x, axis=-1, keepdims=True)
        mx = tf.reduce_max(x, axis=-1, keepdims=True)
        return tf.sigmoid(self.bn(self.conv(tf.concat([avg, mx], axis=-1)), training=training))


class ArcFace(layers.Layer):
    """ArcFace additive angular margin classifier [8]: logits = s * cos(theta + m) for the true class,
    s * cos(theta) otherwise (with the usual fallback when theta + m > pi)."""

    def __init__(self, n_classes: int, scale: float = 64.0, margin: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = n_classes
        self.scale = scale
        self.margin = margin

    def build(self, input_shape):
        self.w = self.add_weight(shape=(int(input_shape[-1]), self.n_classes), initializer="glorot_uniform",
                                 name="centres")

    def cosine(self, emb):
        return tf.matmul(tf.math.l2_normalize(emb, axis=1), tf.math.l2_normalize(self.w, axis=0))

    def plain_logits(self, emb):
        """``s * cos(theta)`` for every class, no margin: the logits that classify (test time, accuracy).
        The margin logits of ``call`` lower the true class on purpose and only serve the loss."""
        return self.scale * self.cosine(emb)

    def call(self, emb, labels):
        cos = tf.clip_by_value(self.cosine(emb), -1.0 + 1e-7, 1.0 - 1e-7)
        m = self.margin
        sin = tf.sqrt(1.0 - tf.square(cos))
        cos_m = cos * np.cos(m) - sin * np.sin(m)
        cos_m = tf.where(cos > np.cos(np.pi - m), cos_m, cos - np.sin(np.pi - m) * m)
        onehot = tf.one_hot(tf.cast(labels, tf.int32), self.n_classes)
        return self.scale * (onehot * cos_m + (1.0 - onehot) * cos)


# ----------------------------------------------------------------------------- losses (eq. 8-11)
def cmfl(p_m, p_n, alpha: float, gamma: float):
    """Eq. 8-9 per sample; ``w`` carries no gradient."""
    p_m = tf.clip_by_value(p_m, 1e-7, 1.0)
    p_n = tf.clip_by_value(p_n, 1e-7, 1.0)
    w = tf.stop_gradient(p_n * 2.0 * p_m * p_n / (p_m + p_n))
    return -alpha * tf.pow(1.0 - w, gamma) * tf.math.log(p_m)


def semantic_alignment(f_m, f_n, cls_m, cls_n, beta: float):
    """Eq. 10-11, batch mean; rho and f_n carry no gradient."""
    rho = tf.stop_gradient(tf.where(cls_m > cls_n, tf.exp(beta * (cls_m - cls_n)) - 1.0, 0.0))
    cos = tf.reduce_sum(tf.math.l2_normalize(f_m, 1) * tf.math.l2_normalize(tf.stop_gradient(f_n), 1), axis=1)
    return rho * tf.reduce_mean(1.0 - cos)


# ----------------------------------------------------------------------------- the model
class MaskGuidedRecognizer(keras.Model):
    """Inputs: dict ``rgb`` (N,S,S,3), ``depth`` (N,S,S,1), ``mask`` (N,S,S,7), floats; labels int.

    ``fit(dataset)`` with elements ``(inputs, labels)``. ``embed(inputs)`` -> (f_rgb, f_depth).
    """

    def __init__(self, cfg: RecognitionConfig, n_classes: int, mask_classes: int = 7, **kwargs):
        super().__init__(**kwargs)
        self.cfg = cfg
        self.n_classes = n_classes
        self.rgb_stages = build_branch_stages(3, cfg, "rgb")
        self.depth_stages = build_branch_stages(1, cfg, "depth")
        self.mask_stages = build_branch_stages(mask_classes, cfg, "mask")[:-1]  # no head: feeds SAM only
        self.sams = {s: SpatialAttention(cfg.sam_kernel, cfg.bn_momentum, name=f"sam{s}") for s in cfg.sam_stages}
        self.arc_rgb = ArcFace(n_classes, cfg.arc_scale, cfg.arc_margin, name="arc_rgb")
        self.arc_depth = ArcFace(n_classes, cfg.arc_scale, cfg.arc_margin, name="arc_depth")
        self.trackers = {k: keras.metrics.Mean(name=k) for k in
                         ("loss", "cls_rgb", "cls_depth", "cmfl_rgb", "cmfl_depth", "sa_rgb", "sa_depth")}
        self.acc_rgb = keras.metrics.SparseCategoricalAccuracy(name="acc_rgb")
        self.acc_depth = keras.metrics.SparseCategoricalAccuracy(name="acc_depth")

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.acc_rgb, self.acc_depth]

    def build(self, input_shape=None):
        # the branches are functional models built in __init__; the ArcFace heads build on first use
        emb = np.zeros((1, self.cfg.embedding), np.float32)
        lbl = np.zeros((1,), np.int64)
        if not self.arc_rgb.built:
            self.arc_rgb(emb, lbl)
            self.arc_depth(emb, lbl)
        self.built = True

    def embed(self, inputs, training=False):
        x_rgb, x_d, x_m = inputs["rgb"], inputs["depth"], inputs["mask"]
        n_stages = len(self.cfg.units)
        for s in range(n_stages):
            x_rgb = self.rgb_stages[s](x_rgb, training=training)
            x_d = self.depth_stages[s](x_d, training=training)
            if s <= max(self.cfg.sam_stages):
                x_m = self.mask_stages[s](x_m, training=training)
            if s in self.sams:
                att = self.sams[s](x_m, training=training)
                x_rgb = x_rgb * att
                x_d = x_d * att
        f_rgb = self.rgb_stages[-1](x_rgb, training=training)
        f_d = self.depth_stages[-1](x_d, training=training)
        return f_rgb, f_d

    def attention_maps(self, inputs):
        """The SAM maps per level (for figures like the paper's Fig. 7)."""
        x_m = inputs["mask"]
        maps = {}
        for s in range(max(self.cfg.sam_stages) + 1):
            x_m = self.mask_stages[s](x_m, training=False)
            if s in self.sams:
                maps[s] = np.asarray(self.sams[s](x_m, training=False))[..., 0]
        return maps

    def call(self, inputs, training=False):
        return self.embed(inputs, training=training)

    def _compute_losses(self, inputs, labels, training):
        c = self.cfg
        f_rgb, f_d = self.embed(inputs, training=training)
        logits_rgb = self.arc_rgb(f_rgb, labels)
        logits_d = self.arc_depth(f_d, labels)
        labels = tf.cast(labels, tf.int32)
        ce_rgb = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits_rgb)
        ce_d = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits_d)
        cls_rgb, cls_d = tf.reduce_mean(ce_rgb), tf.reduce_mean(ce_d)
        p_rgb = tf.exp(-ce_rgb)  # true-class softmax probability
        p_d = tf.exp(-ce_d)
        cmfl_rgb = tf.reduce_mean(cmfl(p_rgb, p_d, c.cmfl_alpha, c.cmfl_gamma))
        cmfl_d = tf.reduce_mean(cmfl(p_d, p_rgb, c.cmfl_alpha, c.cmfl_gamma))
        sa_rgb = semantic_alignment(f_rgb, f_d, cls_rgb, cls_d, c.sa_beta)
        sa_d = semantic_alignment(f_d, f_rgb, cls_d, cls_rgb, c.sa_beta)
        total_rgb = (1.0 - c.lambda_1) * cls_rgb + c.lambda_1 * cmfl_rgb + c.lambda_2 * sa_rgb   # eq. 12
        total_d = (1.0 - c.lambda_1) * cls_d + c.lambda_1 * cmfl_d + c.lambda_2 * sa_d           # eq. 13
        reg = tf.add_n(self.losses) if self.losses else 0.0
        loss = total_rgb + total_d + reg
        # accuracy from the margin-free logits: with the margin logits the true class is pushed down
        # by s * (cos(theta) - cos(theta + m)), so an untrained net scores below chance
        return loss, {"loss": loss, "cls_rgb": cls_rgb, "cls_depth": cls_d, "cmfl_rgb": cmfl_rgb,
                      "cmfl_depth": cmfl_d, "sa_rgb": sa_rgb, "sa_depth": sa_d}, \
            self.arc_rgb.plain_logits(f_rgb), self.arc_depth.plain_logits(f_d)

    def _update(self, values, labels, logits_rgb, logits_d):
        for k, v in values.items():
            self.trackers[k].update_state(v)
        self.acc_rgb.update_state(labels, logits_rgb)
        self.acc_depth.update_state(labels, logits_d)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            loss, values, lr_, ld_ = self._compute_losses(inputs, labels, training=True)
        variables = self.trainable_variables
        pairs = [(g, v) for g, v in zip(tape.gradient(loss, variables), variables) if g is not None]
        grads = [g for g, _ in pairs]
        if self.cfg.grad_clip_norm:
            # the attention path (mask features -> SAM -> product with the RGB / depth features) can
            # take gradients of 1e3-1e8 at lr 0.05-0.1, batch 16: clip by the global norm
            grads, _ = tf.clip_by_global_norm(grads, self.cfg.grad_clip_norm)
        self.optimizer.apply_gradients(zip(grads, [v for _, v in pairs]))
        return self._update(values, labels, lr_, ld_)

    def test_step(self, data):
        inputs, labels, _ = keras.utils.unpack_x_y_sample_weight(data)
        _, values, lr_, ld_ = self._compute_losses(inputs, labels, training=False)
        return self._update(values, labels, lr_, ld_)

    def embeddings(self, inputs: dict, batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        n = len(inputs["rgb"])
        out_r, out_d = [], []
        for i in range(0, n, batch_size):
            part = {k: v[i:i + batch_size] for k, v in inputs.items()}
            f_r, f_d = self.embed(part, training=False)
            out_r.append(np.asarray(f_r))
            out_d.append(np.asarray(f_d))
        return np.concatenate(out_r), np.concatenate(out_d)


def lr_schedule(cfg: RecognitionConfig):
    """lr 0.1, divided by 10 at each milestone epoch (epochs counted from 0)."""
    def fn(epoch, _lr=None):
        return float(cfg.learning_rate * 0.1 ** sum(epoch >= m for m in cfg.lr_milestones))
    return fn


# ----------------------------------------------------------------------------- evaluation
def cosine_similarity_matrix(probe: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    p = probe / np.maximum(np.linalg.norm(probe, axis=1, keepdims=True), 1e-12)
    g = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-12)
    return p @ g.T


def fused_scores(probe_feats: dict, gallery_feats: dict, modalities=("rgb", "depth")) -> np.ndarray:
    """Average of the per-branch cosine similarity matrices of the chosen branches (score-level fusion)."""
    mats = [cosine_similarity_matrix(probe_feats[m], gallery_feats[m]) for m in modalities]
    return np.mean(mats, axis=0)


def rank1_accuracy(scores: np.ndarray, probe_ids: np.ndarray, gallery_ids: np.ndarray) -> float:
    """Fraction of probes whose most similar gallery entry has the same identity."""
    if len(probe_ids) == 0:
        return float("nan")
    best = np.asarray(gallery_ids)[np.argmax(scores, axis=1)]
    return float(np.mean(best == np.asarray(probe_ids)))
