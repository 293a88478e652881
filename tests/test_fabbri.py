"""Fabbri et al. (003): Table I metrics, binary maps, attribute concordance, dlib probe, end-to-end run."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from experiments.cgan import probes
from experiments.cgan.fabbri_run import reconstruction_metrics


def test_reconstruction_metrics_hand_computed():
    gt = np.full((4, 4, 3), 100, np.uint8)
    pred = np.full((4, 4, 3), 110, np.uint8)
    m = reconstruction_metrics(gt, pred)
    n = 4 * 4 * 3
    assert m["l1"] == pytest.approx(10.0)
    assert m["l2"] == pytest.approx(10.0 * math.sqrt(n))
    assert m["abs_diff"] == pytest.approx(0.1)
    assert m["sq_diff"] == pytest.approx(1.0)
    assert m["rmse_lin"] == pytest.approx(10.0)
    assert m["rmse_log"] == pytest.approx(math.log(1.1))
    assert m["rmse_scale_inv"] == pytest.approx(0.0, abs=1e-7)      # a constant ratio is scale-invariant
    assert m["thr_1.25"] == 1.0 and m["thr_2.5"] == 1.0
    pred2 = np.full((4, 4, 3), 30, np.uint8)                         # ratio 3.33: only under 3.75
    m2 = reconstruction_metrics(gt, pred2)
    assert (m2["thr_1.25"], m2["thr_2.5"], m2["thr_3.75"]) == (0.0, 0.0, 1.0)


def test_binary_map_thresholds_foreground():
    from models.fabbri import binary_map

    d = np.array([-1.0, -0.99, 0.0, 1.0], np.float32)
    assert binary_map(d).tolist() == [-1.0, 1.0, 1.0, 1.0]
    assert binary_map(d, threshold=0.75).tolist() == [-1.0, -1.0, -1.0, 1.0]


def test_concordance_hand_computed():
    ref = np.array([1, 1, 0, 0, 1], bool)
    gen = np.array([1, 0, 0, 1, 1], bool)
    c = probes.concordance(ref, gen)                # tp 2, fp 1, fn 1, tn 1
    assert c["accuracy"] == pytest.approx(60.0)
    assert c["precision"] == pytest.approx(200 / 3) and c["recall"] == pytest.approx(200 / 3)
    assert c["f1"] == pytest.approx(200 / 3)
    none = probes.concordance(np.zeros(3, bool), np.zeros(3, bool))
    assert none["accuracy"] == 100 and math.isnan(none["precision"]) and math.isnan(none["f1"])
    missed = probes.concordance(np.array([1, 0], bool), np.zeros(2, bool))    # tp 0, fn 1: zero_division = 0
    assert (missed["accuracy"], missed["precision"], missed["recall"], missed["f1"]) == (50.0, 0.0, 0.0, 0.0)


def test_dlib_probe_on_a_real_photo():
    """dlib finds the astronaut's face; on a blank image it finds none (detection accuracy 50 %)."""
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    face = skimage_data.astronaut()[51:201, 147:297]           # 150 px square around the face
    face = cv2.resize(face, (64, 64), interpolation=cv2.INTER_AREA)
    batch = np.stack([face, np.full_like(face, 128)])
    res = probes.dlib_probe(batch, None, upscale=256)
    assert res["found"].tolist() == [True, False]
    assert res["detection_accuracy"] == 50.0
    # landmark L2 against the detector's own points is 0; against points shifted by (3, 4) it is 5
    pts = res["landmarks"].copy()
    assert probes.dlib_probe(batch, pts, 256)["landmark_l2"] == pytest.approx(0.0, abs=1e-5)
    assert probes.dlib_probe(batch, pts + np.array([3.0, 4.0], np.float32), 256)["landmark_l2"] == pytest.approx(5.0)


def test_fabbri_end_to_end_tiny(results_tmp, monkeypatch):
    from experiments.cgan import fabbri_run, standin
    from models import cgan_presets

    tiny = dataclasses.replace(
        cgan_presets.FABBRI_PRESETS["quick"], name="tiny", epochs=1, n_train=24, n_test=8,
        encoder_filters=(4, 4, 4, 4), decoder_filters=(4, 4, 4, 4), disc_filters=(4, 4, 4, 4),
        pix2pix_ngf=4, pix2pix_ndf=4, attr_epochs=1, attr_filters=(4, 4, 4), train_identities=4, test_identities=2)
    monkeypatch.setitem(cgan_presets.FABBRI_PRESETS, "tiny", tiny)
    fabbri_run.run("tiny", 0, generate=standin.generate, log_fn=lambda m: None)
    t1 = pd.read_csv(results_tmp / "fabbri" / "table1_reconstruction.csv")
    assert list(t1["method"]) == ["Autoencoder", "pix2pix", "Ours", "Ours (Binary Maps)"]
    assert t1[["l1", "l2", "rmse_lin", "thr_1.25"]].notna().all().all()
    t34 = pd.read_csv(results_tmp / "fabbri" / "table3_4_probes.csv")
    assert "Original RGB (reference)" in set(t34["method"])
    assert t34["attribute_classifier"].str.contains("not obtainable").any()
    assert t34.loc[t34["method"] == "Ours", "attr_accuracy"].between(0, 100).all()
    assert (results_tmp / "fabbri" / "figures" / "samples.png").is_file()
