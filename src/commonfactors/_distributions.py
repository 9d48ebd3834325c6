"""Distribution functions used for p-values and intervals: normal, t, chi-square and F.

Interface module: every caller imports these names from here, never from scipy directly, so the
command line can start without importing scipy (whose import alone costs ~0.4 s on the reference
machines; see README "Why some things are written by hand"). Only :mod:`math` and :mod:`numpy` are used.

Every function accepts Python floats or numpy arrays (broadcast together), returns a float for scalar
input and an ndarray otherwise, and gives NaN for NaN input or for parameters outside the domain
(df <= 0). Degrees of freedom need not be integers; ``df = inf`` gives the limiting distribution
(t -> normal); for chi-square and F an infinite df gives NaN, as scipy.

Upper tails are computed directly, never as ``1 - cdf``, so p-values keep their relative accuracy
down to the smallest normal doubles (about 1e-300). Agreement with scipy.stats is better than 1e-12
relative over the grids in ``tests/test_distributions.py``.

The building blocks are two special functions, each with its own helper:

* the regularized incomplete gamma function P(a, x) and its complement Q(a, x), by the power series
  for x < a + 1 and Legendre's continued fraction otherwise (Abramowitz & Stegun 1964, eqs. 6.5.29
  and 6.5.31), so that the smaller of P and Q is always computed directly;
* the regularized incomplete beta function I_x(a, b), by its continued fraction (Abramowitz & Stegun
  1964, eq. 26.5.8) with the symmetry switch I_x(a, b) = 1 - I_{1-x}(b, a) (eq. 6.6.3) at
  x = (a + 1) / (a + b + 2), where the fraction converges fast (Press et al. 2007, sec. 6.4).

Both continued fractions are evaluated by the modified Lentz algorithm (Lentz 1976; Thompson &
Barnett 1986). The prefactors x^a e^-x / Gamma(a) and x^a (1-x)^b / B(a, b) are computed in the form
of DiDonato & Morris (1986, 1992), as a Stirling-series factor times exp(-a * phi(x / x0)) with
phi(r) = r - 1 - ln r, so that they keep full relative accuracy when a and b are large.
Quantiles start from a published approximation and are refined by safeguarded Newton steps on the
logarithm of the tail probability (see :func:`_solve_log_tail`).

References
----------
Abramowitz, M., & Stegun, I. A. (1964). Handbook of Mathematical Functions. National Bureau of
Standards, Applied Mathematics Series 55.
DiDonato, A. R., & Morris, A. H. (1986). Computation of the incomplete gamma function ratios and their
inverse. ACM Transactions on Mathematical Software, 12(4), 377-393.
DiDonato, A. R., & Morris, A. H. (1992). Algorithm 708: Significant digit computation of the incomplete
beta function ratios. ACM Transactions on Mathematical Software, 18(3), 360-373.
Lentz, W. J. (1976). Generating Bessel functions in Mie scattering calculations using continued
fractions. Applied Optics, 15(3), 668-671.
Press, W. H., Teukolsky, S. A., Vetterling, W. T., & Flannery, B. P. (2007). Numerical Recipes, 3rd ed.,
sections 6.2 and 6.4. Cambridge University Press.
Thompson, I. J., & Barnett, A. R. (1986). Coulomb and Bessel functions of complex arguments and order.
Journal of Computational Physics, 64(2), 490-509.
Wichura, M. J. (1988). Algorithm AS 241: The percentage points of the normal distribution. Applied
Statistics, 37(3), 477-484.
"""

from __future__ import annotations

import math

import numpy as np

_EPS = np.finfo(float).eps
_TINY = 1e-300  # stands in for 0 in the Lentz recurrences
_LN_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT1_2 = math.sqrt(0.5)
_CF_TOL = 2 * _EPS  # a continued fraction or series has converged when its last factor is 1 within this
_MAX_TERMS = 100_000  # far more than any argument in double precision needs (~ 8 sqrt(max(a, b)))


# ---------------------------------------------------------------------------------------------------
# plumbing: broadcasting in, float-or-array out


