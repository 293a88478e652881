"""Benchmark: can the input pipeline keep a GPU fed? (issue #23)

Measured in one run on this machine:

1. ground truths: the procedural generator (``prnet_synth.procedural``), faces per CPU second in one
   process, and the wall-clock rate of ``generate_depths`` over ``--workers`` processes (its speed-up);
2. degradation: ``degrade.degrade_batch`` (the calibrated training degradation, all three variants),
   pairs per CPU second of this process (TensorFlow's threads counted);
3. training: images/s of each U-Net at Table III width (``--labels``), batch ``--train-batch``, at
   256x256, on this machine's devices, and the TFLOP/s that achieves (3 x forward FLOPs).

Then, for a GPU of ``--gpu-tflops`` peak at ``--gpu-utilisation`` of it (an H100 SXM's dense
mixed-precision 989 TFLOP/s at 40 % by default), the training rate it would reach per network and the
pairs/s the input side must deliver, and how many CPU cores deliver that: per pair the paper schedule
needs one degradation (fresh degradations every epoch; 1/10 of one with the paper's repeated pairs) and
1 / (variants x epochs) of a ground truth (DL-Delta: 3 variants x 10 epochs). ``degrade_batch`` runs on
TensorFlow's default device, so on a GPU host the GPU degrades and the cores only render ground truths;
both counts are printed. The GPU numbers are an
extrapolation from FLOPs, not a measurement, and are labelled so. Writes ``results/unets/bench_pipeline.json``
(with provenance) and prints a table.

    python -m benchmarks.bench_pipeline [--workers 2] [--faces 48] [--pairs 96] [--labels DL-Delta-1 DL-Alpha]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

PAPER_EPOCHS = 10          # IV-C: every stage of 30,000 pairs trains for 10 epochs
DELTA_VARIANTS = 3         # IV-C: DL-Delta's ground truths come in three interleaved variants


def gt_rates(faces: int, workers: int, seed: int = 0) -> dict:
    from prnet_synth import procedural

    procedural.generate_depths(2, seed=seed, workers=1)                 # warm the mesh caches
    c0, w0 = time.process_time(), time.perf_counter()
    serial = procedural.generate_depths(faces, seed=seed, start=10, workers=1)
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
    out = {"gt_faces": faces, "gt_per_cpu_s": faces / cpu_s, "gt_serial_per_s": faces / wall_s, "gt_workers": workers}
    if workers > 1:
        procedural.generate_depths(procedural.MIN_PER_WORKER * workers, seed=seed, workers=workers)  # start the pool
        w0 = time.perf_counter()
        par = procedural.generate_depths(faces, seed=seed, start=10, workers=workers)
        out["gt_parallel_per_s"] = faces / (time.perf_counter() - w0)
        out["gt_parallel_equals_serial"] = bool(np.array_equal(par, serial))
        out["gt_parallel_speedup"] = out["gt_parallel_per_s"] / out["gt_serial_per_s"]
    return out, serial


def degrade_rate(gt: np.ndarray, pairs: int, batch: int = 32) -> dict:
    import degrade

    reps = int(np.ceil(pairs / len(gt)))
    src = np.concatenate([gt] * reps, 0)[:pairs]
    batch = min(batch, pairs)
    variants = [degrade.VARIANTS[i % len(degrade.VARIANTS)] for i in range(batch)]
    np.asarray(degrade.degrade_batch(src[:batch], seed=1, variant=variants))        # trace
    c0, w0 = time.process_time(), time.perf_counter()
    for k, i in enumerate(range(0, pairs, batch)):
        chunk = src[i:i + batch]
        np.asarray(degrade.degrade_batch(chunk, seed=100 + k, variant=variants[:len(chunk)]))
    cpu_s, wall_s = time.process_time() - c0, time.perf_counter() - w0
    return {"degrade_pairs": pairs, "degrade_per_cpu_s": pairs / cpu_s, "degrade_per_s": pairs / wall_s}


def train_rate(label: str, batch: int, steps: int) -> dict:
    import keras

    from models.unet import build_enhancer_network, conv_flops

    model = build_enhancer_network(label, 1.0, input_size=256)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.random((batch, 256, 256, 1), dtype=np.float32)
    model.train_on_batch(x, x)                                                      # trace
    w0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, x)
    ips = steps * batch / (time.perf_counter() - w0)
    flops = conv_flops(model)
    return {"label": label, "batch": batch, "steps": steps, "images_per_s": ips, "gflop_per_image": flops / 1e9,
            "tflops_achieved": 3 * flops * ips / 1e12}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for generate_depths")
    ap.add_argument("--faces", type=int, default=48, help="ground truths to time")
    ap.add_argument("--pairs", type=int, default=96, help="pairs to degrade")
    ap.add_argument("--labels", nargs="*", default=["DL-Delta-1", "DL-Alpha", "DL-Beta", "DL-Gamma"])
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--train-steps", type=int, default=3)
    ap.add_argument("--gpu-tflops", type=float, default=989.0)
    ap.add_argument("--gpu-utilisation", type=float, default=0.4)
    ap.add_argument("--json", default=None, help="output (default results/unets/bench_pipeline.json)")
    args = ap.parse_args(argv)

    from prnet_synth.atomic import atomic_write_json, provenance
    from prnet_synth.paths import results_dir

    gt, faces = gt_rates(args.faces, args.workers)
    deg = degrade_rate(faces, args.pairs)
    # pairs one core delivers under the paper schedule: one degradation per pair, 1/(3 x 10) ground truth.
    # degrade_batch runs on TensorFlow's default device, the GPU where there is one: then the cores only
    # render ground truths (core_rate_gpu_degrades); on a CPU-only host they do both (core_rate)
    gt_per_pair = 1.0 / (gt["gt_per_cpu_s"] * DELTA_VARIANTS * PAPER_EPOCHS)
    core_rate = 1.0 / (1.0 / deg["degrade_per_cpu_s"] + gt_per_pair)
    core_rate_gpu_degrades = 1.0 / gt_per_pair
    sustained = args.gpu_tflops * args.gpu_utilisation
    nets = []
    for label in args.labels:
        r = train_rate(label, args.train_batch, args.train_steps)
        r["gpu_images_per_s_extrapolated"] = sustained * 1e12 / (3 * r["gflop_per_image"] * 1e9)
        r["cores_to_feed_gpu"] = r["gpu_images_per_s_extrapolated"] / core_rate_gpu_degrades
        r["cores_to_feed_gpu_if_cpu_degrades"] = r["gpu_images_per_s_extrapolated"] / core_rate
        r["input_over_training_here"] = core_rate * (os.cpu_count() or 1) / r["images_per_s"]
        nets.append(r)
        print(f"{label:11s} here {r['images_per_s']:7.2f} img/s ({r['tflops_achieved']:.3f} TFLOP/s); "
              f"GPU {args.gpu_tflops:.0f} TFLOP/s x {args.gpu_utilisation:.0%} -> "
              f"{r['gpu_images_per_s_extrapolated']:,.0f} img/s (extrapolated), fed by {r['cores_to_feed_gpu']:,.0f} cores "
              f"rendering ground truths (degradation on the GPU; {r['cores_to_feed_gpu_if_cpu_degrades']:,.0f} cores "
              "if they degrade too)")
    print(f"ground truths: {gt['gt_per_cpu_s']:.1f} faces per CPU s"
          + (f"; {args.workers} processes {gt['gt_parallel_per_s']:.1f} faces/s wall, "
             f"x{gt['gt_parallel_speedup']:.2f} the serial {gt['gt_serial_per_s']:.1f}/s" if "gt_parallel_per_s" in gt else ""))
    print(f"degradation: {deg['degrade_per_cpu_s']:.1f} pairs per CPU s ({deg['degrade_per_s']:.1f} pairs/s wall)")
    print(f"one core delivers {core_rate_gpu_degrades:.1f} training pairs/s under the paper schedule when the GPU "
          f"degrades, {core_rate:.1f} when the core degrades too (fresh degradations every epoch)")
    record = {**provenance("bench", None, "synthetic generator (prnet_synth.procedural)"),
              "cpu_count": os.cpu_count(), **gt, **deg, "pairs_per_core_paper_schedule": core_rate,
              "pairs_per_core_paper_schedule_gpu_degrades": core_rate_gpu_degrades,
              "gpu_tflops_peak": args.gpu_tflops, "gpu_utilisation": args.gpu_utilisation,
              "gpu_numbers": "extrapolated from FLOPs, not measured", "networks": nets}
    path = Path(args.json) if args.json else results_dir() / "unets" / "bench_pipeline.json"
    atomic_write_json(path, json.loads(json.dumps(record, default=float)), indent=2)
    print(f"-> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
