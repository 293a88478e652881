"""Chiu et al. models: losses against hand-computed values (eq. 1-13), shapes, training steps."""
from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from models.chiu_depthnet import (DepthNet, build_generator, depth_to_target, mask_to_onehot,
                                  masked_depth_mse, target_to_depth)
from models.chiu_presets import get_preset
from models.chiu_recognition import (ArcFace, MaskGuidedRecognizer, build_branch_stages, cmfl, fused_scores,
                                     lr_schedule, rank1_accuracy, semantic_alignment)


def test_cmfl_matches_eq_8_9():
    pm, pn = 0.6, 0.9
    w = pn * 2 * pm * pn / (pm + pn)
    expect = -1.0 * (1 - w) ** 3 * math.log(pm)
    got = float(cmfl(tf.constant([pm]), tf.constant([pn]), 1.0, 3.0)[0])
    assert got == pytest.approx(expect, rel=1e-5)


def test_semantic_alignment_eq_10_11():
    f_m = tf.constant([[1.0, 0.0]])
    f_n = tf.constant([[1.0, 1.0]])
    # branch m is weaker (larger loss): rho = e^{2 * 0.5} - 1
    got = float(semantic_alignment(f_m, f_n, tf.constant(1.5), tf.constant(1.0), 2.0))
    assert got == pytest.approx((math.e - 1) * (1 - 1 / math.sqrt(2)), rel=1e-5)
    # branch m is the stronger one: no alignment
    assert float(semantic_alignment(f_m, f_n, tf.constant(0.5), tf.constant(1.0), 2.0)) == 0.0


def test_arcface_margin_only_on_true_class():
    arc = ArcFace(3, scale=10.0, margin=0.5)
    emb = tf.constant([[1.0, 0.0]])
    arc.build((1, 2))
    arc.w.assign(np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.2]], np.float32))
    logits = np.asarray(arc(emb, tf.constant([1])))[0]
    w = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 0.2]])
    cos = w[0] / np.linalg.norm(w, axis=0)
    assert logits[0] == pytest.approx(10 * cos[0], rel=1e-5)
    assert logits[2] == pytest.approx(10 * cos[2], rel=1e-5)
    theta = math.acos(cos[1])  # = 90 degrees: cos(theta + m) is taken (theta + m < pi)
    assert logits[1] == pytest.approx(10 * math.cos(theta + 0.5), abs=1e-4)


def test_paper_backbone_feature_sizes():
    cfg = get_preset("paper").recognition
    stages = build_branch_stages(3, cfg, "rgb")
    shapes = [tuple(s.output.shape[1:]) for s in stages]
    # SAM levels of IV-B: 56x56x64 and 14x14x256 for 112x112 input
    assert shapes[cfg.sam_stages[0]] == (56, 56, 64)
    assert shapes[cfg.sam_stages[1]] == (14, 14, 256)
    assert shapes[-1] == (512,)


def test_lr_schedule_divides_by_ten_at_milestones():
    fn = lr_schedule(get_preset("paper").recognition)
    assert [round(fn(e), 6) for e in (0, 5, 6, 9, 10, 16, 17, 19)] == [0.1, 0.1, 0.01, 0.01, 0.001, 0.001, 1e-4, 1e-4]


def test_rank1_and_fusion():
    g = {"rgb": np.eye(3), "depth": np.eye(3)}
    p = {"rgb": np.array([[1.0, 0.1, 0], [0, 0, 1.0]]), "depth": np.array([[0.2, 1.0, 0], [0, 0, 1.0]])}
    s = fused_scores(p, g)
    # hand-computed: probe 0 rgb cosines (1, 0.1, 0) / |(1, 0.1)| = (0.99504, 0.09950, 0), depth
    # (0.2, 1, 0) / |(0.2, 1)| = (0.19612, 0.98058, 0); the paper averages the two (III-B, test stage)
    r0, d0 = np.array([1.0, 0.1, 0]) / np.hypot(1.0, 0.1), np.array([0.2, 1.0, 0]) / np.hypot(0.2, 1.0)
    np.testing.assert_allclose(s, [(r0 + d0) / 2, [0, 0, 1.0]], atol=1e-12)
    # fused: id 0 = 0.59558 > id 1 = 0.54004 -> probe 0 is right, probe 1 too
    assert rank1_accuracy(s, np.array([0, 2]), np.array([0, 1, 2])) == 1.0
    assert rank1_accuracy(fused_scores(p, g, ("rgb",)), np.array([0, 2]), np.array([0, 1, 2])) == 1.0
    assert rank1_accuracy(fused_scores(p, g, ("depth",)), np.array([0, 2]), np.array([0, 1, 2])) == 0.5