def _broadcast(*args):
    """Float64 copies of ``args``, broadcast together and flattened; their shape; whether all are scalars."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
    scalar = all(np.ndim(a) == 0 for a in args)
    return [a.ravel().copy() for a in arrays], arrays[0].shape, scalar


def _result(values, shape, scalar):
    return float(values[0]) if scalar else values.reshape(shape)


def _tail(tails, which, *args):
    """Output ``which`` of ``tails`` (0: the lower tail, 1: the upper tail) on ``args`` broadcast together."""
    arrays, shape, scalar = _broadcast(*args)
    return _result(tails(*arrays)[which], shape, scalar)


# ---------------------------------------------------------------------------------------------------
# elementary helpers


def _log1pmx_series(t):
    """t - ln(1 + t) for |t| <= 0.5, without cancellation.

    With w = t / (2 + t), ln(1 + t) = 2 atanh(w) = 2 (w + w^3/3 + w^5/5 + ...) and t - 2w = t w, hence
    t - ln(1 + t) = t w - 2 w^3 (1/3 + w^2/5 + w^4/7 + ...) (Abramowitz & Stegun 1964, eq. 4.1.28 for
    the logarithm series). |w| <= 1/3, so 17 terms reach double precision.
    """
    w = t / (2.0 + t)
    w2 = w * w
    acc = np.zeros_like(t)
    for k in range(17, -1, -1):
        acc = acc * w2 + 1.0 / (2 * k + 3)
    return t * w - 2.0 * w * w2 * acc


def _a_phi(a, u):
    """a * phi(u / a) with phi(r) = r - 1 - ln r >= 0, accurate near r = 1 and far from it.

    This is the exponent of x^a e^-x / Gamma(a) after the Stirling factor is taken out
    (DiDonato & Morris 1986, sec. 2), with u = x; and of each factor of x^a y^b / B(a, b) with
    u = (a + b) x (DiDonato & Morris 1992, sec. 3).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (u - a) / a
        near = np.abs(t) <= 0.5
        far = (u - a) - a * np.log(u / a)
    out = far
    if near.any():
        out = np.where(near, a * _log1pmx_series(np.where(near, t, 0.0)), far)
    return out


# Stirling series for ln Gamma: B_2k / (2k (2k - 1)) (Abramowitz & Stegun 1964, eq. 6.1.40)
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)


def _stirling_delta(a):
    """delta(a) = ln Gamma(a) - [(a - 1/2) ln a - a + ln sqrt(2 pi)], for a > 0.

    For a >= 10 by the Stirling series (Abramowitz & Stegun 1964, eq. 6.1.40; truncation error below
    3e-17); below, from the C library's ln Gamma (:func:`math.lgamma`), where |ln Gamma(a)| < 13 so the
    absolute error stays below 3e-15.
    """
    inv = 1.0 / a
    inv2 = inv * inv
    delta = np.zeros_like(a)
    for c in reversed(_STIRLING):
        delta = delta * inv2 + c
    delta *= inv
    small = a < 10.0
    if small.any():
        s = a[small]
        delta[small] = _LGAMMA(s).astype(float) - ((s - 0.5) * np.log(s) - s + _LN_SQRT_2PI)
    return delta


_LGAMMA = np.frompyfunc(math.lgamma, 1, 1)


def _lgamma(a):
    """ln Gamma(a) for a > 0, vectorised: the Stirling form plus :func:`_stirling_delta`."""
    return (a - 0.5) * np.log(a) - a + _LN_SQRT_2PI + _stirling_delta(a)


def _gamma_power(a, x):
    """x^a e^-x / Gamma(a) = sqrt(a / 2 pi) exp(-a phi(x / a) - delta(a)) (DiDonato & Morris 1986, eq. 14).

    Follows from Stirling's formula Gamma(a) = sqrt(2 pi) a^(a - 1/2) e^-a e^delta(a).
    """
    return np.sqrt(a / (2 * math.pi)) * np.exp(-_a_phi(a, x) - _stirling_delta(a))


def _beta_power(a, b, x, y):
    """x^a y^b / B(a, b) with y = 1 - x given separately, for a, b > 0.

    With n = a + b, x0 = a / n and y0 = b / n, Stirling's formula gives x0^a y0^b / B(a, b) =
    sqrt(a b / (2 pi n)) exp(delta(n) - delta(a) - delta(b)), and (x / x0)^a (y / y0)^b =
    exp(-a phi(n x / a) - b phi(n y / b)) (DiDonato & Morris 1992, sec. 3, function BRCOMP).
    """
    n = a + b
    delta = _stirling_delta(a) + _stirling_delta(b) - _stirling_delta(n)
    return np.sqrt(a * b / (2 * math.pi * n)) * np.exp(-_a_phi(a, n * x) - _a_phi(b, n * y) - delta)


# ---------------------------------------------------------------------------------------------------
# iterations shared by the special functions


# numpy's per-call overhead (~1 us) dominates for a handful of values: below this size the two iterations
# run on Python floats, element by element (same recurrences; ~30x faster for the scalars of the CLI).
_FEW = 8


def _iterate(update, state, params, max_steps):
    """Run ``update`` elementwise until each element has converged; the converged values, in order.

    ``update(n, state, params)`` takes step n (1, 2, ...) on the elements still running and returns the new
    ``state`` (a tuple of arrays), the current values and a mask of the elements that have converged, which
    leave the iteration with their state and ``params``. Elements still running after ``max_steps - 1``
    steps keep their last value.
    """
    out = np.empty_like(state[0])
    idx = np.arange(out.size)
    for n in range(1, max_steps):
        state, value, done = update(n, state, params)
        if done.any():
            out[idx[done]] = value[done]
            keep = ~done
            if not keep.any():
                return out
            idx, state, params = idx[keep], tuple(v[keep] for v in state), tuple(p[keep] for p in params)
    out[idx] = value
    return out


