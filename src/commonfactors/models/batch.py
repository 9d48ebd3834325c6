"""fit_many: thousands of intercept-only meta-analyses at once (simulation studies, bootstraps).

The user's arrays are (m, k): m meta-analyses by k studies. Inside, every estimator works on their
transpose, (k, m), with missing studies (padding) carrying weight zero. Nothing loops over the m
meta-analyses in Python: closed-form estimators are a few row sums, the iterative ones (ML/REML Fisher
scoring, the Paule-Mandel roots) update all rows at once and drop the rows that have converged from the
working set. The estimators are those of single fits, written once in :mod:`.tau2` (its closed forms,
likelihood iteration and root finder, fed with the row sums computed here). The definitions are
metafor's (Viechtbauer, 2010) for a model with an intercept only, so each row equals a single fit with
``meta_analysis`` / metafor's ``rma``.
"""

from __future__ import annotations

import functools
import warnings
from typing import get_args

import numpy as np

from .. import _distributions as dist
from .._checks import SCALE_WHY, VI_MAX, VI_MIN, VI_SPAN, YI_MAX, format_rows
from ..errors import ConvergenceWarning, DroppedRowsWarning, InputError, SmallKWarning
from ..results.batch import BatchResult
from . import _inference as inference
from ._options import BatchMethod, Test, normalize_options
from ._wls import intercept_trace_PDPD
from .tau2 import (
    MAXITER,
    closed_form,
    closed_form_se,
    likelihood_equation,
    morris_se,
    q_roots,
    score_roots,
    search_limit,
)

#: the estimators of the batched engine
METHODS: tuple[str, ...] = get_args(BatchMethod)


def fit_many(yi, vi, method: BatchMethod = "REML", test: Test = "z", level: float = 95) -> BatchResult:
    r"""Fit m random-effects (or common-effect) meta-analyses at once, one per row.

    Parameters
    ----------
    yi, vi : array_like of shape (m, k)
        m meta-analyses by k studies: effect sizes and their sampling variances (``vi > 0``).
        A row with fewer studies is padded with NaN; a study is used when both its ``yi`` and ``vi``
        are present. A one-dimensional array is one meta-analysis (m = 1).
    method : {"REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "FE"}
        Estimator of tau2, as metafor's ``rma(method=)``. Default "REML".
    test : {"z", "t", "knha"}
        Inference on the pooled effect: normal, t with k - 1 df, or Knapp-Hartung (t with k - 1 df
        and the weighted residual variance as multiplier of the variance; ``"hksj"`` is an alias).
        Default "z".
    level : float
        Confidence level of the confidence and prediction intervals: a percent (default 95), a
        proportion (0.95) or a two-sided alpha (0.05), as metafor.

    Returns
    -------
    BatchResult
        Arrays of length m: ``k`` (studies used), ``estimate``, ``se``, ``stat``, ``pval``,
        ``ci_low``/``ci_high``, ``pi_low``/``pi_high`` (prediction interval; NaN for "FE"),
        ``tau2``, ``se_tau2`` (NaN for "FE" and k = 1), ``i2`` (percent), ``h2``, ``q``, ``q_df``,
        ``q_pval`` (Cochran's Q with weights 1/vi) and ``converged``; plus ``method``, ``test``,
        ``level`` and ``warnings``. Rows are the rows of the input, in order.

    Raises
    ------
    InputError
        ``yi`` and ``vi`` differ in shape, are not numeric or not 1-D/2-D, a ``vi`` is <= 0 or
        infinite, or a ``yi`` is infinite (the message names the row and the study, 0-based); ``method``,
        ``test`` or ``level`` is not one of the allowed values.

    Warns
    -----
    ConvergenceWarning
        Rows whose iterations hit the limit (their ``converged`` is False; the last iterate is kept).
    SmallKWarning
        Rows with one study (tau2 = 0 and, as metafor does, the z test) or with none (all NaN).
    DroppedRowsWarning
        Studies with only one of ``yi``/``vi`` present, left out.

    Notes
    -----
    Each row is the model :math:`y_i = \mu + u_i + e_i`, :math:`u_i \sim N(0, \tau^2)`,
    :math:`e_i \sim N(0, v_i)`; :math:`\hat\mu = \sum w_i y_i / \sum w_i` with
    :math:`w_i = 1/(v_i + \hat\tau^2)`. Row indices in warnings are 0-based, as in the result arrays.
    The estimators and their standard errors are those of single fits (:mod:`.tau2`), documented there.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of
    Statistical Software, 36(3), 1-48. doi:10.18637/jss.v036.i03

    Examples
    --------
    >>> import numpy as np
    >>> import commonfactors as cf
    >>> yi = np.array([[0.1, 0.3, 0.5, np.nan], [0.2, 0.4, 0.9, 1.3]])
    >>> vi = np.array([[0.01, 0.02, 0.015, np.nan], [0.02, 0.01, 0.03, 0.02]])
    >>> res = cf.fit_many(yi, vi, method="DL")
    >>> res.k.tolist(), np.round(res.tau2, 4).tolist()
    ([3, 4], [0.0322, 0.2215])
    """
    method, test, level = normalize_options(method, test, level, methods=METHODS)
    y, v, notes = _clean(yi, vi)
    fit = fit_arrays(y, v, method=method, test=test, level=level)
    notes += _row_warnings(fit, test)
    for category, text in notes:
        warnings.warn(text, category, stacklevel=2)
    return BatchResult(**fit, method=method, test=test, level=level,
                       warnings=tuple(text for _, text in notes))


