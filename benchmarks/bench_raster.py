"""Depth rendering of a PRNet-sized mesh: prnet_synth.raster vs a straightforward per-triangle loop.

The mesh: PRNet's 43,867 vertices and a grid triangulation of the UV face pixels (86,907 triangles,
the stand-in for triangles.txt), with the geometry of ``canonical_vertices.npy`` scaled into the
256x256 crop frame (face about 160 px wide, as in PRNet's 1.6x crop), when ``../shared/prnet_uv_data``
is present; otherwise a procedural ellipsoid height field of the same size on a 256x256 grid.

The reference is the official algorithm written plainly: a Python loop over the triangles, the
pixel candidates of each triangle's bounding box tested with numpy (as utils/render.py does).
Both run in this process on the same mesh; the script prints ms per face, the ratio, and whether
the two z-buffers agree. Goal (issue 5): <= 10 ms per face on one core.

    python benchmarks/bench_raster.py [--repeats 20] [--mode flat|barycentric]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from prnet_synth import raster  # noqa: E402
from prnet_synth.prnet_pipeline import grid_triangles, render_depth  # noqa: E402


def prnet_sized_mesh():
    shared = REPO.parent / "shared" / "prnet_uv_data"
    if (shared / "face_ind.txt").is_file() and (shared / "canonical_vertices.npy").is_file():
        face_ind = np.loadtxt(shared / "face_ind.txt").astype(np.int64)
        v = np.load(shared / "canonical_vertices.npy").astype(np.float64)
        # into the crop frame: 160 px wide, centred; y flipped if the canonical face points up
        lo, hi = v.min(axis=0), v.max(axis=0)
        s = 160.0 / (hi[0] - lo[0])
        out = np.empty_like(v)
        out[:, 0] = (v[:, 0] - (lo[0] + hi[0]) / 2) * s + 128.0
        out[:, 1] = (v[:, 1] - (lo[1] + hi[1]) / 2) * s + 128.0
        out[:, 2] = (v[:, 2] - lo[2]) * s
        tris = grid_triangles(face_ind)
        return out, tris, "canonical_vertices.npy + grid triangulation of face_ind.txt"
    # procedural: an elliptic face region of ~43.9k pixels of a 256 grid, ellipsoid depth
    r, c = np.mgrid[0:256, 0:256]
    inside = ((c - 128) / 110.0) ** 2 + ((r - 118) / 127.0) ** 2 < 1.0
    face_ind = np.flatnonzero(inside.ravel())
    rr, cc = r.ravel()[face_ind], c.ravel()[face_ind]
    x = 128 + (cc - 128) * 0.7
    y = 128 + (rr - 118) * 0.7
    z = 80.0 * np.sqrt(np.clip(1 - ((cc - 128) / 110.0) ** 2 - ((rr - 118) / 127.0) ** 2, 0, 1))
    return np.stack([x, y, z], axis=1), grid_triangles(face_ind), "procedural ellipsoid"


def reference_rasterize(vertices, triangles, h, w, mode="flat"):
    """Plain per-triangle z-buffer (official PRNet render, numpy inside each triangle's box)."""
    zbuf = np.full((h, w), -np.inf)
    tri_index = np.full((h, w), -1, dtype=np.int32)
    for t, (i0, i1, i2) in enumerate(triangles):
        p0, p1, p2 = vertices[i0], vertices[i1], vertices[i2]
        xs = (p0[0], p1[0], p2[0])
        ys = (p0[1], p1[1], p2[1])
        umin, umax = max(math.ceil(min(xs)), 0), min(math.floor(max(xs)), w - 1)
        vmin, vmax = max(math.ceil(min(ys)), 0), min(math.floor(max(ys)), h - 1)
        if umax < umin or vmax < vmin:
            continue
        v0 = p2[:2] - p0[:2]
        v1 = p1[:2] - p0[:2]
        d00, d01, d11 = v0 @ v0, v0 @ v1, v1 @ v1
        den = d00 * d11 - d01 * d01
        if den == 0:
            continue
        py, px = np.mgrid[vmin:vmax + 1, umin:umax + 1]
        v2x = px - p0[0]
        v2y = py - p0[1]
        d02 = v0[0] * v2x + v0[1] * v2y
        d12 = v1[0] * v2x + v1[1] * v2y
        u = (d11 * d02 - d01 * d12) / den
        v = (d00 * d12 - d01 * d02) / den
        inside = (u >= 0) & (v >= 0) & (u + v < 1)
        if mode == "flat":
            z = np.full(u.shape, (p0[2] + p1[2] + p2[2]) / 3.0)
        else:
            z = p0[2] + u * (p2[2] - p0[2]) + v * (p1[2] - p0[2])
        cur = zbuf[vmin:vmax + 1, umin:umax + 1]
        win = inside & (z > cur)
        cur[win] = z[win]
        tri_index[vmin:vmax + 1, umin:umax + 1][win] = t
    return zbuf.astype(np.float32), tri_index


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--mode", choices=raster.MODES, default="flat")
    args = ap.parse_args(argv)

    verts, tris, source = prnet_sized_mesh()
    print(f"mesh: {verts.shape[0]} vertices, {tris.shape[0]} triangles ({source}); mode={args.mode}")
    print(f"os.cpu_count()={os.cpu_count()}; raster is numba, single-threaded")

    t0 = time.perf_counter()
    raster.rasterize(verts, tris, 256, 256, mode=args.mode)  # numba compile / cache load
    print(f"first call (compile or cache load): {1e3 * (time.perf_counter() - t0):.0f} ms")

    def timed(fn, repeats):
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            res = fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return res, np.array(wall), np.array(cpu)

    (zbuf, tri_index), w_r, c_r = timed(lambda: raster.rasterize(verts, tris, 256, 256, mode=args.mode), args.repeats)
    depth, w_d, c_d = timed(lambda: render_depth(verts, tris, 0.4, mode=args.mode), args.repeats)
    (ref_z, ref_t), w_ref, c_ref = timed(lambda: reference_rasterize(verts, tris, 256, 256, mode=args.mode), 1)

    same_cov = np.array_equal(np.isfinite(ref_z), np.isfinite(zbuf))
    same_tri = np.array_equal(ref_t, tri_index)
    fin = np.isfinite(zbuf) & np.isfinite(ref_z)
    maxdiff = float(np.max(np.abs(zbuf[fin] - ref_z[fin]))) if fin.any() else 0.0
    ms = lambda a: f"{1e3 * float(np.median(a)):9.2f}"  # noqa: E731
    print("                            wall median  wall min   CPU median  (ms per face)")
    print(f"raster.rasterize          : {ms(w_r)}  {1e3 * w_r.min():9.2f}  {ms(c_r)}   ({args.repeats} runs)")
    print(f"render_depth (+uint16)    : {ms(w_d)}  {1e3 * w_d.min():9.2f}  {ms(c_d)}   ({args.repeats} runs)")
    print(f"per-triangle reference    : {ms(w_ref)}  {1e3 * w_ref.min():9.2f}  {ms(c_ref)}   (1 run)")
    print(f"speed-up reference/ours   : wall {np.median(w_ref) / np.median(w_r):.0f}x, "
          f"CPU {np.median(c_ref) / np.median(c_r):.0f}x")
    cpu_full = float(np.median(c_d))
    print(f"goal <= 10 ms per face    : {'met' if cpu_full <= 0.010 else 'NOT met'} "
          f"(render_depth CPU median {1e3 * cpu_full:.2f} ms; wall times include waiting for a shared CPU)")
    print(f"agreement: coverage {same_cov}, visible triangle {same_tri}, max |dz| {maxdiff:.2e}; "
          f"covered pixels {int(np.isfinite(zbuf).sum())}, depth holes {int((depth == 65535).sum())}")


if __name__ == "__main__":
    main()
