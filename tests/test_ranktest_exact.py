"""Begg's rank test with the exact null distribution of Kendall's S at k >= 50 without ties, as metafor
3.8-1's ranktest (R's cor.test(exact = TRUE)): numbers from tests/reference/ranktest.R (ranktest.json)."""

import math
from fractions import Fraction

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.models.bias import EXACT_KENDALL_MAX_K, _kendall_exact_pval
from reference import load

CASES = load("ranktest")["cases"]
#: the p-value is a sum of probabilities computed in floating point (k steps of cumulative sums)
EXACT_RTOL = 1e-10


def _exact_by_counts(s: int, k: int) -> float:
    """Twice the smaller tail of the number of concordant pairs T = (S + k(k-1)/2) / 2, from the counts of
    permutations of k elements by number of inversions, in integers (Kendall, 1970, ch. 5)."""
    n0 = k * (k - 1) // 2
    t = (s + n0) // 2
    t = min(t, n0 - t)
    counts = [1]
    for n in range(2, k + 1):
        cum = [0]
        for c in counts:
            cum.append(cum[-1] + c)
        counts = [cum[min(i, len(counts) - 1) + 1] - cum[max(i - n + 1, 0)]
                  for i in range(min(len(counts) + n - 1, t + 1))]
    return min(1.0, float(2 * Fraction(sum(counts), math.factorial(k))))


@pytest.mark.parametrize("case", [c for c in CASES if c["pval"] is not None], ids=lambda c: f"k{c['k']}")
def test_rank_test_is_exact_without_ties_as_metafor(case):
    # metafor 3.8-1: ranktest(yi, vi), e.g. k = 81: tau = 0.209259259259259, p = 0.00550867747409156
    res = cf.rank_test(yi=case["yi"], vi=case["vi"])
    assert res.exact
    assert res.tau == pytest.approx(case["tau"], rel=1e-12)
    assert res.pval == pytest.approx(case["pval"], rel=1e-9)
    assert res.pval != pytest.approx(case["pval_normal"], rel=1e-3)  # not the normal approximation


def test_beyond_r_s_limit_the_exact_p_value_is_the_count_of_permutations():
    # k = 171: metafor 3.8-1's ranktest gives NaN (R's counts overflow); the normal approximation
    # (ranktest(yi, vi, exact = FALSE)) gives 0.0057129340024583
    case = next(c for c in CASES if c["k"] == 171)
    assert case["pval"] is None
    res = cf.rank_test(yi=case["yi"], vi=case["vi"])
    assert res.exact
    n0 = 171 * 170 // 2
    s = round(res.tau * n0)
    assert res.pval == pytest.approx(_exact_by_counts(s, 171), rel=EXACT_RTOL)
    assert res.pval == pytest.approx(case["pval_normal"], rel=0.05)


@pytest.mark.parametrize(("s", "k"), [(3, 7), (735, 50), (678, 81), (-2069, 171), (8970, 300), (0, 9)])
def test_exact_p_value_equals_the_integer_counts(s, k):
    assert _kendall_exact_pval(s, k) == pytest.approx(_exact_by_counts(s, k), rel=EXACT_RTOL)


def test_the_normal_approximation_is_used_beyond_the_exact_range():
    rng = np.random.default_rng(4)
    k = EXACT_KENDALL_MAX_K + 1
    res = cf.rank_test(yi=rng.normal(size=k), vi=rng.uniform(0.01, 0.2, k))
    assert not res.exact and 0 <= res.pval <= 1
