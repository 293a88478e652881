"""Learning study of Chiu et al.'s DepthNet: does its depth estimate D* get the face's relief, and what
makes it learn faster per CPU second?

Why: the cpu preset's shipped DepthNet draws face silhouettes of nearly uniform depth (Table I MSE
5,097 on 0..255 depth; figure fig4_5_depth_estimates.png), and the recognizer's depth branch stays
near chance on its D* (docs/notes/90_chiu.md). Each recipe trains a fresh DepthNet (the preset's
networks and losses, some fields replaced) for a budget of CPU seconds on the preset's DepthNet
training set (the embedded synthetic default; more identities where the recipe says so) and scores
it every few CPU seconds on the preset's held-out DepthNet test identities:

- ``image_mse``: Table V's metric (all pixels, 0..255, background 0);
- ``relief_rmse``: RMSE (0..255) over the pixels that are face in both the ground truth and D*, after
  removing each image's mean depth over them from both: the relief alone, whatever the offset.
  ``flat_relief_rmse`` is that of a flat estimate (the ground truth's own relief spread): D* carries
  relief only where it is below that;
- ``relief_corr``: the mean per-image Pearson correlation of D* and the ground truth over those pixels
  (0 for a flat or unrelated estimate, 1 for the right shape up to scale);
- ``inner_*``: the same three over the pixels at least ``INSET`` (3) pixels inside both faces: the
  blurred edge of D*'s silhouette dominates the whole-face scores, these measure the relief inside.

Rows go to ``results/chiu/depthnet_study.csv`` (a recipe's rows replaced atomically when it reruns;
``--force``), curves to ``depthnet_study.png``; the CPU seconds count training only.

    python -m benchmarks.chiu_depthnet_study --budget 600 --eval-every 150 --recipes cpu cpu_lr1e3
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

# recipe -> (preset, fields of its DepthNetConfig to replace, other settings)
RECIPES: dict[str, tuple[str, dict, dict]] = {
    "cpu": ("cpu", {}, {}),                                          # as the cpu preset trains it
    "cpu_lr1e3": ("cpu", {"learning_rate": 1e-3}, {}),               # the paper's Adam at 5x the rate
    "cpu_noadv": ("cpu", {"lambda_adv": 0.0}, {}),                   # eq. 7 without the adversarial terms
    "cpu_200ids": ("cpu", {}, {"identities": 200, "per_identity": 10}),  # 2,000 images of 200 identities
    "cpu_w16": ("cpu", {"base_filters": 16, "max_filters": 128, "disc_filters": 16}, {}),  # 3.7x cheaper steps
}


#: pixels left out at the face's edge for the ``inner_*`` scores (64-pixel images: about 5 % of the width)
INSET = 3


class _Rows:
    """Targets as one array-like: ``len`` and fancy indexing give a dict of the rows' depth and mask."""

    def __init__(self, targets: dict):
        self.targets = targets

    def __len__(self):
        return len(next(iter(self.targets.values())))

    def __getitem__(self, idx):
        return {k: v[idx] for k, v in self.targets.items()}


def relief_scores(gt_target: np.ndarray, pred_target: np.ndarray, threshold: float = -0.95,
                  inset: int = 0) -> dict:
    """``relief_rmse``, ``flat_relief_rmse`` and ``relief_corr`` (see the module doc) of DepthNet
    outputs against ground truths, both in the target space [-1, 1] (near = 1, background -1), NxHxW.
    ``inset``: score only pixels at least that many pixels inside the face of both (the silhouette's
    blurred edge left out: the relief inside the face alone)."""
    from scipy import ndimage

    g = (np.asarray(gt_target, np.float64) + 1.0) * 127.5
    p = (np.clip(np.asarray(pred_target, np.float64), -1.0, 1.0) + 1.0) * 127.5
    sq, sq_flat, n, corrs = 0.0, 0.0, 0, []
    for gi, pi, gt_t, pr_t in zip(g, p, gt_target, pred_target):
        face = (gt_t > threshold) & (pr_t > threshold)
        if inset > 0:
            face = ndimage.binary_erosion(face, iterations=int(inset), border_value=0)
        if face.sum() < 3:
            continue
        gr = gi[face] - gi[face].mean()
        pr = pi[face] - pi[face].mean()
        sq += float(np.sum((gr - pr) ** 2))
        sq_flat += float(np.sum(gr ** 2))
        n += int(face.sum())
        den = float(np.sqrt(np.sum(gr ** 2) * np.sum(pr ** 2)))
        corrs.append(float(np.sum(gr * pr) / den) if den > 0 else 0.0)
    if n == 0:
        return {"relief_rmse": float("nan"), "flat_relief_rmse": float("nan"), "relief_corr": float("nan")}
    return {"relief_rmse": float(np.sqrt(sq / n)), "flat_relief_rmse": float(np.sqrt(sq_flat / n)),
            "relief_corr": float(np.mean(corrs))}


