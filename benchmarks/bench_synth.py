"""Speed of the shared rasteriser and of the procedural face generator on one core.

    python benchmarks/bench_synth.py [--samples 40] [--seed 0]

Prints, measured in this run:
* the rasteriser (numba) on a PRNet-sized mesh (43,681 vertices, 86,528 triangles, 256x256),
  ms per face in both modes, against a straightforward per-triangle numpy transcription of the
  official PRNet loop (timed on a slice of the triangles and scaled), as a speed-up ratio;
* the generator with all modalities (depth, rgb, gray, mask, landmarks): samples/s in wall-clock
  and in CPU time of this process (the machine may be shared; CPU time is the one-core figure),
  and the ratio to the goal of 20 samples/s.
"""
from __future__ import annotations

import os

for _v in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import time

import numpy as np


def prnet_sized_mesh(n=209):
    """A hemisphere over a regular n x n grid, triangulated like PRNet's UV map (2 per cell)."""
    r, c = np.mgrid[0:n, 0:n]
    x = c * 250.0 / (n - 1) + 3.0
    y = r * 250.0 / (n - 1) + 3.0
    z = np.sqrt(np.maximum(128.0 ** 2 - (x - 128) ** 2 - (y - 128) ** 2, 0.0))
    v = np.c_[x.ravel(), y.ravel(), z.ravel()]
    idx = np.arange(n * n).reshape(n, n)
    a, b = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel()
    d, e = idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    return v, np.r_[np.c_[a, b, d], np.c_[b, e, d]]


def reference_flat(vertices, triangles, h=256, w=256):
    """Per-triangle numpy loop as in PRNet's utils/render.py (the reference implementation)."""
    depth = np.full((h, w), -np.inf)
    for t in triangles:
        tp = vertices[t, :2].T
        zt = vertices[t, 2].mean()
        umin, umax = max(int(np.ceil(tp[0].min())), 0), min(int(np.floor(tp[0].max())), w - 1)
        vmin, vmax = max(int(np.ceil(tp[1].min())), 0), min(int(np.floor(tp[1].max())), h - 1)
        if umax < umin or vmax < vmin:
            continue
        v0, v1 = tp[:, 2] - tp[:, 0], tp[:, 1] - tp[:, 0]
        d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
        den = d00 * d11 - d01 * d01
        if den == 0:
            continue
        uu, vv = np.meshgrid(np.arange(umin, umax + 1), np.arange(vmin, vmax + 1))
        v2 = np.stack([uu - tp[0, 0], vv - tp[1, 0]], -1)
        d02, d12 = v2 @ v0, v2 @ v1
        u = (d11 * d02 - d01 * d12) / den
        v = (d00 * d12 - d01 * d02) / den
        inside = (u >= 0) & (v >= 0) & (u + v < 1)
        sub = depth[vmin:vmax + 1, umin:umax + 1]
        upd = inside & (zt > sub)
        sub[upd] = zt
    return depth


def timed(fn, repeat):
    w0, c0 = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - w0) / repeat, (time.process_time() - c0) / repeat


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reference-triangles", type=int, default=4000)
    a = ap.parse_args(argv)

    import cv2

    from prnet_synth import procedural, raster

    cv2.setNumThreads(1)

    v, f = prnet_sized_mesh()
    raster.rasterize(v, f)
    raster.rasterize(v, f, mode="barycentric")
    print(f"rasteriser, PRNet-sized mesh: {len(v)} vertices, {len(f)} triangles, 256x256, one thread")
    res = {}
    for mode in ("flat", "barycentric"):
        res[mode] = timed(lambda: raster.rasterize(v, f, mode=mode), 20)
        print(f"  numba {mode:12s}: {res[mode][0] * 1e3:7.2f} ms wall, {res[mode][1] * 1e3:7.2f} ms CPU per face")
    k = min(a.reference_triangles, len(f))
    sub = f[len(f) // 2 - k // 2: len(f) // 2 + k // 2]
    ref_w, ref_c = timed(lambda: reference_flat(v, sub), 1)
    scale = len(f) / len(sub)
    print(f"  per-triangle numpy reference (official loop; {len(sub)} triangles timed, x{scale:.1f}): "
          f"{ref_w * scale * 1e3:9.1f} ms wall, {ref_c * scale * 1e3:9.1f} ms CPU per face")
    print(f"  speed-up numba flat vs reference: {ref_c * scale / res['flat'][1]:.0f}x (CPU), "
          f"goal 10 ms per face: {'met' if res['flat'][1] <= 0.010 else 'NOT met'} (CPU time)")

    procedural.generate(2, a.seed)  # compile / warm up
    w0, c0 = time.perf_counter(), time.process_time()
    samples = procedural.generate(a.samples, a.seed + 1)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    assert all(set(s) >= {"depth", "rgb", "gray", "mask", "landmarks"} for s in samples)
    print(f"generator, all modalities, {a.samples} samples (random pose, expression, occluder):")
    print(f"  {a.samples / wall:6.1f} samples/s wall-clock, {a.samples / cpu:6.1f} samples/s CPU time "
          f"({cpu / a.samples * 1e3:.1f} ms CPU per sample)")
    print(f"  ratio to the goal of 20 samples/s (CPU time): {a.samples / cpu / 20.0:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
