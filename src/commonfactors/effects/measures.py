"""The registry of effect-size measures: one small function per measure, with the escalc arguments it
needs, its limits and its sources (metafor's definitions and defaults, vtype "LS")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

#: every argument effect_sizes() accepts (escalc's names)
ARGUMENTS = tuple("ai bi ci di n1i n2i x1i x2i t1i t2i m1i m2i sd1i sd2i ri ni xi mi sdi".split())

#: count-data arguments a measure may take in a second form: needed -> (total, count), needed = total - count
_ALTERNATIVES = {"bi": ("n1i", "ai"), "di": ("n2i", "ci"), "mi": ("ni", "xi")}


class SmallSample(NamedTuple):
    """Rows whose ``arg`` is at most ``at_most`` get ``fields`` ("vi" or "yi/vi") NA, as escalc does."""

    arg: str
    at_most: float
    fields: str
    why: str


@dataclass(frozen=True)
class Measure:
    """One entry of ``MEASURES``.

    ``needs`` are the escalc arguments the function takes; for count data, ``bi``/``di``/``mi`` may be
    given as the totals ``n1i``/``n2i``/``ni`` instead (``signature`` shows both). ``cells`` are the
    counts; they receive ``add`` under the zero-cell rule unless ``adds`` is False, and ``empty`` marks
    the studies ``drop00`` leaves out. ``n_min`` is the smallest sample size accepted; ``small`` the
    sizes escalc keeps as NA with a warning. ``optional`` arguments are accepted and ignored (as escalc
    does); ``vtypes`` are the variance estimators the function computes (its ``vtype`` argument).
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
    adds: bool = True
    empty: Callable | None = None
    small: SmallSample | None = None
    vtypes: tuple[str, ...] = ("LS",)

    @property
    def signature(self) -> str:
        """The arguments as a user gives them: ``ai, bi|n1i, ci, di|n2i``."""
        alt = _ALTERNATIVES if self.cells else {}
        return ", ".join(f"{a}|{alt[a][0]}" if a in alt else a for a in self.needs)


MEASURES: dict[str, Measure] = {}


def measure(name, *, needs, description, cells=(), n_min=None, optional=(), **rules):
    """Register a measure function under ``name`` (its docstring's last paragraph is the reference);
    ``rules`` are the other fields of :class:`Measure`."""

    def register(fn):
        reference = " ".join(fn.__doc__.strip().split("\n\n")[-1].split())
        MEASURES[name] = Measure(
            name,
            fn,
            tuple(needs),
            description,
            reference,
            tuple(cells),
            dict(n_min or {}),
            tuple(optional),
            **rules,
        )
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


_GROUPS = ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")


def _pooled_sd_zero(v):
    return (
        (v["sd1i"] == 0) & (v["sd2i"] == 0),
        "sd1i",
        "sd1i and sd2i not both 0 (the standardizer would be 0)",
    )


#: what the standardized mean differences share: two groups of at least 2, a standardizer > 0
_STANDARDIZED = {"needs": _GROUPS, "n_min": {"n1i": 2, "n2i": 2}, "undefined": _pooled_sd_zero}


