"""PRNet resfcn256 in Keras: architecture against the official checkpoint's variable list, and
loading a TF1-layout checkpoint by name."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from prnet_synth import prnet  # noqa: E402

SMALL = 64  # weights do not depend on the input size; keeps forward passes cheap


def _official_tsv(shared_dir):
    out = {}
    for line in (shared_dir / "docs" / "prnet_checkpoint_vars.tsv").read_text().splitlines():
        if not line or line.startswith("#") or line.startswith("name\t"):
            continue
        name, shape = line.split("\t")[:2]
        out[name] = tuple(int(v) for v in shape.strip("[]").split(","))
    return out


@pytest.fixture(scope="module")
def random_model():
    model = prnet.build_prnet(SMALL)
    rng = np.random.default_rng(5)
    for name, var in prnet.official_variable_map(model).items():
        shape = tuple(var.shape)
        if name.endswith("moving_variance"):
            val = rng.uniform(0.5, 2.0, shape)
        elif name.endswith("gamma"):
            val = rng.uniform(0.5, 1.5, shape)
        elif name.endswith(("beta", "moving_mean")):
            val = rng.normal(0.0, 0.1, shape)
        else:
            fan_in = np.prod(shape[:2]) * (shape[3] if "Conv2d_transpose" in name else shape[2])
            val = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
        var.assign(val.astype(np.float32))
    return model


def test_architecture_matches_official_checkpoint(random_model, shared_dir):
    names = prnet.official_variable_names(random_model)
    official = _official_tsv(shared_dir)
    assert len(official) == 245
    assert names == official
    # prnet.md: 13,353,618 trainable parameters, 11,890 BN moving statistics
    assert sum(int(np.prod(v.shape)) for v in random_model.trainable_weights) == 13_353_618
    assert sum(int(np.prod(v.shape)) for v in random_model.non_trainable_weights) == 11_890
    # no biases anywhere; the last layer is BN + sigmoid
    assert not [w.path for w in random_model.weights if "bias" in w.path]
    assert random_model.layers[-1].name == "Conv2d_transpose_16__Sigmoid"


def test_checkpoint_roundtrip_outputs_equal(random_model, tmp_path, shared_dir):
    prefix = prnet.save_official_checkpoint(random_model, tmp_path / "ckpt" / "256_256_resfcn256_weight")
    listed = dict((n, tuple(s)) for n, s in tf.train.list_variables(prefix))
    assert listed == _official_tsv(shared_dir)

    fresh = prnet.build_prnet(SMALL)
    x = np.random.default_rng(0).uniform(0, 1, (1, SMALL, SMALL, 3)).astype(np.float32)
    before = fresh(x, training=False).numpy()
    loaded = prnet.load_official_checkpoint(fresh, tmp_path / "ckpt")  # folder form
    assert len(loaded) == 245
    want = random_model(x, training=False).numpy()
    got = fresh(x, training=False).numpy()
    assert not np.allclose(before, want)
    np.testing.assert_array_equal(got, want)
    # every tensor really came from the file
    reader = tf.train.load_checkpoint(prefix)
    for name, var in prnet.official_variable_map(fresh).items():
        np.testing.assert_array_equal(var.numpy(), reader.get_tensor(name))


def _write_bundle(prefix, tensors: dict):
    names = sorted(tensors)
    tf.raw_ops.SaveV2(prefix=str(prefix), tensor_names=names, shape_and_slices=[""] * len(names),
                      tensors=[tf.constant(tensors[n]) for n in names])


def test_missing_and_mismatched_tensors_are_named(random_model, tmp_path):
    full = {n: v.numpy() for n, v in prnet.official_variable_map(random_model).items()}
    # optimiser slots as in the official bundle are ignored
    full_extra = dict(full)
    full_extra["resfcn256/Conv/weights/Adam"] = np.zeros((4, 4, 3, 16), np.float32)
    full_extra["beta1_power"] = np.float32(0.9)

    gone = "resfcn256/resBlock_7/Conv_1/BatchNorm/moving_mean"
    bad = dict(full_extra)
    del bad[gone]
    _write_bundle(tmp_path / "missing", bad)
    fresh = prnet.build_prnet(SMALL)
    with pytest.raises(prnet.CheckpointMismatchError, match=gone):
        prnet.load_official_checkpoint(fresh, tmp_path / "missing")

    wrong = "resfcn256/Conv2d_transpose_3/weights"
    bad = dict(full_extra)
    bad[wrong] = np.zeros((4, 4, 256, 128), np.float32)
    _write_bundle(tmp_path / "shape", bad)
    with pytest.raises(prnet.CheckpointMismatchError, match=wrong):
        prnet.load_official_checkpoint(fresh, tmp_path / "shape")
    # nothing was assigned by the failed loads
    for var in prnet.official_variable_map(fresh).values():
        if var.path.endswith("moving_variance"):
            np.testing.assert_array_equal(var.numpy(), 1.0)

    _write_bundle(tmp_path / "ok", full_extra)
    prnet.load_official_checkpoint(fresh, str(tmp_path / "ok") + ".index")


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="index"):
        prnet.load_official_checkpoint(None, tmp_path / "nothing_here")
    (tmp_path / "w.index").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="data-00000-of-00001"):
        prnet.load_official_checkpoint(None, tmp_path / "w")
