"""Table V and Fig. 9 - roughness and holes in face regions of frontal KinectFaceDB and D435 images (IV-E).

Thin wrapper around experiments.schlett.steps.step05_table5; run with --help for the options
(--preset quick|paper, --seed, --data kinect=PATH d435=PATH, --force).
"""
import sys

from experiments.schlett.cli import main_for
from experiments.schlett.steps import step05_table5

if __name__ == "__main__":
    sys.exit(main_for(step05_table5, __doc__.splitlines()[0], real_data=True))