def _nonzero(v):
    """``v`` with 0 replaced by a tiny number (the Lentz algorithm's stand-in for 0), a float or an array."""
    return (v or _TINY) if isinstance(v, float) else np.where(v == 0, _TINY, v)


def _lentz_step(aj, bj, f, c, d):
    """One step of the modified Lentz algorithm (Thompson & Barnett 1986, on floats or arrays): the new
    value f, the new c and d, and whether f has converged (its last factor c d is 1 within ``_CF_TOL``)."""
    d = 1.0 / _nonzero(bj + aj * d)
    c = _nonzero(bj + aj / c)
    ratio = c * d
    return f * ratio, c, d, abs(ratio - 1.0) <= _CF_TOL


def _continued_fraction(b0, terms, params):
    """b0 + a1 / (b1 + a2 / (b2 + ...)) by the modified Lentz algorithm, elementwise.

    ``terms(j, *params)`` returns (a_j, b_j), for arrays or floats. Elements that have converged leave
    the iteration (Lentz 1976; Thompson & Barnett 1986; Press et al. 2007, sec. 5.2).
    """
    if b0.size <= _FEW:
        return np.array([_continued_fraction_one(float(b0[i]), terms, tuple(float(p[i]) for p in params))
                         for i in range(b0.size)])

    def update(j, state, params):
        f, c, d, done = _lentz_step(*terms(j, *params), *state)
        return (f, c, d), f, done

    f = _nonzero(b0)
    return _iterate(update, (f, f, np.zeros_like(f)), params, _MAX_TERMS)


def _continued_fraction_one(b0, terms, params):
    """:func:`_continued_fraction` for one element, on Python floats."""
    f, c, d = b0 or _TINY, b0 or _TINY, 0.0
    for j in range(1, _MAX_TERMS):
        f, c, d, done = _lentz_step(*terms(j, *params), f, c, d)
        if done:
            break
    return f


def _gamma_series(a, x):
    """Sum_{n>=0} x^n / ((a + 1) ... (a + n)), so that P(a, x) = x^a e^-x / Gamma(a + 1) times it.

    Abramowitz & Stegun (1964), eq. 6.5.29. All terms are positive; used for x < a + 1.
    """
    if x.size <= _FEW:
        return np.array([_gamma_series_one(float(a[i]), float(x[i])) for i in range(x.size)])

    def update(n, state, params):
        (total, term), (a, x) = state, params
        term = term * x / (a + n)
        total = total + term
        return (total, term), total, term <= _EPS / 2 * total

    return _iterate(update, (np.ones_like(x), np.ones_like(x)), (a, x), _MAX_TERMS)


_SERIES_LOOP = 128  # _gamma_series_one sums this many terms one by one (enough for small a) ...
_SERIES_BLOCK = 1024  # ... and then this many per numpy block


def _gamma_series_one(a, x):
    """:func:`_gamma_series` for one element, on Python floats.

    The series needs about sqrt(a) terms near x = a (thousands for chi-square quantiles with df = 10^6,
    as in the Q-profile interval of a large meta-analysis): when the first ``_SERIES_LOOP`` terms do not
    reach convergence, the rest are formed a block at a time, each block's terms the running product
    term * cumprod(x / (a + n)), and summed pairwise (the same products as the loop, in fewer calls: ten
    times faster at df = 10^6).
    """
    total = term = 1.0
    for n in range(1, _SERIES_LOOP):
        term *= x / (a + n)
        total += term
        if term <= _EPS / 2 * total:
            return total
    for start in range(_SERIES_LOOP, _MAX_TERMS, _SERIES_BLOCK):
        terms = term * np.cumprod(x / (a + np.arange(start, start + _SERIES_BLOCK)))
        total += float(terms.sum())
        term = float(terms[-1])
        if term <= _EPS / 2 * total:
            break
    return total


def _gamma_cf_terms(j, a, x):
    # Legendre's continued fraction for Gamma(a, x) (Abramowitz & Stegun 1964, eq. 6.5.31, contracted
    # form): Gamma(a, x) = x^a e^-x / (x + 1 - a - 1(1 - a) / (x + 3 - a - 2(2 - a) / (x + 5 - a - ...)))
    return j * (a - j), x + (2 * j + 1) - a


def _beta_cf_terms(j, a, b, x):
    # I_x(a, b) = x^a (1-x)^b / (a B(a, b)) / (1 + d1 / (1 + d2 / (1 + ...))), with
    # d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)), d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
    # (Abramowitz & Stegun 1964, eq. 26.5.8)
    m = j // 2
    if j % 2:
        d = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
    else:
        d = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
    return d, 1.0


# ---------------------------------------------------------------------------------------------------
# the two special functions