@measure("SMD", **_STANDARDIZED, description="standardized mean difference (Hedges' g)", vtypes=("LS", "UB"))
def _smd(m1i, sd1i, n1i, m2i, sd2i, n2i, vtype="LS"):
    """Standardized mean difference with the exact small-sample correction (Hedges' g).

    g = J(m) (m1 - m2) / s_pooled, m = n1 + n2 - 2. Variance: large-sample (vtype "LS")
    1/n1 + 1/n2 + g^2 / (2 (n1 + n2)); unbiased (vtype "UB") 1/n1 + 1/n2 + (1 - (m - 2) / (m J(m)^2)) g^2.

    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related estimators.
    J. Educ. Stat., 6(2), 107-128 (J, eq. 6e). Hedges, L. V. (1982). Estimation of effect size from a
    series of independent experiments. Psychol. Bull., 92(2), 490-499 (variance, eq. 8). Hedges, L. V.
    (1983). A random effects model for effect sizes. Psychol. Bull., 93(2), 388-395 (unbiased variance).
    """
    m = n1i + n2i - 2
    sp = np.sqrt(((n1i - 1) * sd1i**2 + (n2i - 1) * sd2i**2) / m)  # pooled SD
    j = hedges_j(m)
    yi = j * (m1i - m2i) / sp
    if vtype == "UB":
        return yi, 1 / n1i + 1 / n2i + (1 - (m - 2) / (m * j**2)) * yi**2  # Hedges (1983)
    return yi, 1 / n1i + 1 / n2i + yi**2 / (2 * (n1i + n2i))  # Hedges (1982), eq. 8


@measure("SMDH", **_STANDARDIZED, description="standardized mean difference, heteroscedastic groups")
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
    vi = j**2 * (
        yi**2 * (sd1i**4 / (n1i - 1) + sd2i**4 / (n2i - 1)) / (8 * s2**2)
        + (sd1i**2 / (n1i - 1) + sd2i**2 / (n2i - 1)) / s2
    )
    return yi, vi


@measure("MD", needs=_GROUPS, description="raw mean difference")
def _md(m1i, sd1i, n1i, m2i, sd2i, n2i):
    """Raw mean difference m1 - m2 with variance sd1^2/n1 + sd2^2/n2 (no equal-variance assumption).

    Borenstein, M. (2009). Effect sizes for continuous data. In H. Cooper, L. V. Hedges & J. C.
    Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed., pp. 221-235).
    Russell Sage Foundation (eq. 12.5).
    """
    return m1i - m2i, sd1i**2 / n1i + sd2i**2 / n2i


def _means_same_sign(v):
    with np.errstate(invalid="ignore", divide="ignore"):
        return (
            ~(v["m1i"] / v["m2i"] > 0),
            "m1i",
            "means m1i and m2i of the same sign, not 0 (log of their ratio)",
        )


@measure(
    "ROM",
    needs=_GROUPS,
    description="log ratio of means",
    undefined=_means_same_sign,
)
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


@measure(
    "SMCC",
    needs=("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"),
    n_min={"ni": 3},
    description="standardized mean change, change-score standardization",
    undefined=_change_sd_zero,
)
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


@measure(
    "SMCR",
    needs=("m1i", "m2i", "sd1i", "ni", "ri"),
    n_min={"ni": 3},
    optional=("sd2i",),
    description="standardized mean change, raw-score standardization",
    undefined=_sd1_zero,
)
def _smcr(m1i, m2i, sd1i, ni, ri):
    """Standardized mean change with raw-score standardization (by the first, usually pre-test, SD).

    g = J(n - 1) (m1 - m2) / sd1; variance 2 (1 - r) / n + g^2 / (2 n).

    Becker, B. J. (1988). Synthesizing standardized mean-change measures. Br. J. Math. Stat. Psychol.,
    41(2), 257-278. Hedges (1981) for J.
    """
    yi = hedges_j(ni - 1) * (m1i - m2i) / sd1i
    return yi, 2 * (1 - ri) / ni + yi**2 / (2 * ni)


# -- correlations -----------------------------------------------------------------------------------------


#: escalc's variance of COR and ZCOR needs ni > 3: below, vi is NA
_NO_VARIANCE = SmallSample("ni", 3, "vi", "too small for the sampling variance")


@measure("COR", needs=("ri", "ni"), description="raw correlation coefficient", small=_NO_VARIANCE)
def _cor(ri, ni):
    """Raw correlation r with large-sample variance (1 - r^2)^2 / (n - 1).

    Borenstein, M. (2009). Effect sizes for continuous data. In Cooper, Hedges & Valentine (Eds.), The
    Handbook of Research Synthesis and Meta-Analysis (2nd ed.), Russell Sage Foundation (eq. 12.27).
    """
    return ri, (1 - ri**2) ** 2 / (ni - 1)


