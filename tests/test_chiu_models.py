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
    assert s.shape == (2, 3)
    # probe 0: rgb says id 0 (1.0 vs 0.1), depth says id 1 (1.0 vs 0.2): the fused argmax decides
    assert rank1_accuracy(s, np.array([0, 2]), np.array([0, 1, 2])) in (0.5, 1.0)
    assert rank1_accuracy(fused_scores(p, g, ("rgb",)), np.array([0, 2]), np.array([0, 1, 2])) == 1.0
    assert rank1_accuracy(fused_scores(p, g, ("depth",)), np.array([0, 2]), np.array([0, 1, 2])) == 0.5


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
