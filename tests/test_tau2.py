"""tau2 estimators and the array helpers under them (models/tau2.py, models/_wls.py, models/_roots.py).

metafor 3.8-1 reference numbers for models with moderators (the conformance cases have them only for
REML, ML and DL), computed with R 4.2 on tests/conformance/inputs/mr_bcg_RR_ablat_year.csv:
``d <- read.csv(".../mr_bcg_RR_ablat_year.csv")``; the call is beside each number.
"""

import math

import numpy as np
import pytest

from commonfactors.models import _roots, _wls
from commonfactors.models import tau2 as T
from conformance_cases import HERE
from tolerances import IDENTITY_RTOL, METAFOR_RTOL

RTOL = METAFOR_RTOL["metareg"]


@pytest.fixture(scope="module")
def bcg_ablat_year():
    a = np.genfromtxt(HERE / "inputs" / "mr_bcg_RR_ablat_year.csv", delimiter=",", skip_header=1)
    y, v = a[:, 0], a[:, 1]
    return y, v, np.column_stack([np.ones(len(y)), a[:, 2], a[:, 3]])


# > r <- rma(yi ~ ablat + year, vi, data=d, method=M, control=list(threshold=1e-12, tol=1e-13))
# > c(r$tau2, r$se.tau2)
WITH_MODERATORS = {
    "SJ": (0.253226123181914, 0.133261729344786),
    "HS": (0.0251355173590155, 0.0130793109403581),
    "HE": (0.235610760816534, 0.192028695739493),
    "EB": (0.171637115724687, 0.11763993838256),
    "PM": (0.171637115724534, 0.117639938382481),
    "PMM": (0.195666615102529, 0.129914368291628),
    "DL": (0.0790389578091283, 0.0739352391461771),
}


@pytest.mark.parametrize("method", sorted(WITH_MODERATORS))
def test_estimators_with_moderators_match_metafor(bcg_ablat_year, method):
    y, v, X = bcg_ablat_year
    fit = T.estimate_tau2(method, y, v, X)
    tau2, se = WITH_MODERATORS[method]
    assert fit.tau2 == pytest.approx(tau2, rel=RTOL) and fit.se_tau2 == pytest.approx(se, rel=RTOL)


def test_reml_where_plain_fisher_scoring_oscillates():
    # > rma(c(0,0,0,0,0,1), c(1,1,1,1,1,.125), control=list(threshold=1e-12)) stops: "Fisher scoring algorithm
    # > did not converge"; with control=list(threshold=1e-12, stepadj=0.5): tau2 0.0883472717247357,
    # > se.tau2 0.423937279951256
    fit = T.reml(np.array([0.0, 0, 0, 0, 0, 1]), np.array([1.0, 1, 1, 1, 1, 0.125]), np.ones((6, 1)))
    assert fit.converged
    assert fit.tau2 == pytest.approx(0.0883472717247357, rel=1e-9)
    assert fit.se_tau2 == pytest.approx(0.423937279951256, rel=1e-9)


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
    assert _wls.generalized_q(y, v, X, lo) == pytest.approx(dist.chi2_ppf(0.975, df), rel=1e-10)
    assert _wls.generalized_q(y, v, X, hi) == pytest.approx(dist.chi2_ppf(0.025, df), rel=1e-10)


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
        assert _wls.q_function(y, v, ones)(t) == pytest.approx(y @ Pt @ y, rel=1e-11)
        ypPPy, trP, trPP, trW, trW2 = _wls.likelihood_terms(y, v, ones)(t)
        assert ypPPy == pytest.approx(y @ Pt @ Pt @ y, rel=1e-11)
        assert trP == pytest.approx(np.trace(Pt), rel=1e-12)
        assert trPP == pytest.approx(np.trace(Pt @ Pt), rel=1e-11)
        assert trW == pytest.approx(wt.sum(), rel=1e-12) and trW2 == pytest.approx(wt @ wt, rel=1e-12)
        assert f.q == pytest.approx(y @ Pt @ y, rel=1e-11)


# ---------------------------------------------------------------- Brent


@pytest.mark.parametrize("f, a, b, root", [
    (lambda x: x**3 - 2, 0.0, 3.0, 2 ** (1 / 3)),
    (math.cos, 0.0, 3.0, math.pi / 2),
    (lambda x: math.exp(x) - 1e-3, -20.0, 5.0, math.log(1e-3)),
    (lambda x: (x - 1) ** 3, -4.0, 5.0, 1.0),  # flat at the root: bisection steps must take over
])
def test_brent_finds_roots(f, a, b, root):
    assert _roots.brent(f, a, b, xtol=1e-15) == pytest.approx(root, rel=1e-12, abs=1e-14)


def test_brent_refuses_a_non_bracket():
    with pytest.raises(ValueError, match="does not bracket a root"):
        _roots.brent(lambda x: x * x + 1, -1.0, 1.0)


def test_bracket_decreasing_gives_up_at_the_limit():
    assert _roots.bracket_decreasing(lambda x: 1.0, 0.0, 1.0, limit=100.0) is None
    lo, hi, fhi = _roots.bracket_decreasing(lambda x: 10.0 - x, 0.0, 1.0)
    assert lo < 10.0 <= hi and fhi <= 0
