"""Our tables beside the papers' tables, with differences and Kendall tau.

Thin wrapper around experiments.schlett.steps.step09_compare; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step09_compare

if __name__ == "__main__":
    sys.exit(main_for(step09_compare, __doc__.splitlines()[0], real_data=False))
