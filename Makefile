# snnx developer entry points. `make demo` runs the main job on the bundled example model,
# `make test` runs lint, the type check and the whole test suite. Both create the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check --quiet
EXAMPLE := src/snnx/examples/braille.nir
# Recipes run in bash with pipefail, so a command piped through QUIET still fails the target.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
# A local package mirror, where there is one, makes pip warn about every package it skips.
QUIET := 2>&1 | { grep -v -e "WARNING: Location 'file:///opt/pypi" -e "^Requirement already satisfied" || true; }

.PHONY: venv demo test unit lint typecheck format clean crosscheck

venv: $(VENV)/.installed

# Every release pinned by constraints.txt (what CI tested). torch 2.13.0 (a CPU wheel on this
# machine) goes in first, so nothing later pulls a CUDA build.
$(VENV)/.installed: pyproject.toml constraints.txt
	@echo "setting up $(VENV): the releases of constraints.txt (about 1.5 minutes; 1.7 GB)"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade -c constraints.txt pip $(QUIET)
	@$(PIP) install -c constraints.txt torch==2.13.0 $(QUIET)
	@$(PIP) install -c constraints.txt -e '.[dev]' $(QUIET)
	@touch $@

# The main job: the bundled Braille network (trained in snnTorch) read, written back losslessly,
# compiled for Loihi 2 and verified against the reference simulator on random spike trains. Each
# step prints its command; the last line says whether the verification passed.
demo: venv
	@echo "== 1/4 the bundled Braille network (NIR paper; trained in snnTorch)"
	$(BIN)/snnx inspect $(EXAMPLE)
	@echo "== 2/4 read and written back: every dataset of the file must come back identical"
	$(BIN)/python scripts/roundtrip.py $(EXAMPLE)
	@echo "== 3/4 compiled for Intel Loihi 2 (a lava-dl netx file) as snnTorch's NIR importer runs it"
	@echo "   (--profile snntorch-nir: reset to zero at once; Loihi's CUBA neurons cannot subtract, so"
	@echo "   the file's implied subtractive reset, which --profile snntorch keeps, is set aside with a warning)"
	$(BIN)/snnx compile $(EXAMPLE) --target loihi --profile snntorch-nir -o build/demo-loihi
	@echo "== 4/4 verified: Loihi's integer numerics against the reference simulator (same semantics), 64 random inputs"
	$(BIN)/snnx verify $(EXAMPLE) --target loihi --profile snntorch-nir --random 64 --steps 256 --rate 0.2 --no-notes --min-agreement 0.95

lint: venv
	$(BIN)/ruff check src tests scripts benchmarks examples docs/*.py
	$(BIN)/ruff format --check src tests scripts benchmarks examples docs/*.py

# mypy over src/ ([tool.mypy] in pyproject.toml): every function in snnx annotated.
typecheck: venv
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix src tests scripts examples docs/*.py
	$(BIN)/ruff format src tests scripts examples docs/*.py

unit: venv
	$(BIN)/pytest -q

# Cross-check tiers: each ci/tiers/<tier>/install.sh builds .venvs/<tier> (its own pins), and
# tests/crosscheck/<tier> runs there against the real peer (frameworks, Lava, XyloSim, jaxsnn).
TIERS := $(patsubst ci/tiers/%/install.sh,%,$(wildcard ci/tiers/*/install.sh))

.PRECIOUS: .venvs/%/.installed
.venvs/%/.installed: ci/tiers/%/install.sh ci/tiers/common.sh pyproject.toml
	bash ci/tiers/$*/install.sh .venvs/$*
	touch $@

crosscheck-%: .venvs/%/.installed
	SNNX_TIER=$* .venvs/$*/bin/python -m pytest -q -p no:cacheprovider tests/crosscheck/$*

crosscheck: $(addprefix crosscheck-,$(TIERS))

test: lint typecheck unit crosscheck

clean:
	rm -rf $(VENV) .venvs .pytest_cache .ruff_cache .mypy_cache .hypothesis site

# The documentation site (mkdocs.yml), built strictly into site/ in the docs tier's environment.
.PHONY: docs
docs: .venvs/docs/.installed
	NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true .venvs/docs/bin/mkdocs build --strict

# Simulator benchmark (benchmarks/README.md): in .venvs/peers (snnx beside snnTorch, Norse, Spyx;
# ci/tiers/peers/install.sh) when it exists, else in .venv, where the peers are reported missing.
# Pass options with BENCH_ARGS="--workloads 1 4 --repeats 7 --json bench.json".
BENCH_VENV := $(if $(wildcard .venvs/peers/bin/python),.venvs/peers,$(VENV))
.PHONY: bench
bench: $(if $(wildcard .venvs/peers/bin/python),,venv)
	$(BENCH_VENV)/bin/python benchmarks/bench_sim.py $(BENCH_ARGS)
