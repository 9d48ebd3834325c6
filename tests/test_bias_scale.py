"""The bias diagnostics at large k: Kendall's S by merge-sort inversion counting and average ranks without
a Python loop, against their definitions (oracles: every pair, every tie group); and the memory of
bias_tests at k = 20,000 (slow).
"""

import tracemalloc
import warnings

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.models.bias import _average_ranks, _kendall_s


def _s_by_pairs(x, y):
    """S = sum over pairs i < j of sign(x_i - x_j) sign(y_i - y_j) (Kendall, 1970, eq. 1.8)."""
    return float(np.sum(np.triu(np.sign(x[:, None] - x[None, :]) * np.sign(y[:, None] - y[None, :]), 1)))


def _ranks_by_ties(x):
    """Average rank: 1 + (number of smaller values) + (number of other equal values) / 2."""
    return np.array([1 + np.sum(x < xi) + (np.sum(x == xi) - 1) / 2 for xi in x])


@pytest.mark.parametrize("ties", ["none", "x", "y", "both"])
def test_kendall_s_equals_the_sum_over_pairs(ties):
    rng = np.random.default_rng(7)
    for k in (1, 2, 3, 17, 64, 65, 300):
        x = rng.integers(0, 5, k).astype(float) if ties in ("x", "both") else rng.normal(size=k)
        y = rng.integers(0, 4, k).astype(float) if ties in ("y", "both") else rng.normal(size=k)
        assert _kendall_s(x, y) == _s_by_pairs(x, y), k


def test_kendall_s_of_reversed_and_identical_orders():
    x = np.arange(1000.0)
    assert _kendall_s(x, x) == 1000 * 999 / 2
    assert _kendall_s(x, -x) == -1000 * 999 / 2


def test_average_ranks_equal_their_definition():
    rng = np.random.default_rng(8)
    for x in (rng.normal(size=50), rng.integers(0, 6, 80).astype(float), np.zeros(5), np.array([3.0])):
        np.testing.assert_array_equal(_average_ranks(x), _ranks_by_ties(x))


def test_rank_test_at_k_2000_equals_the_pairwise_tau():
    """Begg's tau-b on 2,000 studies (normal approximation) from S over all 2 million pairs."""
    rng = np.random.default_rng(9)
    vi = np.round(rng.uniform(0.01, 0.2, 2000), 3)              # ties in vi
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    res = cf.rank_test(yi=yi, vi=vi)
    w = 1 / vi
    ystar = (yi - np.sum(w * yi) / w.sum()) / np.sqrt(vi - 1 / w.sum())
    n0 = 2000 * 1999 / 2
    _, t = np.unique(vi, return_counts=True)
    tau_b = _s_by_pairs(ystar, vi) / np.sqrt(n0 * (n0 - np.sum(t * (t - 1)) / 2))
    assert res.tau == pytest.approx(tau_b, rel=1e-12)
    assert not res.exact


@pytest.mark.slow
def test_bias_tests_memory_is_linear_in_k():
    """k = 20,000: peak memory of all the bias diagnostics below 20 MB (8.5 MB measured; the inputs take
    0.3 MB, and a k x k matrix of doubles would take 3.2 GB)."""
    rng = np.random.default_rng(10)
    vi = rng.uniform(0.01, 0.2, 20_000)
    yi = rng.normal(0.3, np.sqrt(vi + 0.05))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cf.bias_tests(yi=yi[:50], vi=vi[:50])              # imports (scipy.optimize) outside the count
        tracemalloc.start()
        res = cf.bias_tests(yi=yi, vi=vi)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert np.isfinite(res.begg.tau) and res.selection_3psm is not None
    assert peak < 20e6, f"peak {peak / 1e6:.1f} MB"
