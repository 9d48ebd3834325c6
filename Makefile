PYTHON ?= python3

.PHONY: install test test-all reports bench lint conformance

install:
	$(PYTHON) -m pip install -q -e ".[dev]"

test:
	$(PYTHON) -m pytest -q -m "not slow"

test-all:
	$(PYTHON) -m pytest -q

reports: install
	$(PYTHON) -m commonfactors.cli report-all --out reports

bench:
	$(PYTHON) -m pytest -q -m slow
	$(PYTHON) benchmarks/run.py

lint:
	$(PYTHON) -m ruff check src tests benchmarks

conformance:
	$(PYTHON) ../shared/conformance/check.py ../shared/conformance --kinds effect_size,rma,metareg --cli commonfactors
