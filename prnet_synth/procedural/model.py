"""The procedural head: identity parameters, the deformed parametric surface, the 68 landmarks.

Coordinates of the head frame, millimetres: x to the right of the image (the subject's left),
y up, z towards the camera (larger = nearer, as in the rasteriser). Eyes at y = 0.

The head is a stack of horizontal super-ellipse cross-sections: at height ``Y`` the section point
at angle ``theta`` (0 = straight ahead) is ``(W(Y) S(sin theta), Y, D(Y) S(cos theta))`` with
``S(s) = sign(s) |s|^(2/p(Y))`` and ``D = Df`` in front, ``Db`` behind. The profiles ``W, Df, Db, p``
are natural cubic splines through identity-dependent control points, closed at the top of
the head and under the chin by elliptic caps. Facial features are added in front as smooth bumps
and dents of z over the *rest plane* ``(X, Y) = (W(Y) S(sin theta), Y)``; expressions then move the
surface (smile: mouth corners up and out, cheeks raised; open mouth: everything below the lip line
moves down, the lips part and the strip between them becomes the mouth cavity). All painting
(albedo, mask classes) and all landmarks are defined in rest-plane coordinates, so rgb, mask,
depth and landmarks stay consistent through every deformation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

EXPRESSIONS = ("neutral", "smile", "open_mouth")


# ----------------------------------------------------------------------------- identity
def sample_identity(rng: np.random.Generator) -> dict:
    """Identity parameters (mm unless stated): head and face proportions, features, colours."""
    g = lambda m, s, lo=None, hi=None: float(np.clip(rng.normal(m, s), m - 2.5 * s if lo is None else lo,
                                                     m + 2.5 * s if hi is None else hi))
    p = {
        "head_w": g(73, 3.5),          # half width at the temples / forehead
        "head_top": g(118, 5),         # top of the skull above the eye line
        "head_back": g(112, 6),        # depth of the back of the head behind the centre
        "forehead_z": g(84, 3),        # front depth of the forehead
        "forehead_slope": g(0.35, 0.1, 0.1, 0.6),
        "cheek_w": g(71, 3.5),         # half width at the cheekbones
        "jaw_w": g(56, 4),             # half width at the jaw angle
        "chin_w": g(34, 3),            # half width 12 mm above the chin bottom
        "chin_y": g(-109, 5),          # chin bottom (menton)
        "chin_z": g(2, 3),             # chin projection relative to the mouth plane
        "mouth_y": g(-71, 3.5),        # lip line
        "mouth_w": g(25, 2),           # half width of the mouth
        "lip_up": g(5.5, 1.2, 3, 8),   # upper lip height (vermilion)
        "lip_lo": g(9.0, 1.5, 5.5, 12.5),  # lower lip height
        "lip_z": g(6, 1.3, 3, 9),      # lip protrusion
        "eye_x": g(32, 1.6),           # eye centre offset from the midline
        "eye_w": g(14.5, 1.0),         # half length of the eye fissure
        "eye_h": g(4.8, 0.6),          # half opening of the eye
        "socket": g(9, 1.5, 5, 13),    # eye-socket depth
        "brow_ridge": g(4.0, 1.2, 1.5, 7),
        "brow_y": g(16, 2),            # brow height above the eye line
        "brow_t": g(5.5, 0.8, 3.8, 7.5), # brow thickness
        "nose_len": g(46, 3.5),        # nasion to tip (vertical)
        "nose_proj": g(24, 2.5),       # tip projection
        "nose_bridge": g(5.5, 0.8),    # bridge half width (Gaussian sigma)
        "nose_tip_w": g(8.5, 1.0),     # tip sigma
        "ala_x": g(15.5, 1.3),         # alae half width
        "cheekbone": g(5.5, 1.8, 1, 10),
        "skin": [float(v) for v in _skin_tone(rng)],
        "brow_rgb": [float(v) for v in rng.uniform(0.06, 0.28) * np.array([1.0, 0.82, 0.68])],  # capped below
        "iris_rgb": [float(v) for v in _iris(rng)],
        "lip_shift": float(rng.uniform(0.55, 0.8)),   # lip albedo = skin * (1, shift, shift)-ish
    }
    # brows are darker than the skin: at most 50 % of its albedo
    p["brow_rgb"] = [float(min(b, 0.5 * sk)) for b, sk in zip(p["brow_rgb"], p["skin"])]
    p["ear_scale"] = g(1.0, 0.08)                     # ear size factor
    p["ear_angle"] = float(rng.uniform(12.0, 32.0))    # how far the ears stand out (degrees)
    # hair (colour of the scalp; no hair geometry) and hairline height
    p["hair"] = {"color": [float(v) for v in rng.uniform(0.03, 0.35) * np.array([1.0, 0.8, 0.62])],
                 "line": float(rng.uniform(52, 70)), "bald": bool(rng.random() < 0.15)}
    # global proportions: the whole head (and what it wears) is scaled by these factors
    p["scale_x"], p["scale_y"], p["scale_z"] = g(1.0, 0.04), g(1.0, 0.045), g(1.0, 0.04)
    # keep the vertical order nose base < upper lip < lip line < chin (philtrum >= 9 mm,
    # lip line to chin >= 32 mm)
    p["mouth_y"] = min(p["mouth_y"], -(p["nose_len"] + 14.5 + p["lip_up"]))
    p["chin_y"] = min(p["chin_y"], p["mouth_y"] - 32.0)
    return p


def _skin_tone(rng):
    # a brightness from dark to light, warm hue; linear albedo in [0, 1]
    t = rng.uniform(0.0, 1.0)
    light = np.array([0.86, 0.68, 0.56])
    dark = np.array([0.34, 0.22, 0.15])
    c = dark + (light - dark) * t
    return np.clip(c * rng.uniform(0.94, 1.06, 3), 0.05, 0.95)


def _iris(rng):
    k = rng.integers(0, 3)
    base = [np.array([0.18, 0.10, 0.05]), np.array([0.20, 0.32, 0.45]), np.array([0.22, 0.30, 0.16])][k]
    return np.clip(base * rng.uniform(0.7, 1.3), 0.02, 0.8)


# ----------------------------------------------------------------------------- expression
def sample_expression(rng: np.random.Generator, name: str) -> dict:
    if name not in EXPRESSIONS:
        raise ValueError(f"expression must be one of {EXPRESSIONS}, got {name!r}")
    smile, opening = float(rng.uniform(0.6, 1.0)), float(rng.uniform(9.0, 17.0))
    return {"expression": name, "smile": smile if name == "smile" else 0.0,
            "open": opening if name == "open_mouth" else 0.0}


# ----------------------------------------------------------------------------- surface
def _gauss(dx, dy, sx, sy):
    return np.exp(-0.5 * ((dx / sx) ** 2 + (dy / sy) ** 2))


def _sig(t):
    return 0.5 * (1.0 + np.tanh(t))


@dataclass
class Head:
    """An identity with an expression: evaluates the surface and the landmarks."""

    ident: dict
    expr: dict

    def __post_init__(self):
        p = self.ident
        top, chin = p["head_top"], p["chin_y"]
        my = p["mouth_y"]
        # profiles over Y (before the caps); control points are strictly increasing in Y
        lower = my - chin                            # lip line to chin, >= 32 mm
        ys = np.array([chin - 2, chin + 12, my - 0.38 * lower, my, -30.0, -12.0, 12.0, 40.0, top + 2])
        w = np.array([p["chin_w"] * 0.9, p["chin_w"], p["jaw_w"] * 0.9, p["jaw_w"],
                      p["cheek_w"] - 2.0, p["cheek_w"], p["head_w"] - 2, p["head_w"], p["head_w"] - 4])
        fz = p["forehead_z"]
        df = np.array([fz - 8 + p["chin_z"], fz - 6 + p["chin_z"], fz - 6, fz - 5, fz - 5, fz - 4, fz - 1,
                       fz - 22 * p["forehead_slope"], fz - 35 * p["forehead_slope"]])
        db = np.array([30.0, 40.0, 52.0, 62.0, 80.0, p["head_back"] - 8, p["head_back"], p["head_back"], 95.0])
        pe = np.array([1.6, 1.7, 1.9, 2.1, 2.3, 2.5, 2.6, 2.6, 2.4])
        # C2 cubic spline (a PCHIP curve is only C1: its curvature jumps showed as creases in
        # the shading at the control heights)
        self._prof = CubicSpline(ys, np.stack([w, df, db, pe], -1), axis=0, bc_type="natural", extrapolate=True)
        self.y_top = top
        self.y_bot = chin
        self.cap_top = 38.0                      # elliptic cap above this height
        self.cap_bot = chin + 20.0               # and below this one

    # --- profiles
    def profiles(self, Y):
        Y = np.asarray(Y, dtype=np.float64)
        v = self._prof(Y)
        W, Df, Db, P = v[..., 0], v[..., 1], v[..., 2], v[..., 3]
        t = np.clip((Y - self.cap_top) / (self.y_top - self.cap_top), 0.0, 1.0)
        b = np.clip((self.cap_bot - Y) / (self.cap_bot - self.y_bot), 0.0, 1.0)
        cap = np.sqrt(np.clip(1.0 - t * t, 0.0, 1.0)) * np.sqrt(np.clip(1.0 - b * b, 0.0, 1.0))
        # the chin keeps its forward position longer than the width (rounded chin, underside)
        capf = np.sqrt(np.clip(1.0 - t * t, 0.0, 1.0)) * np.clip(1.0 - b ** 3, 0.0, 1.0) ** 0.5
        return W * cap, Df * capf, Db * cap, P

    def theta_from_x(self, X, Y):
        W, _, _, P = self.profiles(Y)
        s = np.clip(np.asarray(X, np.float64) / np.maximum(W, 1e-6), -1.0, 1.0)
        return np.arcsin(np.sign(s) * np.abs(s) ** (P / 2.0))

    # --- features (rest plane), z offsets in mm
    def features(self, X, Y):
        p, e = self.ident, self.expr
        ex, ey = p["eye_x"], 0.0
        ax = np.abs(X)
        dz = np.zeros_like(X)
        # eye sockets and eyeballs
        dz -= p["socket"] * _gauss(ax - ex, Y - ey + 1.0, 15.0, 10.5)
        dz += 3.2 * _gauss(ax - ex, Y - ey, 9.0, 5.5)
        # brow ridge
        dz += p["brow_ridge"] * _gauss(ax - 24.0, Y - (ey + p["brow_y"] + 1.0), 22.0, 6.5)
        # temples
        dz -= 3.0 * _gauss(ax - 62.0, Y - 22.0, 10.0, 16.0)
        # cheekbones and the hollow under them
        cheek_up = 2.5 * e["smile"]
        dz += (p["cheekbone"] + 2.0 * e["smile"]) * _gauss(ax - 44.0, Y - (-24.0 + cheek_up), 13.0, 11.0)
        dz -= 2.5 * _gauss(ax - 50.0, Y - (p["mouth_y"] + 5.0), 10.0, 14.0)
        # nose: ridge from the nasion to the tip, tip bulb, alae, columella
        yn = ey + 7.0
        yt = ey - p["nose_len"]
        L = yn - yt
        t = np.clip((yn - Y) / L, 0.0, 1.0)
        below = Y < yt
        h = np.where(below, p["nose_proj"] * np.exp(-((yt - Y) / 6.5) ** 2), 2.5 + (p["nose_proj"] - 2.5) * t ** 1.25)
        h = np.where(Y > yn, 2.5 * np.exp(-((Y - yn) / 6.0) ** 2), h)
        sig = np.where(below, p["nose_tip_w"] * 0.8, p["nose_bridge"] + (p["nose_tip_w"] - p["nose_bridge"]) * t ** 2)
        dz += h * np.exp(-0.5 * (X / sig) ** 2)
        dz += 2.5 * _gauss(X, Y - (yt + 2.0), 6.5, 5.0)
        dz += 6.5 * _gauss(ax - p["ala_x"] + 4.0, Y - (yt - 3.0), 4.5, 4.5)
        # lips, mouth corners, philtrum, chin
        my, mw = p["mouth_y"], p["mouth_w"]
        dz += p["lip_z"] * _gauss(X, Y - (my + p["lip_up"] * 0.55), mw * 0.62, p["lip_up"] * 0.7)
        dz += p["lip_z"] * 1.05 * _gauss(X, Y - (my - p["lip_lo"] * 0.5), mw * 0.58, p["lip_lo"] * 0.6)
        dz -= 1.8 * _gauss(X, Y - my, mw * 0.8, 1.0)
        dz -= 2.5 * _gauss(ax - mw, Y - my, 3.0, 3.0)
        dz -= 2.0 * _gauss(X, Y - (my - p["lip_lo"] - 5.0), 14.0, 4.0)
        dz += 3.5 * _gauss(X, Y - (p["chin_y"] + 13.0), 13.0, 9.0)
        return dz

    # --- expression motion (rest plane -> displacement)
    def motion(self, X, Y):
        p, e = self.ident, self.expr
        my, mw = p["mouth_y"], p["mouth_w"]
        dx = np.zeros_like(X)
        dy = np.zeros_like(X)
        dz = np.zeros_like(X)
        if e["smile"] > 0:
            for c in (-1.0, 1.0):
                wc = _gauss(X - c * mw, Y - my, 10.0, 8.0)
                dx += c * 3.5 * e["smile"] * wc
                dy += 4.5 * e["smile"] * wc
            dy += 2.0 * e["smile"] * _gauss(np.abs(X) - 40.0, Y - (my + 25.0), 14.0, 12.0)
        if e["open"] > 0:
            o = e["open"]
            inside = _sig((mw * 0.92 - np.abs(X)) / 1.5)
            cut = _sig((my - Y) / 0.45)                     # sharp: the lips part
            soft = _sig((my - Y) / 9.0)                     # the cheeks stretch smoothly
            jaw = np.clip(1.0 - 0.55 * (np.abs(X) / 70.0) ** 2, 0.3, 1.0)
            move = o * jaw * (inside * cut + (1.0 - inside) * soft)
            dy -= move
            dz -= 0.25 * move
            cav = inside * np.exp(-((Y - my) / 0.6) ** 2)
            dz -= 14.0 * cav
        return dx, dy, dz

    def points(self, theta, Y, with_features=False):
        """Surface points (head frame, mm) at parameters ``theta`` (rad) and rest height ``Y``."""
        theta = np.asarray(theta, np.float64)
        Y = np.asarray(Y, np.float64)
        W, Df, Db, P = self.profiles(Y)
        st, ct = np.sin(theta), np.cos(theta)
        e = 2.0 / P
        Sx = np.sign(st) * np.abs(st) ** e
        Sz = np.sign(ct) * np.abs(ct) ** e
        X = W * Sx
        z = np.where(ct >= 0, Df, Db) * Sz
        front = np.clip(ct, 0.0, 1.0) ** 1.5
        X, Y, z, front = np.broadcast_arrays(X, Y, z, front)
        sel = front > 0
        feat = np.zeros_like(z)
        dx, dy, dz = np.zeros_like(z), np.zeros_like(z), np.zeros_like(z)
        Xs, Ys = X[sel], Y[sel]
        feat[sel] = front[sel] * self.features(Xs, Ys)
        mx, my_, mz = self.motion(Xs, Ys)
        dx[sel], dy[sel], dz[sel] = mx, my_, mz
        P = np.stack([X + front * dx, Y + front * dy, z + feat + front * dz], axis=-1)
        if with_features:
            return P, X, feat
        return P, X

    def normals(self, theta, Y, h=1e-3):
        """Outward unit normals by finite differences in (theta, Y)."""
        p0, _ = self.points(theta, Y)
        pt, _ = self.points(np.asarray(theta) + h, Y)
        py, _ = self.points(theta, np.asarray(Y) + 50 * h)
        n = np.cross(pt - p0, py - p0)
        return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)

    # --- landmarks in the rest plane (all but the jaw contour)
    def rest_landmarks(self) -> np.ndarray:
        """(68, 2) rest-plane (X, Y) of the landmarks; the jaw rows (0-16) hold the outline targets."""
        if getattr(self, "_rest", None) is None:
            self._rest = self._rest_landmarks()
        return self._rest.copy()

    def _rest_landmarks(self) -> np.ndarray:
        p, e = self.ident, self.expr
        L = np.zeros((68, 2))
        # jaw targets on the frontal outline (x = +-W(Y)), equal arc length from Y0 to the chin
        y0 = 6.0
        yy = np.linspace(y0, self.y_bot, 400)
        W = self.profiles(yy)[0]
        seg = np.hypot(np.diff(W), np.diff(yy))
        s = np.concatenate([[0], np.cumsum(seg)])
        targets = np.interp(np.linspace(0, s[-1], 9), s, yy)
        for k in range(9):
            yk = targets[k]
            wk = float(self.profiles(yk)[0])
            L[k] = (-wk, yk)
            L[16 - k] = (wk, yk)
        L[8] = (0.0, self.y_bot)
        # brows: 17-21 (image left = subject's right), outer -> inner; upper edge of the brow
        by = p["brow_y"]
        for i, (fx, fy) in enumerate([(1.68, -3.5), (1.36, 1.4), (1.02, 2.4), (0.70, 0.8), (0.42, -2.6)]):
            L[17 + i] = (-fx * p["eye_x"], by + fy + p["brow_t"] * 0.5)
            L[26 - i] = (fx * p["eye_x"], by + fy + p["brow_t"] * 0.5)
        # nose bridge 27-30 and base 31-35
        yt = -p["nose_len"]
        for i, f in enumerate([0.0, 1 / 3, 2 / 3, 1.0]):
            L[27 + i] = (0.0, -1.5 + (yt + 3.0 + 1.5) * f)
        base = yt - 5.5
        for i, (fx, dy) in enumerate([(-1.0, 1.5), (-0.5, 0.2), (0.0, -0.6), (0.5, 0.2), (1.0, 1.5)]):
            L[31 + i] = (fx * (p["ala_x"] - 4.5), base + dy)
        # eyes: 36-41 right eye (image left): outer, up, up, inner, low, low; 42-47 left eye
        ex, ew = p["eye_x"], p["eye_w"]
        for side, start in ((-1.0, 36), (1.0, 42)):
            c = side * ex
            us = [1.0, 0.36, -0.36, -1.0, -0.36, 0.36]   # along the eye, +1 = outer corner
            lids = [self.eye_upper, self.eye_upper, self.eye_upper, self.eye_upper, self.eye_lower, self.eye_lower]
            if side > 0:  # dlib: 42 inner corner, 43/44 upper, 45 outer, 46/47 lower
                us = [-1.0, -0.36, 0.36, 1.0, 0.36, -0.36]
            for i, (u, lid) in enumerate(zip(us, lids if side < 0 else
                                             [self.eye_upper] * 4 + [self.eye_lower] * 2)):
                L[start + i] = (c + side * u * ew, float(lid(u)))
        # mouth
        my, mw = p["mouth_y"], p["mouth_w"]
        up, lo = p["lip_up"], p["lip_lo"]
        xs = np.array([-1.0, -0.62, -0.22, 0.0, 0.22, 0.62, 1.0])
        for i, f in enumerate(xs):
            L[48 + i] = (f * mw, my + self.upper_lip(f) * up)
        for i, f in enumerate([0.62, 0.22, 0.0, -0.22, -0.62]):
            L[55 + i] = (f * mw, my - self.lower_lip(f) * lo)
        gap = 0.5 if e["open"] > 0 else 0.0
        L[60] = (-mw * 0.9, my)
        L[61] = (-0.35 * mw, my + gap)
        L[62] = (0.0, my + gap)
        L[63] = (0.35 * mw, my + gap)
        L[64] = (mw * 0.9, my)
        L[65] = (0.35 * mw, my - gap)
        L[66] = (0.0, my - gap)
        L[67] = (-0.35 * mw, my - gap)
        return L

    def eye_upper(self, u):
        """Upper lid height (mm above the eye line) at u = position along the eye (+1 = outer corner)."""
        u = np.asarray(u, np.float64)
        return self.ident["eye_h"] * np.clip(1.0 - u * u, 0.0, 1.0) ** 0.65 + 0.35 * u

    def eye_lower(self, u):
        u = np.asarray(u, np.float64)
        return -0.8 * self.ident["eye_h"] * np.clip(1.0 - u * u, 0.0, 1.0) ** 0.8 + 0.35 * u

    @staticmethod
    def upper_lip(f):
        """Upper-lip height profile over the mouth width (f = x / half width), with the Cupid's bow."""
        f = np.asarray(f, np.float64)
        a = np.clip(1.0 - f * f, 0.0, 1.0) ** 0.6
        return a * (1.0 - 0.18 * np.exp(-(f / 0.12) ** 2)) + 0.05 * np.exp(-((np.abs(f) - 0.25) / 0.12) ** 2)

    @staticmethod
    def lower_lip(f):
        f = np.asarray(f, np.float64)
        return np.clip(1.0 - f * f, 0.0, 1.0) ** 0.55


