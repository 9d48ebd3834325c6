"""tau2 estimators and the array helpers under them (models/tau2.py, models/_wls.py).

metafor 3.8-1 reference numbers for models with moderators (the conformance cases have them only for
REML, ML and DL) on tests/conformance/inputs/mr_bcg_RR_ablat_year.csv, and for REML where plain Fisher
scoring does not converge: tests/reference/tau2.R writes them to tests/reference/tau2.json.
"""

import math

import numpy as np
import pytest

from commonfactors.models import _wls
from commonfactors.models import tau2 as T
from conformance_cases import HERE
from reference import load
from tolerances import IDENTITY_RTOL, METAFOR_RTOL


def generalized_q(y, v, X, tau2):
    """Q(tau2) = y'P(tau2)y with weights 1/(v + tau2) (Viechtbauer, 2007, Stat. Med. 26(1), 37-52, eq. 5)."""
    return _wls.wls(y, X, 1.0 / (v + tau2)).q


RTOL = METAFOR_RTOL["metareg"]


@pytest.fixture(scope="module")
def bcg_ablat_year():
    a = np.genfromtxt(HERE / "inputs" / "mr_bcg_RR_ablat_year.csv", delimiter=",", skip_header=1)
    y, v = a[:, 0], a[:, 1]
    return y, v, np.column_stack([np.ones(len(y)), a[:, 2], a[:, 3]])


REFERENCE = load("tau2")
# rma(yi ~ ablat + year, vi, method=M, control=list(threshold=1e-12, tol=1e-13)): tau2, se.tau2
WITH_MODERATORS = {m: (r["tau2"], r["se_tau2"]) for m, r in REFERENCE["with_moderators"].items()}


@pytest.mark.parametrize("method", sorted(WITH_MODERATORS))
def test_estimators_with_moderators_match_metafor(bcg_ablat_year, method):
    y, v, X = bcg_ablat_year
    fit = T.estimate_tau2(method, y, v, X)
    tau2, se = WITH_MODERATORS[method]
    assert fit.tau2 == pytest.approx(tau2, rel=RTOL) and fit.se_tau2 == pytest.approx(se, rel=RTOL)


def test_reml_where_plain_fisher_scoring_oscillates():
    # metafor stops: "Fisher scoring algorithm did not converge"; its numbers with stepadj=0.5
    expected = REFERENCE["reml_oscillating"]
    fit = T.reml(np.array([0.0, 0, 0, 0, 0, 1]), np.array([1.0, 1, 1, 1, 1, 0.125]), np.ones((6, 1)))
    assert fit.converged
    assert fit.tau2 == pytest.approx(expected["tau2"], rel=1e-9)
    assert fit.se_tau2 == pytest.approx(expected["se_tau2"], rel=1e-9)


def test_reml_where_fisher_scoring_approaches_a_two_cycle_slowly():
    """Fisher scoring steps alternate about the root and shrink by a few percent each (the previous
    version took 259 iterations); a step not halving the previous one hands over to Brent in the bracket."""
    y = np.array([0.02848, 0.02932, 0.1326, 0.05129, 0.006715, 0.05619, -0.05177, -0.02315, 0.06053, 0.03977,
                  0.1144, 0.0007773, -0.01412, 0.03666])
    v = np.array([0.00377, 0.003569, 0.005231, 0.006732, 0.002649, 0.006223, 0.003132, 0.00466, 0.005783,
                  0.003934, 0.005417, 0.005468, 5.257e-05, 0.0003137])
    # metafor stops: "Fisher scoring algorithm did not converge"; its numbers with stepadj=0.5, maxiter=10000
    expected = REFERENCE["reml_two_cycle"]
    fit = T.reml(y, v, np.ones((14, 1)))
    assert fit.converged and fit.iterations < 10
    assert fit.tau2 == pytest.approx(expected["tau2"], rel=1e-9)
    assert fit.se_tau2 == pytest.approx(expected["se_tau2"], rel=1e-9)


