"""Degrade the held-out ground truth into test pairs (III-B, IV-D).

Thin wrapper around experiments.schlett.steps.step02_test_pairs; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step02_test_pairs

if __name__ == "__main__":
    sys.exit(main_for(step02_test_pairs, __doc__.splitlines()[0], real_data=False))
