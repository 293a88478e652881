"""Learning study of the Pini et al. (001) reproduction: why do the quick runs fail?

Each recipe trains one model of the reproduction (cGAN, AE, or the Siamese verifier) on the embedded
synthetic faces of the quick preset (320 training faces of 32 identities, 120 test faces of 4 other
identities, 64x64) for a budget of CPU seconds, and every ``--eval-every`` CPU seconds scores it:

* generators: L1 (0..255, ground-truth zeros excluded, Table 1's l1_norm) on 48 fixed *training*
  images and on 48 held-out test images; the last batch's D(real) / D(fake) means and loss terms;
* verifier: pair accuracy (similarity > 0.5) on 400 fixed training pairs and on the held-out test
  identities' pairs (half same-subject).

Rows go to ``results/pini/learning_study.csv`` (curves: ``learning_study.png``) (one recipe replaced at a time, atomically, so a killed
study resumes with the recipes not yet done); ``--recipes`` picks some; ``--force`` reruns done ones.

    python benchmarks/pini_learning_study.py [--budget 120] [--eval-every 30] [--recipes quick_cgan ...]

CPU training is not bit-reproducible, and another job sharing the cores slows the wall clock; the CPU
seconds column is the process's own CPU time (all threads).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

# recipe -> (kind, overrides of the quick preset, extra settings); an extra "preset" names another
# base preset (its data and sizes), e.g. the cpu preset's 4000 faces of 200 identities at 96 px
RECIPES = {
    # the quick preset as run by experiments/pini_01_tables.py: MSE averaged over pixels, lambda 10
    "quick_ae": ("ae", {}, {}),
    "quick_cgan": ("cgan", {}, {"recon_reduction": "mean"}),
    # eq. 3 read literally: squared L2 norm per image (summed over pixels), averaged over the batch
    "eq3_cgan": ("cgan", {}, {"recon_reduction": "image_sum"}),
    # the same at twice the widths (filters / 4 of the paper's)
    "eq3_cgan_w4": ("cgan", {"encoder_filters": (32, 64, 128, 256), "decoder_filters": (128, 64, 32, 16)},
                    {"recon_reduction": "image_sum"}),
    # the verifier: quick preset (32 training identities) and with 4x the identities (same faces per id)
    "siamese_quick": ("siamese", {}, {}),
    "siamese_128ids": ("siamese", {"n_train": 1280, "train_identities": 128}, {}),
    # the verifier on the cpu preset's data (4000 faces of 200 identities, 96 px, 8 test identities):
    # as the cpu preset had it (filters / 8, fc 32-16), and at filters / 4 and / 2
    "siamese_cpu_w8": ("siamese", {}, {"preset": "cpu"}),
    "siamese_cpu_w4": ("siamese", {"siamese_filters": (16, 32, 64, 64, 64), "siamese_fc": (64, 32)},
                       {"preset": "cpu"}),
    "siamese_cpu_w2": ("siamese", {"siamese_filters": (32, 64, 128, 128, 128), "siamese_fc": (128, 32)},
                       {"preset": "cpu"}),
    # lambda (eq. 5; 001 states none, 10 decided) on the cpu preset's data: the cpu run's log had
    # lambda x eq. 3 at 2,700-17,000 against an adversarial term of 5-10 and D(fake) < 0.05 in 9 of 10
    # epochs, i.e. a generator trained by eq. 3 alone. The AE beside them as the reference.
    "ae_cpu": ("ae", {}, {"preset": "cpu"}),
    "cgan_cpu_lambda10": ("cgan", {"recon_weight": 10.0}, {"preset": "cpu", "recon_reduction": "image_sum"}),
    "cgan_cpu_lambda1": ("cgan", {"recon_weight": 1.0}, {"preset": "cpu", "recon_reduction": "image_sum"}),
    "cgan_cpu_lambda0.1": ("cgan", {"recon_weight": 0.1}, {"preset": "cpu", "recon_reduction": "image_sum"}),
    "cgan_cpu_lambda0.01": ("cgan", {"recon_weight": 0.01}, {"preset": "cpu", "recon_reduction": "image_sum"}),
}


class _PairSide:
    """One side of the training pairs as an array-like (``len`` and fancy indexing) that gathers the
    faces on demand, so that 20,000 pairs of 96 px faces are never materialised (5.9 GB)."""

    def __init__(self, faces, index):
        self.faces, self.index = faces, np.asarray(index)

    def __len__(self):
        return len(self.index)

    def __getitem__(self, idx):
        return self.faces[self.index[idx]]


def _auc(same, sim) -> float:
    """Area under the ROC curve of ``sim`` for the labels ``same`` (rank statistic; threshold-free)."""
    from scipy.stats import rankdata

    same = np.asarray(same) == 1
    n1, n0 = int(same.sum()), int((~same).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(sim)
    return float((r[same].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _unit(u8):
    from models.gan_common import to_unit

    return to_unit(u8)[..., None]


def main(argv=None) -> int:
    from experiments.cgan import study

    ap = study.study_parser(__doc__, RECIPES, "results/pini/learning_study.csv")
    args = ap.parse_args(argv)

    import keras

    from experiments.cgan import verification as ver
    from experiments.cgan.data import cached_synthetic
    from experiments.cgan.train import work_dir
    from models import pini as pini_models
    from models.cgan_presets import get_preset
    from models.gan_common import count_params, from_unit
    from models.siamese import build_siamese

    out = study.output_path(args, "results/pini/learning_study.csv")
    for recipe in study.pending_recipes(args.recipes, out, args.force):
        kind, over, extra = RECIPES[recipe]
        base = extra.get("preset", "quick")
        cache = work_dir(base)
        p = get_preset("pini", base, **over)
        s = p.input_size
        train = cached_synthetic("train", p.n_train, p.train_identities, args.seed, s, cache)
        test = cached_synthetic("test", p.n_test, p.test_identities, args.seed + 1, s, cache)
        keras.utils.set_random_seed(args.seed)
        if kind == "siamese":
            model = build_siamese(s, p.siamese_filters, p.siamese_fc)
            pairs = ver.train_pairs(train.identity, p.siamese_train_pairs, args.seed)
            xt = _unit(train.depth8)
            x = [_PairSide(xt, pairs[:, 0]), _PairSide(xt, pairs[:, 1])]
            y = pairs[:, 2].astype(np.float32)
            fixed_tr = ver.train_pairs(train.identity, 400, args.seed + 5)
            te_pairs = ver.make_pairs(test, p.test_pairs_per_cell, args.seed + 13)
            xe = _unit(test.depth8)

            def evaluate(m, fixed_tr=fixed_tr, te_pairs=te_pairs, xt=xt, xe=xe):
                st = np.asarray(m([xt[fixed_tr[:, 0]], xt[fixed_tr[:, 1]]], training=False)).ravel()
                se = np.asarray(m([xe[te_pairs["a"].to_numpy()], xe[te_pairs["b"].to_numpy()]], training=False)).ravel()
                return {"train_pair_accuracy": ver.accuracy(st, fixed_tr[:, 2]),
                        "test_pair_accuracy": ver.accuracy(se, te_pairs["same"].to_numpy()),
                        "test_mean_similarity": float(se.mean()),
                        "train_pair_auc": _auc(fixed_tr[:, 2], st),
                        "test_pair_auc": _auc(te_pairs["same"].to_numpy(), se)}
            bs, params = 32, count_params(model)
        else:
            if kind == "ae":
                model = pini_models.build_autoencoder(s, p.encoder_filters, p.decoder_filters, p.lr, p.beta_1, p.beta_2)
            else:
                model = pini_models.build_cgan(s, p.encoder_filters, p.decoder_filters, p.recon_weight, p.lr,
                                               p.beta_1, p.beta_2, recon_reduction=extra["recon_reduction"])
            x, y = _unit(train.gray), _unit(train.depth8)
            k = min(48, len(train), len(test))
            pick_tr = np.linspace(0, len(train) - 1, k).astype(int)
            pick_te = np.linspace(0, len(test) - 1, k).astype(int)

            def evaluate(m, pick_tr=pick_tr, pick_te=pick_te):
                g = study.generator_of(m)
                ptr = from_unit(np.asarray(g(_unit(train.gray[pick_tr]), training=False)))[..., 0]
                pte = from_unit(np.asarray(g(_unit(test.gray[pick_te]), training=False)))[..., 0]
                return {"train_l1": study.pixel_l1(train.depth8[pick_tr], ptr),
                        "test_l1": study.pixel_l1(test.depth8[pick_te], pte)}
            bs = p.batch_size
            params = count_params(study.generator_of(model))
        rows = study.train_for_budget(model, x, y, batch_size=bs, budget_cpu_s=args.budget,
                                      eval_every_cpu_s=args.eval_every, evaluate=evaluate, seed=args.seed,
                                      label=recipe)
        study.append_rows(out, recipe, rows, {"kind": kind, "seed": args.seed, "batch_size": bs, "trainable_params": params,
                                              "n_train": len(train), "train_identities": p.train_identities,
                                              "preset": base, "input_size": s,
                                              "recon_weight": p.recon_weight if kind == "cgan" else "",
                                              "recon_reduction": extra.get("recon_reduction", "")})
        print(f"[{recipe}] {len(rows)} rows -> {out}")
    if out.is_file():
        study.plot_curves(out, out.with_suffix(".png"),
                          [("L1 (0..255): solid train, dashed test", ("train_l1", "test_l1")),
                           ("verifier pair accuracy: solid train, dashed test", ("train_pair_accuracy", "test_pair_accuracy")),
                           ("verifier pair AUC: solid train, dashed test", ("train_pair_auc", "test_pair_auc"))],
                          "Pini et al. learning study (quick-preset data at 64 px; *_cpu*: cpu-preset data at 96 px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