def _clean(yi, vi):
    """The boundary: float64 arrays of shape (m, k); missing studies as yi = 0, vi = inf (weight 0)."""
    arrays = []
    for name, x in (("yi", yi), ("vi", vi)):
        try:
            a = np.array(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"{name} is not numeric", column=name,
                             expected="an array of numbers (NaN for a missing study)") from None
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2:
            raise InputError(f"{name} has shape {a.shape}", column=name,
                             expected="an array of shape (m, k): m meta-analyses by k studies")
        arrays.append(a)
    y, v = arrays
    if y.shape != v.shape:
        raise InputError(f"yi has shape {y.shape} but vi has shape {v.shape}",
                         expected="yi and vi of the same shape (m, k)")
    for name, a, bad, what in (("vi", v, ~(v > 0) & ~np.isnan(v), "a sampling variance > 0"),
                               ("vi", v, np.isinf(v), "a finite sampling variance"),
                               ("yi", y, np.isinf(y), "a finite effect size"),
                               ("vi", v, (v < VI_MIN) | (v > VI_MAX),
                                f"a sampling variance between {VI_MIN:g} and {VI_MAX:g} ({SCALE_WHY})"),
                               ("yi", y, np.abs(y) > YI_MAX,
                                f"a finite effect size with |yi| <= {YI_MAX:g} ({SCALE_WHY})")):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(f"got {a[i, j]:g} for study {j}", row=int(i), column=name, expected=what)
    _check_span(v)
    ny, nv = np.isnan(y), np.isnan(v)
    notes = []
    half = ny ^ nv
    if half.any():
        rows = np.flatnonzero(half.any(axis=1))
        n = int(half.sum())
        notes.append((DroppedRowsWarning, f"{n} {'study' if n == 1 else 'studies'} with only one of yi and "
                                          f"vi omitted ({format_rows(rows.tolist())})"))
    missing = ny | nv
    y[missing] = 0.0
    v[missing] = np.inf
    # the estimators work on (k, m): studies by meta-analyses, so that sums over studies add contiguous
    # rows of length m (several times faster than reducing short rows of length k)
    return np.ascontiguousarray(y.T), np.ascontiguousarray(v.T), notes


def _check_span(v):
    """Refuse a meta-analysis (a row) whose sampling variances span more than ``VI_SPAN``, as a single fit
    does (:func:`commonfactors._checks.check_span` says why)."""
    with np.errstate(invalid="ignore"):
        lo, hi = np.fmin.reduce(v, axis=1), np.fmax.reduce(v, axis=1)  # NaN (missing) ignored
        bad = hi > VI_SPAN * lo
    if bad.any():
        i = int(np.argmax(bad))
        j_lo, j_hi = int(np.nanargmin(v[i])), int(np.nanargmax(v[i]))
        raise InputError(f"the sampling variances span {hi[i] / lo[i]:.1e} times, from {lo[i]:g} (study "
                         f"{j_lo}) to {hi[i]:g} (study {j_hi})", row=i, column="vi",
                         expected=f"variances within a factor of {VI_SPAN:g} of each other in each "
                                  "meta-analysis (beyond it the smaller weights are lost to rounding)")


