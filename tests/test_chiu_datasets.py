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


def _png(path, img):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), img)


def test_texas_range_and_portrait(tmp_path):
    # Texas 3DFR: 8-bit range PNG (larger = closer) + portrait PNG; 0 = no range
    rng_img = np.zeros((20, 20), np.uint8)
    rng_img[5:15, 5:15] = 245
    rng_img[9:11, 9:11] = 255                       # the nearest patch, 10 grey levels in front
    por = np.zeros((20, 20, 3), np.uint8)
    por[...] = (40, 90, 200)                         # RGB
    for subj, shot in (("001", "01"), ("001", "02"), ("002", "01")):
        _png(tmp_path / "PreprocessedImages" / f"{subj}_{shot}_Range.png", rng_img)
        _png(tmp_path / "PreprocessedImages" / f"{subj}_{shot}_Portrait.png", por[..., ::-1])
    recs = S.list_texas(tmp_path)
    assert [r.subject for r in recs] == ["001", "001", "002"]
    assert all(r.texture is not None and r.texture.name.endswith("_Portrait.png") for r in recs)
    out = S.load_record(recs[0], size=20)
    d = out["depth"]
    assert d[10, 10] == 0                            # nearest point = 0
    # 10 grey levels at the default 1 mm per level = 10 mm = 10 * 65535 / 250 units
    assert abs(int(d[6, 6]) - round(10 * 65535 / 250)) <= 1
    assert d[0, 0] == HOLE and tuple(out["rgb"][3, 3]) == (40, 90, 200)
    p = S.identification_protocol(recs, "Texas")
    assert p["gallery"] == [0, 2] and p["probe"] == [1]


