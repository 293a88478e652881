"""Issue #21, item 2: pairs_dataset on a PNG folder: a clear error when no file is usable, and every
skipped file logged with Python logging (whatever TF_CPP_MIN_LOG_LEVEL says)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

import degrade
from degrade.toyfaces import toy_faces
from prnet_synth.conventions import write_depth_png

S = 64
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gt():
    return toy_faces(3, S, seed=11)


def _png_bytes(img) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def _corrupt(data: bytes) -> bytes:
    """A PNG whose header and IEND trailer are intact but whose image data is damaged (IDAT CRC)."""
    bad = bytearray(data)
    i = bad.index(b"IDAT") + 8
    bad[i:i + 16] = bytes(16)
    return bytes(bad)


def _bad_files(folder: Path, gt) -> dict[str, str]:
    """Write one file of every unusable kind; returns {file name: a word the log must say}."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _png_bytes(gt[0])
    (folder / "text.png").write_bytes(b"not a png at all")
    cv2.imwrite(str(folder / "eight_bit.png"), np.zeros((S, S), np.uint8))
    cv2.imwrite(str(folder / "colour.png"), np.zeros((S, S, 3), np.uint16))
    cv2.imwrite(str(folder / "small.png"), np.zeros((S // 2, S), np.uint16))
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "empty.png").write_bytes(b"")
    return {"text.png": "not a PNG", "eight_bit.png": "8-bit", "colour.png": "channel",
            "small.png": f"{S // 2}x{S}", "truncated.png": "truncated", "empty.png": "not a PNG"}


def test_no_usable_file_is_an_error_naming_the_folder(tmp_path, gt, caplog):
    folder = tmp_path / "only_bad"
    expect = _bad_files(folder, gt)
    with caplog.at_level(logging.WARNING, logger="degrade"):
        with pytest.raises(ValueError, match=rf"{folder}.*no usable.*{len(expect)} file"):
            degrade.pairs_dataset(folder, 0, 2, image_size=(S, S))
    logged = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    for name, word in expect.items():
        assert name in logged, name
    for name, word in expect.items():
        line = next(r.getMessage() for r in caplog.records if name in r.getMessage())
        assert word in line, (name, line)


def test_every_skipped_file_is_logged_once_and_good_ones_are_used(tmp_path, gt, caplog):
    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "2"        # TF's own warnings are silenced
    folder = tmp_path / "mixed"
    expect = _bad_files(folder, gt)
    (folder / "corrupt.png").write_bytes(_corrupt(_png_bytes(gt[1])))
    expect["corrupt.png"] = "cannot be decoded"
    for i, g in enumerate(gt):
        write_depth_png(folder / f"good_{i}.png", g)
    with caplog.at_level(logging.WARNING, logger="degrade"):
        ds = degrade.pairs_dataset(folder, 5, 2, output="uint16", image_size=(S, S))
        batches = [tuple(t.numpy() for t in b) for b in ds.take(6)]      # 12 pairs: 4 passes over the 3 good
    known = {g.tobytes() for g in gt}
    seen = [img.tobytes() for _, ref in batches for img in ref]
    assert all(s in known for s in seen) and len(set(seen)) == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    for name, word in expect.items():
        hits = [m for m in warnings if name in m]
        assert len(hits) == 1, (name, warnings)                  # logged once, not once per epoch
        assert word in hits[0] and str(folder) in hits[0], hits[0]


def test_finite_pipeline_skips_and_logs(tmp_path, gt, caplog):
    folder = tmp_path / "finite"
    write_depth_png(folder / "a.png", gt[0])
    good = _png_bytes(gt[1])
    (folder / "b.png").write_bytes(good[:-30])
    with caplog.at_level(logging.WARNING, logger="degrade"):
        ds = degrade.pairs_dataset(folder, 1, 4, output="uint16", shuffle=False, repeat=False, image_size=(S, S))
        batches = [tuple(t.numpy() for t in b) for b in ds]
    assert len(batches) == 1 and batches[0][1].shape == (1, S, S)
    np.testing.assert_array_equal(batches[0][1][0], gt[0])
    assert any("b.png" in r.getMessage() and "truncated" in r.getMessage() for r in caplog.records)


_CHILD = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    sys.path.insert(0, {repo!r})
    import degrade
    ds = degrade.pairs_dataset(sys.argv[1], 0, 2, image_size=({s}, {s}))
    try:
        next(iter(ds))
    except Exception as exc:
        print("RAISED", type(exc).__name__, exc)
    else:
        print("GOT A BATCH")
""")


def test_all_files_undecodable_ends_with_an_error_not_a_hang(tmp_path, gt):
    """Files that pass the header and trailer checks but cannot be decoded: the endless stream must
    stop with an error naming the folder instead of filtering forever (run in a child with a timeout)."""
    folder = tmp_path / "all_corrupt"
    folder.mkdir()
    for i, g in enumerate(gt):
        (folder / f"c{i}.png").write_bytes(_corrupt(_png_bytes(g)))
    try:
        res = subprocess.run([sys.executable, "-c", _CHILD.format(repo=str(REPO), s=S), str(folder)],
                             capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired:
        pytest.fail("pairs_dataset iterated forever over a folder without a decodable file")
    assert "RAISED" in res.stdout, res.stdout + res.stderr
    assert str(folder) in res.stdout and "no usable" in res.stdout, res.stdout
