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


# ----------------------------------------------------------------------------- real-data probes
def test_landmark_schemes_map_onto_dlib68():
    from experiments.cgan.landmarks68 import dlib_indices, to_dlib68

    pts68 = np.stack([np.arange(68), 100 + np.arange(68)], 1).astype(np.float32)
    np.testing.assert_array_equal(to_dlib68(pts68), pts68)
    pts66 = np.delete(pts68, [60, 64], axis=0)              # Multi-PIE 66: no inner-mouth corners
    m = to_dlib68(pts66)
    assert np.isnan(m[60]).all() and np.isnan(m[64]).all()
    np.testing.assert_array_equal(m[61], [61, 161])          # file row 60 is dlib point 61
    np.testing.assert_array_equal(m[67], [67, 167])
    m51 = to_dlib68(pts68[17:])                              # no jaw line
    assert np.isnan(m51[:17]).all() and (m51[17] == [17, 117]).all()
    assert len(dlib_indices(49)) == 49 and 60 not in dlib_indices(49) and 17 in dlib_indices(49)
    with pytest.raises(ValueError, match="frame_9_landmarks.txt: 3 landmarks"):
        to_dlib68(pts68[:3], "frame_9_landmarks.txt")


def test_dlib_probe_scores_only_the_points_the_data_set_has():
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    face = cv2.resize(skimage_data.astronaut()[51:201, 147:297], (64, 64), interpolation=cv2.INTER_AREA)
    pts = probes.dlib_probe(face[None], None, 256)["landmarks"]
    gt = pts + np.array([3.0, 4.0], np.float32)
    gt[0, :17] = np.nan                                      # a 51-point data set: no jaw line
    gt[0, 17:30] += np.array([3.0, 4.0], np.float32)         # these 13 of the 51 are 10 px off
    assert probes.dlib_probe(face[None], gt, 256)["landmark_l2"] == pytest.approx((38 * 5.0 + 13 * 10.0) / 51, rel=1e-4)


def test_subject_attribute_file(tmp_path):
    from experiments.cgan import attributes as A

    p = tmp_path / "attributes.csv"
    p.write_text("subject,male,eyeglasses\n01,1,no\n2,false,TRUE\nsubject_07,0,1\n")
    t = A.read_subject_attributes(p)
    got = A.attach(np.array(["1", "02", "subject_07", "1"]), t, str(p))
    assert got["male"].tolist() == [True, False, False, True]
    assert got["eyeglasses"].tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match=r"attributes.csv.*subject\(s\) \['9'\]"):
        A.attach(np.array(["9"]), t, str(p))
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,male\n01,maybe\n")
    with pytest.raises(ValueError, match="bad.csv: line 2: male = 'maybe'"):
        A.read_subject_attributes(bad)
    bad.write_text("id,male\n01,1\n")
    with pytest.raises(ValueError, match="bad.csv: an attribute file needs a header starting with 'subject'"):
        A.read_subject_attributes(bad)
    bad.write_text("subject,male\n01,1\n1,0\n")
    with pytest.raises(ValueError, match="appears twice"):
        A.read_subject_attributes(bad)


def _astronaut_motormark(root, subject, frame, keep=None):
    """A MotorMark frame (assumed layout) holding the astronaut's face at about 80 px, its depth a
    head-sized ellipse at 1 m, and as landmark file the 68 points dlib finds on the frame (rows
    ``keep`` of them only: a data set with fewer points). Returns the 68 points (frame pixels)."""
    skimage_data = pytest.importorskip("skimage.data")
    import cv2

    from prnet_synth.conventions import write_depth_png, write_png
    from prnet_synth.landmarks import detect_landmarks

    d = root / subject / "seq1"
    d.mkdir(parents=True, exist_ok=True)
    frame_rgb = np.full((424, 512, 3), 40, np.uint8)
    frame_rgb[120:402, 150:432] = cv2.resize(skimage_data.astronaut(), (282, 282), interpolation=cv2.INTER_AREA)
    res = detect_landmarks(cv2.resize(frame_rgb, (1024, 848), interpolation=cv2.INTER_CUBIC), upsample=0)
    assert res is not None
    pts = res[1] / 2.0
    cx, cy = pts.mean(axis=0)
    yy, xx = np.mgrid[0:424, 0:512]
    depth = np.where(((xx - cx) / 60) ** 2 + ((yy - cy) / 75) ** 2 < 1, 1000, 0).astype(np.uint16)
    write_depth_png(d / f"{frame}_depth.png", depth)
    write_png(d / f"{frame}_rgb.png", frame_rgb)
    rows = pts if keep is None else pts[keep]
    (d / f"{frame}_landmarks.txt").write_text("\n".join(f"{x:.3f} {y:.3f}" for x, y in rows) + "\n")
    return pts


