"""Issue #21, item 1: Enhancer.enhance takes HxWx1 / NxHxWx1 as images, refuses other channel counts."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from experiments import enhancers as E

H = 65535
U = np.uint16


def _face(h=24, w=28, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.integers(20000, 20400, (h, w)).astype(U)
    d[10:13, 12:15] = H                       # a hole inside the face
    d[:, :2] = H                              # background at the left edge
    return d


@pytest.mark.parametrize("label", ["Sp-HfU", "De-M2", "Hf-L", "None"])
def test_hxwx1_is_one_image(label):
    enh = E.get_enhancer(label, backend="twin")
    d = _face()
    want = enh.enhance(d)
    got = enh.enhance(d[..., None])
    assert got.shape == d.shape + (1,) and got.dtype == np.uint16
    np.testing.assert_array_equal(got[..., 0], want)


def test_hxwx1_holes_are_filled_and_not_created():
    d = _face()[..., None]
    filled = E.get_enhancer("Sp-HfU", backend="twin").enhance(d)
    assert not np.any(filled[10:13, 12:15] == H)          # the inner hole is filled
    dec = E.get_enhancer("De-M2", backend="twin").enhance(d)
    assert np.mean(dec[:, 4:] == H) < 0.05                 # the face is not turned into holes


@pytest.mark.parametrize("label", ["Sp-HfU", "De-M8", "None"])
def test_nxhxwx1_is_a_batch(label):
    enh = E.get_enhancer(label, backend="twin")
    batch = np.stack([_face(seed=s) for s in range(3)])
    got = enh.enhance(batch[..., None])
    assert got.shape == batch.shape + (1,) and got.dtype == np.uint16
    np.testing.assert_array_equal(got[..., 0], enh.enhance(batch))
    assert enh.enhance(np.zeros((0, 8, 8, 1), U)).shape == (0, 8, 8, 1)


def test_dl_enhancer_keeps_the_channel_axis(monkeypatch):
    seen = []

    def model(x, training=False):
        seen.append(tuple(x.shape))
        return 1.0 - x

    monkeypatch.setitem(sys.modules, "models.unet",
                        types.SimpleNamespace(load_enhancer_model=lambda label, path=None, preset="quick": model,
                                              trained_depth_format=lambda weights: "fixed"))
    d = np.array([[0, H], [13107, 65534]], U)
    out = E.get_enhancer("DL-Beta").enhance(np.stack([d, d])[..., None])
    assert out.shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(out[1, ..., 0], [[H, 0], [52428, 1]])
    assert all(s[-1] == 1 and s[1:3] != (2, 1) for s in seen)


@pytest.mark.parametrize("shape, channels", [((24, 28, 3), 3), ((24, 28, 4), 4), ((2, 24, 28, 3), 3),
                                             ((1, 24, 28, 2), 2)])
def test_other_channel_counts_are_refused(shape, channels):
    enh = E.get_enhancer("Sp-HfU", backend="twin")
    with pytest.raises(ValueError, match=rf"{channels} channels.*{shape[-3]}, {shape[-2]}, {channels}"):
        enh.enhance(np.zeros(shape, U))


def test_narrow_batches_stay_batches():
    """NxHxW batches with a small last axis (e.g. 5 images of 2x2) are not read as channels."""
    d = np.array([[[0, H], [5, 6]]] * 5, U)
    out = E.get_enhancer("None").enhance(d)
    assert out.shape == (5, 2, 2)
    d3 = np.array([[[0, H, 7], [1, 2, 3]]] * 3, U)
    assert E.get_enhancer("Hf-L", backend="twin").enhance(d3).shape == (3, 2, 3)


def test_wrong_dtype_and_rank_still_refused():
    enh = E.get_enhancer("Sp-HfU", backend="twin")
    with pytest.raises(ValueError, match=r"dtype float32.*\(4, 4, 1\)"):
        enh.enhance(np.zeros((4, 4, 1), np.float32))
    with pytest.raises(ValueError, match=r"rank 5"):
        enh.enhance(np.zeros((1, 1, 4, 4, 1), U))
