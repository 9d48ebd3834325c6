"""commonfactors._distributions: the hand-written normal, t, chi-square and F functions.

Three kinds of reference:

* scipy.stats (an oracle on wide grids; tests may import scipy, the package path may not);
* closed forms (t with df = 1 and 2, chi-square with df = 2, F with (1, 1) and (2, d)): identities;
* high-precision values pinned below, computed with mpmath 1.3.0 at 60 digits (the exact call is given
  beside each; R 4.2's pt/pchisq/pf agree with them to 1e-13), for far tails down to 1e-300 and for
  points where scipy itself is off.
"""

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats as st

from commonfactors import _distributions as D
from tolerances import IDENTITY_RTOL, SCIPY_RTOL

#: scipy's F functions lose digits near underflow (1e-9 relative at 6.7e-296 against mpmath)
SCIPY_SMALLEST = 1e-280

DFS = [0.5, 1, 2, 2.28, 3, 5, 7.5, 12, 30, 100, 1e4]
X_T = np.concatenate([-np.logspace(-8, 3, 111)[::-1], [0.0], np.logspace(-8, 3, 111)])
X_POS = np.logspace(-10, 4, 141)
_TAIL = np.logspace(-12, math.log10(0.49), 40)
P_GRID = np.concatenate([_TAIL, [0.5], 1 - _TAIL[::-1]])


