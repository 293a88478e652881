"""Intel RealSense D435 colour + depth: recordings (.bag / .db3), PNG-pair folders, live camera.

Facts from ``shared/docs/datasets.md`` section 7 (verified with pyrealsense2 2.59.1):

* RealSense Viewer recordings of 2019 (the paper's D435 data) are ROS1 ``.bag``; pyrealsense2 >= 2.58
  writes ROS2 ``.db3`` only and plays both.
* The exact playback method, which returns every frame, is a playback *device*
  (``rs.context().load_device(path)``) with ``set_real_time(False)`` and its sensors started
  directly; the pipeline method drops frames on short files.

Decisions (docs/notes/70_pad.md): frames reach Python through a blocking callback, so a slow consumer
throttles the playback instead of losing frames; depth and colour frames are paired by timestamp;
depth is aligned to colour by a numba kernel with the SDK's align rule (each depth pixel's corners are
projected into the colour image and the covered colour pixels take the nearest depth), using the
intrinsics and extrinsics stored in the recording. A live camera uses the SDK's ``rs.align``.

Frames are yielded as ``RGBDFrame``: RGB uint8 colour, RealSense Z16 depth aligned to colour
(0 = hole) and its depth scale (metres per unit). ``experiments.preprocess.preprocess_frame`` turns
them into the paper's 256x256 format.

PNG-pair folders (format decided here, no standard exists): ``<key>_color.png`` (8-bit RGB; also
``.jpg``) and ``<key>_depth.png`` (16-bit single channel, raw Z16 units, 0 = hole, already aligned to
colour) per frame; the token may also be ``Color``/``Depth`` anywhere in the name (rs-convert writes
``..._Color_<n>.png`` / ``..._Depth_<n>.png``). An optional ``depth_scale.txt`` holds metres per unit
(default 0.001, the D435's default).
"""
from __future__ import annotations

import ctypes
import functools
import logging
import os
import queue
import re
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

__all__ = [
    "rs", "Intrinsics", "RGBDFrame", "RealSenseFormatError", "RECORDING_SUFFIXES",
    "read_recording", "read_png_pairs", "write_png_pairs", "write_recording", "open_source",
    "align_depth_to_color", "live_frames", "DEFAULT_DEPTH_SCALE",
]

log = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".bag", ".db3")
DEFAULT_DEPTH_SCALE = 0.001
DEPTH_SCALE_FILE = "depth_scale.txt"


class RealSenseFormatError(ValueError):
    """A recording or PNG-pair folder is not usable; the message names the file."""


@functools.lru_cache(maxsize=1)
def rs():
    """Import pyrealsense2 after preloading libusb (the wheel does not ship it)."""
    try:
        import libusb_package

        lib = libusb_package.get_library_path()
        if lib:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
    except (ImportError, OSError):  # the system libusb may still be there
        pass
    import pyrealsense2

    return pyrealsense2


# ----------------------------------------------------------------------------- data types
@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (pixel centres at integer coordinates, as the SDK)."""

    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float
    model: str = "none"
    coeffs: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def from_rs(cls, intr) -> "Intrinsics":
        return cls(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy), float(intr.ppx),
                   float(intr.ppy), str(intr.model).split(".")[-1], tuple(float(c) for c in intr.coeffs))

    def to_rs(self):
        r = rs()
        intr = r.intrinsics()
        intr.width, intr.height = self.width, self.height
        intr.fx, intr.fy, intr.ppx, intr.ppy = self.fx, self.fy, self.ppx, self.ppy
        intr.model = getattr(r.distortion, self.model)
        intr.coeffs = list(self.coeffs)
        return intr

    @classmethod
    def default(cls, width: int, height: int, hfov_deg: float = 69.0) -> "Intrinsics":
        """A distortion-free camera with the D435 colour camera's horizontal field of view (about 69 deg)."""
        f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
        return cls(width, height, float(f), float(f), (width - 1) / 2.0, (height - 1) / 2.0)


