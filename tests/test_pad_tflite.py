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


# ----------------------------------------------------------------------------- issue 22: one TFLite wrapper
@pytest.fixture(scope="module")
def mixing_tflite(tmp_path_factory):
    """A 3x3 conv with fixed random weights (not the identity: neighbours mix), exported for 256 px."""
    import keras

    inp = keras.Input((256, 256, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")
    out = conv(inp)
    rng = np.random.default_rng(1)
    conv.set_weights([rng.normal(0, 0.5, (3, 3, 1, 1)).astype(np.float32), np.array([0.1], np.float32)])
    path = tmp_path_factory.mktemp("tfl") / "mixing.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out)).convert())
    return path


def _interpreter_reference(path, frames, face_range=False):
    """The real-time PAD's TFLite path as it was before it used models.export.TFLiteModel: its own
    tf.lite.Interpreter, resized to the frame size, invoked frame by frame."""
    from degrade.groundtruth import face_range_scale, face_range_unscale
    from prnet_synth.conventions import from_float, to_float

    h, w = frames.shape[1:]
    it = tf.lite.Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.resize_tensor_input(it.get_input_details()[0]["index"], [1, h, w, 1])
    it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    if face_range:
        frames, lo, hi = face_range_scale(frames)
    out = np.empty(frames.shape, np.uint16)
    for k, f in enumerate(frames):
        it.set_tensor(i["index"], to_float(f)[None, ..., None])
        it.invoke()
        out[k] = from_float(np.asarray(it.get_tensor(o["index"]), np.float32).reshape(h, w))
    return face_range_unscale(out, lo, hi) if face_range else out


@pytest.mark.parametrize("face_range", [False, True])
@pytest.mark.parametrize("size", [(256, 256), (120, 160)])
def test_tflite_enhancer_matches_its_former_interpreter_path(mixing_tflite, size, face_range):
    rng = np.random.default_rng(2)
    frames = rng.integers(1000, 40000, (3,) + size, dtype=np.uint16)
    frames[:, 5:15, 7:30] = 65535
    enh = rt.TFLiteEnhancer(mixing_tflite, face_range=face_range)
    got = enh.enhance(frames)
    np.testing.assert_array_equal(got, _interpreter_reference(mixing_tflite, frames, face_range))
    np.testing.assert_array_equal(enh.enhance(frames[1]), got[1])     # one HxW frame, same size again


def test_tflite_enhancer_runs_through_the_export_wrapper(identity_tflite):
    import ast
    import inspect

    from models.export import TFLiteModel

    enh = rt.TFLiteEnhancer(identity_tflite, threads=2)
    assert isinstance(enh.model, TFLiteModel)
    d = _depth()[:96, :128]                                   # another size than the file's 256 x 256
    np.testing.assert_array_equal(enh.enhance(d), d)
    assert enh.model.input_shape == (1, 96, 128, 1)
    np.testing.assert_array_equal(enh.enhance(_depth()), _depth())   # and back
    # realtime.py builds no interpreter of its own
    calls = [n for n in ast.walk(ast.parse(inspect.getsource(rt))) if isinstance(n, ast.Attribute) and n.attr == "Interpreter"]
    assert calls == []


def test_tflite_model_resizes_and_names_a_bad_file(identity_tflite, tmp_path):
    from models.export import TFLiteModel

    m = TFLiteModel(identity_tflite)
    x = np.random.default_rng(3).random((2, 40, 56, 1)).astype(np.float32)
    with pytest.raises(ValueError, match="expects images of shape"):
        m(x)                                                  # no silent resize: the call stays strict
    m.resize_input(40, 56)
    assert m.input_shape == (1, 40, 56, 1)
    np.testing.assert_array_equal(m(x), x)
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="broken.tflite: not a usable TFLite model"):
        TFLiteModel(bad)


def test_the_pad_program_enhancers_are_enhancers_of_the_one_interface(identity_model, identity_tflite):
    """Issue 22: the real-time PAD's Keras and TFLite wrappers are ``experiments.enhancers.Enhancer``s:
    the interface's checks (an HxWx1 frame is accepted, an RGB frame or float depth refused with the
    enhancer named) and its hole-in, hole-out conversions, not copies of them."""
    from experiments.enhancers import Enhancer

    frame = np.full((16, 16), 4000, np.uint16)
    frame[3, 4] = 65535
    for enh in (rt.KerasModelEnhancer(identity_model, "identity"), rt.TFLiteEnhancer(identity_tflite)):
        assert isinstance(enh, Enhancer)
        out = enh.enhance(frame[..., None])
        assert out.shape == (16, 16, 1) and out.dtype == np.uint16
        assert out[3, 4, 0] == 65535 and abs(int(out[0, 0, 0]) - 4000) <= 1
        with pytest.raises(ValueError, match="channel"):
            enh.enhance(np.zeros((16, 16, 3), np.uint16))
        with pytest.raises(ValueError, match=f"{enh.label}.*uint16"):
            enh.enhance(frame.astype(np.float32))
