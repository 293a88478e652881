"""Run every benchmark script (``benchmarks/bench_*.py``) one after another, each in its own
process with its default settings, and print their tables. ``make bench`` calls this.

    python -m benchmarks.run_all [--only NAME ...]

Each script measures its own speed ratio (ours vs a reference) within one run; run them on a
quiet machine, since they share its cores with anything else that is running.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="names such as enhancers, degrade, unets")
    args = ap.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem[len("bench_"):] in args.only]
    failed = []
    for script in scripts:
        print(f"\n===== {script.stem} =====", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"----- {script.stem}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
        if rc:
            failed.append(script.stem)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
