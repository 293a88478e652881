"""One synthetic sample: sampling of the capture, meshes, rasterisation, painting, shading."""
from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from .. import raster
from ..conventions import UNITS_PER_MM
from . import meshes, paint
from .model import EXPRESSIONS, Head, head_scale, landmarks_3d, rotation, sample_expression, sample_identity

MASK_CLASSES = ("background", "skin", "brows", "eyes", "glasses", "nose", "mouth")
BACKGROUND, SKIN, BROWS, EYES, GLASSES, NOSE, MOUTH = range(7)
OCCLUDERS = ("none", "hand", "paper", "glasses")
SIZE = 256

# object ids of the triangles
OBJ_HEAD, OBJ_NECK, OBJ_HAND, OBJ_PAPER, OBJ_GLASSES = range(5)

DEFAULTS = dict(
    yaw_range=45.0, pitch_range=30.0, roll_range=20.0,
    yaw=None, pitch=None, roll=None,   # fixed angles (degrees) instead of random ones
    expression=None,          # None = random (neutral 40 %, smile 30 %, open_mouth 30 %)
    occluder=None,            # None = random (none 55 %, hand / paper / glasses 15 % each)
    identities=None,          # None = a new identity per sample, K = samples drawn from K identities
    depth_region="face",      # "face": valid depth on the face region (+ occluders), "head": every surface
    size_range=(125.0, 165.0),  # height of the landmark box (brow top to chin) in pixels
    offset_range=10.0,        # random shift of the face centre (pixels)
    resolution=0.85,          # mesh density factor (1.0: 150 columns, 1.6 mm rows)
)
FRONTAL = dict(yaw_range=15.0, pitch_range=10.0, roll_range=8.0, occluder="none")


def check_options(options: dict) -> dict:
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown option(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    o = dict(DEFAULTS)
    o.update(options)
    if o["expression"] is not None and o["expression"] not in EXPRESSIONS:
        raise ValueError(f"expression must be one of {EXPRESSIONS} or None, got {o['expression']!r}")
    if o["occluder"] is not None and o["occluder"] not in OCCLUDERS:
        raise ValueError(f"occluder must be one of {OCCLUDERS} or None, got {o['occluder']!r}")
    if o["identities"] is not None and int(o["identities"]) < 1:
        raise ValueError(f"identities must be a positive number, got {o['identities']!r}")
    if o["depth_region"] not in ("face", "head"):
        raise ValueError(f"depth_region must be 'face' or 'head', got {o['depth_region']!r}")
    for k in ("yaw_range", "pitch_range", "roll_range"):
        if not 0 <= float(o[k]) <= 90:
            raise ValueError(f"{k} must lie in [0, 90] degrees, got {o[k]!r}")
    for k in ("yaw", "pitch", "roll"):
        if o[k] is not None and not -90 <= float(o[k]) <= 90:
            raise ValueError(f"{k} must lie in [-90, 90] degrees, got {o[k]!r}")
    return o


def _rng(*key) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in key]))


def identity_params(seed: int, identity: int) -> dict:
    """The identity parameters of identity number ``identity`` under ``seed`` (deterministic)."""
    return sample_identity(_rng(seed, 0x1D, identity))


