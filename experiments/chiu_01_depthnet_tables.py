"""Chiu et al. Tables I and V: train DepthNet (with and without the mask branch) and measure depth MSE.

Embedded default (no data needed): synthetic faces with the generator's 7-class masks. ``--depthnet-data
DIR`` trains DepthNet on a BU-3DFE folder instead (first 90 subjects, pose-augmented, dlib masks) and
then also evaluates it on the remaining BU-3DFE subjects. With ``--data DIR --dataset
BU-3DFE|Bosphorus|FRGCv2`` the trained DepthNet is also evaluated on real scans (a Table I column).
``--prnet-dir DIR`` (the user's PRNet folder with Data/uv-data and Data/net-data) fills the PRNet row
of Table I; without it the row says "weights missing". 3DDFA is not ported.
"""
from __future__ import annotations

from pathlib import Path

from experiments.chiu import pipeline
from experiments.chiu.cli import parser, preset_from_args, setup


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="root of a real 3D data set to evaluate on (optional)")
    p.add_argument("--dataset", choices=("BU-3DFE", "Bosphorus", "FRGCv2"), default=None)
    p.add_argument("--limit", type=int, default=None, help="evaluate at most this many real scans")
    p.add_argument("--prnet-dir", type=Path, default=None, help="PRNet folder (Table I's PRNet row)")
    p.add_argument("--prnet-weights", type=Path, default=None,
                   help="PRNet checkpoint prefix (default <prnet-dir>/Data/net-data/256_256_resfcn256_weight)")
    args = p.parse_args(argv)
    if args.data is not None and args.dataset is None:
        p.error("--data needs --dataset")
    if args.prnet_weights is not None and args.prnet_dir is None:
        p.error("--prnet-weights needs --prnet-dir")
    preset = preset_from_args(p, args)
    setup(args)
    prnet = None
    if args.prnet_dir is not None:
        if not args.prnet_dir.is_dir():
            p.error(f"--prnet-dir {args.prnet_dir}: folder not found")
        prnet = pipeline.prnet_estimator(args.prnet_dir, args.prnet_weights)
    tables = pipeline.depth_tables(preset, args.seed, args.out, prnet_estimator=prnet)
    print(tables["table1"].to_string(index=False))
    print(tables["table5"].to_string(index=False))
    if args.data is not None:
        print(pipeline.depth_table_real(preset, args.seed, args.dataset, args.data, args.out, args.limit,
                                        prnet_estimator=prnet).to_string(index=False))
    return tables


if __name__ == "__main__":
    main()
