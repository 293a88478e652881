"""Chiu et al. Table VI: mask-guided RGB-D recognition, rank-1 identification per probe set for the
modality variants D*+M*, RGB+M*, RGB+D*+M* (D*, M* estimated by DepthNet), on the embedded default."""
from __future__ import annotations

from experiments.chiu import pipeline
from experiments.chiu.cli import parser, setup
from models.chiu_presets import get_preset


def main(argv=None):
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    setup(args)
    df = pipeline.recognition_tables(get_preset(args.preset), args.seed, args.out)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
