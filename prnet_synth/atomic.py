"""Atomic file output and run provenance, shared by every package.

Every file the project writes goes through these helpers: the data is written to a
temporary file in the destination folder and renamed over the target, so a killed
job never leaves a half-written file behind (rename is atomic on POSIX and Windows).

Permissions are those of a plain ``open()``: a new file gets ``0666 & ~umask`` (0644 under the
usual umask 022), an existing target keeps its permission bits.

Temporary files are named ``.<target name>.<host id>-<pid>-<random>.tmp`` (host id: 8 hex digits of
a hash of the host name). A writer killed mid-write (SIGKILL, power loss) leaves its temporary file
behind; the first write of a process into a folder removes the stale ones found there, and only
those: temporary files of this host whose process no longer runs, those of other hosts (where
liveness cannot be checked) once older than ``STALE_OTHER_HOST_S``, and temporary files of the
earlier naming (``.<name>.XXXXXXXX.tmp``, no pid) once older than ``STALE_LEGACY_S``. A running
writer's file, this process's own, and any other hidden file are never touched. Scanning a folder
once per process (not per write) keeps writing many files into one folder linear in their number.

Keras models and weights (``atomic_save_keras_model``, ``atomic_save_keras_weights``) go the same way;
their temporary files end in ``.tmp.keras`` / ``.tmp.weights.h5`` (Keras refuses other suffixes) and
are cleared like the others. Keras itself is never imported here: the model given saves itself.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import hashlib
import io
import json
import logging
import os
import re
import secrets
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

__all__ = [
    "stamp_provenance",
    "atomic_open",
    "clear_stale_temp_files",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_write_csv",
    "atomic_save_keras_model",
    "atomic_save_keras_weights",
    "code_version",
    "provenance",
]


log = logging.getLogger(__name__)

#: temporary files of other hosts (shared file systems) are removed once older than this
STALE_OTHER_HOST_S = 24 * 3600.0
#: temporary files of the earlier naming (mkstemp's, no pid) are removed once older than this
STALE_LEGACY_S = 3600.0

#: what a temporary file name may end with after ``.tmp``: nothing, or the suffix Keras requires
_KERAS_SUFFIXES = (".keras", ".weights.h5")
_TMP_ENDINGS = (".tmp",) + tuple(".tmp" + s for s in _KERAS_SUFFIXES)
_TMP_RE = re.compile(r"^\.(?P<target>.+)\.(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]+)-(?P<token>[0-9a-f]{8})\.tmp"
                     r"(?:\.keras|\.weights\.h5)?$")
_LEGACY_RE = re.compile(r"^\.(?P<target>.+)\.(?P<token>[a-z0-9_]{8})\.tmp$")
_scanned: set[tuple[int, str]] = set()      # (pid, folder) pairs already cleared of stale temp files
_scan_lock = threading.Lock()
_host: Optional[str] = None


def _host_id() -> str:
    """8 hex digits identifying this host in temporary file names."""
    global _host
    if _host is None:
        _host = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]
    return _host


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:                  # exists, owned by another user
        return True
    except OSError as exc:                   # pragma: no cover - e.g. pid out of range
        return exc.errno != errno.ESRCH
    return True


def _is_stale(name: str, now: float, mtime: float) -> bool:
    m = _TMP_RE.match(name)
    if m:
        if m["host"] == _host_id():
            return not _pid_alive(int(m["pid"]))
        return now - mtime > STALE_OTHER_HOST_S
    if _LEGACY_RE.match(name):
        return now - mtime > STALE_LEGACY_S
    return False


def clear_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder`` (see the module docstring);
    returns the removed paths. Files that vanish or cannot be removed meanwhile are skipped."""
    folder = Path(folder)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(_TMP_ENDINGS)):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or not _is_stale(name, now, entry.stat(follow_symlinks=False).st_mtime):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
        log.info("removed %s, left by a killed write", entry.path)
    return removed


def _clear_once(folder: Path) -> None:
    key = (os.getpid(), os.path.abspath(folder))
    with _scan_lock:
        if key in _scanned:
            return
        _scanned.add(key)
    clear_stale_temp_files(folder)


