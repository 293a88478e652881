"""Shared command line of the numbered Chiu scripts."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    from models.chiu_presets import PRESETS

    p.add_argument("--preset", choices=sorted(PRESETS), default="quick",
                   help="sizes: quick (minutes on a CPU), cpu (about an hour on a 2-core CPU) or paper")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic identity pools and training")
    p.add_argument("--out", type=Path, default=None, help="output folder (default results/chiu)")
    p.add_argument("--depthnet-data", type=Path, default=None,
                   help="train DepthNet on this BU-3DFE folder (its first 90 subjects, pose-augmented) instead "
                        "of the synthetic stand-in; needs --mask-source dlib")
    p.add_argument("--mask-source", choices=("generator", "dlib"), default=None,
                   help="face-parsing masks of DepthNet's training targets: the generator's 7 classes "
                        "(synthetic stand-in; default) or dlib landmark polygons (default with --depthnet-data)")
    return p


def preset_from_args(p: argparse.ArgumentParser, args):
    """The preset named on the command line with the DepthNet data and mask source applied."""
    import dataclasses

    from models.chiu_presets import get_preset

    preset = get_preset(args.preset)
    mask_source = args.mask_source or ("dlib" if args.depthnet_data else "generator")
    if args.depthnet_data is not None:
        if not args.depthnet_data.is_dir():
            p.error(f"--depthnet-data {args.depthnet_data}: folder not found")
        if mask_source != "dlib":
            p.error("--depthnet-data (BU-3DFE) has no parsing masks: use --mask-source dlib")
    return dataclasses.replace(preset, depthnet_data=str(args.depthnet_data) if args.depthnet_data else None,
                               mask_source=mask_source)


def setup(args) -> None:
    import keras

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    keras.utils.set_random_seed(args.seed)
