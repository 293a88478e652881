"""prnet_synth.conventions: the depth format, conversions, PNG I/O, atomic writes, colorize."""
from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from prnet_synth import conventions as C
from prnet_synth.atomic import atomic_open


def _depth(h=256, w=256, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.integers(0, 65535, (h, w)).astype(np.uint16)
    d[rng.random((h, w)) < 0.1] = C.HOLE
    d[0, 0] = 0
    d[0, 1] = C.MAX_VALID
    return d


def test_constants():
    assert C.SIZE == 256
    assert C.HOLE == 65535 and C.MAX_VALID == 65534
    assert C.UNITS_PER_MM * 250.0 == pytest.approx(65535.0)
    assert C.MM_PER_UNIT * C.UNITS_PER_MM == pytest.approx(1.0)


# ----------------------------------------------------------------------------- PNG round trip
def test_png_round_trip_exact(tmp_path):
    d = _depth()
    p = tmp_path / "sub" / "d.png"
    C.write_depth_png(p, d)
    back = C.read_depth_png(p)
    assert back.dtype == np.uint16 and back.shape == (256, 256)
    np.testing.assert_array_equal(back, d)
    # other tools read it as 16-bit single channel, too
    raw = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.ndim == 2


def test_png_any_size_when_allowed(tmp_path):
    d = _depth(40, 60)
    p = tmp_path / "small.png"
    C.write_depth_png(p, d)
    np.testing.assert_array_equal(C.read_depth_png(p, size=None), d)
    np.testing.assert_array_equal(C.read_depth_png(p, size=(40, 60)), d)


def test_png_refuses_8bit(tmp_path):
    p = tmp_path / "eight.png"
    cv2.imwrite(str(p), np.zeros((256, 256), np.uint8))
    with pytest.raises(C.DepthFormatError, match=r"eight\.png.*16-bit.*8-bit"):
        C.read_depth_png(p)


def test_png_refuses_rgb(tmp_path):
    p = tmp_path / "colour.png"
    cv2.imwrite(str(p), np.zeros((256, 256, 3), np.uint16))
    with pytest.raises(C.DepthFormatError, match=r"colour\.png.*single-channel.*3 channels"):
        C.read_depth_png(p)


def test_png_refuses_non_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not a PNG")
    with pytest.raises(C.DepthFormatError, match=r"notes\.png.*not a readable image"):
        C.read_depth_png(p)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(C.DepthFormatError, match=r"empty\.png"):
        C.read_depth_png(empty)


def test_png_refuses_wrong_size(tmp_path):
    p = tmp_path / "big.png"
    cv2.imwrite(str(p), np.zeros((128, 300), np.uint16))
    with pytest.raises(C.DepthFormatError, match=r"big\.png.*256x256.*128x300"):
        C.read_depth_png(p)


def test_png_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.png"):
        C.read_depth_png(tmp_path / "nowhere.png")


def test_write_refuses_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match=r"x\.png.*float32"):
        C.write_depth_png(tmp_path / "x.png", np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match=r"y\.png.*rank 3"):
        C.write_depth_png(tmp_path / "y.png", np.zeros((2, 4, 4), np.uint16))
    assert not list(tmp_path.iterdir())


def test_8bit_png_round_trip(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (8, 9, 3)).astype(np.uint8)
    C.write_png(tmp_path / "c.png", rgb)
    np.testing.assert_array_equal(C.read_png(tmp_path / "c.png"), rgb)
    C.write_depth_png(tmp_path / "d.png", _depth(8, 9))
    with pytest.raises(C.DepthFormatError, match=r"d\.png.*8-bit"):
        C.read_png(tmp_path / "d.png")


