"""Issue #21, item 11: console scripts, declared and pinned dependencies, TensorFlow's environment set
in one place (no cuInit error line on CPU-only machines), and a degrade --help without TensorFlow."""
from __future__ import annotations

import ast
import configparser
import importlib.metadata as md
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("prnet_synth", "degrade", "models", "experiments", "benchmarks")
# import name -> distribution, where the installed metadata does not say (dlib-bin ships a bare module)
KNOWN_DISTRIBUTIONS = {"dlib": "dlib-bin"}


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    return cfg


def _lines(value: str) -> list[str]:
    return [ln.strip() for ln in value.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str, str]:
    """install_requires as {normalised name: specifier}."""
    out = {}
    for req in _lines(_setup_cfg()["options"]["install_requires"]):
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", req)
        out[_norm(m[1])] = m[2]
    return out


def _console_scripts() -> dict[str, str]:
    return dict(tuple(p.strip() for p in ln.split("=", 1))
                for ln in _lines(_setup_cfg()["options.entry_points"]["console_scripts"]))


# ----------------------------------------------------------------------------- console scripts
def test_console_scripts_name_the_main_command_lines():
    scripts = _console_scripts()
    targets = set(scripts.values())
    for main in ("experiments.reproduce:main", "degrade.__main__:main", "prnet_synth.synthesize:main",
                 "models.train_enhancers:main"):
        assert main in targets, f"no console script for {main}"
    for name, target in scripts.items():
        module, func = target.split(":")
        path = REPO / (module.replace(".", "/") + ".py")
        assert path.is_file(), f"{name}: {path} does not exist"
        mains = [n for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef) and n.name == func]
        assert mains, f"{name}: no top-level {func}() in {module}"
        args = mains[0].args
        # called without arguments by the console-script wrapper: every parameter has a default
        assert len(args.defaults) == len(args.args), f"{name}: {func}() needs arguments"


def test_installed_console_scripts_match_setup_cfg():
    # a stale *.egg-info in the checkout can shadow the installed metadata: look at every copy
    dists = list(md.distributions(name="face-depth-toolkit"))
    if not dists:
        pytest.skip("the project is not installed in this environment")
    listed = [{ep.name: ep.value for ep in d.entry_points if ep.group == "console_scripts"} for d in dists]
    listed = [x for x in listed if x]
    if not listed:
        pytest.skip("installed from a setup.cfg without console scripts: `make venv` reinstalls it")
    assert all(x == _console_scripts() for x in listed)
    bindir = Path(sys.executable).parent
    if (bindir / "face-depth-degrade").exists():
        out = subprocess.run([str(bindir / "face-depth-degrade"), "--help"], env=_clean_env(), capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0 and out.stdout.startswith("usage: face-depth-degrade ")


# ----------------------------------------------------------------------------- dependencies
def _third_party_imports() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for pkg in PACKAGES:
        for f in (REPO / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text())):
                if isinstance(node, ast.Import):
                    names = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module.split(".")[0]]
                else:
                    continue
                for n in names:
                    if n not in sys.stdlib_module_names and n not in PACKAGES:
                        found.setdefault(n, []).append(str(f.relative_to(REPO)))
    return found


def test_every_imported_distribution_is_declared():
    """Each third-party module the project imports belongs to a distribution in install_requires
    (Pillow, imported by prnet_synth.megaface, was missing)."""
    declared = set(_requirements())
    dists = md.packages_distributions()
    imports = _third_party_imports()
    assert "PIL" in imports                                   # the check covers the case that was missing
    missing = {}
    for module, files in imports.items():
        names = dists.get(module) or [KNOWN_DISTRIBUTIONS.get(module, module)]
        if not any(_norm(n) in declared for n in names):
            missing[module] = (names, sorted(set(files))[:3])
    assert not missing, f"imported but not in setup.cfg install_requires: {missing}"


def test_every_requirement_has_an_exact_pin_inside_its_range():
    packaging = pytest.importorskip("packaging.specifiers")
    pins = {}
    for ln in _lines((REPO / "constraints.txt").read_text()):
        name, _, version = ln.partition("==")
        assert version, f"constraints.txt: {ln!r} is not an exact pin"
        pins[_norm(name)] = version.strip()
    for name, spec in _requirements().items():
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert pins[name] in packaging.SpecifierSet(spec), f"{name}=={pins[name]} is outside setup.cfg's {spec}"
    for name in ("scipy", "numba", "tqdm", "pillow"):
        assert name in pins
    assert "llvmlite" in pins                                  # numba's compiler, pinned with it


# ----------------------------------------------------------------------------- TensorFlow environment
def test_configure_sets_a_level_only_where_none_is_set():
    from prnet_synth import tf_env

    env = {}
    assert tf_env.configure(env, driver=False) == "3" and env == {"TF_CPP_MIN_LOG_LEVEL": "3"}
    env = {}
    assert tf_env.configure(env, driver=True) == "2"
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    assert tf_env.configure(env, driver=False) == "0"         # the user's choice is kept


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(REPO)
    return env


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_sets_the_level_before_tensorflow(package):
    from prnet_synth import tf_env

    out = subprocess.run([sys.executable, "-c", f"import {package}, os, sys; "
                          "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], 'tensorflow' in sys.modules)"],
                         env=_clean_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    want = tf_env.DEFAULT_LEVEL_GPU if tf_env.nvidia_driver_present() else tf_env.DEFAULT_LEVEL_CPU
    assert out.stdout.split() == [want, "False"]


def test_no_cuinit_error_line_on_a_cpu_only_machine():
    from prnet_synth import tf_env

    if tf_env.nvidia_driver_present():
        pytest.skip("an NVIDIA driver is present: TensorFlow's error lines are kept")
    code = "import degrade, numpy as np; print(int(degrade.degrade_batch(np.full((1, 8, 8), 30000, np.uint16), 1).size))"
    out = subprocess.run([sys.executable, "-c", code], env=_clean_env(), cwd=REPO, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "64"
    assert "cuInit" not in out.stderr
    assert not [ln for ln in out.stderr.splitlines() if ln.startswith("E0000")]


# ----------------------------------------------------------------------------- degrade --help
@pytest.mark.parametrize("argv", [["--help"], ["figure", "--help"], ["eval-set", "--help"]])
def test_degrade_help_does_not_import_tensorflow(argv):
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "degrade", *argv], env=_clean_env(), cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("usage: ")
    imported = [ln.rsplit("|", 1)[-1].strip() for ln in out.stderr.splitlines() if ln.startswith("import time:")]
    assert "degrade.config" in imported                        # importtime lists what was imported
    assert not [m for m in imported if m.split(".")[0] in ("tensorflow", "keras")]


def test_degrade_api_still_loads_on_use():
    import degrade

    assert degrade.degrade_batch.__module__ == "degrade.render"
    assert degrade.write_eval_set.__module__ == "degrade.evalset"
    assert degrade.dataset.__name__ == "degrade.dataset"
    assert {"degrade_batch", "pairs_dataset", "read_eval_set"} <= set(dir(degrade))
    with pytest.raises(AttributeError):
        degrade.no_such_name
