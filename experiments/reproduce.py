"""The main job: the whole Schlett chain end to end (``make reproduce`` runs the quick preset).

synthesis (01) -> test pairs (02) -> the U-Nets' weights (03: trained only with ``--train PRESET``;
by default the shipped weights, ``--weights best`` = paper > cpu > quick) -> Table IV + Fig. 8 (04) ->
Table V + Fig. 9 (05) -> Table VI + Fig. 10 (06) -> Table VII (07) -> Figs. 13-18 (08) ->
compare report (09) -> attack suite (10).

Each step is its numbered script, run in a fresh Python process. The chain is resumable: every
script skips work whose outputs exist for the same preset/seed/data/weights (step 03 skips training
when the weights of the training preset exist), so re-running after a kill continues where it stopped; ``--force``
redoes everything. A failed step is logged; the steps that need its output are skipped, the others
still run. ``results/schlett/reproduce_log.csv`` records each step's time and outcome (every invocation is
appended, with its start time in ``run_started_utc``).

Without ``--data`` everything runs on the embedded default (synthetic data), and the outputs say so;
``--gt-dir DIR`` takes the ground truth of steps 01 and 03 from a folder of PNGs (e.g. PRNet on MegaFace).
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pandas as pd

from prnet_synth.atomic import atomic_write_csv, provenance, stamp_provenance
from experiments.schlett.steps import UPSTREAM

__all__ = ["STEPS", "DEPENDS", "main", "plan", "resolve_step"]

log = logging.getLogger("reproduce")

HERE = Path(__file__).resolve().parent
STEPS = (
    ("01", "01_synthesize_ground_truth.py"),
    ("02", "02_make_test_pairs.py"),
    ("03", "03_train_enhancers.py"),
    ("04", "04_table4_synthetic_rmse.py"),
    ("05", "05_table5_roughness_holes.py"),
    ("06", "06_table6_falsification.py"),
    ("07", "07_table7_landmarks_pad.py"),
    ("08", "08_figures_qualitative.py"),
    ("09", "09_compare_with_paper.py"),
    ("10", "10_attack_suite.py"),
)
# A step is skipped when one of these failed (training failing does not stop the tables: the DL
# enhancers are then reported as "weights missing"). The graph is the one the steps' resume stamps
# follow (``experiments.schlett.steps.UPSTREAM``), stated there.
DEPENDS = {step: set(upstream) for step, upstream in UPSTREAM.items()}
REAL_DATA_STEPS = {"05", "06", "07", "08"}
GT_DIR_STEPS = {"01", "03"}


def _valid_ids() -> str:
    return ", ".join(f"{sid} ({script[:-3]})" for sid, script in STEPS)


def resolve_step(token: str) -> str:
    """The id of the step ``token`` names: a step number ("9", "09" and "009" are step 09) or a
    unique part of a script's name ("attack", "table4", "09_compare_with_paper.py").
    ValueError, listing the valid ids, for an unknown or ambiguous token."""
    t = str(token).strip()
    if t.isdigit():
        hits = [sid for sid, _ in STEPS if int(sid) == int(t)]
    elif t:
        low = t.lower().removesuffix(".py")
        hits = [sid for sid, script in STEPS if low in script.lower().removesuffix(".py")]
    else:
        hits = []
    if not hits:
        raise ValueError(f"unknown step {token!r}; valid steps: {_valid_ids()}")
    if len(hits) > 1:
        raise ValueError(f"ambiguous step {token!r}: it matches steps {', '.join(hits)}; valid steps: {_valid_ids()}")
    return hits[0]


def plan(only: Optional[list[str]] = None, start: Optional[str] = None) -> list[tuple[str, str]]:
    """The steps to run, in order: from ``start`` on (if given), only those in ``only`` (if given).
    Step ids go through ``resolve_step`` ("9" is "09"); an unknown or ambiguous one is a ValueError."""
    steps = list(STEPS)
    if start is not None:
        first = int(resolve_step(start))
        steps = [s for s in steps if int(s[0]) >= first]
    if only:
        wanted = {resolve_step(t) for t in only}
        steps = [s for s in steps if s[0] in wanted]
    return steps


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Run the Schlett experiments end to end.")
    ap.add_argument("--preset", default="quick", choices=("quick", "paper"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", nargs="*", default=[], metavar="KIND=PATH",
                    help="kinect=<KinectFaceDB root> d435=<recordings>; default: embedded synthetic data")
    ap.add_argument("--from", dest="start", default=None,
                    help="first step: a number (4 or 04) or a unique part of a script name")
    ap.add_argument("--only", nargs="*", default=None,
                    help="run only these steps (e.g. 4 05 attack); unknown or ambiguous ids are an error")
    from experiments.schlett.cli import add_chain_arguments

    add_chain_arguments(ap)
    ap.add_argument("--force", action="store_true", help="redo finished steps")
    ap.epilog = "steps: " + _valid_ids()
    args = ap.parse_args(argv)
    try:
        steps = plan(args.only, args.start)
    except ValueError as exc:
        ap.error(str(exc))                       # exit status 2, nothing run
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = dict(os.environ)                       # TF_CPP_MIN_LOG_LEVEL: set by prnet_synth.tf_env on import
    root = HERE.parent
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    from experiments.schlett.io import out_dir

    log_path = out_dir() / "reproduce_log.csv"
    # the log keeps every invocation (a resumed chain shows both runs)
    earlier = pd.read_csv(log_path, dtype={"step": str}) if log_path.is_file() else None
    run_id = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    records, failed = [], set()
    t_all = time.perf_counter()
    for step, script in steps:
        blocked = DEPENDS.get(step, set()) & failed
        if blocked:
            log.error("step %s skipped: it needs step(s) %s, which failed", step, sorted(blocked))
            failed.add(step)
            records.append({"run_started_utc": run_id, "step": step, "script": script, "seconds": 0.0,
                            "returncode": None, "status": f"skipped (needs {','.join(sorted(blocked))})"})
            continue
        weights = args.train if args.train != "none" and args.weights == "best" else args.weights
        cmd = [sys.executable, str(HERE / script), "--preset", args.preset, "--seed", str(args.seed),
               "--weights", weights]
        if args.data and step in REAL_DATA_STEPS:
            cmd += ["--data", *args.data]
        if step == "03":
            cmd += ["--train", args.train]
        if args.gt_dir and step in GT_DIR_STEPS:
            cmd += ["--gt-dir", args.gt_dir]
        if args.force:
            cmd.append("--force")
        log.info("step %s: %s", step, " ".join(cmd[1:]))
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=root, env=env).returncode
        secs = time.perf_counter() - t0
        status = "ok" if rc == 0 else "failed"
        if rc != 0:
            failed.add(step)
            log.error("step %s failed (exit %d) after %.0f s", step, rc, secs)
        else:
            log.info("step %s finished in %.0f s", step, secs)
        records.append({"run_started_utc": run_id, "step": step, "script": script, "seconds": round(secs, 1),
                        "returncode": rc, "status": status})
        frame = pd.DataFrame(records)
        prov = provenance(args.preset, args.seed, ";".join(args.data) or "embedded default")
        stamp_provenance(frame, prov, ("preset", "seed", "data", "code_version"))
        if earlier is not None:
            frame = pd.concat([earlier, frame], ignore_index=True)
        atomic_write_csv(log_path, frame)
    total = time.perf_counter() - t_all
    log.info("chain finished in %.0f s (%.1f min); failed steps: %s", total, total / 60, sorted(failed) or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