# ----------------------------------------------------------------------------- atomic writes
def test_atomic_write_leaves_no_temp_file(tmp_path):
    C.write_depth_png(tmp_path / "a.png", _depth(16, 16))
    assert sorted(os.listdir(tmp_path)) == ["a.png"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "a.png"
    old = _depth(16, 16, seed=3)
    C.write_depth_png(target, old)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_open(target, "wb") as fh:
            fh.write(b"half a file")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.png"]
    np.testing.assert_array_equal(C.read_depth_png(target, size=None), old)


def test_write_depth_png_killed_before_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "b.png"
    old = _depth(16, 16, seed=4)
    C.write_depth_png(target, old)

    def broken_fsync(fd):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="simulated"):
        C.write_depth_png(target, _depth(16, 16, seed=5))
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["b.png"]
    np.testing.assert_array_equal(C.read_depth_png(target, size=None), old)


# ----------------------------------------------------------------------------- conversions
def test_realsense_conversions():
    d = np.array([[0, 1, 2, 65534, 65535]], np.uint16)
    rs = C.to_realsense(d)
    np.testing.assert_array_equal(rs, [[1, 1, 2, 65534, 0]])  # hole -> 0; valid 0 -> 1 (lossy)
    np.testing.assert_array_equal(C.from_realsense(rs), [[1, 1, 2, 65534, 65535]])
    # RealSense side: 0 is a hole, a valid 65535 is clipped to 65534
    np.testing.assert_array_equal(C.from_realsense(np.array([[0, 5, 65535]], np.uint16)),
                                  [[65535, 5, 65534]])
    assert C.to_realsense(d).dtype == np.uint16
    assert d[0, 0] == 0  # input untouched


def test_realsense_round_trip_is_exact_except_zero():
    d = _depth(32, 32)
    back = C.from_realsense(C.to_realsense(d))
    expect = d.copy()
    expect[d == 0] = 1
    np.testing.assert_array_equal(back, expect)


def test_float_conversions():
    d = np.array([[0, 65535, 32768, 1]], np.uint16)
    f = C.to_float(d)
    assert f.dtype == np.float32
    np.testing.assert_allclose(f, [[0.0, 1.0, 32768 / 65535, 1 / 65535]], rtol=1e-6)
    batch = _depth(8, 8)[None].repeat(3, 0)
    np.testing.assert_array_equal(C.from_float(C.to_float(batch)), batch)
    np.testing.assert_array_equal(C.from_float(np.array([-0.5, 1.7, 0.5], np.float32)), [0, 65535, 32768])
    with pytest.raises(ValueError, match="NaN"):
        C.from_float(np.array([np.nan], np.float32))


def test_check_depth_messages():
    with pytest.raises(ValueError, match=r"dtype float64.*shape \(2, 2\)"):
        C.check_depth(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"rank 1"):
        C.check_depth(np.zeros(5, np.uint16))
    with pytest.raises(ValueError, match=r"rank 3"):
        C.check_depth(np.zeros((1, 2, 2), np.uint16), batch_ok=False)


def test_mm_units():
    assert C.mm_to_units(250.0) == pytest.approx(65535.0)
    assert C.units_to_mm(65535) == pytest.approx(250.0)


def test_normalize_metric_depth_hand_computed():
    z = np.array([[500.0, 625.0, 0.0], [np.nan, 749.99, 750.0]])
    out = C.normalize_metric_depth(z)
    # nearest 500 mm -> 0; 125 mm -> 32767.5 -> round half even 32768; 0 / NaN invalid -> hole;
    # 249.99 mm -> 65532.4 -> 65532; 250 mm (end of range) -> hole
    np.testing.assert_array_equal(out, [[0, 32768, 65535], [65535, 65532, 65535]])
    explicit = C.normalize_metric_depth(z, near_mm=600.0)
    assert explicit[0, 0] == 65535  # nearer than near_mm -> hole
    assert explicit[0, 1] == round(25.0 / 250.0 * 65535)
    valid = np.array([[True, False, False], [False, True, True]])
    masked = C.normalize_metric_depth(z, valid=valid)
    assert masked[0, 1] == 65535 and masked[0, 0] == 0
    assert (C.normalize_metric_depth(np.zeros((2, 2))) == 65535).all()


