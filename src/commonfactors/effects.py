"""Effect sizes and their sampling variances, with metafor's (``escalc``) definitions and defaults.

``MEASURES`` is a registry of small functions, one per measure, each declaring the escalc arguments
it needs and citing its source. :func:`effect_sizes` validates the inputs once (through ``_checks``),
handles zero cells of count data as metafor does (``add=1/2, to="only0", drop00=False``), calls the
measure and returns the input table with ``yi`` and ``vi`` appended.

The conversions (:func:`d_to_r`, :func:`r_to_d`, :func:`d_to_logor`, :func:`logor_to_d`,
:func:`d_from_t`, :func:`d_from_f`, :func:`d_from_p`) return a :class:`Conversion` ``(yi, vi)``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

import numpy as np

from . import _checks
from .errors import DroppedRowsWarning, InputError

To = Literal["only0", "all", "if0all", "none"]

#: every argument effect_sizes() accepts (escalc's names)
ARGUMENTS = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "m2i", "sd1i", "sd2i", "ri", "ni", "xi", "mi", "sdi")

#: count-data arguments a measure may take in a second form: needed -> (total, count), needed = total - count
_ALTERNATIVES = {"bi": ("n1i", "ai"), "di": ("n2i", "ci"), "mi": ("ni", "xi")}


@dataclass(frozen=True)
class Measure:
    """One entry of ``MEASURES``.

    ``needs`` are the escalc arguments the function takes; for count data, ``bi``/``di``/``mi`` may be
    given as the totals ``n1i``/``n2i``/``ni`` instead (``signature`` shows both). ``cells`` are the
    counts that receive ``add`` under the zero-cell rule; ``n_min`` the smallest sample size for which
    the measure is defined; ``optional`` arguments are accepted and ignored (as escalc does).
    """

    name: str
    function: Callable
    needs: tuple[str, ...]
    description: str
    reference: str
    cells: tuple[str, ...] = ()
    n_min: dict = field(default_factory=dict)
    optional: tuple[str, ...] = ()
    undefined: Callable | None = None

    @property
    def signature(self) -> str:
        """The arguments as a user gives them: ``ai, bi|n1i, ci, di|n2i``."""
        alt = _ALTERNATIVES if self.cells else {}
        return ", ".join(f"{a}|{alt[a][0]}" if a in alt else a for a in self.needs)


MEASURES: dict[str, Measure] = {}


def measure(name, *, needs, description, cells=(), n_min=None, optional=(), undefined=None):
    """Register a measure function under ``name`` (its docstring's last paragraph is the reference)."""

    def register(fn):
        reference = " ".join(fn.__doc__.strip().split("\n\n")[-1].split())
        MEASURES[name] = Measure(name, fn, tuple(needs), description, reference, tuple(cells), dict(n_min or {}),
                                 tuple(optional), undefined)
        return fn

    return register


def _special():
    from scipy import special

    return special


def hedges_j(m):
    """Exact small-sample correction J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981, eq. 6e)."""
    gammaln = _special().gammaln
    m = np.asarray(m, dtype=float)
    return np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))


def _hyp2f1_half(c, z):
    """Gauss' hypergeometric function 2F1(1/2, 1/2; c; z) for c >= 3/2 and 0 <= z <= 1.

    scipy's ``hyp2f1`` is used for c < 20; above, where it returns NaN near z = 1 for large c, the
    power series sum_k ((1/2)_k)^2 z^k / ((c)_k k!) is summed directly: its terms fall at least as fast
    as k^-c, so it converges to double precision within a few dozen terms.
    """
    c, z = np.broadcast_arrays(np.asarray(c, dtype=float), np.asarray(z, dtype=float))
    out = np.empty(c.shape)
    small = c < 20
    if small.any():
        out[small] = _special().hyp2f1(0.5, 0.5, c[small], z[small])
    if (~small).any():
        cb, zb = c[~small], z[~small]
        term, total = np.ones(cb.shape), np.ones(cb.shape)
        for k in range(10_000):
            term = term * (k + 0.5) ** 2 * zb / ((cb + k) * (k + 1))
            total += term
            if np.all(term <= 1e-17 * total):
                break
        out[~small] = total
    return out


# -- two groups, quantitative outcome ---------------------------------------------------------------------


def _pooled_sd_zero(v):
    return (v["sd1i"] == 0) & (v["sd2i"] == 0), "sd1i", "sd1i and sd2i not both 0 (the standardizer would be 0)"


