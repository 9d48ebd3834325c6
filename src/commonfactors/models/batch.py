"""fit_many: thousands of intercept-only meta-analyses at once (simulation studies, bootstraps).

The user's arrays are (m, k): m meta-analyses by k studies. Inside, every estimator works on their
transpose, (k, m), with missing studies (padding) carrying weight zero. Nothing loops over the m
meta-analyses in Python:
closed-form estimators are a few row sums, the iterative ones (ML/REML Fisher scoring, the
Paule-Mandel roots) update all rows at once and drop the rows that have converged from the
working set. The definitions are metafor's (Viechtbauer, 2010) for a model with an intercept only,
so each row equals a single fit with ``meta_analysis`` / metafor's ``rma``.
"""

from __future__ import annotations

import warnings
from typing import get_args

import numpy as np

from .. import _distributions as dist
from .._checks import format_rows
from ..errors import ConvergenceWarning, DroppedRowsWarning, InputError, SmallKWarning
from ..results.batch import BatchResult
from . import _inference as inference
from ._options import BatchMethod, Test, normalize_options
from .tau2 import MAXITER, SWITCH, search_limit, within_tolerance

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
    The estimators and their standard errors are documented where they are computed (``_tau2_*``).

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
                               ("yi", y, np.isinf(y), "a finite effect size")):
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise InputError(f"got {a[i, j]:g} for study {j}", row=int(i), column=name, expected=what)
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


def _trace_psps(w, sigma):
    r"""tr(P S P S) per row, with P = W - w w'/sum(w) (W = diag(w)) and S = diag(sigma).

    Var(y'Py) = 2 tr(PSPS) when y ~ N(X beta, S) and P X = 0 (the variance of a quadratic form in
    normal variables; Searle, Casella & McCulloch, 1992, Variance Components, Wiley). With a = w * sigma:
    :math:`\sum a_i^2 - 2 \sum w_i a_i^2 / \sum w + (\sum w_i a_i)^2 / (\sum w)^2`.
    """
    a = w * sigma
    s = w.sum(axis=0)
    return _rowdot(a, a) - 2.0 * _rowdot(w, a, a) / s + (_rowdot(w, a) / s) ** 2


def _mean_v(v, present, k):
    return np.where(present, v, 0.0).sum(axis=0) / k


# --------------------------------------------------------------------------------------------------
# tau2 estimators: each takes (y, v, present, k) of meta-analyses with k >= 2 and returns (tau2, se_tau2,
# converged).


def _tau2_dl(y, v, present, k):
    r"""DerSimonian & Laird (1986), Controlled Clinical Trials 7(3), 177-188, method of moments on Q.

    :math:`\hat\tau^2 = \max\{0, (Q - (k-1)) / (\sum w - \sum w^2/\sum w)\}`, w = 1/v. SE: Var(Q) under
    the model (``_trace_psps`` with S = diag(v + tau2)) divided by the same denominator.
    """
    w, sw, _, q = _fe_parts(y, v)
    trp = sw - _rowdot(w, w) / sw  # tr(P) for the common-effect weights
    tau2 = np.maximum(0.0, (q - (k - 1)) / trp)
    se = np.sqrt(2.0 * _trace_psps(w, np.where(present, v + tau2[None, :], 0.0))) / trp
    return tau2, se, np.ones(tau2.shape, dtype=bool)


def _tau2_he(y, v, present, k):
    r"""Hedges (1983), Psychological Bulletin 93(2), 388-395: moments on the unweighted residuals.

    :math:`\hat\tau^2 = \max\{0, \sum (y_i - \bar y)^2/(k-1) - \sum v_i / k\}`. SE: the variance of
    the unweighted residual sum of squares (``_trace_psps`` with unit weights) over (k - 1).
    """
    ones = present.astype(np.float64)
    ybar = y.sum(axis=0) / k
    rss = (ones * (y - ybar[None, :]) ** 2).sum(axis=0)
    tau2 = np.maximum(0.0, rss / (k - 1) - _mean_v(v, present, k))
    se = np.sqrt(2.0 * _trace_psps(ones, np.where(present, v + tau2[None, :], 0.0))) / (k - 1)
    return tau2, se, np.ones(tau2.shape, dtype=bool)


