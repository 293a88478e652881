"""IV-J preprocessing (experiments.preprocess) against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import preprocess as pp
from prnet_synth.conventions import HOLE, UNITS_PER_MM


def test_roi_from_landmarks_prnet_rule():
    # box 10..50 x 20..60: w = h = 40, old = 40, side = int(1.6 * 40) = 64, centre (30, 40)
    pts = np.array([[10, 20], [50, 60], [30, 45]], np.float32)
    roi = pp.roi_from_landmarks(pts)
    assert roi.size == 64
    # 64 pixels centred on 30: first pixel = floor(30 - 32 + 0.5) = floor(-1.5) = -2 (pixels -2..61)
    assert (roi.left, roi.top) == (-2, 8)


def test_roi_from_box_prnet_rule():
    # box (100, 100)-(200, 200): old = 100, centre (150, 150 + 14), side 158
    roi = pp.roi_from_box((100, 100, 200, 200, 1.0))
    assert roi.as_tuple() == (int(np.floor(150 - 79 + 0.5)), int(np.floor(164 - 79 + 0.5)), 158)
    assert roi.as_tuple() == (71, 85, 158)


def test_map_points_centre_aligned_and_inverse():
    roi = pp.Roi(0, 0, 512)
    # the 2x2 block of source pixel centres 0,1 becomes output pixel 0: its centre 0.5 -> 0.0
    out = pp.map_points(np.array([[0.5, 0.5], [1.5, 3.5]], np.float32), roi, 256)
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.5, 1.5]], atol=1e-6)
    roi2 = pp.Roi(-7, 13, 100)
    pts = np.array([[3.0, 40.0], [90.0, 20.5]], np.float32)
    np.testing.assert_allclose(pp.unmap_points(pp.map_points(pts, roi2), roi2), pts, atol=1e-4)


def test_ramp_downscale_normalisation_and_range_cut():
    # 512x512 frame, depth 500 mm + 1 mm per column (scale 1 mm/unit); ROI = whole frame, out 256
    cols = np.arange(512, dtype=np.uint16)
    raw = np.tile(500 + cols, (512, 1)).astype(np.uint16)
    res = pp.preprocess_frame(raw, 0.001, roi=pp.Roi(0, 0, 512))
    assert res.nearest_mm == 500.0
    assert res.depth.dtype == np.uint16 and res.depth.shape == (256, 256)
    # output column j averages source columns 2j, 2j+1 -> 2j + 0.5 mm beyond the nearest
    j = np.arange(125)
    expect = np.rint((2 * j + 0.5) * (65535 / 250.0)).astype(np.uint16)
    np.testing.assert_array_equal(res.depth[:, :125], np.tile(expect, (256, 1)))
    # 250.5 mm and beyond are past the 25 cm range -> holes
    assert np.all(res.depth[:, 125:] == HOLE)


def test_holes_keep_their_extent_and_do_not_bleed():
    raw = np.full((512, 512), 700, np.uint16)           # 700 mm everywhere
    raw[100:104, 200:204] = 0                            # a 4x4 hole block (RealSense 0 = hole)
    raw[300, 300] = 0                                    # a single-pixel hole
    raw[0:2, 0:2] = 650                                  # the nearest point: 50 mm nearer
    res = pp.preprocess_frame(raw, 0.001, roi=pp.Roi(0, 0, 512))
    holes = res.depth == HOLE
    expect = np.zeros((256, 256), bool)
    expect[50:52, 100:102] = True                        # the 4x4 block -> exactly 2x2
    # centre-aligned nearest: output i samples source floor((i + 0.5) * 2) = 2i + 1 (odd pixels only),
    # so the single hole at the even pixel (300, 300) is sampled by no output pixel and vanishes
    np.testing.assert_array_equal(holes, expect)
    # valid pixels next to holes keep exactly 700 mm -> 50 mm beyond the nearest; the corner block is 0
    assert res.depth[0, 0] == 0
    assert res.depth[49, 100] == np.rint(50 * UNITS_PER_MM)
    assert res.depth[52, 101] == np.rint(50 * UNITS_PER_MM)
    vals = res.depth[~holes]
    assert set(np.unique(vals)) == {0, int(np.rint(50 * UNITS_PER_MM))}


def test_upscale_hole_becomes_2x2_and_constant_stays():
    raw = np.full((128, 128), 800, np.uint16)
    raw[10, 10] = 0
    res = pp.preprocess_frame(raw, 0.001, roi=pp.Roi(0, 0, 128))
    holes = res.depth == HOLE
    assert holes.sum() == 4 and holes[20:22, 20:22].all()
    assert np.all(res.depth[~holes] == 0)               # everything valid is at the nearest depth


def test_roi_outside_frame_padded_with_holes_and_black():
    raw = np.full((100, 100), 500, np.uint16)
    color = np.full((100, 100, 3), 200, np.uint8)
    res = pp.preprocess_frame(raw, 0.001, color=color, roi=pp.Roi(-28, 0, 256), out_size=256)
    assert np.all(res.depth[:, :28] == HOLE) and np.all(res.depth[:100, 28:128] == 0)
    assert np.all(res.depth[100:, :] == HOLE)
    assert np.all(res.color[:, :28] == 0) and np.all(res.color[:100, 28:128] == 200)


def test_color_crop_exact_and_landmarks_mapped():
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    raw = np.full((300, 400), 900, np.uint16)
    lm = np.array([[60.0, 30.0], [60.0 + 159.0, 30.0 + 159.0]], np.float32)
    roi = pp.Roi(50, 20, 256)
    res = pp.preprocess_frame(raw, 0.001, color=color, landmarks=lm, roi=roi)
    np.testing.assert_array_equal(res.color, color[20:276, 50:306])
    np.testing.assert_allclose(res.landmarks, [[10, 10], [169, 169]], atol=1e-5)


def test_depth_scale_and_range_in_millimetres():
    # D435 scale 0.0001 m/unit (0.1 mm): 5000 units = 500 mm, 5100 units = 510 mm -> 10 mm beyond nearest
    raw = np.full((256, 256), 5100, np.uint16)
    raw[:, :128] = 5000
    res = pp.preprocess_frame(raw, 0.0001, roi=pp.Roi(0, 0, 256))
    assert res.nearest_mm == pytest.approx(500.0)
    assert np.all(res.depth[:, :128] == 0)
    assert np.all(res.depth[:, 128:] == np.rint(10 * UNITS_PER_MM))


def test_landmark_roi_used_by_default_and_all_hole_roi():
    raw = np.zeros((200, 200), np.uint16)               # nothing measured
    lm = np.array([[50, 50], [150, 150]], np.float32)
    res = pp.preprocess_frame(raw, 0.001, landmarks=lm)
    assert res.roi.size == 160 and res.nearest_mm is None and np.all(res.depth == HOLE)


def test_bad_input_errors():
    with pytest.raises(ValueError, match="align depth to colour"):
        pp.preprocess_frame(np.zeros((10, 10), np.uint16), 0.001, color=np.zeros((10, 12, 3), np.uint8),
                            roi=pp.Roi(0, 0, 10))
    with pytest.raises(ValueError, match="landmarks, a face box or an explicit roi"):
        pp.preprocess_frame(np.zeros((10, 10), np.uint16), 0.001)
    with pytest.raises(ValueError, match="depth scale"):
        pp.preprocess_frame(np.zeros((10, 10), np.uint16), 0.0, roi=pp.Roi(0, 0, 10))
