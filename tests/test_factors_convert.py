"""Conversions between r, d, Fisher's z, shares of variance and ICCs (commonfactors.factors.convert).

Sources: Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis, eqs. 6.2-6.4 and
7.5-7.9; Rosenthal (1994); Donner (1986) for the variance of an ICC. Checked here by identities (inverse
pairs, the delta method by numerical differentiation) and by the arithmetic printed in
data/published/README.md, section A.
"""

import numpy as np
import pytest

from commonfactors.factors import convert
from tolerances import CENTRAL_DIFFERENCE_RTOL, IDENTITY_RTOL, printed

D = np.array([-1.2, -0.3, 0.0, 0.2, 0.57, 1.5])
R = np.array([-0.8, -0.2, 0.0, 0.1, 0.278, 0.9])


def test_d_to_r_and_back_are_inverses_with_and_without_group_sizes():
    assert np.allclose(convert.r_to_d(convert.d_to_r(D)), D, rtol=IDENTITY_RTOL, atol=1e-15)
    assert np.allclose(convert.d_to_r(convert.r_to_d(R, 30, 90), 30, 90), R, rtol=IDENTITY_RTOL, atol=1e-15)


def test_equal_groups_give_a_equal_4():
    assert convert.group_term(50, 50) == 4.0
    assert convert.group_term() == 4.0
    assert convert.group_term(30, 90) == pytest.approx(120**2 / (30 * 90), rel=IDENTITY_RTOL)
    assert np.allclose(convert.r_to_d(R), 2 * R / np.sqrt(1 - R**2), rtol=IDENTITY_RTOL)  # Borenstein eq. 7.5


@pytest.mark.parametrize("n1, n2", [(None, None), (30, 90)])
def test_variance_conversions_are_the_delta_method(n1, n2):
    h = 1e-6
    d, vd = 0.57, 0.01
    deriv = (convert.d_to_r(d + h, n1, n2) - convert.d_to_r(d - h, n1, n2)) / (2 * h)
    assert convert.var_d_to_r(d, vd, n1, n2) == pytest.approx(deriv**2 * vd, rel=CENTRAL_DIFFERENCE_RTOL)
    r, vr = 0.278, 0.002
    deriv = (convert.r_to_d(r + h, n1, n2) - convert.r_to_d(r - h, n1, n2)) / (2 * h)
    assert convert.var_r_to_d(r, vr, n1, n2) == pytest.approx(deriv**2 * vr, rel=CENTRAL_DIFFERENCE_RTOL)


def test_fisher_z_pair_and_variance():
    assert np.allclose(convert.fisher_z(R), 0.5 * np.log((1 + R) / (1 - R)), rtol=IDENTITY_RTOL, atol=1e-15)
    assert np.allclose(convert.inverse_fisher_z(convert.fisher_z(R)), R, rtol=IDENTITY_RTOL, atol=1e-15)
    assert convert.var_fisher_z(103) == pytest.approx(0.01, rel=IDENTITY_RTOL)


def test_shares_of_variance():
    assert convert.r_to_share(0.3) == pytest.approx(0.09, rel=IDENTITY_RTOL)
    assert convert.d_to_share(2 * 0.3 / np.sqrt(1 - 0.09)) == pytest.approx(0.09, rel=IDENTITY_RTOL)
    assert convert.icc_to_share(0.05) == 0.05
    assert convert.share_to_r(0.09) == pytest.approx(0.3, rel=IDENTITY_RTOL)


def test_logit_pair():
    p = np.array([0.01, 0.05, 0.5, 0.93])
    assert np.allclose(convert.expit(convert.logit(p)), p, rtol=IDENTITY_RTOL)


def test_icc_to_d_reproduces_the_readme_arithmetic():
    # data/published/README.md, section A (Wampold 2015 row, "arithmetic only"):
    # with d = 2 sqrt(rho / (1 - rho)), rho = .05 gives 0.46 and rho = .03 gives 0.35;
    # a d of 0.55 corresponds to rho ~ .07 (printed to 2 decimals)
    assert convert.icc_to_d(0.05) == pytest.approx(0.46, abs=printed(2))
    assert convert.icc_to_d(0.03) == pytest.approx(0.35, abs=printed(2))
    rho = 0.55**2 / (4 + 0.55**2)  # the inverse of icc_to_d
    assert convert.icc_to_d(rho) == pytest.approx(0.55, rel=IDENTITY_RTOL)
    assert rho == pytest.approx(0.07, abs=printed(2))


def test_var_icc_matches_the_balanced_anova_formula_and_shrinks_with_clusters():
    # Fisher's large-sample variance (Donner 1986): 2 (1 - rho)^2 (1 + (m - 1) rho)^2 / (m (m - 1) (g - 1))
    rho, g, m = 0.05, 100, 10
    expected = 2 * 0.95**2 * (1 + 9 * 0.05) ** 2 / (10 * 9 * 99)
    assert convert.var_icc(rho, g, g * m) == pytest.approx(expected, rel=IDENTITY_RTOL)
    assert convert.var_icc(rho, 4 * g, 4 * g * m) < convert.var_icc(rho, g, g * m)
