"""Subgroup analyses with many levels (``meta_analysis(by=...)``): each level's model is exactly the
model fitted to that level's studies alone (oracle: identity of the floats), the levels are in sorted
order with the studies in input order, and the warnings name their level.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf


def _data(levels: int, k: int, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.2, k)
    return pd.DataFrame({"yi": rng.normal(0.3, np.sqrt(vi + 0.05)), "vi": vi,
                         "g": rng.integers(0, levels, k), "x": rng.normal(size=k)})


@pytest.mark.parametrize("mods", [None, "~ x"], ids=["subgroups", "meta-regressions"])
def test_every_level_equals_its_own_fit(mods):
    df = _data(300, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.meta_analysis(df, by="g", mods=mods, test="knha")
        assert res.levels == tuple(str(g) for g in sorted(df.g.unique()))
        for name, got in zip(res.levels, res.results, strict=True):
            alone = cf.meta_analysis(df[df.g == int(name)].reset_index(drop=True), mods=mods, test="knha")
            assert got.coefficients == alone.coefficients, name
            assert (got.tau2, got.tau2_ci, got.q, got.q_pval, got.i2) == \
                   (alone.tau2, alone.tau2_ci, alone.q, alone.q_pval, alone.i2), name
            assert list(got.rows) == list(df.index[df.g == int(name)])   # index labels, input order


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