@dataclass
class RGBDFrame:
    """One colour frame with its depth aligned to it."""

    index: int                      # 0-based position in the source
    color: np.ndarray               # uint8 HxWx3 RGB
    depth: np.ndarray               # uint16 HxW RealSense Z16 aligned to colour, 0 = hole
    depth_scale: float              # metres per depth unit
    timestamp_ms: float = 0.0
    frame_number: int = 0
    source: str = ""
    meta: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- alignment
_warned_distortion = set()


def align_depth_to_color(depth: np.ndarray, depth_scale: float, depth_intr: Intrinsics, color_intr: Intrinsics,
                         rotation: Sequence[float] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
                         translation: Sequence[float] = (0, 0, 0)) -> np.ndarray:
    """Re-sample Z16 depth (0 = hole) into the colour camera's pixel grid (uint16 colour-sized, 0 = hole).

    The SDK's rule: each depth pixel's top-left and bottom-right corners (x -+ 0.5, y -+ 0.5) are
    deprojected at its depth, moved by the depth-to-colour extrinsics (``rotation`` column-major
    3x3 as the SDK stores it, ``translation`` in metres) and projected into the colour image; the
    colour pixels from the rounded first to the rounded second corner (clipped to the image) take
    that depth, the nearest one winning where several land. Lens distortion is ignored (D435
    streams report zero coefficients); non-zero coefficients give a warning. One pass over the
    depth pixels, compiled by numba (a vectorised numpy version took over a second per 848x480 frame).
    """
    d = np.asarray(depth)
    if d.dtype != np.uint16 or d.shape != (depth_intr.height, depth_intr.width):
        raise ValueError(f"align_depth_to_color: depth {d.dtype} {d.shape} does not match the depth intrinsics "
                         f"{depth_intr.height}x{depth_intr.width} (uint16 expected)")
    for intr in (depth_intr, color_intr):
        if any(abs(c) > 0 for c in intr.coeffs) and intr.model != "none" and intr.model not in _warned_distortion:
            _warned_distortion.add(intr.model)
            warnings.warn(f"align_depth_to_color: {intr.model} distortion coefficients {intr.coeffs} are ignored")
    rot = np.asarray(rotation, dtype=np.float64).reshape(3, 3).T   # SDK: column-major
    t = np.asarray(translation, dtype=np.float64)
    dpar = np.array([depth_intr.fx, depth_intr.fy, depth_intr.ppx, depth_intr.ppy], np.float64)
    cpar = np.array([color_intr.fx, color_intr.fy, color_intr.ppx, color_intr.ppy], np.float64)
    return _align_kernel(np.ascontiguousarray(d), float(depth_scale), dpar, cpar, rot, t,
                         int(color_intr.height), int(color_intr.width))


def _align_py(depth, scale, dpar, cpar, rot, t, out_h, out_w):
    """The alignment loop (compiled by numba when available): per depth pixel, its two corners
    projected and rounded as the SDK does ((int)(v + 0.5)), the covered colour rectangle clipped to
    the image (checked bit for bit against rs.align of pyrealsense2 2.59.1 in
    tests/test_realsense_io.py), the nearest depth winning."""
    out = np.zeros((out_h, out_w), np.uint16)
    h, w = depth.shape
    for y in range(h):
        for x in range(w):
            v = depth[y, x]
            if v == 0:
                continue
            z = v * scale
            # top-left corner
            px = (x - 0.5 - dpar[2]) / dpar[0] * z
            py = (y - 0.5 - dpar[3]) / dpar[1] * z
            qx = rot[0, 0] * px + rot[0, 1] * py + rot[0, 2] * z + t[0]
            qy = rot[1, 0] * px + rot[1, 1] * py + rot[1, 2] * z + t[1]
            qz = rot[2, 0] * px + rot[2, 1] * py + rot[2, 2] * z + t[2]
            u0 = qx / qz * cpar[0] + cpar[2]
            v0 = qy / qz * cpar[1] + cpar[3]
            # bottom-right corner
            px = (x + 0.5 - dpar[2]) / dpar[0] * z
            py = (y + 0.5 - dpar[3]) / dpar[1] * z
            qx = rot[0, 0] * px + rot[0, 1] * py + rot[0, 2] * z + t[0]
            qy = rot[1, 0] * px + rot[1, 1] * py + rot[1, 2] * z + t[1]
            qz = rot[2, 0] * px + rot[2, 1] * py + rot[2, 2] * z + t[2]
            u1 = qx / qz * cpar[0] + cpar[2]
            v1 = qy / qz * cpar[1] + cpar[3]
            if not (np.isfinite(u0) and np.isfinite(v0) and np.isfinite(u1) and np.isfinite(v1)):
                continue
            # clipped to the image (and bounded so far-off values convert to int safely)
            x0 = int(min(max(np.trunc(u0 + 0.5), 0.0), float(out_w)))
            y0 = int(min(max(np.trunc(v0 + 0.5), 0.0), float(out_h)))
            x1 = int(max(min(np.trunc(u1 + 0.5), out_w - 1.0), -1.0))
            y1 = int(max(min(np.trunc(v1 + 0.5), out_h - 1.0), -1.0))
            for yy in range(y0, y1 + 1):
                for xx in range(x0, x1 + 1):
                    o = out[yy, xx]
                    if o == 0 or v < o:
                        out[yy, xx] = v
    return out