@measure(
    "UCOR",
    needs=("ri", "ni"),
    small=SmallSample("ni", 4, "yi/vi", "too small for the bias correction"),
    description="bias-corrected correlation coefficient",
)
def _ucor(ri, ni):
    """Correlation corrected for its negative bias, G(r) = r 2F1(1/2, 1/2; (n - 2)/2; 1 - r^2),
    with variance (1 - G^2)^2 / (n - 1).

    Olkin, I., & Pratt, J. W. (1958). Unbiased estimation of certain correlation coefficients. Ann. Math.
    Stat., 29(1), 201-211 (eq. 2.3); variance as Borenstein (2009), eq. 12.27, at the corrected value.
    """
    yi = ri * _hyp2f1_half((ni - 2) / 2, 1 - ri**2)
    return yi, (1 - yi**2) ** 2 / (ni - 1)


def _r_is_one(v):
    return (
        np.abs(v["ri"]) == 1,
        "ri",
        "a correlation strictly between -1 and 1 (Fisher's z of +-1 is infinite)",
    )


@measure(
    "ZCOR",
    needs=("ri", "ni"),
    description="Fisher's r-to-z transformed correlation",
    undefined=_r_is_one,
    small=_NO_VARIANCE,
)
def _zcor(ri, ni):
    """Fisher's z = atanh(r) with variance 1 / (n - 3).

    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation deduced from a small
    sample. Metron, 1, 3-32.
    """
    return np.arctanh(ri), 1 / (ni - 3)


# -- 2x2 tables -------------------------------------------------------------------------------------------

_TABLE = ("ai", "bi", "ci", "di")


def _table_empty(v):
    a, b, c, d = (v[x] for x in _TABLE)
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0)), "no events (or only events) in both groups (drop00)"


@measure("OR", needs=_TABLE, cells=_TABLE, description="log odds ratio", empty=_table_empty)
def _or(ai, bi, ci, di):
    """Log odds ratio log(ad / (bc)) with variance 1/a + 1/b + 1/c + 1/d.

    Woolf, B. (1955). On estimating the relation between blood group and disease. Ann. Hum. Genet.,
    19(4), 251-253. Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data. In Cooper,
    Hedges & Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed.), ch. 13.
    """
    return np.log(ai * di / (bi * ci)), 1 / ai + 1 / bi + 1 / ci + 1 / di


@measure("RR", needs=_TABLE, cells=_TABLE, description="log risk ratio", empty=_table_empty)
def _rr(ai, bi, ci, di):
    """Log risk ratio log((a / n1) / (c / n2)) with variance 1/a - 1/n1 + 1/c - 1/n2.

    Katz, D., Baptista, J., Azen, S. P., & Pike, M. C. (1978). Obtaining confidence intervals for the
    risk ratio in cohort studies. Biometrics, 34(3), 469-474. Fleiss & Berlin (2009), ch. 13.
    """
    n1i, n2i = ai + bi, ci + di
    return np.log((ai / n1i) / (ci / n2i)), 1 / ai - 1 / n1i + 1 / ci - 1 / n2i


@measure("RD", needs=_TABLE, cells=_TABLE, description="risk difference", empty=_table_empty)
def _rd(ai, bi, ci, di):
    """Risk difference p1 - p2 with variance p1 (1 - p1) / n1 + p2 (1 - p2) / n2.

    Fleiss, J. L., & Berlin, J. A. (2009). Effect sizes for dichotomous data. In Cooper, Hedges &
    Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed.), ch. 13.
    """
    n1i, n2i = ai + bi, ci + di
    p1, p2 = ai / n1i, ci / n2i
    return p1 - p2, p1 * (1 - p1) / n1i + p2 * (1 - p2) / n2i


