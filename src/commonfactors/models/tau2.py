"""Estimators of the between-study variance tau2 in random- and mixed-effects models.

Each estimator is a pure function of the effect sizes ``yi`` (k,), their sampling variances ``vi`` (k,)
and the moderator matrix ``X`` (k, p; a column of ones without moderators) and returns a
:class:`Tau2Fit` with the estimate and its standard error as metafor (>= 3.8) reports it. Nothing here
forms a k x k matrix: every step costs O(k p^2) (see :mod:`._wls`), so k = 1,000,000 studies fit in
well under a second without moderators.

Each estimator is written once, for the three engines that fit models: a single fit with any X (the
functions below), :func:`.batch.fit_many` (m meta-analyses without moderators at once) and the k fits
without one study of :mod:`._leave_one_out`. The closed forms are one equation on the statistics each
engine computes its own way (:func:`closed_form`); the iterative estimators share one iteration for the
likelihood (:func:`score_roots`, ML and REML) and one root finder of Q(tau2) = target (:func:`q_roots`,
PM, EB, PMM and the Q-profile intervals), with one stopping rule (:func:`within_tolerance`); a single
fit calls them with n = 1.

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
#: when the error it leaves, estimated from the curvature, is below RTOL times that (see q_roots)
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


#: the estimators of :func:`closed_form`
CLOSED_FORMS = ("DL", "HE", "HS", "SJ", "GENQ")


def closed_form(method: str, s):
    """The closed-form estimators, written once for every engine: each equates a quadratic form y'P_a y of
    the residuals with fixed weights a to its expectation under the model, tr(P_a V) + tau2 tr(P_a), as

        tau2 = max(0, (y'P_a y - offset) / divisor),

    from the statistics ``s`` of n models (numbers, or arrays of n) that a single fit with any X
    (:class:`Statistics`), :func:`.batch.fit_many` and the leave-one-out fits compute their own way:

    - DL (DerSimonian & Laird, 1986, p. 181; Raudenbush, 2009, eq. 16.14): a = 1/vi, Q_E (``q_e``) with
      offset k - p (``df``) and divisor tr(P) (``tr_p``);
    - HE (Hedges, 1983): a = 1, the residual sum of squares (``rss``) with offset tr(P V) (``tr_pv``) and
      divisor k - p;
    - HS (Hunter & Schmidt, 1990; Viechtbauer et al., 2015): a = 1/vi, Q_E with offset k (``k``) and
      divisor sum(1/vi) (``sum_w``);
    - SJ (Sidik & Jonkman, 2005, eq. 6 and 9): a = 1/(vi + tau2_0) from the crude start
      tau2_0 = mean((y - mean(y))^2) (``crude``, also with moderators), Q(tau2_0) (``q_crude``) with offset
      0 and divisor (k - p) / tau2_0: tau2 = tau2_0 Q(tau2_0) / (k - p) (0 when tau2_0 = 0);
    - GENQ (DerSimonian & Kacker, 2007): the user's weights a (one fit only), Q_a (``q_a``) with offset
      tr(P_a V) (``tr_pav``) and divisor tr(P_a) (``tr_pa``).

    Returns (tau2, the name of the weights a, 1 / divisor): what :func:`closed_form_se` needs.
    """
    if method == "SJ":
        factor = s.crude / s.df
        return s.q_crude * factor, "crude", factor
    if method == "GENQ":
        weights, q, offset, divisor = "user", s.q_a, s.tr_pav, s.tr_pa
    elif method == "DL":
        weights, q, offset, divisor = "inverse", s.q_e, s.df, s.tr_p
    elif method == "HE":
        weights, q, offset, divisor = "unit", s.rss, s.tr_pv, s.df
    else:
        weights, q, offset, divisor = "inverse", s.q_e, s.k, s.sum_w
    return np.maximum(0.0, (q - offset) / divisor), weights, 1.0 / divisor


def closed_form_se(s, weights: str, factor, tau2):
    """SE of a closed-form estimate (:func:`closed_form`) under the model with ``tau2``: that of
    ``factor`` y'P_a y, Var(y'P_a y) = 2 tr(P_a V* P_a V*), V* = diag(v + tau2) (quadratic forms in normal
    vectors; e.g. Viechtbauer, 2005, eq. 16-19; DerSimonian & Kacker, 2007, Contemp. Clin. Trials 28,
    eq. 8), from ``s.variance(weights, tau2)``."""
    return np.abs(factor) * np.sqrt(s.variance(weights, tau2))


def morris_se(k, df, sum_w):
    """Morris (1983) approximation to the SE of the EB/PM/PMM estimators, sqrt(2 k^2 / (k - p)) / sum(w),
    w = 1/(vi + tau2) (JASA 78(381), 47-55, the variance of the EB estimate of A)."""
    return np.sqrt(2.0 * k * k / df) / sum_w


class Statistics:
    """The statistics of :func:`closed_form` for one model with any X (numbers), each computed when first
    asked for; ``sums`` may pass the :class:`._wls.InterceptSums` of the model without moderators and
    ``weights`` the user's weights of GENQ."""

    def __init__(self, yi, vi, X, sums: InterceptSums | None = None, weights: np.ndarray | None = None):
        self.yi, self.vi, self.X, self.sums, self.user = yi, vi, X, sums, weights
        self.k, p = X.shape
        self.df = self.k - p
        self._fits: dict[str, tuple] = {}
        self._forms: dict[str, tuple] = {}

    def _weights(self, name: str) -> np.ndarray:
        return {"inverse": lambda: 1.0 / self.vi, "unit": lambda: np.ones(self.k),
                "crude": lambda: 1.0 / (self.vi + self.crude), "user": lambda: self.user}[name]()

    def _fit(self, name: str) -> tuple:
        """The weights ``name`` and the weighted least-squares fit with them, computed once."""
        if name not in self._fits:
            a = self._weights(name)
            self._fits[name] = (a, wls(self.yi, self.X, a))
        return self._fits[name]

    def form(self, name: str) -> tuple[float, float, float]:
        """y'P_a y, tr(P_a) and tr(P_a V) = sum(a v) - tr((X'AX)^{-1} X'AVAX) with the weights ``name``."""
        if name not in self._forms:
            a, fit = self._fit(name)
            self._forms[name] = (fit.q, trace_P(self.X, a, fit.A),
                                 float(dot(a, self.vi) - np.sum(fit.A * xdx(self.X, a * a * self.vi))))
        return self._forms[name]

    q_e = property(lambda self: self.form("inverse")[0])
    tr_p = property(lambda self: self.form("inverse")[1])
    sum_w = property(lambda self: float(np.sum(1.0 / self.vi)))
    q_crude = property(lambda self: self.form("crude")[0])
    q_a, tr_pa, tr_pav = (property(lambda self, i=i: self.form("user")[i]) for i in range(3))

    @functools.cached_property
    def _centred(self) -> np.ndarray:
        return self.sums.yc if self.sums is not None else self.yi - self.yi.mean()

    @property
    def rss(self) -> float:
        """Without moderators sum((y - mean(y))^2), from y centred once."""
        return dot(self._centred, self._centred) if is_intercept_only(self.X) else self.form("unit")[0]

    @property
    def tr_pv(self) -> float:
        """Without moderators sum(v) (k - 1) / k."""
        if is_intercept_only(self.X):
            return float(self.vi.sum()) * (self.k - 1) / self.k
        return self.form("unit")[2]

    @functools.cached_property
    def crude(self) -> float:
        return dot(self._centred, self._centred) / self.k

    def variance(self, weights: str, tau2: float) -> float:
        """2 tr(P_a V* P_a V*), V* = diag(vi + tau2) (see :func:`._wls.trace_PDPD`)."""
        a, fit = self._fit(weights)
        vstar = self.vi + tau2
        return 2.0 * trace_PDPD(self.X, a, fit.A, vstar, vstar)


def _closed(method: str):
    def estimator(yi, vi, X) -> Tau2Fit:
        s = Statistics(yi, vi, X)
        tau2, weights, factor = closed_form(method, s)
        return Tau2Fit(float(tau2), float(closed_form_se(s, weights, factor, tau2)))
    estimator.__name__ = estimator.__qualname__ = method.lower()
    estimator.__doc__ = f"The {method} estimator of tau2 and its SE (:func:`closed_form`)."
    return estimator


dl, he, hs, sj = (_closed(m) for m in ("DL", "HE", "HS", "SJ"))


def common_effect(yi, vi, X) -> Tau2Fit:
    """The common-effect (equal-effects) model: tau2 = 0 by assumption, no standard error."""
    return Tau2Fit(0.0, math.nan)


def score_roots(equation, start, scale, maxiter: int = MAXITER):
    """The maxima over tau2 >= 0 of the (restricted) likelihoods of n models at once, as roots of their
    scores g (positive below the root, negative above it): the one iteration of the ML and REML estimators,
    for a single fit (n = 1), :func:`.batch.fit_many` and the leave-one-out fits.

    ``equation(t, idx)`` returns g, its expected information and -g' at ``t`` of the models ``idx``
    (positions in the n; the same array object until the models still iterating are at most half of it).
    With W = diag(1/(vi + tau2)) and the score doubled (Viechtbauer, 2005, eq. 11-14; Harville, 1977,
    JASA 72(358), 320-338, for the derivatives):

        ML:   g = y'PPy - tr(W),  information tr(W^2),  -g' = 2 y'PPPy - tr(W^2);
        REML: g = y'PPy - tr(P),  information tr(PP),   -g' = 2 y'PPPy - tr(PP).

    Steps are Fisher scoring (g over the information: metafor's algorithm, so that where the likelihood has
    several maxima the one metafor finds is found; it converges linearly) from ``start`` until a step is
    below ``SWITCH`` times tau2 + ``scale`` (a typical vi; an array of n or a number), then Newton's
    (g / -g', quadratic convergence) while -g' > 0. Every evaluation narrows a bracket [lo, hi] (g > 0:
    lo = t; g < 0: hi = t). A step below 0 goes to 0 once: where g(0) <= 0 the maximum over tau2 >= 0 is
    at the boundary and tau2 = 0 exactly. A step that leaves the bracket, or is not smaller than half the
    previous one, is replaced by bisection (the safeguard of ``rtsafe``, Press et al., 2007, Numerical
    Recipes, 3rd ed., sec. 9.4): plain Fisher scoring can oscillate (metafor then stops with "did not
    converge", e.g. yi = (0, 0, 0, 0, 0, 1), vi = (1, 1, 1, 1, 1, 0.125)), or approach a two-cycle that
    shrinks only slowly; the bisection cannot change a fixed point. Each model stops by
    :func:`within_tolerance`; finished ones are frozen, and dropped from the working set once they are half
    of it. Returns (tau2, converged, positive, iterations): arrays of n (``positive``: g was seen > 0) and
    the number of evaluations.
    """
    t = np.array(start, dtype=np.float64).reshape(-1)
    n = t.size
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (n,))
    tau2, converged, positive = t.copy(), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    idx, active = np.arange(n), np.ones(n, dtype=bool)  # the working set, and which of it still iterates
    lo, hi = np.zeros(n), np.full(n, math.inf)
    seen0 = t == 0  # g(0) known (or about to be)
    last = np.full(n, math.inf)  # the previous step's length
    iterations = 0
    while iterations < maxiter:
        iterations += 1
        g, d_fisher, d_newton = (np.asarray(a, dtype=np.float64).reshape(-1) for a in equation(t, idx))
        lo = np.where(g > 0, t, lo)
        hi = np.where(g < 0, t, hi)
        positive[idx[active & (g > 0)]] = True
        boundary = (t == 0) & (g <= 0)
        step = g / d_fisher
        near = (np.abs(step) <= SWITCH * (t + scale)) & (d_newton > 0)
        step = np.where(near, g / np.where(near, d_newton, 1.0), step)
        new = t + step
        bisect = ~((new > lo) & (new < hi)) | ((np.abs(step) > 0.5 * last) & np.isfinite(hi))
        new = np.where(bisect, 0.5 * (lo + hi), new)
        new = np.where((new <= 0) | ((t + step <= 0) & ~seen0), 0.0, new)  # try the boundary once
        seen0 |= new == 0
        done = active & (boundary | (g == 0) | within_tolerance(new - t, new, scale, near & ~bisect, hi - lo))
        last = np.abs(new - t)
        new = np.where(boundary | (g == 0), t, new)
        tau2[idx[active]] = new[active]
        converged[idx[done]] = True
        active &= ~done
        n_active = int(active.sum())
        if n_active == 0:
            break
        t = np.where(active, new, t)
        if n_active <= idx.size // 2:
            idx, t, lo, hi, seen0, last, scale = (a[active] for a in (idx, t, lo, hi, seen0, last, scale))
            active = np.ones(n_active, dtype=bool)
    return tau2, converged, positive, iterations


