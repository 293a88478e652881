"""Per-pixel painting and shading, compiled with numba.

Head pixels are painted from their rest-plane coordinates (X, Y) (so the paint follows every
expression and pose): skin tone with redder cheeks, hair-coloured scalp, nostrils, lips with the
lip seam (and the mouth cavity and upper teeth of an open mouth), brows (a band under the upper
edge through the brow landmarks), eyes (sclera between the lid curves, iris, pupil, lash line,
lower-lid line, lid shadow). Every pixel is then shaded: ambient (times ambient occlusion) +
Lambert diffuse + a little Blinn-Phong specular, light tint, gamma 2.2.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

BACKGROUND, SKIN, BROWS, EYES, GLASSES, NOSE, MOUTH = range(7)
OBJ_HEAD, OBJ_NECK, OBJ_HAND, OBJ_PAPER, OBJ_GLASSES = range(5)

# indices into the parameter vector
(P_SKIN_R, P_SKIN_G, P_SKIN_B, P_HAIR_R, P_HAIR_G, P_HAIR_B, P_HAIRLINE, P_BALD,
 P_NOSE_LEN, P_NOSE_BRIDGE, P_ALA_X, P_MOUTH_Y, P_MOUTH_W, P_LIP_UP, P_LIP_LO, P_LIP_SHIFT,
 P_OPEN, P_BROW_T, P_BROW_R, P_BROW_G, P_BROW_B, P_EYE_X, P_EYE_W, P_EYE_H, P_GAZE_X, P_GAZE_Y,
 P_IRIS_R, P_IRIS_G, P_IRIS_B) = range(29)
N_PARAMS = 29


def pack_params(ident: dict, expr: dict, cap: dict) -> np.ndarray:
    p = np.zeros(N_PARAMS)
    p[P_SKIN_R:P_SKIN_B + 1] = ident["skin"]
    p[P_HAIR_R:P_HAIR_B + 1] = ident["hair"]["color"]
    p[P_HAIRLINE] = ident["hair"]["line"]
    p[P_BALD] = 1.0 if ident["hair"]["bald"] else 0.0
    p[P_NOSE_LEN] = ident["nose_len"]
    p[P_NOSE_BRIDGE] = ident["nose_bridge"]
    p[P_ALA_X] = ident["ala_x"]
    p[P_MOUTH_Y] = ident["mouth_y"]
    p[P_MOUTH_W] = ident["mouth_w"]
    p[P_LIP_UP] = ident["lip_up"]
    p[P_LIP_LO] = ident["lip_lo"]
    p[P_LIP_SHIFT] = ident["lip_shift"]
    p[P_OPEN] = expr["open"]
    p[P_BROW_T] = ident["brow_t"]
    p[P_BROW_R:P_BROW_B + 1] = ident["brow_rgb"]
    p[P_EYE_X] = ident["eye_x"]
    p[P_EYE_W] = ident["eye_w"]
    p[P_EYE_H] = ident["eye_h"]
    p[P_GAZE_X], p[P_GAZE_Y] = cap["gaze"]
    p[P_IRIS_R:P_IRIS_B + 1] = ident["iris_rgb"]
    return p


@njit(cache=True, inline="always")
def _clip01(t):
    return min(max(t, 0.0), 1.0)


@njit(cache=True)
def upper_lip(f):
    a = max(1.0 - f * f, 0.0) ** 0.6
    return a * (1.0 - 0.18 * math.exp(-(f / 0.12) ** 2)) + 0.05 * math.exp(-((abs(f) - 0.25) / 0.12) ** 2)


@njit(cache=True)
def lower_lip(f):
    return max(1.0 - f * f, 0.0) ** 0.55


@njit(cache=True)
def eye_upper(u, eh):
    return eh * max(1.0 - u * u, 0.0) ** 0.65 + 0.35 * u


@njit(cache=True)
def eye_lower(u, eh):
    return -0.8 * eh * max(1.0 - u * u, 0.0) ** 0.8 + 0.35 * u


@njit(cache=True)
def _interp(x, xs, ys):
    n = xs.shape[0]
    if x <= xs[0]:
        return ys[0]
    if x >= xs[n - 1]:
        return ys[n - 1]
    for i in range(n - 1):
        if x <= xs[i + 1]:
            t = (x - xs[i]) / (xs[i + 1] - xs[i])
            return ys[i] + t * (ys[i + 1] - ys[i])
    return ys[n - 1]


@njit(cache=True)
def _texture(X, Y, tex):
    """Bilinear lookup of the identity's skin-texture grid (covers X in [-96, 96], Y in [-144, 144])."""
    n = tex.shape[0]
    u = min(max((X + 96.0) / 192.0 * (n - 1), 0.0), n - 1.001)
    v = min(max((Y + 144.0) / 288.0 * (n - 1), 0.0), n - 1.001)
    i, j = int(v), int(u)
    fv, fu = v - i, u - j
    return ((tex[i, j] * (1 - fu) + tex[i, j + 1] * fu) * (1 - fv)
            + (tex[i + 1, j] * (1 - fu) + tex[i + 1, j + 1] * fu) * fv)