@pytest.mark.parametrize("n_points", [68, 66])
def test_landmark_probe_on_motormark_fixture(tmp_path, n_points):
    """The data set's landmarks go through the crop and the mapping to dlib's 68: dlib on the cropped
    original face lands within about a pixel (of 64) of them."""
    from experiments.cgan.data import real_faceset
    from experiments.datasets import motormark

    keep = None if n_points == 68 else [i for i in range(68) if i not in (60, 64)]
    _astronaut_motormark(tmp_path, "subject_01", "000001", keep)
    faces = real_faceset(motormark.iter_face_samples(motormark.list_frames(tmp_path), 64), 64)
    assert np.isfinite(faces.landmarks[0]).all(axis=1).sum() == n_points
    if n_points == 66:
        assert np.isnan(faces.landmarks[0, [60, 64]]).all()
    res = probes.dlib_probe(faces.rgb, faces.landmarks, 256)
    assert res["found"].all()
    assert res["landmark_l2"] < 1.5
    # a mismatched mapping (the points shifted by one index) would be far off
    wrong = faces.landmarks.copy()
    wrong[0, 17:] = np.roll(wrong[0, 17:], 1, axis=0)
    assert probes.dlib_probe(faces.rgb, wrong, 256)["landmark_l2"] > 2.0


def test_fabbri_end_to_end_on_real_formats(tmp_path, results_tmp, monkeypatch):
    """Pandora fixture (training) -> MotorMark fixture (test), both with per-subject attribute files:
    the attribute probe trains on the files' labels, the landmark probe scores the MotorMark points."""
    from test_pini import _pandora_fixture

    from experiments.cgan import fabbri_run
    from models import cgan_presets

    pan = tmp_path / "pandora"
    _pandora_fixture(pan, 3, 1, [(1, 0.0, "ok"), (2, 10.0, "ok")])
    _pandora_fixture(pan, 5, 2, [(1, 0.0, "ok"), (2, -10.0, "ok")])
    (pan / "attributes.csv").write_text("subject,male,eyeglasses\n03,1,0\n05,0,1\n")
    mm = tmp_path / "motormark"
    _astronaut_motormark(mm, "subject_01", "000001")
    _astronaut_motormark(mm, "subject_02", "000001")
    (mm / "attributes.csv").write_text("subject,male,beard\nsubject_01,1,0\nsubject_02,0,0\n")
    tiny = dataclasses.replace(
        cgan_presets.FABBRI_PRESETS["quick"], name="tiny", epochs=1, encoder_filters=(4, 4, 4, 4),
        decoder_filters=(4, 4, 4, 4), disc_filters=(4, 4, 4, 4), pix2pix_ngf=4, pix2pix_ndf=4, attr_epochs=1,
        attr_filters=(4, 4, 4))
    monkeypatch.setitem(cgan_presets.FABBRI_PRESETS, "tiny", tiny)
    summary = fabbri_run.run("tiny", 0, "pandora-motormark", str(pan), str(mm), log_fn=lambda m: None)
    assert summary["attributes"] == ["male"]                 # the attribute both files label
    assert summary["n_train"] == 4 and summary["n_test"] == 2
    t2 = pd.read_csv(results_tmp / "fabbri" / "table2_attributes.csv")
    assert t2["attribute"].tolist() == ["male"]
    t34 = pd.read_csv(results_tmp / "fabbri" / "table3_4_probes.csv").set_index("method")
    assert t34.loc["Original RGB (reference)", "face_detector_accuracy"] == 100.0
    assert t34.loc["Original RGB (reference)", "landmark_l2"] < 1.5
    assert "male" in t34.loc["Ours", "attribute_classifier"]