# -- two groups, events and person-time -------------------------------------------------------------------


def _no_events(v):
    return (v["x1i"] == 0) & (v["x2i"] == 0), "no events in both groups (drop00)"


@measure(
    "IRR",
    needs=("x1i", "x2i", "t1i", "t2i"),
    cells=("x1i", "x2i"),
    description="log incidence rate ratio",
    empty=_no_events,
)
def _irr(x1i, x2i, t1i, t2i):
    """Log incidence rate ratio log((x1 / t1) / (x2 / t2)), events x and person-time t, with variance
    1/x1 + 1/x2.

    Rothman, K. J., Greenland, S., & Lash, T. L. (2008). Modern Epidemiology (3rd ed.). Lippincott
    Williams & Wilkins (ch. 14, person-time data: the rate ratio and its variance).
    """
    return np.log((x1i / t1i) / (x2i / t2i)), 1 / x1i + 1 / x2i


# -- single groups ----------------------------------------------------------------------------------------


#: a proportion's counts: events xi and non-events mi (or the total ni)
_PROPORTION = {"needs": ("xi", "mi"), "cells": ("xi", "mi")}


@measure("PR", **_PROPORTION, description="raw proportion")
def _pr(xi, mi):
    """Proportion p = x / n (n = x + m) with variance p (1 - p) / n.

    Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage (ch. 3, proportions).
    """
    ni = xi + mi
    p = xi / ni
    return p, p * (1 - p) / ni


@measure("PLO", **_PROPORTION, description="logit transformed proportion (log odds)")
def _plo(xi, mi):
    """Log odds log(x / m) (m = n - x) with variance 1/x + 1/m.

    Lipsey, M. W., & Wilson, D. B. (2001). Practical Meta-Analysis. Sage (ch. 3, logit of a proportion).
    """
    return np.log(xi / mi), 1 / xi + 1 / mi


@measure("PLN", **_PROPORTION, description="log transformed proportion")
def _pln(xi, mi):
    """Log proportion log(x / n) (n = x + m) with variance 1/x - 1/n (delta method).

    Katz, D., Baptista, J., Azen, S. P., & Pike, M. C. (1978). Obtaining confidence intervals for the
    risk ratio in cohort studies. Biometrics, 34(3), 469-474 (the variance of one group's log risk).
    """
    ni = xi + mi
    return np.log(xi / ni), 1 / xi - 1 / ni


@measure("PAS", **_PROPORTION, adds=False, description="arcsine square root transformed proportion")
def _pas(xi, mi):
    """Arcsine square root transformed proportion asin(sqrt(x / n)) with variance 1 / (4 n).

    Anscombe, F. J. (1948). The transformation of Poisson, binomial and negative-binomial data.
    Biometrika, 35(3/4), 246-254.
    """
    ni = xi + mi
    return np.arcsin(np.sqrt(xi / ni)), 1 / (4 * ni)


@measure("PFT", **_PROPORTION, adds=False, description="Freeman-Tukey double arcsine transformed proportion")
def _pft(xi, mi):
    """Freeman-Tukey double arcsine transformed proportion
    (asin(sqrt(x / (n + 1))) + asin(sqrt((x + 1) / (n + 1)))) / 2 with variance 1 / (4 n + 2).

    Freeman, M. F., & Tukey, J. W. (1950). Transformations related to the angular and the square root.
    Ann. Math. Stat., 21(4), 607-611.
    """
    ni = xi + mi
    yi = (np.arcsin(np.sqrt(xi / (ni + 1))) + np.arcsin(np.sqrt((xi + 1) / (ni + 1)))) / 2
    return yi, 1 / (4 * ni + 2)


@measure("MN", needs=("mi", "sdi", "ni"), description="raw mean")
def _mn(mi, sdi, ni):
    """Mean m with variance sd^2 / n.

    Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction to
    Meta-Analysis. Wiley (ch. 4).
    """
    return mi, sdi**2 / ni
