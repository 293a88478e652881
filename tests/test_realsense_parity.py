"""The numba twins against the real RealSense SDK (pyrealsense2), bit for bit.

Hundreds of randomised images per filter: random sizes (including sizes whose decimated size is
not a multiple of 4), hole densities from 0 to 95 %, flat regions, random walks whose steps sit
around the spatial filter's delta, tiny values (0/1/2 quirks of the SDK's validity tests) and
long hole runs (longer than the 16-pixel and the 255-pixel fill radius).
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from experiments import realsense_filters as RF
from experiments.enhancers import HANDCRAFTED_LABELS, get_enhancer

pytestmark = pytest.mark.skipif(not RF.sdk_available(), reason="pyrealsense2 cannot be imported")

N_SMALL = 110      # random small images per filter configuration
N_LARGE = 4        # full-size images with long hole runs per configuration

SPECS = dict(RF.TABLE_II)
# non-default options exercise the float32 blend rounding and the other radii / magnitudes
SPECS.update({
    "De-M3": RF.FilterSpec("decimation", 3),
    "De-M5": RF.FilterSpec("decimation", 5),
    "Sp-a37-d7-it3-r8": RF.FilterSpec("spatial", 3, iterations=3, alpha=0.37, delta=7),
    "Sp-a91-d50-it1-r2": RF.FilterSpec("spatial", 1, iterations=1, alpha=0.91, delta=50),
    "Sp-noholes": RF.FilterSpec("spatial", 0),
})


def random_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.integers(0, 5)
    if kind == 0:                       # uniform noise over the whole range
        img = rng.integers(0, 65536, (h, w))
    elif kind == 1:                     # random walk along rows, steps around delta = 20
        img = 30000 + np.cumsum(rng.integers(-25, 26, (h, w)), axis=1)
    elif kind == 2:                     # flat regions with steps near delta in both directions
        base = rng.integers(1000, 1100)
        img = np.full((h, w), base)
        for _ in range(rng.integers(1, 6)):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            img[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] += rng.choice([-21, -20, -19, 19, 20, 21, 300])
    elif kind == 3:                     # tiny values: 0, 1, 2 near the validity thresholds
        img = rng.integers(0, 40, (h, w))
    else:                               # smooth surface plus noise
        yy, xx = np.mgrid[0:h, 0:w]
        img = 20000 + 30 * yy + 15 * xx + rng.integers(-12, 13, (h, w))
    img = np.clip(img, 0, 65535).astype(np.uint16)
    density = rng.choice([0.0, 0.02, 0.1, 0.3, 0.6, 0.95])
    img[rng.random((h, w)) < density] = 0
    if rng.random() < 0.3:              # rectangular hole blocks
        y0, x0 = rng.integers(0, h), rng.integers(0, w)
        img[y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = 0
    return img


@pytest.mark.parametrize("name", list(SPECS))
def test_twin_matches_sdk_random_small(name):
    spec = SPECS[name]
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    for i in range(N_SMALL):
        h, w = (int(v) for v in rng.integers(3, 72, 2))
        img = random_image(rng, h, w)
        sdk = RF.apply_filter(spec, img, "sdk")
        tw = RF.apply_filter(spec, img, "twin")
        assert sdk.shape == tw.shape, (name, i, img.shape)
        if not np.array_equal(sdk, tw):
            bad = np.argwhere(sdk != tw)
            pytest.fail(f"{name} image {i} {img.shape}: {len(bad)} pixels differ, first {bad[0]} "
                        f"sdk={sdk[tuple(bad[0])]} twin={tw[tuple(bad[0])]}")


@pytest.mark.parametrize("name", list(SPECS))
def test_twin_matches_sdk_large_hole_runs(name):
    spec = SPECS[name]
    rng = np.random.default_rng(7)
    for i in range(N_LARGE):
        w = 300 if i % 2 else 256              # rows longer than the 255-pixel unlimited radius
        img = random_image(rng, 256, w)
        img[img == 0] = 20000
        y0 = int(rng.integers(0, 200))
        img[y0:y0 + 40, 5:w - 3] = 0           # hole runs longer than any fill radius
        img[rng.random(img.shape) < 0.05] = 0
        np.testing.assert_array_equal(RF.apply_filter(spec, img, "sdk"), RF.apply_filter(spec, img, "twin"),
                                      err_msg=f"{name} large image {i}")


def test_input_not_modified_and_sdk_deterministic():
    rng = np.random.default_rng(3)
    img = random_image(rng, 40, 50)
    keep = img.copy()
    for spec in RF.TABLE_II.values():
        a = RF.apply_filter(spec, img, "sdk")
        b = RF.apply_filter(spec, img, "sdk")
        np.testing.assert_array_equal(a, b)
        RF.apply_filter(spec, img, "twin")
        np.testing.assert_array_equal(img, keep)


def test_enhancers_sdk_equal_twin_on_paper_images():
    """Whole enhancers (paper convention, conversions, decimation upscaling) on 256x256 batches."""
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:256, 0:256]
    batch = []
    for _ in range(3):
        face = 8000 + ((yy - 128) ** 2 + (xx - 128) ** 2) // 2 + rng.integers(-30, 31, (256, 256))
        d = np.clip(face, 0, 65534).astype(np.uint16)
        d[rng.random(d.shape) < 0.15] = 65535
        d[(yy - 128) ** 2 + (xx - 128) ** 2 > 110 ** 2] = 65535
        d[100:120, 60:200] = 65535
        d[0, :5] = 0
        batch.append(d)
    batch = np.stack(batch)
    for label in HANDCRAFTED_LABELS:
        a = get_enhancer(label, backend="sdk").enhance(batch)
        b = get_enhancer(label, backend="twin").enhance(batch)
        np.testing.assert_array_equal(a, b, err_msg=label)