def test_equal_variances_reduce_to_closed_forms():
    """With vi = v for all i, REML = HE = DL = PM = s^2 - v (s^2 the sample variance) when positive."""
    y = np.array([0.1, 2.9, -1.5, 3.7, 0.3])
    X = np.ones((5, 1))
    v = np.ones(5)
    expected = np.var(y, ddof=1) - 1.0
    for m in ("REML", "HE", "DL", "PM", "EB"):
        assert T.estimate_tau2(m, y, v, X).tau2 == pytest.approx(expected, rel=1e-10), m
    # > rma(y, v, method="ML"): tau2 = 2.68 = s^2 (k - 1) / k - v
    assert T.ml(y, v, X).tau2 == pytest.approx(np.var(y) - 1.0, rel=1e-10)


def test_boundary_is_exactly_zero():
    y = np.array([0.1, 0.12, 0.11, 0.1, 0.115])
    v = np.full(5, 0.04)
    X = np.ones((5, 1))
    for m in ("REML", "ML", "DL", "HE", "HS", "PM", "EB", "PMM"):
        assert T.estimate_tau2(m, y, v, X).tau2 == 0.0, m


def test_common_effect_has_no_tau2():
    fit = T.estimate_tau2("FE", np.zeros(3), np.ones(3), np.ones((3, 1)))
    assert fit.tau2 == 0 and math.isnan(fit.se_tau2)


def test_q_profile_bounds_solve_their_equations(bcg_ablat_year):
    """Identity: Q(lower) = chi2_{.975}(k - p), Q(upper) = chi2_{.025}(k - p) (Viechtbauer 2007, eq. 6-7)."""
    from commonfactors import _distributions as dist

    y, v, X = bcg_ablat_year
    lo, hi = T.q_profile_ci(y, v, X, 95)
    df = X.shape[0] - X.shape[1]
    assert generalized_q(y, v, X, lo) == pytest.approx(dist.chi2_ppf(0.975, df), rel=1e-10)
    assert generalized_q(y, v, X, hi) == pytest.approx(dist.chi2_ppf(0.025, df), rel=1e-10)


def test_q_profile_bounds_do_not_depend_on_the_start(bcg_ablat_year):
    y, v, X = bcg_ablat_year
    ref = T.q_profile_ci(y, v, X, 95)
    for start in (0.1, 0.5, 40.0):
        assert T.q_profile_ci(y, v, X, 95, start=start) == pytest.approx(ref, rel=1e-12)


def test_q_profile_upper_bound_far_beyond_the_sampling_variances_is_found():
    # Q(tau2) = 0.5e12 / (1 + tau2) reaches chi2_.025(1) = 9.8e-4 only at tau2 ~ 5e14 > 1e12 * mean(vi):
    # the search goes on to 2 RSS / target, beyond which Q is below the target
    from commonfactors import _distributions as dist

    lo, hi = T.q_profile_ci(np.array([0.0, 1e6]), np.ones(2), np.ones((2, 1)), 95)
    assert lo == pytest.approx(0.5e12 / dist.chi2_ppf(0.975, 1) - 1.0, rel=1e-12)
    assert hi == pytest.approx(0.5e12 / dist.chi2_ppf(0.025, 1) - 1.0, rel=1e-12)


@pytest.mark.parametrize("method", ["PM", "EB", "PMM"])
def test_generalised_q_roots_of_effects_spread_far_beyond_their_variances(method):
    """yi in the millions with vi = 0.001: the root of Q(tau2) = target lies far beyond 1e12 mean(vi)
    (was a ZeroDivisionError); it solves its equation and fit_many agrees."""
    from commonfactors import _distributions as dist
    from commonfactors import fit_many, meta_analysis

    y, v = np.array([0.0, 1e6, -1e6, 5e5]), np.full(4, 1e-3)
    res = meta_analysis(yi=y, vi=v, method=method)
    target = dist.chi2_ppf(0.5, 3) if method == "PMM" else 3.0
    assert generalized_q(y, v, np.ones((4, 1)), res.tau2) == pytest.approx(target, rel=1e-10)
    assert fit_many(y[None, :], v[None, :], method=method).tau2[0] == pytest.approx(res.tau2, rel=1e-10)
    lo, hi = res.tau2_ci
    assert lo < res.tau2 < hi and math.isfinite(hi)


def test_q_profile_bounds_of_two_studies_are_found_far_out():
    # equal vi: Q = (y1 - y2)^2 / (2 (v + tau2)), so the bounds are closed forms
    from commonfactors import _distributions as dist

    lo, hi = T.q_profile_ci(np.array([0.0, 3.0]), np.full(2, 0.01), np.ones((2, 1)), 95)
    assert lo == pytest.approx(4.5 / dist.chi2_ppf(0.975, 1) - 0.01, rel=1e-12)
    assert hi == pytest.approx(4.5 / dist.chi2_ppf(0.025, 1) - 0.01, rel=1e-12)


