"""Which stored cGAN-paper networks are reused: a network retrains only when a preset field it
depends on changed (experiments.cgan.train.stored_model_matches, pini_run.NETWORK_FIELDS)."""
from __future__ import annotations

import dataclasses
import json

from experiments.cgan.pini_run import NETWORK_FIELDS
from experiments.cgan.train import stored_model_matches
from models.cgan_presets import get_preset


def _store(tmp_path, record):
    (tmp_path / "m.keras").write_bytes(b"x")
    (tmp_path / "m.json").write_text(json.dumps(record))
    return tmp_path / "m.keras", tmp_path / "m.json"


def test_a_record_of_all_fields_matches_on_the_fields_the_network_uses(tmp_path):
    fields = {"lr": 2e-4, "recon_weight": 10.0, "siamese_epochs": 5}
    path, meta = _store(tmp_path, {"label": "a", "epochs": 3, "preset_fields": fields,
                                   "provenance": {"code_version": "x"}})
    assert stored_model_matches(path, meta, {"label": "a", "epochs": 3, "preset_fields": {"lr": 2e-4}})
    assert stored_model_matches(path, meta, {"label": "a", "epochs": 3, "preset_fields": {"lr": 2e-4, "recon_weight": 10.0}})
    assert not stored_model_matches(path, meta, {"label": "a", "epochs": 3, "preset_fields": {"recon_weight": 1.0}})
    assert not stored_model_matches(path, meta, {"label": "a", "epochs": 3, "preset_fields": {"batch_size": 16}})
    assert not stored_model_matches(path, meta, {"label": "a", "epochs": 4, "preset_fields": {"lr": 2e-4}})
    assert not stored_model_matches(tmp_path / "none.keras", meta, {"label": "a", "epochs": 3})


def test_a_new_lambda_retrains_the_cgan_alone_and_a_new_width_the_networks_that_have_it():
    base = dataclasses.asdict(get_preset("pini", "cpu"))

    def changed(**over):
        new = dataclasses.asdict(get_preset("pini", "cpu", **over))
        return sorted(n for n, keys in NETWORK_FIELDS.items() if any(base[k] != new[k] for k in keys))

    assert changed(recon_weight=1.0) == ["cgan"]
    assert changed(encoder_filters=(8, 16, 32, 64)) == ["ae", "cgan"]
    assert changed(siamese_epochs=7) == ["siamese"]
    assert changed(n_train=100) == ["ae", "cgan", "pix2pix", "siamese"]
    assert changed(test_pairs_per_cell=3) == []          # evaluation only: nothing retrains
    assert all(set(keys) <= set(base) for keys in NETWORK_FIELDS.values())
