"""CLI: ``python -m prnet_synth.procedural --out DIR -n N --seed S [--shard-size K] [--frontal] ...``"""
from __future__ import annotations

import argparse
import logging
import sys

from . import EXPRESSIONS, OCCLUDERS, write_dataset


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prnet_synth.procedural",
                                 description="Write N procedural synthetic faces (depth, rgb, mask, landmarks).")
    ap.add_argument("--out", required=True, help="output folder (resumable: rerun to finish)")
    ap.add_argument("-n", type=int, required=True, help="number of samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-size", type=int, default=1000)
    ap.add_argument("--shard", default=None, help="i/N: write only the shards k with k %% N == i")
    ap.add_argument("--frontal", action="store_true", help="|yaw| <= 15 deg, small pitch/roll, no occluder")
    ap.add_argument("--identities", type=int, default=None, help="draw the samples from K identities")
    ap.add_argument("--expression", choices=EXPRESSIONS, default=None)
    ap.add_argument("--occluder", choices=OCCLUDERS, default=None)
    ap.add_argument("--yaw-range", type=float, default=None)
    ap.add_argument("--pitch-range", type=float, default=None)
    ap.add_argument("--roll-range", type=float, default=None)
    ap.add_argument("--no-progress", action="store_true")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    opts = {k: v for k, v in dict(identities=a.identities, expression=a.expression, occluder=a.occluder,
                                  yaw_range=a.yaw_range, pitch_range=a.pitch_range,
                                  roll_range=a.roll_range).items() if v is not None}
    shards = None
    if a.shard:
        try:
            i, m = (int(v) for v in a.shard.split("/"))
            assert 0 <= i < m
        except (ValueError, AssertionError):
            ap.error(f"--shard expects i/N with 0 <= i < N, got {a.shard!r}")
        n_shards = (a.n + a.shard_size - 1) // a.shard_size
        shards = [k for k in range(n_shards) if k % m == i]
    write_dataset(a.out, a.n, a.seed, shard_size=a.shard_size, frontal=a.frontal,
                  progress=not a.no_progress, shards=shards, **opts)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
