"""Training presets of the U-Net enhancers (Schlett et al., IV-C), kept as data.

``paper``: the sizes IV-C states (000_5d0e6bc7884ed0ba.txt):
* DL-Alpha, DL-Beta, DL-Gamma: 240,000 pairs with randomised hole values, 30,000 pairs at a time for
  10 epochs (8 stages); DL-Alpha first on 70,000 plain pairs, then on 60,000 blurred-background pairs;
* DL-Delta: 60,000 ground truths (a subset of the 240,000) x 3 interleaved variants, 10,000 ground
  truths = 30,000 pairs per stage, 10 epochs, 6 stages; DL-Delta-2..4 repeat it from the previous model.
Batch size, learning rate, optimiser and loss are not stated: decided (docs/notes/50_unets.md).

``quick``: the same structure (the same number of stages, variants, phases and the Delta-n chaining)
with fewer pairs per stage, fewer epochs, narrower networks (``width_multiplier``; the paper preset
uses the exact Table III networks) and 128x128 training crops at native scale (the networks are fully
convolutional; inference runs on the full 256x256 image). Sized so that all seven enhancers train in
about 10 minutes on 2 CPU cores (measured numbers: docs/readme/50_unets.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

from .labels import base_label

__all__ = ["EnhancerPreset", "PRESETS", "get_preset", "width_for"]


@dataclass(frozen=True)
class EnhancerPreset:
    name: str
    #: the "240 000 pair training" of DL-Alpha/Beta/Gamma (randomised hole values)
    main_pairs: int = 240_000
    #: pairs per stage ("30 000 thereof being used in training for 10 epochs")
    stage_pairs: int = 30_000
    #: epochs per stage
    epochs: int = 10
    #: DL-Alpha's earlier sessions: plain pairs, then blurred-background pairs
    alpha_plain_pairs: int = 70_000
    alpha_blurred_pairs: int = 60_000
    #: DL-Delta: ground truths (first ones of the main set) and ground truths per stage (x 3 variants)
    delta_gts: int = 60_000
    delta_stage_gts: int = 10_000
    #: DL-Delta-1..DL-Delta-<n>
    delta_repeats: int = 4
    #: epochs per DL-Delta stage (None: ``epochs``, as in the paper: 10 for every stage)
    delta_epochs: Optional[int] = None
    #: decided (not stated): optimiser Adam, loss MSE (see the notes)
    batch_size: int = 16
    learning_rate: float = 1e-3
    loss: str = "mse"
    #: 1.0 = the exact Table III networks
    width_multiplier: float = 1.0
    #: per-network exceptions, ((base label, multiplier), ...)
    width_overrides: tuple = ()
    #: no scaled width below this (a 2-channel full-resolution level trains unreliably)
    min_width: int = 1
    #: training crop side (256 = whole image); crops keep the native scale
    train_size: int = 256
    #: ground truths generated per call of the synthetic generator (and cache unit)
    gt_chunk: int = 2_000
    #: images per call of degrade.degrade_batch
    degrade_chunk: int = 32
    #: not in the paper: share of each stage's ground truths replaced by face-free sheets
    #: (``prnet_synth.sheets``; REPRODUCTION_NOTES "Sheet pairs"); 0 = the paper's data
    sheet_fraction: float = 0.0
    #: not in the paper: loss weight 1 + ``hole_weight`` on face pixels the degradation broke (an input
    #: hole, or input more than 20 mm off the ground truth), 1 elsewhere; 0 = the plain loss
    hole_weight: float = 0.0
    #: learning rate over the model's whole curriculum: "constant", or "cosine" (linear warm-up over
    #: ``warmup_fraction`` of the steps to ``learning_rate``, then cosine decay to 0) - not stated
    lr_schedule: str = "constant"
    warmup_fraction: float = 0.0
    #: draw new degradations of each stage's ground truths every epoch instead of repeating the same
    #: pairs (the ground truths, variants and stage structure stay the paper's)
    fresh_degradations: bool = False
    #: progressive resizing: the last ``full_size_stages`` stages of each session train on whole
    #: images (batch ``full_size_batch``, default ``batch_size``), earlier stages on ``train_size`` crops
    full_size_stages: int = 0
    full_size_batch: Optional[int] = None
    #: store the trained weights with float16 variables (half the bytes; loaded as float32)
    store_float16: bool = False

    def __post_init__(self):
        for f in ("main_pairs", "stage_pairs", "epochs", "delta_gts", "delta_stage_gts", "delta_repeats",
                  "batch_size", "train_size", "gt_chunk", "degrade_chunk"):
            if int(getattr(self, f)) < 1:
                raise ValueError(f"EnhancerPreset.{f} must be >= 1, got {getattr(self, f)}")
        if self.delta_epochs is not None and int(self.delta_epochs) < 1:
            raise ValueError(f"EnhancerPreset.delta_epochs must be >= 1 or None, got {self.delta_epochs}")
        if self.alpha_plain_pairs < 0 or self.alpha_blurred_pairs < 0:
            raise ValueError("EnhancerPreset: DL-Alpha pre-training sizes must be >= 0")
        if self.delta_gts > self.main_pairs:
            raise ValueError("EnhancerPreset: the DL-Delta ground truths are a subset of the main set "
                             f"(delta_gts {self.delta_gts} > main_pairs {self.main_pairs})")
        if not 0.0 <= float(self.sheet_fraction) < 1.0:
            raise ValueError(f"EnhancerPreset.sheet_fraction must be in [0, 1), got {self.sheet_fraction}")
        if not float(self.hole_weight) >= 0.0:
            raise ValueError(f"EnhancerPreset.hole_weight must be >= 0, got {self.hole_weight}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"EnhancerPreset.lr_schedule: expected 'constant' or 'cosine', got {self.lr_schedule!r}")
        if not 0.0 <= float(self.warmup_fraction) < 1.0:
            raise ValueError(f"EnhancerPreset.warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if int(self.full_size_stages) < 0:
            raise ValueError(f"EnhancerPreset.full_size_stages must be >= 0, got {self.full_size_stages}")
        if self.full_size_batch is not None and int(self.full_size_batch) < 1:
            raise ValueError(f"EnhancerPreset.full_size_batch must be >= 1 or None, got {self.full_size_batch}")
        if self.loss not in ("mse", "mae"):
            raise ValueError(f"EnhancerPreset.loss: expected 'mse' or 'mae', got {self.loss!r}")


PRESETS = {
    "paper": EnhancerPreset(name="paper"),
    # 8 main stages of 128 pairs x 3 epochs; DL-Alpha's plain/blurred sessions keep the paper's
    # 7:6 ratio of pairs (149 and 128 pairs, at 128 per stage: 2 + 1 stages); DL-Delta 6 stages of
    # 64 ground truths x 3 variants x 4 epochs, repeated 4 times. Widths: DL-Delta x0.5 (8 channels
    # at full resolution), DL-Beta x0.25 (the same level widths: Beta is Delta with doubled widths),
    # DL-Alpha and DL-Gamma x0.25 (at least 4 channels). Measured choices: docs/notes/50_unets.md.
    "quick": EnhancerPreset(
        name="quick", main_pairs=1024, stage_pairs=128, epochs=3, delta_epochs=4,
        alpha_plain_pairs=149, alpha_blurred_pairs=128,
        delta_gts=384, delta_stage_gts=64, delta_repeats=4,
        batch_size=8, learning_rate=1e-3, width_multiplier=0.25, train_size=128,
        width_overrides=(("DL-Delta", 0.5),), min_width=4,
        gt_chunk=64, degrade_chunk=32,
    ),
    # The most learning this 2-core CPU gives per model in one run of about an hour (issue budget: 75 min
    # per model, 6 h for the seven, DL-Delta-1..4 first). Same structure as the paper: the same
    # sessions, 8 main stages, DL-Alpha's plain and blurred sessions (the paper's 7:6 ratio), DL-Delta's
    # 6 stages of three interleaved variants, the DL-Delta-1..4 chain, saving only on improvement.
    # Recipe chosen by benchmarks/learning_study.py (REPRODUCTION_NOTES, "The cpu preset"): fresh
    # degradations of each stage's ground truths every epoch, Adam 1e-3 with a 5 % warm-up and cosine
    # decay over the model's curriculum, MSE weighted 1 + 20 on face pixels the degradation broke (added
    # after results/unets/hole_weight_study: held-out face RMSE 0.060-0.068 against 0.111-0.116 unweighted
    # at the same 4 minutes), 128x128 crops on a fixed-shape model. Widths x0.5 for all
    # seven (narrowed from Table III: DL-Delta at its full width trained at 8 images/s here, half the
    # rate, and diverged at 2e-3 - measured, see the notes; the seven also fit the 60 MB cap). Weights
    # stored as float16.
    "cpu": EnhancerPreset(
        name="cpu", main_pairs=16_000, stage_pairs=2_000, epochs=2, delta_epochs=2,
        alpha_plain_pairs=4_667, alpha_blurred_pairs=4_000,
        delta_gts=5_700, delta_stage_gts=950, delta_repeats=4,
        batch_size=8, learning_rate=1e-3, lr_schedule="cosine", warmup_fraction=0.05, loss="mse",
        fresh_degradations=True, width_multiplier=0.5, min_width=4,
        train_size=128, gt_chunk=950, degrade_chunk=32, store_float16=True, hole_weight=20.0,
    ),
}


def width_for(preset: EnhancerPreset, label: str) -> float:
    """The width multiplier of ``label`` ("DL-Delta-3" counts as "DL-Delta") under ``preset``."""
    return dict(preset.width_overrides).get(base_label(label), preset.width_multiplier)


def get_preset(preset: "str | EnhancerPreset") -> EnhancerPreset:
    """A preset by name ('paper', 'cpu' or 'quick'), or the given EnhancerPreset unchanged."""
    if isinstance(preset, EnhancerPreset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown enhancer training preset {preset!r}; expected one of {sorted(PRESETS)}") from None


def tiny_preset(**changes) -> EnhancerPreset:
    """A very small preset for tests (same structure, a few pairs)."""
    base = EnhancerPreset(name="tiny", main_pairs=16, stage_pairs=8, epochs=2, alpha_plain_pairs=8,
                          alpha_blurred_pairs=8, delta_gts=8, delta_stage_gts=4, delta_repeats=4,
                          batch_size=4, learning_rate=1e-3, width_multiplier=0.0625, train_size=128,
                          gt_chunk=16, degrade_chunk=8)
    return replace(base, **changes)
