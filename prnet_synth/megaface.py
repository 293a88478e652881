"""MegaFace MF2 "1M Disjoint Distractors" (tightly cropped) reader and the Table I filter stages.

Schlett et al. III-A: the colour inputs for the PRNet ground truth are MF2's 1M Disjoint Distractors
("Tightly Cropped"), filtered in three subsequent stages (Table I):

1. file duplicates: files with an identical SHA3-512 hash (the first in sorted path order is kept);
2. resolution above 1024x1024 in either width or height;
3. deformed output: PRNet meshes whose triangle side lengths leave the acceptable ranges learned
   from a user-chosen set of well-formed meshes (the paper hand-picked 428); possible because every
   PRNet mesh has the same triangles in the same order.

Layout (shared/docs/datasets.md): ``<root>/<identity dir>/<image files>`` (jpg/jpeg/png, any case),
optionally with a JSON sidecar ``<image>.json`` or ``<image>.jpg.json``. The reader walks that.

The run is split into steps so that a cluster can shard the expensive ones; every step resumes:

* ``index``  - SHA3-512, width and height of every file, in chunks of the sorted file list
  (``<out>/index/chunk_NNNNN.csv``; ``--shard i/N`` takes chunks k with k % N == i);
* ``ranges`` - meshes of the good set -> per-triangle, per-side min/max (``<out>/side_ranges.npz``);
* ``filter`` - stages 1 and 2 from the index (cheap, every shard computes them identically), then
  stage 3 on the survivors, in chunks (``<out>/decisions/chunk_NNNNN.csv``); kept images get their
  256x256 uint16 depth image ``<out>/depth/<identity>/<name>.png``;
* ``table``  - ``<out>/table1.csv`` (discarded per stage, total, remaining, the paper's numbers
  beside) and ``<out>/manifest.csv`` (input hash -> output file, decision, stage, reason).

``python -m prnet_synth.megaface run --root ... --out ... --good good.txt --prnet-dir ...`` does
all four on one machine.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from .atomic import atomic_write_bytes, atomic_write_text, provenance
from .conventions import write_depth_png

__all__ = [
    "IMAGE_EXTS", "MF2Image", "iter_mf2", "read_sidecar", "sha3_512", "image_size", "read_rgb",
    "STAGES", "PAPER_TABLE1", "MAX_SIDE", "triangle_side_lengths", "SideLengthRanges",
    "output_names", "index_images", "load_index", "stages_1_2", "fit_ranges", "filter_images", "write_table",
    "parse_shard", "main",
]

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png")
MAX_SIDE = 1024
STAGES = ("file_duplicates_sha3_512", "resolution_above_1024x1024", "deformed_output")
# Schlett et al., Table I (1,000,000 inputs)
PAPER_TABLE1 = {"file_duplicates_sha3_512": 213, "resolution_above_1024x1024": 12087,
                "deformed_output": 131571, "total_discarded": 143871, "remaining": 856129}
INDEX_FIELDS = ("relpath", "sha3_512", "width", "height", "error")
DECISION_FIELDS = ("relpath", "sha3_512", "output", "decision", "stage", "reason")


# ----------------------------------------------------------------------------- reader
@dataclass(frozen=True)
class MF2Image:
    relpath: str          # '<identity>/<file>' with '/' separators
    path: Path
    identity: str


def iter_mf2(root: str | os.PathLike) -> list[MF2Image]:
    """All images of an MF2 folder, sorted by relative path (deterministic).

    Images are the files with a jpg/jpeg/png extension (any case) in ``<root>/<identity>/``;
    other files (JSON sidecars, ...) are ignored. Raises if ``root`` is not a folder or holds no images.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: MegaFace MF2 folder not found")
    out = []
    for ident in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(ident.iterdir()):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTS:
                out.append(MF2Image(f"{ident.name}/{f.name}", f, ident.name))
    if not out:
        raise FileNotFoundError(f"{root}: no images found in <root>/<identity>/ folders; pass the folder "
                                "that holds the identity folders of the unpacked MF2 archive")
    return out


