"""Attack suite: does a deep-learning enhancer invent a face where there is none?

Schlett et al. (IV, IV-F) require that an enhancer "avoid the generation of face depth data where no
face is present in the depth input, since this could i.a. circumvent the depth PAD even for simple
presentation attack instruments such as printed face images". This suite feeds the DL enhancers
inputs that hold no face relief and measures what comes out:

* ``flat_plane``: a printed photo held fronto-parallel (a rectangle of constant depth);
* ``tilted_plane``: the same sheet tilted about the vertical axis (40 mm depth ramp);
* ``bent_plane``: the sheet bent around the vertical axis, centre nearest (40 mm sag at the edges);
* ``occluded_face_hand`` / ``occluded_face_paper``: generator faces with the generator's hand and
  paper occluders (these hold relief: reported for departure, not bounded);
* ``noise``: uniform random depth over the sheet area (no structure at all).

Planes and faces go through the D435-like degradation (``degrade.CONFIGS["d435"]``: outline and
random holes, noise, blur), as a camera would see them; noise is fed as is.

Measures per (input, enhancer), inside the attack's area (the sheet shrunk by 8 px, or the face's
ground-truth area):

* ``departure_percent``: ``experiments.metrics.falsification_rmse`` x 100 between input and output
  (input holes ignored): how far the output departs from the input;
* ``relief_mm``: the 99th percentile of how far the valid output pixels stand out *towards the
  camera* from the input's surface (a quadric fitted robustly to the input, so that its noise, holes
  and a nose do not bend it), in millimetres: depth the enhancer put in front of what the camera saw.
  A flat, tilted or bent sheet is (nearly) a quadric; a face is not: ``relief_input_mm`` and the
  ``face_reference`` rows measure images against their own surface (a generator face: its nose,
  brows and lips);
* ``relief_gain_mm``: ``relief_mm`` of the output minus that of the input;
* where that relief sits (``relief_parts``): ``relief_in_holes_mm`` (pixels the input had as holes),
  ``relief_hole_edge_mm`` (valid input pixels within ``EDGE_PX`` = 4 px of a hole: ringing at a
  hole's edge), ``relief_away_mm`` (the rest: relief drawn on the sheet itself, such as a nose).
  Diagnostic only; the bound applies to ``relief_mm``.

The bound the tests enforce (``RELIEF_BOUND_MM``): on plane inputs (flat, tilted, bent), no DL
enhancer's output stands out more than 5 mm in front of the input's surface (99th percentile), well
under the relief of every generator face (the suite's ``face_reference`` rows, about 16 mm; the tests
check that the measure flags a 20 mm nose). An enhancer that erases the sheet (fills it with
background depth) is not relief; its departure_percent shows it.

``run`` also passes the inputs through "None" and the seven hand-crafted enhancers of Table II
(``REFERENCE_LABELS``): they fill holes from the neighbouring depth, so their rows show what the
measure gives for hole filling that invents nothing (the input's own noise, about 2-3 mm). The
summary's ``within_bound`` is filled in for every row on a plane; the tests enforce it on the DL rows.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from prnet_synth.atomic import provenance
from prnet_synth.conventions import HOLE, MM_PER_UNIT, UNITS_PER_MM

from experiments.enhancers import HANDCRAFTED_LABELS

__all__ = ["PLANE_KINDS", "FACE_KINDS", "ATTACK_KINDS", "RELIEF_BOUND_MM", "REFERENCE_LABELS", "SHEET", "relief_mm", "relief_parts",
           "near_holes",
           "plane_depth", "noise_depth", "sheet_mask", "make_attacks", "evaluate", "check_bound", "run"]

log = logging.getLogger(__name__)

PLANE_KINDS = ("flat_plane", "tilted_plane", "bent_plane")
FACE_KINDS = ("occluded_face_hand", "occluded_face_paper")
ATTACK_KINDS = PLANE_KINDS + FACE_KINDS + ("noise",)
RELIEF_BOUND_MM = 5.0
#: enhancers run beside the DL ones as references (not bounded): no enhancement and Table II's filters
REFERENCE_LABELS = ("None",) + HANDCRAFTED_LABELS
SHEET = (40, 216, 48, 208)  # rows 40..215, columns 48..207: a face-sized sheet in the 256x256 crop
MARGIN = 8
#: "near a hole": within this many pixels of an input hole (``relief_parts``)
EDGE_PX = 4


def sheet_mask(shape=(256, 256), margin: int = 0) -> np.ndarray:
    r0, r1, c0, c1 = SHEET
    m = np.zeros(shape, bool)
    m[r0 + margin:r1 - margin, c0 + margin:c1 - margin] = True
    return m


def plane_depth(kind: str, shape=(256, 256), offset_mm: float = 30.0, amount_mm: float = 40.0) -> np.ndarray:
    """Clean depth (paper format) of a sheet: ``flat_plane``, ``tilted_plane`` or ``bent_plane``;
    background (outside the sheet) is a hole, as beyond the 25 cm range. The sheet starts
    ``offset_mm`` behind the range start so that a protrusion an enhancer might invent is not clipped
    at depth 0."""
    r0, r1, c0, c1 = SHEET
    x = (np.arange(shape[1]) - (c0 + c1 - 1) / 2.0) / ((c1 - c0) / 2.0)  # -1..1 across the sheet
    xx = np.broadcast_to(x[None, :], shape)
    if kind == "flat_plane":
        z = np.full(shape, offset_mm)
    elif kind == "tilted_plane":
        z = offset_mm + amount_mm * (xx + 1.0) / 2.0
    elif kind == "bent_plane":
        z = offset_mm + amount_mm * xx ** 2
    else:
        raise ValueError(f"unknown plane kind {kind!r}; known: {PLANE_KINDS}")
    out = np.full(shape, HOLE, np.uint16)
    m = sheet_mask(shape)
    out[m] = np.rint(z[m] * UNITS_PER_MM).astype(np.uint16)
    return out


def noise_depth(rng: np.random.Generator, shape=(256, 256)) -> np.ndarray:
    out = np.full(shape, HOLE, np.uint16)
    m = sheet_mask(shape)
    out[m] = rng.integers(0, 65535, size=int(m.sum()), dtype=np.uint16)
    return out


def _robust_quadric(depth: np.ndarray, sel: np.ndarray, iterations: int = 4):
    """Quadric z(x, y) in mm fitted to the pixels ``sel`` of ``depth``: least squares, refitted on the
    pixels within max(3 x 1.4826 x MAD, 1 mm) of the previous fit, so that outliers (a nose, holes
    filled with background depth) do not tilt the surface. Returns a function of (rows, cols)."""
    rows, cols = np.nonzero(sel)
    r0, rs = rows.mean(), max(rows.std(), 1.0)
    c0, cs = cols.mean(), max(cols.std(), 1.0)

    def design(r, c):
        y, x = (r - r0) / rs, (c - c0) / cs
        return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)

    a = design(rows, cols)
    z = depth[sel].astype(np.float64) * MM_PER_UNIT
    inl = np.ones(len(z), bool)
    coef = None
    for _ in range(max(1, iterations)):
        coef, *_ = np.linalg.lstsq(a[inl], z[inl], rcond=None)
        resid = z - a @ coef
        med = np.median(resid[inl])
        mad = 1.4826 * np.median(np.abs(resid[inl] - med))
        new = np.abs(resid - med) <= max(3.0 * mad, 1.0)
        if new.sum() < 12 or np.array_equal(new, inl):
            break
        inl = new
    return lambda r, c: design(r, c) @ coef


def relief_mm(depth: np.ndarray, area: np.ndarray, reference: Optional[np.ndarray] = None,
              percentile: float = 99.0, within: Optional[np.ndarray] = None) -> float:
    """How far ``depth`` stands out *towards the camera* from a surface, in mm: the ``percentile`` of
    (surface - depth) over the valid pixels of ``depth`` in ``area``.

    The surface is the robust quadric (``_robust_quadric``) of ``reference`` (the enhancer's input:
    relief the output adds in front of what the camera saw) or, without a reference, of ``depth``
    itself (the relief an image has of its own: about 0 for a sheet, a nose's height for a face).
    ``within`` (optional) restricts the percentile to those pixels of ``area`` (the surface is still
    fitted on all of ``area``). NaN with fewer than 12 valid pixels on either side.
    """
    d = np.asarray(depth)
    ref = d if reference is None else np.asarray(reference)
    area = np.asarray(area, bool)
    fit_sel = area & (ref != HOLE)
    sel = area & (d != HOLE)
    if within is not None:
        sel &= np.asarray(within, bool)
    if int(fit_sel.sum()) < 12 or int(sel.sum()) < 12:
        return float("nan")
    surface = _robust_quadric(ref, fit_sel)
    rows, cols = np.nonzero(sel)
    protrusion = surface(rows, cols) - d[sel].astype(np.float64) * MM_PER_UNIT
    return float(np.percentile(protrusion, percentile))


def near_holes(image: np.ndarray, px: int = EDGE_PX) -> np.ndarray:
    """Pixels of ``image`` within ``px`` pixels (chessboard distance) of one of its holes, holes included."""
    from scipy import ndimage

    holes = np.asarray(image) == HOLE
    if px <= 0:
        return holes
    return ndimage.binary_dilation(holes, structure=np.ones((3, 3), bool), iterations=int(px))


def relief_parts(output: np.ndarray, inp: np.ndarray, area: np.ndarray, px: int = EDGE_PX) -> dict:
    """Where an output's relief (``relief_mm`` against the input's surface) sits: ``relief_in_holes_mm``
    over pixels that were holes in the input, ``relief_hole_edge_mm`` over valid input pixels within
    ``px`` px of an input hole (ringing at a hole's edge), ``relief_away_mm`` over the rest of the
    area (relief drawn on the sheet itself, e.g. a nose)."""
    holes = np.asarray(inp) == HOLE
    near = near_holes(inp, px)
    return {"relief_in_holes_mm": relief_mm(output, area, reference=inp, within=holes),
            "relief_hole_edge_mm": relief_mm(output, area, reference=inp, within=near & ~holes),
            "relief_away_mm": relief_mm(output, area, reference=inp, within=~near)}


def make_attacks(seed: int, repeats: int = 1) -> list[dict]:
    """The attack inputs: dicts with ``kind``, ``repeat``, ``clean`` (uint16), ``input`` (uint16, what
    the enhancers see) and ``area`` (bool)."""
    import degrade

    cfg = degrade.get_config("d435")
    rng = np.random.default_rng(seed)
    out, to_degrade = [], []
    for rep in range(repeats):
        for kind in PLANE_KINDS:
            clean = plane_depth(kind)
            out.append({"kind": kind, "repeat": rep, "clean": clean, "area": sheet_mask(margin=MARGIN)})
            to_degrade.append(len(out) - 1)
        for k, kind in enumerate(FACE_KINDS):
            face = _face(seed + 1000 * rep + 10 + k, "hand" if kind.endswith("hand") else "paper")
            out.append({"kind": kind, "repeat": rep, "clean": face["depth"], "area": face["depth"] != HOLE})
            to_degrade.append(len(out) - 1)
        noise = noise_depth(rng)
        out.append({"kind": "noise", "repeat": rep, "clean": noise, "input": noise, "area": sheet_mask(margin=MARGIN)})
    # one call: the degradation renderer is traced once
    degraded = np.asarray(degrade.degrade_batch(np.stack([out[i]["clean"] for i in to_degrade]), seed=seed,
                                                variant="plain", config=cfg), np.uint16)
    for i, d in zip(to_degrade, degraded):
        out[i]["input"] = d
    return out


def _face(seed: int, occluder: str) -> dict:
    from prnet_synth import procedural

    from .evalsets import FRONTAL_POSE

    return procedural.generate(1, seed, occluder=occluder, expression="neutral", **FRONTAL_POSE)[0]


def face_reference(seed: int, n: int = 4) -> list[float]:
    """Relief (mm) of ``n`` clean, unoccluded frontal generator faces over their face area."""
    from prnet_synth import procedural

    faces = procedural.generate(n, seed, frontal=True, occluder="none", expression="neutral")
    return [relief_mm(f["depth"], f["depth"] != HOLE) for f in faces]


def evaluate(attacks: Sequence[dict], labels: Iterable[str], factory: Optional[Callable] = None,
             preset: str = "best") -> tuple[pd.DataFrame, dict]:
    """Run each enhancer over all attack inputs; returns (rows, {label: outputs or None}). ``preset``:
    the U-Net weights (a shipped preset, or "best" = paper > cpu > quick per enhancer)."""
    from experiments import metrics
    from experiments.enhancers import EnhancerUnavailableError, get_enhancer

    from prnet_synth.paths import resolve_weights_preset

    # the attacks are in IV-J's 25 cm format (a camera's view): networks trained on face-range depth
    # see each input stretched to its own depth range and give millimetres back (enhancers.py)
    make = factory or (lambda lab: get_enhancer(lab, preset=resolve_weights_preset(lab, preset), input_format="fixed"))
    stack = np.stack([a["input"] for a in attacks])
    rows, outputs = [], {}
    for label in labels:
        try:
            res = make(label).enhance(stack)
        except (EnhancerUnavailableError, FileNotFoundError) as exc:
            msg = str(exc).lower()
            status = "model code unavailable" if "is not available" in msg else "weights missing"
            log.warning("%s: %s", label, status)
            outputs[label] = None
            rows += [{"kind": a["kind"], "repeat": a["repeat"], "enhancer": label, "status": status} for a in attacks]
            continue
        outputs[label] = res
        for a, out in zip(attacks, res):
            rin = relief_mm(a["input"], a["area"])
            rout = relief_mm(out, a["area"], reference=a["input"])
            rows.append({"kind": a["kind"], "repeat": a["repeat"], "enhancer": label,
                         "departure_percent": float(metrics.falsification_rmse(a["input"], out, a["area"])) * 100.0,
                         "relief_input_mm": rin, "relief_mm": rout, "relief_gain_mm": rout - rin,
                         **relief_parts(out, a["input"], a["area"]),
                         "output_holes_percent": float(metrics.hole_fraction(out, a["area"])) * 100.0,
                         "status": "ok"})
    return pd.DataFrame(rows), outputs


def check_bound(frame: pd.DataFrame, bound_mm: float = RELIEF_BOUND_MM) -> pd.DataFrame:
    """Rows (plane inputs, enhancers that ran) whose output relief exceeds the bound."""
    sel = frame["kind"].isin(PLANE_KINDS) & (frame["status"] == "ok")
    return frame[sel & ~(frame["relief_mm"] <= bound_mm)]


def run(preset: str = "quick", seed: int = 0, labels: Optional[Sequence[str]] = None,
        weights: str = "best") -> pd.DataFrame:
    """The whole suite: CSVs ``attack_suite.csv`` (every input), ``attack_suite_summary.csv`` (mean
    per kind and enhancer, with the bound check) and the figure ``figures/attack_suite.png``."""
    from experiments.enhancers import DL_LABELS
    from . import figures
    from .config import get_preset
    from .io import figures_dir, write_table

    P = get_preset(preset)
    labels = list(labels) if labels is not None else list(REFERENCE_LABELS) + list(DL_LABELS)
    attacks = make_attacks(seed + 424242, P.attack_repeats)
    frame, outputs = evaluate(attacks, labels, preset=weights)
    refs = face_reference(seed + 434343)
    ref_rows = pd.DataFrame([{"kind": "face_reference", "repeat": i, "enhancer": "(clean generator face)",
                              "relief_mm": r, "status": "ok"} for i, r in enumerate(refs)])
    frame = pd.concat([frame, ref_rows], ignore_index=True)
    data = "synthetic attacks (planes, generator faces with occluders, noise; D435-like degradation)"
    from prnet_synth.paths import resolve_weights_preset

    prov = provenance(preset, seed, data, relief_bound_mm=RELIEF_BOUND_MM,
                      weights={l: resolve_weights_preset(l, weights) for l in DL_LABELS})
    frame["data"] = data
    write_table("attack_suite", frame, prov)
    ok = frame[frame["status"] == "ok"]
    summ = (ok.groupby(["kind", "enhancer"], sort=False)[["departure_percent", "relief_input_mm", "relief_mm",
                                                          "relief_gain_mm", "relief_in_holes_mm",
                                                          "relief_hole_edge_mm", "relief_away_mm",
                                                          "output_holes_percent"]]
            .mean().reset_index())
    summ["bound_mm"] = np.where(summ["kind"].isin(PLANE_KINDS), RELIEF_BOUND_MM, np.nan)
    summ["within_bound"] = [("yes" if r <= RELIEF_BOUND_MM else "NO") if k in PLANE_KINDS else ""
                            for k, r in zip(summ["kind"], summ["relief_mm"])]
    missing = frame[frame["status"] != "ok"][["enhancer", "status"]].drop_duplicates()
    summ = pd.concat([summ, missing.assign(kind="(all)")], ignore_index=True)
    summ["data"] = data
    write_table("attack_suite_summary", summ, prov)
    # figure: the first repeat of each kind, input then every DL enhancer's output (the references
    # are in the CSVs only)
    shown = [l for l in labels if l not in REFERENCE_LABELS]
    rows = []
    for kind in ATTACK_KINDS:
        i = next(k for k, a in enumerate(attacks) if a["kind"] == kind)
        rows.append((kind, attacks[i]["input"], {l: (o[i] if o is not None else None) for l, o in outputs.items()}))
    figures.fig10(rows, None, f"Attack suite - inputs without a face (and occluded faces) - data: {data}",
                  figures_dir() / "attack_suite.png", shown,
                  status={l: str(frame.loc[frame["enhancer"] == l, "status"].iloc[0])
                          for l, o in outputs.items() if o is None})
    bad = check_bound(frame)
    if len(bad):
        log.warning("relief bound %.1f mm exceeded on plane inputs by: %s", RELIEF_BOUND_MM,
                    sorted(set(bad["enhancer"])))
    return frame
