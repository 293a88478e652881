"""Sample figures like the papers' (001 Fig. 1/4, 003 Fig. 3): one column per test face, one row
per image kind (input, target, AE, cGAN, pix2pix, ...)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

__all__ = ["sample_grid"]


def sample_grid(path, rows: list[tuple[str, np.ndarray]], title: str = "") -> Path:
    """``rows``: (label, uint8 images NxHxW or NxHxWx3); written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from prnet_synth.atomic import atomic_write_bytes

    n = min(len(r[1]) for r in rows)
    fig, axes = plt.subplots(len(rows), n, figsize=(1.3 * n + 1.2, 1.3 * len(rows) + 0.4), squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c in range(n):
            ax = axes[r][c]
            img = imgs[c]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return atomic_write_bytes(path, buf.getvalue())
