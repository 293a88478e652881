"""Benchmark: the U-Net enhancers (Table III networks) on this CPU, in one run.

Prints, for DL-Alpha, DL-Beta, DL-Gamma, DL-Delta at 256x256 (fp32, no XLA, as
shared/docs/environment.md recommends):

* forward FLOPs per image, counted from the conv layers (2 per multiply-add);
* inference images/s and the achieved GFLOP/s of the form the DL enhancers run
  (``models.inference.compile_for_inference``: batch-norm folded, one compiled graph) at their batch
  size (``experiments.enhancers.DL_BATCH_SIZE``, 16), beside the plain Keras model in a compiled
  ``tf.function`` at ``--batch``, timed in interleaved rounds;
* training images/s with ``model.fit`` (Adam, MSE) and the achieved GFLOP/s (3 x forward FLOPs);
* each beside the machine's matmul peak, measured in the same run (float32 2048x2048 matmuls);
* single 3x3 convolutions with the level shapes of the U-Nets (256x256 16->16 ... 64x64 256->256):
  what one such layer attains here, the ceiling for a network made of them;

then the deployable form: TFLite float32 / float16 / int8 (XNNPACK, batch 1) against Keras fp32 at
batch 1 on the full DL-Delta network (speed ratio, goal >= 2x), and the face-area RMSE
(``experiments.metrics.face_rmse``) of the trained quick DL-Delta-1 (if its weights exist) on a
synthetic test set (procedural ground truth, plain degradation) for Keras fp32, TFLite fp16 and
int8 and "None" (goal: within 5 % of fp32).

    python benchmarks/bench_unets.py [--seconds 6] [--batch 4] [--test-images 24] [--json out.json]
                                     [--networks DL-Delta ...] [--xla]

The ``--json`` file carries a ``provenance`` block (``run_provenance``): code version, the weights
preset of the accuracy part (quick), the seeds, sizes and options of the run, the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tensorflow as tf  # noqa: E402

from models.export import TFLiteModel, export_tflite  # noqa: E402
from models.unet import LAYOUTS, build_enhancer_network, conv_flops  # noqa: E402

TEST_SET_SEED = 9_100   # the synthetic test set of the TFLite accuracy part
INPUT_SEED = 0          # the random inputs of the timings


def timed(fn, seconds: float, min_runs: int = 2) -> float:
    """Median seconds per call of ``fn`` over >= ``min_runs`` calls and about ``seconds`` seconds."""
    fn()
    times = []
    t_end = time.perf_counter() + seconds
    while len(times) < min_runs or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if len(times) >= 50:
            break
    return float(np.median(times))


def interleaved(fns: dict, seconds: float, min_rounds: int = 5) -> dict:
    """img/s of each zero-argument call (one image per call), timed in interleaved rounds."""
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    t_end = time.perf_counter() + seconds
    while len(times[next(iter(fns))]) < min_rounds or time.perf_counter() < t_end:
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
        if len(times[next(iter(fns))]) >= 60:
            break
    return {k: 1.0 / float(np.median(v)) for k, v in times.items()}


def cpu_name() -> str:
    """The processor's model name (/proc/cpuinfo), or the platform's word for it."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def matmul_peak(seconds: float) -> float:
    n = 2048
    a = tf.random.uniform((n, n), dtype=tf.float32)
    b = tf.random.uniform((n, n), dtype=tf.float32)
    f = tf.function(lambda: tf.matmul(a, b))

    def run():
        f().numpy()

    best = []
    for _ in range(3):
        best.append(timed(run, seconds / 3, 3))
    return 2 * n ** 3 / min(best) / 1e9


#: single 3x3 convolutions (+ bias + ReLU) with the shapes of the U-Nets' levels: what one conv of
#: that shape attains on this CPU (a ceiling for networks made of such layers), beside the matmul peak
CONV_PROBES = ((256, 16, 16), (128, 32, 32), (64, 64, 64), (32, 128, 128), (64, 256, 256))


def conv_probe(size: int, cin: int, cout: int, batch: int, seconds: float) -> float:
    """GFLOP/s of one 3x3 'same' convolution + bias + ReLU, NHWC float32, compiled tf.function."""
    x = tf.random.uniform((batch, size, size, cin))
    k = tf.random.uniform((3, 3, cin, cout)) * 0.1
    b = tf.zeros((cout,))
    f = tf.function(lambda: tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, k, 1, "SAME"), b)))
    t = timed(lambda: f().numpy(), seconds)
    return 2 * 9 * cin * cout * size * size * batch / t / 1e9


