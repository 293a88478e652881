"""Chiu et al. Tables II, III, IV and VI: mask-guided RGB-D recognition, rank-1 identification on the
paper's gallery / probe protocols (IV-A.2) for the modality variants D*+M*, RGB+M*, RGB+D*+M*
(D*, M* estimated by DepthNet).

Embedded default: synthetic stand-ins of BU-3DFE, Texas, Bosphorus, FRGCv2 and Lock3DFace (captures
of disjoint synthetic identities shaped like each data set), each evaluated on its own protocol.
``--data DIR --dataset NAME`` also evaluates the trained networks on a real data set's protocols.
"""
from __future__ import annotations

from pathlib import Path

from experiments.chiu import pipeline
from experiments.chiu.cli import parser, preset_from_args, setup


def main(argv=None):
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None, help="root of a real data set to evaluate on (optional)")
    p.add_argument("--dataset", choices=sorted(pipeline.DATASET_PROTOCOLS), default=None)
    p.add_argument("--limit", type=int, default=None, help="read at most this many records of --data")
    args = p.parse_args(argv)
    if args.data is not None and args.dataset is None:
        p.error("--data needs --dataset")
    if args.data is not None and not args.data.is_dir():
        p.error(f"--data {args.data}: folder not found")
    preset = preset_from_args(p, args)
    setup(args)
    tables = pipeline.recognition_tables(preset, args.seed, args.out)
    for key in ("table2", "table3", "table4", "table6"):
        print(key)
        print(tables[key].to_string(index=False))
    if args.data is not None:
        print(pipeline.recognition_tables_real(preset, args.seed, args.dataset, args.data, args.out,
                                               args.limit).to_string(index=False))
    return tables


if __name__ == "__main__":
    main()
