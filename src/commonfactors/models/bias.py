"""Funnel plot asymmetry, small-study effects and publication bias (metafor's ``regtest``, ``ranktest``,
``trimfill``, ``fsn`` and ``selmodel``), plus PET-PEESE and the data of a contour-enhanced funnel plot.

Every public function validates its input once (``_checks.effect_data``) and works on the clean arrays;
every model it needs (Egger's meta-regression, the trimmed and filled models, PET, PEESE) is fitted with
:func:`commonfactors.models.univariate.fit`, so the numbers are those of ``meta_analysis``. Knows nothing
of files. Each public function also takes a fitted model without moderators (the MetaResult of
``meta_analysis``) as ``data``, as metafor's take a fitted ``rma`` object: its studies, and its method, test
and level unless given; trim and fill takes the method and level only, as metafor's ``trimfill`` fits the
filled data with the z test whatever the model's (its interval is always 95%: pass ``level=95`` for its
numbers).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np

from .. import _distributions as dist
from .._checks import EffectData
from ..errors import BoundaryWarning, CommonFactorsWarning, ConvergenceWarning, InputError, SmallKWarning
from ..results.bias import (
    BiasResult,
    FailSafeN,
    FunnelData,
    PetPeeseResult,
    RankTest,
    RegressionTest,
    SelectionModelResult,
    TrimFillResult,
)
from ..results.meta import Coefficient
from . import _inference as inference
from ._notes import Notes, fitted, validated
from ._options import Method, Test, check_choice, normalize_level, normalize_options
from .univariate import fit

Side = Literal["left", "right"]
Estimator = Literal["L0", "R0"]
Alternative = Literal["greater", "less"]
#: which effects are favourable: the selection model's alternative and trim and fill's side follow it
Direction = Literal["lower", "higher"]

#: range of the selection weights delta_j, as metafor's selmodel defaults (delta.min = 0, delta.max = 100)
DELTA_MAX = 100.0
#: the exact p-value of Kendall's tau (without ties) up to this many studies, as metafor 3.8-1's ranktest
#: (R's cor.test(exact = TRUE), which gives NaN from k = 171 on, where its counts overflow); beyond, the
#: normal approximation (0.2 s at k = 300, growing as k^3; p-values of .05 to .0005 within 0.02% to 4% there)
EXACT_KENDALL_MAX_K = 300


def _subset(ed: EffectData, yi=None, vi=None, X=None, names=None) -> EffectData:
    """``ed`` with other effect sizes, variances or moderators (no validation: the values are derived
    from validated ones)."""
    yi = ed.yi if yi is None else yi
    vi = ed.vi if vi is None else vi
    X = np.ones((yi.shape[0], 1)) if X is None else X
    rows = ed.rows if yi.shape[0] == ed.yi.shape[0] else np.arange(1, yi.shape[0] + 1)
    slab = ed.slab if yi.shape[0] == ed.yi.shape[0] else rows
    return dataclasses.replace(ed, yi=yi, vi=vi, X=X, names=names or ("intrcpt",), rows=rows, slab=slab,
                               frame=None, index=None)


# ---------------------------------------------------------------------------------------------------
# Egger's regression test and PET-PEESE


def _regression(ed: EffectData, notes: Notes, *, model: str, predictor: str, method: str, test: str,
                level: float) -> RegressionTest:
    k = ed.yi.shape[0]
    x = np.sqrt(ed.vi) if predictor == "sei" else ed.vi
    nan = math.nan
    if k < 3 or np.ptp(x) == 0:
        why = (f"only k = {k} studies" if k < 3 else
               f"all studies have the same {'standard error' if predictor == 'sei' else 'sampling variance'}")
        notes.add(f"Egger's regression test needs at least 3 studies with different precisions ({why}): "
                  "its results are NaN", SmallKWarning)
        df = math.inf if model == "rma" and test == "z" else float(k - 2)
        return RegressionTest(model, predictor, method, k, nan, nan, nan, nan, df, nan, nan, nan, nan,
                              notes())
    X = np.column_stack([np.ones(k), x])
    sub = _subset(ed, X=X, names=("intrcpt", predictor))
    if model == "lm":
        # weighted least squares with weights 1/vi and a multiplicative dispersion s2 = Q_E / (k - 2): the
        # common-effect meta-regression under the Knapp-Hartung scaling, not truncated (Egger et al., 1997;
        # Sterne & Egger, 2005, in Rothstein et al. (Eds.), Publication Bias in Meta-Analysis, ch. 6)
        res = notes.run("Egger's test (weighted regression)", fit, sub, method="FE", test="knha", level=level,
                        profile_ci=False)
    else:
        res = notes.run("Egger's test (meta-regression)", fit, sub, method=method, test=test, level=level,
                        profile_ci=False)
    b0, b1 = res.coefficients
    return RegressionTest(model=model, predictor=predictor, method=res.method, k=k, slope=b1.estimate,
                          slope_se=b1.se, stat=b1.stat, pval=b1.pval, df=res.df, limit_estimate=b0.estimate,
                          limit_se=b0.se, limit_ci_low=b0.ci_low, limit_ci_high=b0.ci_high, warnings=notes())


@fitted
def egger_test(data=None, *, yi="yi", vi="vi", sei=None, slab=None, model: Literal["rma", "lm"] = "rma",
               predictor: Literal["sei", "vi"] = "sei", method: Method = "REML", test: Test = "z",
               level: float = 95) -> RegressionTest:
    """Egger's regression test for funnel plot asymmetry (metafor's ``regtest``).

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per study; ``yi``, ``vi``, ``sei``, ``slab`` are then column names, else arrays of shape (k,).
    yi, vi, sei : str or array_like
        Effect sizes and their sampling variances (or standard errors ``sei``).
    model : {"rma", "lm"}
        "rma" (default, as metafor): the meta-regression y_i = b0 + b1 x_i + u_i + e_i with the ``method``
        estimator of tau2 and the ``test`` of the coefficients; "lm": the classical test, weighted least
        squares with weights 1/v_i and a multiplicative dispersion parameter, t test with k - 2 df.
    predictor : {"sei", "vi"}
        x_i = sqrt(v_i) (default) or v_i.
    method, test, level
        As in :func:`commonfactors.meta_analysis` (used by ``model="rma"``).

    Returns
    -------
    RegressionTest
        ``stat``, ``pval`` (test of b1 = 0; z or t with ``df``), ``slope``, ``slope_se``, and the limit
        estimate b0 (the effect at x = 0) ``limit_estimate``, ``limit_se``, ``limit_ci_low``,
        ``limit_ci_high``.

    Warns
    -----
    SmallKWarning
        Fewer than 3 studies, or all with the same precision: the results are NaN.

    References
    ----------
    Egger, M., Davey Smith, G., Schneider, M., & Minder, C. (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ, 315(7109), 629-634 (the regression of y_i / se_i on 1 / se_i, whose
    intercept is the slope b1 of the weighted regression of y_i on se_i).
    Sterne, J. A. C., & Egger, M. (2005). Regression methods to detect publication and other bias in
    meta-analysis. In H. R. Rothstein, A. J. Sutton & M. Borenstein (Eds.), Publication Bias in
    Meta-Analysis (pp. 99-110). Wiley (the meta-regression form).

    Examples
    --------
    >>> import commonfactors as cf
    >>> yi = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339,
    ...       0.446, -0.017]
    >>> vi = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
    >>> res = cf.egger_test(yi=yi, vi=vi)
    >>> round(res.stat, 4), round(res.limit_estimate, 4)   # metafor 3.8-1 regtest: -0.8075, -0.5096
    (-0.8075, -0.5096)
    """
    method, test, level = normalize_options(method, test, level)
    check_choice("model", model, ("rma", "lm"))
    check_choice("predictor", predictor, ("sei", "vi"))
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _regression(ed, notes, model=model, predictor=predictor, method=method, test=test, level=level)


def _pet_peese(ed: EffectData, notes: Notes, *, method: str, test: str, level: float) -> PetPeeseResult:
    k = ed.yi.shape[0]
    out = []
    for name, x in (("PET", np.sqrt(ed.vi)), ("PEESE", ed.vi)):
        if k < 3 or np.ptp(x) == 0:
            notes.add(f"{name} needs at least 3 studies with different precisions: its estimate is NaN",
                      SmallKWarning)
            out.append(Coefficient("intrcpt", *([math.nan] * 6)))
            continue
        names = ("intrcpt", "sei" if name == "PET" else "vi")
        sub = _subset(ed, X=np.column_stack([np.ones(k), x]), names=names)
        out.append(notes.run(name, fit, sub, method=method, test=test, level=level, profile_ci=False)
                   .coefficients[0])
    return PetPeeseResult(pet=out[0], peese=out[1], method=method, warnings=notes())


@fitted
def pet_peese(data=None, *, yi="yi", vi="vi", sei=None, slab=None, method: Method = "REML", test: Test = "z",
              level: float = 95) -> PetPeeseResult:
    """PET and PEESE: the intercepts of the meta-regressions of y_i on sqrt(v_i) (PET, the precision-effect
    test; the same model as Egger's test) and on v_i (PEESE, the precision-effect estimate with standard
    error), each with the ``method`` estimator of tau2, as bias-adjusted estimates of the effect.

    Returns
    -------
    PetPeeseResult
        ``pet`` and ``peese``: each a Coefficient (estimate, se, stat, pval, ci_low, ci_high).

    References
    ----------
    Stanley, T. D., & Doucouliagos, H. (2014). Meta-regression approximations to reduce publication
    selection bias. Research Synthesis Methods, 5(1), 60-78 (eq. 4 and 5; the conditional PET-PEESE rule
    uses PEESE when PET's intercept is significant).
    """
    method, test, level = normalize_options(method, test, level)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _pet_peese(ed, notes, method=method, test=test, level=level)


# ---------------------------------------------------------------------------------------------------
# Begg and Mazumdar's rank correlation test


def _discordant(r: np.ndarray) -> int:
    """The number of pairs i < j with r_i > r_j (inversions; equal values are not counted) of integer
    ranks r in [0, k), by a bottom-up merge sort, vectorised over the blocks of each level: a right-half
    element is inverted with the left-half elements of its block that exceed it, counted by binary
    search in the sorted left half (Knight, 1966, JASA 61(314), 436-439). O(k log^2 k) time, O(k) memory.
    """
    k = r.shape[0]
    a = r.astype(np.int64)
    pos = np.arange(k)
    count = 0
    width = 1
    while width < k:
        block = pos // (2 * width)
        left = pos % (2 * width) < width
        key = block * k + a                                   # each half is sorted within its block
        lkey = key[left]
        rblock, rval = block[~left], a[~left]
        left_end = np.searchsorted(lkey, (rblock + 1) * k, side="left")
        count += int(np.sum(left_end - np.searchsorted(lkey, rblock * k + rval, side="right")))
        a = np.sort(key) - block * k                          # merge: each block of 2 width sorted
        width *= 2
    return count


def _kendall_s(x: np.ndarray, y: np.ndarray) -> float:
    """S = concordant - discordant pairs (tied pairs count 0), in O(k log^2 k) time and O(k) memory:
    with the pairs ordered by x (then y), the discordant ones are the inversions of y, and the pairs untied
    in both number n0 - n_x - n_y + n_xy (n_x, n_y, n_xy: the pairs tied in x, in y, in both), so
    S = n0 - n_x - n_y + n_xy - 2 D (Knight, 1966, JASA 61(314), 436-439)."""
    k = x.shape[0]
    order = np.lexsort((y, x))
    xs, ys = x[order], y[order]
    y_rank = np.unique(y, return_inverse=True)[1].reshape(-1)[order]
    new_pair = np.concatenate([[True], (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])])
    both = np.diff(np.append(np.flatnonzero(new_pair), k)).astype(float)

    def tied(t):
        return float(np.sum(t * (t - 1.0)) / 2.0)

    untied = k * (k - 1) / 2.0 - tied(_tie_counts(x)) - tied(_tie_counts(y)) + tied(both)
    return untied - 2.0 * _discordant(y_rank)


def _tie_counts(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1].astype(float)


def _kendall_exact_pval(s: float, k: int) -> float:
    """Exact two-sided p-value of S = concordant - discordant pairs for k untied pairs: twice the smaller
    tail of the null distribution of the number of concordant pairs T = (S + k(k-1)/2) / 2, whose counts
    are those of permutations by number of inversions (Kendall, 1970, Rank Correlation Methods, ch. 5).

    By symmetry the smaller tail is P(T <= t), t = min(T, k(k-1)/2 - T). The distribution of T over n
    elements follows from that over n - 1 (the new element adds 0..n-1 inversions, each with probability
    1/n): P_n(i) = (C(i) - C(i - n)) / n with C the cumulative sums of P_{n-1}; only i <= t is needed.
    Probabilities, not counts (no overflow at any k); O(k t) time, O(t) memory."""
    n0 = k * (k - 1) // 2
    t = int(round((s + n0) / 2.0))
    t = min(t, n0 - t)
    prob = np.ones(1)
    for n in range(2, k + 1):
        size = min(t, n * (n - 1) // 2) + 1
        c = np.cumsum(prob)
        c = np.concatenate([c, np.full(size - c.shape[0], c[-1])]) if size > c.shape[0] else c[:size]
        c[n:] -= c[:-n].copy()
        prob = c / n
    return min(1.0, 2.0 * float(prob.sum()))


def _rank_test(ed: EffectData, notes: Notes) -> RankTest:
    y, v = ed.yi, ed.vi
    k = y.shape[0]
    w = 1.0 / v
    sw = float(w.sum())
    b = float(np.dot(w, y)) / sw                       # common-effect estimate
    ystar = (y - b) / np.sqrt(v - 1.0 / sw)            # Begg & Mazumdar (1994), eq. 1: Var(y - b) = v - 1/sw
    s = _kendall_s(ystar, v)
    n0 = k * (k - 1) / 2.0
    tx, tv = _tie_counts(ystar), _tie_counts(v)
    n1 = float(np.sum(tx * (tx - 1)) / 2.0)
    n2 = float(np.sum(tv * (tv - 1)) / 2.0)
    denom = math.sqrt((n0 - n1) * (n0 - n2))
    if k < 2 or denom == 0:
        notes.add("the rank correlation test needs at least 2 studies with different effects and different "
                  "variances: Kendall's tau and its p-value are NaN", SmallKWarning)
        return RankTest(k, math.nan, math.nan, False, notes())
    tau = s / denom                                    # Kendall's tau-b (Kendall, 1970, eq. 3.2)
    exact = k <= EXACT_KENDALL_MAX_K and n1 == 0 and n2 == 0
    if exact:
        pval = _kendall_exact_pval(s, k)
    else:
        # normal approximation with the variance of S corrected for ties (Kendall, 1970, eq. 4.3)
        var_s = ((k * (k - 1) * (2 * k + 5) - np.sum(tx * (tx - 1) * (2 * tx + 5))
                  - np.sum(tv * (tv - 1) * (2 * tv + 5))) / 18.0
                 + np.sum(tx * (tx - 1)) * np.sum(tv * (tv - 1)) / (2.0 * k * (k - 1))
                 + (np.sum(tx * (tx - 1) * (tx - 2)) * np.sum(tv * (tv - 1) * (tv - 2))
                    / (9.0 * k * (k - 1) * (k - 2)) if k > 2 else 0.0))
        pval = inference.two_sided_p(s / math.sqrt(var_s))
    return RankTest(k=k, tau=tau, pval=pval, exact=exact, warnings=notes())


@fitted
def rank_test(data=None, *, yi="yi", vi="vi", sei=None, slab=None) -> RankTest:
    """Begg and Mazumdar's rank correlation test for funnel plot asymmetry (metafor's ``ranktest``).

    Kendall's tau between the standardised deviations y*_i = (y_i - b) / sqrt(v_i - 1/sum(1/v_j)) from the
    common-effect estimate b and the sampling variances v_i. Ties are handled by tau-b. The p-value is
    exact without ties (as metafor 3.8-1, which calls R's ``cor.test(method="kendall", exact=TRUE)``; up to
    k = ``EXACT_KENDALL_MAX_K`` = 300, where metafor gives NaN from k = 171 on), else from the normal
    approximation with the tie-corrected variance of S (as R's ``cor.test`` with ties).

    Returns
    -------
    RankTest
        ``tau``, ``pval`` (two-sided), ``exact``.

    References
    ----------
    Begg, C. B., & Mazumdar, M. (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics, 50(4), 1088-1101 (eq. 1).
    Kendall, M. G. (1970). Rank Correlation Methods (4th ed.). Griffin (tau-b; exact null distribution;
    the variance of S with ties).

    Examples
    --------
    >>> import commonfactors as cf
    >>> res = cf.rank_test(yi=[0.1, 0.3, 0.35, 0.65, 0.45, 0.15], vi=[0.01, 0.02, 0.03, 0.04, 0.05, 0.06])
    >>> round(res.tau, 4), round(res.pval, 4)   # metafor 3.8-1 ranktest: 0.3333, 0.4694 (exact)
    (0.3333, 0.4694)
    """
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _rank_test(ed, notes)


# ---------------------------------------------------------------------------------------------------
# trim and fill


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..k, ties given their average rank (as R's rank())."""
    k = x.shape[0]
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1]]))   # where each run of ties starts
    size = np.diff(np.append(first, k))
    ranks = np.empty(k)
    ranks[order] = np.repeat(first + (size + 1) / 2.0, size)            # (first + last) / 2 + 1, 0-based
    return ranks


