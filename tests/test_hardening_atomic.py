"""Issue #21, item 4: the atomic writer follows the umask and clears the temp files of killed writers."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from prnet_synth import atomic as A

REPO = Path(__file__).resolve().parent.parent

# Starts an atomic write of TARGET through a slow generator: the first chunk is written, "started"
# is printed, then the generator sleeps (the parent kills the process there, or lets it finish).
_WRITER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {repo!r})
    from prnet_synth.atomic import atomic_open

    os.umask(0o022)

    def chunks():
        yield b"first half "
        print("started", flush=True)
        time.sleep(float(sys.argv[2]))
        yield b"second half"

    with atomic_open(sys.argv[1], "wb") as fh:
        for c in chunks():
            fh.write(c)
            fh.flush()
    print("done", flush=True)
""")

_REWRITE = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {repo!r})
    os.umask(int(sys.argv[2], 8))
    from prnet_synth.atomic import atomic_write_text
    atomic_write_text(sys.argv[1], "rerun\\n")
""")


def _start_writer(target: Path, sleep_s: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", _WRITER.format(repo=str(REPO)), str(target), str(sleep_s)],
                             stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.strip() == "started", f"the writer did not start: {line!r}"
    return child


def _rewrite(target: Path, umask: str = "022"):
    subprocess.run([sys.executable, "-c", _REWRITE.format(repo=str(REPO)), str(target), umask], check=True)


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_killed_write_is_cleared_by_a_rerun(tmp_path):
    target = tmp_path / "table.csv"
    child = _start_writer(target, 120)
    try:
        temps = _hidden(tmp_path)
        assert len(temps) == 1 and temps[0].startswith(".table.csv.") and temps[0].endswith(".tmp")
        assert str(child.pid) in temps[0]                         # the writer's pid is in the name
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert not target.exists() and len(_hidden(tmp_path)) == 1   # the killed write left its temp file
    _rewrite(target, "022")
    assert target.read_text() == "rerun\n"
    assert _hidden(tmp_path) == []                              # the stale temp file is gone
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


@pytest.mark.parametrize("umask, mode", [("022", 0o644), ("027", 0o640), ("002", 0o664), ("077", 0o600)])
def test_new_files_follow_the_umask(tmp_path, umask, mode):
    target = tmp_path / "sub" / "x.txt"
    _rewrite(target, umask)
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert _hidden(target.parent) == []


def test_the_mode_matches_a_plain_open(tmp_path):
    old = os.umask(0o022)
    try:
        (tmp_path / "plain.txt").write_text("x")
        A.atomic_write_text(tmp_path / "atomic.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "atomic.txt").stat().st_mode) == \
        stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)


def test_an_existing_files_mode_is_kept(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    os.chmod(target, 0o600)
    A.atomic_write_text(target, "new")
    assert target.read_text() == "new" and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_live_writers_temp_file_is_kept(tmp_path):
    target = tmp_path / "shared.bin"
    child = _start_writer(target, 3)
    try:
        live = _hidden(tmp_path)
        assert len(live) == 1
        _rewrite(target, "022")                                  # another process writes the same target
        assert (tmp_path / live[0]).exists()                     # the live writer's temp file is untouched
        assert child.stdout.readline().strip() == "done"
        assert child.wait(timeout=60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert target.read_bytes() == b"first half second half"    # the live writer finished normally
    assert _hidden(tmp_path) == []


def test_only_stale_temp_files_are_removed(tmp_path):
    """Same-host temps of dead pids go; the writer's own pid, other hosts' fresh temps, unrelated hidden
    files and young legacy (pre-pid) temps stay; legacy and other-host temps older than the age limits go."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = A._host_id()
    other = "0" * 8 if host != "0" * 8 else "1" * 8
    names = {
        "dead": f".a.png.{host}-{dead.pid}-0123abcd.tmp",
        "own": f".a.png.{host}-{os.getpid()}-0123abcd.tmp",
        "other_host_fresh": f".a.png.{other}-{dead.pid}-0123abcd.tmp",
        "other_host_old": f".b.png.{other}-{dead.pid}-0123abcd.tmp",
        "legacy_young": ".a.png.k3j_9x0q.tmp",
        "legacy_old": ".b.png.ab12cd34.tmp",
        "unrelated": ".gitignore",
        "unrelated_tmp": ".notes.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    long_ago = time.time() - 3 * 24 * 3600
    for key in ("other_host_old", "legacy_old"):
        os.utime(tmp_path / names[key], (long_ago, long_ago))
    A.atomic_write_text(tmp_path / "a.png", "x")
    left = set(_hidden(tmp_path))
    assert left == {names[k] for k in ("own", "other_host_fresh", "legacy_young", "unrelated", "unrelated_tmp")}


def test_failed_write_still_removes_its_temp_and_keeps_the_target(tmp_path):
    target = tmp_path / "t.txt"
    A.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with A.atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and _hidden(tmp_path) == []