def test_fusion_is_the_mean_not_the_max():
    """Unit probes against a one-hot gallery, so the cosines are the vectors' entries: rgb gives
    id 0 0.6, id 1 0.0; depth gives id 0 0.3, id 1 0.7. The mean (the paper's fusion) picks id 0
    (0.45 vs 0.35); max-fusion would pick id 1 (0.7 vs 0.6)."""
    g = {"rgb": np.eye(3)[:2], "depth": np.eye(3)[:2]}
    p = {"rgb": np.array([[0.6, 0.0, 0.8]]), "depth": np.array([[0.3, 0.7, np.sqrt(1 - 0.09 - 0.49)]])}
    s = fused_scores(p, g)
    np.testing.assert_allclose(s, [[0.45, 0.35]], atol=1e-12)
    assert rank1_accuracy(s, np.array([0]), np.array([0, 1])) == 1.0


def test_depth_target_round_trip_and_masked_mse():
    d = np.array([[0, 65535], [32768, 1000]], np.uint16)
    t = depth_to_target(d)
    assert t[0, 0] == 1.0 and t[0, 1] == -1.0
    back = target_to_depth(t)
    assert back[0, 1] == 65535 and abs(int(back[1, 0]) - 32768) <= 1
    gt = np.array([[0, 65535], [65535, 65535]], np.uint16)
    pred = np.array([[257, 0], [65535, 65535]], np.uint16)
    # only pixel (0, 0) is valid in both: grey levels 255 vs 254 -> MSE 1
    assert masked_depth_mse(gt, pred) == pytest.approx(1.0, rel=1e-3)
    oh = mask_to_onehot(np.array([[0, 6]]))
    assert oh.shape == (1, 2, 7) and oh[0, 1, 6] == 1 and oh.sum() == 2


def test_depthnet_shapes_and_a_training_step():
    cfg = dataclasses.replace(get_preset("quick").depthnet, size=32, base_filters=8, max_filters=16, disc_filters=8)
    gen = build_generator(cfg)
    assert [tuple(o.shape[1:]) for o in gen.outputs] == [(32, 32, 3), (32, 32, 1), (32, 32, 7)]
    no_mask = build_generator(dataclasses.replace(cfg, use_mask_branch=False))
    assert len(no_mask.outputs) == 2
    net = DepthNet(cfg)
    net.compile()
    rng = np.random.default_rng(0)
    rgb = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    tgt = {"depth": rng.uniform(-1, 1, (4, 32, 32, 1)).astype("float32"),
           "mask": mask_to_onehot(rng.integers(0, 7, (4, 32, 32)))}
    before = [w.numpy().copy() for w in net.generator.trainable_weights[:2]]
    hist = net.fit(rgb, tgt, batch_size=4, epochs=1, verbose=0).history
    assert set(hist) >= {"g_loss", "d_loss", "depth_l1", "mask_bce", "recon", "adv_gen"}
    lam = cfg.lambda_depth * hist["depth_l1"][0] + cfg.lambda_mask * hist["mask_bce"][0]
    assert hist["g_loss"][0] == pytest.approx(lam + cfg.lambda_adv * hist["adv_gen"][0] + hist["recon"][0], rel=1e-4)
    assert any(not np.allclose(b, w.numpy()) for b, w in zip(before, net.generator.trainable_weights[:2]))


