"""Command line of the degradation package.

    python -m degrade figure   [--source toy|procedural|DIR] [--seed 0] [--n 3] [--out degraded_samples.png]
    python -m degrade eval-set --out DIR [--preset quick|paper] [--source procedural|toy|DIR] [--seed 0]
                               [--config paper|kinect_v1|d435] [--n N]

``figure`` writes to ``degraded_samples.png`` in the current directory unless ``--out`` says
otherwise, so a trial run never overwrites the committed ``results/degrade/degraded_samples.png``
(regenerate that one with ``--out results/degrade/degraded_samples.png``). From a directory it uses
the first ``--n`` usable PNGs in name order: unusable files are logged, skipped and counted.
All-hole images are drawn (in the hole colour), not refused.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


log = logging.getLogger("degrade")

#: where ``figure`` writes without --out: the current directory (never the committed results/ figure)
DEFAULT_FIGURE = "degraded_samples.png"


class NoUsableFileError(ValueError):
    """A ground-truth directory holds no usable PNG."""


def _read_pngs(source, n: int, size: int = 256):
    """The first ``n`` usable depth PNGs under ``source`` (name order) and the number of files skipped.
    Each unusable file is logged (WARNING) and skipped; none usable: NoUsableFileError naming it."""
    import numpy as np

    from prnet_synth.conventions import DepthFormatError, read_depth_png

    from .dataset import list_pngs

    images, skipped = [], 0
    for p in list_pngs(source):
        if len(images) == n:
            break
        try:
            images.append(read_depth_png(p, size=(size, size)))
        except (DepthFormatError, OSError) as exc:
            skipped += 1
            log.warning("skipping %s: %s", p, str(exc).removeprefix(f"{p}: "))
    if not images:
        raise NoUsableFileError(f"{source}: no usable ground-truth PNG ({skipped} file(s) skipped; expected "
                                f"16-bit single-channel PNGs of {size}x{size})")
    if len(images) < n:
        log.warning("%s: only %d usable PNG(s), %d requested", source, len(images), n)
    return np.stack(images), skipped


def _ground_truth(source: str, n: int, seed: int, size: int = 256, *, with_skipped: bool = False):
    import numpy as np

    skipped = 0
    if source == "toy":
        from .toyfaces import toy_faces

        gt = toy_faces(n, size, seed)
    elif source == "procedural":
        from prnet_synth import procedural

        gt = np.stack([np.asarray(d["depth"], np.uint16) for d in procedural.generate(n, seed)])
    else:
        gt, skipped = _read_pngs(source, n, size)
    return (gt, skipped) if with_skipped else gt


def _colour_range(columns, i: int, hole: int):
    """The (vmin, vmax) of row ``i``: its ground truth's face, else (all holes) the valid pixels of any
    panel of the row, else (nothing valid anywhere) None, None (colorize then draws holes only)."""
    for batch in columns:
        valid = batch[i][batch[i] != hole]
        if valid.size:
            return float(valid.min()), float(valid.max())
    return None, None


def make_figure(out: Path, source: str = "toy", seed: int = 0, n: int = 3) -> Path:
    """Degraded samples per variant (and the camera stand-in configs) beside their ground truth.

    ``source``: "toy", "procedural" or a directory of 16-bit PNGs (unusable files are logged and
    skipped)."""
    return draw_figure(out, _ground_truth(source, n, seed), source, seed)


def draw_figure(out: Path, gt, source: str, seed: int = 0) -> Path:
    """The figure of ``make_figure`` for the ground truths ``gt`` (uint16 NxHxW; all-hole ones too)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from prnet_synth.atomic import atomic_open
    from prnet_synth.conventions import HOLE, colorize

    from . import VARIANTS, degrade_batch, normalize_ground_truth

    # the paper config degrades ground truth in its own scaling (face range); the camera stand-ins
    # degrade the generator's 250 mm format, like real recordings; each group has its colour range
    gt_paper = normalize_ground_truth(gt, "paper")
    cols = [("ground truth", gt, 0), ("ground truth, paper scaling", gt_paper, 1)]
    for v in VARIANTS:
        cols.append((f"paper: {v}", degrade_batch(gt_paper, seed + 1, [v] * len(gt), "paper"), 1))
    for name in ("kinect_v1", "d435"):
        cols.append((f"{name}: plain", degrade_batch(gt, seed + 1, "plain", name), 0))
    fig, axes = plt.subplots(len(gt), len(cols), figsize=(1.6 * len(cols), 1.7 * len(gt)), dpi=90)
    axes = np.atleast_2d(axes)
    for i in range(len(gt)):
        ranges = {g: _colour_range([batch for _, batch, k in cols if k == g], i, HOLE) for g in (0, 1)}
        for j, (title, batch, group) in enumerate(cols):
            lo, hi = ranges[group]
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
    script = os.path.basename(sys.argv[0])       # the console script's name (setup.cfg), else `python -m`
    ap = argparse.ArgumentParser(prog=script if script.startswith("face-depth-") else "python -m degrade",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("figure", help="figure of degraded samples per variant beside the ground truth")
    f.add_argument("--source", default="toy",
                   help="toy | procedural | a directory of 16-bit PNGs (unusable files are logged, skipped and "
                        "counted)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--n", type=int, default=3, help="rows (ground-truth images)")
    f.add_argument("--out", type=Path, default=Path(DEFAULT_FIGURE),
                   help=f"output PNG (default: {DEFAULT_FIGURE} in the current directory, so the committed "
                        "results/degrade/degraded_samples.png is only replaced when named here)")
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
        if args.n < 1:
            f.error(f"--n must be >= 1, got {args.n}")
        try:
            gt, skipped = _ground_truth(args.source, args.n, args.seed, with_skipped=True)
        except (NoUsableFileError, FileNotFoundError) as exc:
            f.error(str(exc))
        out = draw_figure(args.out, gt, args.source, args.seed)
        if skipped:
            print(f"{skipped} file(s) skipped in {args.source} (see the warnings)")
        print(out)
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