# ----------------------------------------------------------------------------- capture sampling
def sample_capture(seed: int, index: int, o: dict) -> dict:
    rng = _rng(seed, 0x5A, index)
    k = o["identities"]
    identity = int(index % int(k)) if k is not None else int(index)
    # every random number is drawn whatever the options, so that fixing one option leaves the
    # rest of the capture unchanged
    expr_name = str(rng.choice(EXPRESSIONS, p=[0.4, 0.3, 0.3]))
    occ = str(rng.choice(OCCLUDERS, p=[0.55, 0.15, 0.15, 0.15]))
    expr_name = o["expression"] or expr_name
    occ = o["occluder"] or occ
    cap = {
        "identity": identity,
        "yaw": float(rng.uniform(-1, 1) * o["yaw_range"]),
        "pitch": float(rng.uniform(-1, 1) * o["pitch_range"]),
        "roll": float(rng.uniform(-1, 1) * o["roll_range"]),
        "occluder": occ,
        "face_size_px": float(rng.uniform(*o["size_range"])),
        "offset_px": [float(v) for v in rng.uniform(-1, 1, 2) * o["offset_range"]],
        "gaze": [float(v) for v in rng.normal(0, [1.2, 0.6])],
        "light": {
            "azimuth": float(rng.uniform(-50, 50)),
            "elevation": float(rng.uniform(-10, 50)),
            "ambient": float(rng.uniform(0.25, 0.5)),
            "intensity": float(rng.uniform(0.85, 1.15)),
            "tint": [float(v) for v in rng.uniform(0.9, 1.0, 3)],
            "specular": float(rng.uniform(0.0, 0.12)),
        },
        "background": {
            "colors": [[float(v) for v in rng.uniform(0.05, 0.95, 3)] for _ in range(2)],
            "angle": float(rng.uniform(0, 360)),
            "noise_seed": int(rng.integers(0, 2 ** 31)),
        },
        "occluder_params": {"side": float(rng.choice([-1.0, 1.0])), "u": [float(v) for v in rng.uniform(0, 1, 6)]},
        "noise": float(rng.uniform(0.5, 2.5)),
    }
    cap["expression_params"] = sample_expression(rng, expr_name)
    for k in ("yaw", "pitch", "roll"):
        if o[k] is not None:
            cap[k] = float(o[k])
    return cap


# ----------------------------------------------------------------------------- geometry
def _head_grid(head: Head, res: float):
    p = head.ident
    my = p["mouth_y"]
    rows = np.concatenate([
        np.linspace(head.y_top, 45.0, max(6, int(14 * res))),
        np.linspace(45.0, head.y_bot, max(20, int((45.0 - head.y_bot) / 1.6 * res))),
        my + np.linspace(-2.5, 2.5, 15),
    ])
    rows = np.unique(np.round(rows, 4))[::-1]
    rows = rows[(rows <= head.y_top) & (rows >= head.y_bot)]
    n_cols = max(48, int(150 * res))
    t = np.linspace(-1, 1, n_cols, endpoint=False)
    a = 0.5
    theta = np.pi * (a * t + (1 - a) * t ** 3)
    TH, YY = np.meshgrid(theta, rows, indexing="xy")
    P, X, feat = head.points(theta[None, :], rows[:, None], with_features=True)  # profiles per row only
    # normals from grid differences: d/dtheta (columns, periodic) x d/dY (rows run downwards)
    dth = np.roll(P, -1, 1) - np.roll(P, 1, 1)
    dy = np.empty_like(P)
    dy[1:-1] = P[:-2] - P[2:]
    dy[0] = P[0] - P[1]
    dy[-1] = P[-2] - P[-1]
    n = np.cross(dth, dy)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    # ambient occlusion from the dents of the features
    ao = np.clip(1.0 + 0.035 * np.minimum(feat, 0.0), 0.55, 1.0)
    tri = meshes.grid_triangles(len(rows), n_cols, wrap_cols=True)
    attrs = np.stack([X, YY, np.cos(TH), ao], -1).reshape(-1, 4)
    return P.reshape(-1, 3), n.reshape(-1, 3), tri, attrs


def _neck(p: dict):
    n_c, ys = 28, np.array([p["mouth_y"] + 5.0, -150.0, -200.0, -260.0, -330.0])
    a = np.linspace(-np.pi, np.pi, n_c, endpoint=False)
    w, d = 0.7 * p["jaw_w"], 46.0
    A, Y = np.meshgrid(a, ys, indexing="xy")
    P = np.stack([w * np.sin(A), Y, -36.0 + d * np.cos(A)], -1).reshape(-1, 3)
    n = np.stack([np.sin(A) / w, np.zeros_like(A), np.cos(A) / d], -1).reshape(-1, 3)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    return P, n, meshes.grid_triangles(len(ys), n_c, wrap_cols=True)


