"""Trial of a U-Net quick-preset variant: train, then score on held-out faces and on the attack sheets.

How the quick preset of ``models/enhancer_presets.py`` was chosen (REPRODUCTION_NOTES.md, "The quick
preset"): each candidate is the quick preset with some fields replaced, trained for the given labels
into its own folder, then scored on

* 32 held-out synthetic test pairs (generator seed and degradation seed 1,000,003, plain variant):
  face-area RMSE (``experiments.metrics.face_rmse``), and where the squared error sits: face pixels
  that are input holes, face pixels the net declares background (output > 0.9), the rest (with the
  input's own error there, in mm);
* the attack suite's flat / tilted / bent sheets (``experiments.schlett.attack_suite``): 99th-percentile
  relief in front of the input, mm (bound 5 mm), and the median depth put into the sheets' input
  holes beside the true sheet depth there.

    python benchmarks/quick_preset_trial.py NAME LABELS '{"width_multiplier": 0.5, "delta_repeats": 1}'
    e.g. NAME=d1_x5 LABELS=DL-Delta-1 (DL-Delta-n trains DL-Delta-1..n-1 first)

    python benchmarks/quick_preset_trial.py NAME DL-Delta-1 '{...}' --every-stage
    one model without a predecessor, scored after every training stage (the model as trained so far,
    not the best-loss one): how face RMSE and sheet relief move with the training images seen

Weights and logs go to ``work_data/quick_trials/NAME`` (git-ignored); CPU training is not
bit-reproducible, so repeat a trial before trusting differences below a few hundredths.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from prnet_synth.conventions import HOLE, MM_PER_UNIT  # noqa: E402

TEST_SEED = 1_000_003
N_TEST = 32


def test_pairs():
    import degrade
    from prnet_synth import procedural

    gt = np.stack([s["depth"] for s in procedural.generate(N_TEST, TEST_SEED, start=0)])
    return gt, np.asarray(degrade.degrade_batch(gt, seed=TEST_SEED, variant="plain"), np.uint16)


def error_breakdown(gt, deg, out) -> dict:
    """Shares of the face-area squared error (values / 65535) by where it sits."""
    g, d, y = (a.astype(np.float64) / 65535.0 for a in (gt, deg, out))
    face = gt != HOLE
    se = (y - g) ** 2
    hole, bg = (deg == HOLE) & face, (y > 0.9) & face
    rest = face & ~(deg == HOLE) & ~(y > 0.9)
    total = se[face].sum()
    res = {}
    for name, m in (("input_hole", hole), ("declared_background", bg), ("rest", rest)):
        res[name] = {"face_fraction": float(m.sum() / face.sum()), "error_share": float(se[m].sum() / total),
                     "rmse_mm": float(np.sqrt(se[m].mean()) * 65535 * MM_PER_UNIT) if m.any() else 0.0}
    valid = face & (deg != HOLE)
    res["rest"]["input_rmse_mm"] = float(np.sqrt(((d - g) ** 2)[valid].mean()) * 65535 * MM_PER_UNIT)
    return res


def hole_fill_mm(out, attack) -> tuple[float, float]:
    """Median depth (mm) an enhancer puts into the input holes of an attack sheet, and the median true
    (clean) sheet depth there: tells filling from the neighbours from filling with a fixed prior."""
    holes = (attack["input"] == HOLE) & attack["area"] & (attack["clean"] != HOLE)
    if not holes.any():
        return float("nan"), float("nan")
    return (float(np.median(out[holes]) * MM_PER_UNIT), float(np.median(attack["clean"][holes]) * MM_PER_UNIT))


def score(label: str, weights, gt, deg, sheets) -> dict:
    """Face RMSE, sheet relief (and its parts), hole fill and error shares of one weight file."""
    from experiments.schlett import attack_suite as A
    from experiments import metrics
    from experiments.enhancers import get_enhancer

    enh = get_enhancer(label, weights=str(weights))
    y = enh.enhance(deg)
    ys = enh.enhance(np.stack([a["input"] for a in sheets]))
    parts = [A.relief_parts(o, a["input"], a["area"]) for o, a in zip(ys, sheets)]
    return {"face_rmse": float(metrics.face_rmse(gt, y).mean()),
            "relief": [A.relief_mm(o, a["area"], reference=a["input"]) for o, a in zip(ys, sheets)],
            "parts": {k: float(np.nanmean([p[k] for p in parts]))
                      for k in ("relief_in_holes_mm", "relief_hole_edge_mm", "relief_away_mm")},
            "fill": [hole_fill_mm(o, a) for o, a in zip(ys, sheets)],
            "shares": error_breakdown(gt, deg, y)}


def _relief_text(sc: dict) -> str:
    return (" / ".join(f"{v:.1f}" for v in sc["relief"]) + "; mean in holes / at hole edges / away "
            + " / ".join(f"{v:.1f}" for v in sc["parts"].values()))


def trajectory(name: str, label: str, preset, out) -> int:
    """Train ``label`` stage by stage (resumable training, stopped after each stage's epochs) and score
    the model as it stands after every stage."""
    from experiments.schlett import attack_suite as A
    from experiments import metrics
    from models import training as T

    if T.previous_model(label) is not None:
        print(f"--every-stage: {label} starts from {T.previous_model(label)}; pick a model without one")
        return 2
    gt, deg = test_pairs()
    sheets = [a for a in A.make_attacks(424242, 2) if a["kind"] in A.PLANE_KINDS]
    print(f"  None: face RMSE {metrics.face_rmse(gt, deg).mean():.4f}")
    source, cache = T.make_source(None, 0, preset.gt_chunk), T.PairCache()
    weights, _, work = T._paths(label, preset.name, out)
    images, t_train, t0 = 0, 0.0, time.perf_counter()
    for sess in T.curriculum(label, preset):
        for j in range(sess.n_stages):
            t1 = time.perf_counter()
            r = T.train_one(label, preset, 0, out_dir=out, source=source, verbose=False,
                            stop_after_epochs=sess.epochs, pair_cache=cache)
            t_train += time.perf_counter() - t1
            images += sess.images(j)
            if r["status"] == "trained":
                path = weights
            else:
                path = work / json.loads((work / "state.json").read_text())["latest"]
            sc = score(label, path, gt, deg, sheets)
            print(f"  {sess.name} stage {j + 1}/{sess.n_stages}: {images:,} images, training {t_train:.0f} s: "
                  f"face RMSE {sc['face_rmse']:.4f}; sheet relief mm {_relief_text(sc)}", flush=True)
    print(f"{name}: {time.perf_counter() - t0:.0f} s in all")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    every = "--every-stage" in argv
    argv = [a for a in argv if a != "--every-stage"]
    if len(argv) != 3:
        print(__doc__)
        return 2
    name, labels, changes = argv[0], argv[1].split(","), json.loads(argv[2])
    from experiments.schlett import attack_suite as A
    from experiments import metrics
    from models import training as T
    from models.enhancer_presets import get_preset
    from prnet_synth.paths import work_dir

    changes = {k: tuple(tuple(x) for x in v) if isinstance(v, list) else v for k, v in changes.items()}
    preset = replace(get_preset("quick"), **changes)          # name stays "quick": same data seeds
    out = work_dir() / "quick_trials" / name
    if every:
        if len(labels) != 1:
            print("--every-stage: give one label")
            return 2
        print(f"{name}: {changes}; scored after every stage")
        return trajectory(name, labels[0], preset, out)
    t0 = time.perf_counter()
    results = {r["label"]: r for r in T.train_enhancers(labels, preset, seed=0, out_dir=out, verbose=False)}
    print(f"{name}: {changes}; training {time.perf_counter() - t0:.0f} s")
    gt, deg = test_pairs()
    sheets = [a for a in A.make_attacks(424242, 2) if a["kind"] in A.PLANE_KINDS]
    print(f"  None: face RMSE {metrics.face_rmse(gt, deg).mean():.4f}")
    for label, r in results.items():
        sc = score(label, out / f"{label}.keras", gt, deg, sheets)
        print(f"  {label}: face RMSE {sc['face_rmse']:.4f}, best loss "
              f"{r.get('best_loss', float('nan')):.4f}, {r.get('seconds', 0):.0f} s; sheet relief mm {_relief_text(sc)}")
        print("    sheet holes, median depth filled in / true there (mm): "
              + " / ".join(f"{f:.0f} vs {t:.0f}" for f, t in sc["fill"]))
        shares = sc["shares"]
        print("    error shares: " + ", ".join(f"{k} {v['error_share']:.2f} (of {100 * v['face_fraction']:.1f} % "
                                               f"face px, {v['rmse_mm']:.1f} mm)" for k, v in shares.items())
              + f"; input's own error on valid face px {shares['rest']['input_rmse_mm']:.1f} mm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