def read_sidecar(image_path: str | os.PathLike) -> Optional[dict]:
    """The optional JSON sidecar ``<image>.json`` or ``<stem>.json``; None when absent or unreadable."""
    p = Path(image_path)
    for cand in (p.with_name(p.name + ".json"), p.with_suffix(".json")):
        if cand.is_file():
            try:
                return json.loads(cand.read_text())
            except (OSError, ValueError) as exc:
                log.warning("%s: unreadable JSON sidecar (%s), ignored", cand, exc)
                return None
    return None


def sha3_512(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """SHA3-512 of a file's bytes (hex)."""
    h = hashlib.sha3_512()
    with open(path, "rb") as fh:
        while True:
            buf = fh.read(block)
            if not buf:
                break
            h.update(buf)
    return h.hexdigest()


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the image header; ValueError naming the file if it is not an image."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return int(im.size[0]), int(im.size[1])
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"{path}: not a readable image ({exc})") from exc


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """Decode an image file to uint8 RGB (HxWx3); gray is tiled, alpha dropped.
    ValueError naming the file for corrupt or unreadable files."""
    import cv2

    p = Path(path)
    try:
        buf = np.fromfile(str(p), dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"{p}: cannot read file ({exc})") from exc
    # 8-bit, 3 channels (gray tiled, alpha dropped); EXIF orientation ignored like skimage.io.imread
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION) if buf.size else None
    if img is None:
        raise ValueError(f"{p}: not a decodable image file")
    img = img[..., ::-1]
    return np.ascontiguousarray(img)


# ----------------------------------------------------------------------------- stage 3 geometry
def triangle_side_lengths(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T, 3) Euclidean side lengths: |V1-V0|, |V2-V1|, |V0-V2| of every triangle (3D)."""
    v = np.asarray(vertices, dtype=np.float64)[:, :3]
    f = np.asarray(triangles, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return np.stack([np.linalg.norm(b - a, axis=1), np.linalg.norm(c - b, axis=1),
                     np.linalg.norm(a - c, axis=1)], axis=1)


class SideLengthRanges:
    """Acceptable side-length ranges learned from good meshes (per triangle and side: min..max).

    ``per="triangle"`` (default): bounds of shape (T, 3), the natural reading of the paper since all
    meshes share the triangle order; ``per="global"``: one min/max per side over all triangles.
    ``margin``: relative widening of each range (0 = the good set's exact min/max).
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray, n_good: int, per: str = "triangle", margin: float = 0.0):
        self.lo = np.asarray(lo, dtype=np.float64)
        self.hi = np.asarray(hi, dtype=np.float64)
        self.n_good = int(n_good)
        self.per = per
        self.margin = float(margin)

    @classmethod
    def fit(cls, lengths: Iterable[np.ndarray], per: str = "triangle", margin: float = 0.0) -> "SideLengthRanges":
        if per not in ("triangle", "global"):
            raise ValueError(f"per must be 'triangle' or 'global', got {per!r}")
        lo = hi = None
        n = 0
        for L in lengths:
            L = np.asarray(L, dtype=np.float64)
            if per == "global":
                L = np.stack([L.min(axis=0), L.max(axis=0)])
                cur_lo, cur_hi = L[0], L[1]
            else:
                cur_lo = cur_hi = L
            if lo is None:
                lo, hi = cur_lo.copy(), cur_hi.copy()
            else:
                if cur_lo.shape != lo.shape:
                    raise ValueError(f"good mesh {n}: side lengths of shape {cur_lo.shape}, expected {lo.shape} "
                                     "(all meshes must share the triangle list)")
                np.minimum(lo, cur_lo, out=lo)
                np.maximum(hi, cur_hi, out=hi)
            n += 1
        if n == 0:
            raise ValueError("no good meshes to learn the side-length ranges from")
        width = hi - lo
        return cls(lo - margin * width, hi + margin * width, n, per, margin)

    def violations(self, lengths: np.ndarray) -> int:
        """Number of (triangle, side) lengths outside the ranges."""
        L = np.asarray(lengths, dtype=np.float64)
        if self.per == "triangle" and L.shape != self.lo.shape:
            raise ValueError(f"side lengths of shape {L.shape}, the ranges are for {self.lo.shape}")
        bad = (L < self.lo) | (L > self.hi) | ~np.isfinite(L)
        return int(bad.sum())

    def accepts(self, lengths: np.ndarray) -> bool:
        return self.violations(lengths) == 0

    def save(self, path: str | os.PathLike) -> Path:
        buf = io.BytesIO()
        np.savez(buf, lo=self.lo, hi=self.hi, n_good=self.n_good, per=self.per, margin=self.margin)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SideLengthRanges":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: side-length ranges not found; run the 'ranges' step first")
        with np.load(path) as z:
            return cls(z["lo"], z["hi"], int(z["n_good"]), str(z["per"]), float(z["margin"]))


