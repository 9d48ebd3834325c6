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
from tolerances import assert_agrees, atol_for, rtol_for

CASES = load_cases("rma")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_rma_matches_metafor(case):
    res = cf.meta_analysis(read_raw(input_path(case)), yi="yi", vi="vi", **case["spec"])
    got = res.to_dict()
    for field, expected in case["expected"].items():
        assert field in got, field
        assert_agrees(got[field], expected, rtol=rtol_for("rma", field), atol=atol_for(field), what=field)