def rotation(yaw, pitch, roll):
    """Rotation (degrees) applied to head-frame points: roll about z after pitch about x after yaw
    about y. Positive yaw turns the face to the image right, positive pitch tilts it down, positive
    roll turns it counter-clockwise in the image."""
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def head_scale(ident: dict) -> np.ndarray:
    """The identity's global scale factors (x, y, z); 1 for parameter sets without them."""
    return np.array([ident.get("scale_x", 1.0), ident.get("scale_y", 1.0), ident.get("scale_z", 1.0)])


def landmarks_3d(head: Head, R: np.ndarray, n_path: int = 48) -> np.ndarray:
    """(68, 3) landmark points in the scaled (``head_scale``) and rotated head frame.

    Inner points are the surface points at their rest-plane positions. Jaw points 0-16 follow
    dlib's definition of the visible face outline: along a path in the rest plane from the cheek
    towards the frontal outline target, the first point whose rotated normal turns away from the
    camera (the occluding contour), or the outline target when the path stays visible.
    """
    S = head_scale(head.ident)
    M = R @ np.diag(S)              # points: scale, then rotate
    Nm = R @ np.diag(1.0 / S)       # normals: inverse transpose of the scaling, then rotate
    rest = head.rest_landmarks()
    out = np.zeros((68, 3))
    th = head.theta_from_x(rest[17:, 0], rest[17:, 1])
    pts, _ = head.points(th, rest[17:, 1])
    out[17:] = pts @ M.T
    my = head.ident["mouth_y"]
    t = np.linspace(0.0, 1.0, n_path)[None, :]
    xk, yk = rest[:17, 0:1], rest[:17, 1:2]
    upper = yk > my - 12
    xs = np.where(upper, 0.45 * xk, 0.3 * xk)
    ys = np.where(upper, yk, 0.5 * (yk + my - 12))
    X = xs + (xk - xs) * t
    Y = ys + (yk - ys) * t
    Y[8] = np.linspace(my - 12, head.y_bot - 1.0, n_path)
    X[8] = 0.0
    thp = head.theta_from_x(X, Y)
    n0 = head.normals(thp, Y)
    n = n0 @ Nm.T
    P = head.points(thp, Y)[0] @ M.T
    nz = n[..., 2]
    # the face outline ends where the surface turns under the jaw (normal more than ~45 degrees
    # downwards): a face seen from below shows the underside of the jaw, but its contour points
    # stay on the jaw line and the chin (menton), as in dlib's annotations
    under = n0[..., 1] < -0.7
    for k in range(17):
        stop = np.nonzero(under[k])[0]
        last = max(int(stop[0]) - 1, 0) if stop.size else n_path - 1
        away = np.nonzero(nz[k, :last + 1] <= 0.0)[0]
        if away.size:
            j = int(away[0])
            if j == 0:
                out[k] = P[k, 0]
            else:  # linear interpolation of the zero crossing of n_z
                a, b = nz[k, j - 1], nz[k, j]
                f = a / (a - b) if a != b else 0.0
                out[k] = P[k, j - 1] + f * (P[k, j] - P[k, j - 1])
        else:
            out[k] = P[k, last]
    return out
