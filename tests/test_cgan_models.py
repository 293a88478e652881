"""Architectures of the cGAN reproductions (001 Fig. 2-3, 003 III-B, pix2pix) and the GAN training step."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from models import fabbri, gan_common, pini, pix2pix, siamese  # noqa: E402
from models.gan_common import ConditionalGAN, count_params, fit_resumable  # noqa: E402


def conv_bn(k, cin, cout):
    """Parameters of a bias-free k x k convolution followed by batch norm (gamma, beta)."""
    return k * k * cin * cout + 2 * cout


def test_pini_full_size_parameter_counts_and_shapes():
    g = pini.build_generator()
    enc = conv_bn(5, 1, 128) + conv_bn(5, 128, 256) + conv_bn(5, 256, 512) + conv_bn(5, 512, 1024)
    dec = conv_bn(5, 1024, 512) + conv_bn(5, 512, 256) + conv_bn(5, 256, 128) + conv_bn(5, 128, 64)
    assert count_params(g) == enc + dec + (5 * 5 * 64 * 1 + 1)
    assert g.output_shape == (None, 96, 96, 1)
    # encoder embedding: 1024 maps, 16 times smaller than the input (001 sec. 3.1.1)
    assert g.get_layer("enc4_lrelu").output.shape[1:] == (6, 6, 1024)
    d = pini.build_discriminator()
    assert count_params(d) == enc + 6 * 6 * 1024 + 1
    assert d.output_shape == (None, 1)
    with pytest.raises(ValueError):
        pini.build_generator(100)          # the poster's 100x100 does not survive 4 halvings


def test_fabbri_full_size_parameter_counts_and_shapes():
    g = fabbri.build_generator()
    enc = conv_bn(5, 1, 64) + conv_bn(5, 64, 128) + conv_bn(5, 128, 256) + conv_bn(5, 256, 512)
    dec = conv_bn(5, 512, 256) + conv_bn(5, 256, 128) + conv_bn(5, 128, 64) + conv_bn(5, 64, 32)
    assert count_params(g) == enc + dec + (5 * 5 * 32 * 3 + 3)
    assert g.output_shape == (None, 64, 64, 3)
    assert g.get_layer("enc4_lrelu").output.shape[1:] == (32, 32, 512)   # one halving only
    d = fabbri.build_discriminator()
    denc = conv_bn(5, 3, 64) + conv_bn(5, 64, 128) + conv_bn(5, 128, 256) + conv_bn(5, 256, 512)
    assert count_params(d) == denc + 4 * 4 * 512 + 1


def test_pix2pix_unet_and_patchgan():
    assert pix2pix.unet_levels(256) == 8 and pix2pix.unet_levels(96) == 5 and pix2pix.unet_levels(64) == 6
    g = pix2pix.build_unet_generator(256, 3, 3)
    # published 256x256 U-Net: 8 down levels of 4x4 convs 64-128-256-512-512-512-512-512
    downs = [l for l in g.layers if l.name.startswith("down") and l.name.endswith("_conv")]
    assert [l.filters for l in downs] == [64, 128, 256, 512, 512, 512, 512, 512]
    assert g.get_layer("down8_conv").output.shape[1:3] == (1, 1)
    assert sum(isinstance(l, gan_common.AlwaysDropout) for l in g.layers) == 3
    d = pix2pix.build_patchgan(256, 3, 3)
    # 70x70 PatchGAN: C64-C128-C256-C512, 4x4 kernels; on 256x256 the patch map is 32x32 ('same' padding)
    expected = (4 * 4 * 6 * 64 + 64) + conv_bn(4, 64, 128) + conv_bn(4, 128, 256) + conv_bn(4, 256, 512) + (4 * 4 * 512 + 1)
    assert count_params(d) == expected
    assert d.output_shape == (None, 32, 32, 1)


def test_siamese_fig3():
    m = siamese.build_siamese(96)
    b = m.get_layer("siamese_branch")
    convs = [l for l in b.layers if isinstance(l, keras.layers.Conv2D)]
    assert [(l.filters, l.kernel_size, l.strides) for l in convs] == [(f, (3, 3), (2, 2)) for f in (64, 128, 256, 256, 256)]
    assert b.get_layer("avgpool").output.shape[1:] == (1, 1, 256)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 96, 96, 1)).astype("float32")
    s_ab = np.asarray(m([x[:1], x[1:]]))
    s_ba = np.asarray(m([x[1:], x[:1]]))
    assert s_ab.shape == (1, 1) and 0 <= s_ab[0, 0] <= 1
    np.testing.assert_allclose(s_ab, s_ba, atol=1e-6)      # symmetric similarity


def _tiny_gan(recon_weight=0.0, g_lr=2e-4, d_lr=2e-4):
    g = pini.build_generator(16, (4, 8), (8, 4))
    d = pini.build_discriminator(16, (4, 8))
    gan = ConditionalGAN(g, d, recon="mse", recon_weight=recon_weight)
    gan.compile(g_optimizer=gan_common.make_adam(g_lr), d_optimizer=gan_common.make_adam(d_lr))
    gan.build(None)
    return gan


def test_bce_matches_eq2():
    p = np.array([0.9, 0.2, 0.6], np.float32)
    want_real = -np.mean(np.log(p))
    want_fake = -np.mean(np.log(1 - p))
    assert float(ConditionalGAN._bce(1.0, p)) == pytest.approx(want_real, rel=1e-5)
    assert float(ConditionalGAN._bce(0.0, p)) == pytest.approx(want_fake, rel=1e-5)


def test_label_convention_discriminator_learns_real_is_one():
    keras.utils.set_random_seed(1)
    gan = _tiny_gan(g_lr=0.0, d_lr=2e-3)          # generator frozen: only the discriminator learns
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 16, 16, 1)).astype("float32")
    y = np.full((32, 16, 16, 1), 0.8, np.float32)   # "real" depth maps: a constant plane
    g_before = [np.array(w) for w in gan.generator.trainable_weights]
    for _ in range(25):
        logs = gan.train_step((x, y))
    assert float(logs["d_real"]) > 0.5 > float(logs["d_fake"])
    for a, b in zip(g_before, gan.generator.trainable_weights):
        np.testing.assert_allclose(a, b)       # lr 0: untouched by the generator step


def test_generator_step_fools_frozen_discriminator():
    keras.utils.set_random_seed(2)
    gan = _tiny_gan(g_lr=2e-3, d_lr=0.0)          # discriminator frozen: eq. 5's adversarial term only
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (32, 16, 16, 1)).astype("float32")
    y = np.full((32, 16, 16, 1), 0.8, np.float32)
    first = float(gan.train_step((x, y))["g_adv"])
    for _ in range(20):
        last = float(gan.train_step((x, y))["g_adv"])
    assert last < first                          # -log D(G(x)) decreases: G moves towards "real" (1)


def test_fit_resumes_after_interruption(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 16, 16, 1)).astype("float32")
    y = np.tanh(x)

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("killed")

    gan = _tiny_gan(recon_weight=10.0)
    with pytest.raises(RuntimeError):
        fit_resumable(gan, x, y, epochs=4, batch_size=8, backup_dir=tmp_path / "b", log=None, extra_callbacks=[Stop()])
    done = [w.copy() for w in gan.generator.get_weights()]
    gan2 = _tiny_gan(recon_weight=10.0)
    calls = []

    class Seen(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append([w.copy() for w in self.model.generator.get_weights()])

    hist = fit_resumable(gan2, x, y, epochs=4, batch_size=8, backup_dir=tmp_path / "b", log=None,
                         extra_callbacks=[Seen()])
    assert len(hist.history["g_loss"]) == 2                       # epochs 3 and 4 only
    for a, b in zip(done, calls[0]):
        np.testing.assert_allclose(a, b)                           # restored the interrupted weights
    assert int(gan2.g_optimizer.iterations.numpy()) == 4 * 2       # optimizer state carried over


def test_unit_conversions_round_trip():
    img = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(gan_common.from_unit(gan_common.to_unit(img)), img)
    assert gan_common.to_unit(np.array([0, 255], np.uint8)).tolist() == [-1.0, 1.0]


def test_test_step_reports_reconstruction_of_inference_outputs():
    keras.utils.set_random_seed(3)
    gan = _tiny_gan(recon_weight=10.0)
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    y = rng.uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    logs = gan.test_step((x, y))
    out = np.asarray(gan.generator(x, training=False))
    d_fake = np.clip(np.asarray(gan.discriminator(out, training=False)), 1e-7, 1 - 1e-7)
    assert float(logs["recon"]) == pytest.approx(float(np.mean((out - y) ** 2)), rel=1e-5)
    assert float(logs["g_adv"]) == pytest.approx(float(-np.mean(np.log(d_fake))), rel=1e-4)
    assert float(logs["g_loss"]) == pytest.approx(10 * float(logs["recon"]) + float(logs["g_adv"]), rel=1e-5)


# ----------------------------------------------------------------------------- learning-study helpers
def test_study_pixel_l1_and_rows(tmp_path):
    import keras
    import pandas as pd

    from experiments.cgan import study

    gt = np.array([[[0, 100], [100, 100]]], np.uint8)
    pred = np.array([[[50, 110], [90, 100]]], np.uint8)
    assert study.pixel_l1(gt, pred) == pytest.approx(20 / 3)          # the gt-0 pixel is not scored
    with pytest.raises(ValueError, match="differ in shape"):
        study.pixel_l1(gt, pred[:, :1])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((10, 2), np.float32)
    rows = study.train_for_budget(model, x, np.zeros((10, 1), np.float32), batch_size=4, budget_cpu_s=1e6,
                                  eval_every_cpu_s=1e6, evaluate=lambda m: {"k": 1.0}, max_steps=5, log=lambda m: None)
    assert [r["steps"] for r in rows] == [0, 5] and rows[-1]["images"] == 4 + 4 + 4 + 4 + 4
    assert "log_loss" in rows[-1] and rows[-1]["k"] == 1.0
    out = tmp_path / "s.csv"
    study.append_rows(out, "a", rows)
    study.append_rows(out, "b", rows[:1])
    study.append_rows(out, "a", rows[:1], {"note": "rerun"})
    df = pd.read_csv(out)
    assert sorted(df["recipe"]) == ["a", "b"] and study.done_recipes(out) == {"a", "b"}
    from prnet_synth.atomic import code_version

    assert set(df["code_version"]) == {code_version()} and df.loc[df["recipe"] == "a", "note"].tolist() == ["rerun"]
    said = []
    assert study.pending_recipes(["a", "c", "b", "d"], out, force=False, say=said.append) == ["c", "d"]
    assert len(said) == 2 and "[a]" in said[0] and "s.csv" in said[0]
    assert study.pending_recipes(["a", "c"], out, force=True, say=said.append) == ["a", "c"]
    assert study.pending_recipes(["x"], tmp_path / "none.csv", force=False) == ["x"]
    args = study.study_parser("doc", ["a", "c"], "results/x.csv").parse_args(["--recipes", "c", "--budget", "5"])
    assert args.recipes == ["c"] and args.budget == 5.0 and args.eval_every == 30.0 and not args.force
    from prnet_synth.paths import results_dir

    assert study.output_path(args, "results/pini/x.csv") == results_dir() / "pini" / "x.csv"
    args.out = str(tmp_path / "mine.csv")
    assert study.output_path(args, "results/pini/x.csv") == tmp_path / "mine.csv"
    with pytest.raises(SystemExit):
        study.study_parser("doc", ["a"], "results/x.csv").parse_args(["--recipes", "zz"])


def test_train_or_load_initial_weights_follow_the_seed(results_tmp):
    """The same seed gives the same model whatever random numbers were drawn before the call."""
    import keras

    from experiments.cgan.train import train_or_load

    x = np.random.default_rng(0).integers(0, 256, (8, 16, 16), dtype=np.uint8)
    outs = []
    for label, burn in (("a", 1), ("b", 7)):
        keras.utils.set_random_seed(burn)          # a different history before the call
        np.random.rand(burn)
        keras.random.normal((burn,))
        g = train_or_load(label, lambda: pini.build_autoencoder(16, (2, 2, 2, 2), (2, 2, 2, 2)), x, x,
                          epochs=1, batch_size=8, preset="tiny", seed=3, settings={}, log=lambda m: None)
        outs.append(np.concatenate([np.ravel(w) for w in g.get_weights()]))
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-6)


def test_train_or_load_records_provenance_and_reuses_despite_it(results_tmp):
    """The stored model's record carries who trained it (code version, images seen); that record is
    no reason to retrain, while a changed setting is."""
    import json

    from experiments.cgan.train import train_or_load, work_dir
    from prnet_synth.atomic import code_version

    x = np.random.default_rng(1).integers(0, 256, (6, 16, 16), dtype=np.uint8)
    builds = []

    def build():
        builds.append(1)
        return pini.build_autoencoder(16, (2, 2, 2, 2), (2, 2, 2, 2))

    kw = dict(epochs=2, batch_size=3, preset="tiny", seed=0, log=lambda m: None)
    train_or_load("p", build, x, x, settings={"data": "toy"}, **kw)
    meta = json.loads((work_dir("tiny") / "p.json").read_text())
    prov = meta["provenance"]
    assert prov["images_seen"] == 2 * 6 and prov["code_version"] == code_version()
    assert prov["preset"] == "tiny" and prov["seed"] == 0 and prov["data"] == "toy"
    assert prov["seconds_this_run"] >= 0
    train_or_load("p", build, x, x, settings={"data": "toy"}, **kw)
    assert len(builds) == 1                        # reused, not retrained
    train_or_load("p", build, x, x, settings={"data": "other"}, **kw)
    assert len(builds) == 2                        # another setting: retrained


def test_train_siamese_records_provenance_and_reuses_despite_it(results_tmp):
    """The shipped verifier's record says who trained it (code version, pairs seen); the record is no
    reason to retrain (a file written before it existed is reused too), a changed setting is."""
    import json

    from experiments.cgan.train import work_dir
    from experiments.cgan.verification import train_siamese
    from models.cgan_presets import get_preset
    from prnet_synth.atomic import code_version

    rng = np.random.default_rng(2)
    depth = rng.integers(0, 256, (8, 64, 64), dtype=np.uint8)
    ids = np.repeat(np.array(["a", "b", "c", "d"]), 2)
    import dataclasses

    p = dataclasses.replace(get_preset("pini", "quick"), name="tiny", siamese_filters=(2, 2, 2, 2, 2),
                            siamese_fc=(4, 2), siamese_epochs=2, siamese_train_pairs=8)
    kw = dict(preset=p, seed=0, label="v", log=lambda m: None)
    train_siamese(depth, ids, settings={"data": "toy"}, **kw)
    meta_path = work_dir("tiny") / "v.json"
    meta = json.loads(meta_path.read_text())
    prov = meta["provenance"]
    assert prov["code_version"] == code_version() and prov["preset"] == "tiny" and prov["data"] == "toy"
    assert prov["pairs_seen"] == 2 * 8 and prov["seconds_this_run"] >= 0
    before = (work_dir("tiny") / "v.keras").stat().st_mtime_ns
    meta.pop("provenance")
    meta_path.write_text(json.dumps(meta))          # as an earlier version wrote it
    train_siamese(depth, ids, settings={"data": "toy"}, **kw)
    assert (work_dir("tiny") / "v.keras").stat().st_mtime_ns == before      # reused
    train_siamese(depth, ids, settings={"data": "other"}, **kw)
    assert (work_dir("tiny") / "v.keras").stat().st_mtime_ns != before      # retrained
