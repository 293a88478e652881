"""Figs. 11 and 12 of Schlett et al. (IV-G): written, non-empty, and drawing the landmarks given.

A tiny hand-built ImageSet (non-square 72x96 images, landmarks spread unevenly in x and y, holes
put at chosen landmarks) and hand-made enhancer runs; the expected holes, numbers and depths are
computed here independently of the figure code (pixel = floor(coordinate + 0.5), row from y).
"""
from __future__ import annotations

import numpy as np
import pytest

from experiments.schlett import figures
from experiments.schlett.evalsets import ImageSet
from experiments.schlett.run import EnhancerRun
from prnet_synth.conventions import HOLE, MM_PER_UNIT

H, W = 72, 96
NAMES = ["0001_s1_Neutral", "0001_s1_Smile", "0001_s1_OpenMouth", "0001_s1_OcclusionMouth"]
# landmark indices put on a hole in the input, per image (image 2: none; image 3: occluded, no lm68)
HOLES_AT = {0: [2, 40], 1: [5, 27, 50, 61], 2: [], 3: [10, 20]}


def _pix(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each (x, y) landmark."""
    return np.floor(lm[:, 1] + 0.5).astype(int), np.floor(lm[:, 0] + 0.5).astype(int)


def _bowl() -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return (3000 + 9.0 * ((xx - 50.0) ** 2 + (yy - 33.0) ** 2)).astype(np.uint16)


def _expected_holes(depth: np.ndarray, lm: np.ndarray) -> np.ndarray:
    r, c = _pix(lm)
    return depth[r, c] == HOLE


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(3)
    n = len(NAMES)
    lm68 = np.full((n, 68, 2), np.nan, np.float32)
    for i in range(3):
        # x spread over 20..85, y over 8..62 (never x == y for a point): a swap moves every marker
        lm68[i, :, 0] = rng.uniform(20.0, 85.0, 68).astype(np.float32)
        lm68[i, :, 1] = rng.uniform(8.0, 62.0, 68).astype(np.float32)
    gt = np.stack([_bowl()] * n)
    depth = gt.copy()
    for i, ks in HOLES_AT.items():
        ref = lm68[i] if i < 3 else lm68[0]
        r, c = _pix(ref[ks].astype(np.float64))
        depth[i, r, c] = HOLE
    rgb = rng.integers(30, 220, (n, H, W, 3), dtype=np.uint8)
    manual6 = np.full((n, 6, 2), np.nan, np.float32)
    iset = ImageSet(data="test set (hand-built)", camera="kinect", names=list(NAMES),
                    subject=np.ones(n, np.int64), session=np.ones(n, np.int64),
                    variant=[nm.split("_", 2)[2] for nm in NAMES], depth=depth, rgb=rgb,
                    mask=np.ones((n, H, W), bool), has_mask=np.ones(n, bool), lm68=lm68, manual6=manual6,
                    landmark_source=["generator"] * n, gt=gt)
    filled = gt.copy()                                          # closes every hole
    partial = depth.copy()                                      # closes all but landmark 5's hole in image 1
    keep = np.zeros((H, W), bool)
    r, c = _pix(lm68[1, [5]].astype(np.float64))
    keep[r, c] = True
    partial[1] = np.where(keep, depth[1], gt[1])
    runs = {"DL-Delta-1": EnhancerRun("DL-Delta-1", "ok", filled),
            "DL-Alpha": EnhancerRun("DL-Alpha", "ok", partial),
            "DDRNet-dn": EnhancerRun("DDRNet-dn", "weights missing", None)}
    return iset, runs


def _png_ok(path) -> np.ndarray:
    import matplotlib.image as mpimg

    assert path.is_file() and path.stat().st_size > 2000
    img = mpimg.imread(str(path))
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    assert float(img[..., :3].std()) > 0.01                     # not a blank canvas
    return img


def test_fig11_draws_the_input_landmarks_and_their_holes(tiny, tmp_path):
    iset, runs = tiny
    out = tmp_path / "fig11_landmark_depth_error.png"
    rec = figures.fig11(iset, runs, out, status={"DDRNet-dn": "weights missing"})
    assert rec.path == out
    _png_ok(out)
    # the examples: Table VII's dlib subset (images 0 and 1; 2 has no hole, 3 is an occlusion
    # variant), most input landmark holes first
    rows = {}
    for p in rec.panels:
        rows.setdefault(p["row"], set()).add(p["index"])
    assert rows == {0: {1}, 1: {0}}
    assert [p["label"] for p in rec.panels if p["row"] == 0] == ["None", "DL-Delta-1", "DL-Alpha", "DDRNet-dn"]
    depth_of = {"None": lambda i: iset.depth[i], "DL-Delta-1": lambda i: runs["DL-Delta-1"].output[i],
                "DL-Alpha": lambda i: runs["DL-Alpha"].output[i]}
    for p in rec.panels:
        i = p["index"]
        lm = iset.lm68[i].astype(np.float64)
        if p["label"] == "DDRNet-dn":
            assert p["xy"] is None and p["holes"] is None       # did not run: nothing drawn, no number
            continue
        np.testing.assert_allclose(p["xy"], lm, atol=1e-4)
        d = depth_of[p["label"]](i)
        hole = _expected_holes(d, lm)
        assert p["holes"] == int(hole.sum())
        np.testing.assert_allclose(p["hole_xy"], lm[hole], atol=1e-4)
        r, c = _pix(lm)
        want = np.where(hole, np.nan, d[r, c].astype(np.float64) * MM_PER_UNIT)
        np.testing.assert_allclose(p["profile_mm"], want, rtol=1e-9, equal_nan=True)
    by = {(p["index"], p["label"]): p for p in rec.panels}
    assert by[(1, "None")]["holes"] == 4 and by[(0, "None")]["holes"] == 2
    assert by[(1, "DL-Delta-1")]["holes"] == 0 and by[(1, "DL-Delta-1")]["hole_xy"].shape == (0, 2)
    assert by[(1, "DL-Alpha")]["holes"] == 1
    np.testing.assert_allclose(by[(1, "DL-Alpha")]["hole_xy"], iset.lm68[1, [5]], atol=1e-4)


def test_fig11_explicit_indices_and_empty_subset(tiny, tmp_path):
    iset, runs = tiny
    rec = figures.fig11(iset, runs, tmp_path / "a.png", order=("DL-Alpha",), indices=[0])
    assert [(p["index"], p["label"]) for p in rec.panels] == [(0, "None"), (0, "DL-Alpha")]
    # real data: no ground truth to draw, the same landmarks
    real = ImageSet(**{**iset.__dict__, "gt": None})
    rec_real = figures.fig11(real, runs, tmp_path / "real.png", order=("DL-Alpha",), indices=[0])
    for a, b in zip(rec.panels, rec_real.panels):
        np.testing.assert_array_equal(a["xy"], b["xy"])
        np.testing.assert_array_equal(a["hole_xy"], b["hole_xy"])
    assert np.array_equal(figures.fig11_examples(iset, 1), [1])
    clean = ImageSet(**{**iset.__dict__, "depth": iset.gt.copy()})      # no landmark on a hole
    assert figures.fig11_examples(clean).size == 0
    rec = figures.fig11(clean, runs, tmp_path / "empty.png")
    assert rec.panels == [] and (tmp_path / "empty.png").stat().st_size > 0


def test_fig12_numbers_the_68_landmarks_where_they_are(tiny, tmp_path):
    iset, _ = tiny
    out = tmp_path / "fig12_landmarks68.png"
    rec = figures.fig12(iset, out)
    _png_ok(out)
    assert figures.fig12_example(iset) == 0                            # the first Neutral image
    assert [p["label"] for p in rec.panels] == ["colour", "depth (input)"]
    lm = iset.lm68[0].astype(np.float64)
    for p in rec.panels:
        assert p["index"] == 0
        np.testing.assert_allclose(p["xy"], lm, atol=1e-4)
        assert [t for t, _ in p["numbers"]] == [str(k) for k in range(1, 69)]
        np.testing.assert_allclose(np.array([xy for _, xy in p["numbers"]]), lm, atol=1e-4)
        # the paper's "landmark 9" (chin centre) is dlib's 0-based index 8
        assert dict(p["numbers"])["9"] == pytest.approx(tuple(lm[8]), abs=1e-4)


def test_fig12_other_image_and_no_landmarks(tiny, tmp_path):
    iset, _ = tiny
    rec = figures.fig12(iset, tmp_path / "b.png", index=1)
    np.testing.assert_allclose(rec.panels[0]["xy"], iset.lm68[1], atol=1e-4)
    none = ImageSet(**{**iset.__dict__, "lm68": np.full_like(iset.lm68, np.nan)})
    assert figures.fig12_example(none) is None
    rec = figures.fig12(none, tmp_path / "none.png")
    assert rec.panels == [] and (tmp_path / "none.png").stat().st_size > 0
