"""Issue #21, item 3: experiments.reproduce step ids ("9" is "09"; unknown or ambiguous ids are errors)."""
from __future__ import annotations

import subprocess
import types

import pytest

from experiments import reproduce

VALID = [s for s, _ in reproduce.STEPS]


def _ids(steps):
    return [s for s, _ in steps]


def test_plan_accepts_unpadded_ids():
    assert _ids(reproduce.plan(only=["9"])) == ["09"]
    assert _ids(reproduce.plan(only=["9", "4"])) == ["04", "09"]
    assert _ids(reproduce.plan(start="9")) == ["09", "10"]
    assert _ids(reproduce.plan(start="009")) == ["09", "10"]
    assert _ids(reproduce.plan(start="10")) == ["10"]
    assert _ids(reproduce.plan(only=["1"])) == ["01"]
    assert _ids(reproduce.plan(start="5", only=["4", "06"])) == ["06"]


def test_plan_accepts_script_names():
    assert _ids(reproduce.plan(only=["attack"])) == ["10"]
    assert _ids(reproduce.plan(only=["09_compare_with_paper.py"])) == ["09"]


@pytest.mark.parametrize("bad", ["99", "0", "11", "x", "-1", ""])
def test_plan_refuses_unknown_ids(bad):
    with pytest.raises(ValueError, match=r"unknown step.*01.*10"):
        reproduce.plan(only=[bad])
    with pytest.raises(ValueError, match=r"unknown step.*01.*10"):
        reproduce.plan(start=bad)


def test_plan_refuses_ambiguous_ids():
    with pytest.raises(ValueError, match=r"ambiguous.*'table'.*04.*05.*06.*07"):
        reproduce.plan(only=["table"])


@pytest.fixture()
def fake_steps(monkeypatch):
    calls = []
    real_run = subprocess.run

    def fake_run(cmd, cwd=None, env=None, **kw):
        if cmd[0] == "git":
            return real_run(cmd, cwd=cwd, env=env, **kw)
        calls.append(cmd[1].rsplit("/", 1)[-1][:2])
        return types.SimpleNamespace(returncode=0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    return calls


def test_main_runs_the_unpadded_step(results_tmp, fake_steps):
    assert reproduce.main(["--only", "9"]) == 0
    assert fake_steps == ["09"]
    assert reproduce.main(["--from", "9"]) == 0
    assert fake_steps == ["09", "09", "10"]


@pytest.mark.parametrize("argv", [["--only", "99"], ["--from", "99"], ["--only", "04", "42"], ["--only", "table"]])
def test_main_rejects_bad_ids_with_usage_error(results_tmp, fake_steps, capsys, argv):
    with pytest.raises(SystemExit) as exc:
        reproduce.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "step" in err and all(s in err for s in VALID)
    assert fake_steps == []                               # nothing ran
    assert not (results_tmp / "schlett" / "reproduce_log.csv").exists()