@functools.lru_cache(maxsize=256)
def _skin_texture(seed: int, identity: int) -> np.ndarray:
    """The identity's skin texture: smooth multiplicative albedo variation (+-7 %) on a 48 x 48
    grid over the rest plane, from blurred noise at two scales."""
    rng = _rng(seed, 0x7E, identity)
    coarse = cv2.resize(rng.normal(0, 1, (6, 6)).astype(np.float32), (48, 48), interpolation=cv2.INTER_CUBIC)
    fine = cv2.GaussianBlur(rng.normal(0, 1, (48, 48)).astype(np.float32), (0, 0), 1.0)
    t = 1.0 + 0.045 * coarse / max(float(coarse.std()), 1e-6) + 0.025 * fine / max(float(fine.std()), 1e-6)
    t = np.clip(t, 0.85, 1.15).astype(np.float64)
    t.flags.writeable = False
    return t


def _ears(head: Head):
    """Two ears: flattened ellipsoids at the sides of the head between the brow and the nose
    base, their rear edge standing out by ``ear_angle`` degrees."""
    p = head.ident
    k = p["ear_scale"]
    ye = -20.0 * k + 2.0
    w = float(head.profiles(ye)[0])
    out = []
    for s in (-1.0, 1.0):
        rot = rotation(s * (90.0 - p["ear_angle"]), 0.0, 0.0)
        v, t = meshes.ellipsoid([0.0, 0.0, 0.0], [17.0 * k, 30.0 * k, 3.5], rot=rot, n_lat=10, n_lon=14)
        out.append((v + np.array([s * (w + 2.0), ye, -12.0]), t))
    return out


def _surface_z(head: Head, X, Y):
    th = head.theta_from_x(np.asarray(X, float), np.asarray(Y, float))
    return head.points(th, np.asarray(Y, float))[0][..., 2]


def _occluder_mesh(kind: str, head: Head, cap: dict):
    """Occluder geometry in the head frame: list of (vertices, triangles, object id), plus lens discs."""
    p = head.ident
    side = cap["occluder_params"]["side"]
    u = cap["occluder_params"]["u"]
    parts, lenses = [], []
    if kind == "hand":
        my = p["mouth_y"]
        zf = float(_surface_z(head, 0.0, my)) + 14.0 + 10.0 * u[0]
        rot = rotation(0.0, 0.0, side * (-15.0 + 30.0 * u[1]))
        origin = np.array([-side * (40.0 + 10.0 * u[2]), my - 4.0 + 8.0 * (u[3] - 0.5), zf])
        def place(v):
            v = v.copy()
            v[:, 0] *= side
            v = v @ rot.T + origin
            v[:, 2] -= 0.006 * (v[:, 0] - origin[0]) ** 2 * 0.5
            return v
        v, t = meshes.ellipsoid([0, 0, 0], [30, 40, 11], n_lat=12, n_lon=18)
        parts.append((place(v), t, OBJ_HAND))
        for i, (fy, fl) in enumerate([(26, 0.88), (9, 1.0), (-8, 0.97), (-24, 0.8)]):
            v, t = meshes.ellipsoid([30 + 36 * fl, fy, 1.0], [38 * fl, 8.2, 7.5], n_lat=8, n_lon=14)
            parts.append((place(v), t, OBJ_HAND))
        v, t = meshes.ellipsoid([8, -42, 0], [11, 26, 9], rot=rotation(0, 0, 35), n_lat=8, n_lon=12)
        parts.append((place(v), t, OBJ_HAND))
    elif kind == "paper":
        # built in the camera-aligned frame by ``_paper``: the occluder does not turn with the head
        pass
    elif kind == "glasses":
        ex, ey = p["eye_x"], 1.0
        rx, ry = p["eye_w"] + 8.5 + 3 * u[0], 13.0 + 4 * u[1]
        zr = float(_surface_z(head, ex, 0.0)) + 15.0
        a = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        r = 1.2 + 1.0 * u[2]
        for s in (-1.0, 1.0):
            c = np.stack([s * ex + rx * np.cos(a), ey + ry * np.sin(a) * (1 - 0.15 * (np.sin(a) < 0)),
                          zr + 2.0 * np.cos(a) * s * 0.5], -1)
            parts.append(meshes.tube(c, r, closed=True, sides=6) + (OBJ_GLASSES,))
            lv = np.concatenate([[[s * ex, ey, zr]], c])
            lt = np.array([[0, 1 + i, 1 + (i + 1) % len(a)] for i in range(len(a))])
            lenses.append((lv, lt))
            # temple arm from the outer rim to behind the ear level
            xo = s * (ex + rx)
            wz = float(head.profiles(ey + 3.0)[0])
            arm = np.stack([np.linspace(xo, s * (wz + 2.0), 10), np.full(10, ey + 3.0),
                            np.linspace(zr, -10.0, 10)], -1)
            parts.append(meshes.tube(arm, r * 0.8, sides=5) + (OBJ_GLASSES,))
        zb = float(_surface_z(head, 0.0, ey + 4.0))
        bx = ex - rx
        bridge = np.stack([np.linspace(-bx, bx, 8), ey + 4.0 + 2.5 * np.sin(np.linspace(0, np.pi, 8)),
                           np.full(8, max(zr, zb + 4.0))], -1)
        parts.append(meshes.tube(bridge, r, sides=5) + (OBJ_GLASSES,))
    return parts, lenses


