"""Table VII - landmark hole ratios and geometric PAD error (IV-G).

Thin wrapper around experiments.schlett.steps.step07_table7; run with --help for the options
(--preset quick|paper, --seed, --data kinect=PATH d435=PATH, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step07_table7

if __name__ == "__main__":
    sys.exit(main_for(step07_table7, __doc__.splitlines()[0], real_data=True))
