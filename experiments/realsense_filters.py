"""The RealSense SDK post-processing filters on numpy depth images, with numba twins.

Schlett et al. (000_5d0e6bc7884ed0ba.txt, IV-A, Table II) use three filters of the RealSense
SDK as hand-crafted enhancers. This module runs them through pyrealsense2 itself (a software
device feeds numpy images as Z16 depth frames; recipe in ``shared/docs/realsense_filters.md``)
or through the bit-exact numba twins of :mod:`experiments.realsense_twin`.

Everything here works in the **RealSense convention (0 = hole)**; the conversion from and to
the paper's convention (65535 = hole) is done by :mod:`experiments.enhancers`.

``FilterSpec`` describes one filter configuration; ``TABLE_II`` maps the paper's labels to
specs; ``apply_filter(spec, img, backend)`` runs one image; ``resolve_backend(backend)``
turns "auto" into "sdk" or "twin" (the twin, with one logged warning, when pyrealsense2
cannot be imported).
"""
from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import realsense_twin as twin

__all__ = ["FilterSpec", "TABLE_II", "BACKENDS", "import_pyrealsense2", "sdk_available",
           "resolve_backend", "apply_filter", "SdkFilterBank", "sdk_bank"]

log = logging.getLogger(__name__)

BACKENDS = ("sdk", "twin", "auto")


@dataclass(frozen=True)
class FilterSpec:
    """One SDK filter configuration.

    kind: "decimation" (``value`` = filter_magnitude 1..8), "hole_filling" (``value`` =
    holes_fill mode 0 left / 1 farest / 2 nearest) or "spatial" (``value`` = holes_fill 0..5;
    ``iterations``, ``alpha``, ``delta`` = filter_magnitude, filter_smooth_alpha,
    filter_smooth_delta). Unset options keep the SDK defaults (IV-C: "use the corresponding
    RealSense SDK default settings where not specified otherwise").
    """

    kind: str
    value: int
    iterations: int = 2
    alpha: float = 0.5
    delta: int = 20

    def __post_init__(self):
        if self.kind not in ("decimation", "hole_filling", "spatial"):
            raise ValueError(f"unknown RealSense filter kind {self.kind!r}")


# Table II of 000_5d0e6bc7884ed0ba.txt
TABLE_II: dict[str, FilterSpec] = {
    "De-M2": FilterSpec("decimation", 2),
    "De-M8": FilterSpec("decimation", 8),
    "Hf-FFA": FilterSpec("hole_filling", 1),
    "Hf-NFA": FilterSpec("hole_filling", 2),
    "Hf-L": FilterSpec("hole_filling", 0),
    "Sp-Hf16": FilterSpec("spatial", 4),
    "Sp-HfU": FilterSpec("spatial", 5),
}


# ----------------------------------------------------------------------------- importing the SDK
_rs = None
_rs_error: Optional[str] = None
_import_lock = threading.Lock()
_warned = False


def import_pyrealsense2():
    """Import pyrealsense2 (preloading libusb from the ``libusb-package`` wheel), or raise ImportError."""
    global _rs, _rs_error
    with _import_lock:
        if _rs is not None:
            return _rs
        if _rs_error is not None:
            raise ImportError(_rs_error)
        try:
            try:
                import libusb_package

                lib = libusb_package.get_library_path()
                if lib:
                    ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except (ImportError, OSError):
                pass  # maybe the system's libusb-1.0 is present
            import pyrealsense2 as rs

            rs.decimation_filter  # noqa: B018 - the wheel can import as an empty namespace
        except (ImportError, OSError, AttributeError) as exc:
            _rs_error = f"pyrealsense2 cannot be imported: {exc}"
            raise ImportError(_rs_error) from exc
        _rs = rs
        return rs


def sdk_available() -> bool:
    try:
        import_pyrealsense2()
        return True
    except ImportError:
        return False


def resolve_backend(backend: str = "auto") -> str:
    """"sdk", "twin", or "auto" -> "sdk" when pyrealsense2 imports, else "twin" (logged once)."""
    global _warned
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "twin":
        return "twin"
    if backend == "sdk":
        import_pyrealsense2()  # raises ImportError with the reason
        return "sdk"
    if sdk_available():
        return "sdk"
    if not _warned:
        log.warning("%s; using the bit-exact numba twins of the RealSense filters instead", _rs_error)
        _warned = True
    return "twin"