def test_few_evaluations_at_large_k():
    """Newton steps near the solution: REML needs a handful of iterations from HE, and each Q-profile bound
    two evaluations of Q beyond the one at the estimate (a guard on the work per fit, not a timing)."""
    rng = np.random.default_rng(11)
    k = 100_000
    v = rng.uniform(0.01, 0.2, k)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    X = np.ones((k, 1))
    fit = T.reml(y, v, X)
    assert fit.converged and fit.iterations <= 4
    calls = []
    q = _wls.q_function(y, v, X)

    def counted(t):
        calls.append(t)
        return q(t)

    at = counted(fit.tau2)
    for target in (k - 1 + 3 * math.sqrt(2 * k), k - 1 - 3 * math.sqrt(2 * k)):
        root, found = T.solve_generalized_q(y, v, X, target, q=counted, start=fit.tau2, at_start=at, q0=1e12)
        assert found and q(root)[0] == pytest.approx(target, rel=1e-12)
    assert len(calls) <= 5


# ---------------------------------------------------------------- _wls against dense matrix algebra


@pytest.fixture(scope="module")
def dense():
    rng = np.random.default_rng(7)
    k = 12
    X = np.column_stack([np.ones(k), rng.normal(size=k), rng.integers(0, 2, k)])
    w = rng.uniform(0.5, 5, k)
    y = rng.normal(size=k)
    W = np.diag(w)
    A = np.linalg.inv(X.T @ W @ X)
    P = W - W @ X @ A @ X.T @ W
    return X, w, y, P


def test_traces_equal_dense_formulas(dense):
    X, w, y, P = dense
    A = _wls.wls(y, X, w).A
    d1, d2 = np.linspace(0.1, 1, len(w)), np.linspace(2, 3, len(w))
    assert _wls.trace_P(X, w, A) == pytest.approx(np.trace(P), rel=IDENTITY_RTOL)
    assert _wls.trace_PP(X, w, A) == pytest.approx(np.trace(P @ P), rel=1e-11)
    dense_value = np.trace(P @ np.diag(d1) @ P @ np.diag(d2))
    assert _wls.trace_PDPD(X, w, A, d1, d2) == pytest.approx(dense_value, rel=1e-11)
    assert _wls.wls(y, X, w).q == pytest.approx(y @ P @ y, rel=1e-11)


def test_intercept_only_fast_paths_equal_the_general_ones(dense):
    _, w, y, _ = dense
    v = 1 / w
    ones = np.ones((len(y), 1))
    for t in (0.0, 0.3, 5.0):
        wt = 1 / (v + t)
        f = _wls.wls(y, ones, wt)
        Pt = np.diag(wt) - np.outer(wt, wt) / wt.sum()
        q, dq = _wls.q_function(y, v, ones)(t)
        assert q == pytest.approx(y @ Pt @ y, rel=1e-11)
        assert dq == pytest.approx(-y @ Pt @ Pt @ y, rel=1e-11)  # dP/dtau2 = -PP
        ypPPy, trP, trPP, trW, trW2, ypPPPy = _wls.likelihood_terms(y, v, ones)(t, True)
        assert ypPPy == pytest.approx(y @ Pt @ Pt @ y, rel=1e-11)
        assert ypPPPy == pytest.approx(y @ Pt @ Pt @ Pt @ y, rel=1e-10)
        assert trP == pytest.approx(np.trace(Pt), rel=1e-12)
        assert trPP == pytest.approx(np.trace(Pt @ Pt), rel=1e-11)
        assert trW == pytest.approx(wt.sum(), rel=1e-12) and trW2 == pytest.approx(wt @ wt, rel=1e-12)
        assert f.q == pytest.approx(y @ Pt @ y, rel=1e-11)
        sums = _wls.InterceptSums(y, v)
        estimate, variance = sums.coefficient(sums.sums(t))
        assert estimate == pytest.approx(wt @ y / wt.sum(), rel=1e-12)
        assert variance == pytest.approx(1 / wt.sum(), rel=1e-12)
    P0 = np.diag(1 / v) - np.outer(1 / v, 1 / v) / (1 / v).sum()
    for q_e, tr_p in (_wls.cochran_q(y, v, ones), _wls.cochran_q(y, v, ones, _wls.InterceptSums(y, v))):
        assert q_e == pytest.approx(y @ P0 @ y, rel=1e-11) and tr_p == pytest.approx(np.trace(P0), rel=1e-12)