def likelihood_equation(terms, restricted: bool):
    """g, the expected information and -g' of :func:`score_roots` from the terms (y'PPy, tr(P), tr(PP),
    tr(W), tr(W^2), y'PPPy) of the (restricted) likelihood."""
    ypPPy, trP, trPP, trW, trW2, ypPPPy = terms
    if restricted:
        return ypPPy - trP, trPP, 2.0 * ypPPPy - trPP
    return ypPPy - trW, trW2, 2.0 * ypPPPy - trW2


def _likelihood(yi, vi, X, *, restricted: bool, sums: InterceptSums | None = None) -> Tau2Fit:
    """ML or REML for one model (:func:`score_roots`) from the HE estimate; se_tau2 = sqrt(2 / information)
    at the estimate."""
    terms = likelihood_terms(yi, vi, X, sums)

    def equation(t, _):
        return likelihood_equation(terms(float(t[0]), True), restricted)

    start = float(closed_form("HE", Statistics(yi, vi, X, sums))[0])
    tau2, converged, _, iterations = score_roots(equation, [start], _scale(vi))
    tau2 = float(tau2[0])
    info = likelihood_equation(terms(tau2), restricted)[1]
    return Tau2Fit(tau2, math.sqrt(2.0 / info), bool(converged[0]), iterations)


