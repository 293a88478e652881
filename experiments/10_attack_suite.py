"""Attack suite - planes, occluded faces and noise through the DL enhancers.

Thin wrapper around experiments.schlett.steps.step10_attacks; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step10_attacks

if __name__ == "__main__":
    sys.exit(main_for(step10_attacks, __doc__.splitlines()[0], real_data=False))
