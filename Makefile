PYTHON ?= python3

.PHONY: install test test-all reports reproduce bench lint conformance

install:
	$(PYTHON) -m pip install -q -e ".[dev]"

test:
	$(PYTHON) -m pytest -q -m "not slow" tests --doctest-modules src/commonfactors

test-all:
	$(PYTHON) -m pytest -q tests --doctest-modules src/commonfactors

reports: install
	$(PYTHON) -m commonfactors.cli report-all --out reports

reproduce: install
	commonfactors reproduce --all

bench:
	$(PYTHON) -m pytest -q -m slow
	$(PYTHON) benchmarks/run.py

lint:
	$(PYTHON) -m ruff check src tests benchmarks

conformance:
	$(PYTHON) ../shared/conformance/check.py ../shared/conformance --kinds effect_size,rma,metareg,bias,influence,multilevel --cli commonfactors