def _lock_clip(root, session, subset, subj, n_frames, colour="frames"):
    clip = root / session / subset / subj / f"{subj}_clip"
    for k in range(n_frames):
        d = np.zeros((12, 16), np.uint16)
        d[3:9, 4:12] = 800 + k                       # mm
        _png(clip / "DEPTH" / f"{k:03d}_DEPTH.png", d)
        if colour == "frames":
            c = np.zeros((12, 16, 3), np.uint8)
            c[..., 0] = 10 * (k + 1)                 # red channel tells the frame
            c[..., 1] = 77
            _png(clip / "COLOR" / f"{k:03d}_COLOR.png", c[..., ::-1])
    if colour == "video":
        vw = cv2.VideoWriter(str(clip / "color.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 12))
        assert vw.isOpened()
        for k in range(n_frames):
            c = np.zeros((12, 16, 3), np.uint8)
            c[..., 2] = 60 * (k + 1)                 # BGR: red grows with the frame number
            vw.write(c)
        vw.release()
    return clip


def test_lock3dface_reads_the_colour_stream(tmp_path):
    root = tmp_path / "depth_sets" / "Lock3DFace"  # a folder above the data set named "depth"
    _lock_clip(root, "session1", "neutral", "001", 2)
    _lock_clip(root, "session1", "pose", "001", 1)
    _lock_clip(root, "session2", "neutral", "001", 1, colour="video")
    _lock_clip(root, "session1", "expression", "002", 1)
    recs = S.list_lock3dface(root)
    assert len(recs) == 5                            # colour frames are not listed as records
    by = {(r.session, r.variant, r.subject, r.path.name): r for r in recs}
    r1 = by[(1, "neutral", "001", "001_DEPTH.png")]
    assert r1.texture.name == "001_COLOR.png"
    out = S.load_record(r1, size=8)
    # the colour of frame 1 (red 20, green 77), not black; centre-cropped 12x12 -> 8x8
    assert out["rgb"].shape == (8, 8, 3) and tuple(out["rgb"][4, 4]) == (20, 77, 0)
    assert out["depth"][4, 4] == 0 and out["depth"][0, 0] == HOLE
    vid = by[(2, "neutral", "001", "000_DEPTH.png")]
    assert vid.texture.name == "color.avi"
    frame = S.load_record(vid, size=8)["rgb"]
    assert abs(int(frame[4, 4, 0]) - 60) <= 8 and frame[4, 4, 1] <= 8   # lossy codec: near (60, 0, 0)
    q = S.identification_protocol(recs, "Lock3DFace")
    names = [(recs[i].session, recs[i].variant, recs[i].path.name) for i in q["gallery"]]
    assert names == [(1, "neutral", "000_DEPTH.png")]
    assert len(q["probe_set_2"]) == 1 and len(q["probe_set_4"]) == 1 and q["probe_set_1"] == []


def test_lock3dface_without_colour_names_the_file(tmp_path):
    clip = _lock_clip(tmp_path, "session1", "neutral", "003", 1, colour=None)
    rec = S.list_lock3dface(tmp_path)[0]
    assert rec.texture is None
    with pytest.raises(S.ScanFormatError, match="000_DEPTH.png.*no colour frame"):
        S.load_record(rec, size=8)
    assert clip.is_dir()


def face_vrml(path, sample, step=4, mm_per_px=0.9):
    """A BU-3DFE-format scan (VRML 2.0 IndexedFaceSet in mm + ``_F3D.bmp`` texture) made from a
    procedural face: its depth image as a grid mesh, its colour image as the texture."""
    from prnet_synth.conventions import UNITS_PER_MM

    d = sample["depth"][::step, ::step]
    h, w = d.shape
    valid = d != HOLE
    idx = -np.ones((h, w), int)
    idx[valid] = np.arange(valid.sum())
    rows, cols = np.nonzero(valid)
    pts = [(c * step * mm_per_px, -r * step * mm_per_px, -float(d[r, c]) / UNITS_PER_MM) for r, c in zip(rows, cols)]
    n = sample["rgb"].shape[0]
    uv = [((c * step + 0.5) / n, 1.0 - (r * step + 0.5) / n) for r, c in zip(rows, cols)]
    faces = []
    for r in range(h - 1):
        for c in range(w - 1):
            q = idx[r, c], idx[r, c + 1], idx[r + 1, c + 1], idx[r + 1, c]
            if min(q) >= 0:
                faces.append(f"{q[0]}, {q[3]}, {q[2]}, {q[1]}, -1")
    txt = "#VRML V2.0 utf8\nTransform { children [ Shape { geometry IndexedFaceSet {\n"
    txt += " coord Coordinate { point [\n" + ",\n".join(f"{x:.3f} {y:.3f} {z:.3f}" for x, y, z in pts) + " ] }\n"
    txt += " texCoord TextureCoordinate { point [ " + ", ".join(f"{u:.5f} {v:.5f}" for u, v in uv) + " ] }\n"
    txt += " coordIndex [ " + ",\n".join(faces) + " ]\n texCoordIndex [ " + ",\n".join(faces) + " ]\n} } ] }\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(txt)
    cv2.imwrite(str(path.with_suffix(".bmp")), sample["rgb"][..., ::-1])


def bu3dfe_fixture(root, seed=21):
    from prnet_synth import procedural

    faces = procedural.generate(3, seed, frontal=True, expression="neutral", identities=2)
    face_vrml(root / "F0001" / "F0001_NE00WH_F3D.wrl", faces[0])
    face_vrml(root / "F0001" / "F0001_HA02WH_F3D.wrl", faces[2])
    face_vrml(root / "M0002" / "M0002_NE00AE_F3D.wrl", faces[1])
    return faces


def test_bu3dfe_depthnet_training_set(tmp_path):
    from experiments.chiu.masks import BACKGROUND
    from experiments.chiu.pipeline import bu3dfe_depthnet_data

    bu3dfe_fixture(tmp_path)
    train = bu3dfe_depthnet_data(tmp_path, 96, "dlib", seed=0, split="train", train_subjects=1, poses_per_scan=2)
    # the first subject's 2 scans x 2 poses; renders where dlib finds no face are dropped
    assert set(train["subject"]) == {"F0001"} and 2 <= len(train["rgb"]) <= 4
    assert train["rgb"].shape[1:] == (96, 96, 3) and train["depth"].dtype == np.uint16
    for rgb, depth, mask in zip(train["rgb"], train["depth"], train["mask"]):
        face = mask != BACKGROUND
        valid = depth != HOLE
        # the dlib face polygon lies on the scan: mostly on valid depth, and the texture is the face's
        assert (face & valid).sum() > 0.8 * face.sum() and face.sum() > 0.15 * valid.sum()
        assert rgb[valid].mean() > 40
    test = bu3dfe_depthnet_data(tmp_path, 96, None, split="test", train_subjects=1)
    assert list(test["subject"]) == ["M0002"] and "mask" not in test
    with pytest.raises(ValueError, match="dlib"):
        bu3dfe_depthnet_data(tmp_path, 96, "generator", train_subjects=1)
    with pytest.raises(ValueError, match="none left for the test split"):
        bu3dfe_depthnet_data(tmp_path, 96, None, split="test", train_subjects=2)
