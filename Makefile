# Two commands: `make reproduce` (main job, quick preset, embedded default data) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reproduce test venv bench clean-venv docs

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# `make reproduce` evaluates the shipped trained weights (results/weights/<preset>/, best = paper > cpu >
# quick) and trains nothing; TRAIN=quick or TRAIN=cpu trains that preset first and evaluates it (its
# missing weights; on a full run, see below, it retrains them). GT_DIR=<folder of ground-truth PNGs> replaces the procedural generator in steps 01/03.
# The first `make reproduce` in a checkout recomputes the whole chain (--force); a rerun after a kill
# resumes where it stopped, and a rerun after success only re-checks. FORCE=1 recomputes everything.
REPRO_MARK := work_data/.reproduce_started
TRAIN ?= none
REPRO_ARGS = --preset quick --train $(TRAIN) $(if $(GT_DIR),--gt-dir $(GT_DIR),)

reproduce: $(STAMP)
	@mkdir -p work_data
	@if [ -n "$(FORCE)" ] || [ ! -f $(REPRO_MARK) ]; then touch $(REPRO_MARK); \
	  echo "make reproduce: full run (--force, TRAIN=$(TRAIN))"; \
	  $(PY) -m experiments.reproduce $(REPRO_ARGS) --force; \
	else echo "make reproduce: resuming (FORCE=1 recomputes everything)"; \
	  $(PY) -m experiments.reproduce $(REPRO_ARGS); fi

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q tests

# README.md and REPRODUCTION_NOTES.md are built from docs/readme/*.md and docs/notes/*.md
docs:
	python3 docs/build.py

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean-venv:
	rm -rf $(VENV)
