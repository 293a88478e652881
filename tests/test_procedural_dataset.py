"""The on-disk synthetic data set: writer, reader, resumption, CLI, tf.data form."""
from __future__ import annotations

import json

import numpy as np
import pytest

from prnet_synth import procedural
from prnet_synth.conventions import read_depth_png


def test_write_read_roundtrip_and_resume(tmp_path):
    out = tmp_path / "synth"
    procedural.write_dataset(out, 5, seed=9, shard_size=2, progress=False)
    shards = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert shards == ["shard_00000", "shard_00001", "shard_00002"]
    ds = procedural.read_dataset(out)
    assert len(ds) == 5
    ref = procedural.generate(5, seed=9)
    for i in (0, 4):
        got = ds[i]
        for k in ("depth", "rgb", "gray", "mask"):
            np.testing.assert_array_equal(got[k], ref[i][k])
        np.testing.assert_allclose(got["landmarks"], ref[i]["landmarks"], atol=1e-3)
        assert got["identity"] == ref[i]["identity"]
        assert got["params"] == json.loads(json.dumps(ref[i]["params"]))
    depth_file = out / "shard_00001" / "000002_depth.png"
    assert read_depth_png(depth_file).dtype == np.uint16

    # a killed run: shard 1 lost its manifest and an image; shard 0 is finished
    done = out / "shard_00000" / "manifest.jsonl"
    stamp = done.stat().st_mtime_ns
    (out / "shard_00001" / "manifest.jsonl").unlink()
    depth_file.unlink()
    assert len(procedural.read_dataset(out)) == 3   # the unfinished shard is skipped
    procedural.write_dataset(out, 5, seed=9, shard_size=2, progress=False)
    assert done.stat().st_mtime_ns == stamp          # finished shards are not redone
    np.testing.assert_array_equal(read_depth_png(depth_file), ref[2]["depth"])
    assert len(procedural.read_dataset(out)) == 5

    with pytest.raises(ValueError, match="other settings"):
        procedural.write_dataset(out, 5, seed=10, shard_size=2, progress=False)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset.json"):
        procedural.read_dataset(tmp_path)
    (tmp_path / "dataset.json").write_text("{not json")
    with pytest.raises(ValueError, match="dataset.json"):
        procedural.read_dataset(tmp_path)


def test_cli_and_shard_selection(tmp_path):
    from prnet_synth.procedural.__main__ import main

    out = tmp_path / "cli"
    assert main(["--out", str(out), "-n", "3", "--seed", "1", "--shard-size", "1", "--shard", "1/2",
                 "--frontal", "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["shard_00001"]
    rec = json.loads((out / "shard_00001" / "manifest.jsonl").read_text())
    assert rec["index"] == 1 and len(rec["landmarks"]) == 68
    assert abs(rec["params"]["yaw"]) <= 15


def test_tf_dataset_matches_stream():
    tf = pytest.importorskip("tensorflow")
    ds = procedural.as_tf_dataset(seed=5, stop=2, keys=("depth", "landmarks", "identity"))
    items = list(ds.as_numpy_iterator())
    ref = procedural.generate(2, seed=5)
    assert len(items) == 2
    np.testing.assert_array_equal(items[1]["depth"], ref[1]["depth"])
    np.testing.assert_array_equal(items[0]["landmarks"], ref[0]["landmarks"])
    assert ds.element_spec["depth"].dtype == tf.uint16


def test_failed_sample_is_logged_skipped_and_redone(tmp_path, monkeypatch, caplog):
    import prnet_synth.procedural.scene as scene

    real = scene.render

    def flaky(seed, index, options):
        if index == 1:
            raise RuntimeError("simulated failure")
        return real(seed, index, options)

    out = tmp_path / "flaky"
    monkeypatch.setattr(scene, "render", flaky)
    procedural.write_dataset(out, 3, seed=4, shard_size=2, progress=False)
    assert "sample 1" in caplog.text
    assert not (out / "shard_00000" / "manifest.jsonl").exists()   # unfinished: retried later
    assert (out / "shard_00001" / "manifest.jsonl").exists()
    assert [r["index"] for r in procedural.read_dataset(out).records] == [2]
    monkeypatch.setattr(scene, "render", real)
    procedural.write_dataset(out, 3, seed=4, shard_size=2, progress=False)
    assert [r["index"] for r in procedural.read_dataset(out).records] == [0, 1, 2]
