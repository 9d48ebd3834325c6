"""bootstrap() and permutation_test() against metafor 3.8-1 (tests/reference/bootstrap.R).

Exact permutation tests are deterministic: their p-values equal metafor's ``permutest(exact = TRUE)`` to
1e-12 (counts of permutations over the same set). Bootstraps are random in both programs: R's percentile
bounds come with the order statistics between which the exact bootstrap quantile lies with probability
> 0.999, and ours (20,000 replicates, so its own Monte Carlo error is ~0.45 of R's) must fall between them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.errors import InputError
from commonfactors.simulate.resampling import (
    _count_distinct,
    _distinct_permutations,
    bootstrap,
    permutation_test,
)

REF = json.loads((Path(__file__).parent / "reference" / "bootstrap.json").read_text())


@pytest.fixture(scope="module")
def bcg(bcg_rr):
    return bcg_rr


def _model(bcg, case):
    d = bcg.iloc[[r - 1 for r in case["rows"]]].copy()
    mods = case["mods"]
    if mods == "~ factor(alloc)":
        mods = "~ C(alloc)"
    return cf.meta_analysis(d, mods=mods, method=case["method"], test=case["test"])


@pytest.mark.parametrize("case", REF["permutations"], ids=[c["id"] for c in REF["permutations"]])
def test_exact_permutation_test_equals_permutest(bcg, case):
    res = _model(bcg, case)
    np.testing.assert_allclose([c.stat for c in res.coefficients], case["zval"], rtol=1e-4)
    p = permutation_test(res, exact=True)
    assert p.exact and p.n_perm == case["n_perm"] and case["n_failed"] == 0
    np.testing.assert_allclose(p.pval, np.atleast_1d(case["pval"]), rtol=0, atol=1e-12)
    assert p.qm_pval == pytest.approx(case["QMp"], abs=1e-12)


def test_distinct_permutations_of_a_multiset():
    labels = np.array([2, 0, 2, 1, 0])
    perms = list(_distinct_permutations(labels))
    assert len(perms) == _count_distinct(labels) == 30  # 5! / (2! 2! 1!)
    assert len({tuple(p) for p in perms}) == 30 and all(sorted(p) == [0, 0, 1, 2, 2] for p in perms)


def test_random_permutations_approach_the_exact_test(bcg):
    """With random permutations (the first the observed data) the p-value estimates the exact one: within
    4 binomial SE at 1,000 permutations; the same seed repeats it."""
    case = REF["permutations"][0]  # k = 6: 720 orderings
    res = _model(bcg, case)
    a = permutation_test(res, n_perm=1000, seed=3, exact=False)
    b = permutation_test(res, n_perm=1000, seed=3, exact=False)
    assert not a.exact and a.pval == b.pval and a.n_perm == 1000
    exact = case["QMp"]
    assert abs(a.qm_pval - exact) < 4 * np.sqrt(exact * (1 - exact) / 1000)


@pytest.mark.parametrize("case", REF["bootstraps"], ids=[c["kind"] for c in REF["bootstraps"]])
def test_bootstrap_percentile_intervals_agree_with_r(bcg, case):
    res = cf.meta_analysis(bcg, method="REML")
    assert res.estimate == pytest.approx(REF["estimate"], rel=1e-6)
    b = bootstrap(res, n_boot=20_000, seed=8, kind=case["kind"])
    for name in ("estimate", "tau2"):
        low, high = getattr(b, f"{name}_ci")
        lo_band, hi_band = case[f"{name}_low_band"], case[f"{name}_high_band"]
        assert lo_band[0] <= low <= lo_band[1], (name, low, lo_band)
        assert hi_band[0] <= high <= hi_band[1], (name, high, hi_band)
        # the bootstrap SD: SE of R's about sd / sqrt(2 n) (normal theory), 4 of them
        se_r = case[f"{name}_se"]
        band = 4 * se_r / np.sqrt(2 * case["n"]) + 0.01 * se_r
        assert getattr(b, f"{name}_se") == pytest.approx(se_r, abs=band)
    assert b.failures == 0 and b.boot_estimate.shape == (20_000,)


def test_parametric_bootstrap_se_is_the_model_se(bcg):
    """The parametric bootstrap draws from the fitted model, so the SD of the pooled effect is close to the
    model's SE (Viechtbauer, 2010; here within 10%)."""
    res = cf.meta_analysis(bcg, method="DL")
    b = bootstrap(res, n_boot=5000, seed=1)
    assert b.estimate_se == pytest.approx(res.se, rel=0.10)


def test_bootstrap_is_reproducible_and_independent_of_where_it_ran(bcg):
    res = cf.meta_analysis(bcg)
    a = bootstrap(res, n_boot=12_000, seed=5, kind="nonparametric")
    b = bootstrap(res, n_boot=12_000, seed=5, kind="nonparametric")
    c = bootstrap(res, n_boot=12_000, seed=6, kind="nonparametric")
    np.testing.assert_array_equal(a.boot_estimate, b.boot_estimate)
    assert not np.array_equal(a.boot_estimate, c.boot_estimate)
    assert a.to_dict()["estimate_ci"] == list(a.estimate_ci) and "Percentile" in str(a.summary())
    assert list(a.to_frame()["parameter"]) == ["estimate", "tau2"]


@pytest.mark.slow
def test_bootstrap_on_a_local_cluster_equals_this_process(bcg):
    res = cf.meta_analysis(bcg)
    here = bootstrap(res, n_boot=12_000, seed=5)
    there = bootstrap(res, n_boot=12_000, seed=5, workers=2)
    np.testing.assert_array_equal(here.boot_estimate, there.boot_estimate)


def test_bad_arguments(bcg):
    res = cf.meta_analysis(bcg)
    with pytest.raises(InputError, match="kind"):
        bootstrap(res, kind="wild")
    with pytest.raises(InputError, match="n_boot"):
        bootstrap(res, n_boot=1)
    with pytest.raises(InputError, match="without moderators"):
        bootstrap(cf.meta_analysis(bcg, mods="~ ablat"))
    with pytest.raises(InputError, match="MetaResult"):
        permutation_test(cf.fit_many(bcg["yi"].to_numpy(), bcg["vi"].to_numpy()))
    with pytest.raises(InputError, match="exact=False"):
        permutation_test(cf.meta_analysis(bcg, mods="~ ablat"), exact=True)
