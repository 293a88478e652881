"""Train the 7 U-Net enhancers (IV-C) unless their weights exist.

Thin wrapper around experiments.schlett.steps.step03_train; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step03_train

if __name__ == "__main__":
    sys.exit(main_for(step03_train, __doc__.splitlines()[0], real_data=False))
