"""Shared command line of the numbered Chiu scripts."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--preset", choices=("quick", "paper"), default="quick", help="sizes: quick (minutes on a CPU) or paper")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic identity pools and training")
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/chiu)")
    return p


def setup(args) -> None:
    import keras

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    keras.utils.set_random_seed(args.seed)
