"""experiments.enhancers: registry, interface contract, hand-computed enhancer outputs, DL loading."""
from __future__ import annotations

import logging
import sys
import types

import cv2
import numpy as np
import pytest

from experiments import enhancers as E
from experiments import realsense_filters as RF

H = 65535
U = np.uint16
PAPER_LABELS = ("None", "De-M2", "De-M8", "Hf-FFA", "Hf-NFA", "Hf-L", "Sp-Hf16", "Sp-HfU", "DL-Alpha",
                "DL-Beta", "DL-Gamma", "DL-Delta-1", "DL-Delta-2", "DL-Delta-3", "DL-Delta-4", "DDRNet-dn")


def test_labels_are_the_papers():
    assert set(E.LABELS) == set(PAPER_LABELS) and len(E.LABELS) == 16
    for label in E.LABELS:
        assert E.get_enhancer(label).label == label


def test_registry_errors():
    with pytest.raises(KeyError, match="De-M4"):
        E.get_enhancer("De-M4")
    with pytest.raises(TypeError, match="colour"):
        E.get_enhancer("None", colour=True)
    with pytest.raises(ValueError, match="backend"):
        E.get_enhancer("Hf-L", backend="gpu")
    # shared keywords are accepted by every label
    for label in E.LABELS:
        E.get_enhancer(label, backend="twin", preset="paper", batch_size=4, weights=None)


@pytest.mark.parametrize("label", ["None"] + list(E.HANDCRAFTED_LABELS))
def test_shape_dtype_and_batch(label):
    rng = np.random.default_rng(0)
    batch = rng.integers(1000, 1300, (3, 32, 40)).astype(U)
    batch[rng.random(batch.shape) < 0.2] = H
    keep = batch.copy()
    enh = E.get_enhancer(label, backend="twin")
    out = enh.enhance(batch)
    assert out.shape == batch.shape and out.dtype == np.uint16
    single = enh.enhance(batch[1])
    assert single.shape == (32, 40) and single.dtype == np.uint16
    np.testing.assert_array_equal(single, out[1])
    np.testing.assert_array_equal(batch, keep)          # input untouched
    assert E.get_enhancer(label).enhance(np.zeros((0, 8, 8), U)).shape == (0, 8, 8)


@pytest.mark.parametrize("label", ["None", "Hf-L", "DL-Alpha"])
def test_wrong_dtype_or_rank(label):
    enh = E.get_enhancer(label, backend="twin")
    with pytest.raises(ValueError, match=r"dtype float32.*\(4, 4\)"):
        enh.enhance(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match=r"dtype uint8"):
        enh.enhance(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"3 channels.*\(1, 4, 4, 3\)"):
        enh.enhance(np.zeros((1, 4, 4, 3), U))
    with pytest.raises(ValueError, match=r"rank 1"):
        enh.enhance(np.zeros(4, U))


def test_none_is_identity_copy():
    d = np.array([[0, H], [5, 6]], U)
    out = E.get_enhancer("None").enhance(d)
    np.testing.assert_array_equal(out, d)
    assert out is not d


# ----------------------------------------------------------------------------- hand-computed outputs
def test_hole_filling_left_in_paper_convention():
    d = np.array([[H, 7, H, H, 9],
                  [5, H, 0, H, H]], U)
    out = E.get_enhancer("Hf-L", backend="twin").enhance(d)
    # row start hole stays; others copy the (filled) left neighbour; a valid 0 becomes 1 (RealSense)
    np.testing.assert_array_equal(out, [[H, 7, 7, 7, 9], [5, 5, 1, 1, 1]])


def test_hole_filling_farest_and_nearest():
    d = np.array([[10, 20, 30],
                  [40, H, H],
                  [50, 60, 70]], U)
    # (1,1): neighbours up 20, up-left 10, left 40, down-left 50, down 60
    # (1,2): up 30, up-left 20, left (filled), down-left 60, down 70
    far = E.get_enhancer("Hf-FFA", backend="twin").enhance(d)
    np.testing.assert_array_equal(far, [[10, 20, 30], [40, 60, 70], [50, 60, 70]])
    near = E.get_enhancer("Hf-NFA", backend="twin").enhance(d)
    np.testing.assert_array_equal(near, [[10, 20, 30], [40, 10, 10], [50, 60, 70]])
    # nearest starts from "up": a hole under a hole stays
    d2 = np.array([[10, H, 30], [40, H, H], [50, 60, 70]], U)
    np.testing.assert_array_equal(E.get_enhancer("Hf-NFA", backend="twin").enhance(d2)[1, 1], H)


