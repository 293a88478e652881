"""Pini et al.'s exclusion of frames (001 sec. 4.1.1): "We exclude from the dataset a very small
subset of extreme head poses and occlusions, as well as frames in which the automatic cropping
algorithm does not work properly, to avoid training instability."

The paper gives no thresholds; the criteria below are decided (docs/notes/80_cgans.md) and applied
to the face samples of the real readers (Pandora, Biwi), which carry the pose angles and the crop
statistics of ``crop_quality``:

* **extreme pose**: |yaw| > 75, |pitch| > 60 or |roll| > 50 degrees. These are the ranges 001
  reports for Biwi (yaw +-75, pitch +-60, roll +-50): everything Biwi holds counts as a usable pose,
  Pandora's beyond it (yaw up to +-125, pitch +-100, roll +-70) as extreme; a "very small subset".
* **occlusion**: more than ``MAX_NEAR_FRACTION`` (10 %) of the crop's pixels read more than
  ``OCCLUDER_MM`` (100 mm) in front of the head distance D. A face's own relief (nose tip about
  30-50 mm in front of the cheeks, D measured on the face around the head centre) stays within it; a
  hand, bottle, phone or tablet held in front of the face does not. Occlusions touching the face
  cannot be told from depth alone and are kept.
* **failed crop**: fewer than ``MIN_VALID_FRACTION`` (25 %) of the crop's pixels carry a reading
  inside the 250 mm window of the 8-bit encoding around D (the annotated head centre missed the head
  or D was measured on the background), or more than ``MAX_OUTSIDE_FRACTION`` (25 %) of the eq. 6
  window lies outside the frame.

The run logs how many frames each criterion removed (``ExclusionCounts``).
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional

from experiments.datasets.face_crop import OCCLUDER_MM, crop_quality   # the readers compute it; re-exported

__all__ = ["POSE_LIMITS", "OCCLUDER_MM", "MAX_NEAR_FRACTION", "MIN_VALID_FRACTION", "MAX_OUTSIDE_FRACTION",
           "crop_quality", "exclusion_reason", "ExclusionCounts", "filter_samples"]

log = logging.getLogger(__name__)

POSE_LIMITS = {"yaw": 75.0, "pitch": 60.0, "roll": 50.0}
MAX_NEAR_FRACTION = 0.10
MIN_VALID_FRACTION = 0.25
MAX_OUTSIDE_FRACTION = 0.25


def exclusion_reason(sample: dict) -> Optional[str]:
    """None when the sample is kept, else "extreme pose: ...", "occlusion: ..." or "failed crop: ...".
    Quantities missing from the sample are not judged (the criterion cannot apply)."""
    for name, limit in POSE_LIMITS.items():
        v = sample.get(name)
        if v is not None and math.isfinite(float(v)) and abs(float(v)) > limit:
            return f"extreme pose: |{name}| {abs(float(v)):.1f} > {limit:g} degrees"
    near = sample.get("near_fraction")
    if near is not None and near > MAX_NEAR_FRACTION:
        return f"occlusion: {100 * near:.1f} % of the crop is more than {OCCLUDER_MM:g} mm in front of the face"
    valid = sample.get("valid_fraction")
    if valid is not None and valid < MIN_VALID_FRACTION:
        return f"failed crop: only {100 * valid:.1f} % of the crop has a reading near the head distance"
    outside = sample.get("outside_fraction")
    if outside is not None and outside > MAX_OUTSIDE_FRACTION:
        return f"failed crop: {100 * outside:.1f} % of the face window lies outside the frame"
    return None


@dataclass
class ExclusionCounts:
    kept: int = 0
    excluded: dict = field(default_factory=lambda: {"extreme pose": 0, "occlusion": 0, "failed crop": 0})

    @property
    def total(self) -> int:
        return self.kept + sum(self.excluded.values())

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.excluded.items())
        return f"kept {self.kept} of {self.total} frames (excluded: {parts})"


def filter_samples(samples: Iterable[dict], counts: Optional[ExclusionCounts] = None,
                   source: str = "") -> Iterator[dict]:
    """Yield the samples ``exclusion_reason`` keeps; count (and log at debug level) the others."""
    counts = counts if counts is not None else ExclusionCounts()
    for s in samples:
        why = exclusion_reason(s)
        if why is None:
            counts.kept += 1
            yield s
            continue
        counts.excluded[why.split(":")[0]] += 1
        log.debug("%s: excluded %s %s: %s", source or "frames", s.get("subject", ""), s.get("frame", ""), why)
