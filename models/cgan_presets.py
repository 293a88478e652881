"""Presets of the Pini (001) and Fabbri (003) reproductions, kept as data.

``paper``: the papers' sizes (what they state; what they leave open is decided and marked in the
comments and in docs/notes/80_cgans.md). ``quick``: the same architectures narrowed (filters / 8)
(Pini: 64x64 instead of 96x96) and a few hundred synthetic faces, so that both reproductions run end to end in a
few minutes on 2 CPU cores. ``cpu``: the papers' input sizes and losses at the widths and data sizes
that the measured rates (benchmarks/*_learning_study.py) fit into about an hour per paper on 2 cores.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["PiniPreset", "FabbriPreset", "PINI_PRESETS", "FABBRI_PRESETS", "PRESETS", "get_preset", "scaled"]


def scaled(filters: tuple[int, ...], divisor: int) -> tuple[int, ...]:
    return tuple(max(1, f // divisor) for f in filters)


@dataclass(frozen=True)
class PiniPreset:
    name: str
    input_size: int = 96                                  # 001 sec. 4.1.1 (poster 004: 100)
    encoder_filters: tuple[int, ...] = (128, 256, 512, 1024)
    decoder_filters: tuple[int, ...] = (512, 256, 128, 64)
    recon_weight: float = 10.0                            # lambda of eq. 5: not stated, decided
    # eq. 3: 1/N sum_i ||G(s_i) - d_i||_2^2, the squared norm of each image's error (summed over its
    # pixels), averaged over the batch; "mean" (also over the pixels) made lambda * MSE ~ 0.1-1 against
    # an adversarial term of 1-3, which slowed the fit to half the AE's (results/pini/learning_study.csv)
    recon_reduction: str = "image_sum"
    lr: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    batch_size: int = 64                                  # not stated, decided (003's value)
    epochs: int = 50                                      # not stated, decided
    pix2pix_ngf: int = 64
    pix2pix_ndf: int = 64
    pix2pix_batch_size: int = 1                           # pix2pix's published batch size
    siamese_filters: tuple[int, ...] = (64, 128, 256, 256, 256)
    siamese_fc: tuple[int, int] = (128, 32)
    siamese_epochs: int = 30
    siamese_train_pairs: int = 20000
    val_pairs_per_cell: int = 250
    test_pairs_per_cell: int = 500
    # synthetic stand-in for Pandora (identities are the subjects)
    n_train: int = 20000
    n_test: int = 4000
    n_val: int = 2000
    train_identities: int = 18                            # Pandora: 22 subjects, 4 for testing
    test_identities: int = 4


@dataclass(frozen=True)
class FabbriPreset:
    name: str
    input_size: int = 64                                  # 003 III-C
    encoder_filters: tuple[int, ...] = (64, 128, 256, 512)
    decoder_filters: tuple[int, ...] = (256, 128, 64, 32)
    disc_filters: tuple[int, ...] = (64, 128, 256, 512)
    recon_weight: float = 10.0                            # 003 III-C: lambda = 10^1
    lr: float = 2e-4                                      # not stated, decided
    beta_1: float = 0.5
    beta_2: float = 0.999
    batch_size: int = 64                                  # 003 III-C
    epochs: int = 30                                      # not stated, decided
    pix2pix_ngf: int = 64
    pix2pix_ndf: int = 64
    pix2pix_batch_size: int = 1
    binary_threshold: float = 0.0                         # binary-map ablation: not stated, decided
    attr_epochs: int = 20
    attr_filters: tuple[int, ...] = (32, 64, 128)
    dlib_upscale: int = 256                               # faces are upscaled to 256 px for dlib
    synthetic_black_background: bool = True              # synthetic data only: see fabbri_run (decided)
    # synthetic stand-ins: train ("Pandora") and test ("MotorMark") from disjoint identities
    n_train: int = 20000
    n_test: int = 2000
    train_identities: int = 22
    test_identities: int = 35


PINI_PRESETS = {
    "paper": PiniPreset("paper"),
    "quick": PiniPreset(
        "quick", input_size=64, encoder_filters=scaled((128, 256, 512, 1024), 8),
        decoder_filters=scaled((512, 256, 128, 64), 8), batch_size=16, pix2pix_ngf=8, pix2pix_ndf=8,
        pix2pix_batch_size=4, siamese_filters=scaled((64, 128, 256, 256, 256), 8), siamese_fc=(32, 16),
        siamese_epochs=6, siamese_train_pairs=2000, val_pairs_per_cell=30, test_pairs_per_cell=60,
        n_train=320, n_test=120, n_val=48, epochs=8, train_identities=32, test_identities=4),
    # cpu: the paper's 96x96 networks and losses (eq. 3 per-image norm) at filters / 8, sized for about an
    # hour on 2 CPU cores. Rates measured by benchmarks/pini_learning_study.py on
    # the shared 2-core machine at 64 px, filters / 8, batch 16: cGAN 4.5 steps per CPU second, AE 8.6,
    # Siamese (batch 32) 28; filters / 4 cost 2.8x more per step for no gain per CPU second. At 96 px
    # (2.25x the pixels): cGAN ~32 faces / CPU s -> 10 epochs of 4000 faces ~ 1250 CPU s, AE ~ 650,
    # pix2pix (ngf 8, batch 16; not measured, ~2x the AE) ~ 1300, data 4600 faces ~ 250. The study's
    # test error is set by the data (32 identities x 10 faces), hence 200 identities x 20 faces here.
    # Siamese: on these data (study recipes siamese_cpu_w8/w4/w2, 300 CPU s each) filters / 8 runs 13
    # steps (batch 32) per CPU s and was still rising at 300 CPU s (3955 steps: held-out pair accuracy
    # 0.69, AUC 0.76); / 4 and / 2 learn no faster per step and are 1.6x / 5x slower per step. Hence
    # filters / 8 for 5 epochs of 100,000 random training pairs (15,625 steps, ~1200 CPU s).
    "cpu": PiniPreset(
        "cpu", input_size=96, encoder_filters=scaled((128, 256, 512, 1024), 8),
        decoder_filters=scaled((512, 256, 128, 64), 8), batch_size=16, pix2pix_ngf=8, pix2pix_ndf=8,
        pix2pix_batch_size=16, siamese_filters=scaled((64, 128, 256, 256, 256), 8), siamese_fc=(32, 16),
        siamese_epochs=5, siamese_train_pairs=100000, val_pairs_per_cell=50, test_pairs_per_cell=100,
        n_train=4000, n_test=400, n_val=200, epochs=10, train_identities=200, test_identities=8),
}

FABBRI_PRESETS = {
    "paper": FabbriPreset("paper"),
    "quick": FabbriPreset(
        "quick", input_size=64, encoder_filters=scaled((64, 128, 256, 512), 8),
        decoder_filters=scaled((256, 128, 64, 32), 8), disc_filters=scaled((64, 128, 256, 512), 8),
        batch_size=16, pix2pix_ngf=8, pix2pix_ndf=8, pix2pix_batch_size=4, attr_epochs=20,
        attr_filters=(16, 32, 64), n_train=320, n_test=120, epochs=8, train_identities=32, test_identities=4),
    # cpu: 003's 64x64 networks and losses at filters / 8, sized for about an hour on 2 CPU cores
    # (run: 46.5 min, generators shipped in results/weights/cpu/cgan/; docs/notes/80_cgans.md). The det-cGAN's first three 5x5 convolutions run at full resolution: at
    # filters / 8 and batch 16 a step costs 0.62 CPU s (cGAN; AE 0.52), at filters / 4 1.6 CPU s
    # (benchmarks/fabbri_learning_study.py). 8 epochs of 2000 faces = 1000 steps ~ 520-620 CPU s per
    # generator, three of them plus pix2pix (ngf 8), the attribute classifier, dlib on 5 x 400 faces and
    # 2400 synthetic faces (~130 CPU s): ~ 2500-3000 CPU s. Learning rate 1e-3 (003 states none; 2e-4 was
    # decided): in 120 CPU s it reached a training MSE of 0.054 against 0.125 and dlib found faces in 22 %
    # of the generated test faces against 3 % (a short-budget measurement; longer stability unmeasured).
    "cpu": FabbriPreset(
        "cpu", input_size=64, encoder_filters=scaled((64, 128, 256, 512), 8),
        decoder_filters=scaled((256, 128, 64, 32), 8), disc_filters=scaled((64, 128, 256, 512), 8),
        lr=1e-3, batch_size=16, pix2pix_ngf=8, pix2pix_ndf=8, pix2pix_batch_size=16, attr_epochs=20,
        attr_filters=(16, 32, 64), n_train=2000, n_test=400, epochs=8, train_identities=100, test_identities=8),
}

PRESETS = {"pini": PINI_PRESETS, "fabbri": FABBRI_PRESETS}


def get_preset(paper: str, name: str, **overrides):
    """The preset ``name`` of ``paper`` ("pini" or "fabbri"), with optional field overrides."""
    try:
        table = PRESETS[paper]
    except KeyError:
        raise ValueError(f"unknown paper {paper!r}; expected one of {sorted(PRESETS)}") from None
    if name not in table:
        raise ValueError(f"unknown preset {name!r} for {paper}; expected one of {sorted(table)}")
    return replace(table[name], **overrides) if overrides else table[name]