@njit(cache=True)
def paint_head_pixel(X, Y, front, p, brows, tex, out):
    """Albedo (written to out[0:3]) and mask class (returned) of a head pixel."""
    t = _texture(X, Y, tex)
    r, g, b = p[P_SKIN_R] * t, p[P_SKIN_G] * t, p[P_SKIN_B] * t
    ax = abs(X)
    hairline = p[P_HAIRLINE] + 6.0 * math.cos(X / 40.0) - 6.0
    cls = BACKGROUND
    face = front > 0.08 and Y < hairline
    if face:
        cls = SKIN
    # cheeks
    red = math.exp(-0.5 * (((ax - 40.0) / 14.0) ** 2 + ((Y + 35.0) / 14.0) ** 2))
    g *= 1.0 - 0.1 * red
    b *= 1.0 - 0.08 * red
    if p[P_BALD] < 0.5:
        hm = _clip01((Y - hairline) / 2.0)
        r = r * (1 - hm) + p[P_HAIR_R] * hm
        g = g * (1 - hm) + p[P_HAIR_G] * hm
        b = b * (1 - hm) + p[P_HAIR_B] * hm
    # nose region and nostrils
    yt = -p[P_NOSE_LEN]
    tn = _clip01((4.0 - Y) / (4.0 - (yt - 3.0)))
    hw = p[P_NOSE_BRIDGE] * 1.5 + (p[P_ALA_X] + 1.5 - p[P_NOSE_BRIDGE] * 1.5) * tn ** 1.6
    if face and Y < 4.0 and Y > yt - 10.0 and ax < hw:
        cls = NOSE
    if Y < yt - 4.0 and Y > yt - 11.0:
        for s in (-1.0, 1.0):
            d = ((X - s * (p[P_ALA_X] - 8.5)) / 2.9) ** 2 + ((Y - (yt - 7.6)) / 1.6) ** 2
            k = 0.7 * _clip01((1.0 - d) / 0.5)
            r *= 1 - k
            g *= 1 - k
            b *= 1 - k
    # mouth
    my, mw = p[P_MOUTH_Y], p[P_MOUTH_W]
    if ax < mw + 3.0 and abs(Y - my) < 15.0:
        f = X / mw
        yu = my + p[P_LIP_UP] * upper_lip(f)
        yl = my - p[P_LIP_LO] * lower_lip(f)
        if ax < mw:
            lk = _clip01(min(min(yu - Y, Y - yl), mw - ax) / 0.8)
            sh = p[P_LIP_SHIFT]
            r = r * (1 - lk) + p[P_SKIN_R] * 0.92 * 0.85 * lk
            g = g * (1 - lk) + p[P_SKIN_G] * sh * 0.85 * lk
            b = b * (1 - lk) + p[P_SKIN_B] * sh * 0.95 * 0.85 * lk
            if face and Y <= yu and Y >= yl:
                cls = MOUTH
        seam = 0.7 * math.exp(-((Y - my) / 0.45) ** 2) * _clip01((mw - ax) / 2.0)
        r *= 1 - seam
        g *= 1 - seam
        b *= 1 - seam
        if p[P_OPEN] > 0 and abs(Y - my) < 0.75 and ax < mw * 0.95:
            r, g, b = 0.10, 0.025, 0.03
            if Y > my + 0.45 and ax < mw * 0.6:
                r, g, b = 0.75, 0.72, 0.65
            if face:
                cls = MOUTH
    # brows: rows 0..4 (x sorted) right brow, 5..9 left brow; columns x, y(top edge)
    bt = p[P_BROW_T]
    for side in range(2):
        x0 = brows[side * 5, 0]
        x1 = brows[side * 5 + 4, 0]
        if X > x0 - 1.0 and X < x1 + 1.0 and Y < 40.0 and Y > 0.0:
            top = _interp(X, brows[side * 5:side * 5 + 5, 0], brows[side * 5:side * 5 + 5, 1])
            inner_x = x1 if side == 0 else x0
            thick = bt * (1.0 - 0.45 * _clip01(abs(X - inner_x) / (x1 - x0)))
            k = _clip01((top - Y) / 0.7) * _clip01((Y - (top - thick)) / 0.9)
            k *= _clip01(min(X - x0 + 1.0, x1 + 1.0 - X) / 3.0) * 0.88
            if k > 0.44 and face:
                cls = BROWS
            r = r * (1 - k) + p[P_BROW_R] * k
            g = g * (1 - k) + p[P_BROW_G] * k
            b = b * (1 - k) + p[P_BROW_B] * k
    # eyes
    ex, ew, eh = p[P_EYE_X], p[P_EYE_W], p[P_EYE_H]
    if abs(Y) < 12.0:
        for s in (-1.0, 1.0):
            uu = s * (X - s * ex) / ew
            if abs(uu) >= 1.3:
                continue
            uc = min(max(uu, -1.0), 1.0)
            up = eye_upper(uc, eh)
            lo = eye_lower(uc, eh)
            if abs(uu) < 1.0 and Y < up and Y > lo:
                if face:
                    cls = EYES
                ir = math.hypot(X - (s * ex + p[P_GAZE_X]), Y - (0.25 + p[P_GAZE_Y]))
                if ir < 1.9:
                    r, g, b = 0.02, 0.02, 0.02
                elif ir < 5.6:
                    r, g, b = p[P_IRIS_R], p[P_IRIS_G], p[P_IRIS_B]
                else:
                    r, g, b = 0.72, 0.68, 0.64
            upper_edge = up + 1.0 + (0.5 if uu > 0 else 0.0)
            if abs(uu) < 1.08 and Y > up - 0.9 and Y < upper_edge:
                r *= 0.12
                g *= 0.12
                b *= 0.12
            elif abs(uu) < 1.0 and Y < lo + 0.2 and Y > lo - 0.6:
                r *= 0.55
                g *= 0.55
                b *= 0.55
            elif abs(uu) < 1.1 and Y >= upper_edge and Y < up + 4.5:
                r *= 0.82
                g *= 0.82
                b *= 0.82
    out[0] = r
    out[1] = g
    out[2] = b
    return cls