def assert_close(got, expected, rtol, smallest=0.0):
    """Relative agreement where the expected value exceeds ``smallest``; equal zeros and infinities match."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape
    use = np.abs(expected) > smallest
    both_exact = (got == expected) | (np.isnan(got) & np.isnan(expected))
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(both_exact, 0.0, np.abs(got - expected) / np.abs(expected))
    err = np.where(use, err, 0.0).ravel()
    worst = int(np.argmax(err))
    where = f"at index {worst}: {got.flat[worst]!r} vs {expected.flat[worst]!r}"
    assert err[worst] <= rtol, f"relative error {err[worst]:.3g} {where}"


# --------------------------------------------------------------------------------------------------
# against scipy.stats on grids


def test_normal_matches_scipy():
    x = np.linspace(-38.5, 38.5, 1541)
    assert_close(D.norm_cdf(x), st.norm.cdf(x), IDENTITY_RTOL)
    assert_close(D.norm_sf(x), st.norm.sf(x), IDENTITY_RTOL)
    p = np.concatenate([np.logspace(-300, -1, 300), P_GRID])
    assert_close(D.norm_ppf(p), st.norm.ppf(p), IDENTITY_RTOL)
    assert_close(D.norm_ppf(1 - p[p > 1e-16]), st.norm.ppf(1 - p[p > 1e-16]), IDENTITY_RTOL)


@pytest.mark.parametrize("df", [*DFS, np.inf])
def test_t_matches_scipy(df):
    x = X_T if df != 1 else X_T[np.abs(X_T) > 1e-4]  # scipy's Cauchy is off near 0: closed form below
    assert_close(D.t_sf(x, df), st.t.sf(x, df), SCIPY_RTOL, SCIPY_SMALLEST)
    assert_close(D.t_cdf(x, df), st.t.cdf(x, df), SCIPY_RTOL, SCIPY_SMALLEST)
    assert_close(D.t_ppf(P_GRID, df), st.t.ppf(P_GRID, df), SCIPY_RTOL)


@pytest.mark.parametrize("df", DFS)
def test_chi2_matches_scipy(df):
    assert_close(D.chi2_sf(X_POS, df), st.chi2.sf(X_POS, df), SCIPY_RTOL, SCIPY_SMALLEST)
    assert_close(D.chi2_cdf(X_POS, df), st.chi2.cdf(X_POS, df), SCIPY_RTOL, SCIPY_SMALLEST)
    assert_close(D.chi2_ppf(P_GRID, df), st.chi2.ppf(P_GRID, df), SCIPY_RTOL)


# mpmath 1.3.0, mp.dps = 60: the smaller tail at x = df + z sqrt(2 df), from
# up = gammainc(mpf(df)/2, mpf(x)/2, inf, regularized=True) (lower tail 1 - up for z <= 0). scipy 1.17's
# lower tail is off here (2.78274e-07 for df = 4e6, z = -5: 2.4e-4 relative).
LARGE_DF_TAILS = {  # (df, z): smaller tail
    (1e4, -5): 1.5421442986800218e-07, (1e4, -1.96): 0.0242088994560436, (1e4, 0): 0.5018806340338173,
    (1e4, 1.96): 0.025774496435328743, (1e4, 5): 5.004281552203562e-07,
    (999_999.0, -5): 2.702302714195398e-07, (999_999.0, -1.96): 0.024919548996639233,
    (999_999.0, 0): 0.5001880632906371, (999_999.0, 1.96): 0.02507611731461174,
    (999_999.0, 5): 3.038807135971021e-07,
    (4e6, -5): 2.783417783833972e-07, (4e6, -1.96): 0.024958737573966973, (4e6, 0): 0.5000940315975192,
    (4e6, 1.96): 0.025037021726131266, (4e6, 5): 2.9516331495397616e-07,
}


@pytest.mark.parametrize(("df", "z"), list(LARGE_DF_TAILS))
def test_chi2_scalars_with_large_df_match_mpmath(df, z):
    """One value at a time near the mode (the series then runs in numpy blocks: ``_gamma_series_one``), as
    the Q-profile interval of a meta-analysis with k = 10^6 studies asks for them; and the quantile of
    that tail probability returns x."""
    x, tail = df + z * math.sqrt(2 * df), LARGE_DF_TAILS[df, z]
    got = D.chi2_cdf(x, df) if z <= 0 else D.chi2_sf(x, df)
    assert_close(got, tail, IDENTITY_RTOL)
    assert_close(D.chi2_ppf(tail if z <= 0 else 1 - tail, df), x, IDENTITY_RTOL)


@pytest.mark.parametrize("dfn", DFS)
def test_f_matches_scipy(dfn):
    for dfd in DFS:
        if dfn == dfd == 1:
            continue  # scipy's F(1, 1) is off by up to 4e-12 near 0: checked against the closed form below
        assert_close(D.f_sf(X_POS, dfn, dfd), st.f.sf(X_POS, dfn, dfd), SCIPY_RTOL, SCIPY_SMALLEST)
        assert_close(D.f_cdf(X_POS, dfn, dfd), st.f.cdf(X_POS, dfn, dfd), SCIPY_RTOL, SCIPY_SMALLEST)


# --------------------------------------------------------------------------------------------------
# closed forms (identities)


def test_t_df1_is_cauchy_and_df2_closed_form():
    x = X_T
    # Cauchy: P(T > x) = 1/2 - atan(x) / pi, written without cancellation as atan2(1, x) / pi
    assert_close(D.t_sf(x, 1.0), np.arctan2(1.0, x) / np.pi, IDENTITY_RTOL)
    # df = 2: P(T > x) = (1 - x / sqrt(2 + x^2)) / 2 = 1 / (sqrt(2 + x^2) (sqrt(2 + x^2) + x)) for x > 0
    pos = x[x > 0]
    root = np.sqrt(2 + pos**2)
    assert_close(D.t_sf(pos, 2.0), 1 / (root * (root + pos)), IDENTITY_RTOL)
    p = np.concatenate([np.logspace(-12, -1, 23), [0.3, 0.7]])
    assert_close(D.t_ppf(p, 1.0), np.where(p < 0.5, -1 / np.tan(np.pi * p), 1 / np.tan(np.pi * (1 - p))),
                 IDENTITY_RTOL)
    assert_close(D.t_ppf(p, 2.0), (2 * p - 1) / np.sqrt(2 * p * (1 - p)), IDENTITY_RTOL)


def test_chi2_df2_is_exponential():
    assert_close(D.chi2_sf(X_POS[X_POS < 1400], 2.0), np.exp(-X_POS[X_POS < 1400] / 2), IDENTITY_RTOL)
    assert_close(D.chi2_cdf(X_POS, 2.0), -np.expm1(-X_POS / 2), IDENTITY_RTOL)
    p = np.logspace(-12, -0.01, 30)
    assert_close(D.chi2_ppf(p, 2.0), -2 * np.log1p(-p), IDENTITY_RTOL)


def test_f_closed_forms():
    x = X_POS
    # F(1, 1): P(F <= x) = (2 / pi) atan(sqrt x)
    assert_close(D.f_cdf(x, 1.0, 1.0), 2 / np.pi * np.arctan(np.sqrt(x)), IDENTITY_RTOL)
    # F(2, d): P(F > x) = (1 + 2x / d)^(-d / 2)
    for d in (0.5, 2.28, 12.0, 1e4):
        expected = np.exp(-d / 2 * np.log1p(2 * x / d))
        assert_close(D.f_sf(x, 2.0, d), expected, IDENTITY_RTOL, 1e-300)


# --------------------------------------------------------------------------------------------------
# far tails and scipy's weak spots, against pinned high-precision values

# mpmath 1.3.0, mp.dps = 60; t: betainc(df/2, 1/2, 0, df/(df + x^2), regularized=True)/2 (lower tail for
# x < 0), chi2: gammainc(df/2, x/2, inf | 0, x/2, regularized=True), F upper tail: betainc(dfd/2, dfn/2, 0,
# dfd/(dfn x + dfd), regularized=True), F lower tail: betainc(dfn/2, dfd/2, 0, dfn x/(dfn x + dfd), ...),
# normal: erfc(x/sqrt(2))/2.
PINNED = [
    ("norm_sf", (37.0,), 5.7255712225245768e-300),  # erfc(37/sqrt(2))/2; R pnorm(37, lower.tail=FALSE)
    ("norm_cdf", (-10.5,), 4.3190063178092303e-26),  # R pnorm(-10.5)
    ("t_sf", (1e100, 3.0), 1.102657790843584e-300),  # R pt(1e100, 3, lower.tail=FALSE)
    ("t_cdf", (-1e130, 2.28), 2.4190999537547316e-297),  # R pt(-1e130, 2.28)
    ("t_sf", (35.0, 1e4), 1.411959458717138e-253),  # R pt(35, 1e4, lower.tail=FALSE)
    ("t_cdf", (-1.9563983435170649, 1e4), 0.025223020403077917),  # scipy: 8e-16 off; the CF alone: 7e-13
    ("t_cdf", (-8.0, 0.5), 0.1132525464037893),  # R pt(-8, 0.5)
    ("t_cdf", (-12.0, 2.28), 0.0020756622242609187),  # R pt(-12, 2.28)
    ("t_sf", (1e-8, 1.0), 0.49999999681690114),  # scipy: 3e-9 off
    ("chi2_sf", (1350.0, 3.0), 2.0828260653158913e-292),  # R pchisq(1350, 3, lower.tail=FALSE)
    ("chi2_cdf", (1e-120, 5.0), 5.3192304053524354e-302),  # R pchisq(1e-120, 5)
    ("f_sf", (1e150, 3.0, 4.0), 3.3333333333333335e-300),  # R pf(1e150, 3, 4, lower.tail=FALSE)
    ("f_cdf", (1e-80, 7.5, 2.28), 1.1398686591958469e-298),  # R pf(1e-80, 7.5, 2.28)
    ("f_sf", (20.0, 12.0, 1e4), 6.0962492455139007e-44),  # R pf(20, 12, 1e4, lower.tail=FALSE)
    ("f_sf", (30.0, 2.28, 100.0), 7.8866437671278338e-12),  # R pf(30, 2.28, 100, lower.tail=FALSE)
    ("f_sf", (50.77917243205383, 30.0, 1e4), 4.581411380225785e-280),  # scipy: 5e-5 off
    ("f_cdf", (1.995262314968883e-07, 100.0, 30.0), 6.665803854263835e-296),  # scipy: 1.3e-9 off
    ("f_cdf", (1.584893192461114e-07, 100.0, 30.0), 6.665861960235103e-301),  # scipy: 2.8e-4 off
    ("f_sf", (5.277254352483532, 0.5, 1e4), 0.042875875697575394),  # large b, small a
]


@pytest.mark.parametrize(("name", "args", "expected"), PINNED, ids=[f"{n}{a}" for n, a, _ in PINNED])
def test_far_tails_and_hard_points_match_high_precision(name, args, expected):
    got = getattr(D, name)(*args)
    assert got == pytest.approx(expected, rel=IDENTITY_RTOL, abs=0)


# --------------------------------------------------------------------------------------------------
# round trips and structure


@pytest.mark.parametrize("df", DFS)
def test_quantiles_invert_the_tails_down_to_1e_300(df):
    # x -> tail probability -> x: well conditioned in the tails (d ln x / d ln p = p / (x f(x)) <= 1 there),
    # so this checks the quantiles far beyond scipy's grid, wherever the probability is a normal double
    def check(ppf, cdf, x):
        p = cdf(x)
        keep = (p > 1e-300) & (p < 0.5)
        assert keep.sum() >= 10
        assert_close(ppf(p[keep]), x[keep], IDENTITY_RTOL)

    grid = np.concatenate([np.logspace(-250, -1, 500), np.linspace(0.1, 2, 500)])
    check(lambda p: D.t_ppf(p, df), lambda x: D.t_cdf(x, df), -np.concatenate([1 / grid, grid[grid >= 0.1]]))
    check(lambda p: D.chi2_ppf(p, df), lambda x: D.chi2_cdf(x, df), df * grid)


def test_as241_coefficients_match_the_papers_hash_sums():
    # Wichura (1988) prints, for each region, the sum of the coefficients' mantissas (the constant 1 of each
    # denominator excluded): a check on every digit typed in
    def hash_sum(*groups):
        return sum(c / 10 ** math.floor(math.log10(c)) for g in groups for c in g if c != 1.0)

    assert hash_sum(D._AS241_A, D._AS241_B) == pytest.approx(55.8831928806149014439, rel=1e-15)
    assert hash_sum(D._AS241_C, D._AS241_D) == pytest.approx(49.33206503301610289036, rel=1e-15)
    assert hash_sum(D._AS241_E, D._AS241_F) == pytest.approx(47.52583317549289671629, rel=1e-15)


def test_scalar_and_array_paths_agree():
    # a handful of values runs on Python floats, more on numpy arrays: the same recurrences
    x = np.array([0.3, 1.7, 2.5, 4.0, 9.0, 30.0, 60.0, 150.0, 400.0])
    for df in (0.5, 2.28, 12.0, 100.0, 1e4):
        scalar = [(D.t_sf(v, df), D.chi2_sf(v, df), D.f_cdf(v / 10, 3.0, df)) for v in x]
        arrays = np.column_stack([D.t_sf(x, df), D.chi2_sf(x, df), D.f_cdf(x / 10, 3.0, df)])
        assert_close(np.array(scalar), arrays, 1e-14)


def test_types_shapes_and_broadcasting():
    assert type(D.t_sf(2.0, 5)) is float
    assert type(D.norm_ppf(np.float64(0.3))) is float
    assert isinstance(D.t_sf([2.0], 5), np.ndarray)
    out = D.t_sf(np.ones((2, 1)), np.array([1.0, 2.0, 3.0]))
    assert out.shape == (2, 3)
    assert D.f_sf(np.zeros((0,)), 2, 3).shape == (0,)
    for name, args in [("norm_cdf", ()), ("norm_sf", ()), ("norm_ppf", ()), ("t_cdf", (3,)), ("t_sf", (3,)),
                       ("t_ppf", (3,)), ("chi2_cdf", (3,)), ("chi2_sf", (3,)), ("chi2_ppf", (3,)),
                       ("f_cdf", (3, 4)), ("f_sf", (3, 4))]:
        value = 0.3 if name.endswith("ppf") else 1.2
        arr = getattr(D, name)(np.full((2, 2), value), *args)
        assert arr.shape == (2, 2) and np.all(arr == getattr(D, name)(value, *args)), name


def test_nan_domain_and_edges():
    nan, inf = np.nan, np.inf
    for got in (D.norm_cdf(nan), D.t_sf(nan, 3), D.t_sf(1, nan), D.t_sf(1, 0), D.t_sf(1, -2),
                D.chi2_sf(nan, 3), D.chi2_sf(1, 0), D.chi2_sf(1, inf), D.f_sf(1, nan, 3), D.f_sf(1, 2, inf),
                D.norm_ppf(nan), D.norm_ppf(1.5), D.t_ppf(-0.1, 3), D.chi2_ppf(1.1, 3)):
        assert math.isnan(got)
    assert D.t_sf(inf, 3) == 0 and D.t_cdf(inf, 3) == 1 and D.t_sf(0, 2.28) == 0.5
    assert D.chi2_sf(-1, 3) == 1 and D.chi2_cdf(-1, 3) == 0 and D.chi2_sf(inf, 3) == 0
    assert D.f_sf(-1, 2, 3) == 1 and D.f_cdf(0, 2, 3) == 0 and D.f_sf(inf, 2, 3) == 0
    assert (D.t_ppf(0, 3), D.t_ppf(1, 3), D.t_ppf(0.5, 3)) == (-inf, inf, 0.0)
    assert (D.chi2_ppf(0, 3), D.chi2_ppf(1, 3)) == (0.0, inf)
    assert (D.norm_ppf(0), D.norm_ppf(1)) == (-inf, inf)
    # df = inf is the normal distribution
    assert D.t_sf(2.5, inf) == D.norm_sf(2.5) and D.t_ppf(0.975, inf) == D.norm_ppf(0.975)


def test_import_does_not_load_scipy():
    code = ("import sys, commonfactors._distributions\n"
            "print(sorted(m for m in sys.modules if m.startswith('scipy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