def _incgamma(a, x):
    """Regularized incomplete gamma functions P(a, x), Q(a, x) = 1 - P and x^a e^-x / Gamma(a).

    Arrays of equal shape with a > 0 and x >= 0 (x may be inf). The smaller of P and Q is computed
    directly: P by the series (eq. 6.5.29) for x < a + 1, Q by Legendre's continued fraction (eq. 6.5.31)
    otherwise (Abramowitz & Stegun 1964; Press et al. 2007, sec. 6.2; DiDonato & Morris 1986).
    """
    p, q, power = np.zeros_like(x), np.ones_like(x), np.zeros_like(x)
    inside = (x > 0) & np.isfinite(x)
    p[x == np.inf], q[x == np.inf] = 1.0, 0.0
    series = inside & (x < a + 1)
    frac = inside & ~series
    power[inside] = _gamma_power(a[inside], x[inside])
    if series.any():
        aa, xx = a[series], x[series]
        p[series] = power[series] / aa * _gamma_series(aa, xx)
        q[series] = 1.0 - p[series]
    if frac.any():
        aa, xx = a[frac], x[frac]
        q[frac] = power[frac] / _continued_fraction(xx + 1 - aa, _gamma_cf_terms, (aa, xx))
        p[frac] = 1.0 - q[frac]
    return p, q, power


# e_k = B_2k / (2k (2k)!), the coefficients of ln(sinh(v) / v) = sum_k e_k (2v)^2k (Abramowitz & Stegun
# 1964, eq. 4.5.64): exact Bernoulli numbers B_2 ... B_20 (ibid., Table 23.2), then
# B_2k = (-1)^(k+1) 2 (2k)! zeta(2k) / (2 pi)^2k (eq. 23.2.16) with zeta(2k) = sum_m m^-2k, whose
# truncation at m = 59 is far below 1e-17 there.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
              -174611 / 330)
_SINH_LOG = tuple(
    [b2k / (2 * k * math.factorial(2 * k)) for k, b2k in enumerate(_BERNOULLI, start=1)]
    + [(-1) ** (k + 1) * math.fsum(m ** (-2.0 * k) for m in range(1, 60)) / (k * (2 * math.pi) ** (2 * k))
       for k in range(len(_BERNOULLI) + 1, 41)])
_LARGE_A = 20.0  # the expansion in powers of 1/T below is used for a >= this ...
_SMALL_B = 50.0  # ... and b <= this (and b <= a / 4), with x >= 1/e


def _beta_large_a(a, b, y):
    """I_x(a, b) for large a, small b and x = 1 - y >= 1/e, by an expansion in incomplete gamma functions.

    With t = e^-s, t^(a-1) (1 - t)^(b-1) dt = e^(-T s) s^(b-1) g(s) ds where T = a + (b - 1)/2 and
    g(s) = (sinh(s/2) / (s/2))^(b-1) = sum_n c_n s^2n. Integrating term by term from s0 = -ln x,
    I_x(a, b) = Gamma(a + b) / (Gamma(a) T^b) sum_n c_n Gamma(b + 2n, u) / (Gamma(b) T^2n), u = T s0,
    an expansion in powers of 1/T (the idea of DiDonato & Morris 1992, sec. 9, following Temme). The
    continued fraction loses about log10(a I / (x^a y^b / B)) digits here (up to 4 for t with df = 1e4);
    this form has no cancellation. The c_n follow from ln g(s) = (b - 1) sum_k e_k s^2k by the recurrence
    for the exponential of a power series, c_n = (1/n) sum_k k (b - 1) e_k c_(n-k); Gamma(b + k, u) from
    Q(b, u) by Gamma(s + 1, u) = s Gamma(s, u) + u^s e^-u (Abramowitz & Stegun 1964, eq. 6.5.22), scaled
    by T^-k to stay finite.
    """
    t = a + (b - 1) / 2
    s0 = -np.log1p(-y)
    _, q, power = _incgamma(b, t * s0)
    # ln Gamma(a + b) - ln Gamma(a) - b ln T by Stirling's formula, without cancellation
    log_m = ((a - 0.5) * np.log1p(b / a) + b * np.log1p((b + 1) / (2 * t)) - b
             + _stirling_delta(a + b) - _stirling_delta(a))
    h = [(b - 1) * e for e in _SINH_LOG]
    c = [np.ones_like(a)]
    scaled = q  # Gamma(b + k, u) / (Gamma(b) T^k), k = 0
    total = q.copy()
    k = 0
    for n in range(1, len(h) + 1):
        for _ in range(2):
            scaled = (b + k) / t * scaled + power * s0**k / t
            k += 1
        c.append(sum(j * h[j - 1] * c[n - j] for j in range(1, n + 1)) / n)
        term = c[n] * scaled
        total = total + term
        if np.all(np.abs(term) <= _EPS / 2 * np.abs(total)):
            break
    return np.exp(log_m) * total


