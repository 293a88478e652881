"""SavedModel and TFLite export of an enhancer: outputs agree with the Keras model."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from models.export import TFLiteModel, export_savedmodel, export_tflite, load_savedmodel, parity  # noqa: E402
from models.unet import build_enhancer_network  # noqa: E402


def _inputs(n, size, seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    out = np.ones((n, size, size, 1), np.float32)
    for i in range(n):
        face = ((x - 0.5) ** 2 + (y - 0.5) ** 2) < rng.uniform(0.08, 0.12)
        depth = 0.3 + 0.5 * ((x - 0.5) ** 2 + (y - 0.5) ** 2) + rng.normal(0, 0.01, x.shape)
        out[i, ..., 0][face] = depth[face]
    return out


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return build_enhancer_network("DL-Delta", width_multiplier=0.125, input_size=None)


def test_savedmodel_parity(model, tmp_path):
    x = _inputs(2, 128, 0)
    path = export_savedmodel(model, tmp_path / "sm")
    assert (path / "saved_model.pb").is_file()
    p = parity(model, load_savedmodel(path), x)
    assert p["max_abs"] < 1e-5


def test_tflite_parity(model, tmp_path):
    x = _inputs(3, 128, 1)
    ref = np.asarray(model(x))
    f32 = TFLiteModel(export_tflite(model, tmp_path / "f32.tflite", None, size=128))
    assert f32.input_shape == (1, 128, 128, 1)
    assert parity(model, f32, x)["max_abs"] < 1e-4
    f16 = TFLiteModel(export_tflite(model, tmp_path / "f16.tflite", "float16", size=128))
    assert parity(model, f16, x)["max_abs"] < 5e-3          # fp16 weights: ~3 significant digits
    with pytest.raises(ValueError, match="representative"):
        export_tflite(model, tmp_path / "i8.tflite", "int8", size=128)
    i8 = TFLiteModel(export_tflite(model, tmp_path / "i8.tflite", "int8", representative=[_inputs(4, 128, 2)], size=128))
    p = parity(model, i8, x)
    spread = float(ref.max() - ref.min())
    # 8-bit activations: the error must stay a small fraction of the output range (256 levels)
    assert p["rms"] < 0.05 * spread, (p, spread)
    assert (tmp_path / "i8.tflite").stat().st_size < (tmp_path / "f32.tflite").stat().st_size / 2
    with pytest.raises(ValueError, match="expects images of shape"):
        i8(np.zeros((1, 64, 64, 1), np.float32))