def _k0(dev: np.ndarray, estimator: str) -> int:
    """Duval & Tweedie's (2000) estimators of the number of missing studies from the deviations of all k
    studies from the trimmed estimate (missing studies on the left; extreme ones on the right)."""
    k = dev.shape[0]
    ranks = _average_ranks(np.abs(dev))
    if estimator == "L0":
        t_n = float(ranks[dev > 0].sum())                 # Wilcoxon signed-rank statistic
        l0 = (4.0 * t_n - k * (k + 1)) / (2.0 * k - 1.0)  # Duval & Tweedie (2000a), eq. 5
        return max(0, int(round(l0)))
    order = np.argsort(-ranks, kind="mergesort")
    run = 0                                               # gamma*: the rightmost run of positive deviations
    for i in order:
        if dev[i] > 0:
            run += 1
        else:
            break
    return max(0, run - 1)                                # Duval & Tweedie (2000a), R0 = gamma* - 1


def _trim_and_fill(ed: EffectData, notes: Notes, *, method: str, test: str, level: float,
                   estimator: str = "L0", side: str | None = None, maxiter: int = 100) -> TrimFillResult:
    y, v = ed.yi, ed.vi
    k = y.shape[0]
    if side is None:
        # as metafor: the side opposite to the sign of Egger's slope (meta-regression on sei)
        if k >= 3 and np.ptp(np.sqrt(v)) > 0:
            sub = _subset(ed, X=np.column_stack([np.ones(k), np.sqrt(v)]), names=("intrcpt", "sei"))
            egger = notes.run("trim and fill (side)", fit, sub, method=method, test=test, level=level,
                              profile_ci=False)
            slope = egger.coefficients[1]
            side = "right" if slope.estimate < 0 else "left"
        else:
            side = "left"
    sign = -1.0 if side == "right" else 1.0
    yf = sign * y                                          # missing studies are imputed on the left of yf
    order = np.argsort(yf, kind="mergesort")
    k0, converged = 0, False
    max_k0 = max(0, k - 2)
    for _ in range(maxiter):
        keep = np.sort(order[:k - k0])
        trimmed = notes.run("trim and fill (trimmed model)", fit, _subset(ed, yi=yf[keep], vi=v[keep]),
                            method=method, test=test, level=level, profile_ci=False)
        new = min(_k0(yf - trimmed.estimate, estimator), max_k0)
        if new == k0:
            converged = True
            break
        k0 = new
    if not converged:
        notes.add(f"trim and fill did not converge in {maxiter} iterations (k0 = {k0})", ConvergenceWarning)
    if k0 == max_k0 and k0 > 0:
        notes.add(f"trim and fill: k0 reached its maximum ({max_k0}); the estimate is unreliable",
                  BoundaryWarning)
    fill = order[k - k0:]                                  # the k0 most extreme studies, mirrored
    center = trimmed.estimate
    y_all = np.concatenate([y, sign * (2.0 * center - yf[fill])])
    v_all = np.concatenate([v, v[fill]])
    filled_fit = notes.run("trim and fill (filled model)", fit, _subset(ed, yi=y_all, vi=v_all),
                           method=method, test=test, level=level)
    return TrimFillResult(k0=k0, side=side, estimator=estimator, estimate=filled_fit.estimate,
                          se=filled_fit.se, ci_low=filled_fit.ci_low, ci_high=filled_fit.ci_high,
                          pval=filled_fit.pval, tau2=filled_fit.tau2, fit=filled_fit, yi=y_all, vi=v_all,
                          filled=np.arange(k + k0) >= k, warnings=notes())


