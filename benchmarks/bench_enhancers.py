"""Benchmark: the seven hand-crafted enhancers, RealSense SDK vs numba twin, in one run.

Prints ms/frame for every Table II enhancer on 256x256 face-like depth images with holes:

* "filter": the bare filter on a RealSense-convention frame (what the twin replaces);
* "enhancer": the whole ``get_enhancer(label).enhance`` call (paper convention in and out,
  hole conversion, decimation upscaling; the same numpy code on both sides);

each for the SDK (pyrealsense2) and the twin, and the twin/SDK ratio (goal: <= 2). The numba
JIT compile (or cache load) and the SDK device/filter creation happen before timing. Timings
are the median over ``--repeats`` rounds, SDK and twin interleaved within each round, so the
ratios are measured under the same machine load.

    python benchmarks/bench_enhancers.py [--frames 40] [--repeats 7] [--json out.json]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from experiments import realsense_filters as RF  # noqa: E402
from experiments import realsense_twin  # noqa: E402
from experiments.enhancers import HANDCRAFTED_LABELS, get_enhancer  # noqa: E402
from prnet_synth.conventions import HOLE, to_realsense  # noqa: E402


def face_like_frames(n: int, seed: int = 0, size: int = 256) -> np.ndarray:
    """n paper-convention depth images: a noisy ellipsoid face, background and scattered holes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    frames = np.empty((n, size, size), np.uint16)
    for i in range(n):
        cy, cx = size / 2 + rng.normal(0, 8, 2)
        r2 = ((yy - cy) / (0.42 * size)) ** 2 + ((xx - cx) / (0.34 * size)) ** 2
        depth = 40000 * np.sqrt(np.clip(r2, 0, 1)) + rng.normal(0, 40, (size, size))
        d = np.clip(depth, 0, 65534).astype(np.uint16)
        d[r2 > 1] = HOLE
        d[rng.random(d.shape) < rng.uniform(0.02, 0.2)] = HOLE
        for _ in range(rng.integers(1, 5)):
            y0, x0 = rng.integers(0, size - 30, 2)
            d[y0:y0 + rng.integers(3, 30), x0:x0 + rng.integers(3, 60)] = HOLE
        frames[i] = d
    return frames


def _time_per_frame(fn, frames) -> float:
    t0 = time.perf_counter()
    for f in frames:
        fn(f)
    return (time.perf_counter() - t0) * 1000.0 / len(frames)


def run(n_frames: int = 40, repeats: int = 7, seed: int = 0) -> list[dict]:
    if not RF.sdk_available():
        raise SystemExit("pyrealsense2 cannot be imported: the benchmark compares the twin against the SDK")
    frames = face_like_frames(n_frames, seed)
    rs_frames = [to_realsense(f) for f in frames]
    realsense_twin.warm_up()                       # JIT compile / cache load outside the timing
    rows = []
    for label in HANDCRAFTED_LABELS:
        spec = RF.TABLE_II[label]
        enh = {b: get_enhancer(label, backend=b) for b in ("sdk", "twin")}
        for b in ("sdk", "twin"):                  # warm-up: SDK device and filter creation, first JIT call
            RF.apply_filter(spec, rs_frames[0], b)
            enh[b].enhance(frames[0])
        times = {("filter", b): [] for b in ("sdk", "twin")}
        times.update({("enhancer", b): [] for b in ("sdk", "twin")})
        for r in range(repeats):
            order = ("sdk", "twin") if r % 2 == 0 else ("twin", "sdk")
            for b in order:
                times[("filter", b)].append(_time_per_frame(lambda f, b=b: RF.apply_filter(spec, f, b), rs_frames))
                times[("enhancer", b)].append(_time_per_frame(enh[b].enhance, frames))
        row = {"label": label}
        for what in ("filter", "enhancer"):
            sdk = statistics.median(times[(what, "sdk")])
            tw = statistics.median(times[(what, "twin")])
            row[f"{what}_sdk_ms"] = sdk
            row[f"{what}_twin_ms"] = tw
            row[f"{what}_ratio"] = tw / sdk
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    head = ("| enhancer | filter SDK ms | filter twin ms | twin/SDK | enhancer SDK ms | enhancer twin ms | twin/SDK |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['label']} | {r['filter_sdk_ms']:.3f} | {r['filter_twin_ms']:.3f} | {r['filter_ratio']:.2f} "
                     f"| {r['enhancer_sdk_ms']:.3f} | {r['enhancer_twin_ms']:.3f} | {r['enhancer_ratio']:.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=40, help="256x256 frames per timing round")
    ap.add_argument("--repeats", type=int, default=7, help="timing rounds (median reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the rows as JSON (atomically)")
    args = ap.parse_args(argv)
    rows = run(args.frames, args.repeats, args.seed)
    print(f"256x256 frames, {args.frames} per round, median of {args.repeats} rounds (ms/frame)")
    print(format_table(rows))
    worst = max(r["filter_ratio"] for r in rows)
    print(f"worst filter twin/SDK ratio: {worst:.2f} (goal <= 2): {'met' if worst <= 2 else 'NOT met'}")
    if args.json is not None:
        from prnet_synth.atomic import atomic_write_json, provenance

        atomic_write_json(args.json, {"provenance": provenance("bench", args.seed, "synthetic face-like frames",
                                                               frames=args.frames, repeats=args.repeats),
                                      "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
