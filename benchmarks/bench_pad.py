"""Benchmark: the real-time PAD program end to end on a synthetic D435 recording (no camera).

One run, one process, the same recording (a bona fide procedural face, 640x480 colour + aligned
depth, played back from a .db3 written by rs.recorder) through ``experiments.pad.realtime.run``:

* dlib detector on every frame vs every 5th frame with landmark tracking in between (enhancer None);
* DL-Delta-1 in Keras (one traced tf.function) vs the same network in TFLite (tf.lite.Interpreter),
  fp32 and with dynamic-range int8 weights; trained weights when present, else the untrained
  network of the same architecture (same cost, and said so in the output);
* the enhancer alone, Keras vs TFLite, interleaved calls on the same input.

Prints frames/s, per-stage median latencies and the ratios; writes ``results/pad/bench_pad.json``.
The goal of the issue is >= 10 frames/s end to end on the 2-core CPU.

    python benchmarks/bench_pad.py [--frames 40] [--skip-tflite] [--tflite PATH] [--weights PATH]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from experiments.datasets import realsense as rsio  # noqa: E402
from experiments.pad import realtime as rt  # noqa: E402
from experiments.pad.synthetic import detectable_face, make_sequence  # noqa: E402
from prnet_synth.atomic import atomic_write_json, provenance  # noqa: E402
from prnet_synth.paths import results_dir  # noqa: E402


def keras_delta(weights):
    """DL-Delta-1 as a KerasModelEnhancer: trained weights if available, else the untrained network."""
    try:
        enh = rt.make_enhancer("DL-Delta-1", weights=weights)
        if weights:
            return enh, f"the weights file {Path(weights).name} given with --weights (trained or not, as made)"
        from prnet_synth.paths import resolve_weights_preset

        return enh, f"the shipped {resolve_weights_preset('DL-Delta-1', 'best')} weights"
    except Exception as exc:  # weights or model code missing: same architecture, untrained
        from models.unet import build_enhancer_network

        print(f"note: DL-Delta-1 weights unavailable ({type(exc).__name__}); timing the untrained network")
        return rt.KerasModelEnhancer(build_enhancer_network("DL-Delta-1"), "DL-Delta-1"), "untrained (same architecture)"


def to_tflite(model, path: Path, quantize: bool = False) -> Path:
    """Convert a Keras enhancer with ``models.export.export_tflite`` (fixed 1x256x256x1 input; int8
    weights with dynamic-range quantisation when ``quantize``)."""
    from models.export import export_tflite

    return export_tflite(model, path, "dynamic" if quantize else None)


def run_once(path, enhancer, cfg, frames):
    summary = rt.run(rsio.read_recording(path), enhancer, cfg, source=str(path), max_frames=frames)
    lat = {s: summary["latency_ms"][s].get("median", 0.0) for s in rt.STAGES}
    return summary["fps"], lat, summary["decision"], summary["scored_per_s"]


def enhancer_ms(enhancers, depth, repeats=10):
    """Median ms per call for each enhancer, calls interleaved so machine noise hits all alike."""
    for e in enhancers.values():
        e.enhance(depth)
    times = {k: [] for k in enhancers}
    for _ in range(repeats):
        for k, e in enhancers.items():
            t = time.perf_counter()
            e.enhance(depth)
            times[k].append((time.perf_counter() - t) * 1e3)
    return {k: float(np.median(v)) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--canvas", default="480x640", help="HxW of the recorded frames")
    ap.add_argument("--skip-tflite", action="store_true")
    ap.add_argument("--tflite", default=None, help="an existing DL-Delta-1 .tflite export (else converted here)")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--out", default=None, help="JSON output (default results/pad/bench_pad.json)")
    args = ap.parse_args(argv)
    h, w = (int(v) for v in args.canvas.lower().split("x"))

    tmp = Path(tempfile.mkdtemp(prefix="bench_pad_"))
    face = detectable_face(seed=3)
    colors, depths = make_sequence("bona_fide", args.frames, seed=3, face=face, canvas=(h, w))
    rec = rsio.write_recording(tmp / "bona_fide.db3", colors, depths)
    print(f"recording: {args.frames} frames {w}x{h}, {rec.stat().st_size / 1e6:.1f} MB")

    base = rt.PRESETS["default"]
    rows = {}
    none = rt.make_enhancer("None")
    import dataclasses

    rows["None, detector every frame"] = run_once(rec, none, dataclasses.replace(base, detect_every=1), args.frames)
    rows["None, detector every 5th + tracking"] = run_once(rec, none, base, args.frames)

    keras_enh, weights_note = keras_delta(args.weights)
    rows["DL-Delta-1 Keras"] = run_once(rec, keras_enh, base, args.frames)
    rows["DL-Delta-1 Keras, asynchronous"] = run_once(rec, keras_enh, rt.PRESETS["live"], args.frames)
    enh = {"keras": keras_enh}
    if not args.skip_tflite:
        if args.tflite:
            tfl = rt.TFLiteEnhancer(args.tflite, label="DL-Delta-1")
        else:
            t0 = time.perf_counter()
            tfl = rt.TFLiteEnhancer(to_tflite(keras_enh.model, tmp / "delta.tflite"), label="DL-Delta-1",
                                    face_range=getattr(keras_enh, "face_range", False))
            print(f"TFLite conversion: {time.perf_counter() - t0:.1f} s")
        rows["DL-Delta-1 TFLite fp32"] = run_once(rec, tfl, base, args.frames)
        enh["tflite_fp32"] = tfl
        if not args.tflite:
            tq = rt.TFLiteEnhancer(to_tflite(keras_enh.model, tmp / "delta_int8w.tflite", quantize=True),
                                   face_range=getattr(keras_enh, "face_range", False),
                                   label="DL-Delta-1")
            rows["DL-Delta-1 TFLite int8 weights"] = run_once(rec, tq, base, args.frames)
            rows["DL-Delta-1 TFLite int8 weights, async"] = run_once(rec, tq, rt.PRESETS["live"], args.frames)
            enh["tflite_int8w"] = tq

    # the enhancer alone, and agreement of the TFLite output with Keras
    from experiments.preprocess import preprocess_frame
    from prnet_synth.landmarks import detect_landmarks

    found = detect_landmarks(colors[0])
    pre = preprocess_frame(depths[0], 0.001, landmarks=found[1])
    alone = enhancer_ms(enh, pre.depth)
    agree = {}
    ref = keras_enh.enhance(pre.depth).astype(np.int64)
    for k, e in enh.items():
        if k != "keras":
            agree[k] = int(np.abs(e.enhance(pre.depth).astype(np.int64) - ref).max())

    print(f"\nDL-Delta-1: {weights_note}")
    print("(fps: frames through the loop per second; scored/s: faces enhanced and scored per second;"
          " latencies: median ms per frame)")
    print(f"{'configuration':40s} {'fps':>7s} {'scored/s':>8s} " + " ".join(f"{s[:8]:>9s}" for s in rt.STAGES)
          + "  decision")
    for k, (fps, lat, dec, sc) in rows.items():
        print(f"{k:40s} {fps:7.2f} {sc:8.2f} " + " ".join(f"{lat[s]:9.1f}" for s in rt.STAGES) + f"  {dec}")
    print("\nenhancer alone (median ms per 256x256 frame): " + ", ".join(f"{k} {v:.1f}" for k, v in alone.items()))
    r = {}
    r["tracking_speedup_fps"] = rows["None, detector every 5th + tracking"][0] / rows["None, detector every frame"][0]
    if "tflite_fp32" in alone:
        r["tflite_fp32_vs_keras_fps"] = rows["DL-Delta-1 TFLite fp32"][0] / rows["DL-Delta-1 Keras"][0]
        r["tflite_fp32_vs_keras_enhancer_speed"] = alone["keras"] / alone["tflite_fp32"]
    if "tflite_int8w" in alone:
        r["tflite_int8w_vs_keras_fps"] = rows["DL-Delta-1 TFLite int8 weights"][0] / rows["DL-Delta-1 Keras"][0]
        r["tflite_int8w_vs_keras_enhancer_speed"] = alone["keras"] / alone["tflite_int8w"]
    sync_dl = {k: v for k, v in rows.items() if k.startswith("DL") and "async" not in k}
    best = max(sync_dl.items(), key=lambda kv: kv[1][0])
    r["best_dl_fps"] = best[1][0]
    r["best_dl_fps_over_goal_10"] = best[1][0] / 10.0
    print("ratios (measured in this run): " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()))
    print(f"max |TFLite - Keras| output difference (depth units): {agree}")
    print(f"end-to-end goal 10 fps, every frame scored: best DL configuration '{best[0]}' at {best[1][0]:.2f} fps "
          f"({'met' if best[1][0] >= 10 else 'NOT met'} in this run; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores)")
    for k, v in rows.items():
        if "async" in k:
            print(f"asynchronous '{k}': {v[0]:.2f} fps tracked and shown, {v[3]:.2f} faces scored per second")
    out = Path(args.out) if args.out else results_dir() / "pad" / "bench_pad.json"
    atomic_write_json(out, {
        "provenance": provenance("n/a", 3, "synthetic bona fide recording", frames=args.frames, canvas=[h, w],
                                 dl_delta_1=weights_note, load_average=os.getloadavg()[0], cpu_count=os.cpu_count()),
        "runs": {k: {"fps": v[0], "median_latency_ms": v[1], "decision": v[2], "scored_per_s": v[3]}
                 for k, v in rows.items()},
        "enhancer_alone_ms": alone, "ratios": r, "tflite_max_abs_diff_units": agree,
    })
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