def _incbeta(a, b, x, y):
    """Regularized incomplete beta I_x(a, b), its complement I_y(b, a) = 1 - I_x(a, b), and x^a y^b / B(a, b).

    Arrays of equal shape with a, b > 0, 0 <= x <= 1 and y = 1 - x supplied by the caller (computed
    without cancellation). The smaller of the two is computed directly, the other as its complement
    (DiDonato & Morris 1992):

    * when one parameter is large (>= 20), the other small, the large one's variable is >= 1/e and
      the tail is below about 1/2 (u > b in :func:`_beta_large_a`), by :func:`_beta_large_a`;
    * otherwise by the continued fraction (Abramowitz & Stegun 1964, eq. 26.5.8), for I_x(a, b) when
      x < (a + 1) / (a + b + 2) and for I_y(b, a) beyond (symmetry, eq. 6.6.3), where it converges
      fast (Press et al. 2007, sec. 6.4).
    """
    lower, upper, power = np.zeros_like(x), np.ones_like(x), np.zeros_like(x)
    lower[y == 0], upper[y == 0] = 1.0, 0.0
    inside = (x > 0) & (y > 0)
    power[inside] = _beta_power(a[inside], b[inside], x[inside], y[inside])
    with np.errstate(divide="ignore", invalid="ignore"):
        expand_a = (inside & (a >= _LARGE_A) & (b <= np.minimum(_SMALL_B, a / 4)) & (y <= 1 - math.exp(-1))
                    & (-(a + (b - 1) / 2) * np.log1p(-y) > b))
        expand_b = (inside & (b >= _LARGE_A) & (a <= np.minimum(_SMALL_B, b / 4)) & (x <= 1 - math.exp(-1))
                    & (-(b + (a - 1) / 2) * np.log1p(-x) > a))
    if expand_a.any():
        lower[expand_a] = _beta_large_a(a[expand_a], b[expand_a], y[expand_a])
        upper[expand_a] = 1.0 - lower[expand_a]
    if expand_b.any():
        upper[expand_b] = _beta_large_a(b[expand_b], a[expand_b], x[expand_b])
        lower[expand_b] = 1.0 - upper[expand_b]
    rest = inside & ~expand_a & ~expand_b
    direct = rest & (x * (a + b + 2) < a + 1)
    swapped = rest & ~direct
    if direct.any():
        aa, bb, xx = a[direct], b[direct], x[direct]
        fraction = _continued_fraction(np.ones_like(xx), _beta_cf_terms, (aa, bb, xx))
        lower[direct] = power[direct] / (aa * fraction)
        upper[direct] = 1.0 - lower[direct]
    if swapped.any():
        aa, bb, yy = a[swapped], b[swapped], y[swapped]
        fraction = _continued_fraction(np.ones_like(yy), _beta_cf_terms, (bb, aa, yy))
        upper[swapped] = power[swapped] / (bb * fraction)
        lower[swapped] = 1.0 - upper[swapped]
    return lower, upper, power


def _ratio_to_unit(r):
    """w = r / (1 + r) and 1 - w = 1 / (1 + r) for r >= 0 (r may be inf), without cancellation or overflow."""
    with np.errstate(divide="ignore", invalid="ignore"):
        small = r <= 1
        inv = 1.0 / r
        w = np.where(small, r / (1 + r), 1.0 / (1 + inv))
        v = np.where(small, 1.0 / (1 + r), inv / (1 + inv))
    return w, v


# ---------------------------------------------------------------------------------------------------
# normal


def _erfc(z):
    """Complementary error function, elementwise via :func:`math.erfc` (the C library's erfc)."""
    return _ERFC(z).astype(float)


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def norm_cdf(x):
    """Standard normal distribution function Phi(x) = erfc(-x / sqrt 2) / 2.

    Abramowitz & Stegun (1964), eqs. 26.2.2 and 7.1.2. Relative accuracy is kept in the lower tail.
    """
    (x,), shape, scalar = _broadcast(x)
    return _result(0.5 * _erfc(-x * _SQRT1_2), shape, scalar)


def norm_sf(x):
    """Standard normal upper tail 1 - Phi(x) = erfc(x / sqrt 2) / 2, computed directly (no 1 - cdf)."""
    (x,), shape, scalar = _broadcast(x)
    return _result(0.5 * _erfc(x * _SQRT1_2), shape, scalar)


# Wichura (1988), Algorithm AS 241 (PPND16): coefficients of the three rational approximations,
# highest power first. Each tuple's sum is the "hash sum" printed with it in the paper.
_AS241_A = (2.5090809287301226727e3, 3.3430575583588128105e4, 6.7265770927008700853e4,
            4.5921953931549871457e4, 1.3731693765509461125e4, 1.9715909503065514427e3,
            1.3314166789178437745e2, 3.3871328727963666080e0)
_AS241_B = (5.2264952788528545610e3, 2.8729085735721942674e4, 3.9307895800092710610e4,
            2.1213794301586595867e4, 5.3941960214247511077e3, 6.8718700749205790830e2,
            4.2313330701600911252e1, 1.0)