def test_decimation_median_and_hole_aware_upscaling():
    d = np.array([[100, 90, H, H],
                  [110, 300, H, H],
                  [300, H, 500, 400],
                  [H, H, 600, H]], U)
    # blocks (lower median of the valid pixels): [[100, hole], [300, 500]]
    a, c, dd = 100.0, 300.0, 500.0
    # output row/col y reads low-res coordinate (y + 0.5)/2 - 0.5 -> clamp(-0.25)=0, 0.25, 0.75, clamp(1.25)=1
    w = {0: (1.0, 0.0), 1: (0.75, 0.25), 2: (0.25, 0.75), 3: (0.0, 1.0)}

    def expect(y, x):
        (wy0, wy1), (wx0, wx1) = w[y], w[x]
        num = wy0 * wx0 * a + wy1 * wx0 * c + wy1 * wx1 * dd   # the hole (0,1) is left out
        den = wy0 * wx0 + wy1 * wx0 + wy1 * wx1
        return H if den == 0 else int(np.rint(num / den))

    want = np.array([[expect(y, x) for x in range(4)] for y in range(4)], U)
    assert want[0, 3] == H and want[1, 1] == 177          # 143.75 / 0.8125 = 176.9
    out = E.get_enhancer("De-M2", backend="twin").enhance(d)
    np.testing.assert_array_equal(out, want)


def test_decimation_mean_for_magnitude_8():
    d = np.full((16, 16), 1000, U)
    d[:8, :8] = np.arange(64, dtype=U).reshape(8, 8) + 1000   # mean 1031.5 -> integer mean 1031
    d[:8, 8:] = H
    d[:8, 8] = 2000                                           # one valid column in block (0,1)
    d[8:, 8:] = H                                             # block (1,1) has no valid pixel
    from experiments.realsense_twin import decimate

    low = decimate(np.where(d == H, 0, d).astype(U), 8)
    np.testing.assert_array_equal(low, [[1031, 2000], [1000, 0]])
    out = E.get_enhancer("De-M8", backend="twin").enhance(d)
    assert out.shape == (16, 16)
    assert out[0, 0] == 1031 and out[0, 15] == 2000 and out[15, 0] == 1000
    # coordinates >= 12 clamp onto the empty block only: it stays a hole there
    assert (out[12:, 12:] == H).all() and (out[:12] != H).all() and (out[:, :12] != H).all()
    # (11, 11) reads low-res (0.9375, 0.9375): weights 1/16 and 15/16 per axis, the hole left out
    a, b = 1 / 16, 15 / 16
    num = a * a * 1031 + a * b * 2000 + b * a * 1000
    assert out[11, 11] == int(np.rint(num / (a * a + 2 * a * b)))


def test_upscale_matches_opencv_without_holes():
    rng = np.random.default_rng(5)
    low = rng.integers(0, 60000, (8, 6)).astype(U)
    for s in (2, 8):
        ours = E.upscale_bilinear_valid(low, (8 * s, 6 * s), s)
        ref = cv2.resize(low.astype(np.float64), (6 * s, 8 * s), interpolation=cv2.INTER_LINEAR)
        assert np.abs(ours.astype(np.float64) - ref).max() <= 0.5 + 1e-6


def test_spatial_smooths_and_fills():
    row = np.array([[1000, 1010, H, H, 1020, 1200]], U).repeat(3, 0)
    out = E.get_enhancer("Sp-HfU", backend="twin").enhance(row)
    assert (out[:, :5] != H).all()                 # holes inside the row are filled
    assert out[1, 5] == 1200                       # the last column is never smoothed (step 180 > delta)
    assert out[1, 0] != 1000 or out[1, 1] != 1010  # values within delta are blended


# ----------------------------------------------------------------------------- backends
def test_auto_backend_falls_back_to_twin_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(RF, "_rs", None)
    monkeypatch.setattr(RF, "_rs_error", "pyrealsense2 cannot be imported: simulated")
    monkeypatch.setattr(RF, "_warned", False)
    with caplog.at_level(logging.WARNING, logger="experiments.realsense_filters"):
        e1 = E.get_enhancer("Sp-Hf16")
        e2 = E.get_enhancer("Hf-L")
    assert e1.backend == "twin" and e2.backend == "twin"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "twin" in warnings[0].getMessage() and "simulated" in warnings[0].getMessage()
    with pytest.raises(ImportError, match="simulated"):
        E.get_enhancer("Hf-L", backend="sdk")