def bench_network(label: str, batch: int, seconds: float, xla: bool = False) -> dict:
    import keras

    from experiments.enhancers import DL_BATCH_SIZE
    from models.inference import compile_for_inference

    model = build_enhancer_network(label)
    flops = conv_flops(model)
    x = np.random.default_rng(INPUT_SEED).uniform(0, 1, (max(batch, DL_BATCH_SIZE), 256, 256, 1)).astype(np.float32)
    xt, xd = tf.constant(x[:batch]), tf.constant(x[:DL_BATCH_SIZE])
    infer = tf.function(lambda t: model(t, training=False))
    deployed = compile_for_inference(model)
    # one call each per round, so a change of machine load affects both alike (img/s per call)
    rates = interleaved({"keras": lambda: infer(xt).numpy(), "deployed": lambda: deployed(xd).numpy()}, 2 * seconds)
    t_inf = 1.0 / rates["keras"]
    deployed_ips = DL_BATCH_SIZE * rates["deployed"]
    extra = {"deployed_batch": DL_BATCH_SIZE, "deployed_img_s": deployed_ips,
             "deployed_gflop_s": deployed_ips * flops / 1e9}
    if xla:                                           # the same call compiled by XLA
        infer_xla = tf.function(lambda t: model(t, training=False), jit_compile=True)
        extra["infer_xla_gflop_s"] = batch / timed(lambda: infer_xla(xt).numpy(), seconds) * flops / 1e9
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    data = tf.data.Dataset.from_tensor_slices((x[:batch], x[:batch])).batch(batch).repeat(2)
    model.fit(data, epochs=1, verbose=0)              # trace and warm up
    t_train = timed(lambda: model.fit(data, epochs=1, verbose=0), seconds, 2) / 2
    inf_ips, train_ips = batch / t_inf, batch / t_train
    return {"network": label, "params": model.count_params(), "gflop_per_image": flops / 1e9,
            "infer_keras_batch": batch, "infer_img_s": inf_ips, "infer_gflop_s": inf_ips * flops / 1e9,
            "train_img_s": train_ips, "train_gflop_s": train_ips * 3 * flops / 1e9, **extra}


def synthetic_test_set(n: int, seed: int):
    """(ground truth, degraded) uint16 n x 256 x 256: procedural faces (toy faces if unavailable)."""
    import degrade

    try:
        from prnet_synth import procedural
        gt = np.stack([s["depth"] for s in procedural.generate(n, seed=seed)])
        source = "prnet_synth.procedural"
    except (ImportError, AttributeError):
        from degrade.toyfaces import toy_faces
        gt = toy_faces(n, seed=seed)
        source = "degrade.toyfaces"
    deg = np.asarray(degrade.degrade_batch(gt, seed + 1, variant="plain"))
    return gt, deg, source


