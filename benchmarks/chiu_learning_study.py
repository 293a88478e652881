"""Learning study of Chiu et al.'s mask-guided recognizer: training accuracy against steps and CPU
seconds, per recipe (a preset's recognition config with some fields replaced).

Data: the recognition training set of a preset on the embedded default (synthetic identities of
``prnet_synth.procedural``, the preset's ``rec_train_options``), built by the same pipeline code
as the tables (``experiments.chiu.pipeline.recognition_inputs``). ``--inputs gt`` feeds the
generator's own depth and 7-class mask (isolates the recognizer from DepthNet); ``--inputs depthnet``
feeds what the tables' recognizer trains on: the preset's training set with the trained DepthNet's
D* and M* (``pipeline.recognition_training_data``; the preset's DepthNet is loaded from its shipped
weights, or trained).

``cpu_s`` counts the process's CPU seconds spent training (the scoring is left out). Every
``--eval-every`` steps the model is scored in inference mode on a fixed subset of the
training images: rank-1 accuracy of the margin-free ArcFace logits per branch (the *training
accuracy*), the mean cross-entropy of those logits, and the spread of the spatial-attention maps
between faces (mean over pixels of the standard deviation across faces: 0 = the same map for
every face). Rows are appended to ``results/chiu/learning_study.csv`` (one file, a recipe's rows
are replaced when it is rerun).

    python benchmarks/chiu_learning_study.py --recipes quick quick_lr001 --max-steps 300 --budget-seconds 240

CPU training is not bit-reproducible and the machine is shared: rates are indicative.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

# recipe -> (preset, fields of its RecognitionConfig to replace)
RECIPES: dict[str, tuple[str, dict]] = {
    "quick": ("quick", {}),                                   # the quick preset as committed
    "quick_noclip": ("quick", dict(grad_clip_norm=None)),     # without the gradient clipping
    "quick_lr001": ("quick", dict(learning_rate=0.01)),
    "quick_lr001_noclip": ("quick", dict(learning_rate=0.01, grad_clip_norm=None)),
    "quick_lr001_m0": ("quick", dict(learning_rate=0.01, arc_margin=0.0)),
    "quick_nowd": ("quick", dict(weight_decay=0.0)),
    "cpu": ("cpu", {}),
    "cpu_sa0": ("cpu", dict(lambda_2=0.0)),                   # without the semantic alignment loss (eq. 10-11)
    "cpu_noclip": ("cpu", dict(grad_clip_norm=None)),
}


def build_data(preset, seed: int, n_ids: int, per_id: int, inputs: str = "gt"):
    """Training images of ``n_ids`` identities (cached under work_data/chiu): the generator's depth
    and mask (``gt``) or DepthNet's D* and M* on the preset's own training set (``depthnet``)."""
    from experiments.chiu import pipeline
    from prnet_synth.paths import work_dir

    if inputs == "depthnet":
        if (n_ids, per_id) != (preset.rec_train_identities, preset.rec_train_per_identity):
            raise ValueError("--inputs depthnet trains on the preset's own training set: leave out "
                             "--identities and --per-identity")
        data = pipeline.recognition_training_data(preset, seed)
        x = pipeline.recognition_inputs(data["rgb"], data["depth"], data["mask"], preset.recognition.size)
        return x, data["identity"].astype(np.int64)

    size = preset.depthnet.size
    opts = dict(preset.rec_train_options)
    tag = pipeline._config_hash(n_ids, per_id, size, sorted(opts.items()))
    data = pipeline._cached(work_dir("chiu", f"study_rec_{tag}_s{seed}.npz"),
                            lambda: pipeline.synth_samples(n_ids * per_id, seed + pipeline.SEED_OFFSETS["rec_train"],
                                                           size, identities=n_ids, **opts))
    x = pipeline.recognition_inputs(data["rgb"], data["depth"], data["mask"], preset.recognition.size)
    return x, data["identity"].astype(np.int64)


def score(model, x: dict, y: np.ndarray) -> dict:
    f_r, f_d = model.embeddings(x)
    out = {}
    for name, f, arc in (("rgb", f_r, model.arc_rgb), ("depth", f_d, model.arc_depth)):
        logits = np.asarray(arc.plain_logits(f))
        out[f"acc_{name}"] = float(np.mean(np.argmax(logits, 1) == y))
        z = logits - logits.max(1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(1, keepdims=True))
        out[f"ce_{name}"] = float(-np.mean(logp[np.arange(len(y)), y]))
    maps = model.attention_maps({k: v[:16] for k, v in x.items()})
    for lv, m in maps.items():
        out[f"att_spread_{lv}"] = float(np.mean(np.std(m, axis=0)))
        out[f"att_mean_{lv}"] = float(np.mean(m))
    return out


def run_recipe(name: str, seed: int, max_steps: int, eval_every: int, budget_s: float, n_ids: int | None,
               per_id: int | None, n_eval: int, on_record=None, inputs: str = "gt") -> pd.DataFrame:
    import keras

    from models.chiu_presets import get_preset
    from models.chiu_recognition import MaskGuidedRecognizer, lr_schedule

    preset_name, repl = RECIPES[name]
    preset = get_preset(preset_name)
    cfg = dataclasses.replace(preset.recognition, **repl)
    n_ids = n_ids or preset.rec_train_identities
    per_id = per_id or preset.rec_train_per_identity
    x, y = build_data(preset, seed, n_ids, per_id, inputs)
    keras.utils.set_random_seed(seed)
    model = MaskGuidedRecognizer(cfg, n_classes=n_ids)
    opt = keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum)
    model.compile(optimizer=opt)
    model.build()  # the ArcFace centres exist before the first score
    steps_per_epoch = int(np.ceil(len(y) / cfg.batch_size))
    sched = lr_schedule(cfg)
    rng = np.random.default_rng(seed)
    ev = rng.choice(len(y), size=min(n_eval, len(y)), replace=False)
    x_ev = {k: v[ev] for k, v in x.items()}
    rows = []
    cpu0, wall0 = time.process_time(), time.time()
    step = 0

    eval_cpu = [0.0]

    def train_cpu():
        return time.process_time() - cpu0 - eval_cpu[0]

    def record():
        r = {"recipe": name, "preset": preset_name, "step": step, "epoch": step / steps_per_epoch,
             "images_seen": step * cfg.batch_size, "cpu_s": train_cpu(),
             "wall_s": time.time() - wall0, "lr": float(opt.learning_rate.numpy()), "n_ids": n_ids,
             "n_train": len(y), "chance": 1.0 / n_ids, "changes": repr(repl)}
        c = time.process_time()
        r.update(score(model, x_ev, y[ev]))
        eval_cpu[0] += time.process_time() - c
        rows.append(r)
        if on_record is not None:  # persist as we go: a killed run keeps its curve so far
            on_record(pd.DataFrame(rows))
        print(f"{name:>16s} step {step:5d} cpu {r['cpu_s']:7.1f}s  acc rgb {r['acc_rgb']:.3f} depth "
              f"{r['acc_depth']:.3f}  ce {r['ce_rgb']:.2f}/{r['ce_depth']:.2f}  att spread "
              + " ".join(f"{r[k]:.3f}" for k in r if k.startswith("att_spread")), flush=True)

    record()
    order = np.array([], np.int64)
    while step < max_steps and train_cpu() < budget_s:
        if len(order) < cfg.batch_size:
            order = np.concatenate([order, rng.permutation(len(y))])
        idx, order = order[:cfg.batch_size], order[cfg.batch_size:]
        opt.learning_rate.assign(sched(step // steps_per_epoch))
        model.train_on_batch({k: v[idx] for k, v in x.items()}, y[idx])
        step += 1
        if step % eval_every == 0:
            record()
    if rows[-1]["step"] != step:
        record()
    return pd.DataFrame(rows)


def main(argv=None):
    from prnet_synth.atomic import atomic_write_csv, code_version
    from prnet_synth.paths import results_dir

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", nargs="+", default=["quick", "quick_lr001"], choices=sorted(RECIPES))
    ap.add_argument("--max-steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=30)
    ap.add_argument("--budget-seconds", type=float, default=240.0, help="training CPU seconds per recipe")
    ap.add_argument("--identities", type=int, default=None, help="default: the preset's rec_train_identities")
    ap.add_argument("--per-identity", type=int, default=None)
    ap.add_argument("--n-eval", type=int, default=240, help="training images scored at each evaluation")
    ap.add_argument("--inputs", choices=("gt", "depthnet"), default="gt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    out = args.out or results_dir() / "chiu" / "learning_study.csv"
    old = pd.read_csv(out) if out.is_file() else pd.DataFrame()
    version = code_version()
    for name in args.recipes:
        if len(old):
            old = old[(old["recipe"] != name) | (old["inputs"] != args.inputs)]  # a recipe is rerun per input kind

        def save(df, name=name):
            df = df.assign(inputs=args.inputs, seed=args.seed, code_version=version)
            atomic_write_csv(out, pd.concat([old, df], ignore_index=True), index=False)

        df = run_recipe(name, args.seed, args.max_steps, args.eval_every, args.budget_seconds, args.identities,
                        args.per_identity, args.n_eval, on_record=save, inputs=args.inputs)
        old = pd.concat([old, df.assign(inputs=args.inputs, seed=args.seed, code_version=version)],
                        ignore_index=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
