"""The inference form of the U-Nets (models.inference): layouts read back, batch-norm folded exactly."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from models import inference as I  # noqa: E402
from models.unet import LAYOUTS, UNetLayout, build_enhancer_network, build_unet, scaled_layout  # noqa: E402


def _randomise_batchnorm(model, seed=0):
    """Moving statistics and affine weights far from the identity, so a wrong fold shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 2.0, n), rng.normal(0, 0.2, n), rng.normal(0, 0.2, n),
                               rng.uniform(0.3, 3.0, n)])


@pytest.mark.parametrize("label", sorted(LAYOUTS))
def test_layout_read_back(label):
    assert I.layout_of(build_enhancer_network(label, width_multiplier=0.125, input_size=None)) == \
        scaled_layout(label, 0.125)


def test_layout_of_rejects_other_models():
    inp = keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match="not a U-Net"):
        I.layout_of(keras.Model(inp, keras.layers.Conv2D(1, 1)(inp), name="plain"))


def test_fold_by_hand():
    """One level, width 1: every conv and BN is a scalar affine map, so the fold can be checked by hand."""
    model = build_unet(UNetLayout(widths=(1,), bottleneck=1, kernel=1, enc_convs=1, dec_convs=1,
                                  bottleneck_convs=1, upsampling="transpose", up_kernel=2, batchnorm=True),
                       None, "tiny")
    model.get_layer("enc0_conv0").set_weights([np.full((1, 1, 1, 1), 2.0, np.float32), np.array([1.0], np.float32)])
    # gamma 3, beta 0.5, mean 1, var 3 (epsilon 1e-3): s = 3 / sqrt(3.001)
    model.get_layer("enc0_bn0").set_weights([np.array([3.0]), np.array([0.5]), np.array([1.0]), np.array([3.0])])
    folded = I.fold_batchnorm(model)
    k, b = folded.get_layer("enc0_conv0").get_weights()
    s = 3.0 / np.sqrt(3.0 + model.get_layer("enc0_bn0").epsilon)
    assert k.ravel()[0] == pytest.approx(2.0 * s, rel=1e-6)
    assert b[0] == pytest.approx((1.0 - 1.0) * s + 0.5, abs=1e-6)
    assert not [layer for layer in folded.layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_fold_matches_the_network_with_batchnorm():
    """DL-Alpha's layout (the one with BatchNormalization, transposed convs) at 1/8 width."""
    model = build_enhancer_network("DL-Alpha", width_multiplier=0.125, input_size=None)
    _randomise_batchnorm(model)
    x = np.random.default_rng(1).uniform(0, 1, (3, 64, 64, 1)).astype(np.float32)
    want = model(x, training=False).numpy()
    folded = I.fold_batchnorm(model)
    assert len(folded.layers) < len(model.layers)
    got = folded(x, training=False).numpy()
    scale = np.abs(want).max()
    assert scale > 1e-3
    np.testing.assert_allclose(got, want, atol=1e-5 * scale, rtol=0)
    infer = I.compile_for_inference(model)
    np.testing.assert_allclose(np.asarray(infer(x)), want, atol=1e-5 * scale, rtol=0)
    np.testing.assert_allclose(np.asarray(infer(x[:1, :32, :32])), model(x[:1, :32, :32], training=False).numpy(),
                               atol=1e-5 * scale, rtol=0)                 # another size: retraced, still right


def test_networks_without_batchnorm_are_unchanged():
    model = build_enhancer_network("DL-Delta", width_multiplier=0.0625, input_size=None)
    assert I.fold_batchnorm(model) is model
    x = np.random.default_rng(2).uniform(0, 1, (2, 128, 128, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(I.compile_for_inference(model)(x)), model(x, training=False).numpy(),
                               atol=1e-6, rtol=0)


def test_other_models_and_callables_run_as_they_are():
    inp = keras.Input((None, None, 1))
    out = keras.layers.Conv2D(1, 1, kernel_initializer=keras.initializers.Constant(-1.0),
                              bias_initializer=keras.initializers.Constant(1.0))(inp)
    x = np.full((1, 4, 4, 1), 0.25, np.float32)
    np.testing.assert_allclose(np.asarray(I.compile_for_inference(keras.Model(inp, out))(x)), 0.75)
    seen = []
    assert I.compile_for_inference(lambda t, training=False: seen.append(training) or t * 2)(x).max() == 0.5
    assert seen == [False]