def test_recognizer_trains_and_separates_easy_identities():
    keras.utils.set_random_seed(3)
    cfg = dataclasses.replace(get_preset("quick").recognition, size=32, widths=(8, 8, 16, 16), embedding=16,
                              learning_rate=0.05, arc_scale=16.0, arc_margin=0.3, batch_size=16)
    model = MaskGuidedRecognizer(cfg, n_classes=3)
    model.compile(optimizer=keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum))
    rng = np.random.default_rng(1)
    n = 48
    y = np.repeat(np.arange(3), n // 3)
    base = rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32")
    rgb = base[y] + 0.05 * rng.standard_normal((n, 32, 32, 3)).astype("float32")
    x = {"rgb": rgb, "depth": rgb[..., :1].copy(), "mask": np.repeat(rgb[..., :1], 7, axis=-1)}
    hist = model.fit(x, y, batch_size=16, epochs=8, verbose=0).history
    assert hist["cls_rgb"][-1] < hist["cls_rgb"][0]
    f_r, f_d = model.embeddings(x)
    s = fused_scores({"rgb": f_r, "depth": f_d}, {"rgb": f_r[[0, 16, 32]], "depth": f_d[[0, 16, 32]]})
    # chance is 1/3; the classes differ only by their base image
    assert rank1_accuracy(s, y, np.arange(3)) >= 0.8
    # embeddings of one identity are more alike than embeddings of different identities
    same = s[np.arange(n), y].mean()
    other = s[np.arange(n)[:, None], (y[:, None] + np.array([1, 2])) % 3].mean()
    assert same > other


def test_spatial_attention_is_cbams_gate_with_batchnorm():
    from models.chiu_recognition import SpatialAttention

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 12, 12, 8)).astype("float32")
    sam = SpatialAttention(7)
    sam(x)
    # hand-set: the 7x7 kernel picks the channel mean at the centre tap; BN at its initial inference
    # state (mean 0, variance 1, gamma 1, beta 0) -> the map is sigmoid(mean_c(x) / sqrt(1 + eps))
    k = np.zeros((7, 7, 2, 1), np.float32)
    k[3, 3, 0, 0] = 1.0
    sam.conv.kernel.assign(k)
    expect = 1.0 / (1.0 + np.exp(-x.mean(-1) / np.sqrt(1.0 + 1e-5)))
    np.testing.assert_allclose(np.asarray(sam(x, training=False))[..., 0], expect, rtol=1e-5, atol=1e-6)
    # training mode: BatchNorm standardises the conv output over the batch, so the map does not
    # depend on the scale of the mask features and does not saturate (CBAM's BasicConv + BN)
    fresh = SpatialAttention(7)
    a1 = np.asarray(fresh(x, training=True))
    a2 = np.asarray(fresh(1000.0 * x, training=True))
    np.testing.assert_allclose(a1, a2, atol=1e-3)
    assert a2.min() < 0.3 and a2.max() > 0.7 and 0.4 < a2.mean() < 0.6


def test_training_accuracy_uses_the_margin_free_logits():
    """Each ArcFace centre is set to one sample's own embedding, so the margin-free cosine of every
    sample is largest (1) at its true class: accuracy 1.0. The margin logits (s cos(theta + m),
    m = 1.5) push the true class to s cos(1.5) = 0.07 s, below the other classes: scoring them
    would report about 0 (the quick run's "1 % on 30 identities")."""
    keras.utils.set_random_seed(0)
    cfg = dataclasses.replace(get_preset("quick").recognition, size=32, widths=(8, 8, 16, 16), embedding=16,
                              arc_scale=16.0, arc_margin=1.5)
    model = MaskGuidedRecognizer(cfg, n_classes=4)
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    rng = np.random.default_rng(2)
    x = {"rgb": rng.uniform(0, 1, (4, 32, 32, 3)).astype("float32"),
         "depth": rng.uniform(0, 1, (4, 32, 32, 1)).astype("float32"),
         "mask": mask_to_onehot(rng.integers(0, 7, (4, 32, 32)))}
    model(x)
    model.build()
    f_r, f_d = model.embeddings(x)
    model.arc_rgb.w.assign(f_r.T)
    model.arc_depth.w.assign(f_d.T)
    y = np.arange(4)
    res = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert res["acc_rgb"] == 1.0 and res["acc_depth"] == 1.0


def test_cpu_preset_keeps_the_papers_structure():
    paper, cpu = get_preset("paper"), get_preset("cpu")
    r = cpu.recognition
    stages = build_branch_stages(3, r, "rgb")
    shapes = [tuple(s.output.shape[1:]) for s in stages]
    # SAM at 1/2 and 1/8 of the input side, as 56x56 and 14x14 of the paper's 112x112
    assert shapes[r.sam_stages[0]][:2] == (r.size // 2, r.size // 2)
    assert shapes[r.sam_stages[1]][:2] == (r.size // 8, r.size // 8)
    # the paper's optimiser and loss settings are kept
    for f in ("learning_rate", "momentum", "weight_decay", "cmfl_alpha", "cmfl_gamma", "sa_beta", "lambda_1",
              "lambda_2", "sam_stages", "sam_kernel"):
        assert getattr(r, f) == getattr(paper.recognition, f), f
    for f in ("lambda_depth", "lambda_mask", "lambda_adv", "learning_rate", "beta_1", "beta_2", "batch_size",
              "mask_classes", "disc_layers"):
        assert getattr(cpu.depthnet, f) == getattr(paper.depthnet, f), f
    # wider than quick everywhere
    q = get_preset("quick")
    assert cpu.depthnet.base_filters > q.depthnet.base_filters and r.widths[0] > q.recognition.widths[0]
    assert r.lr_milestones[-1] < r.epochs
