"""Therapist development: does a therapist's outcome change with time (years of practice, caseload)?

The model (Goldberg, Rousmaniere, Miller, Whipple, Nielsen, Hoyt & Wampold, 2016, "Do psychotherapists
improve with time and experience? A longitudinal analysis of outcomes in a clinical setting", J. Couns.
Psychol. 63(1), 1-11: 170 therapists followed for up to 18 years) for client i of therapist j, seen when the
therapist's time (years of practice, or cases seen before) was t_ij, is the random-slope linear mixed model

    y_ij = beta_0 + beta_1 t_ij + x_ij' gamma + u_0j + u_1j t_ij + e_ij,
    (u_0j, u_1j) ~ N(0, G),   e_ij ~ N(0, sigma2),

lme4's ``lmer(outcome ~ time + baseline + ... + (1 + time | therapist))``, fitted by :mod:`._lmm_slopes`
(REML by default). beta_1 is the average change per unit of time, tested with Satterthwaite's df as lmerTest
tests it (Kuznetsova, Brockhoff & Christensen, 2017, J. Stat. Softw. 82(13)); the SD of u_1j says how much
therapists differ in that change; beta_1 + u_1j is a therapist's own slope (the conditional mode).
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

from .. import _checks
from .._checks import (
    as_table,
    design_matrix,
    format_rows,
    group_codes,
    label,
    numeric,
    require_column,
    row_labels,
    source_of,
)
from ..errors import DroppedRowsWarning, InputError
from ..results.development import BENCHMARK_COLUMNS, COEF_COLUMNS, SLOPE_COLUMNS, DevelopmentResult
from . import _inference as inference
from . import _lmm_slopes
from ._notes import Notes
from ._options import check_choice, normalize_level

Method = Literal["REML", "ML"]


def therapist_development(data, outcome: str, therapist: str, time: str, client: str | None = None,
                          baseline: str | None = None, mods=None, method: Method = "REML",
                          level: float = 95) -> DevelopmentResult:
    """Change of therapists' outcomes with time:
    ``outcome ~ time [+ baseline + mods] + (1 + time | therapist)``.

    Parameters
    ----------
    data : DataFrame (or a mapping of column names to values), one row per client (or per outcome
        measured), each with the therapist's ``time`` when the client was seen.
    outcome, therapist, time : column names: the outcome score, the therapist's label, the therapist's time
        (years of practice, or the number of cases seen before; any numeric scale, used as given).
    client : column of the client's label; when given, a client must appear once (one row per client).
    baseline : column of the intake score (case mix), a fixed effect.
    mods : further fixed effects, a formula such as ``"~ age + C(dx)"`` (R's treatment coding).
    method : "REML" (default) or "ML".
    level : confidence level in percent (95; 0.95 and 0.05 mean the same, as in metafor).

    Returns
    -------
    DevelopmentResult
        coefficients (term, estimate, se, df, stat, pval, ci_low, ci_high; Satterthwaite df and t tests as
        lmerTest's ``summary``), slope (the time coefficient) with slope_se, slope_df, slope_pval,
        slope_ci_low, slope_ci_high; sd_intercept, sd_slope, corr, sigma (lme4's ``VarCorr``); slopes
        (therapist, n, intercept, slope, ranef_intercept, ranef_slope, se, ci_low, ci_high); reml_crit,
        loglik, singular, n, n_therapists, dropped.

    Raises
    ------
    InputError
        A missing column; a value that is not a number (naming its row and column); a client twice or under
        two therapists; fewer than three therapists; no more rows than random effects (lme4's check: n > 2 m);
        a time that does not vary; collinear fixed effects; a bad option.

    Warns
    -----
    BoundaryWarning
        A singular fit (a variance at 0, or intercepts and slopes perfectly correlated): returned, not an
        error.
    DroppedRowsWarning
        Rows with a missing value left out (named).

    Notes
    -----
    Therapists' slopes: beta_1 + u_1j with the prediction standard error of Henderson (1975, Biometrics
    31(2), 423-447), which includes the uncertainty of the estimated fixed effects (lme4's condVar alone
    does not); intervals are normal (z). See :func:`therapist_benchmark` for one therapist's line against
    the practice's.
    """
    notes = Notes()
    m_opt = method.upper() if isinstance(method, str) else method
    check_choice("method", m_opt, get_args(Method))
    level = normalize_level(level)
    frame = as_table(data, rows="client")
    prep = _prepare(frame, outcome=outcome, therapist=therapist, time=time, client=client, baseline=baseline,
                    mods=mods, notes=notes)
    X, y, g, names = prep["X"], prep["y"], prep["g"], prep["names"]
    Z = X[:, :2]
    fit = notes.run("the random-slope model", _lmm_slopes.fit_lmm, y, X, Z, g, method=m_opt)
    parts = _lmm_slopes.satterthwaite_parts(fit)
    p = X.shape[1]
    df = np.array([_lmm_slopes.satterthwaite_df(fit, np.eye(p)[k], parts) for k in range(p)])
    se = np.sqrt(np.diag(fit.cov_beta))
    stat, pval, _, low, high = inference.wald(fit.beta, se, df, level=level)
    import pandas as pd

    coefficients = pd.DataFrame({"term": names, "estimate": fit.beta, "se": se, "df": df, "stat": stat,
                                 "pval": pval, "ci_low": low, "ci_high": high}, columns=list(COEF_COLUMNS))
    sd = fit.sd
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = float(fit.G[1, 0] / (sd[0] * sd[1])) if sd[0] > 0 and sd[1] > 0 else math.nan
    slopes = _slopes(fit, prep["labels"], level)
    data_kept = {"time": X[:, 1], "y": y, "g": g, "X": X, "labels": prep["labels"], "names": names}
    return DevelopmentResult(
        coefficients=coefficients, slopes=slopes, slope=float(fit.beta[1]), slope_se=float(se[1]),
        slope_df=float(df[1]), slope_pval=float(pval[1]), slope_ci_low=float(low[1]),
        slope_ci_high=float(high[1]), sd_intercept=float(sd[0]), sd_slope=float(sd[1]), corr=corr,
        sigma=math.sqrt(fit.sigma2), n=fit.n, n_therapists=fit.m, dropped=prep["dropped"],
        singular=fit.singular, converged=fit.converged, method=m_opt, level=level, reml_crit=fit.reml_crit,
        loglik=fit.loglik, outcome=outcome, therapist=therapist, time=time, warnings=notes(), fit=fit,
        data=data_kept)


def therapist_benchmark(result: DevelopmentResult, therapist, times=None):
    """One therapist's severity-adjusted outcomes over time against the practice's benchmark.

    Parameters
    ----------
    result : a :func:`therapist_development` result.
    therapist : the therapist's label, as in ``result.slopes["therapist"]``.
    times : the times at which to draw the lines (default: the therapist's own distinct times).

    Returns
    -------
    DataFrame with the columns time, n (the therapist's clients at that time), observed (their mean
    outcome adjusted to the average case mix, NaN where none), fitted, fitted_ci_low, fitted_ci_high (the
    therapist's line beta_0 + beta_1 t + u_0j + u_1j t at the average case mix, with Henderson's prediction
    interval, normal), benchmark, benchmark_ci_low, benchmark_ci_high (the practice's line beta_0 + beta_1 t
    at the average case mix, with a t interval on Satterthwaite's df of that contrast).

    Notes
    -----
    Case mix: the baseline and the other fixed effects are set at their sample means x_bar, so both lines
    are those of an average client, and an observed outcome is adjusted to it: y - (x - x_bar)' gamma. This
    is the usual severity adjustment of practice benchmarks (e.g. Saxon & Barkham, 2012, J. Consult. Clin.
    Psychol. 80(4), 535-546, compare therapists at average intake severity).
    """
    import pandas as pd

    if not isinstance(result, DevelopmentResult) or result.fit is None:
        raise InputError(f"result is a {type(result).__name__}", expected="a therapist_development() result")
    d, fit = result.data, result.fit
    labels = list(d["labels"])
    if therapist not in labels:
        shown = ", ".join(map(repr, labels[:10])) + (" ..." if len(labels) > 10 else "")
        raise InputError(f"no therapist {therapist!r} in the model", expected=f"one of {shown}")
    j = labels.index(therapist)
    X = d["X"]
    xbar = X.mean(axis=0)
    rows = d["g"] == j
    t_j = d["time"][rows]
    adjusted = d["y"][rows] - (X[rows, 2:] - xbar[2:]) @ fit.beta[2:]
    if times is None:
        grid = np.unique(t_j)
    else:
        grid = np.asarray(times, dtype=float).reshape(-1)
        if grid.size == 0 or not np.all(np.isfinite(grid)):
            raise InputError(f"times={times!r}", expected="finite numbers")
    z = inference.critical(result.level)
    parts = _lmm_slopes.satterthwaite_parts(fit)
    out = []
    for t in grid:
        x = xbar.copy()
        x[1] = t
        zt = np.array([1.0, t])
        bench = float(x @ fit.beta)
        bse = math.sqrt(float(x @ fit.cov_beta @ x))
        bcrit = inference.critical(result.level, _lmm_slopes.satterthwaite_df(fit, x, parts))
        own = bench + float(zt @ fit.ranef[j])
        ose = math.sqrt(_lmm_slopes.prediction_variance(fit, j, x, zt))
        at = t_j == t
        out.append({"time": float(t), "n": int(at.sum()),
                    "observed": float(adjusted[at].mean()) if at.any() else math.nan,
                    "fitted": own, "fitted_ci_low": own - z * ose, "fitted_ci_high": own + z * ose,
                    "benchmark": bench, "benchmark_ci_low": bench - bcrit * bse,
                    "benchmark_ci_high": bench + bcrit * bse})
    return pd.DataFrame(out, columns=list(BENCHMARK_COLUMNS))


def _slopes(fit, labels, level):
    import pandas as pd

    z = inference.critical(level)
    e1 = np.array([0.0, 1.0])
    x = np.zeros(fit.p)
    x[1] = 1.0
    se = np.sqrt([_lmm_slopes.prediction_variance(fit, j, x, e1) for j in range(fit.m)])
    slope = fit.beta[1] + fit.ranef[:, 1]
    return pd.DataFrame({"therapist": labels, "n": fit.nobs_group, "intercept": fit.beta[0] + fit.ranef[:, 0],
                         "slope": slope, "ranef_intercept": fit.ranef[:, 0], "ranef_slope": fit.ranef[:, 1],
                         "se": se, "ci_low": slope - z * se, "ci_high": slope + z * se},
                        columns=list(SLOPE_COLUMNS))






def _prepare(frame, *, outcome, therapist, time, client, baseline, mods, notes):
    """Validate the table once; return X (n, p) = [1, time, baseline, mods], y, g (therapist codes), the
    coefficient names, the therapist labels and the number of rows dropped."""
    source = source_of(frame)
    n0 = len(frame)
    if n0 == 0:
        raise InputError("the table has no rows", file=source, expected="one row per client")
    for name, col in (("outcome", outcome), ("therapist", therapist), ("time", time), ("client", client),
                      ("baseline", baseline)):
        if col is not None:
            if not isinstance(col, str):
                raise InputError(f"{name}={col!r}", expected=f"the name of the {name} column")
            require_column(frame, col, role=name)
    rows = row_labels(frame, n0)
    y, _ = numeric(frame, outcome, name="outcome")
    _checks.check_range(y, column=outcome, rows=rows, source=source, expected="a finite outcome score")
    t, _ = numeric(frame, time, name="time")
    _checks.check_range(t, column=time, rows=rows, source=source, low=-1e12, high=1e12,
                        expected="a finite time (years or cases)")
    t_codes, t_levels, _ = group_codes(frame, therapist, name="therapist", n=n0)
    missing = np.isnan(y) | np.isnan(t) | (t_codes < 0)
    b = None
    if baseline is not None:
        b, _ = numeric(frame, baseline, name="baseline")
        _checks.check_range(b, column=baseline, rows=rows, source=source, expected="a finite baseline score")
        missing |= np.isnan(b)
    if client is not None:
        c_codes, c_levels, _ = group_codes(frame, client, name="client", n=n0)
        missing |= c_codes < 0
    if missing.any():
        labels = list(rows[missing])
        notes.add(f"{len(labels)} rows with a missing value omitted ({format_rows(labels)})",
                  DroppedRowsWarning)
    keep = np.flatnonzero(~missing)
    if client is not None:
        order = keep[np.argsort(c_codes[keep], kind="stable")]
        twice = np.flatnonzero(c_codes[order][1:] == c_codes[order][:-1])
        if twice.size:
            i, j = order[twice[0]], order[twice[0] + 1]
            other = "under another therapist" if t_codes[i] != t_codes[j] else "twice"
            raise InputError(f"client {label(c_levels[c_codes[j]])!r} appears {other} (also "
                             f"{format_rows([rows[i]])})", file=source, row=rows[j], column=client,
                             expected="one row per client, each client under one therapist")
    k = keep.shape[0]
    crow = rows[keep]
    columns, names = [np.ones(k), t[keep]], ["(Intercept)", time]
    if b is not None:
        columns.append(b[keep])
        names.append(baseline)
    ok = np.ones(k, dtype=bool)
    if mods is not None:
        sub = frame.iloc[keep]
        M, mnames, ok = design_matrix(sub, mods, rows=crow, source=source, keep=np.ones(k, dtype=bool))
        columns += [M[:, c] for c in range(1, M.shape[1])]
        names += list(mnames[1:])
        if not ok.all():
            labels = list(crow[~ok])
            notes.add(f"{len(labels)} rows with a missing moderator omitted ({format_rows(labels)})",
                      DroppedRowsWarning)
    sel = np.flatnonzero(ok)
    X = np.column_stack(columns)[sel]
    keep = keep[sel]
    used, g = np.unique(t_codes[keep], return_inverse=True)
    m, n = used.shape[0], X.shape[0]
    if m < 3:
        raise InputError(f"{n} rows of {m} therapist{'s' if m != 1 else ''}", file=source, column=therapist,
                         expected="three therapists or more for a variance of intercepts and slopes")
    if n <= 2 * m:
        raise InputError(f"{n} rows for {m} therapists: no more rows than random effects ({2 * m})",
                         file=source, column=therapist,
                         expected="more rows than twice the number of therapists (lme4 refuses such a model)")
    if np.ptp(X[:, 1]) == 0:
        raise InputError(f"the time is {X[0, 1]:g} in every row", file=source, column=time,
                         expected="times that vary")
    if n <= X.shape[1] or np.linalg.matrix_rank(X) < X.shape[1]:
        raise InputError(f"the fixed effects are collinear or too many ({', '.join(names)}) for {n} rows",
                         file=source, expected="fixed effects that are not linear combinations of each other")
    return {"X": X, "y": y[keep], "g": g, "names": names, "labels": [label(v) for v in t_levels[used]],
            "dropped": n0 - n}
