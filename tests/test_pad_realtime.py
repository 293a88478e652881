"""The real-time PAD program on synthetic D435 recordings (.db3 written by rs.recorder, no camera).

A bona fide sequence (a procedural face with its own depth) must be accepted; a printed photo of the
same face image, flat or bent, must be rejected. Enhancer "None" (the DL weights are trained
elsewhere); the decision rule and config handling are checked by hand-computed cases.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.datasets import realsense as rsio
from experiments.pad import realtime as rt
from experiments.pad.synthetic import detectable_face, make_sequence

N_FRAMES = 12


@pytest.fixture(scope="module")
def face():
    return detectable_face(seed=3)


def _record(tmp_path, kind, face, seed=3):
    colors, depths = make_sequence(kind, N_FRAMES, seed=seed, face=face)
    return rsio.write_recording(tmp_path / f"{kind}.db3", colors, depths, depth_scale=0.001)


def test_decide_by_hand():
    cfg = rt.PadConfig(window=10, min_frames=5, accept_ratio=0.8, reject_ratio=0.5)
    assert rt.decide([True] * 4, cfg) == rt.UNDECIDED                     # too few frames
    assert rt.decide([True] * 8 + [False] * 2, cfg) == rt.BONA_FIDE       # 8/10 pass
    assert rt.decide([True] * 7 + [False] * 3, cfg) == rt.UNDECIDED       # 7/10 pass, 3/10 fail
    assert rt.decide([True] * 5 + [False] * 5, cfg) == rt.ATTACK          # 5/10 fail
    # only the last `window` entries count
    assert rt.decide([False] * 20 + [True] * 10, cfg) == rt.BONA_FIDE


def test_config_presets_and_file(tmp_path):
    assert rt.load_config() == rt.PRESETS["default"]
    p = tmp_path / "c.json"
    p.write_text(json.dumps({"window": 20, "bounds": {"min_nose_protrusion_mm": 7.5}}))
    cfg = rt.load_config(p, "fast")
    assert cfg.window == 20 and cfg.detect_every == rt.PRESETS["fast"].detect_every
    assert cfg.bounds.min_nose_protrusion_mm == 7.5 and cfg.bounds.max_inner_relief_mm == 80.0
    p.write_text(json.dumps({"windw": 3}))
    with pytest.raises(ValueError, match=r"c\.json.*windw"):
        rt.load_config(p)
    with pytest.raises(ValueError, match="accept_ratio"):
        rt.PadConfig(accept_ratio=0.4, reject_ratio=0.5)
    with pytest.raises(ValueError, match="unknown PAD preset"):
        rt.load_config(None, "nope")


def test_iou_and_enhancer_errors(tmp_path):
    assert rt._iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    with pytest.raises(ValueError, match="unknown enhancer"):
        rt.make_enhancer("DL-Epsilon")
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        rt.make_enhancer("DL-Delta-1", tflite=str(tmp_path / "missing.tflite"))


def test_bona_fide_recording_accepted_by_the_cli(tmp_path, face, capsys):
    path = _record(tmp_path, "bona_fide", face)
    out = tmp_path / "out"
    rc = rt.main(["--source", str(path), "--enhancer", "None", "--out", str(out), "--display", "off"])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == N_FRAMES and summary["decision"] == rt.BONA_FIDE
    assert summary["provenance"]["preset"] == "default" and summary["enhancer"] == "None"
    assert len(summary["tracks"]) == 1 and summary["tracks"][0]["decision"] == rt.BONA_FIDE
    assert summary["faces_scored"] == N_FRAMES and all(r["faces"][0]["scored"] for r in map(json.loads, (out / "frames.jsonl").read_text().splitlines()))
    assert summary["fps"] > 0 and set(summary["latency_ms"]) == set(rt.STAGES)
    lines = (out / "frames.jsonl").read_text().splitlines()
    assert len(lines) == N_FRAMES
    recs = [json.loads(x) for x in lines]
    # tracking between detections: the detector ran on frames 0, 5, 10 only (detect_every = 5)
    assert [r["faces"][0]["detected"] for r in recs] == [i % 5 == 0 for i in range(N_FRAMES)]
    # the nose sticks out of the quadric through the other landmarks (a hole at the tip can void a frame)
    prot = [r["faces"][0]["plausibility"]["nose_protrusion_mm"] for r in recs]
    assert sum(p is not None and p > 5 for p in prot) >= N_FRAMES - 2
    assert (out / "last_overlay.png").is_file()
    assert "decision: bona fide" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["flat", "bent"])
def test_printed_photo_recordings_rejected(tmp_path, face, kind):
    path = _record(tmp_path, kind, face)
    frames = []
    summary = rt.run(rsio.read_recording(path), rt.make_enhancer("None"), rt.PRESETS["default"],
                     source=str(path), on_frame=frames.append)
    assert summary["frames"] == N_FRAMES
    assert summary["decision"] == rt.ATTACK
    # the same face image is found in every frame, yet its depth has no nose
    assert all(len(f.faces) == 1 for f in frames)
    prot = [f.faces[0].plausibility["nose_protrusion_mm"] for f in frames]
    assert all(p is None or abs(p) < 3 for p in prot) and sum(p is not None for p in prot) >= N_FRAMES - 2


def test_cli_reports_bad_sources(tmp_path, capsys):
    assert rt.main(["--source", str(tmp_path / "nope.db3"), "--enhancer", "None", "--display", "off",
                    "--out", str(tmp_path / "o")]) == 2
    assert "nope.db3" in capsys.readouterr().err


def test_prefetch_keeps_order_raises_and_stops_early():
    assert list(rt.prefetch(range(10))) == list(range(10))

    def failing():
        yield 1
        raise ValueError("boom in the source")

    with pytest.raises(ValueError, match="boom in the source"):
        list(rt.prefetch(failing()))
    closed = []

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.append(True)

    g = rt.prefetch(endless(), 2)
    assert [next(g), next(g)] == [0, 1]
    g.close()
    assert closed == [True]


def test_asynchronous_scoring_reaches_the_same_decision(tmp_path, face):
    colors, depths = make_sequence("bona_fide", N_FRAMES, seed=3, face=face)
    frames = [rsio.RGBDFrame(i, c, d, 0.001) for i, (c, d) in enumerate(zip(colors, depths))]
    cfg = rt.PadConfig(asynchronous=True, min_frames=4)
    summary = rt.run(frames, rt.make_enhancer("None"), cfg, prefetch_frames=0)
    assert summary["frames"] == N_FRAMES
    assert 4 <= summary["faces_scored"] <= N_FRAMES
    assert summary["decision"] == rt.BONA_FIDE
    assert summary["latency_ms"]["enhancement"]["n"] == summary["faces_scored"]


def test_face_leaving_the_frame_is_not_scored(face):
    colors, depths = make_sequence("bona_fide", 10, seed=3, face=face)
    empty_c = np.full_like(colors[0], 120)
    empty_d = np.full_like(depths[0], 900)
    frames = [rsio.RGBDFrame(i, c, d, 0.001) for i, (c, d) in enumerate(zip(colors, depths))]
    frames += [rsio.RGBDFrame(10 + i, empty_c, empty_d, 0.001) for i in range(6)]
    proc = rt.PadProcessor(rt.make_enhancer("None"), rt.PadConfig(detect_every=5, min_frames=8))
    res = [proc.process(f) for f in frames]
    assert all(len(r.faces) == 1 for r in res[:10])
    # frame 10 runs the detector: no face -> the track is kept for re-association but not scored
    assert all(len(r.faces) == 0 for r in res[10:])
    (track,) = proc.all_tracks()
    assert track.frames == 10 and track.decision == rt.BONA_FIDE


def test_cut_background_by_hand():
    """Face block 1000..5000 at the landmarks, one pixel at 5300 and one at 5500 behind them, a 60000
    background and holes: far end 5000 + 0.1 x (5000 - 1000) = 5400."""
    d = np.full((20, 20), 60000, np.uint16)
    d[5:15, 5:15] = 3000
    d[5, 5], d[6, 6] = 1000, 5000                      # nearest pixel; farthest landmark depth
    d[14, 14], d[14, 13] = 5300, 5500
    d[0, 0] = 65535
    lm = np.array([[8 + (i % 5), 8 + (i // 5) % 5] for i in range(68)], float)   # on the 3000 plateau
    lm[0] = (6, 6)                                                             # (x, y) of the 5000 pixel
    out, cut = rt.cut_background(d, lm, 0.1)
    assert out[14, 14] == 5300 and out[14, 13] == 65535 and out[10, 10] == 3000 and out[6, 6] == 5000
    assert cut[14, 13] and not cut[14, 14] and not cut[0, 0]           # holes are not "cut"
    assert (out[cut] == 65535).all() and cut.sum() == (d == 60000).sum() + 1
    assert d[14, 13] == 5500                                           # the input is not modified
    # the margin: 0 cuts the 5300 pixel too; too few landmarks in the image: nothing cut
    assert rt.cut_background(d, lm, 0.0)[1][14, 14]
    far_away = np.full((68, 2), -50.0)
    same, none = rt.cut_background(d, far_away, 0.1)
    assert not none.any() and (same == d).all()
    with pytest.raises(ValueError, match="face_cut_margin"):
        rt.PadConfig(face_cut_margin=-0.5)


class _Spy:
    """An enhancer returning its input unchanged, recording what it was given."""

    def __init__(self, face_range):
        self.face_range, self.label, self.kind, self.seen = face_range, "spy", "spy", []

    def enhance(self, depth):
        self.seen.append(depth.copy())
        return depth.copy()


@pytest.mark.parametrize("face_range", [True, False])
def test_face_range_networks_get_the_background_cut_and_back(face, face_range):
    colors, depths = make_sequence("bona_fide", 2, seed=3, face=face)
    spy = _Spy(face_range)
    proc = rt.PadProcessor(spy, rt.PadConfig(min_frames=1, window=1), keep_images=True)
    res = proc.process(rsio.RGBDFrame(0, colors[0], depths[0], 0.001))
    proc.close()
    assert res.faces and spy.seen
    (track,) = proc.all_tracks()
    given, result = spy.seen[0], track.last["depth"]
    # the scored depth is the preprocessed crop either way: the cut pixels got their input back
    assert result.dtype == np.uint16 and result.shape == given.shape
    newly_holes = (given == 65535) & (result != 65535)
    if face_range:
        assert 0.01 < newly_holes.mean() < 0.9, "the background behind the face should reach the net as holes"
    else:
        assert not newly_holes.any()
