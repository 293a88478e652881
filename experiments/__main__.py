"""``python -m experiments <paper> <name> [options]``: run any experiment of the four papers.

    python -m experiments                  # every experiment: paper, name, what it makes, its module
    python -m experiments pini             # one paper's
    python -m experiments schlett table4 --preset quick --force
    python -m experiments chiu depthnet --help

The options after the name go to the experiment's module unchanged (``--help`` shows them); the
catalogue is ``experiments.catalog``. Exit status 2 with the valid choices for an unknown paper or name.
"""
from __future__ import annotations

import runpy
import sys
from typing import Optional

from experiments.catalog import PAPERS, find, listing


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(__doc__.strip().splitlines()[0] + "\n\n" + listing())
        return 0
    paper = argv[0]
    if paper not in PAPERS:
        print(f"python -m experiments: unknown paper {paper!r}; choose one of: {', '.join(PAPERS)}", file=sys.stderr)
        return 2
    if len(argv) == 1 or argv[1] in ("-h", "--help"):
        print(listing(paper))
        return 0
    try:
        exp = find(paper, argv[1])
    except ValueError as exc:
        print(f"python -m experiments: {exc}", file=sys.stderr)
        return 2
    # run the module as ``python -m <module> <options>`` would, in this process
    sys.argv = [exp.module, *argv[2:]]
    try:
        runpy.run_module(exp.module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
