"""Estimators of the between-study variance tau2 in random- and mixed-effects models.

Each estimator is a pure function of the effect sizes ``yi`` (k,), their sampling variances ``vi`` (k,)
and the moderator matrix ``X`` (k, p; a column of ones without moderators) and returns a
:class:`Tau2Fit` with the estimate and its standard error as metafor (>= 3.8) reports it. Nothing here
forms a k x k matrix: every step costs O(k p^2) (see :mod:`._wls`), so k = 1,000,000 studies fit in
well under a second without moderators.

Notation: ``W = diag(w)``, ``P = W - W X (X'WX)^{-1} X' W``; with ``w = 1/vi`` the quadratic form
``y'Py = Q_E`` is Cochran's Q (residual heterogeneity with moderators), with ``w = 1/(vi + tau2)`` it
is the generalised Q statistic ``Q(tau2)``. Estimates outside the parameter space are truncated to 0,
as in metafor; a truncation is not a warning (metafor does not warn either).

References
----------
DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials. Control. Clin. Trials, 7(3),
177-188 (DL, eq. on p. 181); Raudenbush (2009) eq. 16.14 for the version with moderators.
Hedges, L. V. (1983). A random effects model for effect sizes. Psychol. Bull., 93(2), 388-395 (HE).
Hunter, J. E., & Schmidt, F. L. (1990). Methods of meta-analysis. Sage (HS); general form in
Viechtbauer et al. (2015).
Sidik, K., & Jonkman, J. N. (2005). Simple heterogeneity variance estimation for meta-analysis.
J. R. Stat. Soc. C, 54(2), 367-384 (SJ, eq. 6 and 9).
Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. J. Educ. Behav. Stat., 30(3), 261-293 (ML and REML Fisher scoring, eq. 11-14;
sampling variances of the HS, HE, DL, ML and REML estimators, eq. 16-22).
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and applications. JASA, 78(381),
47-55 (EB, and its variance approximation 2 k^2 / ((k - p) (sum w)^2)).
Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors. J. Res. Natl. Bur. Stand.,
87(5), 377-385 (PM: Q(tau2) = k - p).
Viechtbauer, W., et al. (2015). A comparison of procedures to test for moderators in mixed-effects
meta-regression models. Psychol. Methods, 20(3), 360-374 (EB = PM; HS with moderators).
Viechtbauer, W. (2021). Median-unbiased estimators for the amount of heterogeneity in meta-analysis.
European Congress of Methodology (PMM: Q(tau2) = median of chi2(k - p)).
DerSimonian, R., & Kacker, R. (2007). Random-effects model for meta-analysis of clinical trials: an update.
Contemp. Clin. Trials, 28(2), 105-114. doi:10.1016/j.cct.2006.04.004 (GENQ: the general method-of-moments
estimator with arbitrary weights).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .. import _distributions as dist
from ._roots import brent
from ._wls import (
    InterceptSums,
    dot,
    is_intercept_only,
    likelihood_terms,
    q_function,
    trace_P,
    trace_PDPD,
    wls,
    xdx,
)

#: the estimators of tau2, plus "FE"/"EE"/"CE" for the common-effect (equal-effects) model
METHODS = ("FE", "EE", "CE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM", "PMM")
#: estimators that also need user weights (metafor's ``weights=``): the generalised Q estimator
WEIGHTED_METHODS = ("GENQ",)
COMMON_EFFECT = frozenset({"FE", "EE", "CE"})

#: the rules of every iteration for tau2 (single fits, fit_many, leave-one-out fits; within_tolerance):
#: a step or a bracket of the root at most RTOL * (tau2 + mean(vi)) ends it (the cases: 1e-12 absolute)
RTOL = 1e-12
#: iterations allowed
MAXITER = 1000
#: Fisher scoring turns to Newton steps once its step is below SWITCH * (tau2 + mean(vi))
SWITCH = 1e-3
#: a Newton step below NEWTON_RTOL * (tau2 + mean(vi)) ends the iterations: the error left is of the
#: order of the square of that step (quadratic convergence), far below RTOL
NEWTON_RTOL = 1e-9
#: a Newton step for the Q-profile bounds below CURVED_STEP * (tau2 + mean(vi)) also ends the iterations
#: when the error it leaves, estimated from the curvature, is below RTOL times that (see _q_root)
CURVED_STEP = 1e-5


@dataclass(frozen=True)
class Tau2Fit:
    """An estimate of tau2: ``tau2`` (>= 0), ``se_tau2`` (NaN where undefined), ``converged``,
    ``iterations`` (0 for closed forms)."""

    tau2: float
    se_tau2: float
    converged: bool = True
    iterations: int = 0


def within_tolerance(step, tau2, scale, newton=False, width=math.inf):
    """The stopping rule of every iteration for tau2: the last ``step`` (to ``tau2``), or the ``width`` of
    the bracket of the root, is at most ``RTOL`` times tau2 + ``scale`` (a typical vi), or a ``newton`` step
    is at most ``NEWTON_RTOL`` times that. Arrays broadcast (one value per model)."""
    size, ref = np.abs(step), tau2 + scale
    return (size <= RTOL * ref) | (width <= RTOL * ref) | (newton & (size <= NEWTON_RTOL * ref))


def _scale(v: np.ndarray) -> float:
    """A typical sampling variance: sets absolute tolerances so that results do not depend on units."""
    return float(np.mean(v))


def _se_quadratic(X, a, v, tau2, factor) -> float:
    """SE of ``factor * y'P_a y`` (P built with fixed weights ``a``) under the model with ``tau2``:
    Var(y'P_a y) = 2 tr(P_a V* P_a V*), V* = diag(v + tau2) (quadratic forms in normal vectors; e.g.
    Viechtbauer, 2005, eq. 16-19; DerSimonian & Kacker, 2007, Contemp. Clin. Trials 28, eq. 8)."""
    fit = wls(np.zeros_like(v), X, a)
    vstar = v + tau2
    return float(abs(factor) * math.sqrt(2.0 * trace_PDPD(X, a, fit.A, vstar, vstar)))


def common_effect(yi, vi, X) -> Tau2Fit:
    """The common-effect (equal-effects) model: tau2 = 0 by assumption, no standard error."""
    return Tau2Fit(0.0, math.nan)


def dl(yi, vi, X) -> Tau2Fit:
    """DerSimonian-Laird: tau2 = (Q_E - (k - p)) / tr(P), P with weights 1/vi, truncated at 0."""
    k, p = X.shape
    w = 1.0 / vi
    fit = wls(yi, X, w)
    trP = trace_P(X, w, fit.A)
    tau2 = max(0.0, (fit.q - (k - p)) / trP)
    return Tau2Fit(tau2, _se_quadratic(X, w, vi, tau2, 1.0 / trP))


def _he_tau2(yi, vi, X, sums: InterceptSums | None = None) -> float:
    """The Hedges estimate alone (no standard error): the start of ML and REML. Without moderators,
    tau2 = sum((yi - mean(yi))^2) / (k - 1) - mean(vi), truncated at 0 (``sums`` may pass yi centred)."""
    k, p = X.shape
    if is_intercept_only(X):
        yc = sums.yc if sums is not None else yi - yi.mean()
        return max(0.0, dot(yc, yc) / (k - 1) - float(vi.mean()))
    fit = wls(yi, X, np.ones(k))
    trPV = float(vi.sum() - np.sum(fit.A * xdx(X, vi)))
    return max(0.0, (fit.q - trPV) / (k - p))


def he(yi, vi, X) -> Tau2Fit:
    """Hedges (variance component / Cochran) estimator from ordinary least squares residuals:
    tau2 = (RSS - tr(P V)) / (k - p), P = I - X(X'X)^{-1}X', truncated at 0."""
    k, p = X.shape
    tau2 = _he_tau2(yi, vi, X)
    return Tau2Fit(tau2, _se_quadratic(X, np.ones(k), vi, tau2, 1.0 / (k - p)))


def hs(yi, vi, X) -> Tau2Fit:
    """Hunter-Schmidt: tau2 = (Q_E - k) / sum(1/vi), truncated at 0 (Viechtbauer et al., 2015)."""
    k = X.shape[0]
    w = 1.0 / vi
    fit = wls(yi, X, w)
    sw = float(w.sum())
    tau2 = max(0.0, (fit.q - k) / sw)
    return Tau2Fit(tau2, _se_quadratic(X, w, vi, tau2, 1.0 / sw))


def sj(yi, vi, X) -> Tau2Fit:
    """Sidik-Jonkman: tau2 = tau2_0 Q(tau2_0) / (k - p), from the crude start
    tau2_0 = sum((yi - mean(yi))^2) / k (also with moderators), Sidik & Jonkman (2005), eq. 6 and 9."""
    k, p = X.shape
    t0 = float(np.mean((yi - yi.mean()) ** 2))
    w0 = 1.0 / (vi + t0)
    q0 = wls(yi, X, w0).q
    tau2 = t0 * q0 / (k - p)
    return Tau2Fit(tau2, _se_quadratic(X, w0, vi, tau2, t0 / (k - p)))


def _fisher_scoring(yi, vi, X, *, restricted: bool, start: float, sums: InterceptSums | None = None
                    ) -> Tau2Fit:
    """Maximise the (restricted) log-likelihood over tau2 >= 0 by Fisher scoring (Viechtbauer, 2005,
    eq. 11-14), then Newton's method near the maximum: tau2 <- tau2 + score / information, with

        ML:   score = (y'PPy - tr(W)) / 2,  information = tr(W^2) / 2,
        REML: score = (y'PPy - tr(P)) / 2,  information = tr(PP) / 2,

    W = diag(1/(vi + tau2)). Fisher scoring is metafor's algorithm, so that where the likelihood has several
    maxima the one metafor finds is found; it converges linearly. Once its step is below ``SWITCH`` times
    tau2 + mean(vi), the expected information is replaced by the observed one (minus the derivative of the
    score: y'PPPy - tr(W^2)/2 for ML, y'PPPy - tr(PP)/2 for REML; Harville, 1977, JASA 72(358), 320-338),
    which converges quadratically: the iterations stop after a Newton step below ``NEWTON_RTOL`` times
    tau2 + mean(vi) (what remains is of the order of its square), or any step below ``RTOL`` times that.

    A step that would leave the parameter space is halved until it does not (Jennrich & Sampson, 1976,
    Technometrics 18, 11-17), unless the score at tau2 = 0 is not positive: then the maximum over tau2 >= 0
    is at the boundary and tau2 = 0 exactly (metafor's step halving approaches 0 to within its threshold
    instead: 3e-14 rather than 0 in the case mr_raudenbush1985_weeks_REML). Once the score has been seen
    positive at some tau2 and negative at a larger one, a step that leaves that bracket, or is not smaller
    than half the previous step, is replaced by Brent's method on the score within the bracket (the
    safeguard of ``rtsafe``, Press et al., 2007, Numerical Recipes, 3rd ed., sec. 9.4): plain Fisher
    scoring can oscillate (metafor then stops with "did not converge", e.g. yi = (0, 0, 0, 0, 0, 1),
    vi = (1, 1, 1, 1, 1, 0.125)), or approach a two-cycle that shrinks only slowly. Returns
    se_tau2 = sqrt(1 / information), the information of the last evaluation (at most a step of relative
    size ``NEWTON_RTOL`` from the estimate).
    """
    scale = _scale(vi)
    tol = RTOL * scale

    terms = likelihood_terms(yi, vi, X, sums)

    def score_info(t, third=False):
        ypPPy, trP, trPP, trW, trW2, ypPPPy = terms(t, third)
        if restricted:
            return 0.5 * (ypPPy - trP), 0.5 * trPP, ypPPPy - 0.5 * trPP
        return 0.5 * (ypPPy - trW), 0.5 * trW2, ypPPPy - 0.5 * trW2

    tau2 = max(0.0, start)
    converged = False
    lo = hi = None  # largest tau2 seen with a positive score, smallest with a negative score
    newton = False  # Fisher steps until they are small, then Newton steps
    last = math.inf  # the length of the previous step
    it = 0
    while it < MAXITER:
        it += 1
        score, info, observed = score_info(tau2, third=newton)
        if score > 0:
            lo = tau2 if lo is None else max(lo, tau2)
        elif score < 0:
            hi = tau2 if hi is None else min(hi, tau2)
        step = score / info
        if newton and observed > 0:
            step = score / observed
        if tau2 + step < 0.0:
            if tau2 == 0.0 or score_info(0.0)[0] <= 0.0:  # the likelihood decreases from tau2 = 0 on
                tau2, converged = 0.0, True
                info = score_info(0.0)[1]
                break
            while tau2 + step < 0.0:  # step halving keeps tau2 >= 0 (terminates: tau2 > 0 here)
                step /= 2.0
        if lo is not None and hi is not None and lo < hi and (not lo < tau2 + step < hi
                                                              or abs(step) > 0.5 * last):
            # the step leaves the bracket of the score's root, or does not halve the previous one
            # (Fisher scoring would oscillate, or converge slowly): find the root of the score inside
            # the bracket instead
            tau2 = brent(lambda t: score_info(t)[0], lo, hi, xtol=tol)
            info = score_info(tau2)[1]
            converged = True
            break
        tau2 += step
        size = last = abs(step)
        if within_tolerance(size, tau2, scale, newton and observed > 0):
            converged = True
            break
        newton = newton or size <= SWITCH * (tau2 + scale)
    return Tau2Fit(tau2, math.sqrt(1.0 / info), converged, it)


def ml(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Maximum likelihood (Hardy & Thompson, 1996; Viechtbauer, 2005), Fisher scoring from HE."""
    return _fisher_scoring(yi, vi, X, restricted=False, start=_he_tau2(yi, vi, X, sums), sums=sums)


def reml(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Restricted maximum likelihood (Viechtbauer, 2005; Raudenbush, 2009), Fisher scoring from HE."""
    return _fisher_scoring(yi, vi, X, restricted=True, start=_he_tau2(yi, vi, X, sums), sums=sums)


def _q_root(q, target: float, *, start: float, at_start: tuple[float, float], scale: float,
            limit: float) -> tuple[float, bool]:
    """The root of Q(tau2) = ``target``, where Q(0) > target, by Newton's method on
    h(tau2) = 1/Q(tau2) - 1/target (increasing, and nearly linear: exactly so when all vi are equal,
    Q = sum((y - mean y)^2) / (v + tau2)), from ``start`` where (Q, Q') = ``at_start``.

    h' = -Q'/Q^2. Every evaluation narrows a bracket [lo, hi] (h < 0 at lo, h > 0 at hi; lo = 0 at first,
    hi = infinity); a step that leaves it is replaced by bisection, or by doubling while hi is infinite
    (the safeguard of ``rtsafe``: Press et al., 2007, Numerical Recipes, 3rd ed., sec. 9.4). Stops after
    a Newton step s below ``NEWTON_RTOL`` times tau2 + mean(vi) (quadratic convergence: what remains is of
    the order of its square), or below ``CURVED_STEP`` times that when the error it leaves,
    |h''| s^2 / (2 |h'|) (Press et al., 2007, eq. 9.4.13), with h'' the slope of h' between the last
    two points, is below ``RTOL`` times that (with many studies the first step from the estimate already
    lands within 1e-6: one evaluation per bound instead of two); or when the bracket is narrower than
    ``RTOL`` times tau2 + mean(vi) (:func:`within_tolerance`). Returns (tau2, found); not found (NaN)
    when Q stays above ``target`` up to ``limit``.
    """
    lo, hi = 0.0, math.inf
    t, (qt, dq) = start, at_start
    previous = None  # (tau2, h') at the point before t
    for _ in range(MAXITER):
        h = 1.0 / qt - 1.0 / target
        if h < 0.0:
            lo = max(lo, t)
        elif h > 0.0:
            hi = min(hi, t)
        else:
            return t, True
        slope = -dq / (qt * qt)
        new = t - h / slope if slope > 0.0 else math.nan
        newton = lo < new < hi
        if not newton:
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * max(t, lo) + scale
        if newton and within_tolerance(new - t, new, scale, True):
            return new, True
        if newton and previous is not None and abs(new - t) <= CURVED_STEP * (new + scale):
            curvature = abs(slope - previous[1]) / abs(t - previous[0])
            if curvature * (new - t) ** 2 <= 2.0 * slope * RTOL * (new + scale):
                return new, True
        previous = (t, slope)
        if within_tolerance(math.inf, lo, scale, width=hi - lo):
            return 0.5 * (lo + hi), True
        if new > limit:
            if t >= limit:
                return math.nan, False
            new = limit
        t = new
        qt, dq = q(t)
    return t, False


def solve_generalized_q(yi, vi, X, target: float, *, q=None, start: float = 0.0,
                        at_start: tuple[float, float] | None = None, q0: float | None = None,
                        sums: InterceptSums | None = None) -> tuple[float, bool]:
    """The tau2 >= 0 at which the generalised Q statistic equals ``target``, 0 if Q(0) <= target.

    Q(tau2) decreases in tau2 (Viechtbauer, 2007, Stat. Med. 26, 37-52), so the root is unique; it is found
    by :func:`_q_root` from ``start`` (default 0). ``q`` may pass a ready :func:`._wls.q_function` (or
    ``sums`` the sums it is built on), ``at_start`` its value at ``start`` and ``q0`` the value Q(0), to
    save evaluations. Returns
    (tau2, found); ``found`` is False (and tau2 NaN) when Q stays above ``target`` for every tau2 up to
    :func:`_search_limit`.
    """
    q = q_function(yi, vi, X, sums) if q is None else q
    if not (math.isfinite(start) and start > 0.0):  # no usable start (an estimate that was not found)
        start, at_start = 0.0, None
    if at_start is None:
        at_start = q(start)
    if q0 is None:
        q0 = at_start[0] if start == 0.0 else q(0.0)[0]
    if q0 <= target:
        return 0.0, True
    return _q_root(q, target, start=start, at_start=at_start, scale=_scale(vi),
                   limit=_search_limit(yi, vi, X, target))


def _search_limit(yi, vi, X, target: float) -> float:
    """Where the search for Q(tau2) = ``target`` stops: :func:`search_limit` of the ordinary least-squares
    residual sum of squares."""
    resid = yi - X @ np.linalg.lstsq(X, yi, rcond=None)[0]
    return float(search_limit(float(resid @ resid), _scale(vi), target))


def search_limit(rss, mean_v, target):
    """Where a search for Q(tau2) = ``target`` stops: 1e12 times the typical vi, or further when the data
    need it. Q(tau2) = min_b sum (y - Xb)^2 / (v + tau2) <= RSS / (min v + tau2), with RSS the ordinary
    least-squares residual sum of squares, so the root lies below RSS / ``target``: effect sizes spread
    far beyond their sampling variances (yi in the millions, vi = 0.001) are still found. Arrays broadcast
    (the batched engine's rows)."""
    return np.maximum(1e12 * mean_v, 2.0 * rss / target)


def _se_morris(X, vi, tau2) -> float:
    """Morris (1983) approximation to the SE of the EB/PM estimators: sqrt(2 k^2 / ((k - p) (sum w)^2)),
    w = 1/(vi + tau2)."""
    k, p = X.shape
    sw = float(np.sum(1.0 / (vi + tau2)))
    return math.sqrt(2.0 * k * k / (k - p)) / sw


def pm(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Paule-Mandel: the tau2 with Q(tau2) = k - p (0 when Q(0) <= k - p)."""
    k, p = X.shape
    tau2, ok = solve_generalized_q(yi, vi, X, float(k - p), sums=sums)
    return Tau2Fit(tau2, _se_morris(X, vi, tau2), ok)


def eb(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Empirical Bayes (Morris, 1983; Berkey et al., 1995): the tau2 >= 0 solving
    sum w_i (k/(k-p) e_i^2 - v_i - tau2) = 0, w_i = 1/(v_i + tau2), e = WLS residuals.
    Since sum w_i (v_i + tau2) = k, this is Q(tau2) = k - p: the Paule-Mandel equation (Viechtbauer et al.,
    2015), solved here by the same root finder."""
    return pm(yi, vi, X, sums)


def pmm(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Median-unbiased Paule-Mandel: the tau2 with Q(tau2) = the median of chi2(k - p)."""
    k, p = X.shape
    tau2, ok = solve_generalized_q(yi, vi, X, float(dist.chi2_ppf(0.5, k - p)), sums=sums)
    return Tau2Fit(tau2, _se_morris(X, vi, tau2), ok)


def genq(yi, vi, X, weights) -> Tau2Fit:
    """Generalised Q (method of moments with user weights a_i; DerSimonian & Kacker, 2007): with
    P_a = A - A X (X'AX)^{-1} X'A, A = diag(a), the quadratic form Q_a = y'P_a y has expectation
    tr(P_a V) + tau2 tr(P_a), V = diag(vi), so tau2 = (Q_a - tr(P_a V)) / tr(P_a), truncated at 0.
    DL is the case a = 1/vi, HE the case a = 1. SE: that of Q_a / tr(P_a) under the model (see
    :func:`_se_quadratic`)."""
    a = weights
    fit = wls(yi, X, a)
    trP = trace_P(X, a, fit.A)
    trPV = float(dot(a, vi) - np.sum(fit.A * xdx(X, a * a * vi)))  # sum(a v) - tr((X'AX)^{-1} X'AVAX)
    tau2 = max(0.0, (fit.q - trPV) / trP)
    return Tau2Fit(tau2, _se_quadratic(X, a, vi, tau2, 1.0 / trP))


ESTIMATORS = {"FE": common_effect, "EE": common_effect, "CE": common_effect, "DL": dl, "HE": he, "HS": hs,
              "SJ": sj, "ML": ml, "REML": reml, "EB": eb, "PM": pm, "PMM": pmm}
#: the estimators that take an InterceptSums (the iterative ones)
SHARE_SUMS = frozenset({"ML", "REML", "EB", "PM", "PMM"})


def estimate_tau2(method: str, yi: np.ndarray, vi: np.ndarray, X: np.ndarray,
                  weights: np.ndarray | None = None, sums: InterceptSums | None = None) -> Tau2Fit:
    """Dispatch to the estimator named ``method`` (one of :data:`METHODS` or :data:`WEIGHTED_METHODS`,
    already validated); ``weights`` (k,) are those of the weighted methods (GENQ); ``sums`` (the model
    without moderators) is shared with the iterative estimators, which evaluate them repeatedly.

    Needs k - p >= 1 for every estimator but the common-effect model; with k = p the caller fixes
    tau2 = 0 (see :func:`commonfactors.models.univariate.fit`).
    """
    if method == "GENQ":
        return genq(yi, vi, X, weights)
    if sums is not None and method in SHARE_SUMS:
        return ESTIMATORS[method](yi, vi, X, sums)
    return ESTIMATORS[method](yi, vi, X)


@functools.lru_cache(maxsize=1024)
def _chi2_quantile(prob: float, df: int) -> float:
    """chi2_ppf(prob, df), remembered: the fits of a subgroup analysis need the same few quantiles."""
    return float(dist.chi2_ppf(prob, df))


def q_profile_ci(yi, vi, X, level: float, *, start: float = 0.0, q0: float | None = None,
                 at_start: tuple[float, float] | None = None, sums: InterceptSums | None = None
                 ) -> tuple[float, float]:
    """Q-profile confidence interval for tau2 (Viechtbauer, 2007, Stat. Med. 26, 37-52, eq. 6-7).

    The bounds are the tau2 at which the generalised Q statistic equals the upper and lower alpha/2
    quantiles of chi2(k - p): Q(lower) = chi2_{1 - alpha/2}, Q(upper) = chi2_{alpha/2}. A bound whose
    equation has no root in tau2 >= 0 (Q(0) already below the quantile) is 0, as in metafor's confint.
    The upper bound is searched up to :func:`_search_limit` (metafor stops at tau2 = 100 and prints
    ">100"); beyond that it is NaN. Both roots are found by Newton steps (:func:`_q_root`) from ``start``,
    best the estimate of tau2 (the interval is around it: one or two steps each for large k). ``q0`` may
    pass Q(0), Cochran's Q_E (weights 1/vi), ``at_start`` (Q, Q') at ``start`` and ``sums`` the
    :class:`._wls.InterceptSums` of the model without moderators, to save evaluations.
    """
    k, p = X.shape
    alpha = 1.0 - level / 100.0
    df = k - p
    q = q_function(yi, vi, X, sums)
    if not (math.isfinite(start) and start > 0.0):
        start, at_start = 0.0, None
    if at_start is None:
        at_start = q(start)
    if q0 is None:
        q0 = at_start[0] if start == 0.0 else q(0.0)[0]
    lower, _ = solve_generalized_q(yi, vi, X, _chi2_quantile(1.0 - alpha / 2.0, df), q=q, start=start,
                                   at_start=at_start, q0=q0)
    upper, _ = solve_generalized_q(yi, vi, X, _chi2_quantile(alpha / 2.0, df), q=q, start=start,
                                   at_start=at_start, q0=q0)
    return lower, upper
