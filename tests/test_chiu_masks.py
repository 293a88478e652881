"""Face-parsing mask sources of the Chiu pipeline: dlib landmark polygons against a hand-made layout
and against the procedural generator's own 7-class masks (an independent reference)."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.chiu import masks as M


def _layout():
    """A hand-made 68-point face on a 100x100 canvas (x, y)."""
    lm = np.zeros((68, 2))
    t = np.linspace(0, np.pi, 17)
    lm[0:17] = np.stack([50 - 30 * np.cos(t), 40 + 50 * np.sin(t)], 1)     # jaw: (20,40) .. chin (50,90) .. (80,40)
    lm[17:22] = np.stack([np.linspace(25, 45, 5), np.full(5, 35.0)], 1)     # right brow at y = 35
    lm[22:27] = np.stack([np.linspace(55, 75, 5), np.full(5, 35.0)], 1)
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    lm[36:42] = np.stack([35 + 6 * np.cos(a), 47 + 3 * np.sin(a)], 1)       # eyes centred (35,47), (65,47)
    lm[42:48] = np.stack([65 + 6 * np.cos(a), 47 + 3 * np.sin(a)], 1)
    lm[27:31] = np.stack([np.full(4, 50.0), np.linspace(42, 58, 4)], 1)     # bridge
    lm[31:36] = np.stack([np.linspace(44, 56, 5), np.full(5, 62.0)], 1)     # nostrils
    b = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    lm[48:60] = np.stack([50 + 10 * np.cos(b), 75 + 4 * np.sin(b)], 1)      # outer lips centred (50,75)
    lm[60:68] = np.stack([50 + 6 * np.cos(b[:8]), 75 + 2 * np.sin(b[:8])], 1)
    return lm


def test_landmark_polygons_hand_made():
    m = M.landmarks_to_mask(_layout(), (100, 100))
    at = lambda x, y: int(m[y, x])  # noqa: E731
    assert at(35, 47) == M.EYES and at(65, 47) == M.EYES
    assert at(50, 58) == M.NOSE and at(50, 75) == M.MOUTH
    assert at(30, 35) == M.BROWS and at(70, 35) == M.BROWS
    # the forehead band: brows lifted by 0.35 of the brow-to-chin distance (55 px) = up to y = 15.75
    assert at(50, 20) == M.SKIN and at(50, 12) == M.BACKGROUND
    assert at(30, 70) == M.SKIN and at(5, 50) == M.BACKGROUND and at(50, 95) == M.BACKGROUND
    assert not (m == M.GLASSES).any()
    with pytest.raises(ValueError, match="68"):
        M.landmarks_to_mask(np.zeros((5, 2)), (10, 10))


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def test_polygons_agree_with_the_generator_masks():
    from prnet_synth import procedural

    samples = procedural.generate(4, 11, frontal=True, expression="neutral")
    found = 0
    for s in samples:
        ref = s["mask"]
        # from the generator's own landmarks: the polygons match its parsing classes
        poly = M.landmarks_to_mask(s["landmarks"][:, :2], ref.shape)
        assert _iou(ref > 0, poly > 0) > 0.75
        assert _iou(ref == M.EYES, poly == M.EYES) > 0.8
        assert _iou(ref == M.MOUTH, poly == M.MOUTH) > 0.85
        # from dlib's landmarks on the image (the substitute for real data)
        d = M.dlib_mask(s["rgb"])
        if d is None:
            continue
        found += 1
        assert _iou(ref > 0, d > 0) > 0.75
        assert _iou(ref == M.EYES, d == M.EYES) > 0.5
        assert _iou(ref == M.MOUTH, d == M.MOUTH) > 0.6
    assert found >= 3


def test_masks_for_sources():
    from prnet_synth import procedural

    s = procedural.generate(1, 11, frontal=True, expression="neutral")[0]
    blank = np.full_like(s["rgb"], 128)
    data = {"rgb": np.stack([blank, s["rgb"]]), "depth": np.stack([s["depth"], s["depth"]]),
            "identity": np.array([7, 9]), "mask": np.stack([s["mask"], s["mask"]])}
    same, dropped = M.masks_for(data, "generator")
    assert same is data and dropped == 0
    out, dropped = M.masks_for(data, "dlib")
    assert dropped == 1 and list(out["identity"]) == [9] and out["mask"].shape == (1,) + s["mask"].shape
    assert _iou(out["mask"][0] > 0, s["mask"] > 0) > 0.75
    with pytest.raises(ValueError, match="generator"):
        M.masks_for({"rgb": data["rgb"]}, "generator")
    with pytest.raises(ValueError, match="unknown mask source"):
        M.masks_for(data, "bisenet")
