"""Export the enhancers to SavedModel and TFLite (float32, float16, int8), and run TFLite models.

* ``export_savedmodel(model, out_dir)``: a TF SavedModel with a ``serve`` endpoint (float NxHxWx1).
* ``export_tflite(model, path, quantization=None|"float16"|"int8", representative=None, size=256)``:
  float16 = weights stored as fp16 (computed in fp32 on CPUs); int8 = full-integer quantisation of
  weights and activations, calibrated on ``representative`` (float NxHxWx1 images, e.g. degraded
  training pairs) with float input and output kept, so the interface stays float [0, 1].
* ``TFLiteModel(path, num_threads=None)``: callable like the Keras model on float NxHxWx1;
  ``resize_input(height, width)`` makes it take another image size (the one TFLite wrapper: the
  real-time PAD's ``TFLiteEnhancer`` runs through it).
* ``parity(keras_model, tflite_model, x)``: max and RMS difference of the outputs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

__all__ = ["export_savedmodel", "export_tflite", "TFLiteModel", "parity", "load_savedmodel"]


def _serving_fn(model, size: Optional[int]):
    import tensorflow as tf

    spec = tf.TensorSpec([None, size, size, 1], tf.float32, name="depth")

    @tf.function(input_signature=[spec])
    def serve(x):
        return model(x, training=False)

    return serve


def export_savedmodel(model, out_dir: os.PathLike | str, size: Optional[int] = None) -> Path:
    """Write ``model`` as a SavedModel with signature ``serving_default``: float NxHxWx1 -> NxHxWx1."""
    import tensorflow as tf

    out = Path(out_dir)
    module = tf.Module()
    module.model = model
    module.serve = _serving_fn(model, size)
    tmp = out.parent / f".{out.name}.tmp"
    if tmp.exists():
        import shutil
        shutil.rmtree(tmp)
    tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve})
    if out.exists():
        import shutil
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out


def load_savedmodel(path: os.PathLike | str):
    """A callable on float NxHxWx1 from a SavedModel written by ``export_savedmodel``."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures["serving_default"]

    def call(x):
        out = fn(depth=tf.convert_to_tensor(np.asarray(x, np.float32)))
        return next(iter(out.values())).numpy()

    call.loaded = loaded
    return call


def _fixed_size(model, size: int):
    """A copy of a functional model with a fixed 1 x size x size x C input (what TFLite wants)."""
    import keras

    fixed = keras.models.clone_model(model, input_tensors=keras.Input((size, size, model.input_shape[-1]), batch_size=1))
    fixed.set_weights(model.get_weights())
    return fixed


def export_tflite(model, path: os.PathLike | str, quantization: Optional[str] = None,
                  representative: Optional[Iterable[np.ndarray]] = None, size: int = 256) -> Path:
    """Convert ``model`` to a TFLite flatbuffer for inputs of ``size`` x ``size`` (batch 1, resizable).

    ``quantization``: None (float32), "float16", "dynamic" (int8 weights, float activations) or
    "int8" (needs ``representative``: float images NxHxWx1 or HxWx1 in [0, 1], a few dozen suffice)."""
    import tensorflow as tf

    from prnet_synth.atomic import atomic_write_bytes

    if quantization not in (None, "float16", "dynamic", "int8"):
        raise ValueError(f"quantization must be None, 'float16', 'dynamic' or 'int8', got {quantization!r}")
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints the whole signature
        converter = tf.lite.TFLiteConverter.from_keras_model(_fixed_size(model, size))
    if quantization == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization == "int8":
        if representative is None:
            raise ValueError("int8 quantisation needs a representative data set (float images in [0, 1])")
        images = [np.asarray(r, np.float32).reshape(-1, size, size, 1) for r in representative]
        images = [im[i:i + 1] for im in images for i in range(len(im))]
        if not images:
            raise ValueError("the representative data set is empty")

        def gen():
            for im in images:
                yield [im]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.float32
        converter.inference_output_type = tf.float32
    with contextlib.redirect_stdout(io.StringIO()):
        blob = converter.convert()
    return atomic_write_bytes(path, blob)


class TFLiteModel:
    """A TFLite model callable on float NxHxWx1 (run image by image; batch 1 is what the file holds).
    A file the interpreter cannot load is a ValueError naming it."""

    def __init__(self, path: os.PathLike | str, num_threads: Optional[int] = None):
        import tensorflow as tf

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no TFLite model")
        try:
            self.interpreter = tf.lite.Interpreter(model_path=str(self.path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"{self.path}: not a usable TFLite model ({exc})") from exc
        self._details()

    def _details(self) -> None:
        self._in = self.interpreter.get_input_details()[0]
        self._out = self.interpreter.get_output_details()[0]

    @property
    def input_shape(self):
        return tuple(self._in["shape"])

    def resize_input(self, height: int, width: int) -> None:
        """Take 1 x ``height`` x ``width`` x C images from now on (C: the file's channels)."""
        channels = int(self._in["shape"][-1])
        self.interpreter.resize_tensor_input(self._in["index"], [1, int(height), int(width), channels])
        self.interpreter.allocate_tensors()
        self._details()

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if x.ndim == 3:
            x = x[None]
        if tuple(x.shape[1:]) != tuple(self._in["shape"][1:]):
            raise ValueError(f"{self.path}: expects images of shape {tuple(self._in['shape'][1:])}, got {x.shape[1:]}")
        out = np.empty(x.shape[:3] + (self._out["shape"][-1],), np.float32)
        for i in range(len(x)):
            self.interpreter.set_tensor(self._in["index"], x[i:i + 1])
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self._out["index"])[0]
        return out


def parity(reference, candidate, x) -> dict:
    """Max and RMS absolute difference between two models' outputs on ``x`` (float NxHxWx1)."""
    a = np.asarray(reference(x), np.float64)
    b = np.asarray(candidate(x), np.float64)
    d = a - b
    return {"max_abs": float(np.abs(d).max()), "rms": float(np.sqrt(np.mean(d * d)))}
