"""Learning-efficiency study of DL-Delta on the calibrated benchmark: error against training images and
CPU seconds under training recipes that keep the paper's network and curriculum structure.

Each recipe is the study preset below with some fields replaced (``RECIPES``); it trains DL-Delta-1
through ``models.training.train_one`` (the same code the presets use) for a fixed time budget, and
every ``--eval-every`` seconds of training a callback scores the model as it is on a fixed held-out
set of calibrated test pairs (generator seed 1,000,003 + 7, paper-default degradation, plain variant):

* face RMSE (``experiments.metrics.face_rmse``, values / 65535, as Table IV);
* RMSE on face pixels where the input is valid, beside the input's own RMSE there (a net that passes
  valid depth through is at most as far from the ground truth as its input);
* RMSE on face pixels that are input holes, and in the 4-pixel band inside the face outline.

Rows go to ``results/unets/learning_study.csv`` (appended per recipe, so a killed study resumes with
the recipes not yet done), the curves to ``results/unets/learning_study.png``.

    python benchmarks/learning_study.py [--budget-minutes 4] [--recipes base fresh ...]

CPU training is not bit-reproducible; differences of a few per cent between recipes are noise.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from prnet_synth.conventions import HOLE  # noqa: E402

TEST_SEED = 1_000_003 + 7
N_TEST = 48

# The study preset: DL-Delta's curriculum (three interleaved variants per ground truth, stages,
# DL-Delta-1 from scratch) with more ground truths than any budget here reaches, so the budget ends
# every run; the schedule of a "cosine" recipe spans ``plan_steps`` (set from the budget).
BASE = dict(name="study", main_pairs=4000, stage_pairs=200, epochs=2, delta_epochs=2, alpha_plain_pairs=0,
            alpha_blurred_pairs=0, delta_gts=4000, delta_stage_gts=100, delta_repeats=1, batch_size=8,
            learning_rate=1e-3, width_multiplier=1.0, train_size=128, min_width=4, gt_chunk=200,
            degrade_chunk=32)

RECIPES = {
    # the quick preset's recipe (repeated pairs, constant 1e-3, 128 crops, MSE), DL-Delta at its
    # Table III width
    "base": {},
    "fresh": dict(fresh_degradations=True),
    "fresh_cosine": dict(fresh_degradations=True, lr_schedule="cosine", warmup_fraction=0.05, learning_rate=2e-3),
    "fresh_cosine_mae": dict(fresh_degradations=True, lr_schedule="cosine", warmup_fraction=0.05,
                             learning_rate=2e-3, loss="mae"),
    # (crops below 128 px are impossible: DL-Delta pools 7 times, so its input side is a multiple of 128)
    "fresh_cosine_half_width": dict(fresh_degradations=True, lr_schedule="cosine", warmup_fraction=0.05,
                                    learning_rate=2e-3, width_multiplier=0.5),
    "fresh_cosine_bs16": dict(fresh_degradations=True, lr_schedule="cosine", warmup_fraction=0.05,
                              learning_rate=3e-3, batch_size=16),
    # the cpu preset's width with the hole-weighted MSE (not in the paper; weight 1 + 20 on face pixels
    # the degradation broke, models.training.pixel_weights): the input holes carry most of the cpu
    # DL-Delta's Table IV error
    "fresh_cosine_half_width_hole20": dict(fresh_degradations=True, lr_schedule="cosine", warmup_fraction=0.05,
                                           learning_rate=2e-3, width_multiplier=0.5, hole_weight=20.0),
}


def test_pairs():
    import degrade
    from prnet_synth import procedural

    gt = np.stack([s["depth"] for s in procedural.generate(N_TEST, TEST_SEED, start=0, occluder="none")])
    gt = degrade.normalize_ground_truth(gt, "paper")
    return gt, np.asarray(degrade.degrade_batch(gt, seed=TEST_SEED, variant="plain"), np.uint16)


def _rmse(a, b, m):
    return float(np.sqrt(np.mean(((a[m] - b[m]) / 65535.0) ** 2))) if m.any() else float("nan")


def scores(gt: np.ndarray, deg: np.ndarray, out: np.ndarray) -> dict:
    """The study's error measures (values / 65535) on uint16 batches."""
    import scipy.ndimage as nd

    from experiments import metrics

    g, d, y = (x.astype(np.float64) for x in (gt, deg, out))
    face = gt != HOLE
    valid_in = face & (deg != HOLE)
    band = np.stack([f & ~nd.binary_erosion(f, iterations=4) for f in face])
    return {"face_rmse": float(np.mean(metrics.face_rmse(gt, out))),
            "valid_rmse": _rmse(y, g, valid_in), "valid_rmse_input": _rmse(d, g, valid_in),
            "hole_rmse": _rmse(y, g, face & (deg == HOLE)), "outline_rmse": _rmse(y, g, band)}