def _tau2_hs(y, v, present, k):
    r"""Hunter & Schmidt (2004), Methods of Meta-Analysis, 2nd ed., Sage; as in Viechtbauer (2005),
    J. Educ. Behav. Stat. 30(3), 261-293: :math:`\hat\tau^2 = \max\{0, (Q - k)/\sum w\}`, w = 1/v.

    SE: Var(Q) under the model divided by :math:`\sum w`.
    """
    w, sw, _, q = _fe_parts(y, v)
    tau2 = np.maximum(0.0, (q - k) / sw)
    se = np.sqrt(2.0 * _trace_psps(w, np.where(present, v + tau2[None, :], 0.0))) / sw
    return tau2, se, np.ones(tau2.shape, dtype=bool)


def _tau2_sj(y, v, present, k):
    r"""Sidik & Jonkman (2005), J. R. Stat. Soc. C (Applied Statistics) 54(2), 367-384.

    Starting from :math:`\hat\tau_0^2 = \sum (y_i - \bar y)^2 / k`, weights :math:`1/(v_i + \hat\tau_0^2)`
    and the weighted mean :math:`\hat\mu_0`: :math:`\hat\tau^2 = \hat\tau_0^2 \sum (y_i - \hat\mu_0)^2
    / (v_i + \hat\tau_0^2) / (k - 1)` (never negative). SE: the variance of that quadratic form under the
    model, times :math:`\hat\tau_0^2/(k-1)`.
    """
    ybar = y.sum(axis=0) / k
    tau0 = (present * (y - ybar[None, :]) ** 2).sum(axis=0) / k
    w = 1.0 / (v + tau0[None, :])
    mu0 = (w * y).sum(axis=0) / w.sum(axis=0)
    tau2 = tau0 * (w * (y - mu0[None, :]) ** 2).sum(axis=0) / (k - 1)
    se = tau0 * np.sqrt(2.0 * _trace_psps(w, np.where(present, v + tau2[None, :], 0.0))) / (k - 1)
    return tau2, se, np.ones(tau2.shape, dtype=bool)


def _rowdot(a, b, c=None):
    """Per meta-analysis sums over the studies of a * b (* c), without a temporary (k, m) product."""
    return np.einsum("ij,ij->j", a, b) if c is None else np.einsum("ij,ij,ij->j", a, b, c)


def _solve(equation, y, v, present, k, *, start, target=None):
    r"""Root in tau2 >= 0 of ``g(tau2) = 0`` for all meta-analyses at once, where g is positive below
    the root and negative above it (a likelihood score, or Q(tau2) - target).

    ``equation(t, y, v, target, buffers)`` returns g(t), the expected information and -g'(t). Steps are
    Fisher scoring (g over the information, metafor's algorithm, so that where the likelihood has
    several maxima the one metafor finds is found) until the step is below ``SWITCH * (tau2 + mean vi)``,
    then Newton (g / -g', quadratic convergence) while -g' > 0. Iterations start at ``start``
    (or, where that is 0, at 0) and keep a bracket [lo, hi] that every evaluation narrows (g > 0:
    lo = t; g < 0: hi = t). A step below 0 is truncated to 0, as in metafor's Fisher scoring; where
    g(0) <= 0 the maximum (or root) is at 0. A step that leaves the bracket, or is not smaller than
    half the previous one, is replaced by bisection (the safeguard of ``rtsafe``, Press et al., 2007,
    Numerical Recipes, 3rd ed., sec. 9.4). This prevents the two-cycles of plain Fisher scoring when
    the step overshoots the boundary (where metafor's rma stops with "Fisher scoring algorithm did not
    converge") and cannot change a fixed point. A meta-analysis stops by the rule of single fits
    (:func:`.tau2.within_tolerance`), after at most ``MAXITER`` iterations. Finished ones are frozen,
    and dropped from the working arrays once they are half of them; the (k, m) temporaries live in three
    buffers allocated once (allocating them at every step costs more than the arithmetic).
    """
    n = k.size
    target = np.zeros(n) if target is None else target
    scale = _mean_v(v, present, k)
    tau2 = np.array(start, dtype=np.float64)
    converged = np.zeros(n, dtype=bool)
    buffers = tuple(np.empty(y.shape) for _ in range(3))
    idx = np.arange(n)  # the working set: positions in the result arrays
    active = np.ones(n, dtype=bool)
    t = tau2.copy()
    lo, hi = np.zeros(n), np.full(n, np.inf)
    seen0 = t == 0  # g(0) known to be > 0 (lo = 0 is a verified end of the bracket)
    last = np.full(n, np.inf)  # the previous step's length
    wy, wv, wtarget, wscale = y, v, target, scale
    for _ in range(MAXITER):
        g, d_fisher, d_newton = equation(t, wy, wv, wtarget, tuple(b[:, : idx.size] for b in buffers))
        lo = np.where(g > 0, t, lo)
        hi = np.where(g < 0, t, hi)
        boundary = (t == 0) & (g <= 0)
        step = g / d_fisher
        near = (np.abs(step) <= SWITCH * (t + wscale)) & (d_newton > 0)
        step = np.where(near, g / np.where(near, d_newton, 1.0), step)
        new = t + step
        bisect = ~((new > lo) & (new < hi)) | ((np.abs(step) > 0.5 * last) & np.isfinite(hi))
        new = np.where(bisect, 0.5 * (lo + hi), new)
        new = np.where((new <= 0) | ((t + step <= 0) & ~seen0), 0.0, new)  # try the boundary once
        seen0 |= new == 0
        newton = near & ~bisect
        done = active & (boundary | (g == 0) | within_tolerance(new - t, new, wscale, newton, hi - lo))
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
            idx, t, lo, hi, seen0, last = (a[active] for a in (idx, t, lo, hi, seen0, last))
            wy, wv, wtarget, wscale = wy[:, active], wv[:, active], wtarget[active], wscale[active]
            active = np.ones(n_active, dtype=bool)
    return tau2, converged


