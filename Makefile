# dnalm: two commands do all the set-up.
#   make demo  -> .venv + pinned deps (+ bedtools where apt allows), then the whole demo DAG and results/report.html
#   make test  -> the same set-up (+ slurm-wlm, munge, chromium where apt allows), then the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2
# Snakemake's default job rate limit (100/1s) re-runs its job selector every second per finished
# job (each finish starts one more 1-s timer chain), stat-ing every ready job's inputs: 256 CPU-s
# of the demo's ~2,200 on 2 cores. A 10-s window keeps the limit far above what local runs need,
# cuts that to 79 CPU-s and costs up to 10 s at exit (bench/README.md "Snakemake's scheduler").
LOCAL_RATE := --max-jobs-per-timespan 100/10s
DEBIAN_CORE := bedtools tabix
DEBIAN_TEST := slurm-wlm munge chromium

.PHONY: setup demo test lint fmt bench plan clean apt-core apt-test

$(BIN)/.stamp: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip==24.3.1"
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	$(BIN)/python -m dnalm.attribution_motifs.warmup  # TF-MoDISco/TOMTOM numba kernels, once (~2 min)
	touch $@

setup: $(BIN)/.stamp apt-core

# Debian packages are best-effort: they need root and apt; tests that need them skip with a reason.
apt-core:
	@bash scripts/apt_install.sh $(DEBIAN_CORE)

apt-test:
	@bash scripts/apt_install.sh $(DEBIAN_CORE) $(DEBIAN_TEST)

demo: setup
	$(BIN)/snakemake --cores $(CORES) $(LOCAL_RATE) --configfile config/config.yaml
	$(BIN)/snakemake --cores $(CORES) --configfile config/config.yaml --report results/report.html
	@echo "report: results/report.html"

# --durations: the slowest tests close every run's log (where the suite's time goes).
test: $(BIN)/.stamp apt-test
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -ra --durations=25 tests

lint: $(BIN)/.stamp
	$(BIN)/ruff check workflow/scripts tests bench
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/config.yaml

fmt: $(BIN)/.stamp
	$(BIN)/ruff format workflow/scripts tests bench
	$(BIN)/snakefmt Snakefile workflow/rules

bench: $(BIN)/.stamp
	$(BIN)/python -m bench

# Jobs, CPU-hours, GPU-hours and disk per stage of a config, before any job runs.
CONFIG ?= config/config.yaml
plan: $(BIN)/.stamp
	$(BIN)/snakemake --cores 1 plan --configfile $(CONFIG) --replace-workflow-config

clean:
	rm -rf results resources logs benchmarks .snakemake
