"""Every tolerance of the test suite, in one place (cf. metafor's tests/testthat/settings.r).

Source of the metafor tolerances: shared/conformance/README.md (cases run to convergence, so these are
the agreement of two converged computations, not of metafor's default stopping rules).
"""

import math

METAFOR_RTOL = {"effect_size": 1e-8, "rma": 1e-6, "metareg": 1e-6, "bias": 1e-5, "influence": 1e-5,
                "multilevel": 1e-5}
#: fields held to a looser tolerance, whatever the kind (Q-profile intervals; selection model; CR2)
METAFOR_RTOL_FIELD = {"tau2_ci": 1e-5, "i2_ci": 1e-5, "h2_ci": 1e-5, "selection_3psm": 1e-3, "robust": 1e-4,
                      "cr2": 1e-4}
ATOL_FLOOR = 1e-10  # absolute differences below this always agree
#: I2, its interval, R2 and the influence weights (percent of the total weight, as metafor's weights()) are
#: percents: the absolute floor of a proportion is 100 times larger on their scale. It matters at the
#: boundary tau2 = 0, where metafor's step halving stops short of 0: at tau2 ~ 3e-14 in
#: mr_raudenbush1985_weeks_REML, which gives I2 = 1.2e-10 % and R2 = 99.99999999984 % (we give 0 and 100).
PERCENT_FIELDS = frozenset({"i2", "i2_ci", "r2", "weight"})
PERCENT_ATOL = 100 * ATOL_FLOOR
IDENTITY_RTOL = 1e-12  # identities and oracles (direct algebra, properties)

#: our distribution functions against scipy: the sum of two errors, ours (< 3e-13 against mpmath on the
#: test grids) and scipy's own, which reaches 1.1e-12 (e.g. F(1e4, 1e4) at x = 0.631: scipy 6.8e-13 off
#: R's pf, ours 3.6e-13)
SCIPY_RTOL = 2 * IDENTITY_RTOL
#: two implementations of the same iterative fit (fit_many against meta_analysis, row by row): iterative
#: estimators stop on the step (1e-12 of tau2 + mean vi), not at the exact root, and algebraically equal
#: formulas lose different digits to cancellation (vi spanning three orders of magnitude cost 2e-10 in
#: se_tau2); still 100 times tighter than the metafor tolerance (1e-6)
ORACLE_RTOL = 1e-8
#: one quantity computed by two algebraic routes (dense matrices against O(k) block sums, brute force over
#: all orders against all subsets, permuted rows): rounding through the solves of moderately conditioned
#: matrices, a few hundred ulps
ALGEBRA_RTOL = 1e-10
ALGEBRA_ATOL = 1e-12
#: CR2 against its dense definition: symmetric inverse square roots by eigendecomposition and
#: pseudo-inverses of singular blocks lose about one more digit than plain solves
CR2_ALGEBRA_RTOL = 1e-9
#: closed-form values (no iteration) pinned from R printed with 15-16 significant digits: R and numpy
#: invert the same small matrices in a different order
R_CLOSED_FORM_RTOL = 1e-10
#: metafor parametrises variance components on the log scale and stops at sigma2 = 1.8e-12 where the
#: REML maximum is the boundary 0 (our value, with a higher log-likelihood): coefficients' CI bounds
#: move by ~2e-8 (tests/test_multilevel.py, moderator model on SMALL)
METAFOR_BOUNDARY_ATOL = 1e-7
#: a central difference with step 1e-6 (delta-method checks): truncation O(h^2) plus rounding eps / h
CENTRAL_DIFFERENCE_RTOL = 1e-8
#: exact invariances of the univariate fit checked on random data (permuting, shifting, scaling the studies):
#: both fits are iterative and stop on their own step (~1e-12 of tau2 + mean vi), not at the same point, and
#: the differences of estimates these properties compare amplify that (the random data have k >= 3 and vi
#: spanning up to 400x); PROPERTY_ATOL is the floor on the scale of yi (of yi^2 for tau2, 100x on I2's
#: percents)
PROPERTY_RTOL = 1e-7
PROPERTY_ATOL = 1e-9
#: pooled correlation matrices (factors/corpool.py) against metafor's rma.mv on the same long file, by
#: method: the common-effect GLS is closed form, as "rma"; REML is rma.mv's optimiser against our Fisher
#: scoring, both run to convergence, as the kind "multilevel"
CORPOOL_RTOL = {"FE": METAFOR_RTOL["rma"], "REML": METAFOR_RTOL["multilevel"]}


def printed(decimals: int) -> float:
    """Tolerance for a value printed in a paper: half a unit in the last printed digit."""
    return 0.5 * 10.0**-decimals


def rtol_for(kind: str, field: str) -> float:
    return METAFOR_RTOL_FIELD.get(field, METAFOR_RTOL[kind])


def atol_for(field: str) -> float:
    """The absolute floor of a field: ``PERCENT_ATOL`` for the percent-scale fields, else ``ATOL_FLOOR``."""
    return PERCENT_ATOL if field in PERCENT_FIELDS else ATOL_FLOOR


def agrees(got, expected, rtol: float, atol: float = ATOL_FLOOR) -> bool:
    """Recursive comparison: NaN equals NaN (R's NA), lists by position, dicts by key."""
    if isinstance(expected, dict):
        return isinstance(got, dict) and all(agrees(got.get(k), v, rtol, atol) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(expected)
                and all(agrees(g, e, rtol, atol) for g, e in zip(got, expected, strict=True)))
    if isinstance(expected, str):
        return got == expected
    e = float("nan") if expected is None else float(expected)
    g = float("nan") if got is None else float(got)
    if math.isnan(e):
        return math.isnan(g)
    if math.isinf(e):
        return g == e
    return abs(g - e) <= atol + rtol * abs(e)


def assert_agrees(got, expected, *, rtol: float, atol: float = ATOL_FLOOR, what: str = "") -> None:
    assert agrees(got, expected, rtol, atol), f"{what}: got {got!r}, expected {expected!r} (rtol {rtol:g})"
