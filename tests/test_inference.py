"""The shared inference of the models: quantiles and p-values against R's qnorm/qt/pt/pchisq (R 4.2.2)."""

import math

import numpy as np
import pytest

from commonfactors.models import _inference as inf


def test_critical_values_z_and_t():
    # R: qnorm(0.975) = 1.959963984540054; qt(0.975, 10) = 2.228138851986274; qt(0.95, 4) = 2.131846786326649
    assert inf.critical(95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert inf.critical(95, 10) == pytest.approx(2.228138851986274, abs=1e-10)
    got = inf.critical(90, np.array([4.0, math.inf, 0.0, 4.0]))
    assert got[0] == pytest.approx(2.131846786326649, abs=1e-10) and got[3] == got[0]
    assert got[1] == pytest.approx(1.644853626951472, abs=1e-12) and math.isnan(got[2])
    assert math.isnan(inf.critical(95, math.nan))
    # Satterthwaite's df may be below 1. R: qt(0.975, 0.5) = 164.5576734804945;
    # 2 * pt(-2, 0.5) = 0.4455148901831313
    assert inf.critical(95, 0.5) == pytest.approx(164.5576734804945, rel=1e-10)
    assert inf.two_sided_p(2.0, 0.5) == pytest.approx(0.4455148901831313, rel=1e-10)


def test_two_sided_p_values():
    # R: 2 * pnorm(-2) = 0.04550026389635842; 2 * pt(-2, 5) = 0.1019394788298583
    assert inf.two_sided_p(2.0) == pytest.approx(0.04550026389635842, rel=1e-10)
    assert inf.two_sided_p(-2.0, 5) == pytest.approx(0.1019394788298583, rel=1e-9)
    got = inf.two_sided_p(np.array([2.0, 2.0, 2.0]), np.array([5.0, math.inf, 0.0]))
    assert got[0] == pytest.approx(0.1019394788298583, rel=1e-9)
    assert got[1] == pytest.approx(0.04550026389635842, rel=1e-10) and math.isnan(got[2])


def test_wald_and_prediction_interval():
    stat, pval, crit, low, high = inf.wald(0.5, 0.25, 10, 95)
    assert stat == 2.0 and pval == pytest.approx(0.07338803477074, rel=1e-9)  # R: 2 * pt(-2, 10)
    assert (low, high) == pytest.approx((0.5 - crit * 0.25, 0.5 + crit * 0.25))
    lo, hi = inf.prediction_interval(0.5, 0.3, 0.07, 2.0)
    assert (lo, hi) == pytest.approx((0.5 - 2 * 0.4, 0.5 + 2 * 0.4))


def test_heterogeneity_and_knha():
    assert inf.heterogeneity_random(0.0, 0.1) == (0.0, 1.0)
    assert inf.heterogeneity_random(0.1, 0.1) == pytest.approx((50.0, 2.0))
    assert inf.heterogeneity_common(20.0, 10) == pytest.approx((50.0, 2.0))
    assert inf.heterogeneity_common(5.0, 10) == pytest.approx((0.0, 0.5))
    assert inf.heterogeneity_common(0.0, 0) == (0.0, 1.0)
    assert inf.knha_factor(12.0, 4) == 3.0 and math.isnan(inf.knha_factor(1.0, 0))
    got = inf.knha_factor(np.array([12.0, 1.0]), np.array([4, 0]))
    assert np.allclose(got, [3.0, np.nan], equal_nan=True)
    # R: pchisq(20, 10, lower.tail = FALSE) = 0.02925268807696
    assert inf.q_pval(20.0, 10) == pytest.approx(0.02925268807696, rel=1e-9) and inf.q_pval(0.0, 0) == 1.0
    got = inf.q_pval(np.array([20.0, 0.0]), 10)  # one df for every Q (leave-one-out tables)
    assert got[0] == pytest.approx(0.02925268807696, rel=1e-9) and got[1] == 1.0
    assert np.array_equal(inf.q_pval(np.array([20.0, 3.0]), 0), [1.0, 1.0])


def test_omnibus_chi2_and_f():
    b, v = np.array([1.0, 2.0]), np.diag([0.5, 2.0])
    qm, df, p = inf.omnibus(b, v, "z", 8)  # QM = 2 + 2 = 4; R: pchisq(4, 2, lower.tail = FALSE) = exp(-2)
    assert qm == pytest.approx(4.0) and df == 2 and p == pytest.approx(math.exp(-2), rel=1e-10)
    f, df, p = inf.omnibus(b, v, "knha", 8)  # R: pf(2, 2, 8, lower.tail = FALSE) = 0.1975308641975309
    assert f == pytest.approx(2.0) and df == (2, 8) and p == pytest.approx(0.1975308641975309, rel=1e-9)