def _row_warnings(fit, test):
    k, conv = fit["k"], fit["converged"]
    out = []
    none, single, failed = np.flatnonzero(k == 0), np.flatnonzero(k == 1), np.flatnonzero((k > 1) & ~conv)
    if failed.size:
        out.append((ConvergenceWarning,
                    f"{_count(failed)} did not converge ({format_rows(failed.tolist())})"))
    if single.size:
        z = "" if test == "z" else f"; test 'z' instead of {test!r}"
        out.append((SmallKWarning, f"{_count(single)} with a single study: tau2 fixed at 0{z} "
                                   f"({format_rows(single.tolist())})"))
    if none.size:
        out.append((SmallKWarning, f"{_count(none)} without any study: results are NaN "
                                   f"({format_rows(none.tolist())})"))
    return out


def _count(rows) -> str:
    return f"{rows.size} meta-analys{'is' if rows.size == 1 else 'es'}"


def fit_arrays(y, v, *, method: str, test: str, level: float) -> dict:
    """The whole fit on clean arrays of shape (k, m) (missing studies: y = 0, v = inf); returns the
    result's arrays, each of length m.

    Rows with k >= 2 go through the tau2 estimator; rows with k = 1 get tau2 = 0 and the z test
    (metafor's behaviour); rows with k = 0 are NaN.
    """
    m = y.shape[1]
    present = np.isfinite(v)
    k = present.sum(axis=0)
    tau2 = np.where(k > 0, 0.0, np.nan)
    se_tau2 = np.full(m, np.nan)
    converged = k > 0
    multi = np.flatnonzero(k > 1)
    if method != "FE" and multi.size:
        cols = slice(None) if multi.size == m else multi
        t2, se, ok = ESTIMATORS[method](y[:, cols], v[:, cols], present[:, cols], k[cols].astype(np.float64))
        tau2[cols], se_tau2[cols], converged[cols] = t2, se, ok
    return _inference(y, v, k, tau2, se_tau2, converged, method=method, test=test, level=level)


# --------------------------------------------------------------------------------------------------
# Sums over the studies of (k, m) arrays (axis 0). Missing studies have v = inf, hence weight 0, and y = 0.


def _fe_parts(y, v):
    """Common-effect weights w = 1/v, their sum, the weighted mean and Cochran's Q per row."""
    w = 1.0 / v
    sw = w.sum(axis=0)
    mu = _rowdot(w, y) / sw
    r = np.subtract(y, mu)
    return w, sw, mu, _rowdot(w, r, r)


def _mean_v(v, present, k):
    return np.where(present, v, 0.0).sum(axis=0) / k


# --------------------------------------------------------------------------------------------------
# tau2 estimators: each takes (y, v, present, k) of meta-analyses with k >= 2 and returns (tau2, se_tau2,
# converged).


class _Rows:
    """The statistics of :func:`.tau2.closed_form` for meta-analyses without moderators, one per column of
    (k, m) arrays (missing studies: y = 0, v = inf, weight 0), each computed when first asked for."""

    def __init__(self, y, v, present, k):
        self.y, self.v, self.present, self.k = y, v, present, k
        self.df = k - 1.0

    @functools.cached_property
    def _inverse(self):
        return _fe_parts(self.y, self.v)  # w, sum(w), mu, Q_E

    q_e = property(lambda self: self._inverse[3])
    sum_w = property(lambda self: self._inverse[1])

    @property
    def tr_p(self):
        w, sw = self._inverse[:2]
        return sw - _rowdot(w, w) / sw

    @functools.cached_property
    def rss(self):
        """sum((y - mean(y))^2)."""
        mean = self.y.sum(axis=0) / self.k
        return (self.present * (self.y - mean[None, :]) ** 2).sum(axis=0)

    tr_pv = property(lambda self: _mean_v(self.v, self.present, self.k) * (self.k - 1.0))  # sum(v)(k - 1)/k
    crude = property(lambda self: self.rss / self.k)
    q_crude = property(lambda self: _fe_parts(self.y, self.v + self.crude[None, :])[3])

    def variance(self, weights: str, tau2):
        """2 tr(P_a V* P_a V*), V* = diag(v + tau2) (:func:`._wls.intercept_trace_PDPD`; Var(y'P_a y) when
        y ~ N(mu, V*): Searle, Casella & McCulloch, 1992, Variance Components, Wiley)."""
        a = {"inverse": lambda: self._inverse[0], "unit": lambda: self.present.astype(np.float64),
             "crude": lambda: 1.0 / (self.v + self.crude[None, :])}[weights]()
        vstar = np.where(self.present, self.v + tau2[None, :], 0.0)
        return 2.0 * intercept_trace_PDPD(a, vstar, vstar)


