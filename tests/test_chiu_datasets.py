"""Chiu's 3D data-set readers on tiny fixtures written in the real formats (shared/docs/datasets.md s. 6)."""
from __future__ import annotations

import gzip
import struct

import cv2
import numpy as np
import pytest

from experiments.datasets import scans3d as S
from prnet_synth.conventions import HOLE


def _pyramid_vrml(path, with_texture=True):
    # square base at z = 0 (40 x 40 mm), apex at z = 20 mm in the centre (nearest point)
    pts = [(-20, -20, 0), (20, -20, 0), (20, 20, 0), (-20, 20, 0), (0, 0, 20)]
    quads = "0, 1, 4, -1, 1, 2, 4, -1, 2, 3, 4, -1, 3, 0, 4, -1"
    uv = [(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)]
    txt = "#VRML V2.0 utf8\nShape { geometry IndexedFaceSet {\n coord Coordinate { point [\n"
    txt += ",\n".join(f"{x} {y} {z}" for x, y, z in pts) + "] }\n"
    if with_texture:
        txt += " texCoord TextureCoordinate { point [ " + ", ".join(f"{u} {v}" for u, v in uv) + " ] }\n"
        txt += " texCoordIndex [ " + quads + " ]\n"
    txt += " coordIndex [ " + quads + " ]\n} }\n"
    path.write_text(txt)
    if with_texture:
        tex = np.zeros((8, 8, 3), np.uint8)
        tex[:] = (10, 200, 30)  # RGB
        cv2.imwrite(str(path.with_suffix(".bmp")), tex[..., ::-1])


def test_vrml_pyramid_renders_apex_nearest(tmp_path):
    subj = tmp_path / "F0001"
    subj.mkdir()
    wrl = subj / "F0001_NE00WH_F3D.wrl"
    _pyramid_vrml(wrl)
    mesh = S.read_vrml(wrl)
    assert mesh.vertices.shape == (5, 3) and mesh.triangles.shape == (4, 3)
    out = S.render_mesh(mesh, size=64)
    d = out["depth"]
    valid = d != HOLE
    # the apex projects to the image centre and is the nearest point (value 0)
    assert d[31:33, 31:33].min() == 0
    # the pyramid's corners are 20 mm farther: 20 mm in units = 20 * 65535 / 250
    assert abs(int(d[valid].max()) - 20 * 65535 / 250) < 0.05 * 20 * 65535 / 250
    # texture colour reaches the rendered pixels
    assert tuple(out["rgb"][32, 32]) == (10, 200, 30)
    recs = S.list_bu3dfe(tmp_path)
    assert len(recs) == 1 and recs[0].subject == "F0001" and recs[0].variant == "NE00"
    # yaw of 90 degrees turns the pyramid sideways: it then spans far fewer columns
    side = S.render_mesh(mesh, size=64, yaw=90.0, mm_per_pixel=out["mm_per_pixel"])
    cols = lambda v: np.ptp(np.nonzero(v.any(axis=0))[0])  # noqa: E731
    assert cols(side["valid"]) < 0.7 * cols(out["valid"])


def test_vrml_errors_name_the_file(tmp_path):
    bad = tmp_path / "x_F3D.wrl"
    bad.write_text("not vrml")
    with pytest.raises(S.ScanFormatError, match="x_F3D.wrl"):
        S.read_vrml(bad)


def _write_bnt(path, xyz, zmin, name=b"bs000_N_N_0.png"):
    r, c, _ = xyz.shape
    # the reader flips rows back: store the grid upside down as the authors' format does
    stored = xyz[::-1].reshape(-1, 3)
    uv = np.zeros((r * c, 2))
    cols = np.concatenate([stored, uv], axis=1).T.reshape(-1)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<HHdH", r, c, zmin, len(name)))
        fh.write(name)
        fh.write(struct.pack("<I", r * c * 5))
        fh.write(cols.astype("<f8").tobytes())


def test_bnt_round_trip_and_background(tmp_path):
    r, c = 6, 5
    yy, xx = np.mgrid[0:r, 0:c].astype(float)
    z = 100.0 + xx
    zmin = -1e9
    z[0, 0] = zmin
    xyz = np.stack([xx, yy, z], -1)
    d = tmp_path / "bs000"
    d.mkdir()
    f = d / "bs000_N_N_0.bnt"
    _write_bnt(f, xyz, zmin)
    got, valid = S.read_bnt(f)
    np.testing.assert_allclose(got[valid], xyz[valid])
    assert not valid[0, 0] and valid.sum() == r * c - 1
    recs = S.list_bosphorus(tmp_path)
    assert recs[0].meta["pose"] == "N" and recs[0].subject == "bs000"
    f.write_bytes(f.read_bytes()[:40])
    with pytest.raises(S.ScanFormatError, match="bs000_N_N_0.bnt"):
        S.read_bnt(f)


def test_abs_reader_gz(tmp_path):
    r, c = 3, 4
    flag = np.ones(r * c, int)
    flag[5] = 0
    x = np.arange(r * c, dtype=float)
    y = -x
    z = np.full(r * c, -999999.0)
    z[flag == 1] = 50.0
    txt = f"{r} rows\n{c} columns\npixels (flag X Y Z):\n"
    txt += " ".join(map(str, flag)) + "\n" + " ".join(map(str, x)) + "\n" + " ".join(map(str, y)) + "\n"
    txt += " ".join(map(str, z)) + "\n"
    f = tmp_path / "04200d74.abs.gz"
    with gzip.open(f, "wt") as fh:
        fh.write(txt)
    xyz, valid = S.read_abs(f)
    assert xyz.shape == (r, c, 3) and valid.sum() == r * c - 1 and not valid.reshape(-1)[5]
    assert xyz[2, 3, 0] == 11.0
    recs = S.list_frgc(tmp_path)
    assert recs[0].subject == "04200"


def test_grid_mesh_render_flat_plane(tmp_path):
    yy, xx = np.mgrid[0:20, 0:20].astype(float)
    xyz = np.stack([xx * 2.0, -yy * 2.0, np.full_like(xx, 30.0)], -1)
    mesh = S.grid_to_mesh(xyz, np.ones((20, 20), bool))
    assert len(mesh.triangles) == 2 * 19 * 19
    out = S.render_mesh(mesh, size=32)
    vals = out["depth"][out["valid"]]
    assert vals.size > 0.5 * 32 * 32 and vals.max() == 0  # a fronto-parallel plane: all at the nearest depth


def test_protocols():
    mk = lambda subj, var, **kw: S.ScanRecord("BU-3DFE", subj, None, var, **kw)  # noqa: E731
    recs = [mk("F0001", "AN01"), mk("F0001", "NE00"), mk("F0001", "HA04"), mk("M0002", "NE00"), mk("M0002", "SU02")]
    p = S.identification_protocol(recs, "BU-3DFE")
    assert p["gallery"] == [1, 3] and p["probe"] == [0, 2, 4]
    lock = [S.ScanRecord("Lock3DFace", "001", None, "neutral", session=1),
            S.ScanRecord("Lock3DFace", "001", None, "pose", session=1),
            S.ScanRecord("Lock3DFace", "001", None, "neutral", session=2),
            S.ScanRecord("Lock3DFace", "002", None, "expression", session=1)]
    q = S.identification_protocol(lock, "Lock3DFace")
    assert q["gallery"] == [0] and q["probe_set_2"] == [1] and q["probe_set_4"] == [2]
    assert q["probe_set_1"] == []  # subject 002 has no gallery image
    with pytest.raises(ValueError):
        S.identification_protocol(recs, "nope")
