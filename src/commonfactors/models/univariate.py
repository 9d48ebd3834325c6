"""Common-, random- and mixed-effects meta-analytic models (metafor's ``rma.uni``), and subgroups.

``meta_analysis()`` validates its input once (``_checks.effect_data``) and calls :func:`fit`, which other
modules (bias, influence, batch) call directly on clean arrays. The model is

    y_i = x_i' beta + u_i + e_i,   u_i ~ N(0, tau2),   e_i ~ N(0, v_i),

with the v_i known; tau2 = 0 in the common-effect model (Raudenbush, 2009, eq. 16.2 and 16.24).
Knows nothing of files.
"""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from .._checks import EffectData, check_range, format_rows, group_codes, numeric, warn_dropped
from ..errors import ConvergenceWarning, InputError, SmallKWarning
from ..results.meta import Coefficient, MetaResult, SubgroupResult
from . import _inference as inference
from ._notes import user_stacklevel, validated
from ._options import Method, Test, normalize_options
from ._wls import InterceptSums, cochran_q, is_intercept_only, wls, xdx
from .batch import fit_arrays, q_profile_arrays
from .tau2 import COMMON_EFFECT, WEIGHTED_METHODS, _chi2_quantile, estimate_tau2, q_profile_ci


def check_weights(method: str, weights) -> None:
    """``weights`` are given exactly when ``method`` needs them (GENQ); an InputError otherwise."""
    if method in WEIGHTED_METHODS and weights is None:
        raise InputError(f"method={method!r} needs weights= (the weights of its generalised Q statistic)")
    if method not in WEIGHTED_METHODS and weights is not None:
        raise InputError(f"weights= are only used by method='GENQ', not by method={method!r}")


