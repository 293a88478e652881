"""Table VI and Fig. 10 - falsification RMSE for Neutral, OcclusionMouth, OcclusionPaper (IV-F).

Thin wrapper around experiments.schlett.steps.step06_table6; run with --help for the options
(--preset quick|paper, --seed, --data kinect=PATH d435=PATH, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step06_table6

if __name__ == "__main__":
    sys.exit(main_for(step06_table6, __doc__.splitlines()[0], real_data=True))
