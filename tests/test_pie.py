"""Variance pies (commonfactors.factors.pie): additive and dominance pies, Monte Carlo intervals
(reproducible, shrinking with k, covering the true share at the nominal rate), dominance sensitivity and the
published pies table."""

import math

import numpy as np
import pandas as pd
import pytest

from commonfactors.errors import InputError
from commonfactors.factors import convert
from commonfactors.factors.dominance import general_dominance
from commonfactors.factors.pie import (
    PieWarning,
    additive_pie,
    component,
    dominance_pie,
    dominance_sensitivity,
    published_pies,
)
from reference import load
from tolerances import IDENTITY_RTOL, METAFOR_RTOL

COMPONENTS = [
    component("relationship", "r", 0.278, ci_low=0.256, ci_high=0.299),
    component("technique", "d", 0.06, ci_low=0.0, ci_high=0.12),
    component("therapist", "icc", 0.05, n_clusters=581, n=6146),
]


def test_additive_shares_are_the_converted_point_estimates():
    res = additive_pie(COMPONENTS, draws=2000, seed=1)
    shares = [c.share for c in res.components]
    assert shares == pytest.approx([0.278**2, float(convert.d_to_share(0.06)), 0.05], rel=IDENTITY_RTOL)
    assert res.r2.share == pytest.approx(sum(shares), rel=IDENTITY_RTOL)
    assert res.unexplained.share == pytest.approx(1 - sum(shares), rel=IDENTITY_RTOL)
    for c in res.components:
        assert c.ci_low <= c.share <= c.ci_high
    assert res.r2.ci_low <= res.r2.share <= res.r2.ci_high
    assert res.unexplained.ci_low == pytest.approx(1 - res.r2.ci_high, abs=1e-12)


def test_se_recovered_from_the_ci_on_the_sampling_scale():
    c = COMPONENTS[0]
    assert c.se == pytest.approx((math.atanh(0.299) - math.atanh(0.256)) / (2 * 1.959963984540054), rel=1e-12)
    assert c.se_basis == "95% CI"
    t = COMPONENTS[2]  # delta method of Donner's variance to the logit scale
    assert t.se == pytest.approx(math.sqrt(convert.var_icc(0.05, 581, 6146)) / (0.05 * 0.95), rel=1e-12)


def test_n_without_i2_warns_that_the_interval_ignores_heterogeneity():
    with pytest.warns(PieWarning, match="ignores between-study heterogeneity"):
        c = component("client", "d", 0.41, k=76, n=25917)
    assert c.se == pytest.approx(math.sqrt((4 + 0.41**2 / 2) / 25917), rel=1e-12)
    wide = component("client", "d", 0.41, k=76, n=25917, i2=75)
    assert wide.se == pytest.approx(2 * c.se, rel=1e-12)  # 1 / (1 - .75) = 4 in variance


def test_a_component_without_any_uncertainty_has_no_interval_and_nor_has_the_total():
    with pytest.warns(PieWarning, match="no interval"):
        c = component("expectancy", "r", 0.11, k=80)
    with pytest.warns(PieWarning, match="no interval"):
        res = additive_pie([COMPONENTS[0], c], draws=500, seed=1)
    assert math.isnan(res.components[1].ci_low) and math.isnan(res.r2.ci_high)
    assert not math.isnan(res.components[0].ci_low)
    assert any("no interval" in w for w in res.warnings)


def test_same_seed_same_numbers_other_seed_other_numbers():
    a = additive_pie(COMPONENTS, draws=1000, seed=42).to_dict()
    b = additive_pie(COMPONENTS, draws=1000, seed=42).to_dict()
    c = additive_pie(COMPONENTS, draws=1000, seed=43).to_dict()
    assert a == b
    assert a["components"][0]["ci_low"] != c["components"][0]["ci_low"]
    d1 = dominance_pie(_matrix(), n=200, draws=500, seed=5).to_dict()
    assert d1 == dominance_pie(_matrix(), n=200, draws=500, seed=5).to_dict()


def _pooled_r_component(rng, r_true, k, n_per_study):
    """Fixed-effect pooled r of k simulated studies (Fisher z, weights n - 3), as a component with its se."""
    z = rng.normal(math.atanh(r_true), 1 / math.sqrt(n_per_study - 3), size=k)
    return component("f", "r", math.tanh(z.mean()), se=1 / math.sqrt(k * (n_per_study - 3)))


def test_intervals_shrink_as_k_grows():
    rng = np.random.default_rng(11)
    widths = []
    for k in (4, 16, 64, 256):
        res = additive_pie([_pooled_r_component(rng, 0.28, k, 80)], draws=4000, seed=1)
        widths.append(res.components[0].ci_high - res.components[0].ci_low)
    assert all(a > b for a, b in zip(widths, widths[1:], strict=False)), widths
    assert widths[0] / widths[-1] == pytest.approx(8, rel=0.25)  # se ~ 1 / sqrt(k): 64 times more studies


