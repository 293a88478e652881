"""Calibrate the synthetic Table IV benchmark's degradation to the paper's non-learned rows.

Thin wrapper around experiments.schlett.calibration.main; run with --help for the options
(--n, --seed, --budget-minutes, --force). Resumable: evaluated settings are memoised.
"""
import sys

from experiments.schlett.calibration import main

if __name__ == "__main__":
    sys.exit(main())