@fitted(options=("method", "level"))
def trim_and_fill(data=None, *, yi="yi", vi="vi", sei=None, slab=None, estimator: Estimator = "L0",
                  side: Side | None = None, method: Method = "REML", test: Test = "z", level: float = 95,
                  maxiter: int = 100) -> TrimFillResult:
    """Duval and Tweedie's trim and fill method (metafor's ``trimfill``).

    Iterates: fit the model (``method``) to the studies left after trimming the k0 most extreme ones on the
    side opposite to ``side``; estimate k0 from the signed ranks of all k deviations from that estimate
    (L0 = (4 T_n - k(k+1)) / (2k - 1), rounded; or R0 = gamma* - 1, gamma* the rightmost run of positive
    ranks); until k0 is stable. Then the k0 trimmed studies are mirrored around the trimmed estimate
    (y = 2 b - y_i, same v_i) and the model is refitted to the k + k0 studies.

    Parameters
    ----------
    estimator : {"L0", "R0"}
        Default "L0", as metafor.
    side : {"left", "right"}, optional
        Where the missing studies are imputed. By default, as metafor: "right" when the slope of Egger's
        meta-regression on sqrt(v_i) is negative, else "left".

    Returns
    -------
    TrimFillResult
        ``k0``, ``side``, and the filled model's ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``pval``,
        ``tau2`` (``fit``: the whole MetaResult); ``yi``, ``vi``, ``filled``: the augmented data.

    Warns
    -----
    ConvergenceWarning
        k0 did not stabilise in ``maxiter`` iterations.

    References
    ----------
    Duval, S., & Tweedie, R. (2000a). A nonparametric "trim and fill" method of accounting for publication
    bias in meta-analysis. JASA, 95(449), 89-98 (estimators R0 and L0, eq. 4-5; the iterative algorithm,
    sec. 2.3).
    Duval, S., & Tweedie, R. (2000b). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics, 56(2), 455-463.
    """
    method, test, level = normalize_options(method, test, level)
    check_choice("estimator", estimator, ("L0", "R0"))
    if side is not None:
        check_choice("side", side, ("left", "right"))
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _trim_and_fill(ed, notes, method=method, test=test, level=level, estimator=estimator, side=side,
                          maxiter=maxiter)