def _closed_form(method: str):
    """The closed-form estimator ``method`` (:func:`.tau2.closed_form`) over the columns."""
    def estimate(y, v, present, k):
        s = _Rows(y, v, present, k)
        tau2, weights, factor = closed_form(method, s)
        return tau2, closed_form_se(s, weights, factor, tau2), np.ones(tau2.shape, dtype=bool)
    return estimate


def _rowdot(a, b, c=None):
    """Per meta-analysis sums over the studies of a * b (* c), without a temporary (k, m) product."""
    return np.einsum("ij,ij->j", a, b) if c is None else np.einsum("ij,ij,ij->j", a, b, c)


def _working_set(y, v):
    """``idx -> (y, v, buffers)``: the columns ``idx`` of (k, m) arrays, copied once per working set of the
    solvers (the same array object ``idx`` until it shrinks), and three (k, len(idx)) buffers for the
    temporaries, allocated once (allocating them at every step costs more than the arithmetic)."""
    buffers = tuple(np.empty(y.shape) for _ in range(3))
    work = {}

    def columns(idx):
        if work.get("idx") is not idx:
            whole = idx.size == y.shape[1]
            work.update(idx=idx, y=y if whole else y[:, idx], v=v if whole else v[:, idx])
        return work["y"], work["v"], tuple(b[:, :idx.size] for b in buffers)
    return columns


def _solve(restricted, y, v, present, k, *, start):
    """The REML (``restricted``) or ML estimates of the columns by :func:`.tau2.score_roots` from ``start``,
    in at most ``MAXITER`` iterations. Returns (tau2, converged)."""
    columns = _working_set(y, v)

    def equation(t, idx):
        return likelihood_equation(_likelihood_terms(t, *columns(idx)), restricted)
    tau2, converged, _, _ = score_roots(equation, start, _mean_v(v, present, k), maxiter=MAXITER)
    return tau2, converged


def _likelihood_parts(t, y, v, buffers):
    """w = 1/(v + tau2) into buffers[0], r = y - mu into buffers[1]; returns w, sum(w), r."""
    w = np.reciprocal(np.add(v, t, out=buffers[0]), out=buffers[0])
    sw = w.sum(axis=0)
    r = np.subtract(y, _rowdot(w, y) / sw, out=buffers[1])
    return w, sw, r


def _likelihood_terms(t, y, v, buffers):
    r"""(y'PPy, tr(P), tr(PP), tr(W), tr(W^2), y'PPPy) of the intercept-only models at tau2 = t (the terms of
    :func:`.tau2.likelihood_equation`): with w = 1/(v + tau2), P = W - w w'/sum(w) and P y = w (y - mu),
    y'PPy = :math:`\sum w_i^2 r_i^2`, tr(P) = :math:`\sum w - \sum w^2/\sum w`,
    tr(PP) = :math:`\sum w^2 - 2 \sum w^3/\sum w + (\sum w^2/\sum w)^2` and
    y'PPPy = :math:`\sum w_i^3 r_i^2 - (\sum w_i^2 r_i)^2/\sum w` (r = y - mu; Viechtbauer, 2005,
    J. Educ. Behav. Stat. 30(3), 261-293, eq. 11-14)."""
    w, sw, r = _likelihood_parts(t, y, v, buffers)
    wr = np.multiply(w, r, out=buffers[1])
    sw2 = _rowdot(w, w)
    trpp = sw2 - 2.0 * _rowdot(w, w, w) / sw + (sw2 / sw) ** 2
    return (_rowdot(wr, wr), sw - sw2 / sw, trpp, sw, sw2, _rowdot(wr, wr, w) - _rowdot(wr, w) ** 2 / sw)


