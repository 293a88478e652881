"""MegaFace MF2 reader and the Table I filter stages on a tiny fixture in the real layout."""
from __future__ import annotations

import csv
import json
import shutil
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from prnet_synth import conventions as cv
from prnet_synth import megaface as mf
from prnet_synth.prnet_pipeline import grid_triangles, render_depth

R, C = np.mgrid[0:6, 0:6]
FACE_IND = (R * 256 + C).ravel()
TRIS = grid_triangles(FACE_IND)  # 50 triangles of a 6x6 vertex grid


def fake_mesher(img):
    """A deterministic 'PRNet': a 6x6 grid whose spacing grows with the image's mean grey level;
    a red top-left pixel pulls one vertex 30 units forward (a deformed mesh)."""
    scale = 10.0 * (1.0 + img.mean() / 2550.0)
    v = np.stack([60 + C.ravel() * scale, 60 + R.ravel() * scale, np.full(36, 50.0)], axis=1)
    if img[0, 0, 0] > 200 and img[0, 0, 1] < 50:
        v[7, 2] += 30.0
    return SimpleNamespace(vertices=v, triangles=TRIS)


def depth_fn(mesh):
    return render_depth(mesh.vertices, mesh.triangles, mm_per_unit=1.0)


def _jpg(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
    path.write_bytes(buf.tobytes())


def _png(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", img[..., ::-1])
    path.write_bytes(buf.tobytes())


@pytest.fixture()
def mf2(tmp_path):
    root = tmp_path / "FlickrFinal2"
    flat = lambda v, h=40, w=32: np.full((h, w, 3), v, np.uint8)  # noqa: E731
    _png(root / "id_001" / "001.png", flat(0))          # scale 1.0   good
    _png(root / "id_001" / "002.PNG", flat(100))        # scale ~1.04 good
    _png(root / "id_002" / "010.png", flat(200))        # scale ~1.08 good
    _png(root / "id_002" / "011.png", flat(150))        # inside ranges -> kept
    _png(root / "id_003" / "020.png", flat(250))        # scale ~1.098 > good max -> deformed
    red = flat(60)
    red[0, 0] = (255, 0, 0)
    _png(root / "id_003" / "021.png", red)              # displaced vertex -> deformed
    (root / "id_004").mkdir()
    shutil.copy(root / "id_002" / "011.png", root / "id_004" / "dup.png")  # identical bytes
    _jpg(root / "id_004" / "wide.jpg", flat(90, 16, 1030))   # width 1030 > 1024
    _png(root / "id_004" / "edge.png", flat(120, 1024, 20))  # height exactly 1024 -> not discarded
    (root / "id_005").mkdir()
    (root / "id_005" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (root / "id_005" / "notes.txt").write_text("not an image")
    (root / "id_001" / "001.png.json").write_text(json.dumps({"bounding_box": {"x": 1, "y": 2, "width": 30, "height": 35}}))
    good = tmp_path / "good.txt"
    good.write_text("# hand-picked\nid_001/001.png\nid_001/002.PNG\nid_002/010.png\n")
    return root, good


def test_reader_layout_and_sidecar(mf2):
    root, _ = mf2
    ims = mf.iter_mf2(root)
    rels = [im.relpath for im in ims]
    assert rels == sorted(rels) and len(rels) == 10
    assert "id_005/notes.txt" not in rels and "id_001/002.PNG" in rels
    assert ims[0].identity == "id_001"
    assert mf.read_sidecar(root / "id_001" / "001.png")["bounding_box"]["width"] == 30
    assert mf.read_sidecar(root / "id_001" / "002.PNG") is None
    assert mf.image_size(root / "id_004" / "wide.jpg") == (1030, 16)
    with pytest.raises(ValueError, match="broken.jpg"):
        mf.read_rgb(root / "id_005" / "broken.jpg")
    with pytest.raises(FileNotFoundError):
        mf.iter_mf2(root / "nope")
    with pytest.raises(FileNotFoundError, match="identity"):
        mf.iter_mf2(root / "id_001")  # one level too deep: no identity folders


def test_sha3_512_known_value(tmp_path):
    p = tmp_path / "abc"
    p.write_bytes(b"abc")
    # FIPS 202 example value for SHA3-512("abc")
    assert mf.sha3_512(p).startswith("b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e10e116e9")


def test_side_lengths_and_ranges_hand_computed():
    v = np.array([[0, 0, 0], [3, 0, 0], [0, 4, 0]], float)
    L = mf.triangle_side_lengths(v, np.array([[0, 1, 2]]))
    np.testing.assert_allclose(L, [[3.0, 5.0, 4.0]])
    rng = mf.SideLengthRanges.fit([L, L * 1.5])
    np.testing.assert_allclose(rng.lo, [[3, 5, 4]])
    np.testing.assert_allclose(rng.hi, [[4.5, 7.5, 6]])
    assert rng.accepts(L * 1.2) and rng.violations(L * 1.6) == 3 and rng.violations(L * [1, 1, 1.6]) == 1
    two = np.array([[3.0, 5.0, 4.0], [1.0, 2.0, 2.0]])
    glob = mf.SideLengthRanges.fit([two], per="global")
    np.testing.assert_allclose(glob.lo, [1, 2, 2])
    np.testing.assert_allclose(glob.hi, [3, 5, 4])
    assert glob.violations(np.array([[2.0, 2.0, 2.0], [0.5, 6.0, 3.0]])) == 2


def _table(path):
    with open(path) as fh:
        return {r["filter_stage"]: r for r in csv.DictReader(fh)}


def test_filter_run_table_manifest_resume_and_shards(mf2, tmp_path, shared_dir):
    root, good = mf2
    out = tmp_path / "out"
    assert mf.index_images(root, out, chunk_size=4) == 3
    assert mf.index_images(root, out, chunk_size=4) == 0  # resumed: nothing to redo
    mf.fit_ranges(root, out, fake_mesher, good)
    # two shards, chunks of 2 survivors
    n0 = mf.filter_images(root, out, fake_mesher, depth_fn, shard=(0, 2), chunk_size=2)
    with pytest.raises(RuntimeError, match="no stage-3 decision"):
        mf.write_table(root, out)
    n1 = mf.filter_images(root, out, fake_mesher, depth_fn, shard=(1, 2), chunk_size=2)
    assert n0 + n1 == 4  # 7 survivors -> 4 chunks
    assert mf.filter_images(root, out, fake_mesher, depth_fn, chunk_size=2) == 0
    counts = mf.write_table(root, out)

    assert counts == {"inputs": 10, "file_duplicates_sha3_512": 1, "resolution_above_1024x1024": 1,
                      "deformed_output": 2, "unreadable": 1, "no_mesh": 0, "total_discarded": 5, "remaining": 5}
    table = _table(out / "table1.csv")
    paper = _table(shared_dir / "paper_tables" / "schlett_table1_megaface_filter.csv")
    for stage, row in paper.items():
        assert int(table[stage]["paper"]) == int(row["discarded"])

    with open(out / "manifest.csv") as fh:
        man = {r["relpath"]: r for r in csv.DictReader(fh)}
    assert len(man) == 10
    assert man["id_004/dup.png"]["stage"] == "file_duplicates_sha3_512"
    assert "id_002/011.png" in man["id_004/dup.png"]["reason"]
    assert man["id_004/dup.png"]["sha3_512"] == man["id_002/011.png"]["sha3_512"] == \
        mf.sha3_512(root / "id_002" / "011.png")
    assert man["id_004/wide.jpg"]["stage"] == "resolution_above_1024x1024"
    assert man["id_005/broken.jpg"]["stage"] == "unreadable"
    assert man["id_003/020.png"]["stage"] == man["id_003/021.png"]["stage"] == "deformed_output"
    assert man["id_001/002.PNG"]["reason"] == "good set"
    kept = [r for r in man.values() if r["decision"] == "kept"]
    assert sorted(r["relpath"] for r in kept) == ["id_001/001.png", "id_001/002.PNG", "id_002/010.png",
                                                  "id_002/011.png", "id_004/edge.png"]
    for r in kept:
        d = cv.read_depth_png(out / r["output"])
        assert d.min() == 0 and (d == cv.HOLE).any()  # flat mesh: all nearest, background holes
    assert not (out / "depth" / "id_003" / "020.png").exists()

    # a single unsharded run gives the same manifest
    out2 = tmp_path / "out2"
    mf.index_images(root, out2)
    mf.fit_ranges(root, out2, fake_mesher, good)
    mf.filter_images(root, out2, fake_mesher, depth_fn)
    mf.write_table(root, out2)
    assert (out2 / "manifest.csv").read_text() == (out / "manifest.csv").read_text()


def test_shard_parsing():
    assert mf.parse_shard("2/5") == (2, 5) and mf.parse_shard(None) == (0, 1)
    for bad in ("5/5", "x", "1/0", "-1/3"):
        with pytest.raises(ValueError):
            mf.parse_shard(bad)


def test_output_names_avoid_collisions():
    names = mf.output_names(["id/a.jpg", "id/a.PNG", "id/b.jpeg", "x.y/c.png"], prefix="depth/")
    assert names == {"id/a.jpg": "depth/id/a.jpg.png", "id/a.PNG": "depth/id/a.PNG.png",
                     "id/b.jpeg": "depth/id/b.png", "x.y/c.png": "depth/x.y/c.png"}


def test_cli_steps(mf2, tmp_path, capsys):
    root, good = mf2
    out = tmp_path / "cli"
    base = ["--root", str(root), "--out", str(out), "--quiet", "--index-chunk", "4"]
    assert mf.main(["index", *base, "--shard", "0/2"]) == 0
    with pytest.raises(RuntimeError, match="index incomplete"):
        mf.load_index(root, out)
    assert mf.main(["index", *base, "--shard", "1/2"]) == 0
    assert len(mf.load_index(root, out)) == 10
    with pytest.raises(SystemExit):  # the PRNet steps need the user's PRNet folder
        mf.main(["ranges", *base, "--good", str(good)])
    mf.fit_ranges(root, out, fake_mesher, good)
    mf.filter_images(root, out, fake_mesher, depth_fn)
    capsys.readouterr()
    assert mf.main(["table", *base]) == 0
    printed = capsys.readouterr().out
    assert "deformed_output,2" in printed and "remaining,5" in printed