try:
    from numba import njit as _njit

    _align_kernel = _njit(cache=True, error_model="numpy")(_align_py)
except ImportError:  # pragma: no cover - numba is a dependency; the pure-Python loop is slow but exact
    _align_kernel = _align_py


# ----------------------------------------------------------------------------- colour formats
def _color_to_rgb(arr: np.ndarray, fmt: str, what: str) -> np.ndarray:
    import cv2

    if fmt == "rgb8":
        return np.ascontiguousarray(arr)
    if fmt == "bgr8":
        return np.ascontiguousarray(arr[..., ::-1])
    if fmt == "rgba8":
        return np.ascontiguousarray(arr[..., :3])
    if fmt == "bgra8":
        return np.ascontiguousarray(arr[..., 2::-1])
    if fmt == "yuyv":
        return cv2.cvtColor(np.ascontiguousarray(arr).reshape(arr.shape[0], -1, 2), cv2.COLOR_YUV2RGB_YUYV)
    if fmt in ("y8", "y16"):
        g = arr if fmt == "y8" else (arr >> 8).astype(np.uint8)
        return np.repeat(g[..., None], 3, axis=2)
    raise RealSenseFormatError(f"{what}: colour format {fmt} is not supported (rgb8, bgr8, rgba8, bgra8, yuyv, y8)")


# ----------------------------------------------------------------------------- recordings
def _fmt_name(fmt) -> str:
    return str(fmt).split(".")[-1]


