"""The U-Net enhancer labels of Schlett et al. (IV-C), stated once and free of every import.

``BASE_LABELS``: the four networks of Table III; ``ENHANCER_LABELS``: the seven trained enhancers
(DL-Delta-1..4 are one network trained four times in a chain); ``base_label`` maps the second to the
first. ``models.unet`` (the layouts) and ``models.enhancer_presets`` (the widths per network) both use
them, so neither needs to import the other for a label.
"""
from __future__ import annotations

__all__ = ["BASE_LABELS", "ENHANCER_LABELS", "base_label"]

BASE_LABELS = ("DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta")

#: The seven trained enhancers of IV-C; the one statement of them (``models.unet.ENHANCER_LABELS`` and
#: ``experiments.enhancers.UNET_LABELS`` are this tuple).
ENHANCER_LABELS = ("DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta-1", "DL-Delta-2", "DL-Delta-3", "DL-Delta-4")


def base_label(label: str) -> str:
    """'DL-Delta-3' -> 'DL-Delta'; the four base labels map to themselves; others raise ValueError."""
    if label in BASE_LABELS:
        return label
    if isinstance(label, str) and label.startswith("DL-Delta-") and label[len("DL-Delta-"):] in ("1", "2", "3", "4"):
        return "DL-Delta"
    raise ValueError(f"unknown U-Net enhancer label {label!r}; expected one of {sorted(BASE_LABELS)} "
                     f"or DL-Delta-1..DL-Delta-4")
