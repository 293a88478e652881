"""Pini et al.'s face-verification probe (001 sec. 4.1.1, 4.3, Fig. 3, Tables 1-2).

A Siamese network trained on *original* depth maps only decides whether two faces belong to the
same subject (similarity > 0.5). "To overcome [the number of possible pairs], we created two fixed
sets of image pairs, a validation and a test set": ``make_pairs`` draws them once, stratified by the
four cells (A1 | A2) x (S1-S3 | S4-S5) of eq. 7 and the sequence split, half same-subject and half
different-subject pairs per cell, both faces of a pair inside the cell; the lists are written to
CSV and reused. Table 2's union rows/columns pool the pairs of their cells.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

__all__ = ["angle_subsets", "cell_of", "make_pairs", "train_pairs", "pairs_csv", "read_pairs",
           "train_siamese", "similarities", "accuracy", "table2", "ANGLE_ROWS", "SEQ_COLS"]

ANGLE_ROWS = (("A1", ("A1",)), ("A2", ("A2",)), ("A1+A2", ("A1", "A2")))
SEQ_COLS = (("S1-S3", ("S1-S3",)), ("S4-S5", ("S4-S5",)), ("S1-S5", ("S1-S3", "S4-S5")))


def angle_subsets(yaw, pitch, roll, limit: float = 10.0) -> np.ndarray:
    """Eq. 7: "A1" where every angle is within [-limit, limit] degrees, else "A2"."""
    a = np.stack([np.asarray(yaw), np.asarray(pitch), np.asarray(roll)], 1).astype(np.float64)
    a1 = np.all((a >= -limit) & (a <= limit), axis=1)
    return np.where(a1, "A1", "A2")


def cell_of(faces) -> np.ndarray:
    return np.char.add(np.char.add(angle_subsets(faces.yaw, faces.pitch, faces.roll).astype(str), "/"),
                       faces.group.astype(str))


def _draw(idx: np.ndarray, ids: np.ndarray, n: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """n pairs inside ``idx``: half same identity, half different (fewer if impossible)."""
    pairs: list[tuple[int, int, int]] = []
    if len(idx) < 2:
        return pairs
    by_id: dict[str, np.ndarray] = {}
    for i in idx:
        by_id.setdefault(ids[i], []).append(i)
    multi = [np.array(v) for v in by_id.values() if len(v) >= 2]
    n_same = n // 2 if multi else 0
    seen: set[tuple[int, int]] = set()
    tries = 0
    while len(pairs) < n_same and tries < 50 * n:      # distinct pairs while possible
        tries += 1
        grp = multi[rng.integers(len(multi))]
        a, b = (int(v) for v in rng.choice(grp, 2, replace=False))
        if (min(a, b), max(a, b)) not in seen or tries > 20 * n:
            seen.add((min(a, b), max(a, b)))
            pairs.append((a, b, 1))
    if len(by_id) >= 2:
        n_diff, tries = 0, 0
        while n_diff < n - n_same and tries < 50 * n:
            tries += 1
            a, b = (int(v) for v in rng.choice(idx, 2, replace=False))
            if ids[a] != ids[b] and ((min(a, b), max(a, b)) not in seen or tries > 20 * n):
                seen.add((min(a, b), max(a, b)))
                pairs.append((a, b, 0))
                n_diff += 1
    return pairs


def make_pairs(faces, per_cell: int, seed: int) -> pd.DataFrame:
    """The fixed pair list: columns cell, a, b (indices into ``faces``), same (1/0), id_a, id_b."""
    rng = np.random.default_rng(seed)
    cells = cell_of(faces)
    rows = []
    for cell in ("A1/S1-S3", "A1/S4-S5", "A2/S1-S3", "A2/S4-S5"):
        idx = np.flatnonzero(cells == cell)
        for a, b, same in _draw(idx, faces.identity, per_cell, rng):
            rows.append({"cell": cell, "a": a, "b": b, "same": same,
                         "id_a": str(faces.identity[a]), "id_b": str(faces.identity[b])})
    return pd.DataFrame(rows, columns=["cell", "a", "b", "same", "id_a", "id_b"])


def train_pairs(identity: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Random balanced training pairs (a, b, same) over the whole training set."""
    rng = np.random.default_rng(seed)
    return np.array(_draw(np.arange(len(identity)), identity, n, rng), dtype=np.int64).reshape(-1, 3)


def pairs_csv(path: Path, faces, per_cell: int, seed: int, log=print, prov: Optional[dict] = None) -> pd.DataFrame:
    """Read the fixed pair list at ``path`` if it matches ``faces``, else draw and write it, with the
    sidecar ``<name>.json`` (``prov``, default ``provenance("n/a", None, "n/a")``, plus the pair seed
    and pairs per cell; the columns; the row count). A reused list keeps the sidecar of its drawing."""
    from prnet_synth.atomic import atomic_write_csv, atomic_write_json, provenance

    path = Path(path)
    if path.is_file():
        old = read_pairs(path)
        ok = len(old) and old[["a", "b"]].to_numpy().max() < len(faces) and all(
            str(faces.identity[r.a]) == str(r.id_a) and str(faces.identity[r.b]) == str(r.id_b)
            for r in old.itertuples())
        if ok:
            return old
        log(f"{path}: pair list does not match the current faces, drawing a new one")
    pairs = make_pairs(faces, per_cell, seed)
    atomic_write_csv(path, pairs)
    record = {**(prov if prov is not None else provenance("n/a", None, "n/a")), "pair_seed": int(seed),
              "pairs_per_cell": int(per_cell), "n_faces": int(len(faces))}
    atomic_write_json(path.with_suffix(".json"), {"provenance": record, "columns": list(pairs.columns),
                                                  "rows": int(len(pairs))})
    return pairs


