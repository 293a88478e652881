"""DDRNet-dn port: architecture (shared/docs/ddrnet.md), loader of the official TF1 checkpoint format,
"weights missing" error. The real weights are not obtainable here: a self-made checkpoint with the
official variable names and shapes (plus dt_net and optimiser variables to ignore) is used."""
from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from models import ddrnet  # noqa: E402


def _write_official_checkpoint(folder, rng):
    """Write a TF1 checkpoint the way DDRNet's training (tf.train.Saver) does."""
    values = {}
    g = tf.Graph()
    with g.as_default():
        for var, (kshape, bshape) in ddrnet.DN_VARIABLES.items():
            for part, shape in (("weights", kshape), ("biases", bshape)):
                val = (rng.standard_normal(shape) * 0.05).astype(np.float32)
                values[f"{var}/{part}"] = val
                tf.compat.v1.get_variable(f"dn_net/{var}/{part}", initializer=val)
                tf.compat.v1.get_variable(f"Optimizer/dn_net/{var}/{part}/Adam", initializer=np.zeros(shape, np.float32))
        tf.compat.v1.get_variable("dt_net/cnv2/weights", initializer=np.ones((3, 3, 16, 16), np.float32))
        tf.compat.v1.get_variable("global_step", initializer=np.int64(6000))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(folder / "noBN_L1_sd100_B16"), global_step=6000)
    return values


def _reference_dn(x, w):
    """dn_net written directly with tf.nn ops from the table of ddrnet.md (NHWC, SAME)."""
    def conv(t, name, stride=1, act=tf.nn.relu):
        y = tf.nn.conv2d(t, w[name + "/weights"], stride, "SAME") + w[name + "/biases"]
        return act(y) if act else y

    def deconv(t, name):
        k = w[name + "/weights"]
        n, h, wd, _ = t.shape
        y = tf.nn.conv2d_transpose(t, k, [n, 2 * h, 2 * wd, k.shape[2]], 2, "SAME") + w[name + "/biases"]
        return tf.nn.relu(y)

    s0 = conv(x, "cnv0")
    s1 = conv(s0, "cnv_down0", 2)
    s2 = conv(s1, "cnv_down1", 2)
    r = s2
    for b in ("res0", "res1"):
        r = r + conv(conv(tf.nn.relu(r), b + "/conv1"), b + "/conv2", act=None)
    u0 = deconv(tf.concat([s2, r], -1), "cnv_up0")
    u1 = deconv(tf.concat([s1, u0], -1), "cnv_up1")
    f = conv(tf.concat([s0, u1], -1), "cnv_final", act=tf.tanh)
    return tf.clip_by_value(x + f, -1.0, 1.0)


def test_parameter_count_matches_ddrnet_doc():
    model = ddrnet.build_ddrnet_dn()
    expected = sum(int(np.prod(k)) + int(np.prod(b)) for k, b in ddrnet.DN_VARIABLES.values())
    assert expected == 868_001                                   # ddrnet.md, section 2
    assert model.count_params() == 868_001


def test_loader_reads_official_format_and_matches_reference(tmp_path):
    rng = np.random.default_rng(0)
    values = _write_official_checkpoint(tmp_path, rng)
    assert (tmp_path / "checkpoint").is_file()
    tensors = ddrnet.read_ddrnet_checkpoint(tmp_path)           # folder with the 'checkpoint' file
    assert set(tensors) == set(values)
    for k in values:
        np.testing.assert_array_equal(tensors[k], values[k])
    dn = ddrnet.set_dn_weights(ddrnet.build_ddrnet_dn(), tensors)
    x = rng.uniform(-1, 1, (2, 32, 40, 1)).astype(np.float32)
    ours = np.asarray(dn(x))
    ref = _reference_dn(tf.constant(x), {k: tf.constant(v) for k, v in values.items()}).numpy()
    np.testing.assert_allclose(ours, ref, atol=2e-5)

    # the full enhancer on the project's convention: shape kept, output in [0, 1]
    enh = ddrnet.load_ddrnet_dn(tmp_path / "noBN_L1_sd100_B16-6000")
    face = rng.uniform(0, 0.6, (1, 64, 64, 1)).astype(np.float32)
    face[:, :8] = 1.0
    out = np.asarray(enh(face))
    assert out.shape == face.shape and out.min() >= 0.0 and out.max() <= 1.0
    # the mapping by hand for one pixel path: with zero weights the net is the identity on [-1, 1]
    zero = {k: np.zeros_like(v) for k, v in values.items()}
    ident = ddrnet.build_ddrnet_dn_enhancer(ddrnet.set_dn_weights(ddrnet.build_ddrnet_dn(), zero))
    y = np.asarray(ident(face))
    inside = face < 1.0
    np.testing.assert_allclose(y[inside], face[inside], atol=1e-5)   # 700 + 250x mm is within [500, 2000]
    assert np.all(y[~inside] == 0.0)                                 # hole -> 0 mm -> 500 mm -> nearer than near_mm


def test_missing_weights_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights missing"):
        ddrnet.load_ddrnet_dn(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="weights missing"):
        ddrnet.load_ddrnet_dn(tmp_path)                          # empty folder
    with pytest.raises(FileNotFoundError, match="weights missing"):
        ddrnet.load_ddrnet_dn(None)


def test_wrong_checkpoint_is_refused(tmp_path):
    g = tf.Graph()
    with g.as_default():
        tf.compat.v1.get_variable("dn_net/cnv0/weights", initializer=np.zeros((3, 3, 1, 16), np.float32))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            saver.save(sess, str(tmp_path / "other"))
    with pytest.raises(ValueError, match="dn_net/cnv0/weights has shape"):
        ddrnet.read_ddrnet_checkpoint(tmp_path / "other")