# ---------------------------------------------------------------------------------------------------
# fail-safe N


def _fail_safe_n(ed: EffectData, notes: Notes, alpha: float) -> FailSafeN:
    k = ed.yi.shape[0]
    zsum = abs(float(np.sum(ed.yi / np.sqrt(ed.vi))))      # Stouffer: sum of z_i = y_i / sqrt(v_i)
    pval = float(dist.norm_sf(zsum / math.sqrt(k)))         # one-sided combined p-value
    if pval >= alpha:
        fsnum = 0
    else:
        # Rosenthal (1979), eq. 2: N = (sum z)^2 / z_alpha^2 - k, rounded up
        fsnum = int(math.ceil((zsum / float(dist.norm_ppf(1.0 - alpha))) ** 2 - k - 1e-9))
    return FailSafeN(k=k, fsnum=max(0, fsnum), alpha=alpha, pval=pval, warnings=notes())


@fitted
def fail_safe_n(data=None, *, yi="yi", vi="vi", sei=None, slab=None, alpha: float = 0.05) -> FailSafeN:
    """Rosenthal's fail-safe N (metafor's ``fsn(type="Rosenthal")``).

    The number of unpublished studies averaging null results (z = 0) that would bring the Stouffer combined
    one-sided p-value, 1 - Phi(|sum z_i| / sqrt(k)) with z_i = y_i / sqrt(v_i), up to ``alpha``:
    N = (sum z_i)^2 / z_{1 - alpha}^2 - k, rounded up; 0 when the combined p-value is already >= alpha.

    Returns
    -------
    FailSafeN
        ``fsnum``, ``pval`` (the observed combined p-value), ``alpha``.

    References
    ----------
    Rosenthal, R. (1979). The "file drawer problem" and tolerance for null results. Psychological Bulletin,
    86(3), 638-641 (eq. 2, with z_{.95} = 1.645 for alpha = .05, one-tailed).

    Examples
    --------
    >>> import commonfactors as cf
    >>> cf.fail_safe_n(yi=[0.3, 0.5, 0.2, 0.4], vi=[0.04, 0.05, 0.03, 0.06]).fsnum   # metafor 3.8-1 fsn: 12
    12
    """
    alpha = float(alpha)
    if not 0 < alpha < 1:
        raise InputError(f"alpha={alpha!r} is not between 0 and 1")
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _fail_safe_n(ed, notes, alpha)


