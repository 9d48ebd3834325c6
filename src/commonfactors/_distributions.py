"""Distribution functions used for p-values and intervals: normal, t, chi-square and F.

Interface module: every caller imports these names from here, never from scipy directly, so the
command line can start without importing scipy (whose import alone costs ~0.4 s on the reference
machines; see README "Why some things are written by hand").
"""

from __future__ import annotations

from scipy import special as _sp


def norm_cdf(x):
    return _sp.ndtr(x)


def norm_sf(x):
    return _sp.ndtr(-x)


def norm_ppf(p):
    return _sp.ndtri(p)


def t_cdf(x, df):
    return _sp.stdtr(df, x)


def t_sf(x, df):
    return _sp.stdtr(df, -x)


def t_ppf(p, df):
    return _sp.stdtrit(df, p)


def chi2_sf(x, df):
    return _sp.chdtrc(df, x)


def chi2_cdf(x, df):
    return _sp.chdtr(df, x)


def chi2_ppf(p, df):
    return _sp.chdtri(df, 1 - p)


def f_sf(x, dfn, dfd):
    return _sp.fdtrc(dfn, dfd, x)