_AS241_C = (7.74545014278341407640e-4, 2.27238449892691845833e-2, 2.41780725177450611770e-1,
            1.27045825245236838258e0, 3.64784832476320460504e0, 5.76949722146069140550e0,
            4.63033784615654529590e0, 1.42343711074968357734e0)
_AS241_D = (1.05075007164441684324e-9, 5.47593808499534494600e-4, 1.51986665636164571966e-2,
            1.48103976427480074590e-1, 6.89767334985100004550e-1, 1.67638483018380384940e0,
            2.05319162663775882187e0, 1.0)
_AS241_E = (2.01033439929228813265e-7, 2.71155556874348757815e-5, 1.24266094738807843860e-3,
            2.65321895265761230930e-2, 2.96560571828504891230e-1, 1.78482653991729133580e0,
            5.46378491116411436990e0, 6.65790464350110377720e0)
_AS241_F = (2.04426310338993978564e-15, 1.42151175831644588870e-7, 1.84631831751005468180e-5,
            7.86869131145613259100e-4, 1.48753612908506148525e-2, 1.36929880922735805310e-1,
            5.99832206555887937690e-1, 1.0)


def _horner(coefs, r):
    acc = np.zeros_like(r)
    for c in coefs:
        acc = acc * r + c
    return acc


def norm_ppf(p):
    """Standard normal quantile by Wichura's (1988) Algorithm AS 241 (PPND16), about 1e-16 relative.

    A rational approximation in q = p - 1/2 for |q| <= 0.425, otherwise in r = sqrt(-ln min(p, 1 - p)),
    one for r <= 5 and one beyond (valid down to min(p, 1 - p) = 1e-300). ``p`` = 0 and 1 give -inf and
    inf, p outside [0, 1] gives NaN.
    """
    (p,), shape, scalar = _broadcast(p)
    q = p - 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        rc = 0.180625 - q * q
        central = q * _horner(_AS241_A, rc) / _horner(_AS241_B, rc)
        r = np.sqrt(-np.log(np.minimum(p, 1.0 - p)))
        near = _horner(_AS241_C, r - 1.6) / _horner(_AS241_D, r - 1.6)
        far = _horner(_AS241_E, r - 5.0) / _horner(_AS241_F, r - 5.0)
        tail = np.copysign(np.where(r <= 5.0, near, far), q)
    out = np.where(np.abs(q) <= 0.425, central, tail)
    out = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, out))
    out[~((p >= 0) & (p <= 1))] = np.nan
    return _result(out, shape, scalar)


# ---------------------------------------------------------------------------------------------------
# Student t


def _t_tails(x, df):
    """P(T <= x), P(T > x) and x * density for Student's t, flat arrays, df > 0 (inf allowed).

    For x > 0, P(T > x) = I_z(df/2, 1/2) / 2 with z = df / (df + x^2) (Abramowitz & Stegun 1964,
    eq. 26.7.1 with 26.5.27); z and 1 - z are formed from r = x^2 / df without cancellation, and
    x * density = z^(df/2) (1 - z)^(1/2) / B(df/2, 1/2). df = inf gives the normal distribution.
    """
    lower, upper, xpdf = (np.full_like(x, np.nan) for _ in range(3))
    ok = ~np.isnan(x) & (df > 0)
    normal = ok & (df == np.inf)
    if normal.any():
        xn = x[normal]
        lower[normal], upper[normal] = norm_cdf(xn), norm_sf(xn)
        xpdf[normal] = xn * np.exp(-0.5 * xn * xn) / math.sqrt(2 * math.pi)
    beta = ok & ~normal
    if beta.any():
        xb, half = x[beta], df[beta] / 2
        with np.errstate(over="ignore"):
            r = (xb / df[beta]) * xb  # x^2 / df, inf when it overflows
        y, z = _ratio_to_unit(r)
        two_tail, central, power = _incbeta(half, np.full_like(half, 0.5), z, y)
        small_side, large_side = 0.5 * two_tail, 0.5 + 0.5 * central
        positive = xb > 0
        upper[beta] = np.where(positive, small_side, large_side)
        lower[beta] = np.where(positive, large_side, small_side)
        xpdf[beta] = np.copysign(power, xb)
    return lower, upper, xpdf


def t_cdf(x, df):
    """Student t distribution function P(T <= x) for df > 0 (non-integer allowed; inf gives the normal)."""
    return _tail(_t_tails, 0, x, df)


def t_sf(x, df):
    """Student t upper tail P(T > x), computed directly; see :func:`_t_tails`."""
    return _tail(_t_tails, 1, x, df)


# ---------------------------------------------------------------------------------------------------
# quantiles: safeguarded Newton on the log tail probability

_MAX_NEWTON = 100


