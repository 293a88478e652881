"""Tests of the shared z-buffer rasteriser against hand-computed renderings and a direct
transcription of the official PRNet per-triangle loop."""
from __future__ import annotations

import numpy as np
import pytest

from prnet_synth import raster
from prnet_synth.conventions import HOLE, UNITS_PER_MM


def _right_triangle(z=(0.0, 3.0, 6.0)):
    # P0 = (1, 1), P1 = (5, 1), P2 = (1, 5)  (x = column, y = row)
    v = np.array([[1, 1, z[0]], [5, 1, z[1]], [1, 5, z[2]]], dtype=np.float64)
    return v, np.array([[0, 1, 2]])


def test_single_triangle_coverage_by_hand():
    # v0 = P2 - P0 = (0, 4), v1 = P1 - P0 = (4, 0): u = (y - 1) / 4, v = (x - 1) / 4.
    # Inside: x >= 1, y >= 1, (x - 1) + (y - 1) < 4  ->  x + y <= 5 (the edge P1-P2 is exclusive).
    v, f = _right_triangle()
    zbuf, tri = raster.rasterize(v, f, 8, 8)
    expect = np.zeros((8, 8), bool)
    for y in range(8):
        for x in range(8):
            expect[y, x] = x >= 1 and y >= 1 and x + y <= 5
    assert expect.sum() == 10
    np.testing.assert_array_equal(tri >= 0, expect)
    np.testing.assert_array_equal(tri[expect], 0)
    # flat: mean of the corners (0 + 3 + 6) / 3 = 3 everywhere; -inf outside
    np.testing.assert_array_equal(zbuf[expect], 3.0)
    assert np.all(np.isneginf(zbuf[~expect]))
    assert zbuf.dtype == np.float32 and tri.dtype == np.int32


def test_barycentric_depth_by_hand():
    # z = z0 + u (z2 - z0) + v (z1 - z0) = 6 (y - 1) / 4 + 3 (x - 1) / 4
    v, f = _right_triangle()
    zbuf, tri = raster.rasterize(v, f, 8, 8, mode="barycentric")
    ys, xs = np.nonzero(tri >= 0)
    np.testing.assert_allclose(zbuf[ys, xs], 1.5 * (ys - 1) + 0.75 * (xs - 1), atol=1e-6)
    assert zbuf[1, 1] == 0.0 and zbuf[1, 4] == pytest.approx(2.25) and zbuf[4, 1] == pytest.approx(4.5)


def test_nearest_wins_and_ties_keep_the_first():
    # two copies of the same square (two triangles each) at z = 1 and z = 2
    sq = np.array([[0, 0], [6, 0], [0, 6], [6, 6]], dtype=np.float64)
    v = np.vstack([np.c_[sq, np.full(4, 1.0)], np.c_[sq, np.full(4, 2.0)]])
    f = np.array([[0, 1, 2], [1, 3, 2], [4, 5, 6], [5, 7, 6]])
    zbuf, tri = raster.rasterize(v, f, 8, 8)
    cov = tri >= 0
    assert np.all(zbuf[cov] == 2.0) and np.all(np.isin(tri[cov], [2, 3]))
    # reversed order: the far square drawn last must not overwrite
    zbuf2, tri2 = raster.rasterize(v, f[::-1].copy(), 8, 8)
    assert np.all(zbuf2[cov] == 2.0) and np.all(np.isin(tri2[cov], [0, 1]))
    # equal depth: strict '>' keeps the earlier triangle
    v_eq = v.copy()
    v_eq[4:, 2] = 1.0
    _, tri3 = raster.rasterize(v_eq, f, 8, 8)
    assert np.all(np.isin(tri3[cov], [0, 1]))


def test_clipping_degenerate_and_nan_triangles():
    v = np.array([
        [-10, -10, 0], [3, -10, 0], [-10, 3, 0],      # mostly outside, corner region inside
        [1, 1, 5], [4, 4, 5], [7, 7, 5],              # collinear: zero area, skipped
        [np.nan, 0, 0], [5, 5, 0], [0, 5, 0],         # NaN corner: skipped
        [100, 100, 0], [120, 100, 0], [100, 120, 0],  # fully outside
    ], dtype=np.float64)
    f = np.arange(12).reshape(4, 3)
    zbuf, tri = raster.rasterize(v, f, 8, 8)
    # first triangle: u = (y + 10) / 13, v = (x + 10) / 13, inside iff x + y < -7 -> nothing with x, y >= 0
    assert not (tri >= 0).any()
    # shift it so that x + y < 3 is inside: P0 = (-5, -5), P1 = (8, -5), P2 = (-5, 8) -> x + y < 3
    v2 = v.copy()
    v2[0:3, :2] = [[-5, -5], [8, -5], [-5, 8]]
    _, tri2 = raster.rasterize(v2, f, 8, 8)
    ys, xs = np.mgrid[0:8, 0:8]
    np.testing.assert_array_equal(tri2 == 0, xs + ys < 3)
    assert not np.isin(tri2, [1, 2, 3]).any()


