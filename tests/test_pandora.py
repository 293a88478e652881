"""Pandora reader on a fixture in the assumed layout (shared/docs/datasets.md, section 3: uncertain)."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.datasets import pandora
from prnet_synth.conventions import write_depth_png, write_png


def _write(root, subject, seq, frames, yaw=0.0):
    qdir = root / f"{subject:02d}" / f"base_{seq}_ID{subject:02d}"
    (qdir / "DEPTH").mkdir(parents=True)
    (qdir / "RGB").mkdir()
    lines = ["frame,head_roll,head_pitch,head_yaw,head_x,head_y"]
    for f in frames:
        depth = np.zeros((424, 512), np.uint16)
        depth[150:270, 200:320] = 900
        write_depth_png(qdir / "DEPTH" / f"{f:06d}_DEPTH.png", depth)
        write_png(qdir / "RGB" / f"{f:06d}_RGB.png", np.full((424, 512, 3), 90, np.uint8))
        lines.append(f"{f:06d},1.0,-2.0,{yaw},260,210")
    (qdir / "data.csv").write_text("\n".join(lines) + "\n")


def test_list_split_and_crop(tmp_path):
    _write(tmp_path, 10, 4, [1, 2], yaw=30.0)
    _write(tmp_path, 3, 1, [7])
    frames = pandora.list_frames(tmp_path)
    assert [(f.subject, f.sequence, f.frame) for f in frames] == [(3, 1, "000007"), (10, 4, "000001"), (10, 4, "000002")]
    assert [pandora.is_test_subject(f.subject) for f in frames] == [False, True, True]
    assert pandora.sequence_group(frames[0].sequence) == "S1-S3" and pandora.sequence_group(4) == "S4-S5"
    assert pandora.angle_subset(frames[0].yaw, frames[0].pitch, frames[0].roll) == "A1"
    assert pandora.angle_subset(frames[1].yaw, frames[1].pitch, frames[1].roll) == "A2"
    s = pandora.face_sample(frames[0], 96)
    # D = 900 mm -> window 365 * 320 / 900 = 129.8 px: wider than the 120-px head, so the border is background
    assert s["distance_mm"] == pytest.approx(900.0)
    assert s["depth8"][48, 48] == 128 and s["depth8"][0, 0] == 0
    assert s["gray"].shape == (96, 96) and int(s["gray"][48, 48]) == 90


def test_bad_files_are_named(tmp_path, caplog):
    _write(tmp_path, 1, 1, [1])
    f = pandora.list_frames(tmp_path)[0]
    f.depth_path.write_bytes(b"not a png")
    assert list(pandora.iter_face_samples([f])) == []
    assert "000001_DEPTH.png" in caplog.text
    (tmp_path / "01" / "base_1_ID01" / "data.csv").write_text("frame,x\n1,2\n")
    with pytest.raises(pandora.PandoraFormatError, match="data.csv"):
        pandora.list_frames(tmp_path)