def _solve_log_tail(log_tail, target, s, params, increasing):
    """Solve ``log_tail(s, *params)[0] == target`` for s = ln x, elementwise.

    ``log_tail`` returns the log tail probability and its derivative in s (x times the density over the
    tail probability, with a sign), and is monotone in s: increasing where ``increasing`` is True (lower
    tails), decreasing otherwise. Newton steps in s = ln x are well scaled for every tail shape here
    (power-law tails are straight lines in it). Each evaluation narrows a bracket around the root; a step
    that leaves the bracket is replaced by bisection, or, while the bracket is open on one side, by a move
    of at most e^5 towards the root. Stops when the Newton correction is below 1e-14 (relative in x),
    after which the error is quadratically smaller. ``s`` is the starting point.
    """

    def update(_, state, params):
        (s, lo, hi), (target, increasing, *rest) = state, params
        value, slope = log_tail(s, *rest)
        g = value - target
        above = (g < 0) == increasing  # the root lies above s
        lo, hi = np.where(above, s, lo), np.where(above, hi, s)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.where(g == 0, 0.0, -g / slope)
        done = np.abs(step) <= 1e-14 * np.maximum(1.0, np.abs(s))
        new = s + step
        outside = ~done & (~np.isfinite(new) | (new <= lo) | (new >= hi))
        bracketed = np.isfinite(lo) & np.isfinite(hi)
        new = np.where(outside & bracketed, 0.5 * (lo + hi), new)
        s = np.where(outside & ~bracketed, s + np.where(above, 5.0, -5.0), new)
        return (s, lo, hi), s, done

    bounds = (np.full_like(s, -np.inf), np.full_like(s, np.inf))
    return _iterate(update, (s, *bounds), (target, increasing, *params), _MAX_NEWTON + 1)


def _best_start(log_tail, target, candidates, params, increasing):
    """Of several starting values for :func:`_solve_log_tail`, the one whose log tail is nearest target."""
    best, best_gap = np.zeros_like(target), np.full_like(target, np.inf)
    for s in candidates:
        with np.errstate(all="ignore"):
            finite = np.isfinite(s)
            s = np.where(finite, s, 0.0)
            gap = np.abs(log_tail(s, *params)[0] - target)
            better = finite & (gap < best_gap)
        best, best_gap = np.where(better, s, best), np.where(better, gap, best_gap)
    return best


def _quantile_setup(p):
    """The tail to invert for each p: (target log probability, lower-tail flag, p in (0, 1) mask)."""
    lower = p <= 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.log(np.where(lower, p, 1.0 - p))  # 1 - p is exact for p >= 1/2
    return target, lower, (p > 0) & (p < 1)


def _t_log_upper(s, df):
    with np.errstate(over="ignore"):
        _, upper, xpdf = _t_tails(np.exp(s), df)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(upper), -xpdf / upper


def t_ppf(p, df):
    """Student t quantile for df > 0 (non-integer allowed; inf gives the normal quantile).

    Solves P(T > x) = min(p, 1 - p) for x > 0 with :func:`_solve_log_tail`, from the better of two starts:
    the Cornish-Fisher expansion about the normal quantile z, x = z + (z^3 + z) / (4 df) +
    (5z^5 + 16z^3 + 3z) / (96 df^2) + (3z^7 + 19z^5 + 17z^3 - 15z) / (384 df^3) (Abramowitz & Stegun
    1964, eq. 26.7.5), and the power-law tail P(T > x) ~ c df^((df - 1)/2) x^-df with
    c = Gamma((df + 1)/2) / (sqrt(df pi) Gamma(df/2)) (from the density, eq. 26.7.1).
    """
    (p, df), shape, scalar = _broadcast(p, df)
    out = np.full_like(p, np.nan)
    ok = (p >= 0) & (p <= 1) & (df > 0)
    out[ok & (p == 0)], out[ok & (p == 1)], out[ok & (p == 0.5)] = -np.inf, np.inf, 0.0
    normal = ok & (df == np.inf)
    out[normal] = norm_ppf(p[normal])
    solve = ok & ~normal & (p > 0) & (p < 1) & (p != 0.5)
    if solve.any():
        pp, nu = p[solve], df[solve]
        q = np.minimum(pp, 1.0 - pp)
        target = np.log(q)
        z = -norm_ppf(q)
        z2 = z * z
        cornish_fisher = z * (1 + (z2 + 1) / (4 * nu) + ((5 * z2 + 16) * z2 + 3) / (96 * nu**2)
                              + (((3 * z2 + 19) * z2 + 17) * z2 - 15) / (384 * nu**3))
        log_c = _lgamma((nu + 1) / 2) - _lgamma(nu / 2) - 0.5 * np.log(nu * math.pi)
        power_tail = (log_c + 0.5 * (nu - 1) * np.log(nu) - target) / nu
        with np.errstate(invalid="ignore", divide="ignore"):
            starts = (np.log(cornish_fisher), power_tail)
        decreasing = np.zeros(q.shape, dtype=bool)
        s0 = _best_start(_t_log_upper, target, starts, (nu,), decreasing)
        x = np.exp(_solve_log_tail(_t_log_upper, target, s0, (nu,), decreasing))
        out[solve] = np.where(pp < 0.5, -x, x)
    return _result(out, shape, scalar)


