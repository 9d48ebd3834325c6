"""rma.uni with moderators against metafor 3.8-1 on the same data (tests/conformance/cases.json).

42 cases: 7 models (continuous, categorical and pmin-truncated moderators) x REML/DL/ML x z/knha.
Every field is compared; coefficients by position (intercept first, then R's treatment coding) and,
besides, by name (our names follow metafor's spelling: 'intrcpt', 'allocrandom').
"""

import pytest

import commonfactors as cf
from commonfactors.io import read_raw
from conformance_cases import input_path, load_cases
from tolerances import ATOL_FLOOR, assert_agrees, rtol_for

#: I2 and R2 are percents: the absolute floor (1e-10 for a proportion) is 100 times larger on their scale.
#: At a boundary (tau2 = 0) metafor's step halving stops at tau2 ~ 3e-14 instead of 0, which gives
#: I2 = 1.2e-10 % and R2 = 99.99999999984 % in mr_raudenbush1985_weeks_REML (we give 0 and 100).
PERCENT_FIELDS = {"i2", "i2_ci", "r2"}


def atol_for(field):
    return 100 * ATOL_FLOOR if field in PERCENT_FIELDS else ATOL_FLOOR


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
                    assert_agrees(g[f], ev, rtol=rtol_for("metareg", f), atol=ATOL_FLOOR,
                                  what=f"coefficient {i} {f}")
        else:
            assert_agrees(got[field], expected, rtol=rtol_for("metareg", field), atol=atol_for(field),
                          what=field)
