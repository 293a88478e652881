"""RealSense recordings (.db3 written by rs.recorder, read back by playback), PNG pairs, alignment vs rs.align."""
from __future__ import annotations

import numpy as np
import pytest

from experiments.datasets import realsense as rsio
from prnet_synth.conventions import DepthFormatError


def _frames(n, h=48, w=64, seed=0):
    rng = np.random.default_rng(seed)
    depths, colors = [], []
    for _ in range(n):
        d = rng.integers(1, 65535, (h, w), dtype=np.uint16)
        d[5:9, 10:20] = 0                                       # a block of holes
        depths.append(d)
        colors.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    return colors, depths


def test_db3_round_trip_every_frame_exact(tmp_path):
    colors, depths = _frames(6)
    path = rsio.write_recording(tmp_path / "rec.db3", colors, depths, depth_scale=0.001, fps=30)
    assert path.is_file() and not list(tmp_path.glob(".*tmp*"))
    got = list(rsio.read_recording(path))
    assert len(got) == 6
    for i, f in enumerate(got):
        assert f.index == i and f.frame_number == i + 1
        assert f.timestamp_ms == pytest.approx(i * 1000 / 30, abs=1e-3)
        assert f.depth_scale == pytest.approx(0.001, rel=1e-6)
        np.testing.assert_array_equal(f.depth, depths[i])
        np.testing.assert_array_equal(f.color, colors[i])


def test_db3_depth_scale_and_max_frames(tmp_path):
    colors, depths = _frames(4, seed=1)
    path = rsio.write_recording(tmp_path / "s.db3", colors, depths, depth_scale=0.0001)
    got = list(rsio.read_recording(path, max_frames=2))
    assert len(got) == 2 and got[0].depth_scale == pytest.approx(0.0001, rel=1e-5)
    # open_source dispatches on the suffix
    assert len(list(rsio.open_source(str(path)))) == 4


def test_recording_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.db3"):
        rsio.write_recording(tmp_path / "x.bag", *_frames(1))
    bad = tmp_path / "broken.db3"
    bad.write_bytes(b"not a ros2 bag")
    with pytest.raises(rsio.RealSenseFormatError, match="broken.db3"):
        list(rsio.read_recording(bad))
    with pytest.raises(FileNotFoundError, match="missing.bag"):
        list(rsio.read_recording(tmp_path / "missing.bag"))


def _sdk_align(depth, d_intr, c_intr, rot, trans, scale=0.001):
    """Depth aligned by the SDK's rs.align on a software device frameset (the independent reference)."""
    r = rsio.rs()
    dev = r.software_device()
    ds, cs = dev.add_sensor("Depth"), dev.add_sensor("Color")
    dp = ds.add_video_stream(rsio._make_video_stream(r, "depth", d_intr, 30, 0))
    cp = cs.add_video_stream(rsio._make_video_stream(r, "color", c_intr, 30, 1))
    ds.add_read_only_option(r.option.depth_units, scale)
    ext = r.extrinsics()
    ext.rotation, ext.translation = list(rot), list(trans)
    dp.register_extrinsics_to(cp, ext)
    dev.create_matcher(r.matchers.dlr_c)
    sync = r.syncer()
    ds.open(dp)
    cs.open(cp)
    ds.start(sync)
    cs.start(sync)
    out = None
    try:
        color = np.zeros((c_intr.height, c_intr.width, 3), np.uint8)
        for i in range(3):     # the syncer pairs from the second set on
            f = r.software_video_frame()
            f.pixels, f.stride, f.bpp = depth, 2 * d_intr.width, 2
            f.timestamp, f.frame_number, f.profile, f.depth_units = i * 33.0, i + 1, dp.as_video_stream_profile(), scale
            f.domain = r.timestamp_domain.hardware_clock
            ds.on_video_frame(f)
            g = r.software_video_frame()
            g.pixels, g.stride, g.bpp = color, 3 * c_intr.width, 3
            g.timestamp, g.frame_number, g.profile = i * 33.0, i + 1, cp.as_video_stream_profile()
            g.domain = r.timestamp_domain.hardware_clock
            cs.on_video_frame(g)
            fs = sync.wait_for_frames(2000)
            if fs.size() == 2:
                out = np.asanyarray(r.align(r.stream.color).process(fs).get_depth_frame().get_data()).copy()
                break
    finally:
        for s in (ds, cs):
            s.stop()
            s.close()
    assert out is not None, "the SDK syncer did not pair depth and colour"
    return out


