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
    # synthetic without the paper's degradation recipe: a plain stand-in, never the paper's data
    assert {r["comparability"] for r in rows} == {cwp.STAND_IN}
    assert all(r["diff"] == pytest.approx(0.01) for r in means)
    assert summ["kendall_tau_mean_order"] == pytest.approx(1.0)
    # DDRNet-dn "weights missing": NaN ours, left out of tau
    ours.loc[ours["enhancer"] == "DDRNet-dn", "mean"] = float("nan")
    ours["status"] = ["weights missing" if e == "DDRNet-dn" else "ok" for e in ours["enhancer"]]
    rows, summ = cwp.compare_table4(ours, paper)
    dd = [r for r in rows if r["key"] == "DDRNet-dn" and r["column"] == "mean"][0]
    assert math.isnan(dd["ours"]) and dd["status"] == "weights missing"
    assert summ["tau_labels"] == 15


def test_table4_comparability_follows_the_data_label():
    from experiments.schlett.steps import DATA_TABLE4

    paper = cwp.read_paper_table("schlett_table4_synthetic_rmse.csv")
    ours = paper.copy()
    # our synthetic benchmark (the label step 04 writes): calibrated stand-in, not "same data"
    ours["data"] = DATA_TABLE4
    rows, _ = cwp.compare_table4(ours, paper)
    assert len(rows) == 64 and {r["comparability"] for r in rows} == {cwp.CALIBRATED_STAND_IN}
    assert {r["data"] for r in rows} == {DATA_TABLE4}
    # the paper's own recipe on its own faces would be the same data
    ours["data"] = "synthetic (PRNet renders of MegaFace images, paper-default degradation)"
    rows, _ = cwp.compare_table4(ours, paper)
    assert {r["comparability"] for r in rows} == {cwp.SAME_DATA}
    # no data column: nothing claimed
    rows, _ = cwp.compare_table4(paper.copy(), paper)
    assert {r["comparability"] for r in rows} == {cwp.DATA_UNKNOWN}


def test_table5_comparability_per_camera():
    paper = cwp.read_paper_table("schlett_table5_real_roughness_holes.csv")
    ours = pd.DataFrame([{"enhancer": "None", "camera": "kinect", "data": "synthetic (Kinect-like)",
                          "roughness_mean": 1.0, "roughness_std": 0.1, "holes_mean": 2.0, "holes_std": 0.5}])
    rows, _ = cwp.compare_table5(ours, paper)
    assert len(rows) == 4 and {r["comparability"] for r in rows} == {cwp.STAND_IN}
    r = [r for r in rows if r["column"] == "roughness_mean"][0]
    assert r["paper"] == 1.35 and r["diff"] == pytest.approx(1.0 - 1.35)
    ours["data"] = "KinectFaceDB"
    rows, _ = cwp.compare_table5(ours, paper)
    assert {r["comparability"] for r in rows} == {cwp.SAME_DATA}
    # one table, both cameras: KinectFaceDB given, D435 our own recordings (the paper's are in-house)
    both = pd.concat([ours, ours.assign(camera="d435", data="RealSense D435")], ignore_index=True)
    rows, _ = cwp.compare_table5(both, paper)
    comp = {r["key"]: r["comparability"] for r in rows}
    assert comp == {"None@kinect": cwp.SAME_DATA, "None@d435": cwp.OTHER_REAL_DATA}


def test_comparability_of_the_labels_our_runs_write():
    from experiments.cgan.data import SYNTHETIC_DATA_LABEL
    from experiments.chiu.pipeline import DATA_LABEL as CHIU_LABEL
    from experiments.schlett import evalsets

    c = cwp.comparability
    for t in ("schlett_table6", "schlett_table7", "schlett_table5@kinect"):
        assert c(t, evalsets.DATA_KINECT) == cwp.SAME_DATA
        assert c(t, evalsets.DATA_SYNTH_KINECT) == cwp.STAND_IN
        # the real data set named by a declared stand-in is still a stand-in
        assert c(t, "synthetic stand-in for KinectFaceDB") == cwp.STAND_IN
    assert c("schlett_table5@d435", evalsets.DATA_D435) == cwp.OTHER_REAL_DATA
    assert c("schlett_table5@d435", evalsets.DATA_SYNTH_D435) == cwp.STAND_IN
    # the calibration (paper-default degradation) counts only where the paper's data is synthetic
    assert c("schlett_table6", "synthetic (generator, paper-default degradation)") == cwp.STAND_IN
    assert c("schlett_table4", evalsets.DATA_KINECT) == cwp.OTHER_REAL_DATA
    assert c("pini_table1_pixel_metrics", SYNTHETIC_DATA_LABEL) == cwp.STAND_IN
    assert c("pini_table1_pixel_metrics", "pandora") == cwp.SAME_DATA
    assert c("pini_table1_pixel_metrics", "biwi") == cwp.SAME_DATA
    assert c("pini_table2_face_verification", "biwi") == cwp.OTHER_REAL_DATA
    assert c("pini_table2_face_verification", "stand-in (mymodule.generate)") == cwp.STAND_IN
    assert c("fabbri_table1_reconstruction", "Pandora (train) -> MotorMark (test)") == cwp.SAME_DATA
    assert c("fabbri_table1_reconstruction", "Pandora") == cwp.OTHER_REAL_DATA
    assert c("chiu_table6_modalities_lock3dface", CHIU_LABEL) == cwp.STAND_IN
    assert c("chiu_table1_depth_mse", "BU-3DFE (BU3DFE)") == cwp.SAME_DATA
    for missing in (None, float("nan"), "", "unknown"):
        assert c("schlett_table7", missing) == cwp.DATA_UNKNOWN
    assert set(cwp.COMPARABILITY) == {cwp.SAME_DATA, cwp.OTHER_REAL_DATA, cwp.CALIBRATED_STAND_IN,
                                      cwp.STAND_IN, cwp.DATA_UNKNOWN}


