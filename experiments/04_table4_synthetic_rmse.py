"""Table IV and Fig. 8 - face-area RMSE of the 16 enhancers on synthetic pairs (IV-D).

Thin wrapper around experiments.schlett.steps.step04_table4; run with --help for the options
(--preset quick|paper, --seed, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step04_table4

if __name__ == "__main__":
    sys.exit(main_for(step04_table4, __doc__.splitlines()[0], real_data=False))
