"""Benchmark: the batched TF degradation renderer vs a per-image OpenCV implementation.

The reference below is what a user would write instead (cv2.erode for the outline, cv2.ellipse
for the holes, numpy's Generator for the noise, cv2.blur twice for the normalised convolution),
implementing the same degradations with the same ``DegradationConfig`` ranges. Both run in one
process on the same ground truth; the script prints pairs/s for both and their ratio, and the
ratio to the U-Net training rate the renderer has to outpace. That rate is measured in the same
run, interleaved with the renderer timings so that load changes hit both alike: training steps of
the U-Net (default DL-Delta at Table III width, 4.2 M parameters, batch 16, the trainer's fixed-shape
model, Adam + MSE) on the benchmark's own degraded pairs. ``--train-steps 0`` skips it (no ratio).

    python benchmarks/bench_degrade.py [--batch 64] [--repeats 5] [--variant plain|...|all] [--config paper] [--size 256]
                                       [--train-label DL-Delta-1] [--train-width 1.0] [--train-batch 16] [--train-steps 3]
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

# importing prnet_synth sets TensorFlow's log level before TensorFlow loads (prnet_synth.tf_env)
from prnet_synth.conventions import MAX_VALID, UNITS_PER_MM  # noqa: E402

#: the renderer should make pairs at least this many times faster than the U-Net trains on them
GOAL_OVER_TRAINING = 20.0
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def _pick(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return points[rng.integers(0, points.size, k)] if points.size and k else np.zeros(0, np.int64)


def degrade_one_cv2(gt: np.ndarray, rng: np.random.Generator, cfg, variant: str = "plain") -> np.ndarray:
    """The same degradations as degrade.degrade_batch, per image with OpenCV and numpy."""
    h, w = gt.shape
    valid = gt != 65535
    v8 = valid.view(np.uint8)
    inner = cv2.erode(v8, _CROSS, borderType=cv2.BORDER_CONSTANT, borderValue=1)
    holes = np.zeros((h, w), np.uint8)
    for src, counts, radius, aspect in (
        (v8 & (inner ^ 1), cfg.outline_holes, cfg.outline_hole_radius, cfg.outline_hole_aspect),
        (v8, cfg.random_holes, cfg.random_hole_radius, cfg.random_hole_aspect),
    ):
        k = int(rng.integers(counts[0], counts[1] + 1))
        idx = _pick(np.flatnonzero(src), k, rng)
        for i in idx:
            a = rng.uniform(*radius)
            b = a * rng.uniform(*aspect)
            ang = rng.uniform(0.0, 180.0)
            cx, cy = i % w + rng.uniform(-0.5, 0.5), i // w + rng.uniform(-0.5, 0.5)
            # shift=4: sub-pixel centre and axes (1/16 px)
            cv2.ellipse(holes, (int(cx * 16), int(cy * 16)), (int(a * 16), int(b * 16)), ang, 0, 360, 1, -1,
                        cv2.LINE_8, 4)
    valid = valid & (holes == 0)
    m = valid.astype(np.float32)
    depth = gt.astype(np.float32)
    if cfg.noise_mm > 0:
        sigma = np.float32(cfg.noise_mm * UNITS_PER_MM)
        # OpenCV's generator (seeded with cv2.setRNGSeed): about 4x faster than numpy's here
        noise = np.empty((h, w), np.float32)
        if cfg.noise_distribution == "gaussian":
            cv2.randn(noise, 0.0, float(sigma))
        else:
            half = float(sigma) * math.sqrt(3.0)
            cv2.randu(noise, -half, half)
        depth += noise
        np.clip(depth, 0.0, MAX_VALID, out=depth)
    k = 2 * int(rng.integers((cfg.blur_size[0] - 1) // 2, (cfg.blur_size[1] - 1) // 2 + 1)) + 1
    if k > 1:
        num = cv2.blur(depth * m, (k, k), borderType=cv2.BORDER_CONSTANT)
        den = cv2.blur(m, (k, k), borderType=cv2.BORDER_CONSTANT)
        depth = num / np.maximum(den, 1e-6)
    if cfg.quantize_mm > 0:
        q = cfg.quantize_mm * UNITS_PER_MM
        depth = np.round(depth / q) * q
    out = np.clip(np.rint(depth), 0, MAX_VALID).astype(np.uint16)
    if variant == "plain":
        out[~valid] = 65535
    elif variant == "random_background":
        bg = np.empty((h, w), np.uint16)
        cv2.randu(bg, 0, 65536)
        out[~valid] = bg[~valid]
    else:
        width = rng.uniform(*cfg.background_range) * MAX_VALID
        lo = rng.uniform(0.0, MAX_VALID - width)
        kb = 2 * int(rng.integers((cfg.background_blur_size[0] - 1) // 2,
                                  (cfg.background_blur_size[1] - 1) // 2 + 1)) + 1
        bg = np.empty((h, w), np.float32)
        cv2.randu(bg, 0.0, 1.0)
        bg = cv2.blur(bg, (kb, kb), borderType=cv2.BORDER_REFLECT)
        bg = np.clip(np.rint(lo + width * bg), 0, MAX_VALID).astype(np.uint16)
        out[~valid] = bg[~valid]
    return out


class TrainingTimer:
    """Times single training steps of a U-Net enhancer as the trainer builds and compiles it (fixed
    input shape, ``models.training._compile`` with the paper preset's recipe) on given pairs."""

    def __init__(self, label: str, width: float, size: int, batch: int, gt: np.ndarray, deg: np.ndarray):
        from models.enhancer_presets import get_preset
        from models.training import _compile
        from models.unet import build_enhancer_network, trainable_count

        self.batch = batch
        self.model = build_enhancer_network(label, width, input_size=size)
        self.params = trainable_count(self.model)
        _compile(self.model, get_preset("paper"), steps=1000)
        reps = -(-batch // len(gt))
        scale = np.float32(1.0 / 65535.0)
        self.x = (np.tile(deg, (reps, 1, 1))[:batch, ..., None].astype(np.float32) * scale)
        self.y = (np.tile(gt, (reps, 1, 1))[:batch, ..., None].astype(np.float32) * scale)
        self.times: list[float] = []

    def warm_up(self) -> float:
        t0 = time.perf_counter()
        self.model.train_on_batch(self.x, self.y)
        return time.perf_counter() - t0

    def step(self) -> None:
        t0 = time.perf_counter()
        self.model.train_on_batch(self.x, self.y)
        self.times.append(time.perf_counter() - t0)

    @property
    def rate(self) -> float:
        """Training images per second: batch / median step time."""
        return self.batch / float(np.median(self.times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5, help="timed batches per implementation (interleaved)")
    ap.add_argument("--variant", default="plain", help="plain | random_background | blurred_background | all")
    ap.add_argument("--config", default="paper")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--pipeline-batches", type=int, default=12,
                    help="also time pairs_dataset over this many batches of 16 (0: skip)")
    ap.add_argument("--train-label", default="DL-Delta-1", help="U-Net whose training rate is measured")
    ap.add_argument("--train-width", type=float, default=1.0, help="its width multiplier (1.0: Table III)")
    ap.add_argument("--train-batch", type=int, default=16)
    ap.add_argument("--train-steps", type=int, default=3,
                    help="timed training steps (after one warm-up), interleaved with the first repeats; "
                         "0: no training rate and no ratio to it")
    args = ap.parse_args(argv)
    if args.train_steps < 0 or args.train_batch < 1:
        ap.error("--train-steps must be >= 0 and --train-batch >= 1")

    import tensorflow as tf

    import degrade
    from degrade.toyfaces import toy_faces

    cfg = degrade.get_config(args.config)
    gt = toy_faces(args.batch, args.size, seed=0)
    gt_tf = tf.constant(gt)
    rng = np.random.default_rng(0)
    cv2.setRNGSeed(0)

    dev = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    variants = degrade.VARIANTS if args.variant == "all" else (args.variant,)
    print(f"device: {dev}; batch {args.batch} of {args.size}x{args.size}; config {args.config}; "
          f"median of {args.repeats} interleaved timings")
    trainer = None
    if args.train_steps:
        deg = np.stack([degrade_one_cv2(g, rng, cfg, "plain") for g in gt])   # training pairs (no TF trace here)
        trainer = TrainingTimer(args.train_label, args.train_width, args.size, args.train_batch, gt, deg)
        warm = trainer.warm_up()
        print(f"U-Net training: {args.train_label} x{args.train_width:g} ({trainer.params:,} parameters), batch "
              f"{args.train_batch}, {args.size}x{args.size}; first step (trace + compile) {warm:.1f} s; "
              f"{args.train_steps} timed steps interleaved below")
    pending = args.train_steps
    for variant in variants:
        t0 = time.perf_counter()
        degrade.degrade_batch(gt_tf, 0, variant, cfg).numpy()
        compile_s = time.perf_counter() - t0
        for i in range(2):  # warm-up of both
            degrade.degrade_batch(gt_tf, i + 1, variant, cfg).numpy()
            degrade_one_cv2(gt[0], rng, cfg, variant)
        t_tf, t_cv = [], []
        for r in range(args.repeats):  # interleaved, so load changes hit all alike
            t0 = time.perf_counter()
            degrade.degrade_batch(gt_tf, 100 + r, variant, cfg).numpy()
            t_tf.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(args.batch):
                degrade_one_cv2(gt[i], rng, cfg, variant)
            t_cv.append(time.perf_counter() - t0)
            if trainer is not None and pending > 0:
                trainer.step()
                pending -= 1
        while trainer is not None and pending > 0:   # fewer repeats than training steps
            trainer.step()
            pending -= 1
        tf_rate = args.batch / float(np.median(t_tf))
        cv_rate = args.batch / float(np.median(t_cv))
        print(f"[{variant}] first call (trace + XLA compile) {compile_s:.1f} s")
        print(f"  TF renderer (batched):   {tf_rate:8.1f} pairs/s")
        print(f"  OpenCV per image (ref.): {cv_rate:8.1f} pairs/s")
        print(f"  ratio TF / OpenCV:       {tf_rate / cv_rate:8.2f}  (goal >= 0.5)")
        if trainer is not None:
            train = trainer.rate
            print(f"  U-Net training (measured): {train:8.2f} img/s (median of {len(trainer.times)} steps)")
            print(f"  ratio TF / U-Net training: {tf_rate / train:8.1f}  (goal >= {GOAL_OVER_TRAINING:g})")
    if args.pipeline_batches > 0:
        # the tf.data stage the trainer uses: float pairs, parallel map, prefetch
        ds = degrade.pairs_dataset(gt, 0, 16, variants=degrade.VARIANTS, config=cfg,
                                   image_size=(args.size, args.size))
        it = iter(ds)
        next(it)  # trace + compile
        t0 = time.perf_counter()
        for _ in range(args.pipeline_batches):
            x, y = next(it)
        rate = 16 * args.pipeline_batches / (time.perf_counter() - t0)
        line = f"[pairs_dataset, all variants, batch 16, float] {rate:8.1f} pairs/s"
        if trainer is not None:
            line += f" = {rate / trainer.rate:.1f}x the measured U-Net training rate ({trainer.rate:.2f} img/s)"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
