"""The PAD program's Keras and TFLite enhancer paths, with an identity network (exact expectation)."""
from __future__ import annotations

import json

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from experiments.datasets import realsense as rsio  # noqa: E402
from experiments.pad import realtime as rt  # noqa: E402
from experiments.pad.synthetic import detectable_face, make_sequence  # noqa: E402


@pytest.fixture(scope="module")
def identity_model():
    import keras

    inp = keras.Input((256, 256, 1))
    conv = keras.layers.Conv2D(1, 1, use_bias=True)
    out = conv(inp)
    conv.set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros((1,), np.float32)])
    return keras.Model(inp, out)


@pytest.fixture(scope="module")
def identity_tflite(identity_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("tfl") / "identity.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(identity_model).convert())
    return path


def _depth():
    rng = np.random.default_rng(0)
    d = rng.integers(0, 65535, (256, 256), dtype=np.uint16)
    d[10:20, 30:50] = 65535
    return d


def test_keras_and_tflite_identity_round_trip_exactly(identity_model, identity_tflite):
    d = _depth()
    for enh in (rt.KerasModelEnhancer(identity_model, "identity"), rt.TFLiteEnhancer(identity_tflite)):
        out = enh.enhance(d)
        assert out.dtype == np.uint16 and out.shape == d.shape
        np.testing.assert_array_equal(out, d)          # [0,1] float convention, holes 1.0 -> 65535
        np.testing.assert_array_equal(enh.enhance(np.stack([d, d[::-1]])), np.stack([d, d[::-1]]))


def test_tflite_bad_file(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.tflite"):
        rt.TFLiteEnhancer(bad)


def test_cli_with_tflite_enhancer(tmp_path, identity_tflite):
    colors, depths = make_sequence("bona_fide", 10, seed=3, face=detectable_face(seed=3))
    rec = rsio.write_recording(tmp_path / "b.db3", colors, depths)
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"window": 10, "min_frames": 6}))
    out = tmp_path / "out"
    rc = rt.main(["--source", str(rec), "--tflite", str(identity_tflite), "--config", str(cfg),
                  "--out", str(out), "--display", "off"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["enhancer_backend"] == "tflite" and s["frames"] == 10 and s["decision"] == rt.BONA_FIDE
    assert s["provenance"]["config"]["min_frames"] == 6
