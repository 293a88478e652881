"""The synthesis CLI: PRNet backend from a user's PRNet folder (random weights in the official
checkpoint layout, a small mesh), resumable, sharded, deterministic, corrupt files skipped."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from prnet_synth import conventions as cv
from prnet_synth import synthesize as syn
from prnet_synth.prnet_pipeline import PRNetPipeline, grid_triangles


@pytest.fixture(scope="module")
def prnet_folder(tmp_path_factory):
    """A PRNet folder in the official layout: Data/uv-data (a 40x40 UV face block) + Data/net-data."""
    pytest.importorskip("tensorflow")
    from prnet_synth import prnet

    root = tmp_path_factory.mktemp("PRNet")
    uv = root / "Data" / "uv-data"
    uv.mkdir(parents=True)
    r, c = np.mgrid[100:140, 100:140]
    face_ind = (r * 256 + c).ravel()
    np.savetxt(uv / "face_ind.txt", face_ind.astype(float), fmt="%.18e")
    np.savetxt(uv / "triangles.txt", grid_triangles(face_ind).astype(float), fmt="%.18e")
    i = np.arange(68)
    np.savetxt(uv / "uv_kpt_ind.txt", np.stack([100 + i % 40, 100 + (3 * i) % 40]).astype(float), fmt="%.18e")
    import keras

    model = prnet.build_prnet()
    # Calibrate the last batch norm so that the random network's output spreads over (0, 1)
    # (default statistics give ~0.5 everywhere: a mesh collapsed to a point).
    x = np.random.default_rng(0).uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)
    pre = keras.Model(model.input, model.get_layer("Conv2d_transpose_16").output)(x).numpy()
    bn = model.get_layer("Conv2d_transpose_16__BatchNorm")
    var = pre.var(axis=(0, 1, 2))
    gamma = 1.5 * np.sqrt(var + 1e-3) / np.sqrt(var)  # BN epsilon 1e-3 dwarfs the tiny variance
    bn.set_weights([gamma.astype(np.float32), np.zeros(3, np.float32), pre.mean(axis=(0, 1, 2)), var])
    prnet.save_official_checkpoint(model, root / "Data" / "net-data" / "256_256_resfcn256_weight")
    return root, model


def _inputs(tmp_path):
    src = tmp_path / "photos"
    rng = np.random.default_rng(3)
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    yy, xx = np.mgrid[0:90, 0:70]
    face = np.stack([128 + 100 * np.sin(xx / 9.0), 128 + 100 * np.cos(yy / 7.0), (xx + yy) % 256], -1)
    cv2.imwrite(str(src / "a" / "one.jpg"), face.astype(np.uint8))
    cv2.imwrite(str(src / "b" / "two.png"), rng.integers(0, 256, (64, 80, 3), dtype=np.uint8))
    (src / "b" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
    (src / "b" / "readme.txt").write_text("ignored")
    return src


def test_cli_prnet_resume_shards_determinism(prnet_folder, tmp_path, capsys):
    root, model = prnet_folder
    src = _inputs(tmp_path)
    out = tmp_path / "out"
    rc = syn.main([str(src), str(out), "--backend", "prnet", "--prnet-dir", str(root), "--crop", "image", "--quiet"])
    assert rc == 0
    assert "images=3 skipped=0 written=2 failed=1" in capsys.readouterr().out
    d1 = cv.read_depth_png(out / "a" / "one.png")
    d2 = cv.read_depth_png(out / "b" / "two.png")
    for d in (d1, d2):
        assert d.dtype == np.uint16 and d.shape == (256, 256)
        assert d.min() == 0 and (d == cv.HOLE).any()
    failed = (out / "_failed" / "shard_0_of_1.tsv").read_text()
    assert failed.startswith("b/corrupt.jpg\t") and "not a decodable image" in failed

    class MustNotRun:
        def mesh(self, img):
            raise AssertionError("resumed run recomputed an image")

    counts = syn.synthesize_folder(src, out, MustNotRun(), quiet=True)
    assert counts["skipped"] == 3 and counts["written"] == 0

    # two shards with the in-memory network give byte-identical files (and the checkpoint held it exactly)
    pipe = PRNetPipeline(root, model=model, crop="image")
    out2 = tmp_path / "sharded"
    c0 = syn.synthesize_folder(src, out2, pipe, shard=(0, 2), quiet=True)
    c1 = syn.synthesize_folder(src, out2, pipe, shard=(1, 2), quiet=True)
    assert c0["images"] + c1["images"] == 3 and c0["written"] + c1["written"] == 2
    for rel in ("a/one.png", "b/two.png"):
        assert (out2 / rel).read_bytes() == (out / rel).read_bytes()


def test_cli_errors(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    assert syn.main([str(src), str(tmp_path / "o"), "--backend", "mediapipe"]) == 2
    assert "mediapipe 0.10.21" in capsys.readouterr().err
    assert syn.main([str(src), str(tmp_path / "o"), "--prnet-dir", str(tmp_path / "nope")]) == 2
    assert "face_ind.txt" in capsys.readouterr().err
    assert syn.main([str(src), str(tmp_path / "o"), "--shard", "3"]) == 2
    assert "i/N" in capsys.readouterr().err
