"""rma.uni without moderators against metafor 3.8-1 on the same data (tests/conformance/cases.json).

Every expected field of every case is compared (171 cases: 9 datasets x FE/DL/HE/HS/SJ/ML/REML/EB/PM/PMM
x z/knha), at the tolerances of tests/tolerances.py (1e-6 relative; Q-profile intervals 1e-5).
R's NA / NULL (se_tau2 and the prediction interval of a common-effect model) are None after
conformance_cases' normalisation, as our JSON gives them.
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


CASES = load_cases("rma")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rma_matches_metafor(case):
    res = cf.meta_analysis(read_raw(input_path(case)), yi="yi", vi="vi", **case["spec"])
    got = res.to_dict()
    for field, expected in case["expected"].items():
        assert field in got, field
        assert_agrees(got[field], expected, rtol=rtol_for("rma", field), atol=atol_for(field), what=field)