def read_recording(path: str | os.PathLike, *, align: bool = True, max_frames: Optional[int] = None,
                   pair_tolerance_ms: Optional[float] = None, end_timeout_s: float = 0.5,
                   buffer_frames: int = 8) -> Iterator[RGBDFrame]:
    """Every colour frame of a ``.bag`` / ``.db3`` recording with its depth (aligned to colour if ``align``).

    Depth and colour are paired by timestamp (within ``pair_tolerance_ms``, default half the slower
    stream's frame period); unmatched frames are skipped. Recordings without a colour stream yield
    depth only (``color`` is a gray rendering, ``meta['has_color'] = False``).
    """
    r = rs()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such recording")
    if path.suffix.lower() not in RECORDING_SUFFIXES:
        raise RealSenseFormatError(f"{path}: expected a .bag or .db3 RealSense recording")
    try:
        dev = r.context().load_device(str(path))
    except RuntimeError as exc:
        raise RealSenseFormatError(f"{path}: pyrealsense2 cannot open this recording ({exc})") from exc
    playback = dev.as_playback()
    playback.set_real_time(False)

    depth_sensor = color_sensor = None
    depth_prof = color_prof = None
    for s in dev.query_sensors():
        for p in s.get_stream_profiles():
            st = p.stream_type()
            if st == r.stream.depth and depth_prof is None and _fmt_name(p.format()) == "z16":
                depth_sensor, depth_prof = s, p
            elif st == r.stream.color and color_prof is None:
                color_sensor, color_prof = s, p
    if depth_prof is None:
        raise RealSenseFormatError(f"{path}: the recording has no Z16 depth stream")
    depth_scale = DEFAULT_DEPTH_SCALE
    if depth_sensor.is_depth_sensor():
        depth_scale = float(depth_sensor.as_depth_sensor().get_depth_scale())
    d_intr = Intrinsics.from_rs(depth_prof.as_video_stream_profile().get_intrinsics())
    c_intr = rot = trans = None
    if color_prof is not None:
        c_intr = Intrinsics.from_rs(color_prof.as_video_stream_profile().get_intrinsics())
        ext = depth_prof.get_extrinsics_to(color_prof)
        rot, trans = list(ext.rotation), list(ext.translation)
        if not any(rot):   # a recorder given no extrinsics stores zeros: treat as co-located cameras
            rot = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    fps = [p.fps() for p in (depth_prof, color_prof) if p is not None and p.fps() > 0]
    tol = pair_tolerance_ms if pair_tolerance_ms is not None else (500.0 / min(fps) if fps else 16.0)

    items: "queue.Queue" = queue.Queue(maxsize=max(2, buffer_frames))
    stop = threading.Event()

    def on_frame(f):
        try:
            vf = f.as_video_frame()
            prof = f.get_profile()
            item = (prof.stream_type() == r.stream.depth, float(f.get_timestamp()), int(f.get_frame_number()),
                    np.asanyarray(vf.get_data()).copy(), _fmt_name(prof.format()))
        except Exception as exc:  # keep the playback thread alive; report in the consumer
            item = ("error", repr(exc))
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    sensors = [depth_sensor] if color_sensor is None or color_sensor == depth_sensor else [depth_sensor, color_sensor]
    started = []
    try:
        if color_sensor is not None and color_sensor == depth_sensor:
            depth_sensor.open([depth_prof, color_prof])
        else:
            depth_sensor.open(depth_prof)
            if color_sensor is not None:
                color_sensor.open(color_prof)
        # starting the first sensor starts the playback: hold it until every sensor listens
        playback.pause()
        for s in sensors:
            s.start(on_frame)
            started.append(s)
        playback.resume()
        pend_d: list = []
        pend_c: list = []
        index = 0
        last = time.monotonic()
        while max_frames is None or index < max_frames:
            try:
                item = items.get(timeout=0.05)
            except queue.Empty:
                stopped = playback.current_status() == r.playback_status.stopped
                if stopped and time.monotonic() - last > end_timeout_s:
                    break
                if time.monotonic() - last > max(30.0, 10 * end_timeout_s):
                    break
                continue
            last = time.monotonic()
            if item[0] == "error":
                raise RealSenseFormatError(f"{path}: a frame could not be read ({item[1]})")
            is_depth, ts, fnum, data, fmt = item
            if color_prof is None:
                if not is_depth:
                    continue
                gray = np.clip(data.astype(np.float64) * depth_scale / 2.0 * 255.0, 0, 255).astype(np.uint8)
                yield RGBDFrame(index, np.repeat(gray[..., None], 3, axis=2), data, depth_scale, ts, fnum, str(path),
                                {"has_color": False})
                index += 1
                continue
            (pend_d if is_depth else pend_c).append((ts, fnum, data, fmt))
            while pend_d and pend_c:
                dt = pend_d[0][0] - pend_c[0][0]
                if abs(dt) <= tol:
                    dts, _, ddata, _ = pend_d.pop(0)
                    cts, cnum, cdata, cfmt = pend_c.pop(0)
                    color = _color_to_rgb(cdata, cfmt, str(path))
                    depth = ddata
                    if align:
                        if (d_intr == c_intr and np.allclose(rot, [1, 0, 0, 0, 1, 0, 0, 0, 1])
                                and np.allclose(trans, 0)):
                            depth = ddata
                        else:
                            depth = align_depth_to_color(ddata, depth_scale, d_intr, c_intr, rot, trans)
                    yield RGBDFrame(index, color, depth, depth_scale, cts, cnum, str(path),
                                    {"has_color": True, "depth_timestamp_ms": dts, "aligned": bool(align)})
                    index += 1
                    if max_frames is not None and index >= max_frames:
                        break
                elif dt < 0:
                    pend_d.pop(0)
                else:
                    pend_c.pop(0)
    finally:
        stop.set()
        for s in started:
            try:
                s.stop()
            except RuntimeError:
                pass
        for s in sensors:
            try:
                s.close()
            except RuntimeError:
                pass