def bench_tflite(seconds: float, test_images: int, tmp: Path) -> dict:
    from experiments.metrics import face_rmse
    from prnet_synth.conventions import from_float, to_float
    from prnet_synth.paths import weights_path

    threads = os.cpu_count() or 1
    gt, deg, source = synthetic_test_set(test_images, seed=TEST_SET_SEED)
    x = to_float(deg)[..., None]
    out = {"test_set": f"{len(gt)} images, {source} seed {TEST_SET_SEED}, plain degradation", "threads": threads}

    # speed on the full DL-Delta network (weights random for speed; calibrated on degraded faces).
    # Keras and the TFLite variants are timed in interleaved rounds (one call each per round), so a
    # change of machine load affects all of them alike; img/s = 1 / median seconds per call.
    full = build_enhancer_network("DL-Delta")
    infer = tf.function(lambda t: full(t, training=False))
    x1 = x[:1]
    fns = {"keras_fp32_b1": lambda: infer(tf.constant(x1)).numpy()}
    for q in (None, "float16", "int8"):
        path = export_tflite(full, tmp / f"delta_{q}.tflite", q, representative=[x[:8]] if q == "int8" else None)
        for nt in sorted({1, threads}):
            m = TFLiteModel(path, num_threads=nt)
            fns[f"tflite_{q or 'fp32'}_t{nt}"] = (lambda m=m: m(x1))
    rows = interleaved(fns, seconds * len(fns))
    out["full_delta_img_s"] = rows
    out["full_delta_ratio_vs_keras"] = {k: v / rows["keras_fp32_b1"] for k, v in rows.items()}

    # accuracy (and speed) of the trained quick DL-Delta-1
    wp = weights_path("DL-Delta-1", "quick")
    if not wp.is_file():
        out["trained"] = f"{wp} missing: train with python -m models.train_enhancers --preset quick"
        return out
    from models.unet import ENHANCER_LABELS, load_enhancer_model

    model = load_enhancer_model("DL-Delta-1")
    kin = tf.function(lambda t: model(t, training=False))

    def keras_run(a):
        return np.concatenate([kin(tf.constant(a[i:i + 4])).numpy() for i in range(0, len(a), 4)])

    res = {"None": float(np.mean(face_rmse(gt, deg)))}
    y = keras_run(x)
    res["keras_fp32"] = float(np.mean(face_rmse(gt, from_float(y[..., 0]))))
    fns = {"keras_fp32_b1": lambda: kin(tf.constant(x1)).numpy()}
    for q in ("float16", "int8"):
        path = export_tflite(model, tmp / f"trained_{q}.tflite", q, representative=[x[:8]] if q == "int8" else None)
        tfl = TFLiteModel(path, num_threads=1)
        res[f"tflite_{q}"] = float(np.mean(face_rmse(gt, from_float(tfl(x)[..., 0]))))
        fns[f"tflite_{q}_t1"] = (lambda m=tfl: m(x1))
    speeds = interleaved(fns, seconds * len(fns))
    for label in ENHANCER_LABELS:                    # every trained quick enhancer, same test set
        if weights_path(label, "quick").is_file():
            m = load_enhancer_model(label)
            f = tf.function(lambda t, m=m: m(t, training=False))
            y = np.concatenate([f(tf.constant(x[i:i + 4])).numpy() for i in range(0, len(x), 4)])
            res[f"quick {label}"] = float(np.mean(face_rmse(gt, from_float(y[..., 0]))))
    out["trained_quick_delta1_face_rmse"] = res
    out["trained_quick_delta1_rmse_change"] = {k: res[k] / res["keras_fp32"] - 1 for k in res if k.startswith("tflite")}
    out["quick_face_rmse_vs_none"] = {k: v for k, v in res.items() if k.startswith("quick") or k == "None"}
    out["trained_quick_delta1_img_s"] = speeds
    return out