def fit(data: EffectData, *, method: Method = "REML", test: Test = "z", level: float = 95,
        profile_ci: bool = True, weights: np.ndarray | None = None) -> MetaResult:
    """Fit the model to validated data; the engine behind :func:`meta_analysis`, for use inside the package.

    ``data`` is an :class:`commonfactors._checks.EffectData` (clean float64 ``yi``, ``vi`` > 0, ``X`` with the
    intercept first); nothing is re-validated. Options are normalised by :func:`normalize_options`.

    Computes, as metafor's ``rma.uni`` (3.8) defines them:

    - tau2 by the chosen estimator (:mod:`.tau2`) and its standard error; tau2 = 0 when k = p (a warning);
    - beta = (X'WX)^{-1} X'Wy, W = diag(1/(vi + tau2)), with covariance (X'WX)^{-1} (Raudenbush, 2009,
      eq. 16.6-16.7); under ``test="knha"`` the covariance is multiplied by
      s2 = sum w_i e_i^2 / (k - p), not truncated at 1 (Knapp & Hartung, 2003, Stat. Med. 22, 2693-2710,
      eq. 7; Hartung, 1999), and tests use t(k - p), as under ``test="t"``;
    - with user ``weights`` a (method "GENQ", :func:`.tau2.genq`; k values > 0, already validated) the
      coefficients are weighted by a instead: beta = (X'AX)^{-1} X'Ay with the covariance of that linear
      estimator under the model, (X'AX)^{-1} X'A(V + tau2 I)AX (X'AX)^{-1} (DerSimonian & Kacker, 2007;
      the Knapp-Hartung s2 above, from the inverse-variance weighted residuals, multiplies it as it does
      metafor's);
    - the prediction interval beta_0 +- crit sqrt(tau2 + se^2) (Riley, Higgins & Deeks, 2011, BMJ 342,
      d549, with metafor's crit: z, or t(k - p) under t/knha), for models without moderators;
    - Cochran's Q_E = sum (1/vi) e_i^2 (common-effect residuals) with k - p degrees of freedom;
    - I2 and H2 (Higgins & Thompson, 2002, Stat. Med. 21, 1539-1558): for random/mixed-effects models
      I2 = 100 tau2 / (vt + tau2) and H2 = (vt + tau2) / vt with metafor's "typical" within-study variance
      vt = (k - p) / tr(P), P with weights 1/vi (Higgins & Thompson, 2002, eq. 9, generalised to
      moderators); for the common-effect model I2 = 100 max(0, (Q - df) / Q) and H2 = Q / df;
    - Q-profile confidence intervals for tau2 (Viechtbauer, 2007) and the matching I2 and H2 intervals
      (with ``profile_ci=False`` they are not computed and are NaN: refits that do not report them, such
      as leave-one-out and trim-and-fill iterations, save their root finding). They are NaN for GENQ too:
      metafor's interval for that estimator is the generalised Q-statistic method (Jackson, 2013, Res.
      Synth. Methods 4(3), 220-229), with the distribution of a weighted sum of chi-squares, which is not
      implemented here;
    - with moderators: the omnibus test QM = b' V^{-1} b over the coefficients but the intercept,
      chi2(p - 1), or F = QM / (p - 1) with (p - 1, k - p) degrees of freedom under t/knha; and the
      pseudo-R2 = 100 max(0, (tau2_RE - tau2) / tau2_RE), tau2_RE from the model without moderators with
      the same estimator (Raudenbush, 2009, eq. 16.22; 0 when tau2_RE = 0).
    """
    method, test, level = normalize_options(method, test, level)
    check_weights(method, weights)
    y, v, X = data.yi, data.vi, data.X
    k, p = X.shape
    df_res = k - p
    notes: list[str] = []

    def warn(message: str, category) -> None:
        notes.append(message)
        warnings.warn(message, category, stacklevel=user_stacklevel())

    if df_res < 1 and test != "z":  # no residual degrees of freedom for t tests: metafor switches to z too
        warn(f"test={test!r} needs more studies than coefficients (k = {k}); using test='z'", SmallKWarning)
        test = "z"
    random = method not in COMMON_EFFECT
    sums = InterceptSums(y, v) if is_intercept_only(X) else None  # shared by every step below
    tau2, se_tau2 = 0.0, math.nan
    if random and df_res < 1:
        warn(f"k = {k} {'study' if k == 1 else 'studies'} for {p} coefficient{'s' if p > 1 else ''}: "
             "tau2 cannot be estimated and is set to 0", SmallKWarning)
    elif random:
        tf = estimate_tau2(method, y, v, X, weights, sums)
        tau2, se_tau2 = tf.tau2, tf.se_tau2
        if not tf.converged:
            warn(f"the {method} estimator of tau2 did not converge" +
                 (f" in {tf.iterations} iterations" if tf.iterations else ""), ConvergenceWarning)
        if k < 3:
            warn(f"only k = {k} studies: tau2, I2 and H2 are very imprecise", SmallKWarning)

    # coefficients
    w = v + tau2
    np.reciprocal(w, out=w)  # w = 1 / (v + tau2), without a temporary array of k
    if sums is not None:  # without moderators: beta = sum(w y) / sum(w), var = 1 / sum(w), from the sums
        at_tau2 = sums.sums(tau2)
        estimate, variance = sums.coefficient(at_tau2)
        beta, vcov = np.array([estimate]), np.array([[variance]])
        q_w, dq_w = sums.q_from(at_tau2)  # Q(tau2), Q'(tau2): also where the Q-profile search starts
    else:
        wf = wls(y, X, w)
        beta, vcov, q_w = wf.beta, wf.A, wf.q
        del wf  # its k residuals are not needed: a smaller peak of memory for large k
    if weights is not None:  # the linear estimator with weights a and its covariance under the model
        af = wls(y, X, weights)
        beta, vcov = af.beta, af.A @ xdx(X, weights * weights / w) @ af.A
        w = weights
    if test == "knha":
        vcov = vcov * inference.knha_factor(q_w, df_res)
    se = np.sqrt(np.diag(vcov))
    df = math.inf if test == "z" else float(df_res)
    stat, pval, crit, low, high = inference.wald(beta, se, df, level)
    coefs = tuple(Coefficient(name, *(float(x) for x in values))
                  for name, *values in zip(data.names, beta, se, stat, pval, low, high, strict=True))

    # prediction interval (models without moderators)
    pi_low = pi_high = math.nan
    if random and p == 1:
        pi_low, pi_high = (float(x) for x in inference.prediction_interval(beta[0], se[0], tau2, crit))

    # heterogeneity: Cochran's Q_E from the common-effect fit
    q, trP0 = cochran_q(y, v, X, sums)
    q_pval = inference.q_pval(q, df_res)
    vt = df_res / trP0 if df_res > 0 else math.nan
    tau2_ci = i2_ci = h2_ci = None
    if random:
        i2, h2 = inference.heterogeneity_random(tau2, vt)
        if df_res > 0:
            profile = profile_ci and method not in WEIGHTED_METHODS
            tau2_ci = (q_profile_ci(y, v, X, level, start=tau2, q0=q, sums=sums,
                                    at_start=None if sums is None else (q_w, dq_w))
                       if profile else (math.nan, math.nan))
            i2_ci, h2_ci = _heterogeneity_ci(tau2_ci, vt)
    else:
        i2, h2 = inference.heterogeneity_common(q, df_res)

    # moderators
    qm = qm_pval = r2 = math.nan
    m = p - 1
    if m > 0:
        qm, _, qm_pval = inference.omnibus(beta[1:], vcov[1:, 1:], test, df_res)
        if random:
            tau2_re = estimate_tau2(method, y, v, np.ones((k, 1)), weights).tau2 if k > 1 else 0.0
            r2 = 100.0 * max(0.0, (tau2_re - tau2) / tau2_re) if tau2_re > 0 else 0.0

    first = coefs[0]
    return MetaResult(
        k=k, estimate=first.estimate, se=first.se, stat=first.stat, pval=first.pval, ci_low=first.ci_low,
        ci_high=first.ci_high, pi_low=pi_low, pi_high=pi_high, tau2=tau2, se_tau2=se_tau2, tau2_ci=tau2_ci,
        i2=i2, i2_ci=i2_ci, h2=h2, h2_ci=h2_ci, q=q, q_df=df_res, q_pval=q_pval, method=method, test=test,
        level=level, df=df, coefficients=coefs, qm=qm, qm_df=m, qm_pval=qm_pval, r2=r2, vt=vt, yi=y,
        vi=v, X=X, weights=w, vcov=vcov, slab=data.slab, rows=data.rows, warnings=tuple(notes),
        crit=float(crit))