# ---------------------------------------------------------------------------------------------------
# step-function selection model


def _npdf(u: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)


class _StepSelection:
    """Log-likelihood of the step-function selection model and its gradient (Vevea & Hedges, 1995).

    With s_i^2 = v_i + tau2, mu_i = x_i' beta and cut points c_ij = sqrt(v_i) z_{1 - alpha_j} on the effect
    scale (a one-sided p-value p_i <= alpha_j iff y_i >= c_ij under ``alternative="greater"``; the effects
    are negated for "less"), interval j holds the y between c_ij and c_i,j-1 (c_i0 = +inf, c_ic = -inf):

        ll = sum_i [ log phi((y_i - mu_i) / s_i) - log s_i + log delta_{j(i)} - log A_i ],
        A_i = sum_j delta_j P_ij,  P_ij = Phi((c_i,j-1 - mu_i) / s_i) - Phi((c_ij - mu_i) / s_i),

    the weighted density of each observed effect divided by the probability that a study with its v_i is
    published (Vevea & Hedges, 1995, Psychometrika 60(3), 419-435, eq. 3-6; Hedges, 1992).
    """

    def __init__(self, y, v, X, steps):
        self.y, self.v, self.X = y, v, X
        self.p = X.shape[1]
        self.m = len(steps)                                 # number of intervals (the last step is 1)
        z = np.array([float(dist.norm_ppf(1.0 - a)) if a < 1 else -math.inf for a in steps])
        self.cuts = np.sqrt(v)[:, None] * z[None, :]        # (k, m): lower ends of the intervals in y
        upper = np.column_stack([np.full(y.shape[0], math.inf), self.cuts[:, :-1]])
        self.upper = upper                                  # (k, m): upper ends
        inside = (y[:, None] >= self.cuts) & (y[:, None] < upper)
        self.interval = np.argmax(inside, axis=1)           # j(i), 0-based

    def split(self, theta):
        return theta[:self.p], theta[self.p], np.concatenate([[1.0], theta[self.p + 1:]])

    def loglik(self, theta, grad: bool = False):
        beta, tau2, delta = self.split(theta)
        y, v = self.y, self.v
        s2 = v + tau2
        s = np.sqrt(s2)
        mu = self.X @ beta
        r = (y - mu) / s
        with np.errstate(invalid="ignore"):
            ulo = (self.cuts - mu[:, None]) / s[:, None]     # -inf in the last column
            uhi = (self.upper - mu[:, None]) / s[:, None]    # +inf in the first column
        # P_ij from the upper tails when they are small, from the lower ones otherwise (no cancellation);
        # the tails at the m - 1 finite cuts, with sf(+inf) = cdf(-inf) = 0 and sf(-inf) = cdf(+inf) = 1
        # around them: column j of sf/cdf is the upper end of interval j, column j + 1 its lower end
        finite = ulo[:, :-1]
        edge = np.ones((y.shape[0], 1))
        sf = np.hstack([0.0 * edge, dist.norm_sf(finite), edge])
        cdf = np.hstack([edge, dist.norm_cdf(finite), 0.0 * edge])
        right = ulo >= 0
        P = np.where(right, sf[:, 1:] - sf[:, :-1], cdf[:, :-1] - cdf[:, 1:])
        P = np.maximum(P, 0.0)
        A = P @ delta
        with np.errstate(divide="ignore"):
            ll = float(np.sum(-0.5 * r * r - np.log(s) - 0.5 * math.log(2 * math.pi)
                              + np.log(delta[self.interval]) - np.log(A)))
        if not grad:
            return ll
        phlo, phhi = _npdf(ulo), _npdf(uhi)                  # 0 at +-inf
        with np.errstate(invalid="ignore"):
            uphlo = np.where(np.isfinite(ulo), ulo * phlo, 0.0)
            uphhi = np.where(np.isfinite(uhi), uhi * phhi, 0.0)
        dP_dmu = -(phhi - phlo) / s[:, None]                 # d P_ij / d mu_i
        dP_dt = -(uphhi - uphlo) / (2.0 * s2[:, None])        # d P_ij / d tau2
        dA_dmu = dP_dmu @ delta
        dA_dt = dP_dt @ delta
        g_mu = r / s - dA_dmu / A
        g_beta = self.X.T @ g_mu
        g_tau2 = float(np.sum((r * r - 1.0) / (2.0 * s2) - dA_dt / A))
        g_delta = np.array([np.sum(self.interval == j) / delta[j] - np.sum(P[:, j] / A)
                            for j in range(1, self.m)])
        return ll, np.concatenate([g_beta, [g_tau2], g_delta])


