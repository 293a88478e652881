"""Train the U-Net enhancers of Schlett et al. (IV-C): ``python -m models.train_enhancers --preset quick``.

Options: ``--labels DL-Alpha DL-Delta-2 ...`` (default: all seven; DL-Delta-n pulls in its
predecessors), ``--preset quick|paper``, ``--seed``, ``--data DIR`` (a directory of 16-bit GT PNGs;
default: the synthetic generator ``prnet_synth.procedural``; ``toy`` = simple stand-in faces),
``--out DIR`` (default: weights to ``results/weights/<preset>/``, logs to ``results/training/<preset>/``),
``--force`` (retrain models whose weights exist), ``--sheet-fraction F`` (not in the paper: replace
that share of each stage's ground truths by face-free sheets, ``prnet_synth.sheets``; weights then go
to ``<preset>_sheets<F>`` unless ``--out`` is given, so they never pass for the preset's own). A killed
run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import logging
import resource
import sys
import time


def main(argv=None) -> int:
    from .enhancer_presets import PRESETS
    from .unet import ENHANCER_LABELS

    ap = argparse.ArgumentParser(prog="python -m models.train_enhancers", description=__doc__.splitlines()[0])
    ap.add_argument("--labels", nargs="+", default=list(ENHANCER_LABELS), metavar="LABEL",
                    help=f"enhancers to train (default: all of {', '.join(ENHANCER_LABELS)})")
    ap.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default=None, help="directory of GT PNGs, or 'toy' (default: synthetic generator)")
    ap.add_argument("--out", default=None, help="output folder (default: results/weights/<preset>/)")
    ap.add_argument("--force", action="store_true", help="retrain models whose weights already exist")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--sheet-fraction", type=float, default=None, metavar="F",
                    help="not in the paper: share of face-free sheet ground truths per stage (0 <= F < 1)")
    args = ap.parse_args(argv)
    bad = [l for l in args.labels if l not in ENHANCER_LABELS and l != "DL-Delta"]
    if bad:
        ap.error(f"unknown label(s) {bad}; expected some of {list(ENHANCER_LABELS)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from dataclasses import replace

    from .enhancer_presets import get_preset
    from .training import train_enhancers

    preset, out = args.preset, args.out
    t0 = time.perf_counter()
    try:
        if args.sheet_fraction is not None and args.sheet_fraction != get_preset(preset).sheet_fraction:
            preset = replace(get_preset(preset), sheet_fraction=args.sheet_fraction)  # validated here
            if out is None:
                from prnet_synth.paths import results_dir

                out = results_dir() / "weights" / f"{args.preset}_sheets{args.sheet_fraction:g}"
        train_enhancers(args.labels, preset, args.seed, out_dir=out, data=args.data, force=args.force,
                        verbose=not args.quiet)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"wall {time.perf_counter() - t0:.0f} s, CPU time {ru.ru_utime + ru.ru_stime:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
