"""experiments.reproduce: step order, resumable plan, and what a failed step blocks."""
from __future__ import annotations

import subprocess
import types

import pandas as pd

from experiments import reproduce


def test_plan_order_and_selection():
    assert [s for s, _ in reproduce.plan()] == [f"{i:02d}" for i in range(1, 11)]
    assert [s for s, _ in reproduce.plan(start="05")] == ["05", "06", "07", "08", "09", "10"]
    assert [s for s, _ in reproduce.plan(only=["09", "04"])] == ["04", "09"]


def test_failed_step_blocks_only_its_dependents(results_tmp, monkeypatch):
    calls = []
    real_run = subprocess.run

    def fake_run(cmd, cwd=None, env=None, **kw):
        if cmd[0] == "git":                      # code_version() of the provenance record
            return real_run(cmd, cwd=cwd, env=env, **kw)
        script = cmd[1].rsplit("/", 1)[-1]
        calls.append((script, cmd[2:]))
        return types.SimpleNamespace(returncode=1 if script.startswith("01_") else 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    rc = reproduce.main(["--preset", "quick", "--seed", "7", "--data", "kinect=/x"])
    assert rc == 1
    ran = [c[0][:2] for c in calls]
    # 01 failed: 02 needs it, 04 and 08 need 02; training (03) and the real-data steps still run
    assert ran == ["01", "03", "05", "06", "07", "09", "10"]
    assert all(c[1][:4] == ["--preset", "quick", "--seed", "7"] for c in calls)
    assert [c for c in calls if c[0].startswith("05")][0][1][-2:] == ["--data", "kinect=/x"]
    assert not any("--data" in c[1] for c in calls if c[0][:2] in ("01", "03", "09", "10"))
    log = pd.read_csv(results_tmp / "schlett" / "reproduce_log.csv", dtype={"step": str})
    status = dict(zip(log["step"], log["status"]))
    assert status["01"] == "failed" and status["02"].startswith("skipped") and status["08"].startswith("skipped")
    assert status["10"] == "ok" and (log["seed"] == 7).all()


def test_step_stamps_follow_upstream(results_tmp):
    import argparse
    import time

    from experiments.schlett import steps

    args = argparse.Namespace(preset="quick", seed=1, data={}, force=False)
    out = results_tmp / "x.csv"
    out.write_text("x\n")
    steps.mark_done("01", args, [out])
    steps.mark_done("02", args, [out])
    assert steps.is_done("02", args, [out])
    assert not steps.is_done("02", argparse.Namespace(preset="quick", seed=2, data={}, force=False), [out])
    assert not steps.is_done("02", argparse.Namespace(preset="quick", seed=1, data={}, force=True), [out])
    time.sleep(1.1)                      # provenance times have 1 s resolution
    steps.mark_done("01", args, [out])   # 01 redone: 02 must be redone too
    assert not steps.is_done("02", args, [out])
    out.unlink()
    assert not steps.is_done("01", args, [out])
