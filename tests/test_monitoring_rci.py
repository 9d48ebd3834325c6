"""Jacobson & Truax (1991) reliable change, cutoffs and categories (commonfactors.monitoring.rci).

Reference numbers: tests/reference/monitoring.R (the same arithmetic in R) and THERAPISTS.md section 5.4: a
client 47.5 -> 32.5 with s = 7.5, r = .80 gives S_diff 4.7434 and RC -3.1623 (the worked example quoted in the
ReliableTrendIndex README, secondary); cutoffs with M_dys 40, M_fun 60, s 7.5 are a = 55, b = 45, c = 50 (the
clinicalsignificance package's tests, secondary). J&T's Table 2 (30 couples, Dyadic Adjustment Scale) as
transcribed identically in AWKruijt/JT-RCI (data/J&T 1991 table2 DAS data.csv) and uqmpatel/mindmetrics
(man/jt.data.Rd), read there: with r = .96, s = 17.8 (mindmetrics, citing Spanier 1976) and cutoff a from the
pretest sample, 10 recovered, 9 improved, 10 unchanged, 1 deteriorated (an arithmetic fixture, not a count
printed in the paper, which was not seen).
"""

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import InputError
from commonfactors.monitoring import rci
from reference import HERE, load

R = load("monitoring")
DAS = pd.read_csv(HERE.parent / "data" / "monitoring_jt1991_das.csv")


def test_single_case_of_jacobson_truax():
    ref = R["jt_single"]
    res = cf.reliable_change(pre=47.5, post=32.5, sd=7.5, reliability=0.80)
    assert res.se_measurement == pytest.approx(ref["se"], rel=1e-12)
    assert res.s_diff == pytest.approx(ref["s_diff"], rel=1e-12)
    assert res.rc == pytest.approx(ref["rc"], rel=1e-12)
    assert round(res.s_diff, 4) == 4.7434 and round(res.rc, 4) == -3.1623  # the printed example
    assert res.direction == "deteriorated" and res.reliable
    # on a scale where lower is better the same change is an improvement
    lower = cf.reliable_change(47.5, 32.5, sd=7.5, reliability=0.80, higher_is_better=False)
    assert lower.direction == "improved"


def test_cutoffs_a_b_c_and_their_mirror():
    ref = R["jt_cutoffs"]
    cut = cf.clinical_cutoffs(40, 7.5, 60, 7.5)
    assert (cut.a, cut.b, cut.c) == (ref["a"], ref["b"], ref["c"]) == (55.0, 45.0, 50.0)
    assert cut.recommended() == 50.0
    low = cf.clinical_cutoffs(60, 7.5, 40, 7.5, higher_is_better=False)  # the same scale reversed
    assert (low.a, low.b, low.c) == (45.0, 55.0, 50.0)
    unequal = cf.clinical_cutoffs(40, 10, 60, 5)
    assert unequal.c == pytest.approx((5 * 40 + 10 * 60) / 15, rel=1e-15)
    assert cf.clinical_cutoffs(40, 7.5).b is None and cf.clinical_cutoffs(40, 7.5).recommended() == 55.0


def test_das_table_2_categories():
    ref = R["jt_das"]
    cut = cf.clinical_cutoffs(DAS.pre.mean(), DAS.pre.std(ddof=1)).a
    assert cut == pytest.approx(ref["cutoff_a"], rel=1e-13)
    assert round(cut, 2) == 105.23  # 81.58 + 2 * 11.83 = 105.24 with the rounded mean and SD
    res = cf.reliable_change(DAS.pre, DAS.post, sd=17.8, reliability=0.96)
    assert res.s_diff == pytest.approx(ref["s_diff"], rel=1e-13)
    np.testing.assert_allclose(res.rc, ref["rc"], rtol=1e-13)
    cats = rci.categories(DAS.pre.to_numpy(), DAS.post.to_numpy(), res, cut)
    assert list(cats) == ref["category"]
    counts = {k: int((cats == k).sum()) for k in ("recovered", "improved", "unchanged", "deteriorated")}
    assert counts == ref["counts"] == {"recovered": 10, "improved": 9, "unchanged": 10, "deteriorated": 1}


def test_reliable_change_in_points_counts_a_change_of_exactly_that_many():
    res = cf.reliable_change([20, 20, 20, 20], [25, 24.9, 15, 15.1], rc_change=5)
    assert list(res.direction) == ["improved", "unchanged", "deteriorated", "unchanged"]
    assert res.rc_change == 5 and res.s_diff == pytest.approx(5 / 1.96)
    assert np.isnan(res.se_measurement)


def test_not_clinical_at_intake_is_reported_apart():
    res = cf.reliable_change([20, 30, 20, 20], [30, 40, 22, 10], rc_change=5)
    cats = rci.categories(np.array([20, 30, 20, 20.0]), np.array([30, 40, 22, 10.0]), res, 25)
    assert list(cats) == ["recovered", "not clinical at intake", "unchanged", "deteriorated"]
    # a score equal to the cutoff: functional unless the instrument counts it as clinical (PHQ-9's 10)
    phq = cf.reliable_change([20, 20], [10, 9], rc_change=5.66, higher_is_better=False)
    cats = rci.categories(np.array([20, 20.0]), np.array([10, 9.0]), phq, 10, clinical_at_cutoff=True)
    assert list(cats) == ["improved", "recovered"]


@pytest.mark.parametrize("kwargs, message", [
    ({"sd": 7.5}, "sd and reliability together"),
    ({"sd": 7.5, "reliability": 1.0}, "reliability is 1"),
    ({"sd": -1, "reliability": 0.8}, "sd is -1"),
    ({"rc_change": 0}, "rc_change is 0"),
    ({"rc_change": 5, "sd": 7.5, "reliability": 0.8}, "both rc_change and sd"),
    ({}, "needs sd and reliability"),
])
def test_bad_parameters_are_one_line_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message) as e:
        cf.reliable_change(40, 30, **kwargs)
    assert "\n" not in str(e.value)