def _heterogeneity_ci(tau2_ci, vt: float):
    """The intervals of I2 and H2 (tuples of floats) at the limits of tau2's interval ``tau2_ci`` (None
    for both without one)."""
    if tau2_ci is None:
        return None, None
    return tuple(tuple(float(x) for x in a) for a in inference.heterogeneity_random(np.array(tau2_ci), vt))


def meta_analysis(data=None, *, yi="yi", vi="vi", sei=None, mods=None, by=None, slab=None,
                  method: Method = "REML", test: Test = "z", level: float = 95,
                  weights=None) -> MetaResult | SubgroupResult:
    """Fit a common-, random- or mixed-effects meta-analytic model (metafor's ``rma``).

    Parameters
    ----------
    data : pandas.DataFrame or commonfactors.io.RawTable, optional
        One row per study. When given, ``yi``, ``vi``, ``sei``, ``slab``, ``by`` and the names in ``mods``
        are column names; otherwise they are arrays of shape (k,).
    yi, vi : str or array_like
        Effect sizes and their sampling variances (``vi > 0``).
    sei : str or array_like, optional
        Standard errors instead of ``vi`` (``vi = sei**2``).
    mods : str or array_like, optional
        Moderators: an R-style formula (``"~ ablat + C(alloc)"``; treatment coding, first level in sorted
        order as reference) or an array (k,) or (k, q); an intercept is always included.
    by : str or array_like, optional
        Fit one model per level of this column (subgroup analysis; with ``mods``, one meta-regression per
        level) and test the differences (with ``mods``, of all coefficients at once).
    slab : str or array_like, optional
        Study labels.
    method : {"REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "GENQ", "FE", "EE", "CE"}
        Estimator of tau2 (see :mod:`commonfactors.models.tau2`); "FE"/"EE"/"CE" fit the common-effect
        model; "GENQ" (the generalised Q estimator of DerSimonian & Kacker, 2007) needs ``weights``.
        Default "REML", as metafor.
    test : {"z", "t", "knha"}
        Normal tests, t tests with k - p degrees of freedom, or the Knapp-Hartung adjustment with t tests
        (``"hksj"`` is an alias). Default "z".
    level : float
        Confidence level: a percent (default 95), a proportion (0.95) or a two-sided alpha (0.05), as
        metafor (:func:`.normalize_options`).
    weights : str or array_like, optional
        Weights (> 0) of the studies for ``method="GENQ"`` only (metafor's ``weights=``): they define the
        generalised Q statistic whose moments give tau2, and weight the coefficients (see :func:`fit`).
        The Q-profile intervals are NaN for this method.

    Returns
    -------
    MetaResult
        ``k``; ``estimate``, ``se``, ``stat``, ``pval``, ``ci_low``, ``ci_high`` (the pooled effect, or the
        intercept with moderators); ``pi_low``, ``pi_high`` (prediction interval; NaN for common-effect models
        and with moderators); ``tau2``, ``se_tau2``, ``tau2_ci``; ``i2`` (percent), ``i2_ci``; ``h2``,
        ``h2_ci``; ``q``, ``q_df``, ``q_pval`` (Cochran's Q; the residual QE with moderators, "qe" in the
        JSON); ``coefficients``; with moderators ``qm``, ``qm_df``, ``qm_pval``, ``r2`` (percent);
        ``warnings``; ``predict()``. See :func:`fit`.
    SubgroupResult
        With ``by``: one MetaResult per level, ``q_between``, ``q_between_df``, ``q_between_pval`` (with
        ``mods``: the test that the meta-regressions' coefficients are the same in every subgroup).

    Raises
    ------
    InputError
        A named column is missing or not numeric, ``vi <= 0``, a moderator has one level, a weight of a
        study used is missing or not > 0, or (``by`` with ``mods``) a subgroup cannot estimate the
        coefficients; an unknown ``method`` or ``test``, a ``level`` outside (0, 100), or ``weights``
        without ``method="GENQ"`` (or GENQ without them).

    Warns
    -----
    DroppedRowsWarning
        Rows with a missing yi, vi or moderator are left out (the warning names them).
    SmallKWarning
        Fewer than 3 studies in a random-effects model (tau2 = 0 with a single study).
    ConvergenceWarning
        An iterative estimator of tau2 did not converge.

    References
    ----------
    Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the random-effects
    model. J. Educ. Behav. Stat., 30(3), 261-293.
    Raudenbush, S. W. (2009). Analyzing effect sizes: random-effects models. In H. Cooper, L. V. Hedges &
    J. C. Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed., pp. 295-315).
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J. Stat. Softw., 36(3).

    Examples
    --------
    >>> import commonfactors as cf
    >>> # log risk ratios of the BCG vaccine trials (Colditz et al., 1994), to 3 decimals
    >>> yi = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339,
    ...       0.446, -0.017]
    >>> vi = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
    >>> res = cf.meta_analysis(yi=yi, vi=vi, method="REML")
    >>> round(res.estimate, 4), round(res.tau2, 4), round(res.i2, 2)
    (-0.7143, 0.3133, 92.23)
    """
    method, test, level = normalize_options(method, test, level)
    check_weights(method, weights)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, mods=mods, slab=slab)
    a = None if weights is None else _user_weights(data, weights, ed, n=len(data) if data is not None
                                                   else np.asarray(yi).shape[0])
    if by is None:
        res = fit(ed, method=method, test=test, level=level, weights=a)
        return dataclasses.replace(res, warnings=notes() + res.warnings)
    return _subgroups(data, ed, by, notes(), method=method, test=test, level=level, weights=a)