def test_table6_and_7_keys():
    p6 = cwp.read_paper_table("schlett_table6_falsification_rmse_percent.csv")
    o6 = pd.DataFrame([{"enhancer": "DL-Beta", "variant": "OcclusionPaper", "mean": 2.0, "std": 1.0, "data": "x"}])
    rows, _ = cwp.compare_table6(o6, p6)
    assert [(r["column"], r["paper"]) for r in rows] == [("mean", 2.48), ("std", 1.11)]
    assert {r["comparability"] for r in rows} == {cwp.OTHER_REAL_DATA}
    o6["data"] = "KinectFaceDB"
    assert {r["comparability"] for r in cwp.compare_table6(o6, p6)[0]} == {cwp.SAME_DATA}
    p7 = cwp.read_paper_table("schlett_table7_landmarks_pad.csv")
    o7 = pd.DataFrame([{"test": "dlib_geometric_pad_error", "enhancer": "None", "mean": 0.5, "std": 0.1,
                        "min": 0.0, "max": 1.0, "data": "x"}])
    rows, _ = cwp.compare_table7(o7, p7)
    assert {r["column"]: r["paper"] for r in rows} == {"mean": 0.404, "std": 0.441, "min": 0.015, "max": 1.0}
    o7["data"] = "synthetic stand-in (generator faces, Kinect-like degradation)"
    assert {r["comparability"] for r in cwp.compare_table7(o7, p7)[0]} == {cwp.STAND_IN}


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
    assert set(gen["comparability"]) == {cwp.DATA_UNKNOWN}     # no data column: nothing claimed
    summ = res["summary"].set_index("table")
    assert "layout differs" in summ.at["chiu_table1_depth_mse", "note"]
    assert summ.at["pini_table2_face_verification", "comparability"] == cwp.DATA_UNKNOWN
    assert summ.at["chiu_table1_depth_mse", "comparability"] == "nothing compared"
    assert "like_for_like" not in long.columns and "like_for_like" not in res["summary"].columns
    assert (results_tmp / "schlett" / "compare_with_paper.md").is_file()
    assert "schlett/table4_synthetic_rmse.csv" in res["missing"]


def test_run_labels_each_schlett_table(results_tmp):
    from experiments.schlett import evalsets
    from experiments.schlett.steps import DATA_TABLE4

    s = results_tmp / "schlett"
    s.mkdir()
    t4 = cwp.read_paper_table("schlett_table4_synthetic_rmse.csv").assign(data=DATA_TABLE4, status="ok")
    t4.to_csv(s / "table4_synthetic_rmse.csv", index=False)
    base = {"enhancer": "None", "roughness_mean": 1.0, "roughness_std": 0.1, "holes_mean": 2.0, "holes_std": 0.5}
    pd.DataFrame([{**base, "camera": "kinect", "data": evalsets.DATA_KINECT},
                  {**base, "camera": "d435", "data": evalsets.DATA_SYNTH_D435}]).to_csv(s / "table5_roughness_holes.csv", index=False)
    pd.DataFrame([{"test": "dlib_landmark_holes", "enhancer": "DL-Beta", "mean": 0.0, "std": 0.0, "min": 0.0,
                   "max": 0.0, "data": evalsets.DATA_SYNTH_KINECT}]).to_csv(s / "table7_landmarks_pad.csv", index=False)
    res = cwp.run(results_tmp)
    summ = res["summary"].set_index("table")
    assert summ.at["schlett_table4", "comparability"] == cwp.CALIBRATED_STAND_IN
    assert summ.at["schlett_table5", "comparability"] == f"{cwp.SAME_DATA}; {cwp.STAND_IN}"
    assert summ.at["schlett_table7", "comparability"] == cwp.STAND_IN
    written = cwp.read_csv(s / "compare_with_paper.csv")
    assert set(written["comparability"]) == {cwp.SAME_DATA, cwp.CALIBRATED_STAND_IN, cwp.STAND_IN}
    assert set(written.loc[written["table"] == "schlett_table4", "comparability"]) == {cwp.CALIBRATED_STAND_IN}
    md = (s / "compare_with_paper.md").read_text()
    assert f"comparability: {cwp.CALIBRATED_STAND_IN}" in md and "like_for_like" not in md
