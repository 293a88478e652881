"""MotorMark reader on a fixture in the assumed layout (shared/docs/datasets.md, section 4: uncertain)."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.datasets import motormark
from prnet_synth.conventions import write_depth_png, write_png


def test_frames_landmarks_and_crop(tmp_path):
    d = tmp_path / "subject_07" / "seq1"
    d.mkdir(parents=True)
    depth = np.zeros((424, 512), np.uint16)
    depth[100:300, 150:350] = 1000
    write_depth_png(d / "000010_depth.png", depth)
    write_png(d / "000010_rgb.png", np.full((424, 512, 3), 60, np.uint8))
    (d / "000010_landmarks.txt").write_text("240 190\n260\t210\n\n250,200\n")
    write_depth_png(d / "000011_depth.png", depth)            # no rgb, no landmarks: skipped
    frames = motormark.list_frames(tmp_path)
    assert [(f.subject, f.frame) for f in frames] == [("subject_07", "000010"), ("subject_07", "000011")]
    np.testing.assert_allclose(motormark.read_landmarks(frames[0].landmarks_path), [[240, 190], [260, 210], [250, 200]])
    samples = list(motormark.iter_face_samples(frames, 64))
    assert len(samples) == 1
    s = samples[0]
    # centre (250, 200), D = 1000 -> window 116.8 px; landmark (240, 190) maps to 32 - 10 * 64 / 116.8
    assert s["landmarks"][0] == pytest.approx([32 - 640 / 116.8, 32 - 640 / 116.8], abs=1e-3)
    assert s["depth8"].shape == (64, 64) and s["depth8"][32, 32] == 128


def test_bad_landmark_file_is_named(tmp_path):
    p = tmp_path / "a_landmarks.txt"
    p.write_text("12 abc\n")
    with pytest.raises(motormark.MotorMarkFormatError, match="a_landmarks.txt"):
        motormark.read_landmarks(p)
