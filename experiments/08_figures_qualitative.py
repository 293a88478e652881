"""Figures 13-18 - qualitative enhancer grids (IV-H..J).

Thin wrapper around experiments.schlett.steps.step08_figures; run with --help for the options
(--preset quick|paper, --seed, --data kinect=PATH d435=PATH, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step08_figures

if __name__ == "__main__":
    sys.exit(main_for(step08_figures, __doc__.splitlines()[0], real_data=True))
