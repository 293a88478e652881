"""A tiny stand-in with the contract of ``prnet_synth.procedural.generate`` for the tests of the cGAN
reproductions (fast, no rendering): each identity is an ellipsoidal "head" with its own proportions
and albedo; pose shifts and squeezes it; "smile" / "open_mouth" draw a mouth; occluders paint a
block. Not a face model: only the tests use it, to exercise the pipelines on a few samples.
"""
from __future__ import annotations

import numpy as np

__all__ = ["generate"]


def generate(n: int, seed: int, frontal: bool = False, identities: int = 4, size: int = 256, **options) -> list[dict]:
    rng = np.random.default_rng(seed)
    id_rng = np.random.default_rng(seed + 10_000)
    shapes = [(id_rng.uniform(0.55, 0.8), id_rng.uniform(0.7, 0.95), id_rng.uniform(90, 200),
               id_rng.uniform(0.3, 0.9, 3)) for _ in range(identities)]
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / (size / 2.0) - 1.0
    out = []
    for _ in range(n):
        ident = int(rng.integers(identities))
        ax, ay, albedo_g, col = shapes[ident]
        yaw, pitch, roll = (0.0, 0.0, 0.0) if frontal else tuple(rng.uniform(-25, 25, 3))
        expr = options.get("expression") or rng.choice(["neutral", "smile", "open_mouth"])
        occ = options.get("occluder") or rng.choice(["none", "none", "hand", "glasses"])
        cx, cy = np.sin(np.radians(yaw)) * 0.3, np.sin(np.radians(pitch)) * 0.3
        r2 = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2
        inside = r2 < 1.0
        z = np.sqrt(np.clip(1.0 - r2, 0, 1))                       # 1 at the nose, 0 at the rim
        depth = np.full((size, size), 65535, np.uint16)
        depth[inside] = np.rint((1.0 - z[inside]) * 40000).astype(np.uint16)
        shade = np.clip(0.3 + 0.7 * z, 0, 1)
        gray = np.where(inside, albedo_g * shade, 20.0)
        mouth = inside & (np.abs(yy - cy - 0.45 * ay) < (0.08 if expr == "open_mouth" else 0.03)) & \
            (np.abs(xx - cx) < (0.3 if expr == "smile" else 0.18) * ax)
        gray[mouth] = 40.0
        if occ == "glasses":
            gray[inside & (np.abs(yy - cy + 0.2 * ay) < 0.05)] = 5.0
        elif occ in ("hand", "paper"):
            blk = (xx > cx) & (yy > cy) & inside
            gray[blk] = 230.0
            depth[blk] = 1000
        gray8 = np.clip(gray, 0, 255).astype(np.uint8)
        rgb = np.clip(gray[..., None] * (0.6 + 0.8 * col)[None, None, :], 0, 255).astype(np.uint8)
        t = np.linspace(0, 2 * np.pi, 68, endpoint=False)
        lm = np.stack([(cx + 0.8 * ax * np.cos(t) + 1) * size / 2, (cy + 0.8 * ay * np.sin(t) + 1) * size / 2,
                       np.full(68, 20000.0)], 1).astype(np.float32)
        mask = np.where(inside, 1, 0).astype(np.uint8)
        out.append({"depth": depth, "rgb": rgb, "gray": gray8, "mask": mask, "landmarks": lm, "identity": ident,
                    "params": {"yaw": float(yaw), "pitch": float(pitch), "roll": float(roll),
                               "expression": str(expr), "occluder": str(occ)}})
    return out