# ----------------------------------------------------------------------------- the SDK path
class SdkFilterBank:
    """Feeds numpy Z16 images to pyrealsense2 filters through a software device.

    One software depth sensor per image size; one filter object per configuration, with every
    option set before its first frame (a later option change can be silently ignored by the
    SDK). Output frames are copied to numpy and released at once (a filter keeps at most 16
    live frames). Not thread-safe in the SDK: calls are serialised by a lock.
    """

    def __init__(self):
        self.rs = import_pyrealsense2()
        self._lock = threading.Lock()
        self._sources: dict[tuple[int, int], dict] = {}
        self._filters: dict[FilterSpec, object] = {}
        self._frame_number = 0

    # -- sources
    def _source(self, height: int, width: int) -> dict:
        key = (height, width)
        src = self._sources.get(key)
        if src is not None:
            return src
        rs = self.rs
        dev = rs.software_device()
        sensor = dev.add_sensor("Depth")
        intr = rs.intrinsics()
        intr.width, intr.height = width, height
        intr.fx = intr.fy = float(max(width, height))
        intr.ppx, intr.ppy = width / 2.0, height / 2.0
        intr.model = rs.distortion.none
        intr.coeffs = [0.0] * 5
        vs = rs.video_stream()
        vs.type = rs.stream.depth
        vs.index = 0
        vs.uid = len(self._sources)
        vs.width, vs.height = width, height
        vs.fps = 30
        vs.bpp = 2
        vs.fmt = rs.format.z16
        vs.intrinsics = intr
        profile = sensor.add_video_stream(vs)
        sensor.add_read_only_option(rs.option.depth_units, 0.001)
        queue = rs.frame_queue(2)
        sensor.open(profile)
        sensor.start(queue)
        src = {"device": dev, "sensor": sensor, "profile": profile.as_video_stream_profile(), "queue": queue}
        self._sources[key] = src
        return src

    # -- filters
    def _filter(self, spec: FilterSpec):
        flt = self._filters.get(spec)
        if flt is not None:
            return flt
        rs = self.rs
        if spec.kind == "decimation":
            flt = rs.decimation_filter()
            flt.set_option(rs.option.filter_magnitude, float(spec.value))
        elif spec.kind == "hole_filling":
            flt = rs.hole_filling_filter()
            flt.set_option(rs.option.holes_fill, float(spec.value))
        else:
            flt = rs.spatial_filter()
            flt.set_option(rs.option.filter_magnitude, float(spec.iterations))
            flt.set_option(rs.option.filter_smooth_alpha, float(spec.alpha))
            flt.set_option(rs.option.filter_smooth_delta, float(spec.delta))
            flt.set_option(rs.option.holes_fill, float(spec.value))
        self._filters[spec] = flt
        return flt

    def process(self, spec: FilterSpec, img: np.ndarray) -> np.ndarray:
        """Run one uint16 HxW image (0 = hole) through the SDK filter ``spec``; new array out."""
        a = np.ascontiguousarray(img, dtype=np.uint16)
        if a.ndim != 2:
            raise ValueError(f"SDK filters take one HxW image, got shape {a.shape}")
        h, w = a.shape
        rs = self.rs
        with self._lock:
            src = self._source(h, w)
            flt = self._filter(spec)
            self._frame_number += 1
            frame = rs.software_video_frame()
            frame.pixels = a
            frame.stride = 2 * w
            frame.bpp = 2
            frame.timestamp = self._frame_number * (1000.0 / 30.0)
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = self._frame_number
            frame.profile = src["profile"]
            src["sensor"].on_video_frame(frame)
            depth_frame = src["queue"].wait_for_frame(5000)
            result = flt.process(depth_frame)
            vf = result.as_video_frame()
            out = np.asanyarray(vf.get_data()).copy()
            del vf, result, depth_frame, frame
        if spec.kind == "decimation":  # the SDK pads to a multiple of 4: crop
            s = spec.value
            out = np.ascontiguousarray(out[: h // s, : w // s])
        return out


_bank: Optional[SdkFilterBank] = None
_bank_lock = threading.Lock()


def sdk_bank() -> SdkFilterBank:
    """The process-wide SDK filter bank (created on first use)."""
    global _bank
    with _bank_lock:
        if _bank is None:
            _bank = SdkFilterBank()
        return _bank


# ----------------------------------------------------------------------------- dispatch
def _twin(spec: FilterSpec, img: np.ndarray) -> np.ndarray:
    if spec.kind == "decimation":
        return twin.decimate(img, spec.value)
    if spec.kind == "hole_filling":
        return twin.hole_fill(img, spec.value)
    return twin.spatial(img, spec.value, spec.iterations, spec.alpha, spec.delta)


def apply_filter(spec: FilterSpec, img: np.ndarray, backend: str = "auto") -> np.ndarray:
    """Run one uint16 HxW image in the RealSense convention (0 = hole) through ``spec``.

    backend "sdk" (pyrealsense2), "twin" (numba) or "auto". Decimation returns the SDK's
    (H // m) x (W // m) output; the other filters keep the size."""
    a = np.asarray(img)
    if a.dtype != np.uint16 or a.ndim != 2:
        raise ValueError(f"RealSense filters take a uint16 HxW image, got dtype {a.dtype} shape {a.shape}")
    if resolve_backend(backend) == "sdk":
        return sdk_bank().process(spec, a)
    return _twin(spec, a)
