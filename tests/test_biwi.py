"""Biwi Kinect Head Pose reader: the documented on-disk formats, written as tiny fixtures."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from experiments.datasets import biwi


def test_depth_bin_decodes_hand_written_bytes(tmp_path):
    # 3x2 image, row-major [0, 0, 700 / 701, 0, 702]: records (2 empty, 2 full: 700 701), (1, 1: 702)
    raw = struct.pack("<ii", 3, 2) + struct.pack("<ii", 2, 2) + struct.pack("<hh", 700, 701) \
        + struct.pack("<ii", 1, 1) + struct.pack("<h", 702)
    p = tmp_path / "frame_00003_depth.bin"
    p.write_bytes(raw)
    np.testing.assert_array_equal(biwi.read_depth_bin(p), [[0, 0, 700], [701, 0, 702]])


def test_depth_bin_round_trip_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    d = rng.integers(400, 2000, (48, 64)).astype(np.uint16)
    d[rng.random(d.shape) < 0.3] = 0
    d[-1, -5:] = 0                                     # trailing zeros: a record with n_full = 0
    p = tmp_path / "x_depth.bin"
    biwi.write_depth_bin(p, d)
    np.testing.assert_array_equal(biwi.read_depth_bin(p), d)
    p.write_bytes(p.read_bytes()[:-6])
    with pytest.raises(biwi.BiwiFormatError, match="x_depth.bin"):
        biwi.read_depth_bin(p)


def _write_sequence(root, seq=1, frames=(3, 5)):
    sdir = root / "hpdb" / f"{seq:02d}"
    sdir.mkdir(parents=True)
    biwi.write_calibration(sdir / "depth.cal", biwi.Calibration(
        np.array([[575.816, 0, 320], [0, 575.816, 240], [0, 0, 1]]), np.zeros(4), np.eye(3), np.zeros(3)))
    biwi.write_calibration(sdir / "rgb.cal", biwi.Calibration(
        np.array([[517.679, 0, 320], [0, 517.679, 240.5], [0, 0, 1]]), np.zeros(4), np.eye(3), np.array([-24.0, 5.9, -13.2])))
    from prnet_synth.conventions import write_png

    for f in frames:
        depth = np.zeros((480, 640), np.uint16)
        depth[180:300, 260:380] = 1000                  # a 120-px "head" at 1 m around the image centre
        biwi.write_depth_bin(sdir / f"frame_{f:05d}_depth.bin", depth)
        rgb = np.zeros((480, 640, 3), np.uint8)
        rgb[200:280, 280:360] = (200, 100, 50)
        write_png(sdir / f"frame_{f:05d}_rgb.png", rgb)
        biwi.write_pose(sdir / f"frame_{f:05d}_pose.txt", np.eye(3), np.array([0.0, 0.0, 1000.0]))
    return sdir


def test_pose_and_calibration_parsing(tmp_path):
    p = tmp_path / "frame_00003_pose.txt"
    p.write_text("1 0 0 \n0 1 0 \n0 0 1 \n\n43.40 -30.70 906.86 \n")
    R, T = biwi.read_pose(p)
    np.testing.assert_allclose(R, np.eye(3))
    np.testing.assert_allclose(T, [43.4, -30.7, 906.86])
    assert biwi.euler_from_rotation(np.eye(3)) == pytest.approx((0.0, 0.0, 0.0))
    c = np.radians(30)
    Rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    assert biwi.euler_from_rotation(Rz)[2] == pytest.approx(30.0)      # roll = atan2(R10, R00)
    bad = tmp_path / "bad.cal"
    bad.write_text("1 2 3\n")
    with pytest.raises(biwi.BiwiFormatError, match="bad.cal"):
        biwi.read_calibration(bad)


def test_frames_and_face_sample(tmp_path):
    _write_sequence(tmp_path, seq=15)
    frames = biwi.list_frames(tmp_path)
    assert [(f.sequence, f.frame, f.subject) for f in frames] == [(15, 3, "F03"), (15, 5, "F03")]
    s = biwi.face_sample(frames[0], size=96)
    assert s["depth8"].shape == (96, 96) and s["gray"].shape == (96, 96)
    assert s["distance_mm"] == pytest.approx(1000.0)
    # eq. 6: window 370 * 320 / 1000 = 118.4 px around (320, 240); the 120-px head fills it,
    # its depth D = 1000 mm maps to grey 128 (255 * (1 - 125 / 250) = 127.5)
    assert np.all(s["depth8"][2:-2, 2:-2] == 128)