# ----------------------------------------------------------------------------- helpers
def parse_shard(text: Optional[str]) -> tuple[int, int]:
    """'i/N' -> (i, N) with 0 <= i < N; None -> (0, 1)."""
    if text is None:
        return 0, 1
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise ValueError(f"--shard must look like i/N (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: need 0 <= i < N")
    return i, n


def _write_rows(path: Path, fields: Sequence[str], rows: Iterable[dict]) -> Path:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(fields), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in fields})
    return atomic_write_text(path, out.getvalue())


def _read_rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _progress(it, total, desc, quiet):
    if quiet:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="img", file=sys.stderr)


# ----------------------------------------------------------------------------- step: index
def index_images(root, out_dir, shard: tuple[int, int] = (0, 1), chunk_size: int = 10000,
                 quiet: bool = True) -> int:
    """Hash and measure every image (stages 1 and 2 need it). Returns how many chunks were written."""
    images = iter_mf2(root)
    out_dir = Path(out_dir)
    n_chunks = (len(images) + chunk_size - 1) // chunk_size
    written = 0
    for k in range(n_chunks):
        if k % shard[1] != shard[0]:
            continue
        path = out_dir / "index" / f"chunk_{k:05d}.csv"
        if path.is_file():
            continue
        rows = []
        part = images[k * chunk_size:(k + 1) * chunk_size]
        for im in _progress(part, len(part), f"index {k + 1}/{n_chunks}", quiet):
            row = {"relpath": im.relpath, "sha3_512": "", "width": "", "height": "", "error": ""}
            try:
                row["sha3_512"] = sha3_512(im.path)
                row["width"], row["height"] = image_size(im.path)
            except (OSError, ValueError) as exc:
                row["error"] = str(exc)
                log.warning("%s", exc)
            rows.append(row)
        _write_rows(path, INDEX_FIELDS, rows)
        written += 1
    atomic_write_text(out_dir / "index" / "n_images.txt", f"{len(images)}\n")
    return written


def load_index(root, out_dir) -> list[dict]:
    """The complete index in sorted path order; error naming what is missing if not complete."""
    out_dir = Path(out_dir)
    images = iter_mf2(root)
    rows: list[dict] = []
    for path in sorted((out_dir / "index").glob("chunk_*.csv")):
        rows.extend(_read_rows(path))
    have = [r["relpath"] for r in rows]
    want = [im.relpath for im in images]
    if have != want:
        missing = sorted(set(want) - set(have))
        raise RuntimeError(f"{out_dir / 'index'}: index incomplete or stale ({len(missing)} images not indexed, "
                           f"e.g. {missing[:3]}); run the 'index' step for every shard first")
    return rows