# ---------------------------------------------------------------------------------------------------
# chi-square


def _chi2_tails(x, df):
    """P(X <= x), P(X > x) and x * density for the chi-square distribution: P(df/2, x/2), Q(df/2, x/2).

    Abramowitz & Stegun (1964), eq. 26.4.19; flat arrays. x < 0 gives (0, 1), df <= 0 or inf gives NaN.
    """
    lower, upper, xpdf = (np.full_like(x, np.nan) for _ in range(3))
    ok = ~np.isnan(x) & (df > 0) & (df < np.inf)
    lower[ok], upper[ok], xpdf[ok] = _incgamma(df[ok] / 2, np.maximum(x[ok], 0.0) / 2)
    return lower, upper, xpdf


def chi2_cdf(x, df):
    """Chi-square distribution function P(X <= x) for df > 0 (non-integer allowed)."""
    return _tail(_chi2_tails, 0, x, df)


def chi2_sf(x, df):
    """Chi-square upper tail P(X > x), computed directly; see :func:`_incgamma`."""
    return _tail(_chi2_tails, 1, x, df)


def _chi2_log_tail(s, df, lower):
    with np.errstate(over="ignore"):
        low, up, xpdf = _chi2_tails(np.exp(s), df)
    tail = np.where(lower, low, up)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(tail), np.where(lower, xpdf, -xpdf) / tail


def chi2_ppf(p, df):
    """Chi-square quantile for df > 0 (non-integer allowed).

    Inverts the smaller tail (P for p <= 1/2, Q = 1 - p otherwise) with :func:`_solve_log_tail`, from
    the better of the Wilson & Hilferty (1931) start x = df (1 - 2/(9 df) + z sqrt(2/(9 df)))^3
    (Abramowitz & Stegun 1964, eq. 26.4.17) and the leading term of the lower-tail series,
    x = 2 (p Gamma(df/2 + 1))^(2/df) (eq. 6.5.29).
    """
    (p, df), shape, scalar = _broadcast(p, df)
    out = np.full_like(p, np.nan)
    ok = (p >= 0) & (p <= 1) & (df > 0) & (df < np.inf)
    out[ok & (p == 0)], out[ok & (p == 1)] = 0.0, np.inf
    target, lower, inside = _quantile_setup(p)
    solve = ok & inside
    if solve.any():
        pp, nu, tt, low = p[solve], df[solve], target[solve], lower[solve]
        h = 2 / (9 * nu)
        with np.errstate(invalid="ignore", divide="ignore"):
            wilson_hilferty = np.log(nu) + 3 * np.log(1 - h + norm_ppf(pp) * np.sqrt(h))
        series = math.log(2) + 2 * (np.log(pp) + _lgamma(nu / 2 + 1)) / nu
        s0 = _best_start(_chi2_log_tail, tt, (wilson_hilferty, series), (nu, low), low)
        out[solve] = np.exp(_solve_log_tail(_chi2_log_tail, tt, s0, (nu, low), low))
    return _result(out, shape, scalar)


# ---------------------------------------------------------------------------------------------------
# F


def _f_tails(x, dfn, dfd):
    """P(F <= x), P(F > x) and x * density for the F distribution, flat arrays.

    P(F <= x) = I_w(dfn/2, dfd/2) with w = dfn x / (dfn x + dfd) (Abramowitz & Stegun 1964, eq. 26.6.2
    with 26.5.28); w and 1 - w are formed from r = dfn x / dfd without cancellation, and x * density =
    w^(dfn/2) (1 - w)^(dfd/2) / B(dfn/2, dfd/2). x < 0 gives (0, 1); df <= 0 or inf gives NaN.
    """
    lower, upper, xpdf = (np.full_like(x, np.nan) for _ in range(3))
    ok = ~np.isnan(x) & (dfn > 0) & (dfn < np.inf) & (dfd > 0) & (dfd < np.inf)
    if ok.any():
        with np.errstate(over="ignore"):
            w, v = _ratio_to_unit(np.maximum(x[ok], 0.0) * (dfn[ok] / dfd[ok]))
        lower[ok], upper[ok], xpdf[ok] = _incbeta(dfn[ok] / 2, dfd[ok] / 2, w, v)
    return lower, upper, xpdf


def f_cdf(x, dfn, dfd):
    """F distribution function P(F <= x) for dfn, dfd > 0 (non-integer allowed)."""
    return _tail(_f_tails, 0, x, dfn, dfd)


def f_sf(x, dfn, dfd):
    """F upper tail P(F > x) = I_{1-w}(dfd/2, dfn/2), computed directly; see :func:`_f_tails`."""
    return _tail(_f_tails, 1, x, dfn, dfd)