def ml(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Maximum likelihood (Hardy & Thompson, 1996; Viechtbauer, 2005), from HE (:func:`score_roots`)."""
    return _likelihood(yi, vi, X, restricted=False, sums=sums)


def reml(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Restricted maximum likelihood (Viechtbauer, 2005; Raudenbush, 2009), from HE (:func:`score_roots`)."""
    return _likelihood(yi, vi, X, restricted=True, sums=sums)


def q_roots(q, target, *, start, at_start, scale, limit, maxiter: int = MAXITER):
    """The roots of Q(tau2) = ``target`` of n models at once, where each Q(0) > target, by Newton's method
    on h(tau2) = 1/Q(tau2) - 1/target (increasing, and nearly linear: exactly so when all vi are equal,
    Q = sum((y - mean y)^2) / (v + tau2)), from ``start`` where (Q, Q') = ``at_start``. Q(tau2) decreases
    in tau2 (Viechtbauer, 2007, Stat. Med. 26, 37-52), so each root is unique. The one root finder of
    the Paule-Mandel, empirical Bayes and median-unbiased estimators and of the Q-profile intervals, for
    a single fit (n = 1), :func:`.batch.fit_many` and the leave-one-out fits.

    ``q(t, idx)`` returns (Q, Q') at ``t`` of the models ``idx`` (positions in the n; the same array
    object until the models still iterating are at most half of it). ``target``, ``scale`` (a typical vi)
    and ``limit`` (see :func:`search_limit`) are arrays of n, or numbers. h' = -Q'/Q^2. Every evaluation
    narrows a bracket [lo, hi] (h < 0 at lo, h > 0 at hi; lo = 0 at first, hi = infinity); a step that
    leaves it is replaced by bisection, or by doubling while hi is infinite (the safeguard of ``rtsafe``:
    Press et al., 2007, Numerical Recipes, 3rd ed., sec. 9.4). A root is found after a Newton step s
    within :func:`within_tolerance`, or below ``CURVED_STEP`` times tau2 + scale when the error it leaves,
    |h''| s^2 / (2 |h'|) (Press et al., 2007, eq. 9.4.13), with h'' the slope of h' between the last two
    points, is below ``RTOL`` times that (with many studies the first step from the estimate already
    lands within 1e-6: one evaluation per bound instead of two); or when the bracket is within
    :func:`within_tolerance`. Returns (tau2, found), arrays of n; not found (NaN) where Q stays above
    ``target`` up to ``limit``, or after ``maxiter`` evaluations (the last iterate).
    """
    t = np.array(start, dtype=np.float64).reshape(-1)
    n = t.size
    qt, dq = (np.asarray(a, dtype=np.float64).reshape(-1) for a in at_start)
    target, scale, limit = (np.broadcast_to(np.asarray(a, dtype=np.float64), (n,))
                            for a in (target, scale, limit))
    tau2, found = np.full(n, math.nan), np.zeros(n, dtype=bool)
    idx, active = np.arange(n), np.ones(n, dtype=bool)  # the working set, and which of it still iterates
    lo, hi = np.zeros(n), np.full(n, math.inf)
    previous_t, previous_slope = np.full(n, math.nan), np.full(n, math.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(maxiter):
            h = 1.0 / qt - 1.0 / target
            lo = np.where(h < 0.0, np.maximum(lo, t), lo)
            hi = np.where(h > 0.0, np.minimum(hi, t), hi)
            slope = -dq / (qt * qt)
            new = np.where(slope > 0.0, t - h / slope, math.nan)
            newton = (lo < new) & (new < hi)
            outside = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * np.maximum(t, lo) + scale)
            new = np.where(newton, new, outside)
            step = new - t
            curvature = np.abs(slope - previous_slope) / np.abs(t - previous_t)
            curved = ((np.abs(step) <= CURVED_STEP * (new + scale))
                      & (curvature * step * step <= 2.0 * slope * RTOL * (new + scale)))
            exact = h == 0.0
            close = ~exact & newton & (within_tolerance(step, new, scale, True) | curved)
            narrow = ~exact & ~close & within_tolerance(math.inf, lo, scale, width=hi - lo)
            beyond = ~(exact | close | narrow) & (new > limit)
            lost = beyond & (t >= limit)
            done = active & (exact | close | narrow | lost)
            value = np.where(exact, t, np.where(close, new, np.where(narrow, 0.5 * (lo + hi), math.nan)))
            tau2[idx[done]] = value[done]
            found[idx[done & ~lost]] = True
            active &= ~done
            n_active = int(active.sum())
            if n_active == 0:
                break
            previous_t, previous_slope = t, slope
            t = np.where(active, np.where(beyond, limit, new), t)
            if n_active <= idx.size // 2:
                keep = active
                idx, t, lo, hi, previous_t, previous_slope, target, scale, limit = (
                    a[keep] for a in (idx, t, lo, hi, previous_t, previous_slope, target, scale, limit))
                active = np.ones(n_active, dtype=bool)
            qt, dq = (np.asarray(a, dtype=np.float64).reshape(-1) for a in q(t, idx))
        else:
            tau2[idx[active]] = t[active]
    return tau2, found


def _start(q, start: float, at_start, q0):
    """(start, (Q, Q') at start, Q(0)) of a search for Q(tau2) = target: from 0 where ``start`` is not a
    usable estimate (0, or one that was not found), the values not passed computed."""
    if not (math.isfinite(start) and start > 0.0):
        start, at_start = 0.0, None
    if at_start is None:
        at_start = q(start)
    if q0 is None:
        q0 = at_start[0] if start == 0.0 else q(0.0)[0]
    return start, at_start, q0


def solve_generalized_q(yi, vi, X, target: float, *, q=None, start: float = 0.0,
                        at_start: tuple[float, float] | None = None, q0: float | None = None,
                        sums: InterceptSums | None = None, rss: float | None = None) -> tuple[float, bool]:
    """The tau2 >= 0 at which the generalised Q statistic equals ``target``, 0 if Q(0) <= target.

    Found by :func:`q_roots` (one model) from ``start`` (default 0). ``q`` may pass a ready
    :func:`._wls.q_function` (or ``sums`` the sums it is built on), ``at_start`` its value at ``start``,
    ``q0`` the value Q(0) and ``rss`` the ordinary least-squares residual sum of squares, to save
    evaluations. Returns (tau2, found); ``found`` is False (and tau2 NaN) when Q stays above ``target``
    for every tau2 up to :func:`search_limit`.
    """
    q = q_function(yi, vi, X, sums) if q is None else q
    start, at_start, q0 = _start(q, start, at_start, q0)
    if q0 <= target:
        return 0.0, True
    rss = Statistics(yi, vi, X, sums).rss if rss is None else rss
    roots, found = q_roots(lambda t, _: q(float(t[0])), target, start=start, at_start=at_start,
                           scale=_scale(vi), limit=search_limit(rss, _scale(vi), target))
    return float(roots[0]), bool(found[0])


def search_limit(rss, mean_v, target):
    """Where a search for Q(tau2) = ``target`` stops: 1e12 times the typical vi, or further when the data
    need it. Q(tau2) = min_b sum (y - Xb)^2 / (v + tau2) <= RSS / (min v + tau2), with RSS the ordinary
    least-squares residual sum of squares, so the root lies below RSS / ``target``: effect sizes spread
    far beyond their sampling variances (yi in the millions, vi = 0.001) are still found. Arrays broadcast
    (the batched engine's rows)."""
    return np.maximum(1e12 * mean_v, 2.0 * rss / target)


def pm(yi, vi, X, sums: InterceptSums | None = None) -> Tau2Fit:
    """Paule-Mandel: the tau2 with Q(tau2) = k - p (0 when Q(0) <= k - p)."""
    k, p = X.shape
    tau2, ok = solve_generalized_q(yi, vi, X, float(k - p), sums=sums)
    return Tau2Fit(tau2, float(morris_se(k, k - p, np.sum(1.0 / (vi + tau2)))), ok)


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
    return Tau2Fit(tau2, float(morris_se(k, k - p, np.sum(1.0 / (vi + tau2)))), ok)


def genq(yi, vi, X, weights) -> Tau2Fit:
    """Generalised Q (method of moments with user weights a_i; DerSimonian & Kacker, 2007): with
    P_a = A - A X (X'AX)^{-1} X'A, A = diag(a), the quadratic form Q_a = y'P_a y has expectation
    tr(P_a V) + tau2 tr(P_a), V = diag(vi), so tau2 = (Q_a - tr(P_a V)) / tr(P_a), truncated at 0
    (:func:`closed_form`; DL is the case a = 1/vi, HE the case a = 1). SE: that of Q_a / tr(P_a) under
    the model (:func:`closed_form_se`)."""
    s = Statistics(yi, vi, X, weights=weights)
    tau2, weights, factor = closed_form("GENQ", s)
    return Tau2Fit(float(tau2), float(closed_form_se(s, weights, factor, tau2)))


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
    The upper bound is searched up to :func:`search_limit` (metafor stops at tau2 = 100 and prints
    ">100"); beyond that it is NaN. Both roots are found by Newton steps (:func:`q_roots`) from ``start``,
    best the estimate of tau2 (the interval is around it: one or two steps each for large k). ``q0`` may
    pass Q(0), Cochran's Q_E (weights 1/vi), ``at_start`` (Q, Q') at ``start`` and ``sums`` the
    :class:`._wls.InterceptSums` of the model without moderators, to save evaluations.
    """
    k, p = X.shape
    alpha = 1.0 - level / 100.0
    q = q_function(yi, vi, X, sums)
    start, at_start, q0 = _start(q, start, at_start, q0)
    rss = Statistics(yi, vi, X, sums).rss
    lower, upper = (solve_generalized_q(yi, vi, X, _chi2_quantile(prob, k - p), q=q, start=start,
                                        at_start=at_start, q0=q0, rss=rss)[0]
                    for prob in (1.0 - alpha / 2.0, alpha / 2.0))
    return lower, upper