def _paper(cap: dict, lm: np.ndarray, head_verts: np.ndarray):
    """A sheet held in front of the face, camera-aligned up to a small tilt, its edge near the
    nose tip in the image so that it hides about half of the face (the ``side`` half)."""
    u = cap["occluder_params"]["u"]
    side = cap["occluder_params"]["side"]
    tip = lm[30]
    zf = float(head_verts[:, 2].max()) + 8.0 + 30.0 * u[0]
    edge = float(tip[0]) + side * (-8.0 + 16.0 * u[1])
    tilt = rotation(side * (-12.0 + 24.0 * u[2]), -8.0 + 16.0 * u[3], -10.0 + 20.0 * u[4])
    far = side * 260.0
    v, t = meshes.quad_grid([0.0, -200.0, 0.0], [far, 0.0, 0.0], [0.0, 400.0, 0.0], n=8)
    v = v @ tilt.T + np.array([edge, float(tip[1]), zf])
    return v, t, OBJ_PAPER


# ----------------------------------------------------------------------------- the sample
def _background(cap: dict):
    """Random background (sRGB in [0, 1]): a two-colour gradient, low-frequency noise and up to five
    blurred shapes."""
    b = cap["background"]
    n = 32
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / (n - 1)
    a = math.radians(b["angle"])
    t = np.clip(0.5 + (xx - 0.5) * math.cos(a) + (yy - 0.5) * math.sin(a), 0, 1)[..., None]
    img = np.asarray(b["colors"][0], np.float32) * (1 - t) + np.asarray(b["colors"][1], np.float32) * t
    rng = np.random.default_rng(b["noise_seed"])
    img += cv2.resize(rng.uniform(-0.12, 0.12, (6, 6, 3)).astype(np.float32), (n, n), interpolation=cv2.INTER_CUBIC)
    img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_LINEAR)
    # clutter: a few soft-edged rectangles, ellipses and lines (room, furniture, frames)
    k = int(rng.integers(0, 6))
    for _ in range(k):
        col = tuple(float(c) for c in rng.uniform(0.05, 0.95, 3))
        kind = int(rng.integers(0, 3))
        x0, y0 = (int(v) for v in rng.integers(-40, SIZE + 40, 2))
        if kind == 0:
            w, h = (int(v) for v in rng.integers(20, 140, 2))
            cv2.rectangle(img, (x0, y0), (x0 + w, y0 + h), col, -1)
        elif kind == 1:
            ax = tuple(int(v) for v in rng.integers(10, 70, 2))
            cv2.ellipse(img, (x0, y0), ax, float(rng.uniform(0, 180)), 0, 360, col, -1)
        else:
            x1, y1 = (int(v) for v in rng.integers(-40, SIZE + 40, 2))
            cv2.line(img, (x0, y0), (x1, y1), col, int(rng.integers(2, 9)))
    if k:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.8, 3.0)))
    return np.clip(img, 0, 1)


@functools.lru_cache(maxsize=1)
def _noise_tile() -> np.ndarray:
    """A fixed tile of unit Gaussian sensor noise; each sample takes a random crop of it."""
    t = np.random.default_rng(0x9E3779B9).standard_normal((2 * SIZE, 2 * SIZE, 3), np.float32)
    t.flags.writeable = False
    return t


