"""Issue #21, item 5: the DL enhancers take any image size (padded with holes to the U-Net's multiple,
cropped back), refuse weights trained for another label, and validate preset names."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from experiments import enhancers as E  # noqa: E402
from models import inference as I  # noqa: E402
from models.enhancer_presets import PRESETS  # noqa: E402
from models.unet import build_enhancer_network, load_enhancer_model, size_multiple  # noqa: E402
from prnet_synth.paths import weights_path  # noqa: E402

H = 65535


def _face(h, w, seed=0):
    rng = np.random.default_rng(seed)
    d = np.full((h, w), H, np.uint16)
    d[h // 5: h - h // 5, w // 6: w - w // 6] = rng.integers(18000, 26000, (h - 2 * (h // 5), w - 2 * (w // 6)))
    return d


def _save(model, label, preset="quick"):
    p = weights_path(label, preset)
    p.parent.mkdir(parents=True, exist_ok=True)
    model.save(p)
    return p


def _padded_reference(model, depth, multiple):
    """What the enhancer must return: the model on the image padded (bottom/right) with holes, cropped."""
    n, h, w = depth.shape
    ph, pw = -h % multiple, -w % multiple
    x = np.pad(depth, ((0, 0), (0, ph), (0, pw)), constant_values=H).astype(np.float32)[..., None] / 65535.0
    y = np.asarray(model(x, training=False))[:, :h, :w, 0]
    return np.rint(np.clip(y, 0, 1) * 65535).astype(np.int64)


@pytest.mark.parametrize("label, shape", [("DL-Delta-1", (2, 200, 180)), ("DL-Alpha", (1, 100, 70)),
                                          ("DL-Gamma", (1, 256, 300))])
def test_any_size_is_padded_and_cropped(results_tmp, label, shape):
    model = build_enhancer_network(label, width_multiplier=0.0625, input_size=None, min_width=2)
    _save(model, label)
    depth = np.stack([_face(*shape[1:], seed=s) for s in range(shape[0])])
    out = E.get_enhancer(label).enhance(depth)
    assert out.shape == depth.shape and out.dtype == np.uint16
    want = _padded_reference(model, depth, size_multiple(label))
    assert np.abs(out.astype(np.int64) - want).max() <= 2


def test_multiple_sizes_keep_the_256_result(results_tmp):
    """A 256x256 image is not padded: the result is the plain model's."""
    model = build_enhancer_network("DL-Delta-2", width_multiplier=0.0625, input_size=None)
    _save(model, "DL-Delta-2")
    depth = _face(256, 256)[None]
    out = E.get_enhancer("DL-Delta-2").enhance(depth).astype(np.int64)
    plain = np.rint(np.clip(np.asarray(model(depth[..., None].astype(np.float32) / 65535.0))[..., 0], 0, 1) * 65535)
    assert np.abs(out - plain).max() <= 1


def test_compile_for_inference_pads(results_tmp):
    model = build_enhancer_network("DL-Beta", width_multiplier=0.0625, input_size=None)
    x = np.random.default_rng(3).uniform(0, 1, (2, 96, 160, 1)).astype(np.float32)
    y = np.asarray(I.compile_for_inference(model)(x))
    assert y.shape == x.shape
    xp = np.pad(x, ((0, 0), (0, 32), (0, 96), (0, 0)), constant_values=1.0)
    np.testing.assert_allclose(y, np.asarray(model(xp, training=False))[:, :96, :160], atol=1e-5)
    assert I.size_multiple_of(model) == 128
    assert I.size_multiple_of(build_enhancer_network("DL-Alpha", width_multiplier=0.0625, input_size=None)) == 32


def test_fixed_size_models(results_tmp):
    model = build_enhancer_network("DL-Delta", width_multiplier=0.0625, input_size=128)
    infer = I.compile_for_inference(model)
    assert np.asarray(infer(np.full((1, 100, 90, 1), 0.5, np.float32))).shape == (1, 100, 90, 1)
    with pytest.raises(ValueError, match=r"128x128.*200x90"):
        infer(np.full((1, 200, 90, 1), 0.5, np.float32))


# ----------------------------------------------------------------------------- weights of another label
def test_weights_of_another_label_are_refused(results_tmp):
    delta2 = _save(build_enhancer_network("DL-Delta-2", width_multiplier=0.0625, input_size=None), "DL-Delta-2")
    with pytest.raises(ValueError, match=r"DL-Delta-2.keras.*DL-Delta-2.*not.*DL-Delta-3"):
        load_enhancer_model("DL-Delta-3", path=delta2)
    with pytest.raises(ValueError, match=r"DL-Delta-2.*DL-Delta-3"):
        E.get_enhancer("DL-Delta-3", weights=delta2).enhance(_face(128, 128))
    # the quick preset's DL-Beta (x0.25) has exactly the level widths of its DL-Delta (x0.5)
    beta = _save(build_enhancer_network("DL-Beta", width_multiplier=0.25, input_size=None, name="DL_Beta"), "DL-Beta")
    with pytest.raises(ValueError, match=r"DL-Beta.*not.*DL-Delta-1"):
        load_enhancer_model("DL-Delta-1", path=beta)
    assert load_enhancer_model("DL-Beta", path=beta).name == "DL_Beta"
    assert load_enhancer_model("DL-Delta-2", path=delta2) is not None


def test_unnamed_weights_are_checked_by_layout(results_tmp, tmp_path):
    gamma = tmp_path / "renamed_gamma.keras"
    build_enhancer_network("DL-Gamma", width_multiplier=0.0625, input_size=None, name="my_net").save(gamma)
    with pytest.raises(ValueError, match=r"renamed_gamma.keras.*layout.*DL-Delta-1"):
        load_enhancer_model("DL-Delta-1", path=gamma)
    assert load_enhancer_model("DL-Gamma", path=gamma).name == "my_net"        # the layout fits
    inp = keras.Input((None, None, 1))
    plain = tmp_path / "plain.keras"
    keras.Model(inp, keras.layers.Conv2D(1, 3, padding="same")(inp), name="plain").save(plain)
    with pytest.raises(ValueError, match=r"plain.keras.*not a U-Net"):
        load_enhancer_model("DL-Alpha", path=plain)


# ----------------------------------------------------------------------------- preset names
def test_unknown_preset_is_refused_with_the_valid_names(results_tmp):
    for label in ("DL-Alpha", "DL-Delta-4", "DDRNet-dn"):
        with pytest.raises(ValueError, match=r"'fast'.*paper.*quick"):
            E.get_enhancer(label, preset="fast")
    with pytest.raises(ValueError, match=r"'fast'.*paper.*quick"):
        load_enhancer_model("DL-Alpha", preset="fast")
    for name in PRESETS:
        E.get_enhancer("DL-Alpha", preset=name)                  # valid names pass
    E.get_enhancer("Hf-L", preset="fast")                       # irrelevant to a hand-crafted label: ignored


def test_missing_weights_hint_names_a_preset_the_training_command_accepts(results_tmp):
    import re

    from models.unet import preset_names

    for name in preset_names():
        with pytest.raises(FileNotFoundError) as exc:
            load_enhancer_model("DL-Gamma", preset=name)
        suggested = re.search(r"--preset (\S+)", str(exc.value)).group(1)
        choices = suggested.strip("{}").split(",")
        assert all(c in PRESETS for c in choices), (name, suggested)
