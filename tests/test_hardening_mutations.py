"""Issue #21, item 10: bugs that once survived the tests (each planted and caught by a test here).

* a sigmoid (or any squashing) on the U-Nets' 1x1 head: the output must be linear in the head's
  features, values outside [0, 1] included;
* ``EnhancerPreset.hole_weight`` not reaching the loss Keras minimises;
* Table V's roughness without its x100.
"""
from __future__ import annotations

import numpy as np
import pytest

from experiments.schlett import tables
from experiments.schlett.evalsets import _stack
from experiments.schlett.run import OK, EnhancerRun

H = 65535


# ----------------------------------------------------------------------------- U-Net head
@pytest.mark.parametrize("label", ["DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta-1"])
def test_unet_output_is_the_linear_head_of_its_features(label):
    """Output = features @ kernel + bias, computed here with numpy from the head's input, with a
    kernel and bias scaled so the result spans -1..+2 (a sigmoid or ReLU on the head would change it)."""
    pytest.importorskip("tensorflow")
    import keras

    from models.unet import build_enhancer_network

    model = build_enhancer_network(label, width_multiplier=0.0625, input_size=128, min_width=4)
    head = model.get_layer("head")
    features = keras.Model(model.inputs, head.input)
    rng = np.random.default_rng(5)
    x = rng.uniform(0.0, 1.0, (2, 128, 128, 1)).astype(np.float32)
    x[:, :20] = 1.0                                            # holes, as the enhancers feed them
    f = np.asarray(features([x]), np.float64)
    kernel = rng.normal(0.0, 1.0, head.get_weights()[0].shape)
    z = f @ kernel[0, 0]
    assert z.max() - z.min() > 1e-3, "the head's features do not vary: no check possible"
    kernel *= 3.0 / (z.max() - z.min())
    bias = -1.0 - (f @ kernel[0, 0]).min()
    head.set_weights([kernel.astype(np.float32), np.array([bias], np.float32)])
    kernel, bias = (v.astype(np.float64) for v in head.get_weights())
    expected = f @ kernel[0, 0] + bias[0]
    got = np.asarray(model([x]), np.float64)
    assert expected.min() == pytest.approx(-1.0, abs=1e-4) and expected.max() == pytest.approx(2.0, abs=1e-4)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- hole_weight
def test_hole_weight_reaches_the_loss(tmp_path, monkeypatch):
    """The loss Keras reports for the first batch equals mean((1 + w * broken) * (pred - y)^2) over
    all pixels, with the model's prediction before that batch's update and ``broken`` computed here
    (valid target, input a hole or > 20 mm off), not the unweighted mean."""
    pytest.importorskip("tensorflow")
    import keras

    from models import training
    from models.enhancer_presets import tiny_preset
    from prnet_synth.conventions import UNITS_PER_MM

    w = 10.0
    made = []
    real_batches = training._batches

    def spy(deg, gt, *a, **kw):
        made.append((deg, gt, a, kw))
        return real_batches(deg, gt, *a, **kw)

    monkeypatch.setattr(training, "_batches", spy)
    seen = {}

    class FirstBatch(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0 and "expected" not in seen:
                deg, gt, a, kw = made[-1]
                x, y = real_batches(deg, gt, *a, **{**kw, "hole_weight": 0.0})[0]   # the same batch, unweighted
                pred = np.asarray(self.model(x, training=False), np.float64)[..., 0]
                xi, yi = x[..., 0].astype(np.float64), y[..., 0].astype(np.float64)
                broken = (yi < 1.0) & ((xi >= 1.0) | (np.abs(xi - yi) > 20.0 * UNITS_PER_MM / 65535.0))
                sq = (pred - yi) ** 2
                seen["expected"] = float(np.mean((1.0 + w * broken) * sq))
                seen["unweighted"] = float(np.mean(sq))
                seen["broken"] = float(broken.mean())

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and "reported" not in seen:
                seen["reported"] = float(logs["loss"])

    p = tiny_preset(delta_gts=4, delta_stage_gts=4, epochs=1, width_multiplier=0.0625, hole_weight=w)
    res = training.train_one("DL-Delta-1", p, 3, out_dir=tmp_path, data="toy", verbose=False,
                             stop_after_epochs=1, callbacks=[FirstBatch()])
    assert res["status"] in ("trained", "stopped")
    assert 0.0 < seen["broken"] < 1.0                           # the batch has broken and intact face pixels
    assert seen["expected"] > 1.5 * seen["unweighted"]          # the weighting matters for this batch
    assert seen["reported"] == pytest.approx(seen["expected"], rel=1e-3)


def test_each_epoch_trains_on_its_own_pairs():
    """Keras' fit calls on_epoch_end once before the first epoch: epoch ``start`` must still train on
    the pairs it was given, each later epoch e on ``regen(e)``, and no pairs are made that are never
    trained on (the first batch's mean input identifies the pairs of each epoch)."""
    pytest.importorskip("tensorflow")
    import keras

    from models.training import _batches

    def pairs(level):
        gt = np.full((4, 8, 8), 1000 * level, np.uint16)
        return gt.copy(), gt

    for start, epochs in ((0, 3), (1, 3)):
        asked, trained = [], []

        def regen(e):
            asked.append(e)
            return pairs(e + 1)

        class Record(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if batch == 0:
                    trained.append(round(float(seq.deg.mean()) / 1000))

        seq = _batches(*pairs(start + 1), 4, 8, seed=0, start_epoch=start, regen=regen)
        inp = keras.Input((8, 8, 1))
        model = keras.Model(inp, keras.layers.Conv2D(1, 1)(inp))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(seq, epochs=epochs, initial_epoch=start, verbose=0, shuffle=False, callbacks=[Record()])
        assert trained == [e + 1 for e in range(start, epochs)]        # epoch e: the pairs of e
        assert asked == list(range(1, epochs))                        # regen(start) on resume, then each later epoch once


# ----------------------------------------------------------------------------- Table V x100
def test_table5_roughness_is_x100_of_the_kernel_response():
    """One 800-unit spike in a flat face: |response| 800 at the spike, 800/8 at its 8 neighbours,
    0 elsewhere; mean over the 64 mask pixels = 1600/64 units = 25/65535 of the range, x100 in Table V."""
    yy, xx = np.mgrid[0:16, 0:16]
    mask = (xx >= 4) & (xx < 12) & (yy >= 4) & (yy < 12)
    d = np.full((16, 16), 20000, np.uint16)
    d[8, 8] += 800
    items = [{"name": f"{i}", "subject": i, "session": 1, "variant": "Neutral", "depth": d, "rgb": None,
              "mask": mask, "lm68": None, "manual6": None, "landmark_source": "test"} for i in range(2)]
    s = _stack(items, "test data", "kinect")
    table, per = tables.table5([s], [{"Spike": EnhancerRun("Spike", OK, s.depth)}])
    row = table.set_index("enhancer").loc["Spike"]
    assert row["roughness_mean"] == pytest.approx(100 * 25 / 65535, rel=1e-9)
    assert row["roughness_std"] == pytest.approx(0.0, abs=1e-12)
    assert per["roughness"].tolist() == pytest.approx([100 * 25 / 65535] * 2, rel=1e-9)
    assert row["holes_mean"] == 0.0