@pytest.mark.parametrize("case", [0, 1, 2])
def test_numpy_alignment_matches_rs_align(case):
    rng = np.random.default_rng(10 + case)
    d_intr = rsio.Intrinsics(32, 24, 20.0, 21.0, 15.3, 11.7)
    c_intr = rsio.Intrinsics(64, 48, 41.0, 40.0, 31.9, 23.2) if case == 0 else rsio.Intrinsics(40, 30, 30.0, 30.0, 21.0, 14.0)
    a = 0.05 * case
    rot = [np.cos(a), 0, -np.sin(a), 0, 1, 0, np.sin(a), 0, np.cos(a)]       # column-major, about the y axis
    trans = [0.015, 0.002, 0.0] if case == 0 else [-0.02, 0.0, 0.003]
    depth = rng.integers(300, 700, (24, 32)).astype(np.uint16)
    depth[rng.random((24, 32)) < 0.1] = 0
    ours = rsio.align_depth_to_color(depth, 0.001, d_intr, c_intr, rot, trans)
    sdk = _sdk_align(depth, d_intr, c_intr, rot, trans)
    np.testing.assert_array_equal(ours, sdk)


def test_unaligned_recording_is_aligned_on_read(tmp_path):
    d_intr = rsio.Intrinsics(32, 24, 20.0, 20.0, 15.5, 11.5)
    c_intr = rsio.Intrinsics(64, 48, 40.0, 40.0, 31.5, 23.5)
    depth = np.full((24, 32), 500, np.uint16)
    depth[10, 10] = 450
    color = np.zeros((48, 64, 3), np.uint8)
    path = rsio.write_recording(tmp_path / "u.db3", [color], [depth], depth_intrinsics=d_intr, color_intrinsics=c_intr)
    (f,) = list(rsio.read_recording(path))
    assert f.depth.shape == (48, 64)
    # hand-computed: depth pixel x covers colour columns 2x .. 2x+2 (corners at 2x-0.5 and 2x+1.5, rounded)
    # and the nearer depth wins on the shared border: the 450 mm pixel (10, 10) covers rows/cols 20..22
    assert np.all(f.depth[20:23, 20:23] == 450)
    assert f.depth[19, 20] == 500 and f.depth[23, 23] == 500
    np.testing.assert_array_equal(f.depth, rsio.align_depth_to_color(depth, f.depth_scale, d_intr, c_intr))


def test_png_pairs_round_trip_and_errors(tmp_path):
    colors, depths = _frames(3, seed=2)
    rsio.write_png_pairs(tmp_path / "pairs", colors, depths, depth_scale=0.00025)
    got = list(rsio.read_png_pairs(tmp_path / "pairs"))
    assert len(got) == 3
    for i, f in enumerate(got):
        np.testing.assert_array_equal(f.depth, depths[i])
        np.testing.assert_array_equal(f.color, colors[i])
        assert f.depth_scale == 0.00025
    # rs-convert style names: per-stream numbers differ, pairs are taken in order
    import cv2

    rc = tmp_path / "rsconvert"
    rc.mkdir()
    cv2.imwrite(str(rc / "rec_Depth_1001.png"), depths[0])
    cv2.imwrite(str(rc / "rec_Color_1003.png"), colors[0][..., ::-1])
    (f,) = list(rsio.open_source(rc))
    np.testing.assert_array_equal(f.color, colors[0])
    assert f.depth_scale == rsio.DEFAULT_DEPTH_SCALE
    # an 8-bit depth PNG is refused with its name
    bad = tmp_path / "bad"
    bad.mkdir()
    cv2.imwrite(str(bad / "a_color.png"), colors[0])
    cv2.imwrite(str(bad / "a_depth.png"), (depths[0] >> 8).astype(np.uint8))
    with pytest.raises(DepthFormatError, match="a_depth.png"):
        list(rsio.read_png_pairs(bad))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(rsio.RealSenseFormatError, match="empty"):
        list(rsio.read_png_pairs(empty))


def test_ros1_bag_asset_reads_every_frame_exactly():
    """A ROS1 .bag (the RealSense Viewer format of the paper's D435 data), written once with pyrealsense2
    2.56.5 by tests/data/make_realsense_ros1_bag.py, read by the pinned pyrealsense2."""
    import importlib.util
    from pathlib import Path

    data = Path(__file__).resolve().parent / "data"
    spec = importlib.util.spec_from_file_location("make_bag", data / "make_realsense_ros1_bag.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    path = data / "realsense_ros1_depth_color.bag"
    assert path.read_bytes()[:13] == b"#ROSBAG V2.0\n"
    got = list(rsio.read_recording(path))
    assert [f.frame_number for f in got] == [1, 2, 3, 4]
    for f in got:
        depth, color = mod.frame_arrays(f.index)
        np.testing.assert_array_equal(f.depth, depth)
        np.testing.assert_array_equal(f.color, color)
        assert f.depth_scale == pytest.approx(0.001, rel=1e-6)
