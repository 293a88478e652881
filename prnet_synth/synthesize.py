"""Ground-truth synthesis for a folder of photos: ``python -m prnet_synth.synthesize IN OUT ...``.

Every image under ``IN`` (recursively; jpg, jpeg, png, bmp, tif, tiff, webp; sorted by relative
path) becomes ``OUT/<relative path without extension>.png``: the 256x256 uint16 depth image of
the project's convention (0 = nearest, 250 mm range, 65535 = hole/background), rendered from the
PRNet mesh in the 256x256 crop frame.

* ``--backend prnet`` (the paper's): needs the user's PRNet folder (``--prnet-dir``: data files
  and, unless ``--weights`` says otherwise, ``Data/net-data/256_256_resfcn256_weight``).
* ``--backend mediapipe``: not available, see ``MEDIAPIPE_UNAVAILABLE``.
* ``--shard i/N``: this job takes the images whose position in the sorted list is i mod N, so N
  cluster jobs split a million images without coordination.
* Resumable: an image whose output exists is skipped; images that failed (unreadable file, no
  face) are listed in ``OUT/_failed/shard_i_of_N.tsv`` and skipped on a rerun unless
  ``--retry-failed``. Outputs are written atomically, so a killed job leaves no partial file.
* Deterministic: no randomness; the same inputs and options give the same files.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .atomic import atomic_write_json, provenance
from .conventions import write_depth_png
from .megaface import output_names, parse_shard, read_rgb

__all__ = ["INPUT_EXTS", "MEDIAPIPE_UNAVAILABLE", "list_images", "make_backend", "synthesize_folder", "main"]

log = logging.getLogger(__name__)

INPUT_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
MEDIAPIPE_UNAVAILABLE = (
    "--backend mediapipe is not available in this toolkit: the 468-point face landmark model ships only "
    "inside the legacy mediapipe 0.10.21, which cannot be installed beside TensorFlow 2.21 (it pins "
    "protobuf<5 and numpy<2, TensorFlow 2.21 needs protobuf>=6.31), and mediapipe>=0.10.30 ships no face "
    "model (its FaceLandmarker downloads a .task file at run time). Use --backend prnet with the PRNet "
    "weights (see the README, PRNet section).")


def list_images(root: str | os.PathLike) -> list[str]:
    """Relative ('/'-separated) paths of all images under ``root``, sorted."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: input folder not found")
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in filenames:
            if Path(f).suffix.lower() in INPUT_EXTS and not f.startswith("."):
                out.append(Path(dirpath, f).relative_to(root).as_posix())
    return sorted(out)


def make_backend(name: str, prnet_dir=None, weights=None, triangles: str = "file", crop: str = "landmarks",
                 render: str = "flat", mm_per_unit: Optional[float] = None):
    """An object with ``.mesh(rgb) -> mesh`` and ``.depth(mesh) -> uint16 256x256``."""
    if name == "mediapipe":
        raise RuntimeError(MEDIAPIPE_UNAVAILABLE)
    if name != "prnet":
        raise ValueError(f"unknown backend {name!r}; choose prnet")
    if prnet_dir is None:
        raise ValueError("--prnet-dir is required for the prnet backend (your PRNet folder with Data/uv-data "
                         "and Data/net-data)")
    from .prnet_pipeline import PRNetPipeline

    return PRNetPipeline(prnet_dir, weights, triangles=triangles, crop=crop, render_mode=render,
                         mm_per_unit=mm_per_unit)


def _read_failed(out_dir: Path) -> set[str]:
    failed: set[str] = set()
    for p in sorted((out_dir / "_failed").glob("shard_*.tsv")):
        for line in p.read_text(errors="replace").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2 and parts[0] != "relpath":
                failed.add(parts[0])
    return failed


