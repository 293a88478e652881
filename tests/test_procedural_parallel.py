"""prnet_synth.procedural.generate_depths: the depth maps of generate(), rendered by several processes,
equal the serial ones exactly (every sample is a function of seed and index)."""
from __future__ import annotations

import numpy as np
import pytest

from prnet_synth import procedural


def test_parallel_depths_equal_the_serial_samples():
    serial = np.stack([s["depth"] for s in procedural.generate(34, seed=7, start=5)])
    par = procedural.generate_depths(34, seed=7, start=5, workers=2)
    assert par.dtype == np.uint16 and par.shape == (34, 256, 256)
    assert np.array_equal(par, serial)
    # options reach the workers: a fixed expression changes the faces
    other = procedural.generate_depths(34, seed=7, start=5, workers=2, expression="open_mouth")
    assert np.array_equal(other, np.stack([s["depth"] for s in procedural.generate(34, 7, start=5, expression="open_mouth")]))
    assert not np.array_equal(other, serial)


def test_small_requests_stay_in_process_and_bad_settings_are_refused(monkeypatch):
    assert procedural.generate_depths(0, seed=1).shape == (0, 256, 256)
    one = procedural.generate_depths(3, seed=1, workers=4)          # fewer than MIN_PER_WORKER each
    assert np.array_equal(one, np.stack([s["depth"] for s in procedural.generate(3, 1)]))
    with pytest.raises(ValueError, match="workers"):
        procedural.generate_depths(3, seed=1, workers=0)
    monkeypatch.setenv("FACE_DEPTH_GT_WORKERS", "3")
    assert procedural.gt_workers() == 3
    monkeypatch.setenv("FACE_DEPTH_GT_WORKERS", "many")
    with pytest.raises(ValueError, match="FACE_DEPTH_GT_WORKERS"):
        procedural.gt_workers()