def _likelihood_parts(t, y, v, buffers):
    """w = 1/(v + tau2) into buffers[0], r = y - mu into buffers[1]; returns w, sum(w), r."""
    w = np.reciprocal(np.add(v, t, out=buffers[0]), out=buffers[0])
    sw = w.sum(axis=0)
    r = np.subtract(y, _rowdot(w, y) / sw, out=buffers[1])
    return w, sw, r


def _reml_equation(t, y, v, target, buffers):
    r"""REML score of the intercept-only model, its expected information and minus its derivative
    (Harville, 1977, JASA 72(358), 320-338; Viechtbauer, 2005, J. Educ. Behav. Stat. 30(3), 261-293).
    With w = 1/(v + tau2), P = W - w w'/sum(w) and P y = w (y - mu): twice the score is
    :math:`g = y'PPy - \mathrm{tr} P`, twice the information :math:`\mathrm{tr}(PP)` (a Fisher scoring step,
    as metafor's) and minus the derivative of g is :math:`2 y'PPPy - \mathrm{tr}(PP)` (a Newton step)."""
    w, sw, r = _likelihood_parts(t, y, v, buffers)
    wr = np.multiply(w, r, out=buffers[1])
    sw2 = _rowdot(w, w)
    trpp = sw2 - 2.0 * _rowdot(w, w, w) / sw + (sw2 / sw) ** 2
    ypppy = _rowdot(wr, wr, w) - _rowdot(wr, w) ** 2 / sw
    return _rowdot(wr, wr) - (sw - sw2 / sw), trpp, 2.0 * ypppy - trpp


def _ml_equation(t, y, v, target, buffers):
    r"""ML score, doubled: :math:`g = \sum w_i^2 r_i^2 - \sum w_i` (r = y - mu); the expected
    information :math:`\sum w_i^2` and minus the derivative of g,
    :math:`2(\sum w_i^3 r_i^2 - (\sum w_i^2 r_i)^2/\sum w_i) - \sum w_i^2` (same sources as
    ``_reml_equation``)."""
    w, sw, r = _likelihood_parts(t, y, v, buffers)
    wr = np.multiply(w, r, out=buffers[1])
    sw2 = _rowdot(w, w)
    return _rowdot(wr, wr) - sw, sw2, 2.0 * (_rowdot(wr, wr, w) - _rowdot(wr, w) ** 2 / sw) - sw2


def _q_equation(t, y, v, target, buffers):
    r"""The generalised Q minus its target, :math:`g = \sum w_i (y_i - \hat\mu)^2 - \mathrm{target}`,
    and :math:`D = -g' = \sum w_i^2 (y_i - \hat\mu)^2` (the derivative through mu vanishes, as mu
    minimises the weighted sum of squares), so the step is Newton's."""
    w, _, r = _likelihood_parts(t, y, v, buffers)
    wr = np.multiply(w, r, out=buffers[2])
    d = _rowdot(wr, wr)
    return _rowdot(wr, r) - target, d, d


def _tau2_ml(y, v, present, k):
    r"""Maximum likelihood: the root of the ML score (``_ml_equation``) by safeguarded Fisher scoring
    (then Newton) from the HE estimate, truncated at 0 (``_solve``). SE from the inverse Fisher information,
    :math:`\sqrt{2/\sum w^2}`."""
    tau2, ok = _solve(_ml_equation, y, v, present, k, start=_tau2_he(y, v, present, k)[0])
    return tau2, np.sqrt(2.0 / (1.0 / (v + tau2[None, :]) ** 2).sum(axis=0)), ok


