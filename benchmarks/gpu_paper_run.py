"""One time-boxed GPU job (issue #23): DL-Delta-1 at the paper preset, Table IV's face RMSE, a JSON.

In order, within ``--minutes`` (default 9) on one GPU:

1. Table IV's calibrated test pairs: Schlett steps 01 and 02 of the quick experiment preset (200
   pairs of held-out synthetic faces, the same the committed Table IV uses), written under
   ``OUT/results``;
2. DL-Delta-1 at the paper preset (Table III width, the paper's 6 stages of 10,000 ground truths x 3
   variants x 10 epochs, stored as float16) for as much of its schedule as fits in what is left of
   the time after a reserve for step 3 (``models.training.train_one`` with a time budget: it stops at
   an epoch end, exports the best weights so far, and a later run continues the schedule from
   ``OUT/weights``' training state);
3. face RMSE (IV-D) of the trained DL-Delta-1 and of "None" on those pairs.

``OUT/gpu_paper_run.json``: the device, images seen and planned (the share of the schedule done),
training images/s, the TFLOP/s that achieves (3 x forward FLOPs per image) against ``--gpu-tflops``
(989: an H100 SXM's dense mixed-precision peak), the face RMSEs, the seconds of each part, provenance.
``--dry-run`` runs the same code on a CPU at a tiny size (the tiny test preset, 0.3 minutes of
training) - the test suite does.

    OUT=/tmp/run bash benchmarks/gpu_paper_run.sh             # or: python -m benchmarks.gpu_paper_run --out DIR
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def device_info() -> dict:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    info = {"gpus": len(gpus), "device": "cpu" if not gpus else "gpu"}
    if gpus:
        try:
            info["gpu_name"] = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "unknown")
        except Exception as exc:  # noqa: BLE001 - informational only
            info["gpu_name"] = f"unknown ({type(exc).__name__})"
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output folder (weights, test pairs, JSON)")
    ap.add_argument("--minutes", type=float, default=9.0, help="the whole job's time box")
    ap.add_argument("--reserve-minutes", type=float, default=1.5, help="kept for the evaluation after training")
    ap.add_argument("--label", default="DL-Delta-1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--gpu-tflops", type=float, default=989.0, help="the GPU's peak (dense mixed precision)")
    ap.add_argument("--dry-run", action="store_true", help="CPU, tiny preset, 0.3 minutes of training")
    args = ap.parse_args(argv)
    t_job = time.perf_counter()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ["FACE_DEPTH_RESULTS"] = str(out / "results")          # the test pairs and tables land in OUT
    os.environ.setdefault("FACE_DEPTH_WORK", str(out / "work"))

    import keras

    from experiments import metrics
    from experiments.enhancers import get_enhancer
    from experiments.schlett import cli, steps
    from models.enhancer_presets import get_preset, tiny_preset
    from models.training import train_one
    from models.unet import build_enhancer_network, conv_flops
    from prnet_synth.atomic import atomic_write_json, provenance

    dev = device_info()
    # ---- 1. test pairs
    t0 = time.perf_counter()
    sargs = cli.parse(["--preset", "quick", "--seed", str(args.seed)], "gpu paper run", real_data=False)
    steps.step01_ground_truth(sargs)
    steps.step02_test_pairs(sargs)
    pairs_s = time.perf_counter() - t0
    # ---- 2. training, time-boxed
    if args.dry_run:
        preset = tiny_preset(store_float16=True)
        train_budget = 0.3 * 60
    else:
        preset = dataclasses.replace(get_preset("paper"), store_float16=True)
        train_budget = max(0.0, args.minutes * 60 - args.reserve_minutes * 60 - (time.perf_counter() - t_job))
    t0 = time.perf_counter()
    summary = train_one(args.label, preset, args.seed, out_dir=out / "weights", budget_seconds=train_budget,
                        export_on_stop=True, verbose=True)
    train_wall = time.perf_counter() - t0
    if "weights" not in summary:
        raise SystemExit(f"gpu_paper_run: {args.label} exported no weights ({summary}); the budget ended before "
                         "its first epoch did")
    weights = Path(summary["weights"])
    record = json.loads(weights.with_suffix(".json").read_text()) if weights.with_suffix(".json").is_file() else {}
    # ---- 3. evaluation on the test pairs
    t0 = time.perf_counter()
    rmse = {"None": [], args.label: []}
    enh = {"None": get_enhancer("None"), args.label: get_enhancer(args.label, weights=str(weights))}
    for k, _, _ in steps._shards(steps.get_preset("quick")):
        gt, deg = steps.load_pairs(k)
        for name, e in enh.items():
            rmse[name] += np.atleast_1d(metrics.face_rmse(gt, e.enhance(deg))).tolist()
    eval_s = time.perf_counter() - t0
    full = build_enhancer_network(args.label, preset.width_multiplier if args.dry_run else 1.0, input_size=256,
                                  min_width=preset.min_width)
    gflop = conv_flops(full) / 1e9
    seen = int(record.get("images_seen", 0))
    secs = float(record.get("seconds", train_wall)) or train_wall
    ips = seen / secs if secs > 0 else 0.0
    result = {
        **provenance("paper" if not args.dry_run else "tiny (dry run)", args.seed,
                     "synthetic generator (prnet_synth.procedural)"),
        **dev, "label": args.label, "dry_run": bool(args.dry_run),
        "weights": str(weights.relative_to(out)), "stored_dtype": record.get("stored_dtype"),
        "images_seen": seen, "images_planned": int(record.get("images_planned", 0)),
        "schedule_done": float(record.get("schedule_done", 0.0)), "complete": bool(record.get("complete", False)),
        "train_seconds": round(secs, 1), "train_images_per_s": ips, "gflop_per_image_256": gflop,
        "achieved_tflops": 3 * gflop * ips / 1e3, "gpu_tflops_peak": args.gpu_tflops,
        "share_of_peak": (3 * gflop * ips / 1e3) / args.gpu_tflops,
        "face_rmse": {k: float(np.mean(v)) for k, v in rmse.items()}, "test_pairs": len(rmse["None"]),
        "seconds": {"test_pairs": round(pairs_s, 1), "training_wall": round(train_wall, 1),
                    "evaluation": round(eval_s, 1), "job": round(time.perf_counter() - t_job, 1)},
        "time_box_minutes": args.minutes,
    }
    atomic_write_json(out / "gpu_paper_run.json", result, indent=2)
    print(json.dumps({k: result[k] for k in ("device", "images_seen", "schedule_done", "train_images_per_s",
                                             "achieved_tflops", "face_rmse", "seconds")}, indent=1))
    keras.backend.clear_session()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
