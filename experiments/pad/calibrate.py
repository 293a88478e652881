"""Calibration of the PAD thresholds on synthetic sequences: per kind (bona fide, flat and bent printed
photos), the range of the IV-G PAD error and of the nose protrusion, the per-frame pass rate and the
temporal decisions, for one enhancer.

    python -m experiments.pad.calibrate [--faces 9] [--frames 12] [--enhancer None] [--weights-preset best]
                                        [--seed 0] [--out FILE]

Writes ``results/pad/calibration_<enhancer>.csv`` (one row per face and kind) with the sidecar
``calibration_<enhancer>.json`` (provenance: code version, the enhancer's weights preset, "n/a" for
enhancers without weights, the PAD configuration, seed, faces, frames; the columns; the row count),
and prints a summary.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

import numpy as np


def weights_preset_of(enhancer: str, preset: str = "best") -> str:
    """The weights preset the enhancer ``enhancer`` runs with ("best" resolved), "n/a" without weights."""
    from experiments.enhancers import DL_LABELS, get_enhancer

    return get_enhancer(enhancer, preset=preset).preset if enhancer in DL_LABELS else "n/a"


def calibrate(faces: int = 9, frames: int = 12, enhancer: str = "None", seed: int = 0, config=None,
              weights_preset: str = "best"):
    import pandas as pd

    from experiments.datasets.realsense import RGBDFrame
    from experiments.pad import realtime as rt
    from experiments.pad.synthetic import KINDS, face_sample, make_sequence

    cfg = config or rt.PRESETS["default"]
    enh = rt.make_enhancer(enhancer, preset=weights_preset)
    rows = []
    for f in range(faces):
        face = face_sample(seed + f)
        for kind in KINDS:
            colors, depths = make_sequence(kind, frames, seed=seed + f, face=face)
            proc = rt.PadProcessor(enh, cfg)
            errs, prot, passed, found = [], [], [], 0
            for i, (c, d) in enumerate(zip(colors, depths)):
                res = proc.process(RGBDFrame(i, c, d, 0.001))
                if not res.faces:
                    continue
                found += 1
                fr = res.faces[0]
                errs.append(fr.pad_error)
                p = fr.plausibility.get("nose_protrusion_mm")
                if p is not None:
                    prot.append(p)
                passed.append(fr.passed)
            proc.close()
            decisions = [t.decision for t in proc.all_tracks()]
            rows.append({
                "face_seed": seed + f, "kind": kind, "enhancer": enhancer, "frames": frames, "frames_with_face": found,
                "pad_error_min": min(errs) if errs else np.nan, "pad_error_max": max(errs) if errs else np.nan,
                "protrusion_mm_min": min(prot) if prot else np.nan, "protrusion_mm_max": max(prot) if prot else np.nan,
                "pass_rate": float(np.mean(passed)) if passed else np.nan,
                "decision": decisions[0] if len(decisions) == 1 else ";".join(decisions) or "no face"})
    return pd.DataFrame(rows)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--faces", type=int, default=9)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--enhancer", default="None")
    ap.add_argument("--weights-preset", default="best",
                    help="weights of a deep-learning enhancer: best (paper > cpu > quick, the first shipped) "
                         "or a preset name")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from prnet_synth.atomic import atomic_write_csv, atomic_write_json, provenance
    from prnet_synth.paths import results_dir

    df = calibrate(args.faces, args.frames, args.enhancer, args.seed, weights_preset=args.weights_preset)
    out = Path(args.out) if args.out else results_dir() / "pad" / f"calibration_{args.enhancer}.csv"
    atomic_write_csv(out, df)
    prov = provenance(weights_preset_of(args.enhancer, args.weights_preset), args.seed,
                      "synthetic sequences (procedural faces)", faces=args.faces, frames=args.frames,
                      enhancer=args.enhancer, pad_config="default")
    atomic_write_json(out.with_suffix(".json"), {"provenance": prov, "columns": list(df.columns), "rows": len(df)})
    agg = df.groupby("kind").agg(pad_error_min=("pad_error_min", "min"), pad_error_max=("pad_error_max", "max"),
                                 protrusion_mm_min=("protrusion_mm_min", "min"),
                                 protrusion_mm_max=("protrusion_mm_max", "max"), pass_rate=("pass_rate", "mean"),
                                 decisions=("decision", lambda s: ", ".join(f"{k}: {v}" for k, v in s.value_counts().items())))
    with __import__("pandas").option_context("display.width", 200, "display.max_colwidth", 60):
        print(agg.round(3).to_string())
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
