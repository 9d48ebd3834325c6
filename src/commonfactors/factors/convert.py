"""Conversions between the metrics in which factor effects are published: r, d, Fisher's z, shares of
outcome variance, and intraclass correlations (ICCs).

Pure array functions (numpy in, numpy out); no validation (the public entry points validate once).

References
----------
Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). *Introduction to
Meta-Analysis*. Wiley. Chapter 6 (Fisher's z: eqs. 6.2-6.4) and chapter 7 (converting among effect
sizes: eqs. 7.5-7.9). doi:10.1002/9780470743386
Rosenthal, R. (1994). Parametric measures of effect size. In H. Cooper & L. V. Hedges (Eds.), *The
Handbook of Research Synthesis* (pp. 231-244). Russell Sage (r^2 as the proportion of variance; the
r <-> d conversions for equal groups).
Wampold, B. E., & Imel, Z. E. (2015). *The Great Psychotherapy Debate* (2nd ed.). Routledge,
doi:10.4324/9780203582015 (the "proportion of variability in outcomes" of a factor as r^2, with
r = d / sqrt(d^2 + 4), and a therapist ICC read directly as a share of variance).
"""

from __future__ import annotations

import numpy as np

from ..effects.conversions import d_of_r, group_term, r_of_d, var_d_of_r, var_r_of_d


def d_to_r(d, n1=None, n2=None):
    """Point-biserial r from a standardised mean difference: r = d / sqrt(d^2 + a) (Borenstein et al.
    (2009), eq. 7.7; a from eq. 7.8, :func:`~commonfactors.effects.conversions.group_term`; a = 4 for equal
    groups, Rosenthal 1994)."""
    return r_of_d(np.asarray(d, dtype=float), group_term(n1, n2))


def r_to_d(r, n1=None, n2=None):
    """Standardised mean difference from r: d = sqrt(a) r / sqrt(1 - r^2), the inverse of :func:`d_to_r`."""
    return d_of_r(np.asarray(r, dtype=float), group_term(n1, n2))


def var_d_to_r(d, vd, n1=None, n2=None):
    """Sampling variance of r converted from d: v_r = a^2 v_d / (d^2 + a)^3 (Borenstein et al. 2009,
    eq. 7.9)."""
    return var_r_of_d(np.asarray(d, dtype=float), np.asarray(vd, dtype=float), group_term(n1, n2))


def var_r_to_d(r, vr, n1=None, n2=None):
    """Sampling variance of d converted from r: v_d = a v_r / (1 - r^2)^3 (Borenstein et al. 2009, eq. 7.6
    with a = 4; the delta method for the general a)."""
    return var_d_of_r(np.asarray(r, dtype=float), np.asarray(vr, dtype=float), group_term(n1, n2))


def fisher_z(r):
    """Fisher's z = atanh(r) = 0.5 ln((1 + r) / (1 - r)) (Borenstein et al. 2009, eq. 6.2)."""
    return np.arctanh(np.asarray(r, dtype=float))


def inverse_fisher_z(z):
    """r = tanh(z) (Borenstein et al. 2009, eq. 6.4)."""
    return np.tanh(np.asarray(z, dtype=float))


def var_fisher_z(n):
    """Sampling variance of Fisher's z from a sample of n: 1 / (n - 3) (Borenstein et al. 2009, eq. 6.3)."""
    return 1.0 / (np.asarray(n, dtype=float) - 3.0)


def r_to_share(r):
    """Proportion of outcome variance accounted for: r^2 (Rosenthal 1994)."""
    return np.asarray(r, dtype=float) ** 2


def d_to_share(d, n1=None, n2=None):
    """Proportion of outcome variance from d: r^2 with r = d / sqrt(d^2 + a).

    Rosenthal (1994); Wampold & Imel (2015) use a = 4 (equal groups). Borenstein et al. (2009), eq. 7.7.
    """
    return d_to_r(d, n1, n2) ** 2


def share_to_r(share):
    """The (non-negative) correlation whose square is ``share``: sqrt(share)."""
    return np.sqrt(np.asarray(share, dtype=float))


def icc_to_share(icc):
    """An ICC is itself a share of outcome variance: var(therapist) / (var(therapist) + var(patient)).

    Wampold & Imel (2015) read a therapist ICC of .05 as "5% of the variability in outcomes".
    """
    return np.asarray(icc, dtype=float)


def icc_to_d(icc):
    """The d equivalent of an ICC: d = 2 sqrt(rho / (1 - rho)).

    Borenstein et al. (2009) eq. 7.5 applied to r = sqrt(rho), the correlation whose square is the
    share rho of outcome variance between therapists.
    """
    return r_to_d(share_to_r(icc))


def logit(p):
    """ln(p / (1 - p))."""
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def expit(x):
    """1 / (1 + exp(-x)), the inverse of :func:`logit`."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def var_icc(icc, n_clusters, n_total):
    """Large-sample variance of a one-way ANOVA ICC with g clusters of (average) size m = N / g.

    var(rho) = 2 (1 - rho)^2 (1 + (m - 1) rho)^2 / (m (m - 1) (g - 1))

    Fisher (1925), as given by Donner, A. (1986). A review of inference procedures for the intraclass
    correlation coefficient in the one-way random effects model. *International Statistical Review*,
    54(1), 67-82, for equal cluster sizes; with unequal sizes m is the average size.
    """
    rho = np.asarray(icc, dtype=float)
    g = np.asarray(n_clusters, dtype=float)
    m = np.asarray(n_total, dtype=float) / g
    return 2.0 * (1.0 - rho) ** 2 * (1.0 + (m - 1.0) * rho) ** 2 / (m * (m - 1.0) * (g - 1.0))