def synthesize_folder(in_dir, out_dir, backend, shard: tuple[int, int] = (0, 1), retry_failed: bool = False,
                      quiet: bool = False, limit: Optional[int] = None) -> dict:
    """Run the backend over this shard of the folder. Returns counts (written, skipped, failed)."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    rels = list_images(in_dir)
    names = output_names(rels)
    mine = [r for k, r in enumerate(rels) if k % shard[1] == shard[0]]
    if limit is not None:
        mine = mine[:limit]
    failed_before = set() if retry_failed else _read_failed(out_dir)
    todo = [r for r in mine if not (out_dir / names[r]).is_file() and r not in failed_before]
    counts = {"images": len(mine), "skipped": len(mine) - len(todo), "written": 0, "failed": 0}
    fail_path = out_dir / "_failed" / f"shard_{shard[0]}_of_{shard[1]}.tsv"
    fail_path.parent.mkdir(parents=True, exist_ok=True)
    it = todo
    if not quiet:
        from tqdm import tqdm

        it = tqdm(todo, desc=f"synthesize {shard[0]}/{shard[1]}", unit="img", file=sys.stderr)
    t0 = time.perf_counter()
    with open(fail_path, "a", encoding="utf-8") as flog:
        for rel in it:
            try:
                img = read_rgb(in_dir / rel)
                mesh = backend.mesh(img)
                depth = backend.depth(mesh)
            except Exception as exc:  # corrupt file, no face, degenerate mesh: log, skip, continue
                reason = f"{type(exc).__name__}: {exc}".replace("\t", " ").replace("\n", " ")
                log.warning("%s: skipped (%s)", in_dir / rel, reason)
                flog.write(f"{rel}\t{reason}\n")
                flog.flush()
                counts["failed"] += 1
                continue
            write_depth_png(out_dir / names[rel], depth)
            counts["written"] += 1
    counts["seconds"] = round(time.perf_counter() - t0, 3)
    atomic_write_json(out_dir / f"_provenance_shard_{shard[0]}_of_{shard[1]}.json",
                      provenance("paper", None, str(in_dir), step="synthesize", counts=counts,
                                 backend=type(backend).__name__))
    return counts


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m prnet_synth.synthesize",
                                 description="256x256 uint16 face depth ground truth from a folder of photos "
                                             "(Schlett et al. III-A).")
    ap.add_argument("input", help="folder of images (searched recursively)")
    ap.add_argument("output", help="output folder for the depth PNGs (same relative layout)")
    ap.add_argument("--backend", choices=("prnet", "mediapipe"), default="prnet")
    ap.add_argument("--prnet-dir", help="your PRNet folder (repository root, or its Data/uv-data)")
    ap.add_argument("--weights", help="checkpoint prefix (default <prnet-dir>/Data/net-data/256_256_resfcn256_weight)")
    ap.add_argument("--triangles", choices=("file", "grid"), default="file",
                    help="PRNet's triangles.txt [default] or a regenerated grid triangulation")
    ap.add_argument("--crop", choices=("landmarks", "cnn", "image"), default="landmarks",
                    help="face square: dlib HOG + 68 landmarks [default], dlib CNN detector (PRNet's default, "
                         "slow on CPU), or the whole image (tightly cropped faces)")
    ap.add_argument("--render", choices=("flat", "barycentric"), default="flat",
                    help="flat = official PRNet per-triangle depth [default]; barycentric = interpolated")
    ap.add_argument("--mm-per-unit", type=float, default=None,
                    help="fixed mm per PRNet unit; default: scale so the eye-centre distance is 63 mm")
    ap.add_argument("--shard", default=None, help="i/N: process images i, i+N, i+2N, ... of the sorted list")
    ap.add_argument("--retry-failed", action="store_true", help="retry images listed as failed")
    ap.add_argument("--limit", type=int, default=None, help="at most this many images of the shard")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.backend == "mediapipe":
        print(f"error: {MEDIAPIPE_UNAVAILABLE}", file=sys.stderr)
        return 2
    try:
        shard = parse_shard(args.shard)
        backend = make_backend(args.backend, args.prnet_dir, args.weights, args.triangles, args.crop,
                               args.render, args.mm_per_unit)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = synthesize_folder(args.input, args.output, backend, shard, args.retry_failed, args.quiet, args.limit)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
