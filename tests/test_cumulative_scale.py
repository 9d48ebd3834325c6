"""Cumulative meta-analysis at scale (``cumulative``): the models of the first 3, 4, ..., k studies are
fitted together by the batched engine, in blocks of prefixes, so memory stays O(k) (the k models are never
kept). Oracle: row j equals ``meta_analysis`` of the first j studies, for every estimator and test, to
``ORACLE_RTOL`` (the tolerance of ``fit_many`` against ``meta_analysis``: two iterative engines, each stopping
on its own step); the first two rows, which warn, and any prefix whose tau2 did not converge in the batched
engine are ``fit``'s own, with its warnings. Against metafor: tests/test_influence.py (``cumul``).
"""

import tracemalloc
import warnings

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.errors import SmallKWarning
from commonfactors.models import batch, influence
from tolerances import ALGEBRA_ATOL, ORACLE_RTOL, PERCENT_ATOL, PERCENT_FIELDS, agrees

COLUMNS = ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")


def _data(k: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.005, 0.5, k)                     # vi spanning 100x
    return rng.normal(0.2, np.sqrt(vi + 0.03)), vi, rng.integers(1970, 2020, k).astype(float)


def _prefix_fits(yi, vi, order, **options):
    perm = np.argsort(order, kind="stable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [cf.meta_analysis(yi=yi[perm[:j]], vi=vi[perm[:j]], **options) for j in range(1, len(yi) + 1)]


def _assert_rows_equal_fits(res, fits, rtol=ORACLE_RTOL):
    for name in COLUMNS:
        atol = PERCENT_ATOL if name in PERCENT_FIELDS else ALGEBRA_ATOL
        expected = [getattr(f, name) for f in fits]
        for j, (got, want) in enumerate(zip(getattr(res, name).tolist(), expected, strict=True)):
            assert agrees(got, want, rtol, atol), (name, j + 1, got, want)


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "FE", "EE"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_every_row_equals_the_fit_of_its_prefix(method, test, monkeypatch):
    monkeypatch.setattr(influence, "PREFIX_BLOCK", 300)  # many blocks of a few prefixes each
    yi, vi, year = _data(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        res = cf.cumulative(yi=yi, vi=vi, order=year, method=method, test=test)
    _assert_rows_equal_fits(res, _prefix_fits(yi, vi, year, method=method, test=test))
    assert res.order_value.tolist() == sorted(year.tolist())


def test_t_test_rows_and_warnings_are_those_of_the_prefix_fits():
    yi, vi, year = _data(30, seed=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.cumulative(yi=yi, vi=vi, order=year, method="PM", test="t")
    fits = _prefix_fits(yi, vi, year, method="PM", test="t")
    _assert_rows_equal_fits(res, fits)
    expected = list(dict.fromkeys(f"cumulative fits: {w}" for f in fits for w in f.warnings))
    assert list(res.warnings) == expected == [str(c.message) for c in caught]
    assert expected == [
        "cumulative fits: test='t' needs more studies than coefficients (k = 1); using test='z'",
        "cumulative fits: k = 1 study for 1 coefficient: tau2 cannot be estimated and is set to 0",
        "cumulative fits: only k = 2 studies: tau2, I2 and H2 are very imprecise"]


def test_prefixes_whose_batched_fit_did_not_converge_are_fitted_alone(monkeypatch):
    solve = batch._solve
    stalled = []

    def never_converges(*args, **kwargs):
        tau2, converged = solve(*args, **kwargs)
        stalled.append(converged.size)
        return tau2, np.zeros_like(converged)

    monkeypatch.setattr(batch, "_solve", never_converges)
    yi, vi, year = _data(25, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        res = cf.cumulative(yi=yi, vi=vi, order=year)
    assert sum(stalled) == 23                             # rows 3..25 went through the batched engine
    _assert_rows_equal_fits(res, _prefix_fits(yi, vi, year), rtol=0.0)  # then fit alone: the same floats


def test_one_and_two_studies():
    with pytest.warns(SmallKWarning):
        one = cf.cumulative(yi=[0.4], vi=[0.1])
    assert one.estimate.tolist() == [0.4] and one.tau2.tolist() == [0.0]
    with pytest.warns(SmallKWarning):
        two = cf.cumulative(yi=[0.4, 0.1], vi=[0.1, 0.2])
    assert two.k == 2 and len(two.estimate) == 2


@pytest.mark.slow
def test_k_20000_peaks_in_o_k_memory():
    yi, vi, year = _data(20_000, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        tracemalloc.start()
        res = cf.cumulative(yi=yi, vi=vi, order=year)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # the k models kept would hold their studies' arrays: k^2 / 2 doubles (1.6 GB) per array; the blocks of
    # prefixes take PREFIX_BLOCK doubles per working array
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.0f} MB"
    last = cf.meta_analysis(yi=yi, vi=vi)
    assert agrees(res.estimate[-1], last.estimate, ORACLE_RTOL)
    assert agrees(res.tau2[-1], last.tau2, ORACLE_RTOL)