def predict(model, deg: np.ndarray) -> np.ndarray:
    from models.inference import any_size_copy
    from prnet_synth.conventions import from_float, to_float

    if model.input_shape[1] is not None and model.input_shape[1] != deg.shape[1]:
        model = any_size_copy(model)   # the training model has the crop's fixed shape: score whole images
    out = []
    for i in range(0, len(deg), 8):
        x = to_float(deg[i:i + 8])[..., None]
        out.append(from_float(np.asarray(model(x, training=False))[..., 0]))
    return np.concatenate(out)


def pilot_rate(p) -> float:
    """Training images per second of the preset's network, crop and batch (a few timed steps)."""
    import keras

    from models.enhancer_presets import width_for
    from models.training import _compile
    from models.unet import build_enhancer_network

    from models.training import _train_input_size

    net = build_enhancer_network("DL-Delta-1", width_for(p, "DL-Delta-1"), input_size=_train_input_size(p),
                                 min_width=p.min_width)
    _compile(net, replace(p, lr_schedule="constant"))
    x = np.random.default_rng(0).random((p.batch_size, p.train_size, p.train_size, 1), np.float32)
    net.train_on_batch(x, x)
    t = time.perf_counter()
    for _ in range(4):
        net.train_on_batch(x, x)
    keras.backend.clear_session()
    return 4 * p.batch_size / (time.perf_counter() - t)


def run_recipe(name: str, changes: dict, budget_s: float, eval_every_s: float, seed: int, work: Path,
               test, preset=None, label: str = "DL-Delta-1", on_rows=None, start=None) -> list[dict]:
    """Train ``label`` under the study preset with ``changes`` (or under ``preset``, a named training
    preset, into its weights folder), scoring it every ``eval_every_s`` training seconds."""
    import keras

    from models.enhancer_presets import EnhancerPreset, get_preset
    from models.training import train_one

    p = get_preset(preset) if preset is not None else EnhancerPreset(**{**BASE, **changes})
    if p.lr_schedule != "constant" and preset is None:
        # the schedule spans the curriculum: size it to what the budget trains (pilot rate)
        rate = pilot_rate(p)
        gts = max(p.delta_stage_gts, int(rate * budget_s / (3 * p.delta_epochs)))
        p = replace(p, delta_gts=gts, main_pairs=max(p.main_pairs, gts))
        print(f"{name}: pilot {rate:.1f} images/s -> schedule over {gts} ground truths x 3 variants x "
              f"{p.delta_epochs} epochs", flush=True)
    gt, deg = test
    rows = []
    t0 = time.perf_counter()
    state = {"last": 0.0, "images": 0, "train_s": 0.0, "t_batch": None}
    if start is not None:    # a resumed preset run continues its curve
        state.update(last=float(start["train_seconds"]), images=int(start["images"]),
                     train_s=float(start["train_seconds"]))

    class Probe(keras.callbacks.Callback):
        """Counts training images and training seconds (evaluation time excluded); scores the model."""

        def on_train_batch_begin(self, batch, logs=None):
            state["t_batch"] = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            state["train_s"] += time.perf_counter() - state["t_batch"]
            state["images"] += p.batch_size if state.get("size", p.train_size) != 256 else (p.full_size_batch or p.batch_size)
            if state["train_s"] - state["last"] >= eval_every_s:
                self._score(float(logs.get("loss", float("nan"))))

        def _score(self, loss):
            state["last"] = state["train_s"]
            s = scores(gt, deg, predict(self.model, deg))
            rows.append({"recipe": name, "train_seconds": round(state["train_s"], 1), "images": state["images"],
                         "loss": loss, **s})
            if on_rows is not None:
                on_rows(rows)
            print(f"{name:28s} {state['train_s']:7.0f} s {state['images']:7d} img  face {s['face_rmse']:.4f}  "
                  f"valid {s['valid_rmse']:.4f} (input {s['valid_rmse_input']:.4f})  holes {s['hole_rmse']:.4f}  "
                  f"outline {s['outline_rmse']:.4f}", flush=True)
            if preset is None and state["train_s"] >= budget_s:
                self.model.stop_training = True

    if preset is None:
        out = work / name
        if out.exists():
            shutil.rmtree(out)
        train_one(label, p, seed, out_dir=out, verbose=False, budget_seconds=budget_s * 1.5, callbacks=[Probe()])
    else:   # the preset's own training (resumable, weights to results/weights/<preset>/), probed
        res = train_one(label, p, seed, verbose=True, budget_seconds=budget_s, callbacks=[Probe()],
                        export_on_stop=True)
        print(f"{name}: {res['status']}", flush=True)
    print(f"{name}: {time.perf_counter() - t0:.0f} s wall", flush=True)
    return rows


