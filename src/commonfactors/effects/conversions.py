"""Conversions between effect-size metrics (d <-> r <-> log odds ratio) and d from t, F and p, each with
its sampling variance."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import _checks
from ..errors import InputError
from .measures import hedges_j


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
        _checks.check_range(
            x, column=k, rows=_checks.row_labels(None, x.shape[0]), source=None, expected="a finite number"
        )
        out[k] = x
    present = [k for k, v in out.items() if v is not None]
    try:
        arrays = np.broadcast_arrays(*[out[k] for k in present])
    except ValueError:
        raise InputError(
            f"{', '.join(present)} have different lengths", expected="one value per study"
        ) from None
    out.update(zip(present, arrays, strict=True))
    return out, scalar


def _result(yi, vi, scalar):
    if scalar:
        return Conversion(float(yi[0]), None if vi is None else float(vi[0]))
    return Conversion(yi, vi)


def _check(x, name, **bounds):
    """``_checks.check_range`` on an input given (not None), its elements named by position."""
    if x is not None:
        _checks.check_range(x, column=name, rows=_checks.row_labels(None, x.shape[0]), source=None, **bounds)


def _check_variance(x):
    _check(x["vi"], "vi", low=0, low_open=True, expected="a sampling variance > 0")


def _check_groups(x, low):
    for k in ("n1i", "n2i"):
        _check(x[k], k, low=low, expected=f"a group size >= {low}")


def d_variance(d, n1i, n2i):
    """Large-sample sampling variance of a standardized mean difference d from groups of n1 and n2:
    1/n1 + 1/n2 + d^2 / (2 (n1 + n2)), as escalc's SMD at its corrected value. A total N in two equal
    groups gives ``d_variance(d, N / 2, N / 2)`` = (4 + d^2 / 2) / N.

    References: Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction
    to Meta-Analysis. Wiley, eq. 4.20.

    >>> round(d_variance(0.5, 50, 50), 6)
    0.04125
    """
    return (n1i + n2i) / (n1i * n2i) + d**2 / (2 * (n1i + n2i))


def group_term(n1=None, n2=None):
    """a = (n1 + n2)^2 / (n1 n2), the group-size term of the r <-> d conversions (Borenstein et al., 2009,
    eq. 7.8); a = 4 when the groups are equal or their sizes unknown."""
    if n1 is None or n2 is None:
        return 4.0
    n1, n2 = np.asarray(n1, dtype=float), np.asarray(n2, dtype=float)
    return (n1 + n2) ** 2 / (n1 * n2)


def r_of_d(d, a=4.0):
    """Point-biserial r = d / sqrt(d^2 + a) (Borenstein et al., 2009, eq. 7.7), on clean arrays."""
    return d / np.sqrt(d**2 + a)


def d_of_r(r, a=4.0):
    """d = sqrt(a) r / sqrt(1 - r^2), the inverse of :func:`r_of_d` (with a = 4, Borenstein et al., 2009,
    eq. 7.5), on clean arrays."""
    return np.sqrt(a) * r / np.sqrt(1.0 - r**2)


def var_r_of_d(d, vd, a=4.0):
    """The variance of r converted from d: a^2 v_d / (d^2 + a)^3 (Borenstein et al., 2009, eq. 7.9)."""
    return a**2 * vd / (d**2 + a) ** 3


def var_d_of_r(r, vr, a=4.0):
    """The variance of d converted from r: a v_r / (1 - r^2)^3 (with a = 4, Borenstein et al., 2009,
    eq. 7.6; the general a by the delta method on :func:`d_of_r`, derivative sqrt(a) / (1 - r^2)^(3/2))."""
    return a * vr / (1.0 - r**2) ** 3


def _rescaled(value, vi, factor, scalar) -> Conversion:
    """A linear change of scale: value * factor, with variance vi * factor^2."""
    return _result(value * factor, None if vi is None else vi * factor**2, scalar)


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
    _check_variance(x)
    _check_groups(x, 1)
    d, v = x["d"], x["vi"]
    a = group_term(x["n1i"], x["n2i"])
    if v is None and x["n1i"] is not None and x["n2i"] is not None:
        v = d_variance(d, x["n1i"], x["n2i"])
    r = r_of_d(d, a)
    vr = None if v is None else var_r_of_d(d, v, a)
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
    _check_variance(x)
    _check(x["ni"], "ni", low=2, expected="a sample size >= 2")
    _check_groups(x, 1)
    r, v = x["r"], x["vi"]
    groups = x["n1i"] is not None and x["n2i"] is not None
    a = group_term(x["n1i"], x["n2i"])
    n = x["ni"] if x["ni"] is not None else (x["n1i"] + x["n2i"] if groups else None)
    if v is None and n is not None:
        v = (1 - r**2) ** 2 / (n - 1)  # Borenstein et al. (2009), eq. 6.1
    d = d_of_r(r, a)
    vd = None if v is None else var_d_of_r(r, v, a)
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
    _check_variance(x)
    return _rescaled(x["d"], x["vi"], _LOGISTIC, scalar)


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
    _check_variance(x)
    return _rescaled(x["logor"], x["vi"], 1 / _LOGISTIC, scalar)


def d_to_g(d, n1i, n2i) -> Conversion:
    """Hedges' g from Cohen's d: g = J(n1 + n2 - 2) d with the exact correction J (Hedges, 1981, eq. 6e),
    and the variance 1/n1 + 1/n2 + g^2 / (2 (n1 + n2)) at g, as escalc's SMD (Borenstein et al., 2009,
    eq. 4.20).

    >>> yi, vi = d_to_g(0.5, 20, 20)
    >>> round(yi, 4), round(vi, 4)
    (0.4901, 0.103)
    """
    x, scalar = _arrays(d=d, n1i=n1i, n2i=n2i)
    _check_groups(x, 2)
    g = hedges_j(x["n1i"] + x["n2i"] - 2) * x["d"]
    return _result(g, d_variance(g, x["n1i"], x["n2i"]), scalar)


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
    _check_groups(x, 2)
    n1, n2 = x["n1i"], x["n2i"]
    d = x["t"] * np.sqrt(1 / n1 + 1 / n2)
    if correct:
        d = hedges_j(n1 + n2 - 2) * d
    return _result(d, d_variance(d, n1, n2), scalar)


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
    from .._distributions import t_ppf

    x, scalar = _arrays(p=p, n1i=n1i, n2i=n2i, sign=sign)
    _check(x["p"], "p", low=0, high=1, low_open=True, expected="a p-value in (0, 1]")
    _check_sign(x["sign"])
    _check_groups(x, 2)
    t = x["sign"] * t_ppf(1 - x["p"] / 2, x["n1i"] + x["n2i"] - 2)
    return d_from_t(
        _maybe_scalar(t, scalar),
        _maybe_scalar(x["n1i"], scalar),
        _maybe_scalar(x["n2i"], scalar),
        correct=correct,
    )


def _check_sign(sign):
    bad = np.flatnonzero(np.abs(sign) != 1)
    if bad.size:
        raise InputError(
            f"sign = {sign[bad[0]]:g}",
            row=_checks.row_labels(None, sign.shape[0])[bad[0]],
            expected="+1 or -1 (the direction of the difference)",
        )


def _maybe_scalar(x, scalar):
    return float(x[0]) if scalar else x
