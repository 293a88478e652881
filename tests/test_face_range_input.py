"""Networks trained on face-range depth, given 25 cm (IV-J) images: the stretch, its inverse, and the
callers that must ask for it (Tables V-VII sets, attack suite, real-time PAD)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from degrade.groundtruth import face_range_scale, face_range_unscale

H = 65535


def test_scale_and_unscale_hand_computed():
    img = np.array([[1000, 2000], [3000, H]], np.uint16)
    s, lo, hi = face_range_scale(img)
    # (v - 1000) * 65534 / 2000: 0, 32767, 65534; the hole stays
    assert s.tolist() == [[0, 32767], [65534, H]]
    assert (float(lo), float(hi)) == (1000.0, 3000.0)
    # 1000 + y * 2000 / 65534: y = 16383.5 -> 1500; y = 65534 -> 3000
    back = face_range_unscale(np.array([[0, 16384], [65534, H]], np.uint16), lo, hi)
    assert back.tolist() == [[1000, 1500], [3000, H]]
    batch = np.stack([img, np.full((2, 2), H, np.uint16), np.full((2, 2), 7, np.uint16)])
    s3, lo3, hi3 = face_range_scale(batch)
    assert s3[1].tolist() == [[H, H], [H, H]] and s3[2].tolist() == [[0, 0], [0, 0]]
    assert lo3.tolist() == [1000.0, 0.0, 7.0] and hi3.tolist() == [3000.0, 0.0, 7.0]
    assert np.array_equal(face_range_unscale(s3, lo3, hi3)[0], img)
    with pytest.raises(ValueError, match="2 images"):
        face_range_unscale(batch[:2], lo3, hi3)


def _square_enhancer(trained: str, input_format):
    """A KerasEnhancer whose 'network' squares its input (holes 1.0 stay 1.0): it tells whether the
    network saw the stretched image or the raw one."""
    from experiments.enhancers import KerasEnhancer

    enh = KerasEnhancer("DL-Delta-1", weights="unused.keras", preset="quick", input_format=input_format)
    enh._model = object()
    enh._trained_format = trained
    enh._infer = lambda x: np.asarray(x, np.float32) ** 2
    return enh


def test_a_face_range_network_sees_a_fixed_image_stretched_and_gives_millimetres_back():
    img = np.array([[1000, 2000], [3000, H]], np.uint16)
    out = _square_enhancer("face_range", "fixed").enhance(img)
    # stretched 0, 0.5, 1 -> squared 0, 0.25, 1 -> back 1000, 1500, 3000 (within a unit of rounding)
    assert np.abs(out.astype(int) - np.array([[1000, 1500], [3000, H]])).max() <= 1
    assert out[1, 1] == H
    # the same network given the image as it was trained (no stretch): 1000/65535 squared etc.
    raw = _square_enhancer("face_range", None).enhance(img)
    assert raw[0, 0] == round((1000 / 65535) ** 2 * 65535) and raw[1, 1] == H
    # a network trained on the fixed format is given fixed images as they are
    assert np.array_equal(_square_enhancer("fixed", "fixed").enhance(img), raw)


def test_unknown_input_format_is_refused():
    from experiments.enhancers import get_enhancer

    with pytest.raises(ValueError, match="input_format"):
        get_enhancer("DL-Delta-1", input_format="25cm")


def test_trained_depth_format_reads_the_provenance(tmp_path):
    from models.unet import trained_depth_format

    w = tmp_path / "DL-Delta-1.keras"
    assert trained_depth_format(w) == "fixed"                     # no JSON: weights from before
    w.with_suffix(".json").write_text(json.dumps({"degradation": {"gt_normalization": "face_range"}}))
    assert trained_depth_format(w) == "face_range"
    w.with_suffix(".json").write_text(json.dumps({"degradation": {"noise_mm": 15}}))
    assert trained_depth_format(w) == "fixed"
    w.with_suffix(".json").write_text(json.dumps({"degradation": {"gt_normalization": "stretched"}}))
    with pytest.raises(ValueError, match="DL-Delta-1.json"):
        trained_depth_format(w)
    w.with_suffix(".json").write_text("{not json")
    with pytest.raises(ValueError, match="DL-Delta-1.json"):
        trained_depth_format(w)


def test_the_shipped_cpu_weights_say_face_range():
    from prnet_synth.paths import weights_path
    from models.unet import trained_depth_format

    p = weights_path("DL-Delta-1", "cpu")
    if not p.is_file():
        pytest.skip("no cpu weights shipped")
    assert trained_depth_format(p) == "face_range"


class _Spy:
    def __init__(self):
        self.calls = []
        self.presets = []

    def __call__(self, label, **kw):
        from experiments.enhancers import NoneEnhancer

        self.calls.append((label, kw.get("input_format")))
        self.presets.append(kw.get("preset"))
        return NoneEnhancer()


def test_attack_suite_and_realtime_pad_ask_for_the_fixed_format(monkeypatch):
    import experiments.enhancers as E
    from experiments.schlett import attack_suite as A
    from experiments.pad import realtime

    spy = _Spy()
    monkeypatch.setattr(E, "get_enhancer", spy)
    att = [{"kind": "flat_plane", "repeat": 0, "input": A.plane_depth("flat_plane"), "area": A.sheet_mask(margin=8)}]
    A.evaluate(att, ["DL-Delta-1"])
    assert spy.calls == [("DL-Delta-1", "fixed")]
    realtime.make_enhancer("DL-Delta-1")
    assert spy.calls[-1] == ("DL-Delta-1", "fixed")
    assert spy.presets[-1] == "best"          # the real-time PAD uses the best shipped weights


def test_schlett_sets_run_with_the_fixed_format_and_cache_by_it(monkeypatch, tmp_path):
    import experiments.enhancers as E
    from experiments.schlett import run as R

    spy = _Spy()
    monkeypatch.setattr(E, "get_enhancer", spy)
    R._MADE.clear()
    imgs = np.full((1, 8, 8), 1000, np.uint16)
    R.run_enhancers(imgs, ["DL-Delta-1"], cache=tmp_path, input_format="fixed")
    R.run_enhancers(imgs, ["DL-Delta-1"], cache=tmp_path, input_format="fixed")      # cached
    R.run_enhancers(imgs, ["DL-Delta-1"], cache=tmp_path)                            # another format: rerun
    assert [c[1] for c in spy.calls] == ["fixed", None]
    R._MADE.clear()
