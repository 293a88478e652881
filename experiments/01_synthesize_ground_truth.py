"""Synthesize held-out ground truth face depth images (IV-D test data).

Thin wrapper around experiments.schlett.steps.step01_ground_truth; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step01_ground_truth

if __name__ == "__main__":
    sys.exit(main_for(step01_ground_truth, __doc__.splitlines()[0], real_data=False))
