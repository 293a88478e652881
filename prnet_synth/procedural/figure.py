"""Variety figure: random synthetic samples in all modalities.

    python -m prnet_synth.procedural.figure [--out results/synth/samples_32.png] [-n 32] [--seed 0]

Each sample is a column of four tiles: rgb with the 68 landmarks, gray, depth (colour-coded,
holes white) and the class mask.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_json, provenance
from ..conventions import colorize
from ..paths import results_dir

PALETTE = np.array([[20, 20, 40], [230, 190, 160], [90, 50, 20], [60, 200, 255], [250, 230, 40],
                    [240, 120, 40], [200, 30, 60]], np.uint8)


def tiles(sample: dict, size: int = 96) -> np.ndarray:
    rgb = sample["rgb"].copy()
    for x, y, _ in sample["landmarks"]:
        cv2.circle(rgb, (int(round(x)), int(round(y))), 1, (0, 255, 0), -1)
    gray = np.repeat(sample["gray"][..., None], 3, -1)
    depth = colorize(sample["depth"], mask=sample["depth"] != 65535)
    mask = PALETTE[sample["mask"]]
    return np.concatenate([cv2.resize(t, (size, size), interpolation=cv2.INTER_AREA)
                           for t in (rgb, gray, depth, mask)], 0)


def make_figure(path, n: int = 32, seed: int = 0, per_row: int = 16, size: int = 96):
    from . import generate

    samples = generate(n, seed)
    cols = [tiles(s, size) for s in samples]
    while len(cols) % per_row:
        cols.append(np.full_like(cols[0], 255))
    rows = [np.concatenate(cols[i:i + per_row], 1) for i in range(0, len(cols), per_row)]
    img = np.concatenate(rows, 0)
    ok, buf = cv2.imencode(".png", img[..., ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    atomic_write_bytes(path, buf.tobytes())
    meta = provenance("synthetic", seed, "procedural", n=n,
                      samples=[{k: s["params"][k] for k in ("identity", "yaw", "pitch", "roll", "expression",
                                                          "occluder")} for s in samples])
    atomic_write_json(str(path).rsplit(".", 1)[0] + ".json", meta)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="figure of random synthetic samples in all modalities")
    ap.add_argument("--out", default=None)
    ap.add_argument("-n", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    out = a.out or str(results_dir() / "synth" / f"samples_{a.n}.png")
    make_figure(out, a.n, a.seed)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
