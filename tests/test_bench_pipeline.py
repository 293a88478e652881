"""benchmarks/bench_pipeline.py at a tiny size: its record is self-consistent (issue #23)."""
from __future__ import annotations

import json

import pytest

from benchmarks import bench_pipeline


def test_pipeline_benchmark_record(tmp_path):
    out = tmp_path / "b.json"
    assert bench_pipeline.main(["--faces", "32", "--pairs", "6", "--workers", "2", "--labels", "DL-Delta-1",
                                "--train-steps", "1", "--train-batch", "1", "--gpu-tflops", "100",
                                "--gpu-utilisation", "0.5", "--json", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["gt_parallel_equals_serial"] is True and r["code_version"]
    net = r["networks"][0]
    # 50 TFLOP/s sustained over 3 x the forward FLOPs of one 256x256 image of DL-Delta (Table III width)
    assert net["gflop_per_image"] == pytest.approx(bench_pipeline_gflop(), rel=1e-6)
    assert net["gpu_images_per_s_extrapolated"] == pytest.approx(50e12 / (3 * net["gflop_per_image"] * 1e9))
    per_pair = 1 / (r["gt_per_cpu_s"] * 30)
    assert r["pairs_per_core_paper_schedule_gpu_degrades"] == pytest.approx(1 / per_pair)
    assert r["pairs_per_core_paper_schedule"] == pytest.approx(1 / (1 / r["degrade_per_cpu_s"] + per_pair))
    assert net["cores_to_feed_gpu"] == pytest.approx(net["gpu_images_per_s_extrapolated"] * per_pair)


def bench_pipeline_gflop() -> float:
    from models.unet import build_enhancer_network, conv_flops

    return conv_flops(build_enhancer_network("DL-Delta-1", 1.0, input_size=256)) / 1e9
