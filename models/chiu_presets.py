"""Presets (configs as data) for Chiu et al. (002_dc34ad5f35326815.txt): DepthNet and the
mask-guided RGB-D face recognition network.

``paper`` holds every setting the paper states (section IV-B) plus our documented choices for
what it leaves open; ``quick`` keeps the same structure, scaled to minutes on a 2-core CPU; ``cpu``
(proposed, not yet run in full) the largest widths that train in about an hour on a 2-core CPU.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["DepthNetConfig", "RecognitionConfig", "ChiuPreset", "PRESETS", "get_preset"]


@dataclass(frozen=True)
class DepthNetConfig:
    # stated (IV-B): Adam lr 2e-4, betas 0.5/0.999, lambda1 = 100 (depth), lambda2 = 100 (mask),
    # lambda3 = 1 (adversarial), batch 16, 256x256 images, 7 mask classes (IV-A.1).
    size: int = 256
    mask_classes: int = 7
    lambda_depth: float = 100.0
    lambda_mask: float = 100.0
    lambda_adv: float = 1.0
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    batch_size: int = 16
    # decided (not stated): pix2pix-style U-Net widths (encoder C64-C128-C256-C512...), PatchGAN
    # discriminators with three stride-2 layers; number of epochs.
    base_filters: int = 64
    max_filters: int = 512
    disc_filters: int = 64
    disc_layers: int = 3
    epochs: int = 200
    use_mask_branch: bool = True


@dataclass(frozen=True)
class RecognitionConfig:
    # stated (IV-B): SGD momentum 0.9, weight decay 5e-4, lr 0.1 divided by 10 at epochs 6, 10, 17;
    # SAM on the 56x56x64 and 14x14x256 feature maps; alpha = 1, gamma = 3 (eq. 8); beta = 2 (eq. 11);
    # lambda1 = 0.5, lambda2 = 0.05 (eq. 12-13); batch 256; 112x112 images.
    size: int = 112
    learning_rate: float = 0.1
    lr_milestones: tuple[int, ...] = (6, 10, 17)
    momentum: float = 0.9
    weight_decay: float = 5e-4
    cmfl_alpha: float = 1.0
    cmfl_gamma: float = 3.0
    sa_beta: float = 2.0
    lambda_1: float = 0.5
    lambda_2: float = 0.05
    batch_size: int = 256
    # decided: IR-SE-50 backbone (the SENet variant of ArcFace, whose stage outputs at 112x112 input
    # are exactly 56x56x64 and 14x14x256), ArcFace s = 64, m = 0.5 (ArcFace paper defaults), 512-d
    # embedding, 20 epochs (the last milestone is 17).
    units: tuple[int, ...] = (3, 4, 14, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    embedding: int = 512
    arc_scale: float = 64.0
    arc_margin: float = 0.5
    sam_stages: tuple[int, ...] = (0, 2)
    sam_kernel: int = 7
    epochs: int = 20
    # BatchNorm moving-average momentum of the reference IR-SE/ArcFace code (PyTorch's default 0.1 =
    # Keras 0.9); Keras' own default 0.99 needs ~10x more steps before inference mode is usable.
    bn_momentum: float = 0.9
    # decided (not in the paper): gradients clipped to this global norm (None = off). Without it the
    # attention path explodes in some runs at lr 0.05-0.1 and batch 16 (SAM weights ~1e3, the map 0
    # for every face: 1 of 4 seeds of tests/test_chiu_models.py's toy run).
    grad_clip_norm: Optional[float] = 5.0


@dataclass(frozen=True)
class ChiuPreset:
    name: str
    depthnet: DepthNetConfig
    recognition: RecognitionConfig
    # embedded-default data (synthetic faces of prnet_synth.procedural)
    depthnet_train_identities: int = 90  # as BU-3DFE's 90 training identities
    depthnet_samples_per_identity: int = 25
    depthnet_test_identities: int = 10
    rec_train_identities: int = 500
    rec_train_per_identity: int = 40
    rec_test_identities: int = 100
    rec_probes_per_set: int = 4
    # generator options of the recognition training captures (the paper's VGGFace2: in-the-wild
    # photos, poses mostly within 30 degrees, few occlusions)
    rec_train_options: dict = field(default_factory=lambda: {"occluder": "none", "yaw_range": 30.0,
                                                             "pitch_range": 15.0, "roll_range": 10.0})
    # DepthNet's training data: None = the synthetic stand-in; a BU-3DFE folder (set from the command
    # line, never stored here) = its first ``depthnet_train_identities`` subjects (paper: 90), each
    # scan rendered at ``depthnet_poses_per_scan`` poses (frontal + random yaw/pitch). Mask source of
    # the training targets: "generator" (the procedural generator's 7 classes, stand-in only) or
    # "dlib" (landmark polygons, the substitute for real data; experiments/chiu/masks.py).
    depthnet_data: Optional[str] = None
    depthnet_poses_per_scan: int = 3
    mask_source: str = "generator"


PRESETS: dict[str, ChiuPreset] = {
    "paper": ChiuPreset(name="paper", depthnet=DepthNetConfig(), recognition=RecognitionConfig()),
    "quick": ChiuPreset(
        name="quick",
        depthnet=DepthNetConfig(size=64, base_filters=16, max_filters=128, disc_filters=16, epochs=15,
                                batch_size=16),
        recognition=RecognitionConfig(size=64, units=(1, 1, 1, 1), widths=(16, 32, 64, 128),
                                      embedding=64, epochs=15, lr_milestones=(10, 13), batch_size=16,
                                      arc_scale=32.0, arc_margin=0.2),
        depthnet_train_identities=24, depthnet_samples_per_identity=20, depthnet_test_identities=6,
        rec_train_identities=30, rec_train_per_identity=16, rec_test_identities=12,
        rec_probes_per_set=3,
    ),
}


# ``cpu``: the paper's networks (pix2pix-style DepthNet with both decoders and three LSGAN
# discriminators; three IR-SE branches with SAM after stages 0 and 2, ArcFace, CMFL, SA; the paper's
# SGD / Adam settings) at the largest widths that fit about one hour of training on a 2-core CPU.
# Measured CPU seconds per training step at 64x64, batch 16 (shared machine; benchmarks/
# chiu_learning_study.py and REPRODUCTION_NOTES): DepthNet widths 32..256: 1.98 s (16..128: 0.54 s);
# recognition units 1-2-2-1, widths 32..256: 1.53 s (1-1-1-1, 16..128: 0.50 s; 2-2-3-2, 32..256:
# 1.84 s; 1-2-2-1, 64..512: 4.5 s). Plan: 2 DepthNets x 8 epochs x 50 steps x 1.98 s = 26 min,
# recognition 12 epochs x 75 steps x 1.53 s = 23 min, data and evaluation about 5 min.
PRESETS["cpu"] = ChiuPreset(
    name="cpu",
    depthnet=DepthNetConfig(size=64, base_filters=32, max_filters=256, disc_filters=32, epochs=8, batch_size=16),
    recognition=RecognitionConfig(size=64, units=(1, 2, 2, 1), widths=(32, 64, 128, 256), embedding=128,
                                  epochs=12, lr_milestones=(8, 10, 11), batch_size=16, arc_scale=32.0,
                                  arc_margin=0.2),
    depthnet_train_identities=40, depthnet_samples_per_identity=20, depthnet_test_identities=10,
    rec_train_identities=60, rec_train_per_identity=20, rec_test_identities=30, rec_probes_per_set=4,
)


def get_preset(name: str, **overrides) -> ChiuPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
    preset = PRESETS[name]
    return dataclasses.replace(preset, **overrides) if overrides else preset