# ----------------------------------------------------------------------------- deep-learning labels
class _FakeModel:
    """Stands in for a keras model: float NxHxWx1 in [0,1] -> 1 - x (holes 1.0 -> 0.0)."""

    def __init__(self):
        self.batches = []

    def __call__(self, x, training=False):
        assert x.dtype == np.float32 and x.ndim == 4 and x.shape[-1] == 1 and not training
        self.batches.append(len(x))
        return 1.0 - x


def test_dl_enhancer_converts_and_batches(monkeypatch):
    fake = _FakeModel()
    calls = []

    def load_enhancer_model(label, path=None, preset="quick"):
        calls.append((label, path, preset))
        return fake

    monkeypatch.setitem(sys.modules, "models.unet", types.SimpleNamespace(load_enhancer_model=load_enhancer_model,
                                                                         trained_depth_format=lambda weights: "fixed"))
    enh = E.get_enhancer("DL-Delta-2", preset="paper", batch_size=2, weights="w.keras")
    batch = np.array([[[0, H], [13107, 65534]]] * 5, U)
    out = enh.enhance(batch)
    assert calls == [("DL-Delta-2", "w.keras", "paper")]
    assert fake.batches == [2, 2, 1]
    np.testing.assert_array_equal(out[0], [[H, 0], [52428, 1]])
    enh.enhance(batch[0])
    assert len(calls) == 1                      # loaded once


def test_dl_enhancer_missing_weights_or_module(monkeypatch):
    def missing(label, path=None, preset="quick"):
        raise FileNotFoundError(f"no weights for {label}")

    monkeypatch.setitem(sys.modules, "models.unet", types.SimpleNamespace(load_enhancer_model=missing))
    enh = E.get_enhancer("DL-Beta")
    with pytest.raises(E.EnhancerUnavailableError, match=r"DL-Beta.*no weights.*train"):
        enh.enhance(np.zeros((4, 4), U))
    monkeypatch.setitem(sys.modules, "models.unet", None)     # the module cannot be imported
    with pytest.raises(E.EnhancerUnavailableError, match=r"DL-Alpha.*models\.unet.*train"):
        E.get_enhancer("DL-Alpha").enhance(np.zeros((4, 4), U))
    monkeypatch.setitem(sys.modules, "models.ddrnet", None)
    with pytest.raises(E.EnhancerUnavailableError, match=r"DDRNet-dn.*ddrnet\.md"):
        E.get_enhancer("DDRNet-dn").enhance(np.zeros((4, 4), U))


def test_ddrnet_loader_gets_the_path(monkeypatch, results_tmp):
    seen = []

    def load_ddrnet_dn(path):
        seen.append(path)
        return _FakeModel()

    monkeypatch.setitem(sys.modules, "models.ddrnet", types.SimpleNamespace(load_ddrnet_dn=load_ddrnet_dn))
    E.get_enhancer("DDRNet-dn", weights="ddr.ckpt").enhance(np.zeros((2, 2), U))
    E.get_enhancer("DDRNet-dn", preset="paper").enhance(np.zeros((2, 2), U))
    assert seen[0] == "ddr.ckpt"
    assert str(seen[1]).startswith(str(results_tmp)) and "DDRNet-dn" in str(seen[1])


def test_dl_enhancer_with_a_real_keras_model(monkeypatch):
    keras = pytest.importorskip("keras")
    inp = keras.Input((None, None, 1))
    out = keras.layers.Conv2D(1, 1, kernel_initializer=keras.initializers.Constant(-1.0),
                              bias_initializer=keras.initializers.Constant(1.0))(inp)
    model = keras.Model(inp, out)                     # y = 1 - x

    monkeypatch.setitem(sys.modules, "models.unet",
                        types.SimpleNamespace(load_enhancer_model=lambda label, path=None, preset="quick": model,
                                              trained_depth_format=lambda weights: "fixed"))
    batch = np.array([[[0, H, 13107], [26214, 1, 65534]]] * 3, U)
    res = E.get_enhancer("DL-Gamma", batch_size=2).enhance(batch)
    assert res.shape == batch.shape and res.dtype == np.uint16
    np.testing.assert_array_equal(res[2], [[H, 0, 52428], [39321, 65534, 1]])
