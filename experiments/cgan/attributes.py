"""Attribute labels of real data for Fabbri's attribute probe (003 IV-C, Tables II-III).

Neither Pandora nor MotorMark is known to ship CelebA-style attributes; what can exist is a label
per subject (gender, beard, glasses worn throughout, ...). Such labels are read from a CSV file
(default ``<data set root>/attributes.csv``; decided, docs/notes/80_cgans.md):

    subject,male,eyeglasses,beard
    01,1,0,0
    02,0,1,0

one row per subject, values 0/1 (also true/false, yes/no). Subjects are matched as strings with
leading zeros ignored when both sides are integers ("01" = "1"). ``attach`` gives every face its
subject's labels; a face whose subject has no row is an error naming the file and the subjects.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

__all__ = ["read_subject_attributes", "attach", "shared_attributes"]

_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _subject_key(s) -> str:
    t = str(s).strip()
    return str(int(t)) if t.isdigit() else t


def read_subject_attributes(path) -> dict[str, dict[str, bool]]:
    """{subject: {attribute: bool}} from a per-subject attribute CSV (format in the module doc)."""
    path = Path(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows or not rows[0] or rows[0][0].strip().lower() != "subject":
        raise ValueError(f"{path}: an attribute file needs a header starting with 'subject', got "
                         f"{rows[0] if rows else 'an empty file'}")
    names = [c.strip() for c in rows[0][1:]]
    if not names or any(not n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"{path}: attribute names must be non-empty and distinct, got {names}")
    out: dict[str, dict[str, bool]] = {}
    for ln, r in enumerate(rows[1:], 2):
        if len(r) != len(names) + 1:
            raise ValueError(f"{path}: line {ln} has {len(r)} fields, the header {len(names) + 1}")
        subj = _subject_key(r[0])
        if subj in out:
            raise ValueError(f"{path}: line {ln}: subject {r[0]!r} appears twice")
        vals = {}
        for n, v in zip(names, r[1:]):
            t = v.strip().lower()
            if t not in _TRUE | _FALSE:
                raise ValueError(f"{path}: line {ln}: {n} = {v!r} is not 0/1 (or true/false, yes/no)")
            vals[n] = t in _TRUE
        out[subj] = vals
    if not out:
        raise ValueError(f"{path}: no subject rows")
    return out


def attach(identity: np.ndarray, table: dict[str, dict[str, bool]], source: str = "attributes") -> dict[str, np.ndarray]:
    """{attribute: bool array over the faces} from each face's subject row."""
    keys = [_subject_key(i) for i in np.asarray(identity)]
    missing = sorted(set(keys) - set(table))
    if missing:
        raise ValueError(f"{source}: no attribute row for subject(s) {missing[:10]}"
                         f"{' ...' if len(missing) > 10 else ''}")
    names = list(next(iter(table.values())))
    return {n: np.array([table[k][n] for k in keys], bool) for n in names}


def shared_attributes(a: dict, b: dict) -> list[str]:
    """Attribute names both label sets have (the probe trains on one data set, tests on the other)."""
    return [n for n in a if n in b]