def _official_depth(vertices, triangles, h, w):
    """Transcription of PRNet's utils/render.py render_texture with per-vertex colour = z
    (as get_depth_image calls it), zero-area triangles skipped (see the module docstring)."""
    depth = np.full((h, w), -np.inf)
    tri_id = np.full((h, w), -1)
    for i, t in enumerate(triangles):
        tp = vertices[t, :2].T  # 2x3
        tri_depth = vertices[t, 2].mean()
        umin = max(int(np.ceil(tp[0].min())), 0)
        umax = min(int(np.floor(tp[0].max())), w - 1)
        vmin = max(int(np.ceil(tp[1].min())), 0)
        vmax = min(int(np.floor(tp[1].max())), h - 1)
        if umax < umin or vmax < vmin:
            continue
        v0 = tp[:, 2] - tp[:, 0]
        v1 = tp[:, 1] - tp[:, 0]
        dot00, dot01, dot11 = v0 @ v0, v0 @ v1, v1 @ v1
        den = dot00 * dot11 - dot01 * dot01
        if den == 0:
            continue
        for vv in range(vmin, vmax + 1):
            for uu in range(umin, umax + 1):
                v2 = np.array([uu, vv]) - tp[:, 0]
                dot02, dot12 = v0 @ v2, v1 @ v2
                u = (dot11 * dot02 - dot01 * dot12) / den
                v = (dot00 * dot12 - dot01 * dot02) / den
                if u >= 0 and v >= 0 and u + v < 1 and tri_depth > depth[vv, uu]:
                    depth[vv, uu] = tri_depth
                    tri_id[vv, uu] = i
    return depth, tri_id


def test_matches_official_loop_on_random_meshes():
    rng = np.random.default_rng(7)
    for _ in range(3):
        v = np.c_[rng.uniform(-3, 19, (40, 2)), rng.uniform(0, 10, 40)]
        f = np.array([rng.choice(40, 3, replace=False) for _ in range(60)])
        ref_z, ref_t = _official_depth(v, f, 16, 16)
        z, t = raster.rasterize(v, f, 16, 16)
        np.testing.assert_array_equal(t, ref_t)
        np.testing.assert_allclose(z, ref_z.astype(np.float32))


def test_interpolate_attributes_reproduces_linear_functions():
    # attributes that are linear in (x, y) are reproduced exactly at every pixel centre
    rng = np.random.default_rng(3)
    grid = np.stack(np.meshgrid(np.linspace(0, 15, 5), np.linspace(0, 15, 5)), -1).reshape(-1, 2)
    grid += rng.uniform(-0.7, 0.7, grid.shape)
    v = np.c_[grid, np.zeros(len(grid))]
    f = []
    for r in range(4):
        for c in range(4):
            a, b, cc, d = r * 5 + c, r * 5 + c + 1, (r + 1) * 5 + c, (r + 1) * 5 + c + 1
            f += [[a, b, cc], [b, d, cc]]
    f = np.array(f)
    _, tri = raster.rasterize(v, f, 16, 16)
    attrs = np.c_[v[:, 0], v[:, 1], 2 * v[:, 0] - v[:, 1] + 7]
    out = raster.interpolate_attributes(v, f, tri, attrs)
    ys, xs = np.nonzero(tri >= 0)
    assert len(ys) > 150
    np.testing.assert_allclose(out[ys, xs, 0], xs, atol=1e-4)
    np.testing.assert_allclose(out[ys, xs, 1], ys, atol=1e-4)
    np.testing.assert_allclose(out[ys, xs, 2], 2 * xs - ys + 7, atol=1e-4)
    assert np.all(out[tri < 0] == 0)
    w = raster.barycentric_weights(v, f, tri)
    np.testing.assert_allclose(w[ys, xs].sum(-1), 1.0, atol=1e-5)
    assert np.all(w[ys, xs] >= -1e-6)


def test_zbuffer_to_depth_by_hand():
    z = np.array([[10.0, 9.0, -np.inf], [10.0 - 250.0, 10.0 - 249.99, 11.0]], dtype=np.float32)
    # default near = max z = 11 -> 0; 1 mm farther = 262.14 units -> 262
    d = raster.zbuffer_to_depth(z, 1.0)
    assert d.dtype == np.uint16
    assert d[1, 2] == 0 and d[0, 0] == 262 and d[0, 1] == 524 and d[0, 2] == HOLE
    assert d[1, 0] == HOLE  # 251 mm behind the nearest point: beyond the 250 mm range
    # given near = 10: the pixel at z = 11 is nearer than near -> hole; z = 10 -> 0
    d2 = raster.zbuffer_to_depth(z, 0.5, near=10.0)
    assert d2[0, 0] == 0 and d2[1, 2] == HOLE and d2[0, 1] == int(np.rint(0.5 * UNITS_PER_MM))
    assert abs(int(d2[1, 0]) - 125.0 * UNITS_PER_MM) <= 1  # 250 z units * 0.5 mm = 125 mm
    assert d[1, 1] == HOLE  # 250.99 mm behind z = 11
    with pytest.raises(ValueError):
        raster.zbuffer_to_depth(z, 0.0)


def test_bad_input_is_refused():
    v, f = _right_triangle()
    with pytest.raises(ValueError, match="mode"):
        raster.rasterize(v, f, mode="gouraud")
    with pytest.raises(ValueError, match="indices"):
        raster.rasterize(v, np.array([[0, 1, 3]]))
    with pytest.raises(ValueError, match="vertices"):
        raster.rasterize(v[:, :2], f)
