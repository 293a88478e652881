"""Command line of the degradation package.

    python -m degrade figure   [--source toy|procedural|DIR] [--seed 0] [--out results/degrade/degraded_samples.png]
    python -m degrade eval-set --out DIR [--preset quick|paper] [--source procedural|toy|DIR] [--seed 0]
                               [--config paper|kinect_v1|d435] [--n N]
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _ground_truth(source: str, n: int, seed: int, size: int = 256):
    import numpy as np

    from prnet_synth.conventions import read_depth_png

    if source == "toy":
        from .toyfaces import toy_faces

        return toy_faces(n, size, seed)
    if source == "procedural":
        from prnet_synth import procedural

        return np.stack([np.asarray(d["depth"], np.uint16) for d in procedural.generate(n, seed)])
    from .dataset import list_pngs

    return np.stack([read_depth_png(p) for p in list_pngs(source)[:n]])


def make_figure(out: Path, source: str = "toy", seed: int = 0, n: int = 3) -> Path:
    """Degraded samples per variant (and the camera stand-in configs) beside their ground truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from prnet_synth.atomic import atomic_open
    from prnet_synth.conventions import HOLE, colorize

    from . import VARIANTS, degrade_batch

    gt = _ground_truth(source, n, seed)
    cols = [("ground truth", gt)]
    for v in VARIANTS:
        cols.append((f"paper: {v}", degrade_batch(gt, seed + 1, [v] * len(gt), "paper")))
    for name in ("kinect_v1", "d435"):
        cols.append((f"{name}: plain", degrade_batch(gt, seed + 1, "plain", name)))
    fig, axes = plt.subplots(len(gt), len(cols), figsize=(1.6 * len(cols), 1.7 * len(gt)), dpi=90)
    axes = np.atleast_2d(axes)
    for i in range(len(gt)):
        face = gt[i][gt[i] != HOLE]
        lo, hi = float(face.min()), float(face.max())
        for j, (title, batch) in enumerate(cols):
            ax = axes[i, j]
            ax.imshow(colorize(batch[i], vmin=lo, vmax=hi))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title, fontsize=6)
    fig.suptitle(f"Schlett III-B degradations (source: {source}, seed {seed}; holes magenta)", fontsize=7)
    fig.tight_layout()
    out = Path(out)
    with atomic_open(out, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return out


def main(argv=None) -> int:
    from prnet_synth.paths import results_dir

    ap = argparse.ArgumentParser(prog="python -m degrade", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figure", help="figure of degraded samples per variant beside the ground truth")
    f.add_argument("--source", default="toy", help="toy | procedural | a directory of 16-bit PNGs")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--n", type=int, default=3)
    f.add_argument("--out", type=Path, default=None)
    e = sub.add_parser("eval-set", help="write a fixed evaluation set (resumes an unfinished one)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--preset", default="quick", choices=("quick", "paper"))
    e.add_argument("--source", default="procedural", help="procedural | toy | a directory of 16-bit PNGs")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--config", default="paper", help="a name in degrade.CONFIGS")
    e.add_argument("--n", type=int, default=None, help="override the preset's number of pairs")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    if args.cmd == "figure":
        out = args.out or results_dir() / "degrade" / "degraded_samples.png"
        print(make_figure(out, args.source, args.seed, args.n))
        return 0
    from . import PRESETS, write_eval_set

    p = PRESETS[args.preset]
    n = args.n or p.n
    source = _ground_truth("toy", n, args.seed) if args.source == "toy" else args.source
    m = write_eval_set(args.out, source, n, args.seed, variant=p.variant, config=args.config,
                       shard_size=p.shard_size, preset=args.preset)
    print(m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
