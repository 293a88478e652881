"""Issue #21, item 6: `python -m degrade figure` skips bad files (and counts them), draws all-hole
images, and by default writes to the current directory, never over the committed results/ figure."""
from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from degrade import __main__ as cli
from degrade.toyfaces import toy_faces
from prnet_synth.conventions import read_png, write_depth_png

HOLE = 65535


@pytest.fixture(scope="module")
def faces():
    return toy_faces(2, 256, seed=5)


def _folder(tmp_path, faces):
    d = tmp_path / "gt"
    d.mkdir()
    (d / "a_broken.png").write_bytes(b"not a png")                       # sorted first
    cv2.imwrite(str(d / "b_eight_bit.png"), np.zeros((256, 256), np.uint8))
    write_depth_png(d / "c_face.png", faces[0])
    write_depth_png(d / "d_all_holes.png", np.full((256, 256), HOLE, np.uint16))
    cv2.imwrite(str(d / "e_small.png"), np.zeros((32, 32), np.uint16))
    write_depth_png(d / "f_face.png", faces[1])
    return d


def test_bad_files_are_skipped_and_counted(tmp_path, faces, caplog, capsys):
    src = _folder(tmp_path, faces)
    out = tmp_path / "fig.png"
    with caplog.at_level(logging.WARNING):
        assert cli.main(["figure", "--source", str(src), "--n", "3", "--out", str(out)]) == 0
    img = read_png(out)
    assert img.ndim == 3 and img.shape[0] > 100
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for name in ("a_broken.png", "b_eight_bit.png", "e_small.png"):
        assert name in warned
    assert "c_face.png" not in warned and "f_face.png" not in warned
    said = capsys.readouterr().out + " ".join(r.getMessage() for r in caplog.records)
    assert "3 file(s) skipped" in said
    assert str(out) in capsys.readouterr().out or out.is_file()


def test_all_hole_ground_truth_is_drawn(tmp_path, faces):
    d = tmp_path / "holes"
    write_depth_png(d / "a_all_holes.png", np.full((256, 256), HOLE, np.uint16))
    write_depth_png(d / "b_face.png", faces[0])
    out = tmp_path / "holes.png"
    assert cli.main(["figure", "--source", str(d), "--n", "2", "--out", str(out)]) == 0
    assert read_png(out).shape[2] == 3


def test_no_usable_file_is_a_clear_error(tmp_path, capsys):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "x.png").write_bytes(b"nope")
    with pytest.raises(SystemExit) as exc:
        cli.main(["figure", "--source", str(d), "--out", str(tmp_path / "f.png")])
    assert exc.value.code not in (0, None)
    assert str(d) in capsys.readouterr().err
    assert not (tmp_path / "f.png").exists()


def test_default_output_is_the_current_directory_not_results(tmp_path, results_tmp, monkeypatch, capsys):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert cli.main(["figure", "--n", "1"]) == 0
    assert (work / "degraded_samples.png").is_file()
    assert not list(results_tmp.rglob("*.png"))                 # results/ untouched
    assert "degraded_samples.png" in capsys.readouterr().out


def test_help_documents_the_default_output(capsys):
    with pytest.raises(SystemExit):
        cli.main(["figure", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "current directory" in text and "results/degrade/degraded_samples.png" in text
