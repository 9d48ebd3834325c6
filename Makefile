# Every target runs in one Python environment: the active virtual environment when there is one
# (VIRTUAL_ENV set), else the project's own .venv, created on first use (with uv where it is installed, else
# `python3 -m venv`). Nothing is ever installed into the system's Python, which Debian and Ubuntu refuse
# (PEP 668, "externally-managed-environment"). `make reports` installs what the package needs at run time;
# `make test` adds the test tools (the `dev` extra). VENV_ARGS=--system-site-packages lets a new .venv reuse
# packages the system's Python already has.
PYTHON3 ?= python3
VENV_ARGS ?=
UV := $(shell command -v uv 2>/dev/null)

ifdef VIRTUAL_ENV
ENV := $(VIRTUAL_ENV)
OWN_ENV :=
$(info using the active virtual environment $(ENV))
else
ENV := $(CURDIR)/.venv
OWN_ENV := yes
$(info using the project environment .venv (no virtual environment is active; `. .venv/bin/activate` to use it yourself))
endif

PY := $(ENV)/bin/python
ifneq ($(UV),)
NEW_ENV := $(UV) venv -q --seed --python $(PYTHON3) $(VENV_ARGS) $(ENV)
PIP_INSTALL := $(UV) pip install -q --python $(PY)
else
NEW_ENV := $(PYTHON3) -m venv $(VENV_ARGS) $(ENV)
PIP_INSTALL := $(PY) -m pip install -q
endif

# Recipes run as in an activated environment: `python`, `commonfactors` and `pytest` are the environment's.
export VIRTUAL_ENV := $(ENV)
export PATH := $(ENV)/bin:$(PATH)

.PHONY: install install-dev test test-all reports reproduce bench lint conformance

install: $(ENV)/.commonfactors-installed

install-dev: $(ENV)/.commonfactors-dev-installed

ifdef OWN_ENV
$(PY):
	@$(NEW_ENV) || { rm -rf $(ENV); echo "could not create .venv with $(PYTHON3): install uv, or Python's venv module (Debian/Ubuntu: apt-get install python3-venv)" >&2; exit 1; }
	@echo '*' > $(ENV)/.gitignore
else
$(PY):
	@echo "the active virtual environment $(ENV) has no bin/python: deactivate it, or create it anew" >&2; exit 1
endif

$(ENV)/.commonfactors-installed: pyproject.toml | $(PY)
	$(PIP_INSTALL) -e .
	@touch $@

$(ENV)/.commonfactors-dev-installed: pyproject.toml | $(PY)
	$(PIP_INSTALL) -e ".[dev]"
	@touch $@ $(ENV)/.commonfactors-installed

test: install-dev
	python -m pytest -q -m "not slow" tests --doctest-modules src/commonfactors

test-all: install-dev
	python -m pytest -q tests --doctest-modules src/commonfactors

reports: install
	python -m commonfactors.cli report-all --out reports

reproduce: install
	python -m commonfactors.cli reproduce --all

bench: install-dev
	python -m pytest -q -m slow
	python benchmarks/run.py

lint: install-dev
	python -m ruff check src tests benchmarks

conformance: install
	python ../shared/conformance/check.py ../shared/conformance --kinds effect_size,rma,metareg,bias,influence,multilevel --cli commonfactors
