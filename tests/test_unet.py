"""U-Net enhancers: Table III parameter counts (000_5d0e6bc7884ed0ba.txt), layouts, FLOP counter, loader."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from models import unet  # noqa: E402
from models.unet import (LAYOUTS, TABLE_III, UNetLayout, build_enhancer_network, build_unet,  # noqa: E402
                         conv_flops, load_enhancer_model, trainable_count)


@pytest.mark.parametrize("label", ["DL-Beta", "DL-Gamma", "DL-Delta"])
def test_trainable_counts_equal_table_iii(label):
    model = build_enhancer_network(label)
    assert trainable_count(model) == TABLE_III[label]
    assert model.input_shape == (None, 256, 256, 1) and model.output_shape == (None, 256, 256, 1)


def test_alpha_is_the_documented_near_layout():
    """No plausible exact layout exists for 6,731,041 (docs/notes/50_unets.md); the chosen near one
    has 6,733,649 trainable parameters: +2,608 (+0.039 %)."""
    model = build_enhancer_network("DL-Alpha")
    n = trainable_count(model)
    assert n == 6_733_649
    assert n - TABLE_III["DL-Alpha"] == 2_608
    assert abs(n - TABLE_III["DL-Alpha"]) / TABLE_III["DL-Alpha"] < 0.001


def test_layout_relations_stated_in_iv_c():
    # Gamma = the same network with 5x5 instead of 3x3 kernels; Beta = more filters; 3x3 elsewhere
    assert LAYOUTS["DL-Gamma"] == UNetLayout(**{**LAYOUTS["DL-Delta"].__dict__, "kernel": 5})
    assert all(b > d for b, d in zip(LAYOUTS["DL-Beta"].widths, LAYOUTS["DL-Delta"].widths))
    assert {LAYOUTS[l].kernel for l in ("DL-Alpha", "DL-Beta", "DL-Delta")} == {3}
    # the analytic count (k*k*cin*cout + cout per conv) agrees with the Table III values
    for label in ("DL-Beta", "DL-Gamma", "DL-Delta"):
        assert LAYOUTS[label].param_count() == TABLE_III[label]


def test_tiny_layout_by_hand():
    # one level of width 2, bottleneck 4, 3x3: enc 1->2 (20) 2->2 (38); bottleneck 2->4 (76) 4->4 (148);
    # decoder concat 4+2 -> 2 (110), 2->2 (38); head 2->1 (3): 433 parameters
    layout = UNetLayout(widths=(2,), bottleneck=4)
    model = build_unet(layout, 8, "tiny")
    assert layout.param_count() == 433 == trainable_count(model)
    # FLOPs at 8x8: 2 * (9*1*2*64 + 9*2*2*64 + 9*2*4*16 + 9*4*4*16 + 9*6*2*64 + 9*2*2*64 + 2*64)
    expected = 2 * (9 * 1 * 2 * 64 + 9 * 2 * 2 * 64 + 9 * 2 * 4 * 16 + 9 * 4 * 4 * 16 + 9 * 6 * 2 * 64
                    + 9 * 2 * 2 * 64 + 2 * 64)
    assert conv_flops(model, 8, 8) == expected
    # transposed conv with BN: up-conv 2x2 4->2 (2*2*4*2 + 2 = 34) + BN (4); decoder concat 2+2 -> 2 (74), 2->2 (38);
    # BN after each of the 6 convs: 2 * (2 + 2 + 4 + 4 + 2 + 2) = 32
    layout_t = UNetLayout(widths=(2,), bottleneck=4, upsampling="transpose", batchnorm=True)
    assert layout_t.param_count() == 20 + 38 + 76 + 148 + 34 + 4 + 74 + 38 + 3 + 32 == 467
    assert trainable_count(build_unet(layout_t, 8)) == layout_t.param_count()


def test_width_multiplier_and_flexible_size():
    model = build_enhancer_network("DL-Delta-3", width_multiplier=0.0625, input_size=None)
    assert model.layers[1].filters == 1                                         # 16 * 1/16
    x = np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 1)).astype(np.float32)
    assert np.asarray(model(x)).shape == (2, 128, 128, 1)
    wide = build_enhancer_network("DL-Delta", width_multiplier=0.125, input_size=None, min_width=4)
    assert [l.filters for l in wide.layers if l.name in ("enc0_conv0", "enc1_conv0", "enc3_conv0")] == [4, 4, 16]
    with pytest.raises(ValueError, match="multiple of 128"):
        build_enhancer_network("DL-Delta", input_size=96)
    with pytest.raises(ValueError, match="unknown U-Net enhancer label"):
        build_enhancer_network("DL-Epsilon")


def test_load_enhancer_model(results_tmp):
    from prnet_synth.paths import weights_path

    with pytest.raises(FileNotFoundError, match="python -m models.train_enhancers --preset quick --labels DL-Delta-2"):
        load_enhancer_model("DL-Delta-2")
    model = build_enhancer_network("DL-Delta-2", width_multiplier=0.0625, input_size=None)
    path = weights_path("DL-Delta-2", "quick")
    path.parent.mkdir(parents=True)
    model.save(path)
    loaded = load_enhancer_model("DL-Delta-2")
    x = np.random.default_rng(1).uniform(0, 1, (1, 256, 256, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    bad = results_tmp / "bad.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.keras"):
        load_enhancer_model("DL-Alpha", path=bad)


def test_registry_uses_the_loader(results_tmp):
    """experiments.enhancers (the foundation registry) loads the weights written at weights_path."""
    enh_mod = pytest.importorskip("experiments.enhancers")
    from prnet_synth.paths import weights_path

    model = build_enhancer_network("DL-Gamma", width_multiplier=0.0625, input_size=None)
    weights_path("DL-Gamma", "quick").parent.mkdir(parents=True)
    model.save(weights_path("DL-Gamma", "quick"))
    enh = enh_mod.get_enhancer("DL-Gamma", preset="quick")
    depth = np.full((2, 256, 256), 65535, np.uint16)
    depth[:, 64:192, 64:192] = 20000
    out = enh.enhance(depth)
    assert out.shape == depth.shape and out.dtype == np.uint16
    expect = np.rint(np.clip(np.asarray(model(depth[..., None].astype(np.float32) / 65535.0))[..., 0], 0, 1) * 65535)
    assert np.abs(out.astype(np.int64) - expect.astype(np.int64)).max() <= 1
