"""Learning studies of the Pini (001) and Fabbri (003) reproductions: train one model for a budget of
CPU seconds and score it every few CPU seconds on fixed training and held-out images.

``train_for_budget`` drives ``train_on_batch`` of a compiled model (a ``ConditionalGAN`` or a plain
generator) over shuffled mini-batches; the CPU time of the process (all threads, ``time.process_time``)
spent *training* is the clock, the scoring is not counted. ``pixel_l1`` is the L1 column of the
tables (experiments.metrics.l1_norm on 0..255 values, ground-truth zeros excluded, predictions
clipped below at 1), averaged over the images. ``append_rows`` writes a recipe's rows into the study
CSV atomically, replacing earlier rows of the same recipe, so a killed study resumes with the recipes
not yet done. Used by ``benchmarks/pini_learning_study.py`` and ``benchmarks/fabbri_learning_study.py``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

__all__ = ["pixel_l1", "train_for_budget", "append_rows", "done_recipes", "generator_of", "plot_curves",
           "output_path", "pending_recipes", "study_parser"]


def pixel_l1(gt_u8: np.ndarray, pred_u8: np.ndarray) -> float:
    """Mean over images of the per-image L1 (0..255) on ground-truth pixels > 0 (Table 1 / Table I)."""
    from experiments.metrics import l1_norm

    gt, pred = np.asarray(gt_u8), np.asarray(pred_u8)
    if gt.shape != pred.shape:
        raise ValueError(f"ground truth {gt.shape} and prediction {pred.shape} differ in shape")
    vals = [l1_norm(gt[i].astype(np.float64), pred[i].astype(np.float64), eps=1.0) for i in range(len(gt))]
    return float(np.nanmean(vals)) if vals else float("nan")


def generator_of(model):
    from models.gan_common import ConditionalGAN

    return model.generator if isinstance(model, ConditionalGAN) else model


def train_for_budget(model, x, y, *, batch_size: int, budget_cpu_s: float, eval_every_cpu_s: float,
                     evaluate: Callable[[object], dict], seed: int = 0, max_steps: Optional[int] = None,
                     log: Callable[[str], None] = print, label: str = "study") -> list[dict]:
    """Train ``model`` on (x, y) (arrays, or lists of arrays for multi-input models) until
    ``budget_cpu_s`` CPU seconds of training (or ``max_steps``); call ``evaluate(model)`` at the
    start and every ``eval_every_cpu_s``; return one row per evaluation: cpu_seconds, wall_seconds,
    steps, images, the last batch's training logs (prefixed ``log_``) and ``evaluate``'s dict."""
    if budget_cpu_s <= 0 or eval_every_cpu_s <= 0:
        raise ValueError("budget_cpu_s and eval_every_cpu_s must be positive")
    xs = x if isinstance(x, (list, tuple)) else [x]
    n = len(xs[0])
    if n == 0 or any(len(a) != n for a in xs) or len(y) != n:
        raise ValueError(f"inputs and targets must be non-empty and of one length, got {[len(a) for a in xs]} / {len(y)}")
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    cpu = wall = 0.0
    steps = images = 0
    last_logs: dict = {}

    def score():
        row = {"cpu_seconds": round(cpu, 2), "wall_seconds": round(wall, 2), "steps": steps, "images": images,
               **{f"log_{k}": float(v) for k, v in last_logs.items()}, **evaluate(model)}
        rows.append(row)
        log(f"[{label}] cpu {cpu:7.1f} s, {steps} steps: " +
            ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and not k.startswith("log_")))

    score()
    next_eval = eval_every_cpu_s
    while cpu < budget_cpu_s and (max_steps is None or steps < max_steps):
        order = rng.permutation(n)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            idx = order[i:i + batch_size]
            bx = [a[idx] for a in xs] if isinstance(x, (list, tuple)) else xs[0][idx]
            c0, w0 = time.process_time(), time.time()
            out = model.train_on_batch(bx, y[idx], return_dict=True)
            cpu += time.process_time() - c0
            wall += time.time() - w0
            steps += 1
            images += len(idx)
            last_logs = dict(out or {})
            if cpu >= next_eval:
                score()
                next_eval += eval_every_cpu_s
            if cpu >= budget_cpu_s or (max_steps is not None and steps >= max_steps):
                break
    if rows[-1]["steps"] != steps:
        score()
    return rows


def study_parser(doc: str, recipes: Sequence[str], default_csv: str):
    """The command line shared by the cGAN learning studies: ``--budget``, ``--eval-every``,
    ``--recipes`` (choices: ``recipes``), ``--seed``, ``--force``, ``--out`` (default ``default_csv``,
    a path under results/). Callers add their own options."""
    import argparse

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=120.0, help="CPU seconds of training per recipe")
    ap.add_argument("--eval-every", type=float, default=30.0, help="CPU seconds between scorings")
    ap.add_argument("--recipes", nargs="*", default=list(recipes), choices=list(recipes))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="rerun recipes already in the CSV")
    ap.add_argument("--out", default=None, help=f"CSV path (default {default_csv})")
    return ap


def output_path(args, default_csv: str) -> Path:
    """The study CSV: ``--out``, else ``default_csv`` ("results/<...>.csv") under ``results_dir()``."""
    from prnet_synth.paths import results_dir

    if args.out:
        return Path(args.out)
    rel = Path(default_csv)
    return results_dir().joinpath(*rel.parts[1:]) if rel.parts[:1] == ("results",) else rel


def pending_recipes(recipes: Sequence[str], out, force: bool, say=print) -> list[str]:
    """``recipes`` without those whose rows the CSV at ``out`` already holds (all of them with
    ``force``), in order; each skipped one is said."""
    done = set() if force else done_recipes(out)
    for recipe in recipes:
        if recipe in done:
            say(f"[{recipe}] already in {Path(out).name}, skipped (--force reruns)")
    return [r for r in recipes if r not in done]


def done_recipes(path) -> set[str]:
    path = Path(path)
    if not path.is_file():
        return set()
    df = pd.read_csv(path)
    if "recipe" not in df.columns:
        raise ValueError(f"{path}: a learning-study CSV needs a 'recipe' column, has {list(df.columns)}")
    return set(df["recipe"].astype(str))


def append_rows(path, recipe: str, rows: list[dict], extra: Optional[dict] = None) -> pd.DataFrame:
    """Replace ``recipe``'s rows in the CSV at ``path`` by ``rows`` (atomic write). The new rows carry
    the code version that made them (``code_version``; other recipes' rows keep theirs)."""
    from prnet_synth.atomic import atomic_write_csv, code_version

    path = Path(path)
    new = pd.DataFrame([{"recipe": recipe, **(extra or {}), **r} for r in rows])
    new["code_version"] = code_version()
    if path.is_file():
        old = pd.read_csv(path)
        new = pd.concat([old[old["recipe"].astype(str) != recipe], new], ignore_index=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(path, new)
    return new


def plot_curves(csv_path, png_path, panels: Sequence[tuple[str, Sequence[str]]], title: str = "") -> None:
    """One panel per (y label, columns): every recipe's column against training CPU seconds
    (solid: the first column, dashed: the second). Written atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prnet_synth.atomic import atomic_write_bytes

    df = pd.read_csv(csv_path)
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
    for ax, (ylabel, cols) in zip(axes[0], panels):
        for i, (recipe, g) in enumerate(df.groupby("recipe", sort=False)):
            for c, style in zip(cols, ("-", "--", ":")):
                if c in g.columns and g[c].notna().any():
                    ax.plot(g["cpu_seconds"], g[c], style, color=f"C{i}", marker=".", label=f"{recipe} {c}")
        ax.set_xlabel("training CPU seconds")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(png_path, buf.getvalue())