def _make_video_stream(r, kind: str, intr: Intrinsics, fps: int, uid: int):
    vs = r.video_stream()
    vs.type = r.stream.depth if kind == "depth" else r.stream.color
    vs.index = 0
    vs.uid = uid
    vs.width, vs.height = intr.width, intr.height
    vs.fps = fps
    vs.bpp = 2 if kind == "depth" else 3
    vs.fmt = r.format.z16 if kind == "depth" else r.format.rgb8
    vs.intrinsics = intr.to_rs()
    return vs


def write_recording(path: str | os.PathLike, colors: Iterable[np.ndarray], depths: Iterable[np.ndarray], *,
                    depth_scale: float = DEFAULT_DEPTH_SCALE, fps: int = 30,
                    color_intrinsics: Optional[Intrinsics] = None, depth_intrinsics: Optional[Intrinsics] = None,
                    rotation: Sequence[float] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
                    translation: Sequence[float] = (0, 0, 0)) -> Path:
    """Record colour (uint8 HxWx3 RGB) + depth (uint16 Z16, 0 = hole) frames to a ``.db3`` without a camera.

    A software device with a "Depth" and a "Color" sensor feeds ``rs.recorder``; frame numbers start
    at 1, timestamps advance by 1000/fps ms. By default both cameras share intrinsics and position
    (the depth is already aligned); give ``depth_intrinsics``/extrinsics to record unaligned depth.
    The file is written beside the target and renamed when complete.
    """
    r = rs()
    path = Path(path)
    if path.suffix.lower() != ".db3":
        raise ValueError(f"{path}: pyrealsense2 >= 2.58 records ROS2 bags only; use a .db3 name")
    colors = [np.ascontiguousarray(c) for c in colors]
    depths = [np.ascontiguousarray(d) for d in depths]
    if not colors or len(colors) != len(depths):
        raise ValueError(f"{path}: need equally many colour and depth frames (got {len(colors)} and {len(depths)})")
    ch, cw = colors[0].shape[:2]
    dh, dw = depths[0].shape[:2]
    for c, d in zip(colors, depths):
        if c.dtype != np.uint8 or c.shape != (ch, cw, 3):
            raise ValueError(f"{path}: colour frames must all be uint8 {ch}x{cw}x3, got {c.dtype} {c.shape}")
        if d.dtype != np.uint16 or d.shape != (dh, dw):
            raise ValueError(f"{path}: depth frames must all be uint16 {dh}x{dw}, got {d.dtype} {d.shape}")
    c_intr = color_intrinsics or Intrinsics.default(cw, ch)
    d_intr = depth_intrinsics or (c_intr if (dh, dw) == (ch, cw) else Intrinsics.default(dw, dh))
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale_recordings(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.db3")
    if tmp.exists():
        tmp.unlink()
    try:
        _record(r, tmp, colors, depths, depth_scale, fps, c_intr, d_intr, rotation, translation)
        if not tmp.is_file() or tmp.stat().st_size == 0:
            raise OSError(f"{path}: pyrealsense2 did not write the recording")
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise
    return path


_REC_TMP = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>[0-9]+)\.tmp\.db3$")


def _clear_stale_recordings(path: Path) -> list[Path]:
    """Remove the temporary recordings (``.<stem>.<pid>.tmp.db3``) that killed writers of ``path`` left
    beside it: those whose process no longer runs. A running writer's file is kept."""
    from prnet_synth.atomic import _pid_alive

    removed = []
    for cand in path.parent.glob(f".{path.stem}.*.tmp.db3"):
        m = _REC_TMP.match(cand.name)
        if m is None or m["stem"] != path.stem or _pid_alive(int(m["pid"])):
            continue
        try:
            cand.unlink()
        except OSError:
            continue
        removed.append(cand)
        log.info("removed %s, left by a killed recording", cand)
    return removed


