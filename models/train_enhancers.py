"""Train the U-Net enhancers of Schlett et al. (IV-C): ``python -m models.train_enhancers --preset quick``.

Options: ``--labels DL-Alpha DL-Delta-2 ...`` (default: all seven; DL-Delta-n pulls in its
predecessors), ``--preset quick|paper``, ``--seed``, ``--data DIR`` (a directory of 16-bit GT PNGs;
default: the synthetic generator ``prnet_synth.procedural``; ``toy`` = simple stand-in faces),
``--out DIR`` (default: weights to ``results/weights/<preset>/``, logs to ``results/training/<preset>/``),
``--force`` (retrain models whose weights exist), ``--sheet-fraction F`` (not in the paper: replace
that share of each stage's ground truths by face-free sheets, ``prnet_synth.sheets``; weights then go
to ``<preset>_sheets<F>`` unless ``--out`` is given, so they never pass for the preset's own),
``--budget-minutes M`` (train what fits in M minutes, stop at an epoch end, export the best weights
so far with ``complete: false`` in their record, resumable: a later run continues the schedule), ``--plan`` (train nothing: print per model the training images, GFLOP per image and training PFLOP,
``models.training.training_plan``). A killed run resumes where it stopped.
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
    ap.add_argument("--budget-minutes", type=float, default=None, metavar="M",
                    help="train as much as fits in M minutes, stop at an epoch end and export the best weights so far "
                         "(record: complete false); a later run continues")
    ap.add_argument("--gpu-tflops", type=float, default=989.0, metavar="T",
                    help="with --plan: the GPU's dense mixed-precision peak in TFLOP/s (default 989, an H100 SXM)")
    ap.add_argument("--gpu-utilisation", type=float, default=0.4, metavar="U",
                    help="with --plan: the share of that peak the training reaches (default 0.4)")
    ap.add_argument("--plan", action="store_true",
                    help="train nothing: print what the training would cost (images, GFLOP/image, PFLOP)")
    args = ap.parse_args(argv)
    bad = [l for l in args.labels if l not in ENHANCER_LABELS and l != "DL-Delta"]
    if bad:
        ap.error(f"unknown label(s) {bad}; expected some of {list(ENHANCER_LABELS)}")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from dataclasses import replace

    from .enhancer_presets import get_preset
    from .training import train_enhancers

    preset, out = args.preset, args.out
    if args.plan:
        from .training import training_plan
        from .unet import base_label

        rows = training_plan(args.labels, preset)
        rates = _measured_train_rates()
        print(f"{'model':<11} {'sessions':>8} {'stages':>6} {'images':>10} {'crop':>5} {'GFLOP/img':>10} "
              f"{'PFLOP':>9} {'hours':>8}")
        hours = []
        for r in rows:
            full = r["width_multiplier"] == 1.0 and r["train_size"] == 256
            rate = rates.get(base_label(r["label"])) if full else None
            hours.append(r["images"] / rate / 3600 if rate else None)
            print(f"{r['label']:<11} {r['sessions']:>8} {r['stages']:>6} {r['images']:>10,} {r['train_size']:>5} "
                  f"{r['forward_gflop_per_image']:>10.3f} {r['train_pflop']:>9.3f} "
                  f"{f'{hours[-1]:.0f}' if hours[-1] is not None else '-':>8}")
        total_h = f"{sum(hours):.0f}" if hours and None not in hours else "-"
        print(f"{'total':<11} {'':>8} {'':>6} {sum(r['images'] for r in rows):>10,} {'':>5} {'':>10} "
              f"{sum(r['train_pflop'] for r in rows):>9.3f} {total_h:>8}")
        print("PFLOP: training = 3 x forward FLOPs. hours: at the training rate benchmarks/bench_unets.py measured "
              "for the full network at 256 px (results/unets/bench_unets.json: "
              f"{rates.get('machine', 'not present')}); '-' where none applies.")
        if not (args.gpu_tflops > 0 and 0 < args.gpu_utilisation <= 1):
            ap.error("--gpu-tflops must be > 0 and --gpu-utilisation in (0, 1]")
        sustained = args.gpu_tflops * 1e12 * args.gpu_utilisation
        print(f"\nOn a GPU of {args.gpu_tflops:g} TFLOP/s peak at {100 * args.gpu_utilisation:g} % of it "
              f"({sustained / 1e12:g} TFLOP/s sustained):")
        print(f"{'model':<11} {'GPU hours':>10} {'pairs/s needed':>15}")
        for r in rows:
            sec = r["train_pflop"] * 1e15 / sustained
            print(f"{r['label']:<11} {sec / 3600:>10.2f} {r['images'] / sec:>15,.0f}")
        tot = sum(r["train_pflop"] for r in rows) * 1e15 / sustained
        print(f"{'total':<11} {tot / 3600:>10.2f} {sum(r['images'] for r in rows) / tot:>15,.0f}")
        print("pairs/s needed: degraded training pairs the input pipeline must deliver to keep that GPU busy "
              "(benchmarks/bench_degrade.py measures what one CPU core delivers).")
        return 0
    t0 = time.perf_counter()
    try:
        if args.sheet_fraction is not None and args.sheet_fraction != get_preset(preset).sheet_fraction:
            preset = replace(get_preset(preset), sheet_fraction=args.sheet_fraction)  # validated here
            if out is None:
                from prnet_synth.paths import results_dir

                out = results_dir() / "weights" / f"{args.preset}_sheets{args.sheet_fraction:g}"
        if args.budget_minutes is not None and not args.budget_minutes > 0:
            raise ValueError(f"--budget-minutes must be > 0, got {args.budget_minutes}")
        train_enhancers(args.labels, preset, args.seed, out_dir=out, data=args.data, force=args.force,
                        verbose=not args.quiet,
                        budget_seconds=None if args.budget_minutes is None else 60.0 * args.budget_minutes,
                        export_on_stop=args.budget_minutes is not None)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(f"wall {time.perf_counter() - t0:.0f} s, CPU time {ru.ru_utime + ru.ru_stime:.0f} s", flush=True)
    return 0


def _measured_train_rates() -> dict:
    """{"DL-Alpha": training images/s, ..., "machine": ...} from results/unets/bench_unets.json, if present."""
    import json

    from prnet_synth.paths import results_dir

    path = results_dir() / "unets" / "bench_unets.json"
    try:
        d = json.loads(path.read_text())
        return {"machine": d.get("machine", "?"), **{n["network"]: float(n["train_img_s"]) for n in d["networks"]}}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