def run_provenance(args, machine: str) -> dict:
    """The provenance block of the ``--json`` file: ``prnet_synth.atomic.provenance`` with preset
    "quick" (the trained weights whose face RMSE the run measures; the timings use full-width networks
    with random weights), seed ``INPUT_SEED``, and the run's sizes, options and machine."""
    from experiments.enhancers import DL_BATCH_SIZE
    from prnet_synth.atomic import provenance

    return provenance(
        "quick", INPUT_SEED, f"random inputs (timings); {args.test_images} procedural faces, seed {TEST_SET_SEED}, "
        "plain degradation (accuracy)", test_set_seed=TEST_SET_SEED, image_size=256, batch=args.batch,
        deployed_batch=DL_BATCH_SIZE, test_images=args.test_images, networks=list(args.networks),
        seconds=args.seconds, xla=bool(args.xla), timed_weights="random (full-width networks)",
        machine=machine, cpu_count=os.cpu_count(), tensorflow=tf.__version__)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="timing budget per measurement")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--test-images", type=int, default=24)
    ap.add_argument("--networks", nargs="+", default=list(LAYOUTS))
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--xla", action="store_true", help="also time inference compiled by XLA (jit_compile)")
    args = ap.parse_args(argv)

    cpu = f"{cpu_name()}, {os.cpu_count()} cores, TensorFlow {tf.__version__}"
    print("machine:", cpu, flush=True)
    peak0 = matmul_peak(args.seconds)
    print(f"matmul peak (fp32, 2048^2): {peak0:.1f} GFLOP/s", flush=True)
    nets = []
    print(f"{'network':10s} {'params':>11s} {'GFLOP/img':>9s} {'infer img/s':>11s} {'GFLOP/s':>8s} {'%peak':>6s} "
          f"{'train img/s':>11s} {'GFLOP/s':>8s} {'%peak':>6s}   (inference: Keras tf.function, batch {args.batch})",
          flush=True)
    peaks = [peak0]
    for label in args.networks:
        r = bench_network(label, args.batch, args.seconds, args.xla)
        peaks.append(matmul_peak(args.seconds / 2))
        ref = 0.5 * (peaks[-2] + peaks[-1])          # the peak measured just before and just after
        r["peak_gflop_s"] = ref
        nets.append(r)
        print(f"{label:10s} {r['params']:11,d} {r['gflop_per_image']:9.2f} {r['infer_img_s']:11.2f} "
              f"{r['infer_gflop_s']:8.1f} {100 * r['infer_gflop_s'] / ref:5.0f}% {r['train_img_s']:11.2f} "
              f"{r['train_gflop_s']:8.1f} {100 * r['train_gflop_s'] / ref:5.0f}%   (peak {ref:.0f})", flush=True)
        print(f"{'':10s} deployed form (batch-norm folded, compiled), batch {r['deployed_batch']}: "
              f"{r['deployed_img_s']:.2f} img/s, {r['deployed_gflop_s']:.1f} GFLOP/s, "
              f"{100 * r['deployed_gflop_s'] / ref:.0f}% of peak", flush=True)
        if args.xla:
            print(f"{'':10s} inference compiled by XLA: {r['infer_xla_gflop_s']:.1f} GFLOP/s "
                  f"(without XLA {r['infer_gflop_s']:.1f})", flush=True)
    conv = {}
    for size, cin, cout in CONV_PROBES:
        conv[f"{size}x{size} {cin}->{cout}"] = conv_probe(size, cin, cout, args.batch, args.seconds / 3)
    peaks.append(matmul_peak(args.seconds / 2))
    # the machine's peak = the best matmul rate seen in this run (a dip in one probe cannot flatter a network)
    top = max(peaks)
    print(f"against the highest matmul peak of this run ({top:.0f} GFLOP/s): deployed inference (goal >= 80 %)",
          {r["network"]: f"{100 * r['deployed_gflop_s'] / top:.0f}%" for r in nets},
          f"Keras inference, batch {args.batch}",
          {r["network"]: f"{100 * r['infer_gflop_s'] / top:.0f}%" for r in nets},
          "training", {r["network"]: f"{100 * r['train_gflop_s'] / top:.0f}%" for r in nets}, flush=True)
    print("single 3x3 conv layers, batch", args.batch, "(GFLOP/s, % of that peak):",
          {k: f"{v:.0f} ({100 * v / top:.0f}%)" for k, v in conv.items()}, flush=True)
    for r in nets:
        r["infer_percent_of_top_peak"] = 100 * r["infer_gflop_s"] / top
        r["deployed_percent_of_top_peak"] = 100 * r["deployed_gflop_s"] / top
    with tempfile.TemporaryDirectory() as tmp:
        tfl = bench_tflite(args.seconds, args.test_images, Path(tmp))
    print("full DL-Delta, batch 1, img/s:", {k: round(v, 2) for k, v in tfl["full_delta_img_s"].items()})
    print("  ratio to Keras fp32 (goal >= 2 for fp16 or int8):",
          {k: round(v, 2) for k, v in tfl["full_delta_ratio_vs_keras"].items()})
    if "trained_quick_delta1_face_rmse" in tfl:
        print("trained quick DL-Delta-1, face RMSE on", tfl["test_set"], ":",
              {k: round(v, 5) for k, v in tfl["trained_quick_delta1_face_rmse"].items()})
        print("  relative change vs Keras fp32 (goal within 5 %):",
              {k: f"{100 * v:+.2f}%" for k, v in tfl["trained_quick_delta1_rmse_change"].items()})
        print("quick enhancers, face RMSE on the same test set (lower is better):",
              {k: round(v, 4) for k, v in tfl["quick_face_rmse_vs_none"].items()})
        print("  img/s (batch 1):", {k: round(v, 1) for k, v in tfl["trained_quick_delta1_img_s"].items()})
    else:
        print(tfl["trained"])
    if args.json:
        from prnet_synth.atomic import atomic_write_json

        atomic_write_json(args.json, {"provenance": run_provenance(args, cpu), "machine": cpu,
                                      "matmul_peak_gflop_s": peaks, "networks": nets, "conv_probes_gflop_s": conv,
                                      "tflite": tfl})
    return 0


if __name__ == "__main__":
    sys.exit(main())
