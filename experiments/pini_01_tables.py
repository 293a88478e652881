"""Pini et al. (001): train AE / cGAN / pix2pix (gray -> depth) and the Siamese verifier, write
results/pini/table1_pixel_metrics.csv, table2_face_verification.csv and figures/samples.png (the
embedded synthetic default) or the same files under results/pini/pandora/ or results/pini/biwi/.
Real data: frames are cropped (eq. 6), filtered by 001's exclusion of extreme poses, occlusions and
failed crops (experiments/cgan/exclusion.py) and cached on disk (memory-mapped, resumable).

    python -m experiments.pini_01_tables --preset quick --seed 0 --data synthetic
    python -m experiments.pini_01_tables --preset paper --data pandora --root /path/to/pandora

A killed run resumes: finished models are reused, an unfinished one continues from its last epoch.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="quick", choices=("quick", "cpu", "paper"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="synthetic", choices=("synthetic", "pandora", "biwi"))
    ap.add_argument("--root", default=None, help="data set folder for --data pandora|biwi")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from experiments.cgan import pini_run

    pini_run.run(args.preset, args.seed, args.data, args.root, log_fn=lambda m: print(m, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