def _likelihood(restricted: bool):
    """ML or REML (:func:`.tau2.score_roots`, as :func:`.tau2.ml` and :func:`.tau2.reml`) from the HE
    estimate; SE sqrt(2 / information) at the estimate."""
    def estimate(y, v, present, k):
        tau2, ok = _solve(restricted, y, v, present, k, start=closed_form("HE", _Rows(y, v, present, k))[0])
        buffers = tuple(np.empty(y.shape) for _ in range(2))
        info = likelihood_equation(_likelihood_terms(tau2, y, v, buffers), restricted)[1]
        return tau2, np.sqrt(2.0 / info), ok
    return estimate


def _q_function(y, v):
    r"""``(t, idx) -> (Q, Q')``, the generalised Q statistic :math:`Q(\tau^2) = \sum w_i (y_i - \hat\mu)^2`,
    :math:`w_i = 1/(v_i + \tau^2)`, and :math:`Q' = -\sum w_i^2 (y_i - \hat\mu)^2` (the derivative through
    mu vanishes, as mu minimises the weighted sum of squares) of the meta-analyses ``idx`` of (k, m) arrays,
    at one tau2 each (for :func:`.tau2.q_roots`)."""
    columns = _working_set(y, v)

    def q(t, idx):
        yw, vw, buffers = columns(idx)
        w, _, r = _likelihood_parts(t, yw, vw, buffers)
        wr = np.multiply(w, r, out=buffers[2])
        return _rowdot(wr, r), -_rowdot(wr, wr)
    return q


def _generalised_q_root(y, v, present, k, target):
    """The tau2 at which the generalised Q equals ``target``, 0 where Q(0) <= target: :func:`.tau2.q_roots`
    from 0, up to :func:`.tau2.search_limit`. Returns (tau2, found), arrays of length m."""
    n = k.size
    target = np.broadcast_to(np.asarray(target, dtype=np.float64), (n,))
    q = _q_function(y, v)
    q0, dq0 = q(np.zeros(n), np.arange(n))
    tau2, found = np.zeros(n), np.ones(n, dtype=bool)
    run = np.flatnonzero(q0 > target)
    if run.size:
        mean_v = _mean_v(v, present, k)[run]
        y_run = y[:, run]
        mean = y_run.sum(axis=0) / k[run]
        rss = np.where(present[:, run], (y_run - mean[None, :]) ** 2, 0.0).sum(axis=0)
        tau2[run], found[run] = q_roots(q if run.size == n else _q_function(y_run, v[:, run]), target[run],
                                        start=np.zeros(run.size), at_start=(q0[run], dq0[run]), scale=mean_v,
                                        limit=search_limit(rss, mean_v, target[run]))
    return tau2, found


def _tau2_pm(y, v, present, k):
    r"""Paule & Mandel (1982), J. Res. Natl. Bur. Stand. 87(5), 377-385: the root of Q(tau2) = k - 1; also
    the empirical Bayes estimator (:func:`.tau2.eb`). SE as Morris (1983) (:func:`.tau2.morris_se`)."""
    tau2, ok = _generalised_q_root(y, v, present, k, k - 1.0)
    return tau2, morris_se(k, k - 1.0, (1.0 / (v + tau2[None, :])).sum(axis=0)), ok


def _tau2_pmm(y, v, present, k):
    r"""Median-unbiased Paule-Mandel (:func:`.tau2.pmm`): the root of Q(tau2) = the median of the
    chi-square distribution with k - 1 df. SE as Morris (1983)."""
    tau2, ok = _generalised_q_root(y, v, present, k, dist.chi2_ppf(0.5, k - 1.0))
    return tau2, morris_se(k, k - 1.0, (1.0 / (v + tau2[None, :])).sum(axis=0)), ok