def _tau2_reml(y, v, present, k):
    r"""Restricted maximum likelihood: the root of the REML score (``_reml_equation``) by safeguarded
    Fisher scoring (then Newton) from the HE estimate, truncated at 0 (``_solve``). SE from the inverse
    expected information, :math:`\sqrt{2/\mathrm{tr}(PP)}`."""
    tau2, ok = _solve(_reml_equation, y, v, present, k, start=_tau2_he(y, v, present, k)[0])
    w = 1.0 / (v + tau2[None, :])
    sw, sw2 = w.sum(axis=0), _rowdot(w, w)
    return tau2, np.sqrt(2.0 / (sw2 - 2.0 * _rowdot(w * w, w) / sw + (sw2 / sw) ** 2)), ok


def _generalised_q_root(y, v, present, k, target):
    r"""The tau2 at which the generalised Q, :math:`Q(\tau^2) = \sum w_i (y_i - \hat\mu)^2` with
    :math:`w_i = 1/(v_i + \tau^2)`, equals ``target`` (0 when Q(0) <= target): Q decreases in tau2, so
    ``_solve`` finds the root with Newton steps from 0."""
    return _solve(_q_equation, y, v, present, k, start=np.zeros(k.size), target=target)


def _morris_se(v, k, tau2):
    r"""SE of an empirical Bayes / Paule-Mandel tau2: :math:`\sqrt{2k^2/(k-1)} / \sum w_i`,
    w = 1/(v + tau2) (Morris, 1983, JASA 78(381), 47-55, the variance of the EB estimate of A)."""
    sw = (1.0 / (v + tau2[None, :])).sum(axis=0)
    return np.sqrt(2.0 * k * k / (k - 1)) / sw


def _tau2_pm(y, v, present, k):
    r"""Paule & Mandel (1982), J. Res. Natl. Bur. Stand. 87(5), 377-385: the root of Q(tau2) = k - 1.

    SE as Morris (1983) (see ``_morris_se``).
    """
    tau2, ok = _generalised_q_root(y, v, present, k, k - 1.0)
    return tau2, _morris_se(v, k, tau2), ok


def _tau2_eb(y, v, present, k):
    r"""Empirical Bayes (Morris, 1983; Berkey et al., 1995, Stat. Med. 14(4), 395-411).

    The EB fixed point :math:`\tau^2 = \sum w_i (k/(k-1) (y_i - \hat\mu)^2 - v_i) / \sum w_i` is,
    after multiplying out (:math:`\sum w_i (v_i + \tau^2) = k`), :math:`\sum w_i (y_i - \hat\mu)^2 = k - 1`:
    the Paule-Mandel equation (an identity metafor's rma.uni documentation also states), so it is
    solved by the same root finder. SE as Morris (1983) (see ``_morris_se``).
    """
    tau2, ok = _generalised_q_root(y, v, present, k, k - 1.0)
    return tau2, _morris_se(v, k, tau2), ok


def _tau2_pmm(y, v, present, k):
    r"""Median-unbiased Paule-Mandel (Viechtbauer, W., 2021, Median-unbiased estimators for the amount
    of heterogeneity in meta-analysis, European Congress of Methodology; metafor's method "PMM"): the
    root of Q(tau2) = the median of the chi-square distribution with k - 1 df. SE as Morris (1983).
    """
    tau2, ok = _generalised_q_root(y, v, present, k, dist.chi2_ppf(0.5, k - 1.0))
    return tau2, _morris_se(v, k, tau2), ok


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
    mean_v = _mean_v(v, present, k)
    mean = np.where(present, y, 0.0).sum(axis=0) / k
    rss = np.where(present, (y - mean[None, :]) ** 2, 0.0).sum(axis=0)
    lower, found_lower = _generalised_q_root(y, v, present, k, lower_target)
    upper, found_upper = _generalised_q_root(y, v, present, k, upper_target)
    return (np.where(lower > search_limit(rss, mean_v, lower_target), np.nan, lower),
            np.where(upper > search_limit(rss, mean_v, upper_target), np.nan, upper),
            found_lower & found_upper)


ESTIMATORS = {"DL": _tau2_dl, "HE": _tau2_he, "HS": _tau2_hs, "SJ": _tau2_sj, "ML": _tau2_ml,
              "REML": _tau2_reml, "EB": _tau2_eb, "PM": _tau2_pm, "PMM": _tau2_pmm}


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
