"""Issue #21, item 5: steps 05-08 key their done-stamps and image-set caches of ``--data`` on the
resolved path and the content, not on the file name.

The recording readers are replaced by a stand-in that reads the file's bytes (real recordings need
dlib and a RealSense file), so what a step wrote can be traced back to the file it read.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from experiments.schlett import steps
from experiments.schlett.cli import parse
from experiments.schlett.evalsets import _stack


def _fake_set(path, camera):
    """A 2-image set whose names carry the file's text and whose depth depends on it."""
    f = os.path.join(path, "subject.txt") if os.path.isdir(path) else path
    text = open(f).read().strip()
    level = 1000 + 10 * len(text)
    items = []
    for i in range(2):
        depth = np.full((16, 16), level + i, np.uint16)
        depth[::2, ::2] += 7                       # some roughness, content dependent through level
        items.append({"name": f"{text}_{i}", "subject": 0, "session": 0, "variant": "Neutral",
                      "depth": depth, "rgb": None, "mask": np.ones((16, 16), bool),
                      "lm68": None, "manual6": None, "landmark_source": "dlib"})
    return _stack(items, f"fake {camera}", camera)


@pytest.fixture()
def chain(results_tmp, tmp_path, monkeypatch):
    calls = []

    def d435(path, limit=0):
        calls.append(("d435", os.path.realpath(path)))
        return _fake_set(path, "d435")

    def kinect(path, limit=0):
        calls.append(("kinect", os.path.realpath(path)))
        return _fake_set(path, "kinect")

    monkeypatch.setattr(steps, "d435_set", d435)
    monkeypatch.setattr(steps, "kinect_set", kinect)
    monkeypatch.setattr("experiments.enhancers.LABELS", ("None",))    # no model needed for the check
    kin = tmp_path / "kinect_root"
    kin.mkdir()
    (kin / "subject.txt").write_text("kinect")
    for d, text in (("a", "first"), ("b", "second recording")):
        (tmp_path / d).mkdir()
        (tmp_path / d / "rec.db3").write_text(text)
    return tmp_path, kin, calls


def _args(kin, rec):
    return parse(["--preset", "quick", "--seed", "3", "--data", f"kinect={kin}", f"d435={rec}"], "test")


def _d435_names(results_tmp):
    per = pd.read_csv(results_tmp / "schlett" / "table5_per_image.csv", keep_default_na=False)
    return sorted(per.loc[per["camera"] == "d435", "name"])


def test_same_name_in_another_folder_is_new_data(chain, results_tmp):
    root, kin, calls = chain
    steps.step05_table5(_args(kin, root / "a" / "rec.db3"))
    assert _d435_names(results_tmp) == ["first_0", "first_1"]
    stamp = (results_tmp / "schlett" / "steps" / "05.json").read_text()

    calls.clear()
    steps.step05_table5(_args(kin, root / "a" / "rec.db3"))          # same data: skipped
    assert calls == [] and (results_tmp / "schlett" / "steps" / "05.json").read_text() == stamp

    steps.step05_table5(_args(kin, root / "b" / "rec.db3"))          # same file name, other folder
    assert ("d435", os.path.realpath(root / "b" / "rec.db3")) in calls
    assert _d435_names(results_tmp) == ["second recording_0", "second recording_1"]
    new_stamp = json.loads((results_tmp / "schlett" / "steps" / "05.json").read_text())
    assert new_stamp["data"] != json.loads(stamp)["data"]
    assert str(root) not in json.dumps(new_stamp)                  # no machine path in the stamp

    calls.clear()
    steps.step05_table5(_args(kin, root / "a" / "rec.db3"))          # back to /a: redone from /a's cache
    assert calls == [] and _d435_names(results_tmp) == ["first_0", "first_1"]


