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
    """Only models/unet.py spells out the seven labels (a tuple or list literal of them)."""
    where = []
    for path, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == len(UNETS) and all(
                    isinstance(e, ast.Constant) for e in node.elts):
                if tuple(e.value for e in node.elts) == UNETS:
                    where.append(str(path.relative_to(REPO)))
    assert where == ["models/unet.py"]


def test_importing_the_enhancer_registry_imports_no_tensorflow():
    code = ("import sys, experiments.enhancers, models.unet; "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
