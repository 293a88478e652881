"""Issue 22: no import runs upward from the data-set readers (experiments/datasets) into the cGAN
runners (experiments/cgan); the eq. 6 face crop they share lives in experiments.datasets.face_crop,
and experiments.cgan.crop / experiments.cgan.exclusion re-export it."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "experiments" / "datasets"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module ``source`` (the text of module ``module``) imports, anywhere (function bodies too),
    as absolute names; ``from pkg import name`` counts as importing ``pkg`` and ``pkg.name``."""
    out = set()
    package = module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out.add(name)
            out.update(f"{name}.{a.name}" for a in node.names)
    return out


def _is_cgan(name: str) -> bool:
    return name == "experiments.cgan" or name.startswith("experiments.cgan.")


@pytest.mark.parametrize("source", [
    "from experiments.cgan.crop import face_box",
    "import experiments.cgan.crop",
    "from experiments import cgan",
    "def f():\n    from ..cgan.exclusion import crop_quality\n",
    "from ..cgan import crop",
])
def test_the_checker_sees_every_form_of_import(source):
    assert any(_is_cgan(n) for n in imported_modules(source, "experiments.datasets.pandora"))


def test_the_checker_resolves_sibling_imports():
    names = imported_modules("from .face_crop import face_box\nfrom . import biwi\n", "experiments.datasets.pandora")
    assert "experiments.datasets.face_crop" in names and "experiments.datasets.biwi" in names
    assert not any(_is_cgan(n) for n in names)


def test_no_dataset_reader_imports_the_cgan_package():
    modules = sorted(DATASETS.glob("*.py"))
    assert {"biwi.py", "pandora.py", "motormark.py", "face_crop.py"} <= {p.name for p in modules}
    upward = {p.name: sorted(n for n in imported_modules(p.read_text(), f"experiments.datasets.{p.stem}") if _is_cgan(n))
              for p in modules}
    assert {k: v for k, v in upward.items() if v} == {}


def test_the_cgan_modules_re_export_the_one_crop():
    from experiments.cgan import crop, exclusion
    from experiments.datasets import face_crop

    for name in ("FACE_SIZE_MM", "FOCAL_PANDORA", "FOCAL_BIWI", "FOCAL_MOTORMARK", "DISTANCE_WINDOW",
                 "DEPTH_WINDOW_MM", "NEAR_OFFSET_MM", "Box", "head_distance", "face_box", "crop_resize",
                 "depth_mm_to_u8"):
        assert getattr(crop, name) is getattr(face_crop, name), name
        assert name in crop.__all__
    assert exclusion.crop_quality is face_crop.crop_quality and exclusion.OCCLUDER_MM is face_crop.OCCLUDER_MM
    assert (face_crop.FOCAL_PANDORA, face_crop.FOCAL_BIWI, face_crop.FACE_SIZE_MM, face_crop.OCCLUDER_MM) == \
        (365.0, 370.0, 320.0, 100.0)
    assert crop.project_depth_to_u8(np.array([[0, 65535]], np.uint16)).tolist() == [[255, 0]]


def test_exclusion_still_judges_the_moved_crop_statistics():
    """An occluder 150 mm in front of D is judged an occlusion through the re-exported names."""
    from experiments.cgan import crop, exclusion as ex

    z = np.full((10, 10), 1000.0)
    z[:2, :] = 850.0                                   # 20 % of the crop: a hand in front of the face
    q = ex.crop_quality(z, 1000.0, crop.Box(0.0, 0.0, 10.0, 10.0), (424, 512))
    assert q["near_fraction"] == pytest.approx(0.2)
    assert ex.exclusion_reason(q).startswith("occlusion")


def _unit(module: str) -> str:
    """experiments.<sub>.x -> experiments.<sub> for a subpackage; a top-level module stays itself."""
    return ".".join(module.split(".")[:2])


def _experiments_unit_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for p in sorted((REPO / "experiments").rglob("*.py")):
        rel = p.relative_to(REPO).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        if module == "experiments":
            continue
        src = _unit(module)
        for n in imported_modules(p.read_text(), module if rel.name != "__init__" else module + ".__init__"):
            if n.startswith("experiments."):
                dst = _unit(n)
                if (REPO / Path(*dst.split("."))).is_dir() or (REPO / (str(Path(*dst.split("."))) + ".py")).is_file():
                    if dst != src:
                        graph.setdefault(src, set()).add(dst)
    return graph


def _cycle(graph: dict[str, set[str]]):
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                c = visit(v)
                if c:
                    return c
        state[u] = 2
        stack.pop()
        return None

    for u in sorted(graph):
        if u not in state:
            c = visit(u)
            if c:
                return c
    return None


def test_the_cycle_finder_finds_a_planted_loop():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_loop_between_the_parts_of_experiments():
    """Issue 22: the attack suite (a Schlett experiment) and experiments.schlett imported each other;
    it lives in experiments.schlett now. No subpackage or top-level module of experiments imports,
    directly or through others, one that imports it back (function-level imports included)."""
    graph = _experiments_unit_graph()
    assert "experiments.schlett" in graph and "experiments.enhancers" in graph["experiments.schlett"]
    assert _cycle(graph) is None, f"import loop: {' -> '.join(_cycle(graph))}"


def _module_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (function-level imports included); an import of a
    name from a module counts as importing that module."""
    graph: dict[str, set[str]] = {}
    for p in sorted((REPO / package).rglob("*.py")):
        rel = p.relative_to(REPO).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for n in imported_modules(p.read_text(), module if rel.name != "__init__" else module + ".__init__"):
            parts = n.split(".")
            if parts[0] != package:
                continue
            for k in range(len(parts), 1, -1):          # the longest prefix that is a module file
                cand = REPO / Path(*parts[:k])
                if cand.with_suffix(".py").is_file() or (cand / "__init__.py").is_file():
                    if ".".join(parts[:k]) != module:
                        graph.setdefault(module, set()).add(".".join(parts[:k]))
                    break
    return graph


def test_no_import_loop_between_the_modules_of_models():
    """Issue 22: models.unet and models.enhancer_presets, and models.unet and models.inference,
    imported each other inside functions. The labels are in models.labels (imports nothing), the
    layout read-back and the dtype rebuilds in models.unet; models.inference builds on models.unet."""
    graph = _module_graph("models")
    assert "models.labels" in graph["models.unet"] and "models.unet" in graph["models.inference"]
    assert "models.labels" not in graph, "models.labels must import nothing of the project"
    assert _cycle(graph) is None, f"import loop: {' -> '.join(_cycle(graph))}"
    planted = {k: set(v) for k, v in graph.items()}
    planted.setdefault("models.labels", set()).add("models.unet")
    assert _cycle(planted) is not None


def test_the_labels_are_the_layouts_and_the_re_exports_are_the_same_objects():
    from models import enhancer_presets, inference, labels, unet

    assert tuple(unet.LAYOUTS) == labels.BASE_LABELS and unet.ENHANCER_LABELS is labels.ENHANCER_LABELS
    assert unet.base_label is labels.base_label and enhancer_presets.base_label is labels.base_label
    assert inference.layout_of is unet.layout_of and inference.to_float32_model is unet.to_float32_model
    assert labels.base_label("DL-Delta-3") == "DL-Delta"
    with pytest.raises(ValueError, match="DL-Delta-5"):
        labels.base_label("DL-Delta-5")