def _create_temp(path: Path, suffix: str = "") -> tuple[int, str]:
    """Create ``path``'s temporary sibling like open() creates a file (mode 0666 & ~umask, or the
    permission bits of an existing ``path``); returns (fd, temporary path). ``suffix`` (one of
    ``_KERAS_SUFFIXES`` or "") is appended after ``.tmp``."""
    try:
        st = os.stat(path)
        keep = stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else None
    except OSError:
        keep = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{_host_id()}-{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        if keep is not None:
            try:
                os.fchmod(fd, keep)
            except (AttributeError, OSError):  # pragma: no cover - no fchmod (Windows) or not permitted
                pass
        return fd, tmp
    raise FileExistsError(f"{path}: could not create a temporary file beside it")  # pragma: no cover


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary sibling of ``path`` for writing; rename it to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched. The file gets the
    permissions a plain ``open()`` would give it; the first write of a process into a folder clears
    the temporary files that killed writers left there (module docstring).
    """
    if "r" in mode or "a" in mode or "+" in mode:
        raise ValueError(f"atomic_open writes whole files only, got mode {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_once(path.parent)
    fd, tmp = _create_temp(path)
    with _replace_when_done(tmp, path):
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())


@contextlib.contextmanager
def _replace_when_done(tmp: str | os.PathLike, path: str | os.PathLike) -> Iterator[None]:
    """Run the block that writes ``tmp``; then rename ``tmp`` to ``path``, or, when the block raises,
    remove ``tmp`` and leave ``path`` as it was."""
    try:
        yield
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_open(path, "w") as fh:
        fh.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, obj: Any, **kwargs: Any) -> Path:
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("sort_keys", True)
    return atomic_write_text(path, json.dumps(obj, default=_json_default, **kwargs) + "\n")


def atomic_write_csv(path: str | os.PathLike, frame: Any, **kwargs: Any) -> Path:
    """Write a pandas DataFrame as CSV atomically (``index=False`` unless given)."""
    kwargs.setdefault("index", False)
    return atomic_write_text(path, frame.to_csv(**kwargs))


def _atomic_keras_save(path: str | os.PathLike, suffix: str, save: Any) -> Path:
    """``save(temporary path)`` into a sibling of ``path`` ending in ``suffix``, then rename it to ``path``;
    on an exception the temporary file is removed and ``path`` is left untouched."""
    path = Path(path)
    if not path.name.endswith(suffix) or path.name == suffix:
        raise ValueError(f"{path}: Keras needs a file name ending in {suffix!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_once(path.parent)
    fd, tmp = _create_temp(path, suffix)
    os.close(fd)                             # Keras opens the file itself, by name
    with _replace_when_done(tmp, path):
        save(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    return path


def atomic_save_keras_model(model: Any, path: str | os.PathLike) -> Path:
    """``model.save`` to ``path`` (a ``.keras`` file) atomically: written beside it under a temporary
    name that keeps the ``.keras`` suffix, then renamed over it (see ``atomic_open``)."""
    return _atomic_keras_save(path, ".keras", lambda tmp: model.save(tmp))


def atomic_save_keras_weights(model: Any, path: str | os.PathLike) -> Path:
    """``model.save_weights`` to ``path`` (a ``.weights.h5`` file) atomically, as
    ``atomic_save_keras_model``."""
    return _atomic_keras_save(path, ".weights.h5", lambda tmp: model.save_weights(tmp))


def _json_default(obj: Any) -> Any:
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def code_version(root: Optional[Path] = None) -> str:
    """Short git commit of the project (with ``+dirty`` when tracked files outside ``results/`` have
    changes: the outputs a run writes there say nothing about the code that wrote them), else the
    package version. ``root``: the repository (default: this project's)."""
    root = Path(__file__).resolve().parent.parent if root is None else Path(root)
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
        if sha.returncode == 0:
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results"],
                cwd=root, capture_output=True, text=True, timeout=10,
            )
            return sha.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version

        return "v" + version("face-depth-toolkit")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def provenance(preset: str, seed: int | None, data: str, **extra: Any) -> dict[str, Any]:
    """The record every result file carries: preset, seed, data source, code version, time."""
    rec = {
        "preset": preset,
        "seed": seed,
        "data": data,
        "code_version": code_version(),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    rec.update(extra)
    return rec


def stamp_provenance(frame, prov: dict[str, Any], columns: Optional[Sequence[str]] = None,
                     keep_existing: bool = False):
    """Write the provenance record ``prov`` (``provenance``'s dict) into a table: one column per key
    of ``columns`` (default: every key of ``prov``), the same value on every row. With
    ``keep_existing`` a column the table already has is left as it is (e.g. a per-row ``data``).
    The one place result tables get their provenance columns; returns ``frame`` (changed in place)."""
    for k in (tuple(prov) if columns is None else tuple(columns)):
        if k not in prov:
            raise KeyError(f"provenance record has no {k!r} (keys: {sorted(prov)})")
        if keep_existing and k in frame.columns:
            continue
        frame[k] = prov[k]
    return frame
