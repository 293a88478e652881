"""Learning study of the Fabbri et al. (003) reproduction: why do the det-cGAN's outputs lack facial
features (dlib finds a face in 2-5 % of them against 70 % of the originals)?

Each recipe trains the det-cGAN or its autoencoder baseline (depth -> RGB) on the embedded synthetic
faces of the quick preset (320 training faces, 120 test faces of other identities, 64x64, RGB black
outside the measured depth as in the tables' run) for a budget of CPU seconds, and every
``--eval-every`` CPU seconds scores it: L1 (0..255, Table I's l1, ground-truth zeros excluded) on 32
fixed training and 32 held-out test faces, and the share of those 32 generated test faces in which
dlib finds a face (upscaled to 256 px, as the probe) beside the share on the original faces.

Rows go to ``results/fabbri/learning_study.csv`` (curves: ``learning_study.png``) (one recipe replaced at a time, atomically; a killed
study resumes with the recipes not yet done).

    python benchmarks/fabbri_learning_study.py [--budget 120] [--eval-every 30] [--recipes quick_cgan ...]
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

W4 = {"encoder_filters": (16, 32, 64, 128), "decoder_filters": (64, 32, 16, 8), "disc_filters": (16, 32, 64, 128)}

# recipe -> (kind, overrides of the quick preset)
RECIPES = {
    "quick_ae": ("ae", {}),
    "quick_cgan": ("cgan", {}),                      # the quick preset (filters / 8, lr 2e-4, batch 16)
    "quick_cgan_lr1e-3": ("cgan", {"lr": 1e-3}),     # is the learning rate the limit?
    "w4_cgan": ("cgan", W4),                         # filters / 4: is the width the limit?
}


def main(argv=None) -> int:
    from experiments.cgan import study

    ap = study.study_parser(__doc__, RECIPES, "results/fabbri/learning_study.csv")
    ap.add_argument("--no-dlib", action="store_true", help="skip the dlib detection share")
    args = ap.parse_args(argv)

    import keras

    from experiments.cgan import probes
    from experiments.cgan.data import cached_synthetic
    from experiments.cgan.fabbri_run import black_background
    from experiments.cgan.train import work_dir
    from models import fabbri as fab
    from models.cgan_presets import get_preset
    from models.gan_common import count_params, from_unit, to_unit

    out = study.output_path(args, "results/fabbri/learning_study.csv")
    cache = work_dir("quick")
    for recipe in study.pending_recipes(args.recipes, out, args.force):
        kind, over = RECIPES[recipe]
        p = get_preset("fabbri", "quick", **over)
        s = p.input_size
        train = black_background(cached_synthetic("train", p.n_train, p.train_identities, args.seed, s, cache))
        test = black_background(cached_synthetic("test", p.n_test, p.test_identities, args.seed + 1, s, cache))
        keras.utils.set_random_seed(args.seed)
        if kind == "ae":
            model = fab.build_autoencoder(s, p.encoder_filters, p.decoder_filters, p.lr, p.beta_1, p.beta_2)
        else:
            model = fab.build_cgan(s, p.encoder_filters, p.decoder_filters, p.disc_filters, p.recon_weight,
                                   p.lr, p.beta_1, p.beta_2)
        k = min(32, len(train), len(test))
        pick_tr = np.linspace(0, len(train) - 1, k).astype(int)
        pick_te = np.linspace(0, len(test) - 1, k).astype(int)
        ref = math_nan = float("nan")
        if not args.no_dlib:
            ref = probes.dlib_probe(test.rgb[pick_te], None, p.dlib_upscale)["detection_accuracy"]

        def evaluate(m, pick_tr=pick_tr, pick_te=pick_te, ref=ref):
            g = study.generator_of(m)
            ptr = from_unit(np.asarray(g(to_unit(train.depth8[pick_tr])[..., None], training=False)))
            pte = from_unit(np.asarray(g(to_unit(test.depth8[pick_te])[..., None], training=False)))
            row = {"train_l1": study.pixel_l1(train.rgb[pick_tr], ptr), "test_l1": study.pixel_l1(test.rgb[pick_te], pte),
                   "dlib_generated": math_nan, "dlib_original": ref}
            if not args.no_dlib:
                row["dlib_generated"] = probes.dlib_probe(pte, None, p.dlib_upscale)["detection_accuracy"]
            return row

        x, y = to_unit(train.depth8)[..., None], to_unit(train.rgb)
        rows = study.train_for_budget(model, x, y, batch_size=p.batch_size, budget_cpu_s=args.budget,
                                      eval_every_cpu_s=args.eval_every, evaluate=evaluate, seed=args.seed,
                                      label=recipe)
        study.append_rows(out, recipe, rows, {"kind": kind, "seed": args.seed, "batch_size": p.batch_size, "lr": p.lr,
                                              "trainable_params": count_params(study.generator_of(model)),
                                              "n_train": len(train)})
        print(f"[{recipe}] {len(rows)} rows -> {out}")
    if out.is_file():
        study.plot_curves(out, out.with_suffix(".png"),
                          [("L1 (0..255): solid train, dashed test", ("train_l1", "test_l1")),
                           ("dlib finds a face (%): solid generated, dashed original", ("dlib_generated", "dlib_original"))],
                          "Fabbri et al. learning study (quick-preset data, 64 px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
