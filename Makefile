# Two commands: `make reproduce` (main job, quick preset, embedded default data) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reproduce test venv bench clean-venv

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The first `make reproduce` in a checkout recomputes the whole chain (--force: the committed results/
# are regenerated, the quick U-Nets retrained); a rerun after a kill resumes where it stopped, and a
# rerun after success only re-checks. FORCE=1 recomputes everything again.
REPRO_MARK := work_data/.reproduce_started

reproduce: $(STAMP)
	@mkdir -p work_data
	@if [ -n "$(FORCE)" ] || [ ! -f $(REPRO_MARK) ]; then touch $(REPRO_MARK); \
	  echo "make reproduce: full run (--force)"; \
	  TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m experiments.reproduce --preset quick --force; \
	else echo "make reproduce: resuming (FORCE=1 recomputes everything)"; \
	  TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m experiments.reproduce --preset quick; fi

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m pytest -q tests

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(PY) -m benchmarks.run_all

clean-venv:
	rm -rf $(VENV)
