"""Face-free sheet ground truths (prnet_synth.sheets) and their use in training stages."""
from __future__ import annotations

import numpy as np
import pytest

from prnet_synth.conventions import HOLE, MM_PER_UNIT, UNITS_PER_MM
from prnet_synth.sheets import SHEET_RANGES, random_sheets


def _quadric_residual_mm(depth: np.ndarray) -> float:
    """Largest deviation of a sheet from the least-squares quadric in (row, col), mm: a quadric in
    the sheet's rotated (u, v) is one in (row, col) too, so only the rounding to units remains."""
    rows, cols = np.nonzero(depth != HOLE)
    y, x = (rows - rows.mean()) / 50.0, (cols - cols.mean()) / 50.0
    a = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)
    z = depth[rows, cols] * MM_PER_UNIT
    coef, *_ = np.linalg.lstsq(a, z, rcond=None)
    return float(np.abs(z - a @ coef).max())


def test_sheets_are_smooth_quadrics_on_a_background_in_the_stated_ranges():
    s = random_sheets(16, seed=3)
    assert s.dtype == np.uint16 and s.shape == (16, 256, 256)
    np.testing.assert_array_equal(s, random_sheets(16, seed=3))                  # a function of the seed
    assert not np.array_equal(s, random_sheets(16, seed=4))
    nearest = []
    for d in s:
        m = d != HOLE
        assert 0.04 < m.mean() < 0.75                                             # a face-sized object
        v = d[m] * MM_PER_UNIT
        assert v.min() <= SHEET_RANGES["nearest_mm"][1] + 1e-6 and v.max() <= SHEET_RANGES["farthest_mm"] + 0.01
        nearest.append(v.min())
        assert _quadric_residual_mm(d) < 2.5 * MM_PER_UNIT                       # no relief beyond rounding
    assert min(nearest) == 0.0 and max(nearest) > 5.0                             # some at IV-J's 0, some not


def test_a_flat_sheet_is_drawn_when_the_ranges_say_so(monkeypatch):
    import prnet_synth.sheets as S

    flat = dict(SHEET_RANGES, tilt_mm=(0.0, 0.0), bend_mm=(0.0, 0.0), twist_mm=(0.0, 0.0), nearest_mm=(30.0, 30.0))
    monkeypatch.setattr(S, "SHEET_RANGES", flat)
    for d in S.random_sheets(4, seed=0):
        vals = np.unique(d[d != HOLE])
        # nearest point at 0 (a third of the sheets) or 30 mm, as IV-J normalises or not
        assert len(vals) == 1 and vals[0] in (0, int(np.rint(30.0 * UNITS_PER_MM)))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="n must be"):
        random_sheets(-1, 0)
    with pytest.raises(ValueError, match="too small"):
        random_sheets(1, 0, (4, 4))
    assert random_sheets(0, 0).shape == (0, 256, 256)


def test_sheet_ground_truths_replace_the_stated_share_and_leave_the_input_alone():
    from models.enhancer_presets import tiny_preset
    from models.training import sheet_ground_truths

    gt = np.full((8, 256, 256), HOLE, np.uint16)
    gt[:, 100:150, 100:150] = 1234
    keep = gt.copy()
    out = sheet_ground_truths(gt, 0.25, seed=7)
    np.testing.assert_array_equal(gt, keep)
    changed = [i for i in range(8) if not np.array_equal(out[i], gt[i])]
    assert len(changed) == 2                                                       # round(0.25 x 8)
    np.testing.assert_array_equal(out, sheet_ground_truths(gt, 0.25, seed=7))
    assert sheet_ground_truths(gt, 0.0, seed=7) is gt
    with pytest.raises(ValueError, match="sheet_fraction"):
        tiny_preset(sheet_fraction=1.0)
    assert tiny_preset().sheet_fraction == 0.0


def test_stage_pairs_hold_sheets_only_when_asked():
    pytest.importorskip("degrade")
    from models.training import ArraySource, Session, stage_pairs

    gt = np.full((4, 256, 256), HOLE, np.uint16)
    gt[:, 64:192, 64:192] = 20000
    yy = np.arange(256)[:, None]
    gt[:, 64:192, 64:192] += (yy[64:192] * 10).astype(np.uint16)       # a depth ramp (a face range to scale)
    want = np.where(gt == HOLE, HOLE, np.rint((gt.astype(float) - 20640) / 1270 * 65534)).astype(np.uint16)
    sess = Session("main", ("plain",), 0, 4, 4, 1)
    _, plain = stage_pairs(ArraySource(gt), sess, 0, seed=1, repeat=0, degrade_chunk=4)
    np.testing.assert_array_equal(plain, want)          # the ground truths, scaled to their face range
    _, mixed = stage_pairs(ArraySource(gt), sess, 0, seed=1, repeat=0, degrade_chunk=4, sheet_fraction=0.5)
    assert sum(not np.array_equal(m, g) for m, g in zip(mixed, want)) == 2


def test_train_cli_refuses_a_bad_sheet_fraction(capsys):
    from models.train_enhancers import main

    assert main(["--labels", "DL-Beta", "--sheet-fraction", "1.5", "--quiet"]) == 2
    assert "sheet_fraction must be in [0, 1)" in capsys.readouterr().err
