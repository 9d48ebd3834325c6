"""A bracketing root finder, so that the command line path needs no scipy.optimize.

Brent's method (Brent, R. P. (1973). Algorithms for Minimization without Derivatives, ch. 4.
Prentice-Hall): inverse quadratic interpolation or secant steps, falling back to bisection whenever an
interpolated step would leave the bracket or shrink it too slowly, so convergence is guaranteed for a
continuous function with a sign change on [a, b].
"""

from __future__ import annotations

import math
from collections.abc import Callable

_EPS = 2.220446049250313e-16


def brent(f: Callable[[float], float], a: float, b: float, *, xtol: float = 1e-13, maxiter: int = 500,
          fa: float | None = None, fb: float | None = None) -> float:
    """A root of ``f`` in [a, b], where f(a) and f(b) have opposite signs (or one is zero).

    Stops when the bracket is narrower than ``2 * (2 eps |x| + xtol / 2)``. ``fa``/``fb`` may pass
    values already computed. Raises ValueError when [a, b] does not bracket a root.
    """
    fa = f(a) if fa is None else fa
    fb = f(b) if fb is None else fb
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError(f"f(a) = {fa:g} and f(b) = {fb:g} have the same sign: "
                         "[a, b] does not bracket a root")
    # b is the best estimate, a the previous one, c the counterpoint (f(b) and f(c) of opposite signs)
    c, fc = a, fa
    d = e = b - a
    for _ in range(maxiter):
        if (fb > 0) == (fc > 0):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):  # keep b the point with the smallest |f|
            a, fa = b, fb
            b, fb = c, fc
            c, fc = a, fa
        tol = 2.0 * _EPS * abs(b) + 0.5 * xtol
        m = 0.5 * (c - b)
        if abs(m) <= tol or fb == 0.0:
            return b
        if abs(e) >= tol and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant step
                p, q = 2.0 * m * s, 1.0 - s
            else:  # inverse quadratic interpolation through (a, fa), (b, fb), (c, fc)
                qa, r = fa / fc, fb / fc
                p = s * (2.0 * m * qa * (qa - r) - (b - a) * (r - 1.0))
                q = (qa - 1.0) * (r - 1.0) * (s - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            # accept the interpolation only if it stays well inside the bracket and shrinks fast enough
            if 2.0 * p < min(3.0 * m * q - abs(tol * q), abs(e * q)):
                e, d = d, p / q
            else:
                d = e = m
        else:
            d = e = m
        a, fa = b, fb
        b += d if abs(d) > tol else math.copysign(tol, m)
        fb = f(b)
    raise RuntimeError(f"brent: no convergence after {maxiter} iterations")

