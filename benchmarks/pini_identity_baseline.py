"""How much identity the stand-in's depth carries: a linear baseline for Pini's verifier.

On the Pini cpu preset's faces (4000 training faces of 200 identities, 400 test faces of 8 other
identities, 96 px; built or read from the preset's cache), pairs of test faces are scored by the cosine
similarity of (a) the raw depth pixels (2x2-averaged, training mean removed) and (b) a PCA + LDA
projection fitted on the training identities; printed: the ROC AUC of same-subject against
different-subject pairs, on all test faces and on the frontal subset A1 of eq. 7. Numpy and scipy only.

    python -m benchmarks.pini_identity_baseline
"""
from __future__ import annotations

import sys

import numpy as np


def roc_auc(same: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    r = rankdata(score)
    n1 = int(same.sum())
    n0 = len(same) - n1
    return float((r[same].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def pair_auc(feats: np.ndarray, ids: np.ndarray, rng, mask=None, n: int = 6000) -> float:
    idx = np.arange(len(feats)) if mask is None else np.flatnonzero(mask)
    a, b = rng.choice(idx, n), rng.choice(idx, n)
    keep = a != b
    a, b = a[keep], b[keep]
    f = feats / (np.linalg.norm(feats, axis=1, keepdims=True) + 1e-9)
    return roc_auc(ids[a] == ids[b], (f[a] * f[b]).sum(1))


def main() -> int:
    from scipy.linalg import eigh

    from experiments.cgan.data import cached_synthetic
    from experiments.cgan.train import work_dir
    from experiments.cgan.verification import angle_subsets
    from models.cgan_presets import get_preset

    p = get_preset("pini", "cpu")
    train = cached_synthetic("train", p.n_train, p.train_identities, 0, p.input_size, work_dir("cpu"))
    test = cached_synthetic("test", p.n_test, p.test_identities, 1, p.input_size, work_dir("cpu"))

    def pixels(faces):
        x = faces.depth8.astype(np.float32)
        s = x.shape[1] // 2
        return x.reshape(len(x), s, 2, s, 2).mean((2, 4)).reshape(len(x), -1)

    xtr, xte = pixels(train), pixels(test)
    frontal = angle_subsets(test.yaw, test.pitch, test.roll) == "A1"
    rng = np.random.default_rng(0)
    mu = xtr.mean(0)
    print(f"raw pixels: AUC all {pair_auc(xte - mu, test.identity, rng):.3f}, "
          f"A1 {pair_auc(xte - mu, test.identity, rng, frontal):.3f}")
    _, _, vt = np.linalg.svd(xtr - mu, full_matrices=False)
    for nc in (50, 100, 200, 400):
        ztr, zte = (xtr - mu) @ vt[:nc].T, (xte - mu) @ vt[:nc].T
        classes = np.unique(train.identity)
        means = np.stack([ztr[train.identity == c].mean(0) for c in classes])
        sw = sum((ztr[train.identity == c] - means[i]).T @ (ztr[train.identity == c] - means[i])
                 for i, c in enumerate(classes))
        sb = (means - ztr.mean(0)).T @ (means - ztr.mean(0))
        _, v = eigh(sb, sw + 1e-3 * np.eye(nc) * np.trace(sw) / nc)
        w = v[:, ::-1][:, :min(nc, 100)]
        fte = (zte - ztr.mean(0)) @ w
        print(f"PCA {nc} + LDA: AUC all {pair_auc(fte, test.identity, rng):.3f}, "
              f"A1 {pair_auc(fte, test.identity, rng, frontal):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
