"""Inference for the models' coefficients and heterogeneity, written once for every model.

Each model (univariate, batched, three-level, leave-one-out, bias, cluster-robust) computes its estimates
and their standard errors, then asks this module for what follows from them: the critical value, the
test statistic and its p-value, the confidence and prediction intervals, the Knapp-Hartung factor, the
omnibus test of moderators, I2 and H2. Everything works on scalars and on numpy arrays alike (one value
per meta-analysis or per coefficient), with the degrees of freedom ``df`` as ``math.inf`` for the normal
(z) test. Definitions are metafor's (``rma.uni``, ``rma.mv``, version 3.8).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import _distributions as dist


@functools.lru_cache(maxsize=1024)
def _quantile(prob: float, df: float) -> float:
    return float(dist.norm_ppf(prob)) if math.isinf(df) else float(dist.t_ppf(prob, df))


def critical(level: float, df=math.inf):
    """The two-sided critical value for a ``level`` percent interval: the normal quantile when ``df`` is
    infinite, the t(df) quantile otherwise, for any df > 0 (Satterthwaite's are fractional); NaN where
    df <= 0 or NaN, when no t test exists. ``df`` may be an array: the quantiles are computed once per
    distinct value (they are costly; most rows share one)."""
    prob = 1.0 - (1.0 - level / 100.0) / 2.0
    if np.ndim(df) == 0:
        df = float(df)
        return _quantile(prob, df) if df > 0 else math.nan
    df = np.asarray(df, dtype=float)
    values, which = np.unique(df, return_inverse=True)
    quantiles = np.array([_quantile(prob, d) if d > 0 else math.nan for d in values])
    return quantiles[which].reshape(df.shape)


def two_sided_p(stat, df=math.inf):
    """Two-sided p-value of a z (``df`` infinite) or t(df) statistic; NaN where df <= 0 or NaN (as
    :func:`critical`). Arrays allowed, ``df`` broadcast against ``stat``."""
    a = np.abs(np.asarray(stat, dtype=float))
    if np.ndim(df) == 0 and math.isinf(df):
        p = 2.0 * np.asarray(dist.norm_sf(a), dtype=float)
    else:
        df = np.broadcast_to(np.asarray(df, dtype=float), a.shape)
        z = np.isinf(df)
        usable = df > 0
        p = np.full(a.shape, math.nan)
        if z.any():
            p[z] = 2.0 * np.asarray(dist.norm_sf(a[z]), dtype=float)
        t = usable & ~z
        if t.any():
            p[t] = 2.0 * np.asarray(dist.t_sf(a[t], df[t]), dtype=float)
    return float(p) if np.ndim(stat) == 0 else p


def wald(estimate, se, df=math.inf, level: float = 95):
    """Wald tests and intervals: ``stat = estimate / se``, its two-sided p-value (z, or t with ``df``),
    the critical value and the limits ``estimate -+ crit * se``. Returns (stat, pval, crit, low, high)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.divide(estimate, se)
    crit = critical(level, df)
    return stat, two_sided_p(stat, df), crit, estimate - crit * se, estimate + crit * se


def prediction_interval(estimate, se, tau2, crit):
    """The prediction interval for the effect in a new study, ``estimate -+ crit sqrt(tau2 + se^2)``
    (Riley, Higgins & Deeks, 2011, BMJ 342, d549, with metafor's crit: z, or t(k - p) under t/knha)."""
    half = crit * np.sqrt(tau2 + se * se)
    return estimate - half, estimate + half


def knha_factor(q_w, df_res):
    """Knapp & Hartung's factor s2 = sum w_i e_i^2 / (k - p) by which the coefficients' covariance is
    multiplied, not truncated at 1 (Knapp & Hartung, 2003, Stat. Med. 22, 2693-2710, eq. 7; Hartung,
    1999); NaN without residual degrees of freedom. ``q_w`` is the weighted residual sum of squares at
    the estimated tau2."""
    q_w, df_res = np.asarray(q_w, dtype=float), np.asarray(df_res, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.where(df_res > 0, q_w / df_res, math.nan)
    return float(s2) if s2.ndim == 0 else s2


def omnibus(b, vcov, test: str, df_res):
    """The omnibus test of the coefficients ``b`` with covariance ``vcov`` (the moderators: all but the
    intercept): QM = b' V^{-1} b against chi2(m) under ``test="z"``, or F = QM / m against F(m, k - p)
    otherwise (metafor's ``rma``). Returns (QM or F, df, p-value); df is m, or (m, k - p)."""
    m = len(b)
    qm = float(b @ np.linalg.solve(vcov, b))
    if test == "z":
        return qm, m, float(dist.chi2_sf(qm, m))
    return qm / m, (m, df_res), (float(dist.f_sf(qm / m, m, df_res)) if df_res > 0 else math.nan)


def heterogeneity_random(tau2, vt):
    """I2 = 100 tau2 / (vt + tau2) and H2 = (vt + tau2) / vt of a random/mixed-effects model, with the
    "typical" within-study variance vt (Higgins & Thompson, 2002, Stat. Med. 21, 1539-1558, eq. 9;
    metafor's vt = (k - p) / tr(P)); I2 = 0 and H2 = 1 where tau2 = 0. Returns (i2, h2)."""
    tau2, vt = np.asarray(tau2, dtype=float), np.asarray(vt, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = np.where(tau2 == 0, 0.0, 100.0 * tau2 / (vt + tau2))
        h2 = np.where(tau2 == 0, 1.0, (vt + tau2) / vt)
    return (float(i2), float(h2)) if np.ndim(i2) == 0 else (i2, h2)


def heterogeneity_common(q, df):
    """I2 = 100 max(0, (Q - df) / Q) and H2 = Q / df of the common-effect model (Higgins & Thompson,
    2002); I2 = 0 where Q = 0, and I2 = 0, H2 = 1 without degrees of freedom. Returns (i2, h2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        q, df = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
        i2 = np.where(q > 0, 100.0 * np.maximum(0.0, (q - df) / q), 0.0)
        h2 = q / df
        none = df <= 0
        i2, h2 = np.where(none, 0.0, i2), np.where(none, 1.0, h2)
    return (float(i2), float(h2)) if np.ndim(i2) == 0 else (i2, h2)


def q_pval(q, df):
    """p-value of Cochran's Q against chi2(df); 1 without degrees of freedom (metafor's convention).
    ``q`` and ``df`` may be arrays (broadcast together)."""
    if np.ndim(q) == 0 and np.ndim(df) == 0:
        return float(dist.chi2_sf(q, df)) if df > 0 else 1.0
    df_arr = np.asarray(df)
    return np.where(df_arr > 0, dist.chi2_sf(q, np.maximum(df_arr, 1)), 1.0)
