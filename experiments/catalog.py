"""Every experiment of the four papers, stated once: paper -> table/figure -> command -> outputs -> notebook.

One command-line convention runs any of them: ``python -m experiments <paper> <name> [options]``
(``python -m experiments`` lists them; ``python -m experiments <paper>`` lists one paper's). The
modules named here (the numbered Schlett steps, ``experiments.pini_01_tables``, the benchmarks, ...)
are what the command runs, with the same options; running a module directly stays possible and is the
same thing. The README's experiment table is rendered from this catalogue (``docs/build.py``), so the
two cannot drift apart.

Standard library only: ``docs/build.py`` imports it without the project's environment.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Experiment", "CATALOG", "PAPERS", "find", "markdown_table", "listing"]

PAPERS = ("schlett", "pini", "fabbri", "chiu", "all")
_PAPER_TITLE = {"schlett": "Schlett", "pini": "Pini", "fabbri": "Fabbri", "chiu": "Chiu", "all": "all four"}


@dataclass(frozen=True)
class Experiment:
    paper: str                     # one of PAPERS ("all": spans the four papers)
    name: str                      # the step's name on the command line, unique within its paper
    what: str                      # the paper's table / figure / section it produces
    module: str                    # the module ``python -m`` runs (its options are the step's options)
    outputs: str                   # what it writes, under results/ unless said (markdown)
    notebook: str = "-"            # the notebook in notebooks/ that reads the outputs
    args: tuple[str, ...] = ()     # options the README shows (e.g. the shipped preset), placeholders in capitals
    note: str = ""                 # after the command in the README (alternatives)
    make_target: str = ""          # a make target that runs it (shown instead of the command)

    @property
    def command(self) -> str:
        """The one-convention command: ``python -m experiments <paper> <name> [args]``."""
        return " ".join(("python -m experiments", self.paper, self.name, *self.args))

    @property
    def direct(self) -> str:
        """The same thing run as its module: ``python -m <module> [args]``."""
        return " ".join(("python -m", self.module, *self.args))


CATALOG: tuple[Experiment, ...] = (
    Experiment("schlett", "megaface-filter", "Table I, MegaFace filter (needs MegaFace MF2 and PRNet)",
               "prnet_synth.megaface", "`OUT/table1.csv`, `OUT/manifest.csv` (outside `results/`)",
               args=("run", "--root", "MF2", "--out", "OUT", "--good", "good.txt", "--prnet-dir", "PRNet")),
    Experiment("schlett", "calibrate", "III-B degradation calibration to Table IV (not in the chain; 15 min)",
               "experiments.00_calibrate_degradation",
               "`schlett/degradation_calibration.csv`, `degradation_calibration_best.json`, "
               "`figures/degradation_calibration.png`"),
    Experiment("schlett", "ground-truth", "IV-D ground truth (step 01)", "experiments.01_synthesize_ground_truth",
               "`schlett/01_ground_truth.csv`"),
    Experiment("schlett", "test-pairs", "IV-D test pairs (step 02)", "experiments.02_make_test_pairs",
               "`schlett/02_test_pairs.csv`"),
    Experiment("schlett", "weights", "IV-C U-Net weights (step 03)", "experiments.03_train_enhancers",
               "`schlett/03_training_status.csv`, `weights/<preset>/`, `training/<preset>/`", args=("--train", "quick")),
    Experiment("schlett", "table4", "Table IV, Fig. 8", "experiments.04_table4_synthetic_rmse",
               "`schlett/table4_synthetic_rmse.csv`, `table4_per_image.csv`, `enhancer_seconds_test_pairs.csv`, "
               "`figures/fig08_rmse.png`", "`schlett_table4_fig8`"),
    Experiment("schlett", "table5", "Table V, Fig. 9", "experiments.05_table5_roughness_holes",
               "`schlett/table5_roughness_holes.csv`, `table5_per_image.csv`, `eval_images.csv`, "
               "`figures/fig09_roughness_holes.png`", "`schlett_table5_fig9`"),
    Experiment("schlett", "table6", "Table VI, Fig. 10", "experiments.06_table6_falsification",
               "`schlett/table6_falsification.csv`, `table6_per_image.csv`, `figures/fig10_falsification.png`",
               "`schlett_table6_fig10`"),
    Experiment("schlett", "table7", "Table VII, Figs. 11-12", "experiments.07_table7_landmarks_pad",
               "`schlett/table7_landmarks_pad.csv`, `table7_per_image.csv`, `figures/fig11_landmark_depth_error.png`, "
               "`fig12_landmarks68.png`", "`schlett_table7`"),
    Experiment("schlett", "figures", "Figs. 13-18", "experiments.08_figures_qualitative",
               "`schlett/figures/fig13_*.png` ... `fig18_*.png`", "`schlett_figures_13_18`"),
    Experiment("all", "compare", "our numbers beside the papers'", "experiments.09_compare_with_paper",
               "`schlett/compare_with_paper.csv`, `compare_summary.csv`, `compare_with_paper.md`",
               "`schlett_compare_attacks`"),
    Experiment("schlett", "attacks", "attack suite (beyond the paper)", "experiments.10_attack_suite",
               "`schlett/attack_suite.csv`, `attack_suite_summary.csv`, `figures/attack_suite.png`",
               "`schlett_compare_attacks`"),
    Experiment("schlett", "reproduce", "the whole chain, steps 01-10", "experiments.reproduce",
               "`schlett/reproduce_log.csv`, `schlett/steps/` (resume stamps)", "`schlett_compare_attacks`",
               make_target="make reproduce"),
    Experiment("schlett", "pad-realtime", "IV-G real-time PAD with a D435", "experiments.pad.realtime",
               "`pad/<source name>/frames.jsonl`, `summary.json`, `last_overlay.png`", args=("--source", "live"),
               note="(or `rec.bag`, `rec.db3`, a folder of PNG pairs)"),
    Experiment("schlett", "pad-calibrate", "real-time PAD thresholds", "experiments.pad.calibrate",
               "`pad/calibration_None.csv`"),
    Experiment("schlett", "pad-speed", "real-time PAD speed", "benchmarks.bench_pad", "`pad/bench_pad.json`"),
    Experiment("schlett", "pipeline-speed", "input pipeline against GPU training (issue #23; GPU numbers extrapolated)",
               "benchmarks.bench_pipeline", "`unets/bench_pipeline.json`"),
    Experiment("schlett", "gpu-run", "DL-Delta-1 at the paper preset on one GPU in 9 minutes", "benchmarks.gpu_paper_run",
               "`OUT/gpu_paper_run.json`, `OUT/weights/` (outside `results/`)", args=("--out", "OUT"),
               note="(or `OUT=DIR bash benchmarks/gpu_paper_run.sh`)"),
    Experiment("schlett", "learning-study", "U-Net learning study (the cpu preset's recipe)", "benchmarks.learning_study",
               "`unets/learning_study.csv`, `learning_study.png`"),
    Experiment("pini", "tables", "Tables 1-2, sample figure", "experiments.pini_01_tables",
               "`pini/table1_pixel_metrics.csv`, `table2_face_verification.csv`, `pairs_val.csv`, `pairs_test.csv`, "
               "`figures/samples.png`, `run.json`", "`pini`", args=("--preset", "cpu")),
    Experiment("pini", "learning-study", "learning study (lambda, verifier widths)", "benchmarks.pini_learning_study",
               "`pini/learning_study.csv`, `learning_study.png`", "`pini`"),
    Experiment("pini", "identity-baseline", "PCA + LDA identity baseline on the stand-in's depth",
               "benchmarks.pini_identity_baseline", "printed AUCs"),
    Experiment("fabbri", "tables", "Tables I-IV, sample figure", "experiments.fabbri_01_tables",
               "`fabbri/table1_reconstruction.csv`, `table2_attributes.csv`, `table3_4_probes.csv`, "
               "`figures/samples.png`, `run.json`", "`fabbri`", args=("--preset", "cpu")),
    Experiment("fabbri", "learning-study", "learning study", "benchmarks.fabbri_learning_study",
               "`fabbri/learning_study.csv`, `learning_study.png`", "`fabbri`"),
    Experiment("chiu", "depthnet", "Tables I and V, Figs. 4-5", "experiments.chiu_01_depthnet_tables",
               "`chiu/table1_depth_mse.csv`, `table5_mask_ablation.csv`, `figures/fig4_5_depth_estimates.png`, `logs/`",
               "`chiu`", args=("--preset", "cpu")),
    Experiment("chiu", "recognition", "Tables II, III, IV, VI, Fig. 7 (attention maps)",
               "experiments.chiu_02_recognition_tables",
               "`chiu/table2_identification.csv`, `table3_modalities.csv`, `table4_lock3dface.csv`, "
               "`table6_modalities.csv`, `protocol_counts.json`, `figures/fig7_attention.png`", "`chiu`",
               args=("--preset", "cpu")),
    Experiment("chiu", "learning-study", "recognizer learning study", "benchmarks.chiu_learning_study",
               "`chiu/learning_study.csv`"),
    Experiment("chiu", "depthnet-study", "DepthNet learning study (the relief of D*)", "benchmarks.chiu_depthnet_study",
               "`chiu/depthnet_study.csv`, `depthnet_study.png`"),
)


def _check() -> None:
    seen = set()
    for e in CATALOG:
        if e.paper not in PAPERS:
            raise ValueError(f"catalogue entry {e.name!r}: unknown paper {e.paper!r}")
        if (e.paper, e.name) in seen:
            raise ValueError(f"catalogue entry {e.paper} {e.name} is listed twice")
        seen.add((e.paper, e.name))


_check()


def _names(paper: str) -> list[str]:
    return [e.name for e in CATALOG if e.paper == paper]


def find(paper: str, name: str) -> Experiment:
    """The entry ``paper`` / ``name``; ValueError naming the valid choices for an unknown one."""
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}; choose one of: {', '.join(PAPERS)}")
    for e in CATALOG:
        if e.paper == paper and e.name == name:
            return e
    raise ValueError(f"unknown {paper} experiment {name!r}; choose one of: {', '.join(_names(paper))}")


def markdown_table() -> str:
    """The README's experiment table (paper -> table/figure -> command -> output -> notebook)."""
    rows = ["| paper | table / figure | command | output (under `results/`) | notebook |",
            "| --- | --- | --- | --- | --- |"]
    for e in CATALOG:
        cmd = f"`{e.make_target}` or `{e.command}`" if e.make_target else f"`{e.command}`"
        if e.note:
            cmd += " " + e.note
        rows.append(f"| {_PAPER_TITLE[e.paper]} | {e.what} | {cmd} | {e.outputs} | {e.notebook} |")
    return "\n".join(rows)


def listing(paper: str | None = None) -> str:
    """Plain-text list for the terminal: the command, what it makes, the module it runs."""
    lines = []
    for e in CATALOG:
        if paper is not None and e.paper != paper:
            continue
        lines.append(f"{e.paper:8s} {e.name:18s} {e.what}\n{'':27s}runs {e.module}")
    return "\n".join(lines)