@pytest.mark.parametrize("k", [2, 13, _wls.InterceptSums.BLOCK, _wls.InterceptSums.BLOCK + 1,
                               3 * _wls.InterceptSums.BLOCK + 17])
def test_intercept_sums_equal_their_definitions_across_blocks(k):
    """S_a = sum(w^a), T_a = sum(w^a yc), U_a = sum(w^a yc^2), w = 1/(v + tau2), yc = y - mean(y): summed a
    block at a time, rows beyond ``power`` NaN, S_3 alone with ``s3``."""
    rng = np.random.default_rng(k)
    y, v = rng.normal(0.4, 1.0, k), rng.uniform(0.01, 0.2, k)
    sums = _wls.InterceptSums(y, v)
    for tau2 in (0.0, 0.07):
        w, yc = 1 / (v + tau2), y - y.mean()
        expected = [[np.sum(w**a), np.sum(w**a * yc), np.sum(w**a * yc**2)] for a in (1, 2, 3)]
        np.testing.assert_allclose(sums.sums(tau2, 3), expected, rtol=1e-12)
        two = sums.sums(tau2, 2, s3=True)
        np.testing.assert_allclose(two[:2], expected[:2], rtol=1e-12)
        assert two[2][0] == pytest.approx(expected[2][0], rel=1e-12)
        assert np.isnan(two[2][1:]).all() and np.isnan(sums.sums(tau2)[2]).all()
        assert np.isnan(sums.sums(tau2, 1)[1:]).all()


def test_q_profile_with_many_studies_solves_its_equations():
    """k = 10^6: the search stops after one evaluation per bound once the curvature says the Newton step
    left an error below 1e-12 (``_q_root``; two without that rule); the bounds still solve
    Q(bound) = chi2 quantile (Viechtbauer 2007, eq. 6-7), and equal those found with the sums and the value
    at the start passed ready."""
    from commonfactors import _distributions as dist

    rng = np.random.default_rng(7)
    k = 1_000_000
    v = rng.uniform(0.01, 0.2, k)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    X = np.ones((k, 1))
    tau2 = T.reml(y, v, X).tau2
    calls = []
    q = _wls.q_function(y, v, X)

    def counted(t):
        calls.append(t)
        return q(t)

    lo, _ = T.solve_generalized_q(y, v, X, float(dist.chi2_ppf(0.975, k - 1)), q=counted, start=tau2,
                                  q0=1e9)
    assert len(calls) == 2  # the value at the start, and one Newton step later
    sums = _wls.InterceptSums(y, v)
    for bounds in (T.q_profile_ci(y, v, X, 95, start=tau2),
                   T.q_profile_ci(y, v, X, 95, start=tau2, sums=sums, at_start=sums.q(tau2))):
        assert bounds[0] == pytest.approx(lo, rel=1e-11)
        assert generalized_q(y, v, X, bounds[0]) == pytest.approx(dist.chi2_ppf(0.975, k - 1), rel=1e-12)
        assert generalized_q(y, v, X, bounds[1]) == pytest.approx(dist.chi2_ppf(0.025, k - 1), rel=1e-12)


def test_derivatives_with_moderators_equal_dense_formulas(dense):
    X, w, y, _ = dense
    v = 1 / w
    for t in (0.0, 0.7):
        wt = 1 / (v + t)
        W = np.diag(wt)
        Pt = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
        q, dq = _wls.q_function(y, v, X)(t)
        assert q == pytest.approx(y @ Pt @ y, rel=1e-11) and dq == pytest.approx(-y @ Pt @ Pt @ y, rel=1e-11)
        terms = _wls.likelihood_terms(y, v, X)(t, True)
        assert terms[0] == pytest.approx(y @ Pt @ Pt @ y, rel=1e-11)
        assert terms[5] == pytest.approx(y @ Pt @ Pt @ Pt @ y, rel=1e-10)
        assert math.isnan(_wls.likelihood_terms(y, v, X)(t)[5])  # only computed when asked for