def q_profile_arrays(y, v, lower_target, upper_target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Q-profile confidence intervals for tau2 (Viechtbauer, 2007, Stat. Med. 26(1), 37-52, eq. 6-7) of the
    meta-analyses of clean (k, m) arrays (missing studies: y = 0, v = inf; k >= 2 studies each), as
    :func:`.tau2.q_profile_ci` defines them: the bounds are the tau2 at which the generalised Q statistic
    equals ``lower_target`` (the upper alpha/2 quantile of chi2(k - 1)) and ``upper_target`` (the lower
    one), 0 where Q(0) is already at or below it, NaN beyond where that function stops searching
    (1e12 times the mean vi, or 2 RSS / target when the effect sizes spread further: see
    :func:`.tau2.search_limit`). Returns (lower, upper, found), arrays of length m.
    """
    present = np.isfinite(v)
    k = present.sum(axis=0).astype(np.float64)
    lower, found_lower = _generalised_q_root(y, v, present, k, lower_target)
    upper, found_upper = _generalised_q_root(y, v, present, k, upper_target)
    return lower, upper, found_lower & found_upper


ESTIMATORS = {**{m: _closed_form(m) for m in ("DL", "HE", "HS", "SJ")}, "ML": _likelihood(False),
              "REML": _likelihood(True), "EB": _tau2_pm, "PM": _tau2_pm, "PMM": _tau2_pmm}


# --------------------------------------------------------------------------------------------------


def _inference(y, v, k, tau2, se_tau2, converged, *, method, test, level) -> dict:
    r"""Pooled effect, tests, intervals and heterogeneity statistics given tau2, per row, from
    :mod:`._inference` (metafor's definitions):

    - ``se`` = :math:`1/\sqrt{\sum w}`, w = 1/(v + tau2); with "knha" multiplied by the square root of the
      Knapp-Hartung factor; "t" and "knha" use the t distribution with k - 1 df;
    - the prediction interval with the same critical value (absent for "FE");
    - Q with weights 1/v on k - 1 df (Cochran, 1954, Biometrics 10(1), 101-129);
    - I2 and H2 of the random-effects model with the typical within-study variance
      :math:`s^2 = (k-1)\sum w/((\sum w)^2 - \sum w^2)`, w = 1/v, or of the common-effect model ("FE");
    - k = 1: the z test, Q = 0 (p = 1), I2 = 0, H2 = 1, as metafor; k = 0: NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        w0, sw0, _, q = _fe_parts(y, v)
        df = (k - 1).astype(np.float64)
        w = np.reciprocal(np.add(v, tau2))
        sw = w.sum(axis=0)
        mu = _rowdot(w, y) / sw
        se = 1.0 / np.sqrt(sw)
        use_t = (k > 1) if test in ("t", "knha") else np.zeros(k.shape, dtype=bool)
        if test == "knha":
            r = np.subtract(y, mu)
            se = np.where(use_t, se * np.sqrt(inference.knha_factor(_rowdot(w, r, r), df)), se)
        stat, pval, crit, ci_low, ci_high = inference.wald(mu, se, np.where(use_t, df, np.inf), level)
        single, none = k == 1, k == 0
        q = np.where(single, 0.0, q)
        if method == "FE":
            pi_low = pi_high = np.full(k.shape, np.nan)
            i2, h2 = inference.heterogeneity_common(q, df)
        else:
            pi_low, pi_high = inference.prediction_interval(mu, se, tau2, crit)
            i2, h2 = inference.heterogeneity_random(tau2, df * sw0 / (sw0 * sw0 - _rowdot(w0, w0)))
        i2, h2 = np.where(single, 0.0, i2), np.where(single, 1.0, h2)
        q_pval = inference.q_pval(q, df)
    return dict(k=k, estimate=mu, se=se, stat=stat, pval=pval, ci_low=ci_low, ci_high=ci_high,
                pi_low=pi_low, pi_high=pi_high, tau2=tau2, se_tau2=se_tau2, i2=np.where(none, np.nan, i2),
                h2=np.where(none, np.nan, h2), q=np.where(none, np.nan, q), q_df=np.maximum(k - 1, 0),
                q_pval=np.where(none, np.nan, q_pval), converged=converged)
