"""rma.mv three-level models and robust(..., clubSandwich=TRUE), against metafor 3.8-1 on the same data.

Cases: tests/conformance/cases.json, kind "multilevel" (computed with rel.tol 1e-10; see
tests/conformance/README.md). Every expected field is compared; metafor's ``cr2`` block is our ``robust``.
"""

import pytest

import commonfactors as cf
from commonfactors.io import read_table
from conformance_cases import input_path, load_cases
from tolerances import ATOL_FLOOR, IDENTITY_RTOL, assert_agrees, rtol_for

CASES = load_cases("multilevel")
FIELD = {"cr2": "robust"}  # metafor's name -> the command line contract's name


def _fit(case):
    spec = case["spec"]
    assert spec["random"] == "~ 1 | cluster/within"
    return cf.multilevel_meta_analysis(
        read_table(input_path(case)),
        yi="yi",
        vi="vi",
        cluster="cluster",
        within="within",
        mods=spec.get("mods"),
        method=spec["method"],
        robust="cr2",
    )


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_multilevel_matches_metafor(case):
    got = _fit(case).to_dict()
    for field, expected in case["expected"].items():
        ours = FIELD.get(field, field)
        assert ours in got, f"{field} missing from to_dict()"
        assert_agrees(got[ours], expected, rtol=rtol_for("multilevel", field), atol=ATOL_FLOOR, what=field)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_within_may_be_omitted_when_it_numbers_the_rows(case):
    """Without ``within`` each row is its own effect: the same model as metafor's ``cluster/within``."""
    spec = case["spec"]
    a = _fit(case).to_dict()
    b = cf.multilevel_meta_analysis(
        read_table(input_path(case)),
        cluster="cluster",
        mods=spec.get("mods"),
        method=spec["method"],
        robust="cr2",
    ).to_dict()
    assert_agrees(b, a, rtol=IDENTITY_RTOL, what=case["id"])