# ----------------------------------------------------------------------------- stages 1 and 2
def stages_1_2(index: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(discarded decisions, survivors) after stage 1 (SHA3-512 duplicates, first in path order kept),
    the unreadable files (not a Table I stage; reported separately) and stage 2 (> 1024 px)."""
    first: dict[str, str] = {}
    discarded, survivors = [], []
    for r in index:
        h = r["sha3_512"]
        if h and h in first:
            discarded.append(dict(r, output="", decision="discarded", stage=STAGES[0],
                                  reason=f"identical SHA3-512 to {first[h]}"))
            continue
        if h:
            first[h] = r["relpath"]
        if r["error"]:
            discarded.append(dict(r, output="", decision="discarded", stage="unreadable", reason=r["error"]))
            continue
        w, hh = int(r["width"]), int(r["height"])
        if w > MAX_SIDE or hh > MAX_SIDE:
            discarded.append(dict(r, output="", decision="discarded", stage=STAGES[1],
                                  reason=f"{w}x{hh} exceeds {MAX_SIDE} px"))
            continue
        survivors.append(r)
    return discarded, survivors


# ----------------------------------------------------------------------------- step: ranges
def _read_good_list(good) -> list[str]:
    if isinstance(good, (str, os.PathLike)):
        p = Path(good)
        if not p.is_file():
            raise FileNotFoundError(f"{p}: good-set list not found (one '<identity>/<file>' per line)")
        items = [ln.strip() for ln in p.read_text().splitlines()]
        return [s for s in items if s and not s.startswith("#")]
    return [str(s) for s in good]


def fit_ranges(root, out_dir, mesher, good, per: str = "triangle", margin: float = 0.0,
               quiet: bool = True) -> SideLengthRanges:
    """Learn the side-length ranges from the good set's meshes and save them (``side_ranges.npz``).

    ``mesher(rgb uint8) -> mesh`` with ``.vertices`` (N, 3) and ``.triangles`` (T, 3); ``good`` is
    a list of relative paths or a text file of them. Every good image must be readable and meshable.
    """
    root, out_dir = Path(root), Path(out_dir)
    rels = _read_good_list(good)
    if not rels:
        raise ValueError("the good set is empty")

    def lengths():
        for rel in _progress(rels, len(rels), "good set", quiet):
            path = root / rel
            if not path.is_file():
                raise FileNotFoundError(f"{path}: good-set image not found")
            m = mesher(read_rgb(path))
            yield triangle_side_lengths(m.vertices, m.triangles)

    ranges = SideLengthRanges.fit(lengths(), per=per, margin=margin)
    ranges.save(out_dir / "side_ranges.npz")
    atomic_write_text(out_dir / "good_set.txt", "\n".join(rels) + "\n")
    return ranges


# ----------------------------------------------------------------------------- step: filter
def output_names(relpaths: Sequence[str], prefix: str = "") -> dict[str, str]:
    """Output file (relative, '/'-separated) of each input: ``<prefix><dir>/<stem>.png``; inputs
    whose names would collide (``a.jpg`` and ``a.png``) keep their full name: ``<dir>/a.jpg.png``."""
    plain = {r: prefix + r.rsplit(".", 1)[0] + ".png" for r in relpaths}
    seen: dict[str, int] = {}
    for o in plain.values():
        key = o.lower()
        seen[key] = seen.get(key, 0) + 1
    return {r: (o if seen[o.lower()] == 1 else prefix + r + ".png") for r, o in plain.items()}


def filter_images(root, out_dir, mesher, depth_fn: Callable, shard: tuple[int, int] = (0, 1),
                  chunk_size: int = 200, quiet: bool = True) -> int:
    """Stage 3 on the survivors of stages 1-2 in this shard; kept images get their depth image.

    ``mesher(rgb) -> mesh``; ``depth_fn(mesh) -> uint16 256x256``. Chunks already decided are
    skipped. Returns the number of chunks processed.
    """
    root, out_dir = Path(root), Path(out_dir)
    index = load_index(root, out_dir)
    ranges = SideLengthRanges.load(out_dir / "side_ranges.npz")
    good = set(_read_good_list(out_dir / "good_set.txt"))
    _, survivors = stages_1_2(index)
    n_chunks = (len(survivors) + chunk_size - 1) // chunk_size
    names = output_names([r["relpath"] for r in index], prefix="depth/")
    done = 0
    for k in range(n_chunks):
        if k % shard[1] != shard[0]:
            continue
        path = out_dir / "decisions" / f"chunk_{k:05d}.csv"
        if path.is_file():
            continue
        rows = []
        part = survivors[k * chunk_size:(k + 1) * chunk_size]
        for r in _progress(part, len(part), f"stage 3 chunk {k + 1}/{n_chunks}", quiet):
            rows.append(_decide(root, out_dir, r, mesher, depth_fn, ranges, good, names[r["relpath"]]))
        _write_rows(path, DECISION_FIELDS, rows)
        done += 1
    return done


def _decide(root, out_dir, r, mesher, depth_fn, ranges, good, out_rel) -> dict:
    rel = r["relpath"]
    base = {"relpath": rel, "sha3_512": r["sha3_512"], "output": ""}
    try:
        img = read_rgb(root / rel)
    except ValueError as exc:
        log.warning("%s", exc)
        return dict(base, decision="discarded", stage="unreadable", reason=str(exc))
    try:
        mesh = mesher(img)
    except Exception as exc:  # no face found, degenerate input: log, skip, continue
        log.warning("%s: no mesh (%s)", root / rel, exc)
        return dict(base, decision="discarded", stage="no_mesh", reason=f"{type(exc).__name__}: {exc}")
    lengths = triangle_side_lengths(mesh.vertices, mesh.triangles)
    bad = ranges.violations(lengths)
    if rel in good:
        reason = "good set"
    elif bad:
        return dict(base, decision="discarded", stage=STAGES[2],
                    reason=f"{bad} of {lengths.size} triangle side lengths outside the good-set ranges")
    else:
        reason = "all triangle side lengths inside the good-set ranges"
    write_depth_png(out_dir / out_rel, depth_fn(mesh))
    return dict(base, output=out_rel, decision="kept", stage="", reason=reason)


# ----------------------------------------------------------------------------- step: table
def write_table(root, out_dir, preset: str = "paper", seed: Optional[int] = None) -> dict:
    """Merge all decisions into ``table1.csv`` and ``manifest.csv``; error if a chunk is missing."""
    import pandas as pd

    root, out_dir = Path(root), Path(out_dir)
    index = load_index(root, out_dir)
    discarded, survivors = stages_1_2(index)
    dec_rows: list[dict] = []
    files = sorted((out_dir / "decisions").glob("chunk_*.csv"))
    for path in files:
        dec_rows.extend(_read_rows(path))
    decided = {r["relpath"] for r in dec_rows}
    missing = [r["relpath"] for r in survivors if r["relpath"] not in decided]
    if missing:
        raise RuntimeError(f"{out_dir / 'decisions'}: {len(missing)} images have no stage-3 decision yet "
                           f"(e.g. {missing[:3]}); run the 'filter' step for every shard first")
    manifest = sorted(discarded + dec_rows, key=lambda r: r["relpath"])
    _write_rows(out_dir / "manifest.csv", DECISION_FIELDS, manifest)
    counts = {s: 0 for s in STAGES}
    extra = {"unreadable": 0, "no_mesh": 0}
    for r in manifest:
        if r["decision"] == "discarded":
            if r["stage"] in counts:
                counts[r["stage"]] += 1
            else:
                extra[r["stage"]] = extra.get(r["stage"], 0) + 1
    total = sum(counts.values()) + sum(extra.values())
    kept = sum(1 for r in manifest if r["decision"] == "kept")
    rows = [{"filter_stage": "inputs", "discarded": len(index), "paper": 1000000}]
    rows += [{"filter_stage": s, "discarded": counts[s], "paper": PAPER_TABLE1[s]} for s in STAGES]
    rows += [{"filter_stage": s, "discarded": n, "paper": ""} for s, n in extra.items()]
    rows += [{"filter_stage": "total_discarded", "discarded": total, "paper": PAPER_TABLE1["total_discarded"]},
             {"filter_stage": "remaining", "discarded": kept, "paper": PAPER_TABLE1["remaining"]}]
    from .atomic import atomic_write_csv, atomic_write_json

    atomic_write_csv(out_dir / "table1.csv", pd.DataFrame(rows))
    atomic_write_json(out_dir / "provenance.json", provenance(preset, seed, str(root), step="megaface_filter"))
    return {r["filter_stage"]: int(r["discarded"]) for r in rows}


# ----------------------------------------------------------------------------- CLI
def _prnet_backend(args):
    from .prnet_pipeline import PRNetPipeline

    pipe = PRNetPipeline(args.prnet_dir, args.weights, triangles=args.triangles, crop=args.crop,
                         render_mode=args.render, mm_per_unit=args.mm_per_unit)
    return pipe.mesh, pipe.depth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prnet_synth.megaface", description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("index", "ranges", "filter", "table", "run"))
    ap.add_argument("--root", required=True, help="MF2 tightly cropped folder (<root>/<identity>/<images>)")
    ap.add_argument("--out", required=True, help="output folder (index, decisions, depth/, table1.csv, manifest.csv)")
    ap.add_argument("--good", help="text file: the good set, one '<identity>/<file>' per line (ranges/run)")
    ap.add_argument("--prnet-dir", help="your PRNet folder (repository root or Data/uv-data)")
    ap.add_argument("--weights", help="PRNet checkpoint prefix (default <prnet-dir>/Data/net-data/256_256_resfcn256_weight)")
    ap.add_argument("--triangles", choices=("file", "grid"), default="file")
    ap.add_argument("--crop", choices=("image", "landmarks", "cnn"), default="image",
                    help="face square: whole (tightly cropped) image [default], dlib landmarks, dlib CNN")
    ap.add_argument("--render", choices=("flat", "barycentric"), default="flat")
    ap.add_argument("--mm-per-unit", type=float, default=None, help="fixed depth scale (default: from eye distance)")
    ap.add_argument("--per", choices=("triangle", "global"), default="triangle")
    ap.add_argument("--margin", type=float, default=0.0)
    ap.add_argument("--shard", default=None, help="i/N: this job's share of the index and filter steps")
    ap.add_argument("--index-chunk", type=int, default=10000, help="files per index chunk (resume unit)")
    ap.add_argument("--filter-chunk", type=int, default=200, help="images per stage-3 chunk (resume unit)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    shard = parse_shard(args.shard)
    quiet = args.quiet
    if args.step in ("index", "run"):
        index_images(args.root, args.out, shard if args.step == "index" else (0, 1), args.index_chunk, quiet=quiet)
    if args.step in ("ranges", "filter", "run"):
        if not args.prnet_dir:
            ap.error("--prnet-dir is required for the ranges/filter steps")
        mesher, depth_fn = _prnet_backend(args)
        if args.step in ("ranges", "run"):
            if not args.good:
                ap.error("--good is required for the ranges step")
            fit_ranges(args.root, args.out, mesher, args.good, per=args.per, margin=args.margin, quiet=quiet)
        if args.step in ("filter", "run"):
            filter_images(args.root, args.out, mesher, depth_fn, shard if args.step == "filter" else (0, 1),
                          args.filter_chunk, quiet=quiet)
    if args.step in ("table", "run"):
        table = write_table(args.root, args.out)
        for k, v in table.items():
            print(f"{k},{v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
