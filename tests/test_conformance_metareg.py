"""rma.uni with moderators against metafor 3.8-1 on the same data (tests/conformance/cases.json).

42 cases: 7 models (continuous, categorical and pmin-truncated moderators) x REML/DL/ML x z/knha.
Every field is compared; coefficients by position (intercept first, then R's treatment coding) and,
besides, by name (our names follow metafor's spelling: 'intrcpt', 'allocrandom').
"""

import pytest

import commonfactors as cf
from commonfactors.io import read_raw
from conformance_cases import input_path, load_cases
from tolerances import assert_agrees, atol_for, rtol_for

CASES = load_cases("metareg")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_metareg_matches_metafor(case):
    res = cf.meta_analysis(read_raw(input_path(case)), yi="yi", vi="vi", **case["spec"])
    got = res.to_dict()
    for field, expected in case["expected"].items():
        assert field in got, field
        if field == "coefficients":
            assert len(got[field]) == len(expected)
            for i, (g, e) in enumerate(zip(got[field], expected, strict=True)):
                for f, ev in e.items():
                    assert_agrees(g[f], ev, rtol=rtol_for("metareg", f), atol=atol_for(f),
                                  what=f"coefficient {i} {f}")
        else:
            assert_agrees(got[field], expected, rtol=rtol_for("metareg", field), atol=atol_for(field),
                          what=field)
