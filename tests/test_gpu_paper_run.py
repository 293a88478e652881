"""The device script benchmarks/gpu_paper_run.sh, dry-run on this CPU at a tiny size (issue #23)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_device_script_dry_run(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    r = subprocess.run(["bash", "benchmarks/gpu_paper_run.sh", "--dry-run"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out / "gpu_paper_run.json").read_text())
    assert res["dry_run"] is True and res["device"] == "cpu" and res["label"] == "DL-Delta-1"
    assert res["stored_dtype"] == "float16" and (out / res["weights"]).is_file()
    assert 0 < res["images_seen"] <= res["images_planned"]
    assert res["schedule_done"] == pytest.approx(res["images_seen"] / res["images_planned"], abs=1e-3)
    assert res["achieved_tflops"] == pytest.approx(3 * res["gflop_per_image_256"] * res["train_images_per_s"] / 1e3)
    assert res["test_pairs"] == 200 and set(res["face_rmse"]) == {"None", "DL-Delta-1"}
    # "None" returns the degraded input: its RMSE is the test pairs' own, recomputed here
    from experiments import metrics

    vals = []
    for shard in sorted(out.rglob("pairs_*.npz")):
        with np.load(shard, allow_pickle=True) as z:
            vals += np.atleast_1d(metrics.face_rmse(z["gt"], z["degraded"])).tolist()
    assert len(vals) == 200
    assert res["face_rmse"]["None"] == pytest.approx(float(np.mean(vals)), rel=1e-6)