def figure(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for name, sub in frame.groupby("recipe", sort=False):
        axes[0].plot(sub["train_seconds"], sub["face_rmse"], marker=".", label=name)
        axes[1].plot(sub["images"], sub["face_rmse"], marker=".", label=name)
        axes[2].plot(sub["train_seconds"], sub["valid_rmse"], marker=".", label=name)
    inp = frame["valid_rmse_input"].iloc[0]
    axes[2].axhline(inp, color="k", ls="--", lw=1, label="input itself")
    for ax, xl, yl in ((axes[0], "CPU training seconds (2 cores)", "face RMSE"),
                       (axes[1], "training images", "face RMSE"),
                       (axes[2], "CPU training seconds", "RMSE on valid input pixels")):
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    fig.suptitle("DL-Delta-1 learning study on the calibrated benchmark (held-out test pairs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def preset_run_name(preset: str, label: str) -> str:
    """The study's row name of a named-preset run: "cpu preset (DL-Delta-1)"; a preset with a hole-weighted
    loss says so ("cpu preset, hole weight 20 (DL-Delta-1)"), so that a rerun under a changed recipe starts
    its own curve instead of continuing the old one."""
    from models.enhancer_presets import get_preset

    w = float(get_preset(preset).hole_weight)
    return f"{preset} preset" + (f", hole weight {w:g}" if w > 0 else "") + f" ({label})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget-minutes", type=float, default=4.0, help="training time per recipe")
    ap.add_argument("--eval-every", type=float, default=30.0, help="seconds of training between scores")
    ap.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="results folder (default results/unets)")
    ap.add_argument("--force", action="store_true", help="rerun recipes already in the CSV")
    ap.add_argument("--preset-run", default=None, metavar="PRESET",
                    help="instead of the recipes: train LABEL under this training preset (e.g. cpu) into its "
                         "weights folder for --budget-minutes (resumable), scored like the recipes")
    ap.add_argument("--label", default="DL-Delta-1", help="with --preset-run: the enhancer to train")
    args = ap.parse_args(argv)
    from prnet_synth.atomic import atomic_write_csv, atomic_write_json, provenance
    from prnet_synth.paths import results_dir, work_dir

    out = Path(args.out) if args.out else results_dir() / "unets"
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "learning_study.csv"
    frame = pd.read_csv(csv) if csv.is_file() and not args.force else pd.DataFrame()
    test = test_pairs()
    if args.preset_run:
        name = preset_run_name(args.preset_run, args.label)
        before = frame

        def save(rows):    # after every score: a kill keeps the curve so far
            atomic_write_csv(csv, pd.concat([before, pd.DataFrame(rows)], ignore_index=True))

        mine = frame[frame["recipe"] == name] if len(frame) else frame
        rows = run_recipe(name, {}, args.budget_minutes * 60.0, args.eval_every, args.seed, work_dir("learning_study"),
                          test, preset=args.preset_run, label=args.label, on_rows=save,
                          start=mine.iloc[-1] if len(mine) else None)
        frame = pd.concat([before, pd.DataFrame(rows)], ignore_index=True)
        atomic_write_csv(csv, frame)
        args.recipes = []
    for name in args.recipes:
        if len(frame) and name in set(frame["recipe"]):
            print(f"{name}: in {csv.name} already (--force reruns)")
            continue
        rows = run_recipe(name, RECIPES[name], args.budget_minutes * 60.0, args.eval_every, args.seed,
                          work_dir("learning_study"), test)
        frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
        atomic_write_csv(csv, frame)
    prov = provenance("study", args.seed, f"generator + paper-default degradation, {N_TEST} held-out test pairs",
                      budget_minutes=args.budget_minutes, base=BASE,
                      recipes={k: RECIPES[k] for k in frame["recipe"].unique() if k in RECIPES},
                      preset_runs=[k for k in frame["recipe"].unique() if k not in RECIPES])
    atomic_write_json(out / "learning_study.json", prov)
    figure(frame, out / "learning_study.png")
    last = frame.groupby("recipe", sort=False).tail(1)
    print(last[["recipe", "train_seconds", "images", "face_rmse", "valid_rmse", "valid_rmse_input",
                "hole_rmse", "outline_rmse"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
