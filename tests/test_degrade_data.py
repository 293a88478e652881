"""Degradation data pipeline: tf.data pairs from PNG directories, fixed evaluation sets."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import degrade
from degrade.toyfaces import toy_faces
from prnet_synth.conventions import write_depth_png

N, S = 4, 64
HOLE = 65535


@pytest.fixture(scope="module")
def gt():
    return toy_faces(6, S, seed=7)


@pytest.fixture(scope="module")
def png_dir(gt, tmp_path_factory):
    d = tmp_path_factory.mktemp("gt")
    for i, g in enumerate(gt):
        write_depth_png(d / "sub" / f"face_{i}.png", g)
    (d / "broken.png").write_bytes(b"not a png")
    cv2.imwrite(str(d / "eight_bit.png"), np.zeros((S, S), np.uint8))
    return d


def _take(ds, k):
    return [tuple(t.numpy() for t in pair) for pair in ds.take(k)]


def test_pairs_from_png_directory_float_output(png_dir, gt, caplog):
    ds = degrade.pairs_dataset(png_dir, 3, N, image_size=(S, S))
    pairs = _take(ds, 3)
    known = {g.tobytes() for g in gt}
    for x, y in pairs:
        assert x.shape == (N, S, S, 1) and y.shape == (N, S, S, 1)
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        y16 = np.rint(y[..., 0] * 65535).astype(np.uint16)
        assert all(img.tobytes() in known for img in y16)     # only the six good files
        assert np.all(x[y == 1.0] == 1.0)                      # holes stay 1.0 (plain variant)
    err = " ".join(r.getMessage() for r in caplog.records)
    assert "broken.png" in err and "eight_bit.png" in err       # logged and skipped
    # a fresh pipeline with the same arguments yields the same pairs; another seed other ones
    again = _take(degrade.pairs_dataset(png_dir, 3, N, image_size=(S, S)), 3)
    for (x1, y1), (x2, y2) in zip(pairs, again):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
    other = _take(degrade.pairs_dataset(png_dir, 4, N, image_size=(S, S)), 1)
    assert not np.array_equal(other[0][0], pairs[0][0])


def test_pairs_each_variant_uint16(gt):
    variants = degrade.VARIANTS
    ds = degrade.pairs_dataset(gt, 1, 3 * 2, variants=variants, output="uint16", shuffle=False, repeat=False)
    batches = _take(ds, 10)
    assert len(batches) == 3                                   # 6 images x 3 variants, batches of 6
    deg = np.concatenate([b[0] for b in batches])
    ref = np.concatenate([b[1] for b in batches])
    assert deg.dtype == np.uint16 and deg.shape == (18, S, S)
    np.testing.assert_array_equal(ref[0::3], gt)               # every image once per variant, in order
    np.testing.assert_array_equal(ref[1::3], gt)
    bg = ref == HOLE
    assert np.all(deg[0::3][bg[0::3]] == HOLE)                 # plain
    assert np.mean(deg[1::3][bg[1::3]] != HOLE) > 0.99         # random background
    assert np.mean(deg[2::3][bg[2::3]] != HOLE) > 0.99         # blurred background


def test_pairs_dataset_rejects_bad_arguments(tmp_path, gt):
    with pytest.raises(FileNotFoundError, match="no .png"):
        degrade.pairs_dataset(tmp_path, 0, 2)
    with pytest.raises(ValueError, match="variants"):
        degrade.pairs_dataset(gt, 0, 2, variants=("plain", "sparkly"))
    with pytest.raises(ValueError, match="uint16"):
        degrade.pairs_dataset(gt.astype(np.int32), 0, 2)


def test_eval_set_is_reproducible_and_resumable(tmp_path, gt):
    a, b = tmp_path / "a", tmp_path / "b"
    degrade.write_eval_set(a, gt, 6, seed=9, shard_size=4, batch_size=N, image_size=(S, S))
    es = degrade.read_eval_set(a)
    assert len(es) == 6 and es.manifest["complete"] and len(es.manifest["shards"]) == 2
    deg, ref = es.load()
    # the stored ground truth is scaled as the config says (the calibrated paper config: face range)
    np.testing.assert_array_equal(ref, degrade.normalize_ground_truth(gt, "paper"))
    assert not np.array_equal(ref, gt)
    assert deg.dtype == np.uint16 and np.all(deg[ref == HOLE] == HOLE)
    assert es.config == degrade.get_config("paper")

    # kill after the first shard (simulated: drop the second from disk and manifest), then resume
    degrade.write_eval_set(b, gt, 6, seed=9, shard_size=4, batch_size=N, image_size=(S, S))
    m = json.loads((b / "manifest.json").read_text())
    (b / m["shards"][1]["file"]).unlink()
    m["shards"], m["complete"] = m["shards"][:1], False
    (b / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ValueError, match="unfinished"):
        degrade.read_eval_set(b)
    first_mtime = (b / m["shards"][0]["file"]).stat().st_mtime_ns
    degrade.write_eval_set(b, gt, 6, seed=9, shard_size=4, batch_size=N, image_size=(S, S))
    assert (b / m["shards"][0]["file"]).stat().st_mtime_ns == first_mtime   # finished work not redone
    for f in ("shard_00000.npz", "shard_00001.npz"):
        assert (a / f).read_bytes() == (b / f).read_bytes()
    deg_b, _ = degrade.read_eval_set(b).load()
    np.testing.assert_array_equal(deg_b, deg)

    # the same directory with other parameters is refused
    with pytest.raises(ValueError, match="different evaluation set"):
        degrade.write_eval_set(b, gt, 6, seed=10, shard_size=4, batch_size=N, image_size=(S, S))
    x, y = next(iter(es.dataset(4)))
    assert x.shape == (4, S, S, 1) and float(y.numpy().max()) == 1.0


def test_eval_set_from_png_directory_skips_bad_files(png_dir, tmp_path):
    # 8 PNG files, 2 of them bad: they are logged, skipped and listed in the manifest
    out = tmp_path / "ev"
    degrade.write_eval_set(out, png_dir, 8, seed=1, shard_size=8, batch_size=N, image_size=(S, S))
    es = degrade.read_eval_set(out)
    assert len(es) == 6
    assert sorted(es.manifest["skipped"]) == ["broken.png", "eight_bit.png"]
    with pytest.raises(FileNotFoundError, match="manifest"):
        degrade.read_eval_set(tmp_path)
