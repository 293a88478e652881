"""compare_with_paper: layouts, differences and Kendall tau against hand-computed cases."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from experiments import compare_with_paper as cwp


def test_kendall_tau_hand_computed():
    a = pd.Series({"x": 1.0, "y": 2.0, "z": 3.0, "w": 4.0})
    assert cwp.kendall_tau(a, a)[0] == pytest.approx(1.0)
    assert cwp.kendall_tau(a, -a)[0] == pytest.approx(-1.0)
    # one discordant pair (z, w swapped) of 6: (5 - 1) / 6
    b = pd.Series({"x": 1.0, "y": 2.0, "z": 4.0, "w": 3.0})
    assert cwp.kendall_tau(a, b)[0] == pytest.approx(4 / 6)
    # labels missing on one side or NaN are left out
    c = pd.Series({"x": 1.0, "y": float("nan"), "q": 7.0})
    tau, n = cwp.kendall_tau(a, c)
    assert n == 1 and math.isnan(tau)


def test_table4_differences_and_order():
    paper = cwp.read_paper_table("schlett_table4_synthetic_rmse.csv")
    ours = paper.copy()
    ours["mean"] = ours["mean"] + 0.01
    ours["data"] = "synthetic"
    rows, summ = cwp.compare_table4(ours, paper)
    means = [r for r in rows if r["column"] == "mean"]
    assert len(means) == 16
    assert all(r["diff"] == pytest.approx(0.01) for r in means)
    assert summ["kendall_tau_mean_order"] == pytest.approx(1.0)
    # DDRNet-dn "weights missing": NaN ours, left out of tau
    ours.loc[ours["enhancer"] == "DDRNet-dn", "mean"] = float("nan")
    ours["status"] = ["weights missing" if e == "DDRNet-dn" else "ok" for e in ours["enhancer"]]
    rows, summ = cwp.compare_table4(ours, paper)
    dd = [r for r in rows if r["key"] == "DDRNet-dn" and r["column"] == "mean"][0]
    assert math.isnan(dd["ours"]) and dd["status"] == "weights missing"
    assert summ["tau_labels"] == 15


def test_table5_synthetic_is_not_like_for_like():
    paper = cwp.read_paper_table("schlett_table5_real_roughness_holes.csv")
    ours = pd.DataFrame([{"enhancer": "None", "camera": "kinect", "data": "synthetic (Kinect-like)",
                          "roughness_mean": 1.0, "roughness_std": 0.1, "holes_mean": 2.0, "holes_std": 0.5}])
    rows, _ = cwp.compare_table5(ours, paper)
    assert len(rows) == 4 and not any(r["like_for_like"] for r in rows)
    r = [r for r in rows if r["column"] == "roughness_mean"][0]
    assert r["paper"] == 1.35 and r["diff"] == pytest.approx(1.0 - 1.35)
    ours["data"] = "KinectFaceDB"
    rows, _ = cwp.compare_table5(ours, paper)
    assert all(r["like_for_like"] for r in rows)


def test_table6_and_7_keys():
    p6 = cwp.read_paper_table("schlett_table6_falsification_rmse_percent.csv")
    o6 = pd.DataFrame([{"enhancer": "DL-Beta", "variant": "OcclusionPaper", "mean": 2.0, "std": 1.0, "data": "x"}])
    rows, _ = cwp.compare_table6(o6, p6)
    assert [(r["column"], r["paper"]) for r in rows] == [("mean", 2.48), ("std", 1.11)]
    p7 = cwp.read_paper_table("schlett_table7_landmarks_pad.csv")
    o7 = pd.DataFrame([{"test": "dlib_geometric_pad_error", "enhancer": "None", "mean": 0.5, "std": 0.1,
                        "min": 0.0, "max": 1.0, "data": "x"}])
    rows, _ = cwp.compare_table7(o7, p7)
    assert {r["column"]: r["paper"] for r in rows} == {"mean": 0.404, "std": 0.441, "min": 0.015, "max": 1.0}


def test_generic_pini_layout_and_run(results_tmp):
    paper = cwp.read_paper_table("pini_table2_face_verification.csv")
    ours = paper.copy()
    ours["generated"] = ours["generated"] - 0.1
    (results_tmp / "pini").mkdir()
    ours.to_csv(results_tmp / "pini" / "table2_face_verification.csv", index=False)
    (results_tmp / "chiu").mkdir()
    pd.DataFrame({"foo": [1]}).to_csv(results_tmp / "chiu" / "table1_depth_mse.csv", index=False)
    res = cwp.run(results_tmp)
    long = res["long"]
    gen = long[(long["table"] == "pini_table2_face_verification") & (long["column"] == "generated")]
    assert len(gen) == 9 and gen["diff"].round(6).eq(-0.1).all()
    assert not gen["like_for_like"].any()          # no data column: not claimed as like for like
    summ = res["summary"].set_index("table")
    assert "layout differs" in summ.at["chiu_table1_depth_mse", "note"]
    assert (results_tmp / "schlett" / "compare_with_paper.md").is_file()
    assert "schlett/table4_synthetic_rmse.csv" in res["missing"]