def test_intervals_cover_the_true_share_at_close_to_the_nominal_rate():
    """400 simulated meta-analyses of k = 10 studies of n = 60 with true r = .25 (true share .0625)."""
    rng = np.random.default_rng(2024)
    reps, hits = 400, 0
    for _ in range(reps):
        c = _pooled_r_component(rng, 0.25, 10, 60)
        s = additive_pie([c], draws=1000, seed=int(rng.integers(2**31))).components[0]
        hits += s.ci_low <= 0.0625 <= s.ci_high
    # nominal 95%; binomial sd with 400 replications is 1.1 points;
    # the Monte Carlo error of the limits adds a little
    assert 0.92 <= hits / reps <= 0.98, hits / reps


def test_default_pie_uses_one_shipped_estimate_per_factor():
    with pytest.warns(PieWarning):
        res = additive_pie(draws=500, seed=1)
    assert [c.factor for c in res.components] == [
        "relationship",
        "client",
        "technique",
        "therapist",
        "expectancy",
    ]
    assert [c.element for c in res.components] == [
        "alliance",
        "readiness",
        "treatment-differences",
        "therapist-effects",
        "credibility",
    ]
    rel = res.components[0]
    assert rel.estimate == 0.278 and rel.share == pytest.approx(0.278**2, rel=IDENTITY_RTOL)
    assert all(c.sources and "[checked: yes]" in c.sources[0] for c in res.components)


def test_additive_to_dict_is_the_cli_contract():
    d = additive_pie(COMPONENTS, draws=500, seed=1).to_dict()
    assert {"method", "draws", "seed", "components", "unexplained", "r2"} <= set(d)
    assert d["method"] == "additive" and d["draws"] == 500 and d["seed"] == 1
    for c in d["components"]:
        assert set(c) == {"factor", "share", "ci_low", "ci_high", "sources"}
    assert set(d["unexplained"]) == {"share", "ci_low", "ci_high"} == set(d["r2"])


def test_to_frame_has_one_row_per_slice_plus_unexplained():
    res = additive_pie(COMPONENTS, draws=500, seed=1)
    df = res.to_frame()
    assert list(df["factor"]) == ["relationship", "technique", "therapist", "unexplained"]
    assert df["share"].sum() == pytest.approx(1.0, rel=IDENTITY_RTOL)
    assert {"ci_low", "ci_high", "element", "sources", "method", "level"} <= set(df.columns)
    assert str(res) == str(res.summary())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"metric": "r", "estimate": 1.2}, r"expected a correlation in \(-1, 1\)"),
        ({"metric": "icc", "estimate": 5.0}, r"expected a proportion in \(0, 1\)"),
        ({"metric": "r", "estimate": 0.2, "se": -1}, r"expected a standard error > 0"),
        ({"metric": "r", "estimate": 0.2, "ci_low": 0.3, "ci_high": 0.1}, r"expected ci_low < ci_high"),
    ],
)
def test_bad_components(kwargs, message):
    with pytest.raises(InputError, match=message):
        component("x", **kwargs)


def test_bad_draws_and_repeated_factors():
    with pytest.raises(InputError, match="draws"):
        additive_pie(COMPONENTS, draws=10)
    with pytest.raises(InputError, match="factor names repeat"):
        additive_pie([COMPONENTS[0], COMPONENTS[0]], draws=500)


def _matrix():
    names = ["alliance", "empathy", "expectancy", "outcome"]
    R = [[1, 0.5, 0.2, 0.28], [0.5, 1, 0.25, 0.28], [0.2, 0.25, 1, 0.12], [0.28, 0.28, 0.12, 1]]
    return pd.DataFrame(R, index=names, columns=names)


def test_dominance_pie_shares_are_general_dominance_weights_and_sum_to_r2():
    res = dominance_pie(_matrix(), n=500, draws=2000, seed=3)
    gd = general_dominance(_matrix().to_numpy())
    assert [c.share for c in res.components] == pytest.approx(list(gd), rel=IDENTITY_RTOL)
    assert sum(c.share for c in res.components) == pytest.approx(res.r2.share, rel=IDENTITY_RTOL)
    assert res.unexplained.share == pytest.approx(1 - res.r2.share, rel=IDENTITY_RTOL)
    for c in res.components:
        assert c.ci_low <= c.share <= c.ci_high
    # overlap removed: less than the additive sum of r^2
    assert res.r2.share < 0.28**2 + 0.28**2 + 0.12**2
    assert res.to_dict()["method"] == "dominance"


def test_dominance_intervals_shrink_with_n():
    w = [dominance_pie(_matrix(), n=n, draws=2000, seed=1).r2 for n in (100, 400, 1600)]
    widths = [s.ci_high - s.ci_low for s in w]
    assert widths[0] > widths[1] > widths[2]


def test_non_positive_definite_draws_are_rejected_and_counted():
    names = ["a", "b", "outcome"]
    R = pd.DataFrame([[1, 0.95, 0.5], [0.95, 1, 0.45], [0.5, 0.45, 1]], index=names, columns=names)
    with pytest.warns(PieWarning, match="not positive definite and were redrawn"):
        res = dominance_pie(R, n=30, draws=1000, seed=1)
    assert res.rejected_draws > 0
    assert "redrawn" in str(res.summary())


