"""Issue #21, item 7 (the other writer of hidden temporary files): a recording killed mid-write leaves
``.<stem>.<pid>.tmp.db3``; the next write of that recording clears it (a running writer's is kept),
and the recording gets the mode a plain open() gives."""
from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from experiments.datasets import realsense as rsio  # noqa: E402

try:
    rsio.rs()                                   # pyrealsense2 with its libusb preloaded
except ImportError as exc:                      # pragma: no cover - SDK absent
    pytest.skip(f"pyrealsense2 unavailable: {exc}", allow_module_level=True)

REPO = Path(__file__).resolve().parent.parent

# writes one long recording (many large frames) so that the parent can kill it while the
# temporary file grows
_WRITER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {repo!r})
    import numpy as np
    from experiments.datasets import realsense as rsio
    n = int(sys.argv[2])
    rng = np.random.default_rng(0)
    colors = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(n)]
    depths = [rng.integers(1, 65535, (480, 640), dtype=np.uint16) for _ in range(n)]
    print("frames ready", flush=True)
    rsio.write_recording(sys.argv[1], colors, depths)
    print("done", flush=True)
""")


def _frames(n, h=24, w=32):
    rng = np.random.default_rng(1)
    return ([rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)],
            [rng.integers(1, 65535, (h, w), dtype=np.uint16) for _ in range(n)])


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_killed_recording_is_cleared_by_the_next_write(tmp_path):
    target = tmp_path / "rec.db3"
    child = subprocess.Popen([sys.executable, "-c", _WRITER.format(repo=str(REPO)), str(target), "400"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "frames ready"
        tmp = tmp_path / f".rec.{child.pid}.tmp.db3"
        deadline = time.monotonic() + 120
        while not (tmp.is_file() and tmp.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tmp.is_file(), "the writer never started its temporary file"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL and not target.exists()
    assert _hidden(tmp_path) == [tmp.name]                        # the killed write left its temporary file
    old = os.umask(0o022)
    try:
        colors, depths = _frames(3)
        rsio.write_recording(target, colors, depths)
    finally:
        os.umask(old)
    assert _hidden(tmp_path) == []                                # cleared by the next write
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert len(list(rsio.read_recording(target))) == 3


def test_a_running_writers_temporary_file_is_kept(tmp_path):
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {"live": f".rec.{live.pid}.tmp.db3", "dead": f".rec.{dead.pid}.tmp.db3",
                 "other_recording": f".other.{dead.pid}.tmp.db3", "unrelated": ".rec.notes"}
        for n in names.values():
            (tmp_path / n).write_bytes(b"x")
        colors, depths = _frames(2)
        rsio.write_recording(tmp_path / "rec.db3", colors, depths)
        assert set(_hidden(tmp_path)) == {names["live"], names["other_recording"], names["unrelated"]}
    finally:
        live.kill()
        live.wait()


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("recorder failed")

    monkeypatch.setattr(rsio, "_record", boom)
    colors, depths = _frames(2)
    with pytest.raises(RuntimeError, match="recorder failed"):
        rsio.write_recording(tmp_path / "rec.db3", colors, depths)
    assert list(tmp_path.iterdir()) == []
