"""Figures 8-18 of Schlett et al., drawn from our tables and enhancer outputs.

Every title names the data source; synthetic stand-ins say so. Depth panels are colourised with
``prnet_synth.conventions.colorize`` (holes magenta, outside the face area white, as the paper masks
its figures), one colour scale per figure row taken from the row's input image so that a depth-range
falsification shows as a colour shift. Figs. 11 and 12 (IV-G) draw dlib's 68 landmarks on the
Table VII images; their functions return the landmark positions as read back from the drawn artists
(:class:`LandmarkFigure`), so what is drawn can be checked against the input.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from prnet_synth.atomic import atomic_open
from prnet_synth.conventions import HOLE, colorize

__all__ = ["fig8", "fig9", "fig10", "fig11", "fig12", "fig11_examples", "fig12_example", "qualitative_grid",
           "save_figure", "LandmarkFigure", "QUALITATIVE_ORDER", "FIG11_ORDER", "LANDMARK_CONTOURS"]

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


# ----------------------------------------------------------------------------- Figs. 11, 12 (IV-G)
# Enhancers drawn beside the input in Fig. 11 (decided, see ``fig11``): the DL enhancer of the
# paper's real-time PAD test (IV-G), the smallest-loss DL variant, and the related-work network
# that "did not achieve equivalent results, but was not completely ineffective either".
FIG11_ORDER = ("DL-Delta-1", "DL-Alpha", "DDRNet-dn")

# dlib's 68-point structure as drawn in Fig. 12: (part, first, last, closed), 0-based indices.
LANDMARK_CONTOURS = (
    ("jaw", 0, 16, False), ("right brow", 17, 21, False), ("left brow", 22, 26, False),
    ("nose bridge", 27, 30, False), ("nose base", 31, 35, False), ("right eye", 36, 41, True),
    ("left eye", 42, 47, True), ("outer lips", 48, 59, True), ("inner lips", 60, 67, True),
)
_ROI_FACTOR = 1.35  # view of a landmark panel: the landmarks' bounding square enlarged 1.35x


@dataclass
class LandmarkFigure:
    """A written landmark figure (Fig. 11 or 12) and what its panels drew, read back from the artists.

    ``panels``: one dict per image panel with ``row``, ``label``, ``index`` (image in the set) and
    ``xy`` (float (68, 2): the landmark markers' positions in landmark order, image pixels (x, y);
    None for a panel of an enhancer that did not run). Fig. 11 adds ``hole_xy`` / ``invalid_xy``
    (the markers of landmarks on a hole / otherwise invalid for the geometric PAD), ``holes``,
    ``pad_error`` and ``profile_mm`` (the depth curve drawn for that panel, NaN at holes); Fig. 12
    adds ``numbers`` (the annotations as (text, (x, y)) pairs, in drawing order).
    """

    path: Path
    panels: list = field(default_factory=list)


def _offsets(artist) -> np.ndarray:
    return np.asarray(np.ma.getdata(artist.get_offsets()), np.float64).reshape(-1, 2)


def _roi_view(ax, points: np.ndarray, shape) -> None:
    """Zoom ``ax`` to the landmarks' bounding square enlarged ``_ROI_FACTOR``x, clipped to the image;
    the image keeps its pixel coordinates (markers are drawn at the landmark positions as given)."""
    x0, y0 = np.min(points, axis=0)
    x1, y1 = np.max(points, axis=0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = max(x1 - x0, y1 - y0, 1.0) * _ROI_FACTOR / 2.0
    ax.set_xlim(max(-0.5, cx - half), min(shape[1] - 0.5, cx + half))
    ax.set_ylim(min(shape[0] - 0.5, cy + half), max(-0.5, cy - half))  # image rows grow downwards


def _message_figure(path: Path, title: str, message: str) -> LandmarkFigure:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=9, transform=ax.transAxes)
    fig.suptitle(title, fontsize=9)
    save_figure(fig, path)
    return LandmarkFigure(Path(path))


def _landmark_scale(depth: np.ndarray, lm: np.ndarray):
    from .evalsets import square_roi_mask

    return _scale(depth, square_roi_mask(lm, depth.shape, _ROI_FACTOR))


def fig12_example(iset) -> Optional[int]:
    """The image Fig. 12 is drawn on: the first *Neutral* image with dlib's 68 landmarks, else the
    first image with them, else None."""
    have = [i for i in range(len(iset.names)) if np.all(np.isfinite(iset.lm68[i]))]
    neutral = [i for i in have if iset.variant[i] == "Neutral"]
    return (neutral or have or [None])[0]


def fig12(iset, path: Path, index: Optional[int] = None, title: Optional[str] = None) -> LandmarkFigure:
    """Fig. 12: dlib's 68 face landmarks, numbered 1-68, on one image of the Table VII set.

    Paper (IV-G): "Fig. 12. 68 Dlib detector landmarks"; it "illustrates the Dlib landmark
    structure" and is the reference for the numbering of the PAD rule ("the frontal chin landmark
    center (landmark 9 in Figure 12)"), i.e. dlib's points numbered from 1.

    Decided: the structure is drawn on one of our images (``index``, default ``fig12_example``:
    the first Neutral image with landmarks) instead of a schematic: its colour image (when the set
    has one) and its input depth image (colourised as Figs. 13-18, holes magenta, unmasked),
    zoomed to the landmarks. Every point is a marker at its (x, y) pixel position with its 1-based
    number (0-based index = number - 1, the code's convention); the parts are joined as dlib's
    contours (``LANDMARK_CONTOURS``); the nose tip (31) and the chin centre (9), the geometric PAD's
    reference points, are ringed. The landmarks are those Table VII uses (``iset.lm68``: dlib on the
    image's own colour image; for the synthetic stand-in the generator's points where dlib found no
    face).
    """
    from matplotlib import patheffects

    from prnet_synth.landmarks import CHIN, NOSE_TIP

    plt = _plt()
    idx = fig12_example(iset) if index is None else int(index)
    base = title or "Fig. 12 - dlib's 68 detector landmarks, numbered 1-68"
    if idx is None or not np.all(np.isfinite(iset.lm68[idx])):
        return _message_figure(path, f"{base} - data: {iset.data}", "no image with dlib's 68 landmarks in the set")
    lm = np.asarray(iset.lm68[idx], np.float64)[:, :2]
    depth = iset.depth[idx]
    panels = [("depth (input)", depth)]
    if iset.rgb is not None and np.any(iset.rgb[idx]):
        panels.insert(0, ("colour", iset.rgb[idx]))
    vmin, vmax = _landmark_scale(depth, lm)
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 7.0))
    axes = np.atleast_1d(axes)
    rec = LandmarkFigure(Path(path))
    stroke = [patheffects.withStroke(linewidth=1.6, foreground="white")]
    for ax, (what, img) in zip(axes, panels):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.imshow(img if img.ndim == 3 else colorize(img, None, vmin=vmin, vmax=vmax))
        for _, a, b, closed in LANDMARK_CONTOURS:
            run = list(range(a, b + 1)) + ([a] if closed else [])
            ax.plot(lm[run, 0], lm[run, 1], "-", color="#ffcc00", lw=0.9, zorder=2)
        sc = ax.scatter(lm[:, 0], lm[:, 1], s=12, c="#ff3300", edgecolors="white", linewidths=0.4, zorder=3)
        sc.set_gid("landmarks")
        ring = ax.scatter(lm[[NOSE_TIP, CHIN], 0], lm[[NOSE_TIP, CHIN], 1], s=90, facecolors="none",
                          edgecolors="cyan", linewidths=1.2, zorder=3)
        ring.set_gid("pad_reference")
        notes = [ax.annotate(str(k + 1), (lm[k, 0], lm[k, 1]), xytext=(2.5, 2.5), textcoords="offset points",
                             fontsize=6, color="black", path_effects=stroke, zorder=4) for k in range(len(lm))]
        _roi_view(ax, lm, img.shape[:2])
        ax.set_title(f"{iset.names[idx]}: {what}", fontsize=8)
        rec.panels.append({"row": 0, "label": what, "index": idx, "xy": _offsets(sc),
                           "numbers": [(t.get_text(), (float(t.xy[0]), float(t.xy[1]))) for t in notes]})
    fig.suptitle(f"{base} (0-based index = number - 1; ringed: nose tip 31 and chin 9 of the geometric PAD)"
                 f" - data: {iset.data}", fontsize=9)
    save_figure(fig, path)
    return rec


def fig11_examples(iset, n: int = 3) -> np.ndarray:
    """The images of Fig. 11: Table VII's dlib subset (non-occlusion images whose *input* has at least
    one of dlib's 68 landmarks on a hole, ``tables.table7_subsets``), most input landmark holes
    first (ties in set order), at most ``n``."""
    from .masks import sample_points
    from .tables import table7_subsets

    idx = table7_subsets(iset)["dlib_landmark_holes"]
    if idx.size == 0:
        return idx
    holes = np.array([np.count_nonzero(sample_points(iset.depth[i], iset.lm68[i]) == HOLE) for i in idx])
    return idx[np.argsort(-holes, kind="stable")[:max(int(n), 0)]]


def fig11(iset, runs: Mapping, path: Path, order: Sequence[str] = FIG11_ORDER, n_examples: int = 3,
          indices: Optional[Sequence[int]] = None, status: Optional[dict] = None,
          title: Optional[str] = None) -> LandmarkFigure:
    """Fig. 11: landmark depth errors at dlib's 68 landmarks, on the input and on enhancer outputs.

    Paper (IV-G): "Fig. 11. Landmark depth error examples"; "Figure 11 shows examples for depth
    images with landmark hole errors", the error Table VII counts (a landmark whose depth is a
    hole). What the paper's panels show beyond that is not in its text.

    Decided: one row per example image (``indices``, default ``fig11_examples``: the Table VII dlib
    images with the most input landmark holes), one column for the input (the "None" row of Table
    VII, ``iset.depth``) and one per enhancer in ``order`` (``runs[label].output``; an enhancer that
    did not run keeps an empty panel saying why). Each depth panel is unmasked (landmark holes on
    the jaw line lie on the face mask's border), zoomed to the landmarks, with every landmark a
    white dot, a landmark on a hole a red X and a landmark that is invalid for the geometric PAD
    for another reason (nearer than the nose tip, jaw-line decrease;
    ``experiments.pad.geometric.geometric_pad``) an orange triangle; the title gives the hole count
    (Table VII's hole ratio x 68) and the PAD error. The last column draws the depth at the 68
    landmarks (mm from the range start, by landmark number) for the input, each enhancer and, for
    synthetic sets, the ground truth (``iset.gt``, dashed): the per-landmark error against the
    reference; holes leave a gap in a curve and are marked x above the curves.
    """
    from experiments.pad.geometric import geometric_pad
    from prnet_synth.conventions import MM_PER_UNIT

    plt = _plt()
    base = title or "Fig. 11 - landmark depth error examples: dlib's 68 landmarks on input and enhancer outputs"
    idx = fig11_examples(iset, n_examples) if indices is None else np.asarray(indices, np.int64)
    if idx.size == 0:
        return _message_figure(path, f"{base} - data: {iset.data}",
                               "no image with a landmark on an input hole (Table VII's dlib subset is empty)")
    status = status or {}
    ncols = 2 + len(order)
    fig, axes = plt.subplots(len(idx), ncols, figsize=(2.4 * (ncols - 1) + 4.6, 2.9 * len(idx)), squeeze=False,
                             gridspec_kw={"width_ratios": [1.0] * (ncols - 1) + [1.9]})
    rec = LandmarkFigure(Path(path))
    number = np.arange(1, 69)
    for r, i in enumerate(int(j) for j in idx):
        lm = np.asarray(iset.lm68[i], np.float64)[:, :2]
        inp = iset.depth[i]
        vmin, vmax = _landmark_scale(inp, lm)
        cols = [("None", inp)]
        for lab in order:
            run = runs.get(lab)
            cols.append((lab, run.output[i] if run is not None and run.ok else None))
        prof = axes[r, -1]
        curves = []
        for c, (lab, dep) in enumerate(cols):
            ax = axes[r, c]
            head = f"{iset.names[i]}\ninput (None)" if c == 0 else lab
            if dep is None:
                why = status.get(lab) or (runs[lab].status if lab in runs else "not run")
                _panel(ax, None, None, head, vmin, vmax, why)
                rec.panels.append({"row": r, "label": lab, "index": i, "xy": None, "hole_xy": None,
                                   "invalid_xy": None, "holes": None, "pad_error": None, "profile_mm": None})
                continue
            res = geometric_pad(dep, lm)
            other = res.invalid & ~res.hole
            ax.set_xticks([])
            ax.set_yticks([])
            ax.imshow(colorize(dep, None, vmin=vmin, vmax=vmax))
            sc = ax.scatter(lm[:, 0], lm[:, 1], s=7, c="white", edgecolors="black", linewidths=0.3, zorder=3)
            sc.set_gid("landmarks")
            hs = ax.scatter(lm[res.hole, 0], lm[res.hole, 1], marker="X", s=34, c="red", edgecolors="white",
                            linewidths=0.5, zorder=4)
            hs.set_gid("holes")
            iv = ax.scatter(lm[other, 0], lm[other, 1], marker="^", s=20, c="orange", edgecolors="black",
                            linewidths=0.3, zorder=4)
            iv.set_gid("pad_invalid")
            _roi_view(ax, lm, dep.shape)
            ax.set_title(f"{head}\n{int(res.hole.sum())} holes / 68, PAD error {res.error:.3f}", fontsize=7)
            mm = np.where(res.hole, np.nan, res.depth.astype(np.float64) * MM_PER_UNIT)
            line, = prof.plot(number, mm, lw=0.9, marker=".", ms=2.5, label=lab if c else "input (None)")
            curves.append((line, res.hole))
            rec.panels.append({"row": r, "label": lab, "index": i, "xy": _offsets(sc), "hole_xy": _offsets(hs),
                               "invalid_xy": _offsets(iv), "holes": int(res.hole.sum()), "pad_error": res.error,
                               "profile_mm": np.asarray(line.get_ydata(), np.float64)})
        if iset.gt is not None:
            g = geometric_pad(iset.gt[i], lm)
            prof.plot(number, np.where(g.hole, np.nan, g.depth.astype(np.float64) * MM_PER_UNIT), "k--", lw=1.0,
                      label="ground truth")
        finite = np.concatenate([ln.get_ydata()[np.isfinite(ln.get_ydata())] for ln in prof.get_lines()] + [np.zeros(0)])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        step = max(hi - lo, 1.0) * 0.06
        for k, (line, hole) in enumerate(curves):
            if hole.any():
                prof.plot(number[hole], np.full(int(hole.sum()), hi + step * (k + 1)), "x", ms=4,
                          color=line.get_color())
        prof.set_xlim(0, 69)
        if r == len(idx) - 1:
            prof.set_xlabel("landmark number (1-68)", fontsize=7)
        prof.set_ylabel("depth at landmark [mm]", fontsize=7)
        prof.tick_params(labelsize=6)
        prof.set_title("depth at the 68 landmarks (x above: hole)", fontsize=7)
        prof.legend(fontsize=5, loc="best")
    fig.subplots_adjust(hspace=0.5, wspace=0.12)
    fig.suptitle(f"{base} (red X: landmark on a hole, orange triangle: other PAD-invalid landmark)"
                 f" - data: {iset.data}", fontsize=9)
    save_figure(fig, path)
    return rec
