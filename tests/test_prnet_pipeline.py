"""PRNet pre/post-processing against hand-computed cases and the official formulas."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from prnet_synth import conventions as cv
from prnet_synth import prnet_pipeline as pp


def test_square_rules_hand_computed():
    # box [left, right, top, bottom] = [10, 110, 20, 100]: old_size = (100 + 80) / 2 = 90
    c, s = pp.square_from_box(10, 110, 20, 100)
    assert tuple(c) == (60.0, 60.0) and s == 144  # int(90 * 1.6)
    c, s = pp.square_from_cnn_rect(10, 20, 110, 100)  # dlib rect order left, top, right, bottom
    assert c[0] == 60.0 and c[1] == pytest.approx(60.0 + 0.14 * 90) and s == 142  # int(142.2)
    kpt = np.array([[10, 50], [110, 20], [60, 100]], np.float32)
    c2, s2 = pp.square_from_landmarks(kpt)
    assert tuple(c2) == (60.0, 60.0) and s2 == 144


def test_crop_matches_skimage_similarity_and_warp():
    from skimage.transform import estimate_transform, warp

    c, s = pp.square_from_box(31.5, 180.0, 12.0, 170.0)
    src = np.array([[c[0] - s / 2, c[1] - s / 2], [c[0] - s / 2, c[1] + s / 2], [c[0] + s / 2, c[1] - s / 2]])
    dst = np.array([[0, 0], [0, 255], [255, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = estimate_transform("similarity", src, dst)
    T = pp.crop_transform(c, s)
    np.testing.assert_allclose(T, ref.params, atol=1e-9)
    img = np.random.default_rng(1).integers(0, 256, (200, 230, 3), dtype=np.uint8)
    want = warp(img / 255.0, ref.inverse, output_shape=(256, 256))
    got = pp.crop_image(img, T)
    assert got.shape == (256, 256, 3) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
    # gray input is tiled to 3 channels
    g = pp.crop_image(img[..., 0], T)
    np.testing.assert_allclose(g[..., 2], g[..., 0])


def test_posmap_back_to_image_frame():
    T = pp.crop_transform(np.array([120.0, 90.0]), 200)
    rng = np.random.default_rng(2)
    orig = rng.uniform(0, 300, (256, 256, 3))
    s = T[0, 0]
    crop = np.empty_like(orig)
    crop[..., 0] = s * orig[..., 0] + T[0, 2]
    crop[..., 1] = s * orig[..., 1] + T[1, 2]
    crop[..., 2] = s * orig[..., 2]
    np.testing.assert_allclose(pp.posmap_to_image_frame(crop, T), orig, rtol=1e-10, atol=1e-9)


def test_grid_triangles_small_case():
    # face pixels: rows 0-1, cols 0-2 of the UV map (flat indices r*256+c), one extra isolated pixel
    face_ind = np.array([0, 1, 2, 256, 257, 258, 1000])
    tris = pp.grid_triangles(face_ind)
    # cells (0,0) and (0,1), each split into (a, c, b) and (b, c, d)
    assert tris.tolist() == [[0, 3, 1], [1, 3, 4], [1, 4, 2], [2, 4, 5]]


def test_official_data_files(prnet_uv_dir, tmp_path):
    data = pp.load_prnet_data(prnet_uv_dir, triangles="grid")
    assert data.n_vertices == 43867  # prnet.md
    assert data.triangles.shape == (86907, 3)  # prnet.md: grid regeneration gives 86,907
    assert data.face_ind.min() == 1285 and data.face_ind.max() == 51603
    # triangles.txt is required unless the grid is asked for, with an error naming the file
    with pytest.raises(FileNotFoundError, match="triangles.txt"):
        pp.load_prnet_data(prnet_uv_dir)
    # gather: pos[r, c] = (c, r, r*256 + c) -> vertex i sits at its own UV pixel
    r, c = np.mgrid[0:256, 0:256]
    pos = np.stack([c, r, r * 256 + c], axis=-1).astype(np.float64)
    v = pp.vertices_from_posmap(pos, data)
    np.testing.assert_array_equal(v[:, 2], data.face_ind)
    k = pp.landmarks_from_posmap(pos, data)
    np.testing.assert_array_equal(k[:, 0], data.uv_kpt_ind[0])
    np.testing.assert_array_equal(k[:, 1], data.uv_kpt_ind[1])


def test_bad_data_file_is_named(tmp_path):
    (tmp_path / "face_ind.txt").write_text("1.0\n2.0\nxyz\n")
    with pytest.raises(ValueError, match="face_ind.txt"):
        pp.load_prnet_data(tmp_path, triangles="grid")


def test_eye_distance_scale():
    kpt = np.zeros((68, 3))
    kpt[36:42] = [10.0, 50.0, 3.0]
    kpt[42:48] = [10.0 + 36.0, 50.0, 3.0 + 27.0]  # 3D distance 45 units
    assert pp.eye_distance(kpt) == pytest.approx(45.0)
    assert pp.mm_per_unit_from_landmarks(kpt) == pytest.approx(63.0 / 45.0)


def test_render_depth_two_squares_hand_computed():
    # back square (z = 10) covering columns/rows 2..12, front square (z = 30) covering 5..8
    def square(x0, x1, z, base):
        v = np.array([[x0, x0, z], [x1, x0, z], [x0, x1, z], [x1, x1, z]], np.float64)
        f = np.array([[0, 2, 1], [1, 2, 3]]) + base
        return v, f

    vb, fb = square(2, 12, 10.0, 0)
    vf, ff = square(5, 8, 30.0, 4)
    verts = np.vstack([vb, vf])
    tris = np.vstack([fb, ff])
    depth = pp.render_depth(verts, tris, mm_per_unit=0.5, size=16)
    assert depth.dtype == np.uint16 and depth.shape == (16, 16)
    assert depth[6, 6] == 0  # front square = nearest
    # back square: 20 units behind = 10 mm = 10 * 65535 / 250 units
    assert depth[3, 10] == round(10 * cv.UNITS_PER_MM)
    assert depth[0, 0] == cv.HOLE and depth[14, 14] == cv.HOLE
    # coverage: the 11x11 back square minus the exclusive far edge of its second triangle
    covered = depth != cv.HOLE
    assert covered[2:12, 2:12].all() and not covered[13:, :].any() and not covered[:, 13:].any()


def test_detect_square_on_real_photo():
    from skimage import data

    img = data.astronaut()
    c, s, info = pp.detect_square(img, "landmarks")
    # environment.md: dlib's box on astronaut() is (179,83)-(266,170)
    assert 179 < c[0] < 266 and 83 < c[1] < 190
    assert 100 < s < 250
    c2, s2, _ = pp.detect_square(img, "image")
    assert tuple(c2) == (255.5, 255.5) and s2 == int(511 * 1.6)
    with pytest.raises(pp.NoFaceError):
        pp.detect_square(np.zeros((120, 120, 3), np.uint8), "landmarks")


def test_depth_scale_on_prnet_reference_face(prnet_uv_dir):
    """PRNet's canonical face, scaled into the crop frame, rendered with the eye-distance scale:
    anthropometric sizes come out right (Farkas: outer eye corners ~85-92 mm apart, mouth ~50-55 mm),
    the nose tip is the nearest pixel and the face depth fits the 250 mm range."""
    data = pp.load_prnet_data(prnet_uv_dir, triangles="grid")
    v = np.load(prnet_uv_dir / "canonical_vertices.npy")
    k = 0.75  # any crop scale: the depth scale follows the face's own size
    verts = np.c_[(v[:, 0] - v[:, 0].mean()) * k + 128, (v[:, 1] - v[:, 1].mean()) * k + 128, v[:, 2] * k]
    pos = np.zeros((256 * 256, 3))
    pos[data.face_ind] = verts
    kpt = pp.landmarks_from_posmap(pos.reshape(256, 256, 3), data)
    s = pp.mm_per_unit_from_landmarks(kpt)
    assert 80 < np.linalg.norm(kpt[36] - kpt[45]) * s < 95
    assert 45 < np.linalg.norm(kpt[48] - kpt[54]) * s < 58
    depth = pp.render_depth(verts, data.triangles, s)
    r, c = np.unravel_index(np.argmin(depth), depth.shape)
    assert abs(c - kpt[30, 0]) <= 3 and abs(r - kpt[30, 1]) <= 3
    valid = depth[depth != cv.HOLE].astype(float) * cv.MM_PER_UNIT
    assert 80 < valid.max() < 250 and valid.size > 15000


def test_pipeline_crop_from_box_and_landmarks(prnet_uv_dir):
    data = pp.load_prnet_data(prnet_uv_dir, triangles="grid")
    pipe = pp.PRNetPipeline(prnet_uv_dir, model=object(), data=data, crop="image")
    img = np.random.default_rng(4).integers(0, 256, (300, 200, 3), dtype=np.uint8)
    crop, T, info = pipe.crop_input(img, box=[20, 180, 40, 260])
    assert info["crop"] == "box" and info["size"] == int((160 + 220) / 2 * 1.6)
    np.testing.assert_allclose(T, pp.crop_transform(np.array([100.0, 150.0]), info["size"]))
    assert crop.shape == (256, 256, 3)
    kpt = np.array([[20, 40], [180, 260], [100, 100]], float)
    _, T2, info2 = pipe.crop_input(img, landmarks=kpt)
    np.testing.assert_allclose(T2, T)
    with pytest.raises(ValueError):
        pp.PRNetPipeline(prnet_uv_dir, model=object(), data=data, crop="nope")