def _user_weights(data, weights, ed: EffectData, *, n: int) -> np.ndarray:
    """The boundary for ``weights``: a column of ``data`` or an array of the input's length; the values of
    the studies used must be finite and > 0."""
    values, column = numeric(data, weights, name="weights", n=n)
    a = values if ed.index is None else values[ed.index]
    missing = np.flatnonzero(np.isnan(a))
    if missing.size:
        raise InputError("missing value", file=ed.source, row=ed.rows[missing[0]], column=column or "weights",
                         expected="a weight > 0 for every study used")
    check_range(a, column=column or "weights", rows=ed.rows, source=ed.source, low=0, low_open=True,
                expected="a weight > 0")
    return a


def _label(value) -> str:
    """A subgroup label as the user wrote it: 2.0 -> '2', 'CBT' -> 'CBT'."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _subgroups(data, ed: EffectData, by, notes, *, method: str, test: str, level: float,
               weights: np.ndarray | None = None) -> SubgroupResult:
    """One model per level of ``by`` (with the moderators of ``ed.X``, if any) and the test for subgroup
    differences (:func:`_q_between`). A subgroup whose studies cannot identify the moderators' coefficients
    (fewer studies than coefficients, or a moderator constant within it) is an InputError naming it.
    """
    n_all = len(data) if data is not None else len(np.asarray(by))
    codes, levels, column = group_codes(data, by, name="by", n=n_all)
    index = ed.positions()
    codes = codes[index]
    notes = list(notes)
    missing = codes < 0
    if missing.any():
        msg = (f"{int(missing.sum())} {'study' if missing.sum() == 1 else 'studies'} with a missing "
               f"{column or 'by'} omitted ({format_rows(ed.rows[missing])})")
        warn_dropped(ed.rows[missing], f"a missing {column or 'by'}", stacklevel=user_stacklevel())
        notes.append(msg)
    results, names = [], []
    order = np.argsort(codes, kind="stable")                  # the studies of each level, in input order
    bounds = np.searchsorted(codes[order], np.arange(len(levels) + 1))
    together = {}
    if ed.X.shape[1] == 1 and weights is None:
        together = _levels_together(ed, order, bounds, method=method, test=test, level=level)
    for g, label in enumerate(levels):
        sel = order[bounds[g]:bounds[g + 1]]
        if sel.size == 0:
            continue
        if g in together:
            results.append(together[g])
            names.append(_label(label))
            continue
        sub = dataclasses.replace(ed, yi=ed.yi[sel], vi=ed.vi[sel], X=ed.X[sel], rows=ed.rows[sel],
                                  slab=ed.slab[sel], frame=None, index=index[sel])
        p = ed.X.shape[1]
        if p > 1 and np.linalg.matrix_rank(sub.X) < p:
            raise InputError(f"the {sel.size} {'study' if sel.size == 1 else 'studies'} of subgroup "
                             f"{_label(label)!r} cannot estimate the coefficients {', '.join(ed.names)}",
                             file=ed.source, column=column or "by",
                             expected="moderators that vary within every subgroup (at least as many studies "
                                      "as coefficients)")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = fit(sub, method=method, test=test, level=level,
                      weights=None if weights is None else weights[sel])
        name = _label(label)
        if res.warnings or caught:
            where = f"{column or 'by'} = {name}: "
            for c in caught:
                warnings.warn(where + str(c.message), c.category, stacklevel=user_stacklevel())
            res = dataclasses.replace(res, warnings=tuple(where + m for m in res.warnings))
            notes.extend(res.warnings)
        results.append(res)
        names.append(name)
    qb, qb_df = _q_between(results)
    qb_p = inference.q_pval(qb, qb_df) if qb_df > 0 and math.isfinite(qb) else math.nan
    return SubgroupResult(by=column or "by", levels=tuple(names), results=tuple(results), q_between=qb,
                          q_between_df=qb_df, q_between_pval=qb_p, method=method, test=test, level=level,
                          warnings=tuple(notes))


#: studies times subgroups in one call of the batched engine by :func:`_levels_together` (4 MB per array)
LEVELS_BLOCK = 2**19
#: the subgroups fitted together in one call have at most this ratio of largest to smallest k (padding)
LEVELS_SPREAD = 1.25


def _levels_together(ed: EffectData, order: np.ndarray, bounds: np.ndarray, *, method: str, test: str,
                     level: float) -> dict[int, MetaResult]:
    """The models without moderators of the subgroups with k >= 3 studies (``order[bounds[g]:bounds[g + 1]]``
    are the studies of subgroup g), fitted together by the batched engine (:func:`.batch.fit_arrays` and
    :func:`.batch.q_profile_arrays`, metafor's definitions as :func:`fit`'s; each model agrees with
    :func:`fit` on its studies to the estimators' convergence, ~1e-12 of tau2 + mean vi), by subgroup.

    Subgroups of similar k (within ``LEVELS_SPREAD``) go in one (k_max, m) array padded with weight zero
    (y = 0, v = inf), m at most ``LEVELS_BLOCK / k_max``. Subgroups with fewer than 3 studies, and any whose
    tau2 or Q-profile interval did not converge there, are left out: :func:`fit` fits them alone, with its
    warnings.
    """
    sizes = np.diff(bounds)
    levels = np.flatnonzero(sizes >= 3)
    levels = levels[np.argsort(sizes[levels], kind="stable")]
    out: dict[int, MetaResult] = {}
    start = 0
    while start < levels.size:
        n_min = sizes[levels[start]]
        stop = int(np.searchsorted(sizes[levels], LEVELS_SPREAD * n_min, side="right"))
        stop = min(stop, start + max(1, LEVELS_BLOCK // int(sizes[levels[stop - 1]])))
        out.update(_fit_block(ed, order, bounds, levels[start:stop], method=method, test=test, level=level))
        start = stop
    return out


def _fit_block(ed: EffectData, order: np.ndarray, bounds: np.ndarray, gs: np.ndarray, *, method: str,
               test: str, level: float) -> dict[int, MetaResult]:
    """The subgroups ``gs`` of :func:`_levels_together` in one batched fit; the fields of :func:`fit`."""
    k = np.diff(bounds)[gs]
    n = int(k.max())
    used = np.arange(n)[:, None] < k[None, :]
    study = order[np.where(used, bounds[gs][None, :] + np.arange(n)[:, None], 0)]
    y = np.where(used, ed.yi[study], 0.0)
    v = np.where(used, ed.vi[study], np.inf)
    random = method not in COMMON_EFFECT
    fits = fit_arrays(y, v, method=method if random else "FE", test=test, level=level)
    ok = fits["converged"]
    df = k - 1
    w0 = 1.0 / v
    sw0 = w0.sum(axis=0)
    vt = df / (sw0 - np.einsum("ij,ij->j", w0, w0) / sw0)          # (k - 1) / tr(P), weights 1/vi
    if random:
        alpha = 1.0 - level / 100.0
        quantile = {d: (_chi2_quantile(1.0 - alpha / 2.0, d), _chi2_quantile(alpha / 2.0, d))
                    for d in np.unique(df).tolist()}
        lo, hi, found = q_profile_arrays(y, v, np.array([quantile[d][0] for d in df.tolist()]),
                                         np.array([quantile[d][1] for d in df.tolist()]))
        ok &= found
    out = {}
    for c in np.flatnonzero(ok).tolist():
        g = int(gs[c])
        sel = order[bounds[g]:bounds[g + 1]]
        row = {name: float(fits[name][c]) for name in ("estimate", "se", "stat", "pval", "ci_low", "ci_high",
                                                         "pi_low", "pi_high", "tau2", "se_tau2", "i2", "h2",
                                                         "q", "q_pval")}
        vtc = float(vt[c])
        ci = (float(lo[c]), float(hi[c])) if random else None
        i2_ci, h2_ci = _heterogeneity_ci(ci, vtc)
        coef = Coefficient(ed.names[0], row["estimate"], row["se"], row["stat"], row["pval"], row["ci_low"],
                           row["ci_high"])
        out[g] = MetaResult(
            **row, k=int(k[c]), tau2_ci=ci,
            i2_ci=i2_ci, h2_ci=h2_ci,
            q_df=int(df[c]), method=method, test=test, level=level,
            df=math.inf if test == "z" else float(df[c]), coefficients=(coef,), qm=math.nan, qm_df=0,
            qm_pval=math.nan, r2=math.nan, vt=vtc, yi=ed.yi[sel],
            vi=ed.vi[sel], X=ed.X[sel], weights=1.0 / (ed.vi[sel] + row["tau2"]),
            vcov=np.array([[row["se"] ** 2]]), slab=ed.slab[sel], rows=ed.rows[sel],
            crit=float(inference.critical(level, math.inf if test == "z" else float(df[c]))))
    return out


def _q_between(results: list[MetaResult]) -> tuple[float, int]:
    """The test for subgroup differences: (Q_between, degrees of freedom); NaN with a single subgroup.

    Without moderators, Q_between is the Q statistic of a common-effect model of the G subgroup estimates
    with their squared standard errors: sum_g (b_g - b_bar)^2 / se_g^2, b_bar their inverse-variance
    weighted mean, on G - 1 degrees of freedom (Borenstein et al., 2009, Introduction to Meta-Analysis,
    ch. 19, "separate estimates of tau2"; metafor's documentation, "Subgroup analysis", as
    ``rma(estimates, sei=se, mods = ~ group, method="FE")``'s QM).

    With moderators the intercepts are the subgroups' effects at moderator values 0, whose comparison is
    rarely meaningful; the test is then of the whole coefficient vectors: are the G meta-regressions the
    same? Its statistic is the multivariate Q of a common-effect model of the G vectors b_g (p
    coefficients each) with their covariance matrices V_g: sum_g (b_g - b_bar)' V_g^{-1} (b_g - b_bar),
    b_bar = (sum_g V_g^{-1})^{-1} sum_g V_g^{-1} b_g, on (G - 1) p degrees of freedom (Jackson, White &
    Riley, 2012, Stat. Med. 31(29), 3805-3820, the multivariate Q; metafor's ``rma.mv(b, V, mods = ~ 0 +
    coefficient, method="FE")``'s QE). With p = 1 it is the statistic above.
    """
    G = len(results)
    p = len(results[0].coefficients)
    if G < 2:
        return math.nan, 0
    b = np.array([[c.estimate for c in r.coefficients] for r in results])      # (G, p)
    prec = np.linalg.inv(np.stack([r.vcov for r in results]))                   # (G, p, p): V_g^{-1}
    b_bar = np.linalg.solve(prec.sum(axis=0), np.einsum("gij,gj->i", prec, b))
    d = b - b_bar
    return float(np.einsum("gi,gij,gj->", d, prec, d)), (G - 1) * p
