"""Procedural synthetic faces: contract, determinism, geometry/label alignment, options, files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from prnet_synth import procedural
from prnet_synth.conventions import HOLE, MM_PER_UNIT
from prnet_synth.procedural import MASK_CLASSES

EYES, BROWS, NOSE, MOUTH, GLASSES, SKIN = (MASK_CLASSES.index(c) for c in ("eyes", "brows", "nose", "mouth",
                                                                          "glasses", "skin"))


@pytest.fixture(scope="module")
def frontal():
    return procedural.generate(6, seed=3, frontal=True)


def test_contract_keys_shapes_and_params():
    samples = procedural.generate(3, seed=0)
    assert len(samples) == 3
    for s in samples:
        assert s["depth"].shape == (256, 256) and s["depth"].dtype == np.uint16
        assert s["rgb"].shape == (256, 256, 3) and s["rgb"].dtype == np.uint8
        assert s["gray"].shape == (256, 256) and s["gray"].dtype == np.uint8
        assert s["mask"].shape == (256, 256) and s["mask"].dtype == np.uint8
        assert s["mask"].max() < len(MASK_CLASSES)
        assert s["landmarks"].shape == (68, 3) and s["landmarks"].dtype == np.float32
        assert isinstance(s["identity"], int)
        p = s["params"]
        json.dumps(p)  # JSON-serialisable
        assert p["expression"] in procedural.EXPRESSIONS and p["occluder"] in procedural.OCCLUDERS
        assert abs(p["yaw"]) <= 45 and abs(p["pitch"]) <= 30 and abs(p["roll"]) <= 20
        d = s["depth"]
        valid = d != HOLE
        assert 0.1 < valid.mean() < 0.9
        assert d[valid].min() == 0  # the nearest visible point is 0
        # a face is 10-25 cm deep at most: all valid depth within the 250 mm range, below 200 mm here
        assert d[valid].max() * MM_PER_UNIT < 200
        # the background corners are holes
        assert d[0, 0] == HOLE or s["params"]["occluder"] == "paper"


def test_same_seed_same_faces_and_index_independence():
    a = procedural.generate(3, seed=7)
    b = procedural.generate(3, seed=7)
    for x, y in zip(a, b):
        for k in ("depth", "rgb", "mask", "landmarks"):
            np.testing.assert_array_equal(x[k], y[k])
        assert x["params"] == y["params"]
    # sample i does not depend on the samples before it
    single = procedural.sample(7, 2)
    np.testing.assert_array_equal(single["rgb"], a[2]["rgb"])
    c = procedural.generate(1, seed=8)[0]
    assert not np.array_equal(c["rgb"], a[0]["rgb"])
    # the stream yields the same sequence
    it = procedural.stream(7)
    np.testing.assert_array_equal(next(it)["depth"], a[0]["depth"])


def test_identities_repeat_with_different_captures():
    s = procedural.generate(4, seed=2, identities=2)
    assert [x["identity"] for x in s] == [0, 1, 0, 1]
    assert s[0]["params"]["identity_params"] == s[2]["params"]["identity_params"]
    assert s[0]["params"]["identity_params"] != s[1]["params"]["identity_params"]
    assert s[0]["params"]["yaw"] != s[2]["params"]["yaw"]


def test_frontal_pose_and_nose_tip_nearest(frontal):
    for s in frontal:
        p = s["params"]
        assert abs(p["yaw"]) <= 15 and p["occluder"] == "none"
        d = s["depth"]
        lm = s["landmarks"]
        # the nearest pixel (depth 0) lies at the nose tip (landmark 30) ...
        ys, xs = np.nonzero(d == d[d != HOLE].min())
        tip = lm[30, :2]
        assert np.min(np.hypot(xs - tip[0], ys - tip[1])) < 0.12 * np.linalg.norm(lm[36, :2] - lm[45, :2])
        # ... and the nose tip is the nearest of all landmarks
        assert np.argmin(lm[:, 2]) == 30


def test_depth_rgb_mask_pixel_aligned(frontal):
    for s in frontal:
        face = s["mask"] != 0
        valid = s["depth"] != HOLE
        # without occluders the valid depth is exactly the labelled face region
        np.testing.assert_array_equal(face, valid)
        # the face region is where the rendered head is, not the background: the background is
        # smooth (low local contrast) while the label boundary coincides with an intensity edge
        g = s["gray"].astype(np.float64)
        edge = np.hypot(*np.gradient(g))
        boundary = face ^ np.roll(face, 1, 1)
        assert edge[boundary].mean() > 2.0 * edge[~boundary].mean()
    head = procedural.sample(3, 0, frontal=True, depth_region="head")
    assert (head["depth"] != HOLE).sum() > (frontal[0]["depth"] != HOLE).sum()


def test_landmarks_align_with_depth_and_mask(frontal):
    for s in frontal:
        lm, d, m = s["landmarks"], s["depth"].astype(np.float64), s["mask"]
        # landmark depth = depth image at the landmark pixel (visible inner points; 1 mm tolerance)
        for i in (27, 30, 36, 39, 42, 45, 48, 54):
            x, y = int(round(lm[i, 0])), int(round(lm[i, 1]))
            assert abs(d[y, x] - lm[i, 2]) * MM_PER_UNIT < 1.5, i
        # label semantics: eye centres are "eyes", the nose tip "nose", the lip centres "mouth"
        for idx, cls in ((range(36, 42), EYES), (range(42, 48), EYES), ([30], NOSE), ([51, 57], MOUTH)):
            c = lm[list(idx), :2].mean(0)
            assert m[int(round(c[1])), int(round(c[0]))] == cls
        # brows: the band just below the brow landmarks (upper edge) is "brows"
        for i in (19, 24):
            x, y = int(round(lm[i, 0])), int(round(lm[i, 1] + 2))
            assert BROWS in m[y - 1:y + 2, x - 1:x + 2]
        # left/right: dlib's point 36 (subject's right eye outer corner) is on the image left
        assert lm[36, 0] < lm[39, 0] < lm[42, 0] < lm[45, 0]
        assert lm[48, 0] < lm[54, 0] and lm[0, 0] < lm[8, 0] < lm[16, 0]


def test_expression_and_occluder_options():
    neutral = procedural.sample(4, 0, expression="neutral", occluder="none", yaw_range=0, pitch_range=0,
                                roll_range=0)
    opened = procedural.sample(4, 0, expression="open_mouth", occluder="none", yaw_range=0, pitch_range=0,
                               roll_range=0)
    smile = procedural.sample(4, 0, expression="smile", occluder="none", yaw_range=0, pitch_range=0,
                              roll_range=0)
    gap = lambda s: s["landmarks"][66, 1] - s["landmarks"][62, 1]
    assert abs(gap(neutral)) < 1.0 and gap(opened) > 5.0
    # smiling raises the mouth corners relative to the lip centre
    corner = lambda s: s["landmarks"][[48, 54], 1].mean() - s["landmarks"][[51, 57], 1].mean()
    assert corner(smile) < corner(neutral) - 1.0
    # same identity and capture otherwise: the eyes do not move
    np.testing.assert_allclose(neutral["landmarks"][36:48, :2], opened["landmarks"][36:48, :2], atol=0.5)

    still = dict(expression="neutral", yaw_range=0, pitch_range=0, roll_range=0)
    glasses = procedural.sample(4, 0, occluder="glasses", **still)
    assert (glasses["mask"] == GLASSES).sum() > 300
    hand = procedural.sample(4, 0, occluder="hand", **still)
    free = procedural.sample(4, 0, occluder="none", **still)
    assert (hand["mask"] == MOUTH).sum() < 0.3 * (free["mask"] == MOUTH).sum()
    paper = procedural.sample(4, 0, occluder="paper", **still)
    face_px = (paper["mask"] != 0).sum()
    assert face_px < 0.75 * (free["mask"] != 0).sum()
    # the occluder lies in front of the face: it holds the nearest depth
    assert paper["depth"][paper["mask"] == 0].min() == 0


def test_fixed_pose_turns_the_face():
    left = procedural.sample(6, 0, yaw=-30, pitch=0, roll=0, occluder="none")
    right = procedural.sample(6, 0, yaw=30, pitch=0, roll=0, occluder="none")
    assert (left["params"]["yaw"], right["params"]["yaw"]) == (-30.0, 30.0)
    # positive yaw turns the face to the image right: the nose tip moves right of the eye midpoint
    off = lambda s: s["landmarks"][30, 0] - s["landmarks"][[39, 42], 0].mean()
    assert off(right) > 3 and off(left) < -3
    # positive pitch tilts the face down: the protruding nose tip drops further below the eyes
    down = procedural.sample(6, 0, yaw=0, pitch=20, roll=0, occluder="none")
    up = procedural.sample(6, 0, yaw=0, pitch=-20, roll=0, occluder="none")
    drop = lambda s: s["landmarks"][30, 1] - s["landmarks"][[39, 42], 1].mean()
    assert drop(down) > drop(up) + 5
    # mirror-symmetric poses of a (nearly symmetric) face: the visible face areas are similar
    assert abs(int((left["mask"] != 0).sum()) - int((right["mask"] != 0).sum())) < 0.1 * (right["mask"] != 0).sum()


def test_bad_options_are_refused():
    with pytest.raises(TypeError, match="unknown option"):
        procedural.generate(1, 0, colour="blue")
    with pytest.raises(ValueError, match="expression"):
        procedural.generate(1, 0, expression="angry")
    with pytest.raises(ValueError, match="occluder"):
        procedural.generate(1, 0, frontal=True, occluder="hand")
