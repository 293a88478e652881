"""TensorFlow's environment, set in one place before TensorFlow is imported.

Importing any package of the project (``prnet_synth``, ``degrade``, ``models``, ``experiments``,
``benchmarks``) calls ``configure()`` first, so every command line and script gets the same
settings without repeating them. Variables the user has set are never changed.

``TF_CPP_MIN_LOG_LEVEL`` (TensorFlow's C++ log threshold: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR):

* 2 where an NVIDIA driver is present (GPU runs keep TensorFlow's error lines);
* 3 where none is (a CPU-only machine): TensorFlow's CUDA build still probes the driver there and
  logs ``failed call to cuInit: ... UNKNOWN ERROR (303)`` as an error, although nothing failed for
  a CPU run. Python exceptions are unaffected; set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything.

Not removable by any setting: the two ``cudart_stub.cc ... Could not find cuda drivers on your
machine`` lines (and absl's "All log messages before absl::InitializeLog()" note) that TensorFlow
prints while it is imported, before its log threshold is read.
"""
from __future__ import annotations

import ctypes
import os
from typing import MutableMapping, Optional

__all__ = ["configure", "nvidia_driver_present", "DEFAULT_LEVEL_GPU", "DEFAULT_LEVEL_CPU"]

DEFAULT_LEVEL_GPU = "2"
DEFAULT_LEVEL_CPU = "3"

_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")   # Linux, WSL2


def nvidia_driver_present() -> bool:
    """True when this machine has an NVIDIA driver TensorFlow could use (device files or libcuda)."""
    if any(os.path.exists(p) for p in _DRIVER_FILES):
        return True
    for name in ("libcuda.so.1", "nvcuda.dll"):    # what TensorFlow loads; a failed dlopen is quick
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def configure(environ: Optional[MutableMapping[str, str]] = None, driver: Optional[bool] = None) -> str:
    """Set TensorFlow's environment defaults in ``environ`` (default ``os.environ``); returns the
    ``TF_CPP_MIN_LOG_LEVEL`` in effect. ``driver``: override the NVIDIA driver check (tests)."""
    env = os.environ if environ is None else environ
    if "TF_CPP_MIN_LOG_LEVEL" not in env:
        has_driver = nvidia_driver_present() if driver is None else driver
        env["TF_CPP_MIN_LOG_LEVEL"] = DEFAULT_LEVEL_GPU if has_driver else DEFAULT_LEVEL_CPU
    return env["TF_CPP_MIN_LOG_LEVEL"]
