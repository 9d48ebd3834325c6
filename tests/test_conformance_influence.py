"""Leave-one-out influence diagnostics against metafor 3.8-1 on the same data (tests/conformance/cases.json).

Every field of the 7 influence cases (leave1out estimate and tau2, rstudent, cooks.distance, dffits, hat,
weight in percent), REML, 1e-5 relative (tests/tolerances.py).
"""

import pytest

import commonfactors as cf
from commonfactors.io import read_raw
from conformance_cases import CASE_COUNTS, input_path, load_cases
from tolerances import assert_agrees, atol_for, rtol_for

CASES = load_cases("influence")


def test_case_grid_cannot_shrink():
    assert len(CASES) == CASE_COUNTS["influence"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_influence_matches_metafor(case):
    got = cf.influence(read_raw(input_path(case)), yi="yi", vi="vi", **case["spec"]).to_dict()
    for name, expected in case["expected"].items():
        assert name in got, name
        # weight is a percent: its absolute floor is PERCENT_ATOL
        assert_agrees(got[name], expected, rtol=rtol_for("influence", name), atol=atol_for(name), what=name)
