"""Subgroup analyses with many levels (``meta_analysis(by=...)``): each level's model is the model fitted to
that level's studies alone, the levels are in sorted order with the studies in input order, and the
warnings name their level.

Without moderators the levels with 3 or more studies are fitted together by the batched engine
(``fit_many``'s), the others alone by ``fit``: the oracle is then agreement with each level's own
``meta_analysis`` to ``ALGEBRA_RTOL`` (1e-10), not identity of the floats, because the two engines stop
their iterations on their own steps (1e-12 of tau2 + mean vi) and sum in a different order. Near tau2 = 0
that step is most of tau2, so I2 and its interval (percents) get the percent floor ``PERCENT_ATOL``.
``se_tau2`` is held to ``ORACLE_RTOL``: ``fit`` takes the information at its last iterate, up to 1e-9
relative from the estimate (tau2.NEWTON_RTOL), the batched engine at the estimate. With moderators every
level is fitted alone: identity.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from tolerances import ALGEBRA_ATOL, ALGEBRA_RTOL, ORACLE_RTOL, PERCENT_ATOL, PERCENT_FIELDS, agrees


def _data(levels: int, k: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    return pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.05)), "vi": vi,
                         "g": rng.integers(0, levels, k), "x": rng.normal(size=k)})


def _alone(df: pd.DataFrame, name: str, **options):
    return cf.meta_analysis(df[df.g == int(name)].reset_index(drop=True), **options)


def _assert_same_model(got, alone, name):
    """Every field of the JSON contract to ALGEBRA_RTOL, se_tau2 to ORACLE_RTOL (see the module docstring),
    and the arrays the report draws from."""
    g, a = got.to_dict(), alone.to_dict()
    assert agrees(g.pop("se_tau2"), a.pop("se_tau2"), ORACLE_RTOL), name
    assert g.pop("warnings") == [f"g = {name}: {w}" for w in a.pop("warnings")], name
    assert g.keys() == a.keys(), name
    for key in a:
        atol = PERCENT_ATOL if key in PERCENT_FIELDS else ALGEBRA_ATOL
        assert agrees(g[key], a[key], ALGEBRA_RTOL, atol), (name, key, g[key], a[key])
    assert agrees(float(got.vt), float(alone.vt), ALGEBRA_RTOL, ALGEBRA_ATOL), name
    assert agrees(got.weights.tolist(), alone.weights.tolist(), ALGEBRA_RTOL, ALGEBRA_ATOL), name
    assert agrees(got.vcov.tolist(), alone.vcov.tolist(), ALGEBRA_RTOL, ALGEBRA_ATOL), name
    assert (got.df, got.q_df, got.method, got.test) == (alone.df, alone.q_df, alone.method, alone.test), name
    assert got.yi.tolist() == alone.yi.tolist() and got.vi.tolist() == alone.vi.tolist(), name


@pytest.mark.parametrize(("method", "test"), [("REML", "knha"), ("ML", "z"), ("DL", "t"), ("PMM", "z"),
                                              ("SJ", "knha"), ("FE", "z")])
def test_every_level_equals_its_own_fit(method, test):
    df = _data(300, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.meta_analysis(df, by="g", method=method, test=test)
        assert res.levels == tuple(str(g) for g in sorted(df.g.unique()))
        for name, got in zip(res.levels, res.results, strict=True):
            _assert_same_model(got, _alone(df, name, method=method, test=test), name)
            assert list(got.rows) == list(df.index[df.g == int(name)])   # index labels, input order


def test_every_meta_regression_is_its_own_fit_exactly():
    df = _data(300, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.meta_analysis(df, by="g", mods="~ x", test="knha")
        for name, got in zip(res.levels, res.results, strict=True):
            alone = _alone(df, name, mods="~ x", test="knha")
            assert got.coefficients == alone.coefficients, name
            assert (got.tau2, got.tau2_ci, got.q, got.q_pval, got.i2) == \
                   (alone.tau2, alone.tau2_ci, alone.q, alone.q_pval, alone.i2), name
            assert list(got.rows) == list(df.index[df.g == int(name)])


def test_10000_levels_equal_their_own_fits():
    df = _data(10_000, 100_000, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.meta_analysis(df, by="g")
        assert len(res.levels) == 10_000
        sizes = df.groupby("g").size()
        # every level with k = 1 or 2 (fitted alone, with warnings) and 200 others chosen at random
        small = [str(g) for g in sizes.index[sizes <= 2]]
        rng = np.random.default_rng(2)
        sample = small + [str(g) for g in rng.choice(sizes.index[sizes > 2], 200, replace=False)]
        position = {name: i for i, name in enumerate(res.levels)}
        for name in sample:
            _assert_same_model(res.results[position[name]], _alone(df, name), name)
    assert small and all(res.results[position[name]].warnings for name in small)
    assert sum(len(r.warnings) > 0 for r in res.results) == len(small)
    # the test of subgroup differences from the G estimates: sum (b_g - b_bar)^2 / se_g^2
    b = np.array([r.estimate for r in res.results])
    w = 1.0 / np.array([r.se for r in res.results]) ** 2
    q_between = float(np.sum(w * (b - np.sum(w * b) / np.sum(w)) ** 2))
    assert agrees(res.q_between, q_between, ALGEBRA_RTOL) and res.q_between_df == 9_999


def test_q_profile_bounds_far_beyond_the_variances_are_found_as_in_a_fit_alone():
    # level 1: tau2 ~ 6e11 and its upper bound beyond 1e12 times the mean vi (1e-3): both engines search
    # on to 2 RSS / target
    df = pd.DataFrame({"yi": [0, 1e6, -1e6, 5e5, 0, 1e4, -1e4, 0, 1, 2], "vi": [1e-3] * 7 + [1.0] * 3,
                       "g": [1] * 4 + [2] * 3 + [3] * 3})
    res = cf.meta_analysis(df, by="g")
    for name, got in zip(res.levels, res.results, strict=True):
        _assert_same_model(got, _alone(df, name), name)
    assert all(np.isfinite(r.tau2_ci).all() for r in res.results)
    assert res.results[0].tau2_ci[0] < res.results[0].tau2 < res.results[0].tau2_ci[1]


def test_warnings_name_their_level_once():
    df = _data(5, 40)
    df.loc[df.g == 3, "g"] = 4
    df.loc[0, "g"] = 3                                   # level 3: a single study
    with pytest.warns(cf.errors.SmallKWarning, match="^g = 3: k = 1 study") as record:
        res = cf.meta_analysis(df, by="g")
    emitted = [str(w.message) for w in record if str(w.message).startswith("g = 3")]
    assert emitted == list(res.results[3].warnings)
    assert res.results[3].warnings == ("g = 3: k = 1 study for 1 coefficient: tau2 cannot be estimated "
                                       "and is set to 0",)
    assert all(r.warnings == () for i, r in enumerate(res.results) if i != 3)
    assert res.warnings == res.results[3].warnings


def test_a_level_whose_batched_fit_did_not_converge_is_fitted_alone(monkeypatch):
    from commonfactors.models import batch

    df = _data(20, 200)
    solve = batch._solve

    def never_converges(*args, **kwargs):
        tau2, converged = solve(*args, **kwargs)
        return tau2, np.zeros_like(converged)

    monkeypatch.setattr(batch, "_solve", never_converges)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.meta_analysis(df, by="g")
        for name, got in zip(res.levels, res.results, strict=True):
            alone = _alone(df, name)
            assert got.coefficients == alone.coefficients and got.tau2_ci == alone.tau2_ci, name
