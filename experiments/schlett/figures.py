"""Figures 8-10 and 13-18 of Schlett et al., drawn from our tables and enhancer outputs.

Every title names the data source; synthetic stand-ins say so. Depth panels are colourised with
``prnet_synth.conventions.colorize`` (holes magenta, outside the face area white, as the paper masks
its figures), one colour scale per figure row taken from the row's input image so that a depth-range
falsification shows as a colour shift.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from prnet_synth.atomic import atomic_open
from prnet_synth.conventions import HOLE, colorize

__all__ = ["fig8", "fig9", "fig10", "qualitative_grid", "save_figure", "QUALITATIVE_ORDER"]

# Paper layout of Figs. 13-18: top row ground truth/degraded (or colour/depth) + 7 hand-crafted,
# bottom row DDRNet-dn + 7 DL enhancers.
QUALITATIVE_ORDER = ("De-M2", "De-M8", "Hf-FFA", "Hf-NFA", "Hf-L", "Sp-Hf16", "Sp-HfU",
                     "DDRNet-dn", "DL-Alpha", "DL-Beta", "DL-Gamma", "DL-Delta-1", "DL-Delta-2",
                     "DL-Delta-3", "DL-Delta-4")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path, dpi: int = 100) -> Path:
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return path


def fig8(table: pd.DataFrame, path: Path, data: str) -> Path:
    """Mean face-area RMSE with standard-deviation error bars, sorted as Table IV."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 4))
    ok = table[table["status"] == "ok"]
    x = np.arange(len(ok))
    ax.bar(x, ok["mean"], yerr=ok["std"].fillna(0), capsize=3, color="#4477aa")
    ax.set_xticks(x, ok["enhancer"], rotation=60, ha="right")
    ax.set_ylabel("face-area RMSE (depth / 65535)")
    missing = table[table["status"] != "ok"]
    note = "" if missing.empty else "  not run: " + ", ".join(f"{e} ({s})" for e, s in zip(missing["enhancer"], missing["status"]))
    ax.set_title(f"Fig. 8 - mean RMSE with std error bars - data: {data}{note}", fontsize=9)
    return save_figure(fig, path)


def fig9(table: pd.DataFrame, path: Path) -> Path:
    """Roughness and hole percentages (x 100) per enhancer, one bar group per camera/data set."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    groups = list(dict.fromkeys(zip(table["camera"], table["data"])))
    labels = list(dict.fromkeys(table["enhancer"]))
    width = 0.8 / max(len(groups), 1)
    for ax, metric in zip(axes, ("roughness", "holes")):
        for g, (cam, data) in enumerate(groups):
            sub = table[(table["camera"] == cam) & (table["data"] == data)].set_index("enhancer").reindex(labels)
            x = np.arange(len(labels)) + (g - (len(groups) - 1) / 2) * width
            ax.bar(x, sub[f"{metric}_mean"], width, yerr=sub[f"{metric}_std"].fillna(0), capsize=2, label=data)
        ax.set_xticks(np.arange(len(labels)), labels, rotation=60, ha="right")
        ax.set_ylabel(f"{metric} x 100")
        ax.legend(fontsize=7)
    fig.suptitle("Fig. 9 - roughness and holes in face regions of frontal images - data: "
                 + "; ".join(d for _, d in groups), fontsize=9)
    return save_figure(fig, path)


def _panel(ax, depth: Optional[np.ndarray], mask, title: str, vmin, vmax, missing: str = "not run"):
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    if depth is None:
        ax.text(0.5, 0.5, missing, ha="center", va="center", fontsize=8, transform=ax.transAxes)
        ax.set_facecolor("#dddddd")
        return
    if depth.ndim == 3:
        ax.imshow(depth)
        return
    ax.imshow(colorize(depth, mask, vmin=vmin, vmax=vmax))


def _scale(ref: np.ndarray, mask) -> tuple[Optional[float], Optional[float]]:
    sel = ref != HOLE
    if mask is not None:
        sel &= np.asarray(mask, bool)
    if not sel.any():
        return None, None
    v = ref[sel].astype(np.float64)
    return float(np.percentile(v, 1)), float(np.percentile(v, 99))


def qualitative_grid(first: Sequence[tuple[str, np.ndarray]], outputs: dict, mask, title: str, path: Path,
                     order: Sequence[str] = QUALITATIVE_ORDER, ncols: int = 9,
                     status: Optional[dict] = None) -> Path:
    """Figs. 13-18: ``first`` panels (ground truth / degraded, or colour / depth) then the enhancer
    outputs in ``order`` (None for an enhancer that did not run; ``status[label]`` says why), masked
    by ``mask``; colour scale from the first depth panel (the ground truth, or the real input)."""
    plt = _plt()
    panels = list(first) + [(lab, outputs.get(lab)) for lab in order]
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.6, nrows * 1.75))
    axes = np.atleast_2d(axes)
    ref = [img for _, img in first if img is not None and img.ndim == 2][0]
    vmin, vmax = _scale(ref, mask)
    status = status or {}
    for k, ax in enumerate(axes.ravel()):
        if k < len(panels):
            _panel(ax, panels[k][1], mask, panels[k][0], vmin, vmax, status.get(panels[k][0], "not run"))
        else:
            ax.axis("off")
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)


def fig10(rows: Sequence[tuple[str, np.ndarray, dict]], mask, title: str, path: Path,
          order: Sequence[str], status: Optional[dict] = None) -> Path:
    """Fig. 10: one row per variant (label, input depth, {enhancer: output}), masked by the Neutral mask."""
    plt = _plt()
    ncols = 1 + len(order)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(ncols * 1.5, len(rows) * 1.7))
    axes = np.atleast_2d(axes)
    for r, (var, inp, outs) in enumerate(rows):
        vmin, vmax = _scale(inp, mask)
        _panel(axes[r, 0], inp, mask, f"{var}: input", vmin, vmax)
        for c, lab in enumerate(order, 1):
            _panel(axes[r, c], outs.get(lab), mask, lab, vmin, vmax, (status or {}).get(lab, "not run"))
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
