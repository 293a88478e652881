"""Chiu et al. Tables I and V: train DepthNet (with and without the mask branch) and measure depth MSE.

Embedded default (no data needed): synthetic faces. With ``--data DIR --dataset BU-3DFE|Bosphorus|FRGCv2``
the trained DepthNet is also evaluated on real scans (Table I column). ``--prnet-dir`` is reserved for
the PRNet competitor; without its weights the PRNet row says "weights missing".
"""
from __future__ import annotations

from pathlib import Path

from experiments.chiu import pipeline
from experiments.chiu.cli import parser, setup
from models.chiu_presets import get_preset


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="root of a real 3D data set (optional)")
    p.add_argument("--dataset", choices=("BU-3DFE", "Bosphorus", "FRGCv2"), default=None)
    p.add_argument("--limit", type=int, default=None, help="evaluate at most this many real scans")
    args = p.parse_args(argv)
    setup(args)
    preset = get_preset(args.preset)
    tables = pipeline.depth_tables(preset, args.seed, args.out)
    print(tables["table1"].to_string(index=False))
    print(tables["table5"].to_string(index=False))
    if args.data is not None:
        if args.dataset is None:
            p.error("--data needs --dataset")
        print(pipeline.depth_table_real(preset, args.seed, args.dataset, args.data, args.out, args.limit).to_string(index=False))


if __name__ == "__main__":
    main()