def _record(r, tmp: Path, colors, depths, depth_scale, fps, c_intr, d_intr, rotation, translation) -> None:
    dev = r.software_device()
    ds = dev.add_sensor("Depth")
    cs = dev.add_sensor("Color")
    dprof = ds.add_video_stream(_make_video_stream(r, "depth", d_intr, fps, 0))
    ds.add_read_only_option(r.option.depth_units, float(depth_scale))
    cprof = cs.add_video_stream(_make_video_stream(r, "color", c_intr, fps, 1))
    ext = r.extrinsics()
    ext.rotation = [float(v) for v in rotation]
    ext.translation = [float(v) for v in translation]
    dprof.register_extrinsics_to(cprof, ext)
    rec = r.recorder(str(tmp), dev)
    rsensors = rec.query_sensors()
    queues = []
    try:
        for s in rsensors:
            q = r.frame_queue(len(colors) + 2, keep_frames=True)
            s.open(s.get_stream_profiles()[0])
            s.start(q)
            queues.append((s, q))
        names = [s.get_info(r.camera_info.name) for s in rsensors]
        qd = queues[names.index("Depth")][1]
        qc = queues[names.index("Color")][1]
        dvp, cvp = dprof.as_video_stream_profile(), cprof.as_video_stream_profile()
        for i, (c, d) in enumerate(zip(colors, depths)):
            ts = i * 1000.0 / fps
            f = r.software_video_frame()
            f.pixels, f.stride, f.bpp = d, 2 * d.shape[1], 2
            f.timestamp, f.frame_number, f.profile, f.depth_units = ts, i + 1, dvp, float(depth_scale)
            f.domain = r.timestamp_domain.hardware_clock
            ds.on_video_frame(f)
            qd.wait_for_frame()
            g = r.software_video_frame()
            g.pixels, g.stride, g.bpp = c, 3 * c.shape[1], 3
            g.timestamp, g.frame_number, g.profile = ts, i + 1, cvp
            g.domain = r.timestamp_domain.hardware_clock
            cs.on_video_frame(g)
            qc.wait_for_frame()
    finally:
        for s, _ in queues:
            s.stop()
            s.close()
        del queues, rsensors, rec   # the recorder finalises the file on destruction
        import gc

        gc.collect()


# ----------------------------------------------------------------------------- PNG pairs
_TOKEN = re.compile(r"(?i)(color|colour|rgb|depth)")


