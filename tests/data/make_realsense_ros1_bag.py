"""Writes realsense_ros1_depth_color.bag: a ROS1 RealSense recording (the format of RealSense Viewer
recordings of 2019, i.e. of the paper's D435 data) with a Z16 depth and an RGB8 colour stream.

pyrealsense2 >= 2.58 records ROS2 .db3 only, so this asset was made once with pyrealsense2 2.56.5 in a
separate virtual environment (shared/docs/datasets.md section 7):

    python3.11 -m venv <VENV> && <VENV>/bin/pip install pyrealsense2==2.56.5.9235 numpy
    LIBUSB=<path of libusb-1.0.so> <VENV>/bin/python tests/data/make_realsense_ros1_bag.py

The frame contents follow ``frame_arrays(i)``, which tests/test_realsense_io.py recomputes.
"""
import ctypes
import gc
import os
import sys
from pathlib import Path

import numpy as np

W, H, N, SCALE = 64, 48, 4, 0.001


def frame_arrays(i):
    yy, xx = np.mgrid[0:H, 0:W]
    depth = ((xx * 37 + yy * 101 + i * 7) % 60000 + 400).astype(np.uint16)
    depth[5:9, 10:20] = 0
    color = np.stack([(xx * 4 + i) % 256, (yy * 5) % 256, (xx + yy + 30 * i) % 256], axis=-1).astype(np.uint8)
    return depth, color


def main(out):
    if os.environ.get("LIBUSB"):
        ctypes.CDLL(os.environ["LIBUSB"], mode=ctypes.RTLD_GLOBAL)
    import pyrealsense2 as rs

    intr = rs.intrinsics()
    intr.width, intr.height, intr.fx, intr.fy, intr.ppx, intr.ppy = W, H, 50.0, 50.0, 31.5, 23.5
    intr.model, intr.coeffs = rs.distortion.none, [0.0] * 5
    dev = rs.software_device()
    ds, cs = dev.add_sensor("Depth"), dev.add_sensor("Color")
    streams = []
    for kind, sensor, uid in (("depth", ds, 0), ("color", cs, 1)):
        vs = rs.video_stream()
        vs.type = rs.stream.depth if kind == "depth" else rs.stream.color
        vs.index, vs.uid, vs.width, vs.height, vs.fps = 0, uid, W, H, 30
        vs.bpp = 2 if kind == "depth" else 3
        vs.fmt = rs.format.z16 if kind == "depth" else rs.format.rgb8
        vs.intrinsics = intr
        streams.append(sensor.add_video_stream(vs))
    ds.add_read_only_option(rs.option.depth_units, SCALE)
    ext = rs.extrinsics()
    ext.rotation, ext.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]
    streams[0].register_extrinsics_to(streams[1], ext)
    rec = rs.recorder(str(out), dev)
    rsens = rec.query_sensors()
    queues = []
    for s in rsens:
        q = rs.frame_queue(N + 2, keep_frames=True)
        s.open(s.get_stream_profiles()[0])
        s.start(q)
        queues.append(q)
    names = [s.get_info(rs.camera_info.name) for s in rsens]
    for i in range(N):
        depth, color = frame_arrays(i)
        for sensor, prof, arr, bpp, q in ((ds, streams[0], depth, 2, queues[names.index("Depth")]),
                                          (cs, streams[1], color, 3, queues[names.index("Color")])):
            f = rs.software_video_frame()
            f.pixels, f.stride, f.bpp = np.ascontiguousarray(arr), bpp * W, bpp
            f.timestamp, f.frame_number, f.profile = i * 1000.0 / 30, i + 1, prof.as_video_stream_profile()
            f.domain = rs.timestamp_domain.hardware_clock
            if bpp == 2:
                f.depth_units = SCALE
            sensor.on_video_frame(f)
            q.wait_for_frame()
    for s in rsens:
        s.stop()
        s.close()
    del rsens, rec, queues
    gc.collect()
    print(out, Path(out).stat().st_size, "bytes")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("realsense_ros1_depth_color.bag"))