def _noise_crop(noise_seed: int) -> np.ndarray:
    oy, ox = (noise_seed // 7) % SIZE, (noise_seed // 3) % SIZE
    return _noise_tile()[oy:oy + SIZE, ox:ox + SIZE]


def render(seed: int, index: int, options: dict) -> dict:
    """Render sample ``index`` of ``seed`` with checked options (see ``check_options``)."""
    o = options
    cap = sample_capture(seed, index, o)
    ident = identity_params(seed, cap["identity"])
    head = Head(ident, cap["expression_params"])
    R = rotation(cap["yaw"], cap["pitch"], cap["roll"])
    Rn = rotation(0.3 * cap["yaw"], 0.3 * cap["pitch"], 0.3 * cap["roll"])
    pivot = np.array([0.0, -95.0, -20.0])

    hv, hn, ht, hattr = _head_grid(head, o["resolution"])
    nv, nn, nt = _neck(ident)
    lm = landmarks_3d(head, R, n_path=40)

    S = head_scale(ident)            # global proportions of the identity, applied before the pose
    hv = (hv * S - pivot) @ R.T + pivot
    hn = hn / S
    hn = (hn / np.maximum(np.linalg.norm(hn, axis=1, keepdims=True), 1e-12)) @ R.T
    nv = (nv * S - pivot) @ Rn.T + pivot
    nn = nn / S
    nn = (nn / np.linalg.norm(nn, axis=1, keepdims=True)) @ Rn.T
    lm = lm - pivot @ R.T + pivot    # landmarks_3d rotates about the origin; the mesh about the pivot

    verts = [hv, nv]
    norms = [hn, nn]
    tris = [ht, nt + len(hv)]
    obj = [np.full(len(ht), OBJ_HEAD, np.int8), np.full(len(nt), OBJ_NECK, np.int8)]
    off = len(hv) + len(nv)
    for v, t in _ears(head):          # ears: skin, not part of the face region (like the neck)
        v = (v * S - pivot) @ R.T + pivot
        verts.append(v)
        norms.append(meshes.vertex_normals(v, t))
        tris.append(t + off)
        obj.append(np.full(len(t), OBJ_NECK, np.int8))
        off += len(v)
    occ_parts, lenses = _occluder_mesh(cap["occluder"], head, cap) if cap["occluder"] != "none" else ([], [])
    if cap["occluder"] == "paper":
        occ_parts = [_paper(cap, lm, hv)]
    for v, t, oid in occ_parts:
        if oid != OBJ_PAPER:
            v = (v * S - pivot) @ R.T + pivot
        n = meshes.vertex_normals(v, t)
        verts.append(v)
        norms.append(n)
        tris.append(t + off)
        obj.append(np.full(len(t), oid, np.int8))
        off += len(v)
    V = np.concatenate(verts)
    N = np.concatenate(norms)
    T = np.concatenate(tris)
    OBJ = np.concatenate(obj)

    # image placement from identity-only reference points (independent of expression and
    # occluder): the rest height from the brow tops to the chin spans face_size_px pixels and a
    # mid-face point goes to the image centre (+ offset)
    rest = head.rest_landmarks()
    top = float(rest[17:27, 1].max())
    ymid = 0.5 * (top + head.y_bot)
    s = cap["face_size_px"] / ((top - head.y_bot) * S[1])
    c3 = (np.array([0.0, ymid, 0.85 * float(head.profiles(ymid)[1])]) * S - pivot) @ R.T + pivot
    cx, cy = float(c3[0]), float(c3[1])
    ox = (SIZE - 1) / 2.0 + cap["offset_px"][0]
    oy = (SIZE - 1) / 2.0 + cap["offset_px"][1]

    def to_img(P):
        return np.stack([ox + s * (P[:, 0] - cx), oy - s * (P[:, 1] - cy), P[:, 2]], -1)

    Vi = to_img(V)
    zbuf, tri = raster.rasterize(Vi, T, SIZE, SIZE, mode="barycentric")
    covered = tri >= 0
    pix_obj = np.where(covered, OBJ[np.maximum(tri, 0)], -1)

    n_head = len(hv)
    attrs = np.zeros((len(V), 7))
    attrs[:, 0:3] = N
    attrs[:, 1] *= -1.0                        # image y points down
    attrs[:n_head, 3:7] = hattr
    attrs[n_head:, 6] = 1.0
    attrs[n_head:n_head + len(nv), 6] = 0.72   # the neck sits in the shadow of the jaw
    F = raster.interpolate_attributes(Vi, T, tri, attrs)

    u = cap["occluder_params"]["u"]
    obj_alb = np.zeros((5, 3))
    skin = np.asarray(ident["skin"])
    obj_alb[OBJ_NECK] = skin * 0.95
    obj_alb[OBJ_HAND] = skin * np.array([1.02, 0.97, 0.95])
    obj_alb[OBJ_PAPER] = np.full(3, 0.9) if u[5] < 0.6 else 0.3 + 0.6 * np.array(u[3:6])
    obj_alb[OBJ_GLASSES] = [0.04, 0.04, 0.05] if u[5] < 0.5 else [0.35, 0.22, 0.1]
    L = cap["light"]
    az, el = math.radians(L["azimuth"]), math.radians(L["elevation"])
    light = np.array([math.sin(az) * math.cos(el), -math.sin(el), math.cos(az) * math.cos(el),
                      L["ambient"], L["intensity"], *L["tint"], L["specular"]])
    brows = np.concatenate([rest[17:22][np.argsort(rest[17:22, 0])], rest[22:27][np.argsort(rest[22:27, 0])]])
    img = np.empty((SIZE, SIZE, 3), np.float32)
    mask = np.empty((SIZE, SIZE), np.uint8)
    paint.shade_image(pix_obj.astype(np.int32), F, paint.pack_params(ident, head.expr, cap), brows,
                      _skin_texture(seed, cap["identity"]), obj_alb,
                      light, _background(cap), img, mask)
    hp = pix_obj == OBJ_HEAD

    # lenses: a faint reflection where a lens lies in front of the surface; mask "glasses"
    if lenses:
        lv, lt = meshes.merge(lenses)
        lzb, ltri = raster.rasterize(to_img((lv * S - pivot) @ R.T + pivot), lt, SIZE, SIZE, mode="barycentric")
        lens = (ltri >= 0) & (lzb > zbuf)
        img[lens] = img[lens] * 0.9 + 0.06
        mask[lens & (mask != EYES)] = GLASSES

    img = cv2.GaussianBlur(img, (0, 0), 0.55)
    rgb = np.clip(img * 255.0 + _noise_crop(cap["background"]["noise_seed"]) * cap["noise"], 0, 255)
    rgb = (rgb + 0.5).astype(np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)

    # depth: visible face region (+ occluders) in the project's convention
    if o["depth_region"] == "face":
        valid = (hp & (mask != BACKGROUND)) | (pix_obj >= OBJ_HAND)
    else:
        valid = covered
    zb = np.where(valid, zbuf, -np.inf).astype(np.float32)
    mm_per_z = 1.0
    near = float(zb[valid].max()) if valid.any() else 0.0
    depth = raster.zbuffer_to_depth(zb, mm_per_z, near=near)
    lm_img = to_img(lm)
    lmk = np.stack([lm_img[:, 0], lm_img[:, 1], (near - lm_img[:, 2]) * UNITS_PER_MM], -1).astype(np.float32)

    params = {
        "seed": int(seed), "index": int(index), "identity": cap["identity"],
        "yaw": cap["yaw"], "pitch": cap["pitch"], "roll": cap["roll"],
        "expression": cap["expression_params"]["expression"],
        "expression_params": cap["expression_params"],
        "occluder": cap["occluder"],
        "scale_px_per_mm": float(s),
        "mm_per_depth_unit": float(1.0 / UNITS_PER_MM),
        "capture": {k: v for k, v in cap.items() if k not in ("expression_params",)},
        "identity_params": ident,
    }
    return {"depth": depth, "rgb": rgb, "gray": gray, "mask": mask, "landmarks": lmk,
            "identity": cap["identity"], "params": params}
