"""Which shipped U-Net weights the enhancers use: "best" = paper > cpu > quick, per enhancer, logged."""
from __future__ import annotations

import logging

import pytest

from prnet_synth import paths


def _touch(root, preset, label):
    p = root / "weights" / preset / f"{label}.keras"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_best_is_paper_then_cpu_then_quick(results_tmp):
    assert paths.resolve_weights_preset("DL-Delta-1", "best") == "quick"        # none shipped: quick's path
    _touch(results_tmp, "quick", "DL-Delta-1")
    assert paths.resolve_weights_preset("DL-Delta-1", "best") == "quick"
    _touch(results_tmp, "cpu", "DL-Delta-1")
    assert paths.resolve_weights_preset("DL-Delta-1", "best") == "cpu"
    assert paths.resolve_weights_preset("DL-Delta-2", "best") == "quick"        # per enhancer
    _touch(results_tmp, "paper", "DL-Delta-1")
    assert paths.resolve_weights_preset("DL-Delta-1", "best") == "paper"
    assert paths.resolve_weights_preset("DL-Delta-1", "quick") == "quick"       # an explicit preset stays
    assert paths.weights_path("DL-Delta-1", "best") == results_tmp / "weights" / "paper" / "DL-Delta-1.keras"


def test_get_enhancer_defaults_to_the_best_shipped_and_logs_it(results_tmp, caplog):
    from experiments.enhancers import get_enhancer

    _touch(results_tmp, "quick", "DL-Delta-1")
    _touch(results_tmp, "cpu", "DL-Delta-1")
    with caplog.at_level(logging.INFO, logger="experiments.enhancers"):
        enh = get_enhancer("DL-Delta-1")
    assert enh.preset == "cpu" and "cpu" in caplog.text
    assert get_enhancer("DL-Delta-1", preset="quick").preset == "quick"
    assert get_enhancer("DL-Alpha").preset == "quick"              # nothing shipped: quick (and missing)
    with pytest.raises(ValueError, match="valid presets"):
        get_enhancer("DL-Delta-1", preset="fast")


def test_schlett_run_uses_the_resolved_weights(results_tmp):
    from experiments.schlett.run import _weights_stamp

    assert _weights_stamp("DL-Delta-1", "best") == "absent"
    _touch(results_tmp, "quick", "DL-Delta-1")
    assert _weights_stamp("DL-Delta-1", "best").startswith("quick:")
    _touch(results_tmp, "cpu", "DL-Delta-1")
    assert _weights_stamp("DL-Delta-1", "best").startswith("cpu:")     # new weights: cached outputs are stale
    assert _weights_stamp("Sp-HfU", "best") == ""