def main(argv=None) -> int:
    from experiments.cgan import study

    ap = study.study_parser(__doc__, RECIPES, "results/chiu/depthnet_study.csv")
    args = ap.parse_args(argv)

    import keras

    from experiments.chiu import pipeline
    from experiments.chiu.masks import masks_for
    from models.chiu_depthnet import DepthNet
    from models.chiu_presets import get_preset
    from prnet_synth.paths import work_dir

    out = study.output_path(args, "results/chiu/depthnet_study.csv")
    for recipe in study.pending_recipes(args.recipes, out, args.force):
        preset_name, over, extra = RECIPES[recipe]
        preset = get_preset(preset_name)
        cfg = dataclasses.replace(preset.depthnet, **over)
        size = cfg.size
        if "identities" in extra:
            n_ids, per_id = extra["identities"], extra["per_identity"]
            train = pipeline._cached(
                work_dir("chiu", f"depthnet_train_{n_ids}x{n_ids * per_id}_{size}px_s{args.seed}.npz"),
                lambda n_ids=n_ids, per_id=per_id: masks_for(pipeline.synth_samples(
                    n_ids * per_id, args.seed + pipeline.SEED_OFFSETS["depthnet_train"], size,
                    identities=n_ids), "generator")[0])
        else:
            n_ids = preset.depthnet_train_identities
            train, _ = pipeline.depthnet_training_data(preset, args.seed)
        t_ids = preset.depthnet_test_identities
        test = pipeline._cached(work_dir("chiu", f"depthnet_test_{t_ids}x5_{size}px_s{args.seed}.npz"),
                                lambda: pipeline.synth_samples(t_ids * 5, args.seed + pipeline.SEED_OFFSETS["depthnet_test"],
                                                               size, identities=t_ids))
        x, y = pipeline.depthnet_arrays(train, cfg.mask_classes)
        xt = pipeline.rgb_to_net(test["rgb"])
        gt_t = pipeline.depthnet_arrays(test, cfg.mask_classes)[1]["depth"][..., 0]
        keras.utils.set_random_seed(args.seed)
        model = DepthNet(cfg)
        model.compile()
        model(np.zeros((1, size, size, 3), np.float32))

        def evaluate(m, xt=xt, gt_t=gt_t, test=test):
            t, _ = m.predict_depth_mask(xt, 16)
            inner = {f"inner_{k}": v for k, v in relief_scores(gt_t, t, inset=INSET).items()}
            return {"image_mse": pipeline.image_mse(test["depth"], t), **relief_scores(gt_t, t), **inner}

        rows = study.train_for_budget(model, x, _Rows(y), batch_size=cfg.batch_size, budget_cpu_s=args.budget,
                                      eval_every_cpu_s=args.eval_every, evaluate=evaluate, seed=args.seed,
                                      label=recipe)
        study.append_rows(out, recipe, rows, {"seed": args.seed, "preset": preset_name, "learning_rate": cfg.learning_rate,
                                              "lambda_adv": cfg.lambda_adv, "base_filters": cfg.base_filters,
                                              "n_train": len(x), "train_identities": n_ids})
        print(f"[{recipe}] {len(rows)} rows -> {out}")
    if out.is_file():
        study.plot_curves(out, out.with_suffix(".png"),
                          [("relief RMSE (0..255): solid D*, dashed a flat estimate", ("relief_rmse", "flat_relief_rmse")),
                           ("inner relief RMSE, 3 px inside the face: solid D*, dashed flat",
                            ("inner_relief_rmse", "inner_flat_relief_rmse")),
                           ("relief correlation: solid whole face, dashed inner", ("relief_corr", "inner_relief_corr")),
                           ("Table V image MSE (0..255)", ("image_mse",))],
                          "Chiu DepthNet learning study (cpu preset's data, 64 px; held-out identities)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
