"""Mesh building blocks: grid triangulation, vertex normals, ellipsoids, tubes, the occluders."""
from __future__ import annotations

import functools

import numpy as np
from numba import njit


def grid_triangles(rows: int, cols: int, wrap_cols: bool = False, offset: int = 0) -> np.ndarray:
    return _grid_triangles(int(rows), int(cols), bool(wrap_cols)) + offset


@functools.lru_cache(maxsize=64)
def _grid_triangles(rows: int, cols: int, wrap_cols: bool) -> np.ndarray:
    """Two triangles per cell of a rows x cols vertex grid (row-major); ``wrap_cols`` closes the
    grid in the column direction. Winding: counter-clockwise seen from the outward normal of a
    grid whose columns run to +x and rows to -y."""
    c_last = cols if wrap_cols else cols - 1
    r, c = np.meshgrid(np.arange(rows - 1), np.arange(c_last), indexing="ij")
    r, c = r.ravel(), c.ravel()
    c1 = (c + 1) % cols
    a = r * cols + c
    b = r * cols + c1
    d = (r + 1) * cols + c
    e = (r + 1) * cols + c1
    tri = np.concatenate([np.stack([a, d, b], 1), np.stack([b, d, e], 1)]).astype(np.int64)
    tri.flags.writeable = False
    return tri


@njit(cache=True, nogil=True)
def vertex_normals(verts, tris):
    """Area-weighted vertex normals (unit length; zero where undefined)."""
    n = np.zeros_like(verts)
    for t in range(tris.shape[0]):
        a, b, c = tris[t, 0], tris[t, 1], tris[t, 2]
        ux = verts[b, 0] - verts[a, 0]
        uy = verts[b, 1] - verts[a, 1]
        uz = verts[b, 2] - verts[a, 2]
        vx = verts[c, 0] - verts[a, 0]
        vy = verts[c, 1] - verts[a, 1]
        vz = verts[c, 2] - verts[a, 2]
        nx = uy * vz - uz * vy
        ny = uz * vx - ux * vz
        nz = ux * vy - uy * vx
        for k in (a, b, c):
            n[k, 0] += nx
            n[k, 1] += ny
            n[k, 2] += nz
    for i in range(n.shape[0]):
        length = np.sqrt(n[i, 0] ** 2 + n[i, 1] ** 2 + n[i, 2] ** 2)
        if length > 0:
            n[i, 0] /= length
            n[i, 1] /= length
            n[i, 2] /= length
    return n


def ellipsoid(center, axes, rot=None, n_lat=12, n_lon=18):
    """Closed ellipsoid mesh: (vertices, triangles) with outward winding for ``vertex_normals``."""
    lat = np.linspace(np.pi / 2, -np.pi / 2, n_lat)
    lon = np.linspace(-np.pi, np.pi, n_lon, endpoint=False)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    p = np.stack([np.cos(la) * np.sin(lo), np.sin(la), np.cos(la) * np.cos(lo)], -1).reshape(-1, 3)
    p = p * np.asarray(axes, np.float64)
    if rot is not None:
        p = p @ np.asarray(rot).T
    return p + np.asarray(center, np.float64), grid_triangles(n_lat, n_lon, wrap_cols=True)


def tube(curve, radius, closed=False, sides=6):
    """A tube of the given radius around a polyline (K, 3)."""
    c = np.asarray(curve, np.float64)
    k = len(c)
    if closed:
        tng = np.roll(c, -1, 0) - np.roll(c, 1, 0)
    else:
        tng = np.gradient(c, axis=0)
    tng /= np.maximum(np.linalg.norm(tng, axis=1, keepdims=True), 1e-9)
    ref = np.where(np.abs(tng[:, 2:3]) < 0.9, np.array([[0.0, 0.0, 1.0]]), np.array([[1.0, 0.0, 0.0]]))
    nrm = np.cross(tng, ref)
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-9)
    bnm = np.cross(tng, nrm)
    a = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring = (np.cos(a)[None, :, None] * nrm[:, None, :] + np.sin(a)[None, :, None] * bnm[:, None, :]) * radius
    v = (c[:, None, :] + ring).reshape(-1, 3)
    tri = grid_triangles(k, sides, wrap_cols=True)
    if closed:
        last = (k - 1) * sides
        extra = []
        for s in range(sides):
            s1 = (s + 1) % sides
            extra += [[last + s, s, last + s1], [last + s1, s, s1]]
        tri = np.concatenate([tri, np.array(extra)])
    return v, tri


def quad_grid(corner, ex, ey, n=6):
    """A flat rectangle (n x n vertices) spanned by vectors ex, ey from ``corner``."""
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n), indexing="ij")
    p = np.asarray(corner)[None] + u.reshape(-1, 1) * np.asarray(ex)[None] + v.reshape(-1, 1) * np.asarray(ey)[None]
    return p, grid_triangles(n, n)


def merge(parts):
    """Concatenate (vertices, triangles) pairs."""
    vs, ts, off = [], [], 0
    for v, t in parts:
        vs.append(v)
        ts.append(t + off)
        off += len(v)
    return np.concatenate(vs), np.concatenate(ts)
