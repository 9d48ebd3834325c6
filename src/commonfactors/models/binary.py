"""Common-effect pooling of 2x2 tables as Cochrane reviews do it: Mantel-Haenszel and Peto.

:func:`mantel_haenszel` pools odds ratios, risk ratios or risk differences from the cell counts
(metafor's ``rma.mh``), with the Cochran-Mantel-Haenszel test and, for the odds ratio, Tarone's test of
homogeneity; :func:`peto` gives Peto's one-step odds ratio (metafor's ``rma.peto``). Neither needs a
continuity correction for the pooled estimate: zero cells enter as they are. The test of heterogeneity
Q (with I2 and H2) compares the studies' own estimates with the pooled one, as metafor does by default:
tables without events (or only events) in both groups are left out of Q (they carry no information on
the effect), and for Mantel-Haenszel pooling 1/2 is added to every cell of a table with a zero cell.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _distributions as dist
from .._checks import check_range, numeric, require_column, row_labels, source_of, warn_dropped
from ..effects.measures import MEASURES
from ..results.binary import BinaryResult
from . import _inference
from ._notes import Notes
from ._options import check_choice, normalize_level

#: the measures Mantel-Haenszel pooling gives
MH_MEASURES = ("OR", "RR", "RD")


def mantel_haenszel(data=None, *, ai=None, bi=None, ci=None, di=None, n1i=None, n2i=None,
                    measure: str = "OR", level: float = 95, correct: bool = True, slab=None) -> BinaryResult:
    """Pool 2x2 tables by the Mantel-Haenszel method (metafor's ``rma.mh``).

    Parameters
    ----------
    data : pandas.DataFrame or commonfactors.io.RawTable, optional
        One row per study. When given, the count arguments are column names; otherwise arrays of shape (k,).
    ai, bi, ci, di : str or array_like
        The cells of each study's table: events and non-events in group 1 (``ai``, ``bi``) and in group 2
        (``ci``, ``di``). Instead of ``bi`` and ``di``, the group sizes ``n1i`` and ``n2i``.
    measure : {"OR", "RR", "RD"}
        Odds ratio, risk ratio (both pooled on the log scale) or risk difference. Default "OR", as metafor.
    level : float
        Confidence level: a percent (95), a proportion (0.95) or a two-sided alpha (0.05).
    correct : bool
        Continuity correction of the Cochran-Mantel-Haenszel test (default True, as metafor).
    slab : str or array_like, optional
        Study labels.

    Returns
    -------
    BinaryResult
        ``estimate`` (log OR, log RR or RD), ``se``, ``stat`` (z), ``pval``, ``ci_low``/``ci_high``;
        ``natural`` (OR or RR and its interval; None for RD); ``q`` on ``q_df`` degrees of freedom,
        ``q_pval``, ``i2`` (percent), ``h2``; for the odds ratio ``cmh``/``cmh_pval`` (Cochran-Mantel-Haenszel
        chi-square on 1 df) and ``tarone``/``tarone_df``/``tarone_pval``; NaN where undefined.

    Raises
    ------
    InputError
        A column is missing, a count is negative, not a whole number or infinite, an event count exceeds
        its group size, a table has no participants, or ``measure``/``level`` is not allowed.
    TypeError
        Neither ``bi`` and ``di`` nor ``n1i`` and ``n2i`` were given.

    Warns
    -----
    DroppedRowsWarning
        Studies with a missing count are left out.

    Notes
    -----
    With the table of study i and N_i its total, the odds ratio is
    :math:`\\hat\\psi = \\sum a_i d_i / N_i \\big/ \\sum b_i c_i / N_i` (Mantel & Haenszel, 1959), the risk
    ratio :math:`\\sum a_i n_{2i} / N_i \\big/ \\sum c_i n_{1i} / N_i` and the risk difference
    :math:`\\sum (a_i n_{2i} - c_i n_{1i}) / N_i \\big/ \\sum n_{1i} n_{2i} / N_i` (Greenland & Robins, 1985).
    Their variances are Robins, Breslow & Greenland's (1986) for the log OR, Greenland & Robins' (1985)
    for the log RR and Sato, Greenland & Robins' (1989) for the RD; the tests are Wald z tests. The
    Cochran-Mantel-Haenszel statistic is
    :math:`(|\\sum a_i - E(a_i)| - 1/2)^2 / \\sum Var(a_i)` under the null of no association, with the
    hypergeometric mean and variance given the margins. Tarone's statistic is the Breslow-Day statistic
    :math:`\\sum (a_i - \\tilde a_i)^2 / \\tilde v_i` at the pooled odds ratio minus Tarone's correction
    :math:`(\\sum a_i - \\sum \\tilde a_i)^2 / \\sum \\tilde v_i`, on (tables with both outcomes) - 1 df.
    Q is :math:`\\sum w_i (y_i - \\hat\\theta)^2` with the studies' estimates :math:`y_i` and inverse-variance
    weights (1/2 added to the cells of tables with a zero cell; tables without events, or only events,
    in both groups left out), on (studies in Q) - 1 df; I2 and H2 as for a common-effect model.

    References
    ----------
    Mantel, N., & Haenszel, W. (1959). J. Natl. Cancer Inst., 22(4), 719-748 (the pooled OR and the test).
    Greenland, S., & Robins, J. M. (1985). Biometrics, 41(1), 55-68. doi:10.2307/2530643 (RR and RD,
    the variance of the log RR).
    Robins, J., Breslow, N., & Greenland, S. (1986). Biometrics, 42(2), 311-323. doi:10.2307/2531052
    (the variance of the log OR, eq. 12).
    Sato, T., Greenland, S., & Robins, J. M. (1989). Biometrics, 45(4), 1323-1324 (the variance of the RD).
    Tarone, R. E. (1985). Biometrika, 72(1), 91-95. doi:10.1093/biomet/72.1.91 (the test of homogeneity).
    Breslow, N. E., & Day, N. E. (1980). Statistical Methods in Cancer Research, Vol. 1, IARC, sec. 4.4
    (the expected cell under a common odds ratio).

    See Also
    --------
    peto : Peto's one-step odds ratio.
    commonfactors.effect_sizes : the studies' own log OR, log RR or RD, for other models.

    Examples
    --------
    >>> import commonfactors as cf
    >>> res = cf.mantel_haenszel(cf.load_dataset("bcg"), ai="tpos", bi="tneg", ci="cpos", di="cneg")
    >>> round(res.estimate, 4), round(res.se, 4), round(res.natural["estimate"], 4)
    (-0.4734, 0.041, 0.6229)
    >>> round(res.cmh, 4), round(res.tarone, 4), res.tarone_df
    (135.6889, 171.7567, 12)
    """
    m = measure.upper() if isinstance(measure, str) else measure
    check_choice("measure", m, MH_MEASURES)
    level = normalize_level(level)
    t, notes = _tables(data, ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, slab=slab)
    a, b, c, d, n1, n2, n = t.a, t.b, t.c, t.d, t.n1, t.n2, t.n
    with np.errstate(divide="ignore", invalid="ignore"):
        if m == "OR":
            r, s = a * d / n, b * c / n
            big_r, big_s = r.sum(), s.sum()
            p, q = (a + d) / n, (b + c) / n
            estimate = math.log(big_r / big_s) if big_r > 0 and big_s > 0 else math.nan
            # Robins, Breslow & Greenland (1986), eq. 12
            var = (np.sum(p * r) / (2 * big_r**2) + np.sum(p * s + q * r) / (2 * big_r * big_s)
                   + np.sum(q * s) / (2 * big_s**2))
        elif m == "RR":
            r, s = a * n2 / n, c * n1 / n
            big_r, big_s = r.sum(), s.sum()
            estimate = math.log(big_r / big_s) if big_r > 0 and big_s > 0 else math.nan
            # Greenland & Robins (1985), the variance of the log of the MH risk ratio
            var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (big_r * big_s)
        else:
            w = n1 * n2 / n
            big_w = w.sum()
            estimate = float(np.sum((a * n2 - c * n1) / n) / big_w)
            # Sato, Greenland & Robins (1989)
            big_p = np.sum((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2)
            big_q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n))
            var = (estimate * big_p + big_q) / big_w**2
    se = math.sqrt(var) if math.isfinite(estimate) and var >= 0 else math.nan
    yi, vi = _study_estimates(t, m)
    fields = _common(estimate, se, yi, vi, level)
    if m == "OR":
        cmh, cmh_pval = _cmh(t, correct)
        tarone, tarone_df, tarone_pval = _tarone(t, estimate)
    else:
        cmh = cmh_pval = tarone = tarone_pval = math.nan
        tarone_df = 0
    return BinaryResult(method="MH", measure=m, level=level, k=t.k, **fields, cmh=cmh, cmh_pval=cmh_pval,
                        tarone=tarone, tarone_df=tarone_df, tarone_pval=tarone_pval, correct=bool(correct),
                        yi=yi, vi=vi, rows=t.rows, slab=t.slab, warnings=notes)


def peto(data=None, *, ai=None, bi=None, ci=None, di=None, n1i=None, n2i=None, level: float = 95,
         slab=None) -> BinaryResult:
    """Pool 2x2 tables by Peto's one-step odds ratio (metafor's ``rma.peto``).

    Parameters
    ----------
    data, ai, bi, ci, di, n1i, n2i, level, slab
        As for :func:`mantel_haenszel`.

    Returns
    -------
    BinaryResult
        ``estimate`` (log OR), ``se``, ``stat`` (z), ``pval``, ``ci_low``/``ci_high``, ``natural`` (the OR
        and its interval), ``q`` on ``q_df`` degrees of freedom, ``q_pval``, ``i2`` (percent), ``h2``;
        ``measure`` is "OR".

    Raises
    ------
    InputError, TypeError
        As for :func:`mantel_haenszel`.

    Warns
    -----
    DroppedRowsWarning
        As for :func:`mantel_haenszel`.

    Notes
    -----
    With :math:`O_i = a_i`, its hypergeometric mean :math:`E_i = n_{1i} (a_i + c_i) / N_i` and variance
    :math:`V_i = n_{1i} n_{2i} (a_i + c_i) (b_i + d_i) / (N_i^2 (N_i - 1))` given the margins, the log odds
    ratio is :math:`\\sum (O_i - E_i) / \\sum V_i` with variance :math:`1 / \\sum V_i` (Yusuf et al., 1985).
    Q is :math:`\\sum w_i (y_i - \\hat\\theta)^2` with each study's Peto log odds ratio
    :math:`y_i = (O_i - E_i) / V_i` and :math:`w_i = V_i` (nothing added to zero cells); tables without
    events (or only events) in both groups are left out of Q, on (studies in Q) - 1 df.

    References
    ----------
    Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during and after
    myocardial infarction: an overview of the randomized trials. Prog. Cardiovasc. Dis., 27(5), 335-371.
    doi:10.1016/S0033-0620(85)80003-7 (appendix: the one-step estimate).

    See Also
    --------
    mantel_haenszel

    Examples
    --------
    >>> import commonfactors as cf
    >>> res = cf.peto(cf.load_dataset("bcg"), ai="tpos", bi="tneg", ci="cpos", di="cneg")
    >>> round(res.estimate, 4), round(res.se, 4), round(res.q, 4)
    (-0.4744, 0.0407, 167.7302)
    """
    level = normalize_level(level)
    t, notes = _tables(data, ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i, slab=slab)
    o_e, v = _peto_parts(t.a, t.b, t.c, t.d)
    total_v = float(v.sum())
    estimate = float(o_e.sum()) / total_v if total_v > 0 else math.nan
    se = 1.0 / math.sqrt(total_v) if total_v > 0 else math.nan
    yi, vi = _study_estimates(t, "PETO")
    fields = _common(estimate, se, yi, vi, level)
    return BinaryResult(method="PETO", measure="OR", level=level, k=t.k, **fields, cmh=math.nan,
                        cmh_pval=math.nan, tarone=math.nan, tarone_df=0, tarone_pval=math.nan, correct=False,
                        yi=yi, vi=vi, rows=t.rows, slab=t.slab, warnings=notes)


class _Tables:
    """The k complete tables as float arrays: cells a, b, c, d, group sizes n1, n2, totals n."""

    def __init__(self, a, b, c, d, rows, slab):
        self.a, self.b, self.c, self.d = a, b, c, d
        self.n1, self.n2 = a + b, c + d
        self.n = self.n1 + self.n2
        self.rows, self.slab = rows, slab
        self.k = a.shape[0]


def _tables(data, *, ai, bi, ci, di, n1i, n2i, slab) -> tuple[_Tables, tuple[str, ...]]:
    """Resolve and check the counts once (whole numbers >= 0, events <= group size); drop rows with a
    missing count with a DroppedRowsWarning. Returns the complete tables and the warnings' text."""
    if ai is None or ci is None:
        raise TypeError("the event counts ai and ci are required")
    by_cells = bi is not None and di is not None
    if not by_cells and (n1i is None or n2i is None):
        raise TypeError("give bi and di (non-events), or n1i and n2i (group sizes)")
    given = {"ai": ai, "ci": ci, **({"bi": bi, "di": di} if by_cells else {"n1i": n1i, "n2i": n2i})}
    source = source_of(data)
    values, columns, n = {}, {}, None
    for name, arg in given.items():
        values[name], column = numeric(data, arg, name=name, n=n)
        columns[name] = column or name
        n = values[name].shape[0]
    rows = row_labels(data, n)
    for name, x in values.items():
        check_range(x, column=columns[name], rows=rows, source=source, low=0, expected="a count >= 0")
        _whole(x, column=columns[name], rows=rows, source=source)
    if not by_cells:
        for count, total in (("ai", "n1i"), ("ci", "n2i")):
            _within(values[count], values[total], column=columns[count], total_column=columns[total],
                    rows=rows, source=source)
        values["bi"], values["di"] = values["n1i"] - values["ai"], values["n2i"] - values["ci"]
    a, b, c, d = (values[x] for x in ("ai", "bi", "ci", "di"))
    # a table without participants makes every pooled ratio 0/0 (metafor returns NaN; refused here)
    check_range(a + b + c + d, column=columns["ai"], rows=rows, source=source, low=0, low_open=True,
                expected="a table with participants (all its cells are 0)")
    if slab is None:
        labels = rows
    else:
        if isinstance(slab, str):
            require_column(data, slab, role="slab")
        labels = np.asarray([str(x) for x in (data[slab] if isinstance(slab, str) else slab)], dtype=object)
    keep = ~(np.isnan(a) | np.isnan(b) | np.isnan(c) | np.isnan(d))
    notes = Notes()
    if not keep.all():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warn_dropped(rows[~keep], "a missing count")
        for w in caught:
            notes.add(str(w.message), w.category)
        a, b, c, d, rows, labels = a[keep], b[keep], c[keep], d[keep], rows[keep], labels[keep]
    return _Tables(a, b, c, d, rows, labels), notes()


