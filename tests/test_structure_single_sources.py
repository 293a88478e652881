"""Issue 22: facts stated once. The U-Net label tuple lives in models.unet (experiments.enhancers
aliases it), the Schlett step graph in experiments.schlett.steps (experiments.reproduce derives its
DEPENDS from it)."""
from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("prnet_synth", "degrade", "models", "experiments")
UNETS = ("DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta-1", "DL-Delta-2", "DL-Delta-3", "DL-Delta-4")


def _sources():
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            yield path, ast.parse(path.read_text(), str(path))


# ----------------------------------------------------------------------------- the U-Net labels
def test_the_unet_labels_are_one_tuple():
    from experiments import enhancers
    from models import training, unet

    assert unet.ENHANCER_LABELS == UNETS
    assert enhancers.UNET_LABELS is unet.ENHANCER_LABELS
    assert training.ORDER is unet.ENHANCER_LABELS
    assert enhancers.DL_LABELS == UNETS + ("DDRNet-dn",) and len(enhancers.LABELS) == 16


def test_the_unet_label_tuple_is_written_once():
    """Only models/labels.py spells out the seven labels (a tuple or list literal of them); models.unet
    and experiments.enhancers re-export that tuple."""
    where = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == len(UNETS) and all(
                    isinstance(e, ast.Constant) for e in node.elts):
                if tuple(e.value for e in node.elts) == UNETS:
                    where.append(str(path.relative_to(REPO)))
    assert where == ["models/labels.py"]


def test_importing_the_enhancer_registry_imports_no_tensorflow():
    code = ("import sys, experiments.enhancers, models.unet; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


# ----------------------------------------------------------------------------- the Schlett step graph
def test_reproduce_derives_its_dependencies_from_the_steps_graph():
    from experiments import reproduce
    from experiments.schlett import steps

    assert reproduce.DEPENDS == {s: set(up) for s, up in steps.UPSTREAM.items()}
    assert "DEPENDS" in reproduce.__all__
    # stated once: reproduce.py assigns DEPENDS from an expression, not from a literal graph
    tree = ast.parse((REPO / "experiments" / "reproduce.py").read_text())
    (value,) = [n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "DEPENDS" for t in n.targets)]
    assert not isinstance(value, ast.Dict)


def _run_chain_failing(step: str, results_tmp, monkeypatch) -> tuple[list[str], dict]:
    from experiments import reproduce

    calls = []
    real_run = subprocess.run

    def fake_run(cmd, cwd=None, env=None, **kw):
        if cmd[0] == "git":                      # code_version() of the provenance record
            return real_run(cmd, cwd=cwd, env=env, **kw)
        sid = cmd[1].rsplit("/", 1)[-1][:2]
        calls.append(sid)
        return types.SimpleNamespace(returncode=1 if sid == step else 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    assert reproduce.main(["--preset", "quick", "--seed", "3"]) == 1
    log = pd.read_csv(results_tmp / "schlett" / "reproduce_log.csv", dtype={"step": str})
    return calls, dict(zip(log["step"], log["status"]))


# the steps each failing step blocks (directly or through a blocked step)
BLOCKS = {"01": {"02", "04", "08"}, "02": {"04", "08"}, "03": set(), "04": set(), "08": set()}


@pytest.mark.parametrize("failing", sorted(BLOCKS))
def test_a_failed_step_blocks_its_dependants(failing, results_tmp, monkeypatch):
    ran, status = _run_chain_failing(failing, results_tmp, monkeypatch)
    every = [f"{i:02d}" for i in range(1, 11)]
    assert ran == [s for s in every if s not in BLOCKS[failing]]
    assert status[failing] == "failed"
    for s in BLOCKS[failing]:
        assert status[s].startswith("skipped (needs "), (s, status[s])
    assert all(status[s] == "ok" for s in every if s != failing and s not in BLOCKS[failing])
