"""The command line shared by the numbered scripts: ``--preset quick|paper``, ``--seed``,
``--data kinect=PATH d435=PATH`` (real data sets; without them the embedded synthetic default is
used and every output says so), ``--gt-dir DIR`` (ground-truth PNGs for steps 01 and 03 instead of the
procedural generator), ``--force`` (redo finished work), ``-v``."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Optional

__all__ = ["parse", "main_for", "add_chain_arguments"]

DATA_KEYS = ("kinect", "d435")


def _data_items(items) -> dict:
    out = {}
    for it in items or []:
        key, sep, val = it.partition("=")
        if not sep or key not in DATA_KEYS:
            raise argparse.ArgumentTypeError(f"--data expects kinect=PATH or d435=PATH, got {it!r}")
        p = Path(val).expanduser()
        if not p.exists():
            raise argparse.ArgumentTypeError(f"--data {key}: {p} does not exist")
        out[key] = str(p)
    return out


def add_chain_arguments(ap: argparse.ArgumentParser) -> None:
    """``--gt-dir``, ``--weights``, ``--train``: shared by the numbered scripts and ``experiments.reproduce``."""
    ap.add_argument("--gt-dir", default=None, metavar="DIR",
                    help="ground truth for steps 01 (test pairs) and 03 (training): a folder of 256x256 16-bit "
                         "depth PNGs, e.g. the one `python -m prnet_synth.synthesize` writes from MegaFace; "
                         "default: the procedural generator")
    ap.add_argument("--weights", default="best", choices=("best", "paper", "cpu", "quick"),
                    help="U-Net weights the deep-learning enhancers use: a shipped preset under results/weights/, "
                         "or 'best' (default): per enhancer the best present, paper > cpu > quick")
    ap.add_argument("--train", default="none", choices=("none", "quick", "cpu", "paper"),
                    help="step 03: train the U-Nets of this training preset when their weights are missing "
                         "(with --force: retrain them), and use them; default none: evaluate the shipped weights")


def parse(argv: Optional[list[str]], description: str, real_data: bool = True) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--preset", default="quick", choices=("quick", "paper"))
    ap.add_argument("--seed", type=int, default=0)
    if real_data:
        ap.add_argument("--data", nargs="*", default=[], metavar="KIND=PATH",
                        help="real data: kinect=<KinectFaceDB root> and/or d435=<recordings>; "
                             "default: the embedded synthetic stand-in")
    add_chain_arguments(ap)
    ap.add_argument("--force", action="store_true", help="redo work whose outputs exist")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.gt_dir is not None:
        gdir = Path(args.gt_dir).expanduser()
        if not gdir.is_dir():
            ap.error(f"--gt-dir: {gdir} is not a folder")
        args.gt_dir = str(gdir.resolve())
    try:
        args.data = _data_items(getattr(args, "data", []))
    except argparse.ArgumentTypeError as exc:
        ap.error(str(exc))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return args


def main_for(step, description: str, argv: Optional[list[str]] = None, real_data: bool = True) -> int:
    args = parse(argv, description, real_data)
    outs = step(args)
    for o in outs:
        print(o)
    return 0