def read_pairs(path) -> pd.DataFrame:
    df = pd.read_csv(path, dtype={"id_a": str, "id_b": str})
    need = {"cell", "a", "b", "same", "id_a", "id_b"}
    if not need <= set(df.columns):
        raise ValueError(f"{path}: pair list needs columns {sorted(need)}, has {list(df.columns)}")
    return df


def _unit(img_u8: np.ndarray) -> np.ndarray:
    return (np.asarray(img_u8, np.float32) / 127.5 - 1.0)[..., None]


def train_siamese(depth_train: np.ndarray, ident_train: np.ndarray, *, preset, seed: int, label: str,
                  settings: dict, val: Optional[tuple] = None, log=print):
    """Train (or reload) the Fig. 3 verifier on original depth maps; returns the keras model."""
    import json

    import keras

    from prnet_synth.atomic import atomic_save_keras_model, atomic_write_json
    from models.gan_common import fit_resumable
    from models.siamese import build_siamese

    from .train import UnitBatches, stored_model_matches, work_dir

    wd = work_dir(preset.name)
    wd.mkdir(parents=True, exist_ok=True)
    path, meta_path = wd / f"{label}.keras", wd / f"{label}.json"
    meta = json.loads(json.dumps({"label": label, "seed": seed, "epochs": preset.siamese_epochs,
                                  "pairs": preset.siamese_train_pairs, "n_train": int(len(depth_train)),
                                  **settings}, default=str))
    if stored_model_matches(path, meta_path, meta):
        log(f"[{label}] trained verifier found, reusing {path.name}")
        return keras.saving.load_model(str(path), compile=False)
    import datetime as _dt
    import time

    from prnet_synth.atomic import provenance

    started = time.time()
    prov = provenance(preset.name, seed, str(settings.get("data", "n/a")))   # code version at the start
    size = depth_train.shape[1]
    keras.utils.set_random_seed(seed)            # the initial weights follow the seed
    model = build_siamese(size, preset.siamese_filters, preset.siamese_fc)
    pairs = train_pairs(ident_train, preset.siamese_train_pairs, seed)
    # pairs index the (uint8, possibly memory-mapped) depth maps; batches are converted on the fly
    data = UnitBatches([depth_train, depth_train], pairs[:, 2].astype(np.float32), 32, seed, index=pairs[:, :2])
    vd = None
    if val is not None:
        vx, vp = val
        vd = UnitBatches([vx, vx], vp["same"].to_numpy(np.float32), 128, seed,
                         index=vp[["a", "b"]].to_numpy(), shuffle=False)
    fit_resumable(model, data, None, epochs=preset.siamese_epochs, batch_size=None,
                  backup_dir=wd / "backup" / label, label=label, validation_data=vd, seed=seed, log=log)
    atomic_save_keras_model(model, path)
    prov.update(pairs_seen=int(preset.siamese_epochs) * int(len(pairs)),
                seconds_this_run=round(time.time() - started, 1),   # a resumed run counts only its own part
                finished_utc=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    atomic_write_json(meta_path, {**meta, "provenance": prov})
    return model


def similarities(model, depth_u8: np.ndarray, pairs: pd.DataFrame, batch_size: int = 128) -> np.ndarray:
    """Similarity of each pair; faces are converted to [-1, 1] one batch at a time."""
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    out = [np.asarray(model([_unit(depth_u8[a[i:i + batch_size]]), _unit(depth_u8[b[i:i + batch_size]])],
                            training=False)).ravel()
           for i in range(0, len(a), batch_size)]
    return np.concatenate(out) if out else np.zeros(0)


def accuracy(sim: np.ndarray, same: np.ndarray, threshold: float = 0.5) -> float:
    if len(sim) == 0:
        return float("nan")
    return float(np.mean((np.asarray(sim) > threshold) == (np.asarray(same) == 1)))


def table2(pairs: pd.DataFrame, sim_original: np.ndarray, sim_generated: np.ndarray) -> pd.DataFrame:
    """Table 2 layout: angle_subset, sequences, original, generated, n_pairs."""
    rows = []
    cell_angle = pairs["cell"].str.split("/").str[0]
    cell_seq = pairs["cell"].str.split("/").str[1]
    for a_name, a_set in ANGLE_ROWS:
        for s_name, s_set in SEQ_COLS:
            sel = (cell_angle.isin(a_set) & cell_seq.isin(s_set)).to_numpy()
            same = pairs["same"].to_numpy()[sel]
            rows.append({"angle_subset": a_name, "sequences": s_name,
                         "original": accuracy(sim_original[sel], same),
                         "generated": accuracy(sim_generated[sel], same), "n_pairs": int(sel.sum())})
    return pd.DataFrame(rows)