def test_changed_content_at_the_same_path_is_new_data(chain, results_tmp):
    root, kin, calls = chain
    rec = root / "a" / "rec.db3"
    steps.step05_table5(_args(kin, rec))
    st = rec.stat()
    rec.write_text("FIRST")                                         # same size, new content
    os.utime(rec, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert not steps.is_done("05", _args(kin, rec), [results_tmp / "schlett" / "table5_roughness_holes.csv"])
    calls.clear()
    steps.step05_table5(_args(kin, rec))
    assert ("d435", os.path.realpath(rec)) in calls
    assert _d435_names(results_tmp) == ["FIRST_0", "FIRST_1"]


def test_a_symlink_to_the_same_file_is_the_same_data(chain, results_tmp):
    root, kin, calls = chain
    rec = root / "a" / "rec.db3"
    link = root / "link.db3"
    link.symlink_to(rec)
    steps.step05_table5(_args(kin, rec))
    calls.clear()
    steps.step05_table5(_args(kin, link))
    assert calls == []                                               # resolved path and content match


@pytest.mark.parametrize("step", ["06", "07"])
def test_stamps_of_the_other_real_data_steps_follow_the_data(chain, results_tmp, step):
    root, kin, _ = chain
    out = results_tmp / "x.csv"
    out.write_text("x\n")
    steps.mark_done(step, _args(kin, root / "a" / "rec.db3"), [out])
    assert steps.is_done(step, _args(kin, root / "a" / "rec.db3"), [out])
    assert not steps.is_done(step, _args(kin, root / "b" / "rec.db3"), [out])


# ----------------------------------------------------------------------------- kill and rerun
_CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
sys.path.insert(0, {tests!r})
import experiments.enhancers as E
from experiments.schlett import steps
from experiments.schlett.cli import parse
import test_hardening_data_stamps as T

E.LABELS = ("None",)
slow = os.environ.get("SLOW_READ") == "1"

def d435(path, limit=0):
    print("reading", os.path.basename(os.path.dirname(path)), flush=True)
    if slow:
        time.sleep(120)
    return T._fake_set(path, "d435")

steps.d435_set = d435
steps.kinect_set = lambda path, limit=0: T._fake_set(path, "kinect")
steps.step05_table5(parse(["--preset", "quick", "--seed", "3", "--data", "kinect=" + sys.argv[1],
                           "d435=" + sys.argv[2]], "test"))
print("finished", flush=True)
"""


def test_a_killed_run_on_new_data_is_redone_on_that_data(chain, results_tmp, tmp_path):
    """/a finishes; a run on /b/rec.db3 is killed (-9) while it reads; the rerun on /b is not skipped
    on /a's stamp, writes /b's table, and no temporary file is left in the results."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root, kin, _ = chain
    tests = Path(__file__).resolve().parent
    code = _CHILD.format(repo=str(tests.parent), tests=str(tests))
    env = {**os.environ, "FACE_DEPTH_RESULTS": str(results_tmp), "FACE_DEPTH_WORK": str(tmp_path / "work_data")}

    def run(rec, slow=False):
        return subprocess.Popen([sys.executable, "-c", code, str(kin), str(rec)], stdout=subprocess.PIPE, text=True,
                                env={**env, "SLOW_READ": "1" if slow else "0"})

    first = run(root / "a" / "rec.db3")
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0 and "finished" in out
    assert _d435_names(results_tmp) == ["first_0", "first_1"]
    stamp_a = (results_tmp / "schlett" / "steps" / "05.json").read_text()

    killed = run(root / "b" / "rec.db3", slow=True)
    try:
        assert killed.stdout.readline().split() == ["reading", "b"]
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait()
    assert (results_tmp / "schlett" / "steps" / "05.json").read_text() == stamp_a   # nothing stamped for /b

    rerun = run(root / "b" / "rec.db3")
    out, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0 and "reading b" in out and "finished" in out
    assert _d435_names(results_tmp) == ["second recording_0", "second recording_1"]
    assert not [p for p in results_tmp.rglob(".*") if p.name.endswith(".tmp")]
