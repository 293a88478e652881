"""Presets of the Schlett experiments (configs are data: ``PRESETS[name]``).

``paper`` holds the sizes the paper states (IV-D: 100,000 test pairs; KinectFaceDB: 52 subjects,
2 sessions). ``quick`` is what the 2-core machine does in minutes; results/README.md lists what was
scaled down and why.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["SchlettPreset", "PRESETS", "get_preset", "EVAL_SEED_OFFSET"]

# Evaluation data is drawn from generator seeds far away from the training seeds (IV-D: "data
# already used during the deep learning enhancer training being excluded").
EVAL_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class SchlettPreset:
    name: str
    n_test_pairs: int          # IV-D held-out synthetic pairs (Table IV)
    eval_subjects: int         # embedded default for IV-E..G: synthetic identities ("subjects")
    eval_sessions: int         # and sessions per identity (new pose per session)
    kinect_limit: int          # KinectFaceDB: at most this many subjects (0 = all)
    d435_limit: int            # D435 recordings: at most this many frames (0 = all)
    figure_samples: int        # qualitative grids per group (Figs. 13-14, 15-16, 17-18)
    attack_repeats: int        # attack suite: random draws per attack kind
    batch_size: int            # enhancer inference batch
    gt_chunk: int              # ground truth written per shard in step 01

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS = {
    "paper": SchlettPreset("paper", n_test_pairs=100_000, eval_subjects=52, eval_sessions=2,
                           kinect_limit=0, d435_limit=0, figure_samples=2, attack_repeats=10,
                           batch_size=16, gt_chunk=1000),
    "quick": SchlettPreset("quick", n_test_pairs=200, eval_subjects=6, eval_sessions=1,
                           kinect_limit=6, d435_limit=24, figure_samples=2, attack_repeats=2,
                           batch_size=8, gt_chunk=100),
}


def get_preset(name: str) -> SchlettPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