@njit(cache=True)
def shade_image(pix_obj, F, p, brows, tex, obj_albedo, light, bg, rgb_out, mask_out):
    """Paint and shade every pixel. F: HxWx7 (normal xyz in the image frame, X, Y, front, ao).
    obj_albedo: (5, 3) albedo of the non-head objects. light: dir xyz, ambient, intensity,
    tint rgb, specular. Writes linear->gamma rgb in [0, 1] and the mask classes."""
    h, w = pix_obj.shape
    lx, ly, lz = light[0], light[1], light[2]
    amb, inten, ks = light[3], light[4], light[8]
    hx, hy, hz = lx, ly, lz + 1.0
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    hx /= hn
    hy /= hn
    hz /= hn
    alb = np.zeros(3)
    gamma = np.empty(4096)
    for k in range(4096):
        gamma[k] = (k / 4095.0) ** (1.0 / 2.2)
    for i in range(h):
        for j in range(w):
            o = pix_obj[i, j]
            if o < 0:
                for c in range(3):
                    rgb_out[i, j, c] = bg[i, j, c]
                mask_out[i, j] = BACKGROUND
                continue
            cls = BACKGROUND
            if o == OBJ_HEAD:
                cls = paint_head_pixel(F[i, j, 3], F[i, j, 4], F[i, j, 5], p, brows, tex, alb)
            else:
                for c in range(3):
                    alb[c] = obj_albedo[o, c]
                if o == OBJ_GLASSES:
                    cls = GLASSES
            mask_out[i, j] = cls
            nx, ny, nz = F[i, j, 0], F[i, j, 1], F[i, j, 2]
            nl = math.sqrt(nx * nx + ny * ny + nz * nz)
            if nl > 1e-9:
                nx /= nl
                ny /= nl
                nz /= nl
            nz = abs(nz)
            ndl = max(nx * lx + ny * ly + nz * lz, 0.0)
            ndh = max(nx * hx + ny * hy + nz * hz, 0.0)
            ao = F[i, j, 6]
            shade = (amb + (1.0 - amb) * ndl) * ao * inten
            n2 = ndh * ndh
            n4 = n2 * n2
            n8 = n4 * n4
            spec = ks * n8 * n8 * n8   # ndh ** 24
            for c in range(3):
                v = alb[c] * shade * light[5 + c] + spec
                rgb_out[i, j, c] = gamma[int(min(max(v, 0.0), 1.0) * 4095.0 + 0.5)]
