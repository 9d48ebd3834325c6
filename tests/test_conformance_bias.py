"""Funnel asymmetry and selection models against metafor 3.8-1 on the same data
(tests/conformance/cases.json).

Every field of every section of the 7 bias cases is compared (regtest rma and lm, ranktest, trimfill L0,
fsn Rosenthal, PET, PEESE, selmodel stepfun at .025) at tests/tolerances.py's tolerances: 1e-5 relative,
1e-3 for the selection model. metafor's names map to the command line's (conformance README):
egger_rma -> egger, egger_lm -> egger_classical, trimfill -> trim_and_fill, fsn_rosenthal -> fail_safe_n,
selmodel_3psm -> selection_3psm.

The cases hold metafor run to convergence where its defaults stop short: trim and fill's filled data
refitted with threshold 1e-12 (``trimfill()`` refits at metafor's default 1e-5 whatever the model passed
in), and the selection model with ``reltol = 1e-14`` (when no study has a one-sided p <= .025 the MLE of
delta_2 is its bound 100, where metafor's default optimiser stops at 98.3, 99.4, 99.8);
tests/reference/conformance.R recomputes them.
"""

import warnings

import pytest

import commonfactors as cf
from commonfactors.io import read_raw
from conformance_cases import CASE_COUNTS, input_path, load_cases
from tolerances import ATOL_FLOOR, assert_agrees, rtol_for

CASES = load_cases("bias")
RENAME = {"egger_rma": "egger", "egger_lm": "egger_classical", "begg": "begg", "trimfill": "trim_and_fill",
          "fsn_rosenthal": "fail_safe_n", "pet": "pet", "peese": "peese", "selmodel_3psm": "selection_3psm"}

_CACHE = {}


def result(case):
    if case["id"] not in _CACHE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # boundary warnings are asserted in test_bias.py
            _CACHE[case["id"]] = cf.bias_tests(read_raw(input_path(case)), yi="yi", vi="vi").to_dict()
    return _CACHE[case["id"]]


PARAMS = []
for c in CASES:
    for section, fields in c["expected"].items():
        for name in fields:
            PARAMS.append(pytest.param(c, section, name, id=f"{c['id']}-{section}-{name}"))


def test_case_grid_cannot_shrink():
    assert len(CASES) == CASE_COUNTS["bias"]
    assert len(PARAMS) == sum(len(f) for c in CASES for f in c["expected"].values())


@pytest.mark.parametrize("case, section, name", PARAMS)
def test_bias_matches_metafor(case, section, name):
    ours = RENAME[section]
    got = result(case)[ours]
    expected = case["expected"][section][name]
    assert name in got, (ours, name)
    assert_agrees(got[name], expected, rtol=rtol_for("bias", ours), atol=ATOL_FLOOR, what=f"{ours}.{name}")

