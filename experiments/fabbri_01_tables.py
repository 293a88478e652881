"""Fabbri et al. (003): train Autoencoder / det-cGAN / pix2pix / det-cGAN on binary maps
(depth -> RGB) and the attribute classifier, run the dlib probes, write
results/fabbri/table1_reconstruction.csv, table3_4_probes.csv, table2_attributes.csv and
figures/samples.png.

    python -m experiments.fabbri_01_tables --preset quick --seed 0 --data synthetic
    python -m experiments.fabbri_01_tables --preset paper --data pandora-motormark \\
        --root /path/to/pandora --test-root /path/to/motormark

Real data: the crops are cached on disk (memory-mapped); the attribute probe runs on the attributes a
per-subject CSV gives for both data sets (experiments/cgan/attributes.py); MotorMark's landmarks are
mapped to dlib's 68 points by their count (experiments/cgan/landmarks68.py).

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
    ap.add_argument("--data", default="synthetic", choices=("synthetic", "pandora-motormark"))
    ap.add_argument("--root", default=None, help="Pandora folder (training data) for --data pandora-motormark")
    ap.add_argument("--test-root", default=None, help="MotorMark folder (test data) for --data pandora-motormark")
    ap.add_argument("--attributes-train", default=None,
                    help="per-subject attribute CSV of the training data (default <root>/attributes.csv if present)")
    ap.add_argument("--attributes-test", default=None,
                    help="per-subject attribute CSV of the test data (default <test-root>/attributes.csv if present)")
    ap.add_argument("--no-dlib", action="store_true", help="skip the dlib detection / landmark probe")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from experiments.cgan import fabbri_run

    fabbri_run.run(args.preset, args.seed, args.data, args.root, args.test_root,
                   log_fn=lambda m: print(m, flush=True), dlib_probes=not args.no_dlib,
                   attributes_train=args.attributes_train, attributes_test=args.attributes_test)
    return 0


if __name__ == "__main__":
    sys.exit(main())
