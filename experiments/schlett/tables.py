"""Tables IV-VII of Schlett et al. computed from enhancer outputs (``experiments.metrics``).

Every table keeps a row for every enhancer it covers; an enhancer that could not run (e.g. DDRNet-dn
without its weights) keeps its row with ``status`` saying why and no numbers.
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from experiments import metrics

from .masks import landmark_hole_ratio
from .run import OK, EnhancerRun

__all__ = ["TABLE4_COLUMNS", "table4", "table4_from_values", "table5", "table6", "table7", "TABLE6_VARIANTS", "TABLE7_TESTS",
           "table7_subsets", "sort_by_mean"]

TABLE4_COLUMNS = ["enhancer", "mean", "std", "skewness", "excess_kurtosis", "n", "status"]
TABLE6_VARIANTS = ("Neutral", "OcclusionMouth", "OcclusionPaper")
TABLE7_TESTS = ("manual_landmark_holes", "dlib_landmark_holes", "dlib_geometric_pad_error")


def sort_by_mean(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by ``mean`` ascending (as Table IV); rows without a mean go last, in input order."""
    return frame.sort_values("mean", kind="stable", na_position="last").reset_index(drop=True)


def _int_n(frame: pd.DataFrame) -> pd.DataFrame:
    frame["n"] = frame["n"].astype("Int64")
    return frame


def _missing_row(label: str, run: EnhancerRun | None) -> dict:
    return {"enhancer": label, "status": run.status if run is not None else "not run"}


