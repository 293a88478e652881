"""Realism judged by outside tools: dlib's HOG face detector and its 68-point predictor
(``face-recognition-models``) on frontal synthetic renders (issue: >= 90 % exactly one face,
median mean-point error <= 0.15 inter-ocular distances)."""
from __future__ import annotations

import numpy as np
import pytest

from prnet_synth import procedural

pytest.importorskip("dlib")


def test_dlib_finds_and_landmarks_frontal_renders():
    from prnet_synth import landmarks as dl

    n = 60
    exactly_one, errors = 0, []
    for s in procedural.stream(seed=2024, frontal=True, stop=n):
        assert s["params"]["occluder"] == "none" and abs(s["params"]["yaw"]) <= 15
        boxes = dl.detect_faces(s["rgb"])
        exactly_one += len(boxes) == 1
        if boxes:
            pts = dl.landmarks68(s["rgb"], boxes[0])
            ours = s["landmarks"][:, :2]
            iod = np.linalg.norm(ours[36] - ours[45])  # outer eye corners
            errors.append(float(np.linalg.norm(pts - ours, axis=1).mean() / iod))
    assert exactly_one >= 0.9 * n, f"dlib found exactly one face in {exactly_one}/{n} renders"
    assert len(errors) >= 0.9 * n
    assert np.median(errors) <= 0.15, f"median landmark error {np.median(errors):.3f} IOD"