def test_dominance_needs_a_sample_size():
    with pytest.raises(InputError, match="no sample size"):
        dominance_pie(_matrix(), draws=500)
    with pytest.raises(InputError, match="expected a sample size > 3"):
        dominance_pie(_matrix(), n=3, draws=500)


def test_dominance_sensitivity():
    with pytest.warns(PieWarning, match="assumed r = -0.6: no 3 factors can all correlate this way"):
        res = dominance_sensitivity({"alliance": 0.28, "empathy": 0.28, "expectancy": 0.12},
                                    rho=[0.0, 0.3, -0.6])
    df = res.to_frame()
    at0 = df[df["assumed_r"] == 0.0]
    assert list(at0["share"]) == pytest.approx([0.28**2, 0.28**2, 0.12**2], rel=IDENTITY_RTOL)
    at3 = df[df["assumed_r"] == 0.3]
    assert at3["share"].sum() == pytest.approx(at3["r2"].iloc[0], rel=IDENTITY_RTOL)
    assert (at3["share"] < at3["additive_share"]).all()
    # three factors all correlating -0.6 is impossible (equicorrelation needs rho > -1 / (p - 1) = -0.5)
    neg = df[df["assumed_r"] == -0.6]
    assert not neg["valid"].any() and neg["share"].isna().all()
    with pytest.raises(InputError, match="assumed correlation"):
        dominance_sensitivity({"a": 0.2}, rho=[1.0])


def test_published_pies_table():
    pies = published_pies()
    assert {"source", "year", "category", "share", "share_text", "scale", "verified", "where_seen"} <= set(
        pies
    )
    assert "UNVERIFIED" not in set(pies["verified"])
    lambert = pies[pies["source"].str.startswith("Lambert, M. J. (1992)")]
    assert sorted(lambert["share"]) == pytest.approx([0.15, 0.15, 0.30, 0.40])
    assert set(lambert["verified"]) == {"secondary"}
    cuijpers = pies[pies["year"] == 2012]
    assert cuijpers["share"].sum() == pytest.approx(1.0)
    assert set(cuijpers["verified"]) == {"yes"}
    allp = published_pies(include_unverified=True)
    assert set(allp[allp["verified"] == "UNVERIFIED"]["year"]) == {2011}


def test_pool_correlations_pairwise_pools_each_pair_like_metafor_and_feeds_the_dominance_pie():
    # metafor 3.8-1, tests/reference/pie.R: rma(atanh(r), 1 / (n - 3), method = "REML") run to convergence,
    # tanh(res$b), res$se, res$tau2 for the first pair's r and n
    expected = load("pie")["pairwise"]
    from commonfactors.factors.pie import correlation_frames, pool_correlations_pairwise

    pairs = [("alliance", "outcome"), ("empathy", "outcome"), ("alliance", "empathy")]
    rows = [{"var1": a, "var2": b, "ri": r, "ni": n}
            for a, b in pairs for r, n in zip([0.40, 0.10, 0.35, 0.05], [60, 120, 45, 200], strict=True)]
    pooled = pool_correlations_pairwise(pd.DataFrame(rows))
    assert len(pooled) == 3 and list(pooled["k"]) == [4, 4, 4]
    first = pooled.iloc[0]
    assert first["r"] == pytest.approx(expected["r"], rel=METAFOR_RTOL["rma"])
    assert first["se_z"] == pytest.approx(expected["se_z"], rel=METAFOR_RTOL["rma"])
    assert first["tau2"] == pytest.approx(expected["tau2"], rel=METAFOR_RTOL["rma"])
    R, S = correlation_frames(pooled)
    assert list(R.index) == ["alliance", "empathy", "outcome"]
    res = dominance_pie(R, se_z=S, draws=500, seed=1)
    assert sum(c.share for c in res.components) == pytest.approx(res.r2.share, rel=IDENTITY_RTOL)


@pytest.mark.parametrize("row, message", [
    ({"ri": 1.0}, r"row 2, column 'ri': got 1; expected a correlation in \(-1, 1\)"),
    ({"ri": math.nan}, r"row 2, column 'ri': got nan; expected a correlation in \(-1, 1\)"),
    ({"ni": 3}, r"row 2, column 'ni': got 3; expected a sample size >= 4"),
    ({"var2": "alliance"}, r"row 2, column 'var2': 'alliance' is correlated with itself; expected two"),
])
def test_pool_correlations_pairwise_checks_rows_as_the_gls_pooling_does(row, message):
    """The row checks are those of factors.corpool (one helper); unlike it, a missing r is an error here."""
    from commonfactors.factors.pie import pool_correlations_pairwise

    rows = [{"var1": "alliance", "var2": "outcome", "ri": 0.3, "ni": 50}] * 2
    data = pd.DataFrame([*rows, {**rows[0], **row}])
    with pytest.raises(InputError, match=message):
        pool_correlations_pairwise(data)