# ----------------------------------------------------------------------------- Table IV
def table4(gt: np.ndarray, runs: Mapping[str, EnhancerRun]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IV-D: face-area RMSE (ground-truth non-hole pixels, values / 65535) per enhancer.

    Returns (table sorted by mean with columns ``TABLE4_COLUMNS``, per-image long frame
    ``enhancer, image, rmse``).
    """
    values = {l: np.atleast_1d(metrics.face_rmse(gt, r.output)) for l, r in runs.items() if r.ok}
    status = {l: r.status for l, r in runs.items() if not r.ok}
    return table4_from_values({l: values.get(l, []) for l in runs}, status)


def table4_from_values(values: Mapping[str, Sequence[float]], status: Mapping[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table IV from per-image RMSE values per enhancer (``status[label]`` for those that did not run)."""
    rows, per = [], []
    for label, vals in values.items():
        if label in status:
            rows.append({"enhancer": label, "status": status[label]})
            continue
        s = metrics.summarize(vals)
        rows.append({"enhancer": label, "mean": s["mean"], "std": s["std"], "skewness": s["skewness"],
                     "excess_kurtosis": s["kurtosis"], "n": s["n"], "status": OK})
        per += [{"enhancer": label, "image": i, "rmse": float(v)} for i, v in enumerate(vals)]
    table = sort_by_mean(pd.DataFrame(rows, columns=TABLE4_COLUMNS))
    table["n"] = table["n"].astype("Int64")
    return table, pd.DataFrame(per, columns=["enhancer", "image", "rmse"])


# ----------------------------------------------------------------------------- Table V
def table5(sets: Sequence, runs_per_set: Sequence[Mapping[str, EnhancerRun]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IV-E: roughness and hole percentage (x 100) in the face region of frontal images.

    ``sets``: image sets (``evalsets.ImageSet``), one per camera; ``runs_per_set``: their enhancer
    runs. Only frontal images with a face mask are used. Returns (table: ``enhancer, camera,
    data, roughness_mean, roughness_std, holes_mean, holes_std, n, status``; per-image values).
    """
    rows, per = [], []
    for iset, runs in zip(sets, runs_per_set):
        sel = np.flatnonzero(iset.frontal & iset.has_mask)
        for label, run in runs.items():
            base = {"enhancer": label, "camera": iset.camera, "data": iset.data}
            if not run.ok:
                rows.append({**base, "status": run.status})
                continue
            if sel.size == 0:
                rows.append({**base, "n": 0, "status": "no frontal image with a face mask"})
                continue
            out = run.output[sel]
            m = iset.mask[sel]
            r = np.atleast_1d(metrics.roughness(out, m)) * 100.0
            h = np.atleast_1d(metrics.hole_fraction(out, m)) * 100.0
            sr, sh = metrics.summarize(r), metrics.summarize(h)
            rows.append({**base, "roughness_mean": sr["mean"], "roughness_std": sr["std"],
                         "holes_mean": sh["mean"], "holes_std": sh["std"], "n": sr["n"], "status": OK})
            per += [{"enhancer": label, "camera": iset.camera, "name": iset.names[i], "variant": iset.variant[i],
                     "roughness": float(a), "holes": float(b)} for i, a, b in zip(sel, r, h)]
    cols = ["enhancer", "camera", "data", "roughness_mean", "roughness_std", "holes_mean", "holes_std", "n", "status"]
    return _int_n(pd.DataFrame(rows, columns=cols)), pd.DataFrame(per)


# ----------------------------------------------------------------------------- Table VI
def table6(iset, runs: Mapping[str, EnhancerRun], labels: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IV-F: falsification RMSE in percent between input and output inside the subject/session's
    *Neutral* face mask, ignoring the input's holes, for Neutral/OcclusionMouth/OcclusionPaper."""
    rows, per = [], []
    variants = np.asarray(iset.variant)
    for label in labels:
        run = runs.get(label)
        for var in TABLE6_VARIANTS:
            base = {"enhancer": label, "variant": var, "data": iset.data}
            if run is None or not run.ok:
                rows.append({**base, "status": run.status if run is not None else "not run"})
                continue
            sel = np.flatnonzero((variants == var) & iset.has_mask)
            if sel.size == 0:
                rows.append({**base, "n": 0, "status": f"no {var} image with a face mask"})
                continue
            v = np.atleast_1d(metrics.falsification_rmse(iset.depth[sel], run.output[sel], iset.mask[sel])) * 100.0
            s = metrics.summarize(v)
            rows.append({**base, "mean": s["mean"], "std": s["std"], "n": s["n"], "status": OK})
            per += [{"enhancer": label, "variant": var, "name": iset.names[i], "rmse_percent": float(x)}
                    for i, x in zip(sel, v)]
    cols = ["enhancer", "variant", "data", "mean", "std", "n", "status"]
    return _int_n(pd.DataFrame(rows, columns=cols)), pd.DataFrame(per)


# ----------------------------------------------------------------------------- Table VII
def _ratios(depths: np.ndarray, points: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.array([landmark_hole_ratio(depths[i], points[i]) for i in idx], dtype=np.float64)


def table7_subsets(iset) -> dict[str, np.ndarray]:
    """The image subsets of IV-G, decided from the *unenhanced* input:

    * manual: images with the 6 manual landmarks and at least one of them on a hole;
    * dlib (and the PAD error): non-occlusion images with dlib's 68 landmarks (detected on their
      own colour image) and at least one of them on a hole (the paper's 245 images; its PAD
      minimum of 0.015 = 1/68 for "None" shows every image there has at least one invalid landmark).
    """
    n = len(iset.names)
    has_m = np.array([np.all(np.isfinite(iset.manual6[i])) for i in range(n)], bool)
    has_d = np.array([np.all(np.isfinite(iset.lm68[i])) for i in range(n)], bool) & ~iset.occlusion
    man = np.flatnonzero(has_m)
    dl = np.flatnonzero(has_d)
    man = man[_ratios(iset.depth, iset.manual6, man) > 0] if man.size else man
    dl = dl[_ratios(iset.depth, iset.lm68, dl) > 0] if dl.size else dl
    return {"manual_landmark_holes": man, "dlib_landmark_holes": dl, "dlib_geometric_pad_error": dl}


def table7(iset, runs: Mapping[str, EnhancerRun], labels: Iterable[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IV-G: landmark hole ratios (6 manual, dlib 68) and the geometric PAD error (invalid / 68)."""
    from experiments.pad.geometric import geometric_pad

    subsets = table7_subsets(iset)
    rows, per = [], []
    for test in TABLE7_TESTS:
        idx = subsets[test]
        for label in labels:
            run = runs.get(label)
            base = {"test": test, "enhancer": label, "data": iset.data}
            if run is None or not run.ok:
                rows.append({**base, "n": int(idx.size), "status": run.status if run is not None else "not run"})
                continue
            if idx.size == 0:
                rows.append({**base, "n": 0, "status": "no image in the subset"})
                continue
            if test == "manual_landmark_holes":
                v = _ratios(run.output, iset.manual6, idx)
            elif test == "dlib_landmark_holes":
                v = _ratios(run.output, iset.lm68, idx)
            else:
                v = np.array([geometric_pad(run.output[i], iset.lm68[i]).error for i in idx], np.float64)
            s = metrics.summarize(v)
            rows.append({**base, "mean": s["mean"], "std": s["std"] if s["n"] > 1 else math.nan,
                         "min": float(v.min()), "max": float(v.max()), "n": s["n"], "status": OK})
            per += [{"test": test, "enhancer": label, "name": iset.names[i], "value": float(x)} for i, x in zip(idx, v)]
    cols = ["test", "enhancer", "data", "mean", "std", "min", "max", "n", "status"]
    return _int_n(pd.DataFrame(rows, columns=cols)), pd.DataFrame(per)