def _natural_key(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _pair_key(name: str) -> Optional[tuple[str, str]]:
    stem = Path(name).stem
    m = list(_TOKEN.finditer(stem))
    if not m:
        return None
    tok = m[-1]
    kind = "depth" if tok.group(1).lower() == "depth" else "color"
    key = stem[:tok.start()] + "#" + stem[tok.end():]
    # rs-convert names carry per-stream timestamps after the token: pair by order when keys differ
    return kind, key


def read_png_pairs(folder: str | os.PathLike, depth_scale: Optional[float] = None) -> Iterator[RGBDFrame]:
    """Colour/depth PNG pairs of a folder (see the module doc), in natural name order."""
    from prnet_synth.conventions import DepthFormatError, read_depth_png, read_png

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of colour/depth PNG pairs")
    if depth_scale is None:
        f = folder / DEPTH_SCALE_FILE
        if f.is_file():
            try:
                depth_scale = float(f.read_text().strip())
            except ValueError as exc:
                raise RealSenseFormatError(f"{f}: expected one number (metres per depth unit)") from exc
            if not depth_scale > 0:
                raise RealSenseFormatError(f"{f}: depth scale must be positive, got {depth_scale}")
        else:
            depth_scale = DEFAULT_DEPTH_SCALE
    colors: dict[str, Path] = {}
    depths: dict[str, Path] = {}
    for p in folder.iterdir():
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg") or not p.is_file():
            continue
        k = _pair_key(p.name)
        if k is None:
            continue
        kind, key = k
        if kind == "depth" and p.suffix.lower() != ".png":
            continue
        (depths if kind == "depth" else colors)[key] = p
    common = sorted(set(colors) & set(depths), key=_natural_key)
    if not common and colors and depths and len(colors) == len(depths):
        # rs-convert style: different per-stream numbers; pair in order
        pairs = list(zip(sorted(colors.values(), key=lambda p: _natural_key(p.name)),
                         sorted(depths.values(), key=lambda p: _natural_key(p.name))))
    else:
        pairs = [(colors[k], depths[k]) for k in common]
    if not pairs:
        raise RealSenseFormatError(f"{folder}: no colour/depth PNG pairs (expected <key>_color.png + <key>_depth.png)")
    for i, (cp, dp) in enumerate(pairs):
        color = read_png(cp)
        if color.ndim == 2:
            color = np.repeat(color[..., None], 3, axis=2)
        depth = read_depth_png(dp, size=None)
        if depth.shape != color.shape[:2]:
            raise DepthFormatError(f"{dp}: depth {depth.shape} does not match colour {cp.name} {color.shape[:2]} "
                                   "(PNG pairs must be aligned to colour)")
        yield RGBDFrame(i, color, depth, float(depth_scale), 0.0, i + 1, str(dp), {"color_path": str(cp)})


def write_png_pairs(folder: str | os.PathLike, colors: Iterable[np.ndarray], depths: Iterable[np.ndarray],
                    depth_scale: float = DEFAULT_DEPTH_SCALE) -> list[Path]:
    """Write ``frame_00000_color.png`` / ``frame_00000_depth.png`` pairs and ``depth_scale.txt`` (atomically)."""
    from prnet_synth.atomic import atomic_write_text
    from prnet_synth.conventions import write_depth_png, write_png

    folder = Path(folder)
    out = []
    for i, (c, d) in enumerate(zip(colors, depths)):
        write_png(folder / f"frame_{i:05d}_color.png", np.asarray(c))
        out.append(write_depth_png(folder / f"frame_{i:05d}_depth.png", np.asarray(d)))
    atomic_write_text(folder / DEPTH_SCALE_FILE, f"{float(depth_scale)!r}\n")
    return out


# ----------------------------------------------------------------------------- live camera
def live_frames(width: int = 640, height: int = 480, fps: int = 30,
                max_frames: Optional[int] = None, serial: Optional[str] = None) -> Iterator[RGBDFrame]:
    """Frames from a connected D435: depth aligned to colour by the SDK's ``rs.align``."""
    r = rs()
    if not r.context().query_devices().size():
        raise RuntimeError("no RealSense camera is connected (use --source FILE.bag|FILE.db3|DIR instead)")
    pipe = r.pipeline()
    cfg = r.config()
    if serial:
        cfg.enable_device(serial)
    cfg.enable_stream(r.stream.depth, width, height, r.format.z16, fps)
    cfg.enable_stream(r.stream.color, width, height, r.format.rgb8, fps)
    profile = pipe.start(cfg)
    try:
        scale = float(profile.get_device().first_depth_sensor().get_depth_scale())
        align = r.align(r.stream.color)
        i = 0
        while max_frames is None or i < max_frames:
            fs = align.process(pipe.wait_for_frames())
            d, c = fs.get_depth_frame(), fs.get_color_frame()
            if not d or not c:
                continue
            yield RGBDFrame(i, np.asanyarray(c.get_data()).copy(), np.asanyarray(d.get_data()).copy(), scale,
                            float(c.get_timestamp()), int(c.get_frame_number()), "live", {"has_color": True})
            i += 1
    finally:
        pipe.stop()


def open_source(source: str | os.PathLike, **kwargs) -> Iterator[RGBDFrame]:
    """``"live"``, a ``.bag``/``.db3`` recording or a folder of PNG pairs."""
    if str(source) == "live":
        return live_frames(**kwargs)
    p = Path(source)
    if p.is_dir():
        return read_png_pairs(p, **kwargs)
    if p.suffix.lower() in RECORDING_SUFFIXES:
        return read_recording(p, **kwargs)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such recording or folder")
    raise RealSenseFormatError(f"{p}: expected 'live', a .bag/.db3 recording or a folder of colour/depth PNG pairs")