# ----------------------------------------------------------------------------- colorize
def test_colorize_holes_distinct_and_mask():
    d = np.array([[0, 1000, 65535], [2000, 65535, 500]], np.uint16)
    img = C.colorize(d, hole_color=(255, 0, 255))
    assert img.shape == (2, 3, 3) and img.dtype == np.uint8
    assert tuple(img[0, 2]) == (255, 0, 255) and tuple(img[1, 1]) == (255, 0, 255)
    valid_colours = {tuple(img[0, 0]), tuple(img[0, 1]), tuple(img[1, 0]), tuple(img[1, 2])}
    assert (255, 0, 255) not in valid_colours and len(valid_colours) == 4
    # nearest -> low end of the colormap, farthest valid -> high end
    import matplotlib

    cm = matplotlib.colormaps["viridis"]
    assert tuple(img[0, 0]) == tuple((np.array(cm(0.0)[:3]) * 255 + 0.5).astype(np.uint8))
    assert tuple(img[1, 0]) == tuple((np.array(cm(1.0)[:3]) * 255 + 0.5).astype(np.uint8))
    mask = np.array([[1, 1, 0], [0, 1, 1]], bool)
    m = C.colorize(d, mask=mask, outside_color=(255, 255, 255))
    assert tuple(m[0, 2]) == (255, 255, 255) and tuple(m[1, 0]) == (255, 255, 255)
    assert tuple(m[1, 1]) == (255, 0, 255)
    # the colour scale uses the valid pixels inside the mask only: 0 .. 1000
    assert tuple(m[0, 1]) == tuple((np.array(cm(1.0)[:3]) * 255 + 0.5).astype(np.uint8))
    with pytest.raises(ValueError, match="mask shape"):
        C.colorize(d, mask=np.ones((3, 3), bool))


def test_code_version_dirty_for_code_not_for_results(tmp_path):
    """``+dirty`` marks changed tracked code; changed outputs under results/ do not count."""
    import shutil
    import subprocess

    from prnet_synth.atomic import code_version

    if shutil.which("git") is None:
        pytest.skip("git not installed")

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "table.csv").write_text("a\n1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=tmp_path, capture_output=True,
                         text=True).stdout.strip()
    assert code_version(tmp_path) == sha
    (tmp_path / "results" / "table.csv").write_text("a\n2\n")
    (tmp_path / "new_untracked.py").write_text("")
    assert code_version(tmp_path) == sha
    (tmp_path / "code.py").write_text("x = 2\n")
    assert code_version(tmp_path) == sha + "+dirty"


def test_stamp_provenance_sets_named_columns_and_keeps_per_row_values_on_request(tmp_path):
    """The one provenance stamper: every key (or the named ones) becomes a constant column; with
    keep_existing a per-row column (a table whose rows come from different data) survives; a key the
    record lacks is an error, not a silent None. write_table goes through it and adds its sidecar."""
    import pandas as pd

    from experiments.schlett.io import read_csv, write_table
    from prnet_synth.atomic import stamp_provenance

    prov = {"preset": "quick", "seed": 3, "data": "synthetic", "code_version": "abc123", "created_utc": "T"}
    f = pd.DataFrame({"x": [1, 2], "data": ["a", "b"]})
    out = stamp_provenance(f.copy(), prov)
    assert list(out.columns) == ["x", "data", "preset", "seed", "code_version", "created_utc"]
    assert out["data"].tolist() == ["synthetic", "synthetic"] and out["seed"].tolist() == [3, 3]
    kept = stamp_provenance(f.copy(), prov, ("data", "preset"), keep_existing=True)
    assert kept["data"].tolist() == ["a", "b"] and kept["preset"].tolist() == ["quick", "quick"]
    assert "seed" not in kept.columns
    with pytest.raises(KeyError, match="no 'commit'"):
        stamp_provenance(f.copy(), prov, ("commit",))
    write_table("t", f, prov, directory=tmp_path)
    back = read_csv(tmp_path / "t.csv")
    assert back["data"].tolist() == ["a", "b"] and back["code_version"].tolist() == ["abc123"] * 2
    assert "created_utc" not in back.columns and (tmp_path / "t.json").is_file()
