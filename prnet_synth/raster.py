"""Z-buffer rasteriser shared by the PRNet depth synthesis and the procedural faces.

Conventions (the contract in docs/DEVELOPING.md):

* vertices ``(N, 3)``: x = column, y = row, pixel centres at integer coordinates; z larger =
  nearer the camera (PRNet's convention);
* ``mode="flat"``: one depth per triangle, the mean of its three corner z values, nearest wins.
  This is the official PRNet depth render (``utils/render.py`` ``render_texture`` as called by
  ``utils/render_app.py`` ``get_depth_image``): triangles are visited in file order, the pixel
  candidates are the integer points inside ``[ceil(min x), floor(max x)] x [ceil(min y), floor(max y)]``
  clipped to the image, a pixel is inside when its barycentric coordinates with
  ``v0 = P2 - P0`` and ``v1 = P1 - P0`` satisfy ``u >= 0, v >= 0, u + v < 1`` (the edge P1-P2 is
  exclusive), and a triangle overwrites a pixel only when its depth is strictly larger (so the
  earlier triangle wins a tie);
* ``mode="barycentric"``: the same coverage and order, but the depth of each pixel is the
  barycentric interpolation of the corner z values (exact for the orthographic projection that
  PRNet and the procedural faces use).

One deliberate difference from the official code: a triangle whose projection has zero area
(collinear or coincident corners) is skipped. The official code sets the inverse denominator to 0
in that case, which makes *every* pixel of the triangle's bounding box "inside"; for a real PRNet
mesh this happens with probability ~0, but a sphere-grid mesh (procedural faces) has such
triangles at its poles.

Compiled with numba (``cache=True``, single-threaded); all geometry is computed in float64 as in
the numpy original, the returned z-buffer is float32.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .conventions import HOLE, MAX_VALID, UNITS_PER_MM

__all__ = ["MODES", "rasterize", "barycentric_weights", "interpolate_attributes", "zbuffer_to_depth"]

MODES = ("flat", "barycentric")


@njit(cache=True, nogil=True)
def _raster_kernel(verts, tris, height, width, interp, zbuf, tri_index):
    n_vert = verts.shape[0]
    big = 1.0e9
    for t in range(tris.shape[0]):
        i0 = tris[t, 0]
        i1 = tris[t, 1]
        i2 = tris[t, 2]
        if i0 < 0 or i1 < 0 or i2 < 0 or i0 >= n_vert or i1 >= n_vert or i2 >= n_vert:
            continue
        x0 = verts[i0, 0]
        y0 = verts[i0, 1]
        z0 = verts[i0, 2]
        x1 = verts[i1, 0]
        y1 = verts[i1, 1]
        z1 = verts[i1, 2]
        x2 = verts[i2, 0]
        y2 = verts[i2, 1]
        z2 = verts[i2, 2]
        s = x0 + y0 + z0 + x1 + y1 + z1 + x2 + y2 + z2
        if not math.isfinite(s):
            continue
        lo_x = min(x0, min(x1, x2))
        hi_x = max(x0, max(x1, x2))
        lo_y = min(y0, min(y1, y2))
        hi_y = max(y0, max(y1, y2))
        if hi_x < 0.0 or hi_y < 0.0 or lo_x > width - 1.0 or lo_y > height - 1.0:
            continue
        umin = max(int(math.ceil(max(lo_x, -big))), 0)
        umax = min(int(math.floor(min(hi_x, big))), width - 1)
        vmin = max(int(math.ceil(max(lo_y, -big))), 0)
        vmax = min(int(math.floor(min(hi_y, big))), height - 1)
        if umax < umin or vmax < vmin:
            continue
        v0x = x2 - x0
        v0y = y2 - y0
        v1x = x1 - x0
        v1y = y1 - y0
        d00 = v0x * v0x + v0y * v0y
        d01 = v0x * v1x + v0y * v1y
        d11 = v1x * v1x + v1y * v1y
        den = d00 * d11 - d01 * d01
        if den == 0.0:
            continue
        inv = 1.0 / den
        zflat = (z0 + z1 + z2) / 3.0
        dz2 = z2 - z0
        dz1 = z1 - z0
        for py in range(vmin, vmax + 1):
            v2y = py - y0
            for px in range(umin, umax + 1):
                v2x = px - x0
                d02 = v0x * v2x + v0y * v2y
                d12 = v1x * v2x + v1y * v2y
                u = (d11 * d02 - d01 * d12) * inv
                v = (d00 * d12 - d01 * d02) * inv
                if u >= 0.0 and v >= 0.0 and u + v < 1.0:
                    if interp:
                        z = z0 + u * dz2 + v * dz1
                    else:
                        z = zflat
                    if z > zbuf[py, px]:
                        zbuf[py, px] = z
                        tri_index[py, px] = t


@njit(cache=True, nogil=True)
def _bary_kernel(verts, tris, tri_index, attrs, out):
    """Barycentric weights of every covered pixel; with ``attrs`` of shape (N, C) and C > 0,
    the interpolated attributes are written to ``out`` (HxWxC), else the 3 weights."""
    height, width = tri_index.shape
    n_attr = attrs.shape[1]
    for py in range(height):
        for px in range(width):
            t = tri_index[py, px]
            if t < 0:
                continue
            i0 = tris[t, 0]
            i1 = tris[t, 1]
            i2 = tris[t, 2]
            x0 = verts[i0, 0]
            y0 = verts[i0, 1]
            v0x = verts[i2, 0] - x0
            v0y = verts[i2, 1] - y0
            v1x = verts[i1, 0] - x0
            v1y = verts[i1, 1] - y0
            d00 = v0x * v0x + v0y * v0y
            d01 = v0x * v1x + v0y * v1y
            d11 = v1x * v1x + v1y * v1y
            den = d00 * d11 - d01 * d01
            if den == 0.0:
                w0 = 1.0
                w1 = 0.0
                w2 = 0.0
            else:
                v2x = px - x0
                v2y = py - y0
                d02 = v0x * v2x + v0y * v2y
                d12 = v1x * v2x + v1y * v2y
                w2 = (d11 * d02 - d01 * d12) / den
                w1 = (d00 * d12 - d01 * d02) / den
                w0 = 1.0 - w1 - w2
            if n_attr == 0:
                out[py, px, 0] = w0
                out[py, px, 1] = w1
                out[py, px, 2] = w2
            else:
                for c in range(n_attr):
                    out[py, px, c] = w0 * attrs[i0, c] + w1 * attrs[i1, c] + w2 * attrs[i2, c]


def _check_mesh(vertices, triangles):
    v = np.asarray(vertices)
    f = np.asarray(triangles)
    if v.ndim != 2 or v.shape[1] < 3:
        raise ValueError(f"rasterize: vertices must be an (N, 3) array, got shape {v.shape}")
    if f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"rasterize: triangles must be a (T, 3) array of vertex indices, got shape {f.shape}")
    if f.size and not np.issubdtype(f.dtype, np.integer):
        if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
            raise ValueError("rasterize: triangles must hold integer vertex indices")
    fi = np.ascontiguousarray(f, dtype=np.int64)
    if fi.size and (fi.min() < 0 or fi.max() >= v.shape[0]):
        raise ValueError(f"rasterize: triangle indices must lie in [0, {v.shape[0] - 1}], "
                         f"got [{fi.min()}, {fi.max()}]")
    return np.ascontiguousarray(v[:, :3], dtype=np.float64), fi


def rasterize(vertices, triangles, height: int = 256, width: int = 256, mode: str = "flat"):
    """Render a triangle mesh into a z-buffer.

    Returns ``(zbuf, tri_index)``: ``zbuf`` float32 HxW with the depth (z, larger = nearer) of the
    visible triangle and ``-inf`` where no triangle covers the pixel; ``tri_index`` int32 HxW with
    the index of the visible triangle and ``-1`` where empty. See the module docstring for the
    exact coverage rule (official PRNet).
    """
    if mode not in MODES:
        raise ValueError(f"rasterize: mode must be one of {MODES}, got {mode!r}")
    height, width = int(height), int(width)
    if height <= 0 or width <= 0:
        raise ValueError(f"rasterize: image size must be positive, got {height}x{width}")
    v, f = _check_mesh(vertices, triangles)
    zbuf = np.full((height, width), -np.inf, dtype=np.float64)
    tri_index = np.full((height, width), -1, dtype=np.int32)
    if f.shape[0]:
        _raster_kernel(v, f, height, width, mode == "barycentric", zbuf, tri_index)
    return zbuf.astype(np.float32), tri_index


def barycentric_weights(vertices, triangles, tri_index) -> np.ndarray:
    """Barycentric weights (float32 HxWx3) of each pixel centre with respect to the corners
    ``triangles[tri_index]`` (corner order as in ``triangles``); zeros where ``tri_index`` is -1."""
    v, f = _check_mesh(vertices, triangles)
    ti = np.ascontiguousarray(tri_index, dtype=np.int32)
    if ti.ndim != 2:
        raise ValueError(f"barycentric_weights: tri_index must be HxW, got shape {ti.shape}")
    if ti.size and ti.max() >= f.shape[0]:
        raise ValueError(f"barycentric_weights: tri_index refers to triangle {ti.max()}, "
                         f"but only {f.shape[0]} triangles were given")
    out = np.zeros(ti.shape + (3,), dtype=np.float64)
    _bary_kernel(v, f, ti, np.zeros((1, 0), np.float64), out)
    return out.astype(np.float32)


def interpolate_attributes(vertices, triangles, tri_index, attrs) -> np.ndarray:
    """Interpolate per-vertex attributes over the rendered pixels.

    ``attrs`` is (N, C) (or (N,), treated as C = 1). Returns float32 HxWxC: the barycentric
    interpolation of the attributes of the visible triangle's corners at each pixel centre,
    0 where ``tri_index`` is -1.
    """
    v, f = _check_mesh(vertices, triangles)
    a = np.asarray(attrs, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != v.shape[0] or a.shape[1] == 0:
        raise ValueError(f"interpolate_attributes: attrs must be (N, C) with N = {v.shape[0]} vertices, "
                         f"got {a.shape}")
    ti = np.ascontiguousarray(tri_index, dtype=np.int32)
    if ti.ndim != 2 or (ti.size and ti.max() >= f.shape[0]):
        raise ValueError("interpolate_attributes: tri_index must be an HxW map of indices into triangles")
    out = np.zeros(ti.shape + (a.shape[1],), dtype=np.float64)
    _bary_kernel(v, f, ti, np.ascontiguousarray(a), out)
    return out.astype(np.float32)


def zbuffer_to_depth(zbuf, mm_per_z_unit: float, near=None) -> np.ndarray:
    """Z-buffer (larger z = nearer, -inf = empty) -> uint16 depth in the project's convention.

    ``mm_per_z_unit``: millimetres per z unit (> 0). The nearest covered pixel (largest z, or the
    given ``near`` z value) becomes 0; depth grows by ``UNITS_PER_MM`` (65535 / 250 mm) per
    millimetre away from it; empty pixels, pixels nearer than ``near`` and pixels 250 mm or more
    behind it become holes (65535).
    """
    mm = float(mm_per_z_unit)
    if not (mm > 0 and math.isfinite(mm)):
        raise ValueError(f"zbuffer_to_depth: mm_per_z_unit must be a positive number, got {mm_per_z_unit!r}")
    z = np.asarray(zbuf, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"zbuffer_to_depth: zbuf must be HxW, got shape {z.shape}")
    valid = np.isfinite(z)
    out = np.full(z.shape, HOLE, dtype=np.uint16)
    if not valid.any():
        return out
    zn = float(z[valid].max()) if near is None else float(near)
    rel = np.where(valid, (zn - z) * (mm * UNITS_PER_MM), np.inf)
    ok = valid & (rel >= 0) & (rel < MAX_VALID + 0.5)
    out[ok] = np.rint(rel[ok]).astype(np.uint16)
    return out
