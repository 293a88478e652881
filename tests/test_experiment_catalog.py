"""The experiment catalogue and ``python -m experiments <paper> <name>``: one command convention."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import catalog
from experiments import __main__ as cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_runs_an_existing_module():
    for e in catalog.CATALOG:
        assert importlib.util.find_spec(e.module) is not None, f"{e.paper} {e.name}: no module {e.module}"


def test_every_schlett_step_of_the_chain_is_in_the_catalogue():
    from experiments.reproduce import STEPS

    modules = {e.module for e in catalog.CATALOG}
    for _, script in STEPS:
        assert "experiments." + script[:-3] in modules, script


def test_find_and_unknown_names():
    assert catalog.find("pini", "tables").module == "experiments.pini_01_tables"
    with pytest.raises(ValueError, match="choose one of: schlett, pini"):
        catalog.find("nobody", "tables")
    with pytest.raises(ValueError, match="depthnet, recognition"):
        catalog.find("chiu", "tables")


def test_cli_lists_and_refuses(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert all(e.name in out and e.module in out for e in catalog.CATALOG)
    assert cli.main(["fabbri"]) == 0
    out = capsys.readouterr().out
    assert "fabbri_01_tables" in out and "pini_01_tables" not in out
    assert cli.main(["nobody"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert cli.main(["pini", "nope"]) == 2
    assert "tables" in capsys.readouterr().err


def test_cli_runs_the_module_with_the_options_and_its_exit_status(tmp_path, monkeypatch, capsys):
    (tmp_path / "fake_step_mod.py").write_text(
        "import sys\n"
        "print('ARGV', sys.argv[1:], __name__)\n"
        "if '--fail' in sys.argv: sys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fake = catalog.Experiment("pini", "fake", "x", "fake_step_mod", "-")
    monkeypatch.setattr(cli, "find", lambda paper, name: fake)
    monkeypatch.setattr(sys, "argv", ["keep"])
    assert cli.main(["pini", "fake", "--preset", "cpu", "--seed", "3"]) == 0
    assert "ARGV ['--preset', 'cpu', '--seed', '3'] __main__" in capsys.readouterr().out
    assert cli.main(["pini", "fake", "--fail"]) == 3


def test_readme_table_is_the_catalogue():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert catalog.markdown_table() in readme
    for e in catalog.CATALOG:
        assert f"`{e.command}`" in readme


def test_command_line_reaches_the_real_module():
    r = subprocess.run([sys.executable, "-m", "experiments", "pini", "tables", "--help"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "--preset" in r.stdout and "pandora" in r.stdout