@measure("SMD", needs=("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), n_min={"n1i": 2, "n2i": 2},
         description="standardized mean difference (Hedges' g)", undefined=_pooled_sd_zero)
def _smd(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Standardized mean difference with the exact small-sample correction (Hedges' g).

    g = J(n1 + n2 - 2) (m1 - m2) / s_pooled; large-sample variance 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)).

    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related estimators.
    J. Educ. Stat., 6(2), 107-128 (J, eq. 6e). Hedges, L. V. (1982). Estimation of effect size from a
    series of independent experiments. Psychol. Bull., 92(2), 490-499 (variance, eq. 8).
    """
    m = n1i + n2i - 2
    sp = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / m)  # pooled SD
    yi = hedges_j(m) * (m1i - m2i) / sp
    vi = 1 / n1i + 1 / n2i + yi**2 / (2 * (n1i + n2i))  # Hedges (1982), eq. 8
    return yi, vi


@measure("SMDH", needs=("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), n_min={"n1i": 2, "n2i": 2},
         description="standardized mean difference, heteroscedastic groups", undefined=_pooled_sd_zero)
def _smdh(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Standardized mean difference without assuming equal variances (standardizer: root mean variance).

    g = J(n1 + n2 - 2) (m1 - m2) / s, s^2 = (sd1^2 + sd2^2) / 2, with variance
    J^2 [g^2 (sd1^4/(n1-1) + sd2^4/(n2-1)) / (8 s^4) + (sd1^2/(n1-1) + sd2^2/(n2-1)) / s^2].

    Bonett, D. G. (2008). Confidence intervals for standardized linear contrasts of means. Psychol.
    Methods, 13(2), 99-109 (variance of a standardized contrast, two groups). Bonett, D. G. (2009).
    Meta-analytic interval estimation for standardized and unstandardized mean differences. Psychol.
    Methods, 14(3), 225-238. Hedges (1981) for J.
    """
    s2 = (sd1i**2 + sd2i**2) / 2
    j = hedges_j(n1i + n2i - 2)
    yi = j * (m1i - m2i) / np.sqrt(s2)
    # Bonett (2008): variance of the standardized contrast; times J^2 for the corrected estimate
    vi = j**2 * (yi**2 * (sd1i**4 / (n1i - 1) + sd2i**4 / (n2i - 1)) / (8 * s2**2)
                 + (sd1i**2 / (n1i - 1) + sd2i**2 / (n2i - 1)) / s2)
    return yi, vi


@measure("MD", needs=("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), description="raw mean difference")
def _md(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Raw mean difference m1 - m2 with variance sd1^2/n1 + sd2^2/n2 (no equal-variance assumption).

    Borenstein, M. (2009). Effect sizes for continuous data. In H. Cooper, L. V. Hedges & J. C.
    Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed., pp. 221-235).
    Russell Sage Foundation (eq. 12.5).
    """
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


def _means_same_sign(v):
    with np.errstate(invalid="ignore", divide="ignore"):
        return ~(v["m1i"] / v["m2i"] > 0), "m1i", "means m1i and m2i of the same sign, not 0 (log of their ratio)"


@measure("ROM", needs=("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), description="log ratio of means",
         undefined=_means_same_sign)
def _rom(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Log ratio of means (log response ratio) log(m1 / m2), variance sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2).

    Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The meta-analysis of response ratios in
    experimental ecology. Ecology, 80(4), 1150-1156 (eq. 1).
    """
    return np.log(m1i / m2i), sd1i**2 / (n1i * m1i**2) + sd2i**2 / (n2i * m2i**2)


# -- change within one group (pre-post) -------------------------------------------------------------------


def _change_sd_zero(v):
    with np.errstate(invalid="ignore"):
        sdd2 = v["sd1i"] ** 2 + v["sd2i"] ** 2 - 2 * v["ri"] * v["sd1i"] * v["sd2i"]
    return sdd2 <= 0, "sd1i", "sd1i, sd2i and ri giving a change-score SD > 0"


@measure("SMCC", needs=("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"), n_min={"ni": 3},
         description="standardized mean change, change-score standardization", undefined=_change_sd_zero)
def _smcc(m1i, m2i, sd1i, sd2i, ni, ri):
    """Standardized mean change with change-score standardization.

    g = J(n - 1) (m1 - m2) / sd_d, sd_d^2 = sd1^2 + sd2^2 - 2 r sd1 sd2; variance 1/n + g^2 / (2 n).

    Gibbons, R. D., Hedeker, D. R., & Davis, J. M. (1993). Estimation of effect size from a series of
    experiments involving paired comparisons. J. Educ. Stat., 18(3), 271-279. Hedges (1981) for J.
    """
    sdd = np.sqrt(sd1i**2 + sd2i**2 - 2 * ri * sd1i * sd2i)  # SD of the change scores
    yi = hedges_j(ni - 1) * (m1i - m2i) / sdd
    return yi, 1 / ni + yi**2 / (2 * ni)


def _sd1_zero(v):
    return v["sd1i"] == 0, "sd1i", "a standard deviation > 0 (the standardizer)"


@measure("SMCR", needs=("m1i", "m2i", "sd1i", "ni", "ri"), n_min={"ni": 3}, optional=("sd2i",),
         description="standardized mean change, raw-score standardization", undefined=_sd1_zero)
def _smcr(m1i, m2i, sd1i, ni, ri):
    """Standardized mean change with raw-score standardization (by the first, usually pre-test, SD).

    g = J(n - 1) (m1 - m2) / sd1; variance 2 (1 - r) / n + g^2 / (2 n).

    Becker, B. J. (1988). Synthesizing standardized mean-change measures. Br. J. Math. Stat. Psychol.,
    41(2), 257-278. Hedges (1981) for J.
    """
    yi = hedges_j(ni - 1) * (m1i - m2i) / sd1i
    return yi, 2 * (1 - ri) / ni + yi**2 / (2 * ni)


# -- correlations -----------------------------------------------------------------------------------------


@measure("COR", needs=("ri", "ni"), n_min={"ni": 4}, description="raw correlation coefficient")
def _cor(ri, ni):
    """Raw correlation r with large-sample variance (1 - r^2)^2 / (n - 1).

    Borenstein, M. (2009). Effect sizes for continuous data. In Cooper, Hedges & Valentine (Eds.), The
    Handbook of Research Synthesis and Meta-Analysis (2nd ed.), Russell Sage Foundation (eq. 12.27).
    """
    return ri, (1 - ri**2) ** 2 / (ni - 1)


@measure("UCOR", needs=("ri", "ni"), n_min={"ni": 5}, description="bias-corrected correlation coefficient")
def _ucor(ri, ni):
    """Correlation corrected for its negative bias, G(r) = r 2F1(1/2, 1/2; (n - 2)/2; 1 - r^2),
    with variance (1 - G^2)^2 / (n - 1).

    Olkin, I., & Pratt, J. W. (1958). Unbiased estimation of certain correlation coefficients. Ann. Math.
    Stat., 29(1), 201-211 (eq. 2.3); variance as Borenstein (2009), eq. 12.27, at the corrected value.
    """
    yi = ri * _hyp2f1_half((ni - 2) / 2, 1 - ri**2)
    return yi, (1 - yi**2) ** 2 / (ni - 1)


def _r_is_one(v):
    return np.abs(v["ri"]) == 1, "ri", "a correlation strictly between -1 and 1 (Fisher's z of +-1 is infinite)"


@measure("ZCOR", needs=("ri", "ni"), n_min={"ni": 4}, description="Fisher's r-to-z transformed correlation",
         undefined=_r_is_one)
def _zcor(ri, ni):
    """Fisher's z = atanh(r) with variance 1 / (n - 3).

    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced from a small
    sample. Metron, 1, 3-32.
    """
    return np.arctanh(ri), 1 / (ni - 3)


# -- 2x2 tables -------------------------------------------------------------------------------------------

_TABLE = ("ai", "bi", "ci", "di")


@measure("OR", needs=_TABLE, cells=_TABLE, description="log odds ratio")
def _or(ai, bi, ci, di):
    """Log odds ratio log(ad / (bc)) with variance 1/a + 1/b + 1/c + 1/d.

    Woolf, B. (1955). On estimating the relation between blood group and disease. Ann. Hum. Genet.,
    19(4), 251-253. Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data. In Cooper,
    Hedges & Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed.), ch. 13.
    """
    return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di


@measure("RR", needs=_TABLE, cells=_TABLE, description="log risk ratio")
def _rr(ai, bi, ci, di):
    """Log risk ratio log((a / n1) / (c / n2)) with variance 1/a - 1/n1 + 1/c - 1/n2.

    Katz, D., Baptista, J., Azen, S. P., & Pike, M. C. (1978). Obtaining confidence intervals for the
    risk ratio in cohort studies. Biometrics, 34(3), 469-474. Fleiss & Berlin (2009), ch. 13.
    """
    n1i, n2i = ai + bi, ci + di
    return np.log((ai / n1i) / (ci / n2i)), 1 / ai - 1 / n1i + 1 / ci - 1 / n2i


@measure("RD", needs=_TABLE, cells=_TABLE, description="risk difference")
def _rd(ai, bi, ci, di):
    """Risk difference p1 - p2 with variance p1 (1 - p1) / n1 + p2 (1 - p2) / n2.

    Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data. In Cooper, Hedges &
    Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed.), ch. 13.
    """
    n1i, n2i = ai + bi, ci + di
    p1, p2 = ai / n1i, ci / n2i
    return p1 - p2, p1 * (1 - p1) / n1i + p2 * (1 - p2) / n2i


# -- single groups ----------------------------------------------------------------------------------------


@measure("PR", needs=("xi", "mi"), cells=("xi", "mi"), description="raw proportion")
def _pr(xi, mi):
    """Proportion p = x / n (n = x + m) with variance p (1 - p) / n.

    Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage (ch. 3, proportions).
    """
    ni = xi + mi
    p = xi / ni
    return p, p * (1 - p) / ni


@measure("PLO", needs=("xi", "mi"), cells=("xi", "mi"), description="logit transformed proportion (log odds)")
def _plo(xi, mi):
    """Log odds log(x / m) (m = n - x) with variance 1/x + 1/m.

    Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage (ch. 3, logit of a proportion).
    """
    return np.log(xi / mi), 1 / xi + 1 / mi


@measure("MN", needs=("mi", "sdi", "ni"), description="raw mean")
def _mn(mi, sdi, ni):
    """Mean m with variance sd^2 / n.

    Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction to
    Meta-Analysis. Wiley (ch. 4).
    """
    return mi, sdi**2 / ni


# -- the public entry point -------------------------------------------------------------------------------


def _resolve_measure(name) -> Measure:
    key = str(name).upper()
    if key not in MEASURES:
        raise InputError(f"unknown measure {name!r}", expected="one of " + ", ".join(MEASURES))
    return MEASURES[key]


def _warn(rows, what: str, found: list) -> None:
    rows = list(rows)
    if rows:
        n = len(rows)
        text = f"{n} {'study' if n == 1 else 'studies'} with {what}: yi/vi set to NA ({_checks.format_rows(rows)})"
        found.append(text)
        warnings.warn(text, DroppedRowsWarning, stacklevel=3)


def _first_bad(bad, values, *, column, rows, source, expected):
    hit = np.flatnonzero(bad)
    if hit.size:
        i = hit[0]
        raise InputError(f"got {values[i]:g}", file=source, row=rows[i], column=column, expected=expected)


def effect_sizes(data=None, measure: str = "SMD", *, add: float = 0.5, to: To = "only0", drop00: bool = False,
                 **columns):
    """Compute effect sizes ``yi`` and sampling variances ``vi`` as metafor's ``escalc``.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per study. Column arguments are column names of ``data``, or arrays (one value per row).
    measure : str
        A key of ``MEASURES``: SMD, SMDH, MD, ROM, SMCC, SMCR, COR, UCOR, ZCOR, OR, RR, RD, PR, PLO, MN.
    ai, bi, ci, di, n1i, n2i, m1i, m2i, sd1i, sd2i, ri, ni, xi, mi, sdi : str or array_like
        The measure's inputs, named as in escalc (``MEASURES[m].signature`` lists them). 2x2 tables take
        ``ai, bi, ci, di`` or ``ai, ci, n1i, n2i``; proportions ``xi, ni`` or ``xi, mi``.
    add : float
        Added to the cells of count data (2x2 tables; ``xi`` and ``mi`` for PR/PLO). Default 1/2.
    to : {"only0", "all", "if0all", "none"}
        Which studies get ``add``: those with a zero cell (default, as metafor), all, all when any study
        has a zero cell, or none.
    drop00 : bool
        2x2 tables with no events (ai = ci = 0) or only events (bi = di = 0) give NA. Default False.

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` (or a table of the given arrays) with ``yi`` (the effect size) and ``vi``
        (its sampling variance) appended; ``attrs["measure"]`` is the measure and ``attrs["warnings"]``
        the warnings raised.

    Raises
    ------
    InputError
        A column is missing or holds text, a sample size is below the measure's limit, an SD is negative
        or makes the measure undefined, a correlation is outside [-1, 1], a count is negative or above
        its group size; the message names the file, row and column.

    Warns
    -----
    DroppedRowsWarning
        "N studies with missing inputs: yi/vi set to NA (rows ...)", and likewise for tables dropped by
        ``drop00`` and for values that cannot be computed (zero cells with ``to="none"``).

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J. Stat. Softw.,
    36(3), 1-48. Each measure's own sources are in ``MEASURES[m].reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"tpos": [4, 6], "tneg": [119, 300], "cpos": [11, 29], "cneg": [128, 274]})
    >>> out = effect_sizes(df, "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    >>> out[["yi", "vi"]].round(4)
           yi      vi
    0 -0.8893  0.3256
    1 -1.5854  0.1946
    """
    import pandas as pd

    m = _resolve_measure(measure)
    unknown = sorted(set(columns) - set(ARGUMENTS))
    if unknown:
        raise InputError(f"unknown argument {unknown[0]!r}", expected="escalc's arguments " + ", ".join(ARGUMENTS))
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError(f"to={to!r}", expected='one of "only0", "all", "if0all", "none"')
    if not (isinstance(add, (int, float)) and math.isfinite(add) and add >= 0):
        raise InputError(f"add={add!r}", expected="a number >= 0")
    given = {a: c for a, c in columns.items() if c is not None}
    if data is not None and not isinstance(data, pd.DataFrame):
        data = data.to_frame() if hasattr(data, "to_frame") else pd.DataFrame(data)
    alt = {k: v for k, v in _ALTERNATIVES.items() if k in m.needs} if m.cells else {}
    missing = [a for a in m.needs if a not in given and not (a in alt and alt[a][0] in given)]
    if missing:
        raise InputError(f"measure {m.name} needs {m.signature}; missing {', '.join(missing)}",
                         expected="the missing arguments as column names or arrays")
    usable = set(m.needs) | set(m.optional) | {alt[a][0] for a in m.needs if a in alt}
    extra = sorted(set(given) - usable)
    if extra:
        raise InputError(f"measure {m.name} does not use {', '.join(extra)}", expected=f"the arguments {m.signature}")

    n = len(data) if data is not None else None
    values, names = {}, {}
    for arg, spec in given.items():
        if arg in m.optional:
            continue
        values[arg], col = _checks.numeric(data, spec, name=arg, n=n)
        names[arg] = col or arg
        n = values[arg].shape[0]
    if n == 0:
        raise InputError("no studies", file=_checks.source_of(data), expected="at least one row")
    rows = _checks.row_labels(data, n)
    source = _checks.source_of(data)

    def check(arg, bad, expected):
        _first_bad(bad, values[arg], column=names[arg], rows=rows, source=source, expected=expected)

    with np.errstate(invalid="ignore"):
        for arg, x in values.items():
            check(arg, np.isinf(x), "a finite number")
            if arg in ("sd1i", "sd2i", "sdi"):
                check(arg, x < 0, "a standard deviation >= 0")
            elif arg == "ri":
                check(arg, (x < -1) | (x > 1), "a correlation between -1 and 1")
            elif arg in ("n1i", "n2i", "ni"):
                low = m.n_min.get(arg, 1)
                check(arg, x < low, f"a sample size >= {low} for measure {m.name}")
            if arg in m.cells or arg in ("ai", "ci", "xi"):
                check(arg, x < 0, "a count >= 0")
        for need, (total, count) in alt.items():
            if need not in values:
                hit = np.flatnonzero(values[count] > values[total])
                if hit.size:
                    i = hit[0]
                    raise InputError(f"got {values[count][i]:g} but {names[total]} is {values[total][i]:g}",
                                     file=source, row=rows[i], column=names[count],
                                     expected=f"a count <= {names[total]} (the group size)")
                values[need] = values[total] - values[count]
        inputs = {a: values[a] for a in m.needs}
        ok = ~np.any(np.isnan(np.column_stack(list(inputs.values()))), axis=1)
        if m.undefined is not None:
            bad, arg, expected = m.undefined(inputs)
            check(arg, bad & ok, expected)

    found: list[str] = []
    _warn(rows[~ok], "missing inputs", found)
    if m.cells:
        cells = np.column_stack([inputs[a] for a in m.cells])
        if drop00 and m.cells == _TABLE:
            empty = ok & (((cells[:, 0] == 0) & (cells[:, 2] == 0)) | ((cells[:, 1] == 0) & (cells[:, 3] == 0)))
            _warn(rows[empty], "no events (or only events) in both groups (drop00)", found)
            ok &= ~empty
        zero = ok & np.any(cells == 0, axis=1)
        to_add = {"only0": zero, "all": ok, "if0all": ok & zero.any(), "none": np.zeros(n, bool)}[to]
        inputs = {a: np.where(to_add, inputs[a] + add, inputs[a]) for a in m.cells}

    yi, vi = np.full(n, np.nan), np.full(n, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        y, v = m.function(**{a: x[ok] for a, x in inputs.items()})
    yi[ok], vi[ok] = y, v
    undefined = ok & ~(np.isfinite(yi) & np.isfinite(vi))
    _warn(rows[undefined], f"{m.name} undefined (zero cells; see add and to)", found)
    yi[undefined] = vi[undefined] = np.nan

    if data is not None:
        out = data.copy()
    else:
        out = pd.DataFrame({a: values[a] for a in given if a in values})
    out["yi"], out["vi"] = yi, vi
    out.attrs["measure"] = m.name
    out.attrs["warnings"] = found
    if source:
        out.attrs["source"] = source
    return out


# -- conversions ------------------------------------------------------------------------------------------


class Conversion(NamedTuple):
    """A converted effect size ``yi`` and its sampling variance ``vi`` (None where not computable)."""

    yi: object
    vi: object


def _arrays(**named):
    """Validate conversion inputs (numbers or arrays; None passes through) and broadcast them."""
    scalar = all(v is None or np.ndim(v) == 0 for v in named.values())
    out = {}
    for k, v in named.items():
        if v is None:
            out[k] = None
            continue
        x, _ = _checks.numeric(None, np.atleast_1d(np.asarray(v)), name=k)
        _checks.check_range(x, column=k, rows=_checks.row_labels(None, x.shape[0]), source=None,
                            expected="a finite number")
        out[k] = x
    present = [k for k, v in out.items() if v is not None]
    try:
        arrays = np.broadcast_arrays(*[out[k] for k in present])
    except ValueError:
        raise InputError(f"{', '.join(present)} have different lengths", expected="one value per study") from None
    out.update(zip(present, arrays))
    return out, scalar


def _result(yi, vi, scalar):
    if scalar:
        return Conversion(float(yi[0]), None if vi is None else float(vi[0]))
    return Conversion(yi, vi)


def _check(x, name, *, low=None, high=None, low_open=False, high_open=False, expected):
    if x is not None:
        _checks.check_range(x, column=name, rows=_checks.row_labels(None, x.shape[0]), source=None, low=low,
                            high=high, low_open=low_open, high_open=high_open, expected=expected)


def _d_variance(d, n1i, n2i):
    # Borenstein et al. (2009), eq. 4.20
    return (n1i + n2i) / (n1i * n2i) + d**2 / (2 * (n1i + n2i))


def d_to_r(d, vi=None, n1i=None, n2i=None) -> Conversion:
    """Convert a standardized mean difference to a (point-biserial) correlation.

    r = d / sqrt(d^2 + a) with a = (n1 + n2)^2 / (n1 n2) when both group sizes are known, else a = 4
    (equal groups); V_r = a^2 V_d / (d^2 + a)^3. Without ``vi``, V_d is computed from n1i and n2i
    (Borenstein et al. 2009, eq. 4.20); without either, ``vi`` of the result is None.

    References: Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction
    to Meta-Analysis. Wiley, ch. 7 (eqs. 7.7-7.9).

    >>> yi, vi = d_to_r(0.5, n1i=50, n2i=50)
    >>> round(yi, 4), round(vi, 4)
    (0.2425, 0.0086)
    """
    x, scalar = _arrays(d=d, vi=vi, n1i=n1i, n2i=n2i)
    _check(x["vi"], "vi", low=0, low_open=True, expected="a sampling variance > 0")
    for k in ("n1i", "n2i"):
        _check(x[k], k, low=1, expected="a group size >= 1")
    d, v = x["d"], x["vi"]
    known = x["n1i"] is not None and x["n2i"] is not None
    a = (x["n1i"] + x["n2i"]) ** 2 / (x["n1i"] * x["n2i"]) if known else 4.0  # eq. 7.8
    if v is None and known:
        v = _d_variance(d, x["n1i"], x["n2i"])
    r = d / np.sqrt(d**2 + a)  # eq. 7.7
    vr = None if v is None else a**2 * v / (d**2 + a) ** 3  # eq. 7.9
    return _result(r, vr, scalar)


def r_to_d(r, vi=None, ni=None, n1i=None, n2i=None) -> Conversion:
    """Convert a correlation to a standardized mean difference.

    d = 2 r / sqrt(1 - r^2) and V_d = 4 V_r / (1 - r^2)^3 (Borenstein et al. 2009, eqs. 7.5-7.6); with
    group sizes n1i and n2i, 2 becomes sqrt(a), a = (n1 + n2)^2 / (n1 n2), the exact inverse of
    :func:`d_to_r` (eq. 7.7-7.8), and V_d = a V_r / (1 - r^2)^3. Without ``vi``, V_r = (1 - r^2)^2 / (n - 1)
    with n = ni or n1i + n2i; without either, ``vi`` of the result is None.

    References: Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction
    to Meta-Analysis. Wiley, ch. 6 (eq. 6.1) and ch. 7 (eqs. 7.5-7.8).

    >>> yi, vi = r_to_d(0.3, ni=100)
    >>> round(yi, 4), round(vi, 4)
    (0.629, 0.0444)
    """
    x, scalar = _arrays(r=r, vi=vi, ni=ni, n1i=n1i, n2i=n2i)
    _check(x["r"], "r", low=-1, high=1, low_open=True, high_open=True, expected="a correlation in (-1, 1)")
    _check(x["vi"], "vi", low=0, low_open=True, expected="a sampling variance > 0")
    _check(x["ni"], "ni", low=2, expected="a sample size >= 2")
    for k in ("n1i", "n2i"):
        _check(x[k], k, low=1, expected="a group size >= 1")
    r, v = x["r"], x["vi"]
    groups = x["n1i"] is not None and x["n2i"] is not None
    a = (x["n1i"] + x["n2i"]) ** 2 / (x["n1i"] * x["n2i"]) if groups else 4.0
    n = x["ni"] if x["ni"] is not None else (x["n1i"] + x["n2i"] if groups else None)
    if v is None and n is not None:
        v = (1 - r**2) ** 2 / (n - 1)  # Borenstein et al. (2009), eq. 6.1
    d = np.sqrt(a) * r / np.sqrt(1 - r**2)  # eq. 7.5 (a = 4)
    vd = None if v is None else a * v / (1 - r**2) ** 3  # eq. 7.6 (a = 4)
    return _result(d, vd, scalar)


_LOGISTIC = math.pi / math.sqrt(3)  # SD of the standard logistic distribution


def d_to_logor(d, vi=None) -> Conversion:
    """Convert a standardized mean difference to a log odds ratio: log OR = d pi / sqrt(3),
    V = V_d pi^2 / 3 (logistic distributions within groups).

    References: Hasselblad, V., & Hedges, L. V. (1995). Meta-analysis of screening and diagnostic tests.
    Psychol. Bull., 117(1), 167-178. Borenstein et al. (2009), Introduction to Meta-Analysis, eqs. 7.3-7.4.

    >>> yi, vi = d_to_logor(0.5, 0.04)
    >>> round(yi, 4), round(vi, 4)
    (0.9069, 0.1316)
    """
    x, scalar = _arrays(d=d, vi=vi)
    _check(x["vi"], "vi", low=0, low_open=True, expected="a sampling variance > 0")
    vi = None if x["vi"] is None else x["vi"] * _LOGISTIC**2
    return _result(x["d"] * _LOGISTIC, vi, scalar)


def logor_to_d(logor, vi=None) -> Conversion:
    """Convert a log odds ratio to a standardized mean difference: d = log OR sqrt(3) / pi,
    V_d = V_logOR 3 / pi^2.

    References: Hasselblad, V., & Hedges, L. V. (1995). Psychol. Bull., 117(1), 167-178. Borenstein et
    al. (2009), Introduction to Meta-Analysis, eqs. 7.1-7.2.

    >>> yi, vi = logor_to_d(0.9069, 0.0676)
    >>> round(yi, 4), round(vi, 4)
    (0.5, 0.0205)
    """
    x, scalar = _arrays(logor=logor, vi=vi)
    _check(x["vi"], "vi", low=0, low_open=True, expected="a sampling variance > 0")
    vi = None if x["vi"] is None else x["vi"] / _LOGISTIC**2
    return _result(x["logor"] / _LOGISTIC, vi, scalar)


def d_from_t(t, n1i, n2i, *, correct: bool = False) -> Conversion:
    """Standardized mean difference from an independent-samples t statistic.

    d = t sqrt(1/n1 + 1/n2) with variance 1/n1 + 1/n2 + d^2 / (2 (n1 + n2)). With ``correct=True`` the
    result is Hedges' g = J(n1 + n2 - 2) d with the same variance formula at g (as escalc's SMD from
    ``ti``).

    References: Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage, appendix B
    (d from t). Borenstein et al. (2009), Introduction to Meta-Analysis, eq. 4.20 (variance).
    Hedges (1981), eq. 6e (J).

    >>> yi, vi = d_from_t(2.5, 30, 30)
    >>> round(yi, 4), round(vi, 4)
    (0.6455, 0.0701)
    """
    x, scalar = _arrays(t=t, n1i=n1i, n2i=n2i)
    for k in ("n1i", "n2i"):
        _check(x[k], k, low=2, expected="a group size >= 2")
    n1, n2 = x["n1i"], x["n2i"]
    d = x["t"] * np.sqrt(1 / n1 + 1 / n2)
    if correct:
        d = hedges_j(n1 + n2 - 2) * d
    return _result(d, _d_variance(d, n1, n2), scalar)


def d_from_f(f, n1i, n2i, *, sign=1, correct: bool = False) -> Conversion:
    """Standardized mean difference from a one-way F statistic with 1 numerator df (two groups).

    |t| = sqrt(F), so d = sign sqrt(F (1/n1 + 1/n2)); F carries no direction, ``sign`` (+1 or -1, per
    study) gives it. Variance and ``correct`` as :func:`d_from_t`.

    References: Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage, appendix B.

    >>> yi, vi = d_from_f(6.25, 30, 30)
    >>> round(yi, 4), round(vi, 4)
    (0.6455, 0.0701)
    """
    x, scalar = _arrays(f=f, sign=sign)
    _check(x["f"], "f", low=0, expected="an F statistic >= 0")
    _check_sign(x["sign"])
    return d_from_t(_maybe_scalar(x["sign"] * np.sqrt(x["f"]), scalar), n1i, n2i, correct=correct)


def d_from_p(p, n1i, n2i, *, sign=1, correct: bool = False) -> Conversion:
    """Standardized mean difference from the two-sided p-value of an independent-samples t test.

    t = F^-1_{t, n1 + n2 - 2}(1 - p / 2), then d as :func:`d_from_t`; ``sign`` (+1 or -1) gives the
    direction, which a two-sided p-value does not carry.

    References: Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage, appendix B.

    >>> yi, vi = d_from_p(0.05, 30, 30)
    >>> round(yi, 4), round(vi, 4)
    (0.5168, 0.0689)
    """
    from ._distributions import t_ppf

    x, scalar = _arrays(p=p, n1i=n1i, n2i=n2i, sign=sign)
    _check(x["p"], "p", low=0, high=1, low_open=True, expected="a p-value in (0, 1]")
    _check_sign(x["sign"])
    for k in ("n1i", "n2i"):
        _check(x[k], k, low=2, expected="a group size >= 2")
    t = x["sign"] * t_ppf(1 - x["p"] / 2, x["n1i"] + x["n2i"] - 2)
    return d_from_t(_maybe_scalar(t, scalar), _maybe_scalar(x["n1i"], scalar), _maybe_scalar(x["n2i"], scalar),
                    correct=correct)


def _check_sign(sign):
    bad = np.flatnonzero(np.abs(sign) != 1)
    if bad.size:
        raise InputError(f"sign = {sign[bad[0]]:g}", row=_checks.row_labels(None, sign.shape[0])[bad[0]],
                         expected="+1 or -1 (the direction of the difference)")


def _maybe_scalar(x, scalar):
    return float(x[0]) if scalar else x
