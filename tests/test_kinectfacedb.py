"""KinectFaceDB reader against tiny fixtures written in the real on-disk layout (datasets.md, section 1)."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.datasets import kinectfacedb as kf


def _depth(seed=0):
    rng = np.random.default_rng(seed)
    d = rng.integers(700, 900, size=(256, 256)).astype(np.float32)
    d[:10, :] = 0  # holes
    d[100:104, 50:60] = 0
    return d


@pytest.fixture()
def db(tmp_path):
    root = tmp_path / "EURECOM_Kinect_Face_Dataset"
    for subject in (1, 2):
        for variant in ("Neutral", "OcclusionMouth", "LeftProfile"):
            kf.write_depth_txt(root, subject, 1, variant, _depth(subject))
            rgb = np.full((256, 256, 3), (10 * subject, 20, 30), np.uint8)
            kf.write_rgb_bmp(root, subject, 1, variant, rgb)
            kf.write_manual_landmarks(root, subject, 1, variant,
                                      np.array([[90, 100], [160, 100], [125, 140], [100, 180], [150, 180], [125, 230]]))
    return tmp_path


def test_depth_txt_layout_hand_written(tmp_path):
    # three points in 640x480 coordinates; everything else is a hole
    p = tmp_path / "depth_0001_s1_Neutral.txt"
    p.write_text("192 74 801\n193 74 0\n447 329 955\n")
    d = kf.read_depth_txt(p)
    assert d.shape == (256, 256) and d.dtype == np.float32
    assert d[0, 0] == 801 and d[0, 1] == 0 and d[255, 255] == 955
    assert np.count_nonzero(d) == 2


def test_depth_txt_bad_input_names_file(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text("1 2 3\n4\n")
    with pytest.raises(kf.KinectFaceDBError, match="bad.txt"):
        kf.read_depth_txt(p)
    p.write_text("1 2 x\n")
    with pytest.raises(kf.KinectFaceDBError, match="bad.txt"):
        kf.read_depth_txt(p)
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        kf.read_depth_txt(tmp_path / "missing.txt")


def test_list_and_load_roundtrip(db):
    recs = kf.list_records(db)
    assert len(recs) == 6
    assert [r.name for r in recs[:3]] == ["0001_s1_Neutral", "0001_s1_OcclusionMouth", "0001_s1_LeftProfile"]
    front = kf.list_records(db, variants=kf.FRONTAL_VARIANTS)
    assert {r.variant for r in front} == {"Neutral", "OcclusionMouth"}
    s = kf.load_sample(recs[0])
    np.testing.assert_array_equal(s.depth_mm, _depth(1))
    assert s.rgb.shape == (256, 256, 3) and tuple(s.rgb[5, 5]) == (10, 20, 30)
    assert s.landmarks.shape == (6, 2) and s.landmarks[2].tolist() == [125, 140]
    assert recs[1].occlusion and not recs[0].occlusion and not recs[2].frontal


def test_only_valid_pixels_listed(tmp_path):
    d = _depth(3)
    kf.write_depth_txt(tmp_path, 5, 2, "Smile", d, all_pixels=False)
    rec = kf.list_records(tmp_path)[0]
    assert (rec.subject, rec.session, rec.variant) == (5, 2, "Smile")
    np.testing.assert_array_equal(kf.read_depth_txt(rec.depth_txt), d)


def test_landmarks_tab_or_space(tmp_path):
    p = tmp_path / "rgb_0001_s1_Neutral_Points.txt"
    p.write_text("10.5\t20\n\n30 40 1\n")
    np.testing.assert_allclose(kf.read_manual_landmarks(p, expect=0), [[10.5, 20], [30, 40]])


def test_to_paper_depth_25cm_from_nearest_in_roi():
    d = np.zeros((256, 256), np.float32)
    d[100:110, 100:110] = 800.0
    d[105, 105] = 775.0          # nearest in the ROI
    d[0, 0] = 500.0              # nearer, but outside the ROI -> before the range start -> hole
    d[1, 1] = 775.0 + 260.0      # beyond 25 cm -> hole
    roi = np.zeros((256, 256), bool)
    roi[90:120, 90:120] = True
    out = kf.to_paper_depth(d, roi)
    assert out[105, 105] == 0
    assert out[100, 100] == round(25.0 / 250.0 * 65535)
    assert out[0, 0] == 65535 and out[1, 1] == 65535 and out[50, 50] == 65535


def test_unknown_variant_rejected(db):
    with pytest.raises(ValueError, match="Frown"):
        kf.list_records(db, variants=["Frown"])


def test_missing_root():
    with pytest.raises(FileNotFoundError):
        kf.find_root("/nonexistent/kinect")
