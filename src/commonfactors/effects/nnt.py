"""The number needed to treat (NNT) from a standardized mean difference.

Two definitions are in use in psychotherapy research, and they answer different questions:

- Kraemer & Kupfer (2006): NNT = 1 / (2 Phi(d / sqrt(2)) - 1), from the success-rate difference
  SRD = 2 AUC - 1 with AUC = Phi(d / sqrt(2)), the probability that a treated patient does better than a
  control patient (normal outcomes, equal variances). Needs only d.
- Furukawa & Leucht (2011): NNT = 1 / (Phi(d + Phi^-1(CER)) - CER), the difference in response rates when
  a proportion CER of the control group responds and the treatment shifts the (normal) outcome by d
  standard deviations (Furukawa, 1999). Metapsy reports this one, with an assumed control event rate.

A negative NNT is a number needed to harm (d < 0); d = 0 gives an infinite NNT.

References: Kraemer, H. C., & Kupfer, D. J. (2006). Size of treatment effects and their importance to
clinical research and practice. Biological Psychiatry, 59(11), 990-996. Furukawa, T. A. (1999). From effect
size into number needed to treat. The Lancet, 353(9165), 1680. Furukawa, T. A., & Leucht, S. (2011). How to
obtain NNT from Cohen's d: comparison of two methods. PLoS ONE, 6(4), e19070.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .._distributions import norm_cdf, norm_ppf


def nnt_from_d(d, cer=None):
    """The NNT of a standardized mean difference ``d`` (a number or an array): Kraemer & Kupfer's without
    ``cer``, Furukawa & Leucht's with the control group's event (response) rate ``cer`` in (0, 1).

    >>> round(nnt_from_d(0.5), 3), round(nnt_from_d(0.5, cer=0.2), 3)
    (3.619, 6.013)
    """
    x = np.atleast_1d(np.asarray(d, dtype=float))
    rows = _checks.row_labels(None, x.shape[0])
    _checks.check_range(x, column="d", rows=rows, source=None, expected="a finite number")
    if cer is None:
        diff = 2.0 * norm_cdf(x / math.sqrt(2.0)) - 1.0
    else:
        c = np.broadcast_to(np.atleast_1d(np.asarray(cer, dtype=float)), x.shape)
        _checks.check_range(c, column="cer", rows=rows, source=None, low=0, high=1, low_open=True,
                            high_open=True, expected="a control event rate in (0, 1)")
        diff = np.where(x == 0, 0.0, norm_cdf(x + norm_ppf(c)) - c)  # exactly 0, not a rounding residue
    with np.errstate(divide="ignore"):
        nnt = np.where(diff == 0, math.inf, 1.0 / np.where(diff == 0, 1.0, diff))
    return float(nnt[0]) if np.ndim(d) == 0 else nnt