def _hessian(fun_grad, theta, steps) -> np.ndarray:
    """Central-difference Hessian of a function from its analytic gradient, symmetrised."""
    n = theta.shape[0]
    H = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = steps[j]
        H[:, j] = (fun_grad(theta + e)[1] - fun_grad(theta - e)[1]) / (2.0 * steps[j])
    return (H + H.T) / 2.0


def _selection_model(ed: EffectData, notes: Notes, *, steps=(0.025,), alternative: str = "greater",
                     level: float = 95) -> SelectionModelResult:
    from scipy.optimize import minimize  # lazily: off the command line's start-up path

    steps = tuple(sorted(float(s) for s in steps))
    if steps[-1] != 1.0:
        steps = (*steps, 1.0)
    sign = 1.0 if alternative == "greater" else -1.0
    y, v = sign * ed.yi, ed.vi
    k = y.shape[0]
    X = np.ones((k, 1))
    model = _StepSelection(y, v, X, steps)
    m = model.m
    counts = tuple(int(np.sum(model.interval == j)) for j in range(m))
    lows = (0.0, *steps[:-1])
    for j in range(1, m):
        if counts[j] == 0 or counts[0] == 0:
            which = 0 if counts[0] == 0 else j
            favourable = "higher" if alternative == "greater" else "lower"
            notes.add(f"selection model: no study has a one-sided p-value in ({lows[which]:g}, "
                      f"{steps[which]:g}] for {favourable} effects as the favourable direction (alternative "
                      f"'{alternative}'): the selection weights are not identified", BoundaryWarning)
            break
    # the unadjusted random-effects model fitted by ML: the start, and the null model of the LRT
    null = notes.run("selection model (ML random-effects model)", fit, _subset(ed, yi=y, vi=v), method="ML",
                     test="z", level=level, profile_ci=False)
    theta0 = np.concatenate([[null.estimate], [null.tau2], np.ones(m - 1)])
    ll0 = model.loglik(theta0)
    scale = float(np.mean(v))
    x_scale = np.array([math.sqrt(scale), scale])
    # optimised over (mu / sqrt(scale), tau2 / scale, log delta_j): the log keeps delta_j > 0, where the
    # likelihood is finite; the bounds are tau2 >= 0 and delta_j <= DELTA_MAX
    def to_theta(u):
        return np.concatenate([u[:2] * x_scale, np.minimum(np.exp(u[2:]), DELTA_MAX)])

    def objective(u):
        theta = to_theta(u)
        ll, g = model.loglik(theta, grad=True)
        if not math.isfinite(ll):
            return 1e300, np.zeros_like(u)
        return -ll, -np.concatenate([g[:2] * x_scale, g[2:] * theta[2:]])

    u0 = np.concatenate([theta0[:2] / x_scale, np.zeros(m - 1)])
    bounds = [(None, None), (0.0, None)] + [(None, math.log(DELTA_MAX))] * (m - 1)
    opt = minimize(objective, u0, jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-11, "maxcor": 20})
    theta = to_theta(opt.x)
    ll = model.loglik(theta)
    if not opt.success and not math.isfinite(ll):
        notes.add(f"selection model: the optimiser failed ({opt.message})", ConvergenceWarning)
    beta, tau2, delta = model.split(theta)
    for j in range(1, m):
        if delta[j] >= DELTA_MAX * (1 - 1e-6) or delta[j] <= 1e-6:
            notes.add(f"selection model: delta for p in ({lows[j]:g}, {steps[j]:g}] is at the bound of its "
                      f"range [0, {DELTA_MAX:g}] (as metafor's delta.min/delta.max): the likelihood keeps "
                      "increasing beyond it; treat the results with caution", BoundaryWarning)
    # standard errors from the inverse of the observed information (numerical Hessian of the log-likelihood
    # in beta, tau2 and the free delta_j), as metafor (which uses numDeriv's Richardson extrapolation)
    h = np.concatenate([[1e-5 * max(abs(beta[0]), math.sqrt(scale))],
                        [min(1e-5 * max(tau2, scale), 0.5 * float(np.min(v)))],
                        1e-5 * np.maximum(delta[1:], 1e-3)])
    nan = math.nan
    try:
        info = -_hessian(lambda t: model.loglik(t, grad=True), theta, h)
        cov = np.linalg.inv(info)
        ses = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), nan))
        if not np.all(np.isfinite(ses)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        notes.add("selection model: the information matrix is not positive definite; standard errors are NaN",
                  ConvergenceWarning)
        ses = np.full(theta.shape[0], nan)
    est = sign * float(beta[0])
    se = float(ses[0])
    stat, pval, _, ci_low, ci_high = inference.wald(est, se, level=level)   # se > 0 or NaN
    lrt = max(0.0, 2.0 * (ll - ll0))
    return SelectionModelResult(
        k=k, estimate=est, se=se, stat=float(stat), pval=pval, ci_low=ci_low, ci_high=ci_high,
        tau2=float(tau2), se_tau2=float(ses[1]), delta=tuple(float(d) for d in delta),
        se_delta=(nan, *(float(s) for s in ses[2:])), steps=steps, k_per_interval=counts,
        alternative=alternative, lrt=lrt, lrt_df=m - 1, lrt_pval=float(dist.chi2_sf(lrt, m - 1)), loglik=ll,
        loglik_null=ll0, warnings=notes())


@fitted
def selection_model(data=None, *, yi="yi", vi="vi", sei=None, slab=None, steps=(0.025,),
                    alternative: Alternative = "greater", level: float = 95) -> SelectionModelResult:
    """Step-function selection model fitted by maximum likelihood (metafor's ``selmodel(type="stepfun")``).

    With the default single cut at a one-sided p-value of .025, the three-parameter selection model (3PSM:
    mu, tau2 and delta_2, the relative likelihood of publication of a study with p > .025 compared with
    p <= .025). The selection weights are bounded to [0, 100], as metafor's defaults.

    Parameters
    ----------
    steps : sequence of float
        Cut points in (0, 1) of the one-sided p-values (1 is added as the last).
    alternative : {"greater", "less"}
        Direction of the one-sided p-values: selection favours significant positive ("greater") or
        negative effects.

    Returns
    -------
    SelectionModelResult
        ``estimate``, ``se``, ``stat``, ``pval``, ``ci_low``, ``ci_high``, ``tau2``, ``se_tau2``, ``delta``
        (first fixed at 1), ``se_delta``, ``k_per_interval``, ``lrt`` (against the random-effects model fitted
        by ML, ``lrt_df`` degrees of freedom), ``lrt_pval``, ``loglik``.

    Warns
    -----
    BoundaryWarning
        An interval holds no study, or a delta is at its bound (the likelihood keeps increasing beyond it).
    ConvergenceWarning
        The information matrix cannot be inverted (standard errors NaN).

    References
    ----------
    Vevea, J. L., & Hedges, L. V. (1995). A general linear model for estimating effect size in the presence
    of publication bias. Psychometrika, 60(3), 419-435 (eq. 3-6).
    Hedges, L. V. (1992). Modeling publication selection effects in meta-analysis. Statistical Science,
    7(2), 246-255.
    McShane, B. B., Böckenholt, U., & Hansen, K. T. (2016). Adjusting for publication bias in
    meta-analysis: an evaluation of selection methods and some cautionary notes. Perspectives on
    Psychological Science, 11(5), 730-749 (the 3PSM).
    """
    steps = tuple(float(s) for s in np.atleast_1d(steps))
    if not steps or any(not 0 < s <= 1 for s in steps) or len(set(steps)) != len(steps):
        raise InputError(f"steps={steps!r} must be distinct numbers in (0, 1]")
    check_choice("alternative", alternative, ("greater", "less"))
    level = normalize_level(level)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    return _selection_model(ed, notes, steps=steps, alternative=alternative, level=level)


# ---------------------------------------------------------------------------------------------------
# funnel plot data, and everything at once


@fitted
def funnel_data(data=None, *, yi="yi", vi="vi", sei=None, slab=None, method: Method = "REML",
                levels=(0.10, 0.05, 0.01)) -> FunnelData:
    """The points and contour lines of a contour-enhanced funnel plot.

    The contours are centred on 0: at standard error se, an effect beyond +- z_{1 - p/2} se is significant
    at the two-sided level p (Peters et al., 2008). The pooled estimate (model ``method``) is the centre of
    the pseudo confidence region.

    Returns
    -------
    FunnelData
        ``yi``, ``sei``, ``slab``, ``estimate``, ``se_max`` (the largest se, where the lines end),
        ``levels``, ``z``; ``contour(p)`` gives the two lines of a level.

    References
    ----------
    Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R., & Rushton, L. (2008). Contour-enhanced
    meta-analysis funnel plots help distinguish publication bias from other causes of asymmetry. Journal of
    Clinical Epidemiology, 61(10), 991-996.
    """
    method, _, _ = normalize_options(method, "z", 95)
    levels = tuple(float(p) for p in levels)
    if any(not 0 < p < 1 for p in levels):
        raise InputError(f"levels={levels!r} must be two-sided significance levels in (0, 1)")
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    res = notes.run("funnel plot", fit, ed, method=method, profile_ci=False)
    sei_ = np.sqrt(ed.vi)
    return FunnelData(yi=ed.yi, sei=sei_, slab=ed.slab, estimate=res.estimate, se_max=float(sei_.max()),
                      levels=levels, z=tuple(inference.critical(100.0 * (1.0 - p)) for p in levels))


@fitted
def bias_tests(data=None, *, yi="yi", vi="vi", sei=None, slab=None, method: Method = "REML", test: Test = "z",
               level: float = 95, estimator: Estimator = "L0", side: Side | None = None, alpha: float = 0.05,
               steps=(0.025,), alternative: Alternative | None = None, direction: Direction | None = None,
               cluster=None) -> BiasResult:
    """All small-study-effect and publication-bias diagnostics at once (``commonfactors bias``).

    Egger's test as a meta-regression on sqrt(v_i) (:func:`egger_test`, model "rma") and in its classical
    weighted-regression form (model "lm"), Begg's rank correlation (:func:`rank_test`), trim and fill
    (:func:`trim_and_fill`, ``estimator``, ``side``), Rosenthal's fail-safe N (:func:`fail_safe_n`,
    ``alpha``), PET and PEESE (:func:`pet_peese`) and the step-function selection model
    (:func:`selection_model`, ``steps``, ``alternative``), all with metafor's defaults. ``test`` applies to
    the models as to metafor's ``rma(test=)`` and ``regtest``; trim and fill's filled model has the z test,
    as ``trimfill`` gives it for any model. The input is validated once.

    Returns
    -------
    BiasResult
        ``egger``, ``egger_classical``, ``begg``, ``trim_and_fill``, ``fail_safe_n``, ``pet_peese``,
        ``selection_3psm``, ``warnings``; ``to_dict()`` is the command line's JSON.

    Examples
    --------
    >>> import commonfactors as cf
    >>> yi = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339,
    ...       0.446, -0.017]
    >>> vi = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = cf.bias_tests(yi=yi, vi=vi)
    >>> res.trim_and_fill.k0, res.trim_and_fill.side, res.fail_safe_n.fsnum
    (1, 'right', 598)
    """
    method, test, level = normalize_options(method, test, level)
    check_choice("estimator", estimator, ("L0", "R0"))
    if side is not None:
        check_choice("side", side, ("left", "right"))
    if direction is not None:
        check_choice("direction", direction, ("lower", "higher"))
        alternative = alternative or ("greater" if direction == "higher" else "less")
        side = side or ("left" if direction == "higher" else "right")  # missing: the unfavourable side
    alternative = alternative or "greater"  # metafor's selmodel default
    check_choice("alternative", alternative, ("greater", "less"))
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    opts = {"method": method, "test": test, "level": level}
    if direction is None:
        pooled = notes.run("random-effects model", fit, ed, method=method, test="z", level=level,
                           profile_ci=False).estimate
        if pooled < 0 and alternative == "greater":
            notes.add("the pooled estimate is negative, but the selection model takes higher effects as the "
                      "favourable direction (metafor's default): give direction='lower' (--direction lower) "
                      "if lower values are favourable, as on symptom scales", CommonFactorsWarning)
    clustered = None if cluster is None else _clustered_egger(data, yi=yi, vi=vi, sei=sei, cluster=cluster,
                                                              method=method, level=level, notes=notes)
    egger = _regression(ed, notes, model="rma", predictor="sei", **opts)
    classical = _regression(ed, notes, model="lm", predictor="sei", **opts)
    begg = _rank_test(ed, notes)
    tf = _trim_and_fill(ed, notes, estimator=estimator, side=side, **{**opts, "test": "z"})  # as trimfill
    fsn = _fail_safe_n(ed, notes, float(alpha))
    pp = _pet_peese(ed, notes, **opts)
    if ed.yi.shape[0] >= 3:
        sel = _selection_model(ed, notes, steps=tuple(np.atleast_1d(steps)), alternative=alternative,
                               level=level)
    else:
        notes.add(f"selection model: only k = {ed.yi.shape[0]} studies; not fitted", SmallKWarning)
        sel = None
    return BiasResult(k=ed.yi.shape[0], method=method, egger=egger, egger_classical=classical, begg=begg,
                      trim_and_fill=tf, fail_safe_n=fsn, pet_peese=pp, selection_3psm=sel,
                      direction="higher" if alternative == "greater" else "lower",
                      direction_given=direction is not None, egger_clustered=clustered, warnings=notes())


def _clustered_egger(data, *, yi, vi, sei, cluster, method, level, notes: Notes) -> RegressionTest:
    """Egger's test for effect sizes nested in clusters: the three-level meta-regression of y_i on its
    standard error with CR2 cluster-robust inference and Satterthwaite degrees of freedom (the "Egger
    sandwich" test that Rodgers & Pustejovsky, 2021, Psychological Methods 26(2), 141-160, recommend for
    dependent effect sizes), by :func:`commonfactors.models.multilevel.multilevel_meta_analysis`."""
    from .multilevel import multilevel_meta_analysis

    if data is None:  # arrays: the standard errors as the moderator, row by row
        mods = np.asarray(sei, dtype=float) if sei is not None else np.sqrt(np.asarray(vi, dtype=float))
    else:
        mods = f"~ `{sei}`" if sei is not None else f"~ sqrt(`{vi}`)"
    res = notes.run("Egger's test with clusters", multilevel_meta_analysis, data, yi=yi,
                    vi=vi if sei is None else None, sei=sei, cluster=cluster, mods=mods, method=method,
                    test="t", level=level, robust="cr2")
    b0, b1 = res.robust.coefficients
    return RegressionTest(model="rma.mv CR2", predictor="sei", method=method, k=res.k, slope=b1.estimate,
                          slope_se=b1.se, stat=b1.estimate / b1.se, pval=b1.pval, df=b1.df,
                          limit_estimate=b0.estimate, limit_se=b0.se, limit_ci_low=b0.ci_low,
                          limit_ci_high=b0.ci_high)