def _whole(x, *, column, rows, source) -> None:
    """An InputError at the first count that is not a whole number (``_checks`` has no such check: the
    value is reported through its range check on the values that are not whole)."""
    with np.errstate(invalid="ignore"):
        fraction = np.where(x == np.floor(x), 0.0, x)
    check_range(fraction, column=column, rows=rows, source=source, low=0, high=0,
                expected="a count (a whole number)")


def _within(count, total, *, column, total_column, rows, source) -> None:
    """An InputError at the first event count above its group size."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(count > total)
    if bad.size:
        i = bad[0]
        check_range(count[i:i + 1], column=column, rows=rows[i:i + 1], source=source, high=total[i],
                    expected=f"a count <= {total_column} ({total[i]:g}, the group size)")


def _peto_parts(a, b, c, d):
    """O - E and V of each table (Yusuf et al., 1985): the hypergeometric mean and variance of ``a``."""
    n1, n2 = a + b, c + d
    n, events = n1 + n2, a + c
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, n1 * n2 * events * (b + d) / (n**2 * (n - 1)), 0.0)
    return a - n1 * events / n, v


def _study_estimates(t: _Tables, measure: str):
    """Each study's estimate and sampling variance, NaN for tables without events (or only events) in
    both groups (metafor's ``drop00=TRUE``).

    For "OR", "RR" and "RD" as metafor's escalc with ``add=1/2, to="only0"`` (1/2 added to every cell of
    a table with a zero cell), by the measures of :mod:`commonfactors.effects.measures`. For "PETO" each
    table's own Peto log OR (O - E) / V with variance 1 / V, from the counts as they are (Yusuf et al.,
    1985).
    """
    a, b, c, d = t.a, t.b, t.c, t.d
    empty = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "PETO":
            o_e, v = _peto_parts(a, b, c, d)
            yi, vi = o_e / v, 1 / v
        else:
            zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
            a, b, c, d = (np.where(zero, x + 0.5, x) for x in (a, b, c, d))
            yi, vi = MEASURES[measure].function(a, b, c, d)
    return np.where(empty, math.nan, yi), np.where(empty, math.nan, vi)


def _common(estimate, se, yi, vi, level) -> dict:
    """The Wald test and interval of the pooled estimate, and Cochran's Q of the studies' estimates
    around it with I2 and H2 (Higgins & Thompson, 2002), as metafor's ``rma.mh``/``rma.peto``: Q = 0 on
    0 df (I2 = 0, H2 = 1) with fewer than two studies in Q."""
    stat, pval, _, low, high = _inference.wald(estimate, se, level=level)
    used = ~np.isnan(yi)
    q_df = max(int(used.sum()) - 1, 0)
    q = float(np.sum((yi[used] - estimate) ** 2 / vi[used])) if q_df > 0 else 0.0
    i2, h2 = _inference.heterogeneity_common(q, q_df)
    return {"estimate": float(estimate), "se": float(se), "stat": float(stat), "pval": float(pval),
            "ci_low": float(low), "ci_high": float(high), "q": q, "q_df": q_df,
            "q_pval": _inference.q_pval(q, q_df), "i2": i2, "h2": h2}


def _cmh(t: _Tables, correct: bool) -> tuple[float, float]:
    """The Cochran-Mantel-Haenszel chi-square on 1 df (Mantel & Haenszel, 1959; Cochran, 1954), with the
    continuity correction 1/2 when ``correct``; NaN when no table has an event, or no table a non-event."""
    events, non_events = t.a + t.c, t.b + t.d
    if events.sum() == 0 or non_events.sum() == 0:
        return math.nan, math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(t.n > 1, t.n1 * t.n2 * events * non_events / (t.n**2 * (t.n - 1)), 0.0)
    diff = abs(float(np.sum(t.a - t.n1 * events / t.n))) - (0.5 if correct else 0.0)
    stat = diff**2 / float(var.sum())
    return stat, float(dist.chi2_sf(stat, 1))


def _tarone(t: _Tables, log_or: float) -> tuple[float, int, float]:
    """Tarone's (1985) test of a common odds ratio: the Breslow-Day statistic at the Mantel-Haenszel
    estimate minus Tarone's correction, over the tables with both outcomes, on (their number) - 1 df (0
    with one such table, and no p-value, as metafor)."""
    informative = (t.a + t.c > 0) & (t.b + t.d > 0)
    df = max(int(informative.sum()) - 1, 0)
    if not math.isfinite(log_or):
        return math.nan, df, math.nan
    a, n1, n2 = t.a[informative], t.n1[informative], t.n2[informative]
    m1 = a + t.c[informative]
    psi = math.exp(log_or)
    # the expected a given the margins under the common odds ratio psi: the root in [max(0, m1 - n2),
    # min(n1, m1)] of (1 - psi) E^2 + (n2 - m1 + psi (n1 + m1)) E - psi n1 m1 = 0 (Breslow & Day, 1980, 4.4)
    lin = n2 - m1 + psi * (n1 + m1)
    if psi == 1.0:
        e = n1 * m1 / (n1 + n2)
    else:
        quad = 1.0 - psi
        disc = np.sqrt(lin**2 + 4.0 * quad * psi * n1 * m1)
        e = (-lin + disc) / (2.0 * quad)
        outside = (e < np.maximum(0.0, m1 - n2)) | (e > np.minimum(n1, m1))
        e = np.where(outside, (-lin - disc) / (2.0 * quad), e)
    with np.errstate(divide="ignore"):
        v = 1.0 / (1.0 / e + 1.0 / (n1 - e) + 1.0 / (m1 - e) + 1.0 / (n2 - m1 + e))
    stat = float(np.sum((a - e) ** 2 / v) - np.sum(a - e) ** 2 / np.sum(v))
    return stat, df, _inference.q_pval(stat, df) if df > 0 else math.nan
