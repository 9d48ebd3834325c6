"""simulate_practice: the shape of the data, and that large practices recover the stated variance components.

The recovery checks estimate the therapist variance with the one-way ANOVA (method-of-moments) estimator
on the final score adjusted for the intake score by the pooled within-therapist regression (Searle,
Casella & McCulloch 1992, the one-way classification, with the n0 of unbalanced groups), and compare it with
the truth within its large-sample standard error: Donner (1986)'s variance of a one-way ICC,
:func:`commonfactors.factors.convert.var_icc`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from commonfactors.errors import InputError
from commonfactors.factors.convert import var_icc
from commonfactors.simulate import simulate_practice


def _pre_post(d):
    g = d.groupby("client", sort=False)
    out = g.agg(therapist=("therapist", "first"), baseline=("score", "first"), outcome=("score", "last"),
                last=("session", "max"))
    return out[out["last"] > 1]


def anova_icc(d, group="therapist"):
    """(ICC, between-group variance, within variance) of the final score adjusted for intake."""
    pp = _pre_post(d)
    if group != "therapist":
        pp[group] = d.groupby("client", sort=False)[group].first()
    x, y = pp["baseline"].to_numpy(), pp["outcome"].to_numpy()
    _, inv = np.unique(pp[group].to_numpy(), return_inverse=True)
    cnt = np.bincount(inv)
    m, N = len(cnt), len(y)
    xc, yc = x - (np.bincount(inv, x) / cnt)[inv], y - (np.bincount(inv, y) / cnt)[inv]
    r = y - (xc @ yc) / (xc @ xc) * x  # within-therapist slope on intake
    mr = np.bincount(inv, r) / cnt
    msb = (cnt * (mr - r.mean()) ** 2).sum() / (m - 1)
    msw = ((r - mr[inv]) ** 2).sum() / (N - m - 1)  # one more df for the slope
    n0 = (N - (cnt**2).sum() / N) / (m - 1)
    s2 = (msb - msw) / n0
    return s2 / (s2 + msw), s2, msw


def test_long_format_one_row_per_client_and_session():
    d = simulate_practice(5, 4, icc=0.05, n_sessions=6, seed=3)
    assert list(d.columns) == ["client", "therapist", "session", "score"]
    assert len(d) == 5 * 4 * 6 and d["client"].nunique() == 20 and d["therapist"].nunique() == 5
    assert (d.groupby("client")["therapist"].nunique() == 1).all()  # one therapist per client
    assert (d.groupby("client")["session"].apply(list).map(lambda s: s == list(range(1, 7)))).all()
    assert d.attrs["synthetic"] is True and d.attrs["parameters"]["seed"] == 3
    assert d["score"].between(0, 40).all()
    assert np.allclose(d["score"] * 10, np.round(d["score"] * 10))  # one decimal, as ORS totals


def test_same_seed_same_practice_other_seed_another():
    a, b = simulate_practice(seed=7), simulate_practice(seed=7)
    assert a.equals(b) and a.attrs == b.attrs
    assert not a.equals(simulate_practice(seed=8))


def test_truth_is_the_stated_decomposition():
    """var_residual = (1 + beta)^2 sd_x^2 sd_e^2 / (sd_x^2 + sd_e^2) + sd_c^2 + sd_e^2 (module docstring);
    icc and site_icc are shares of var_site + var_therapist + var_residual."""
    d = simulate_practice(10, 5, icc=0.08, sites=2, site_icc=0.02, intake_sd=5, error_sd=2, change_sd=4,
                          change_intake=-0.3, seed=1)
    t = d.attrs["truth"]
    assert t["var_residual"] == pytest.approx(0.49 * 25 * 4 / 29 + 16 + 4, rel=1e-14)
    total = t["var_site"] + t["var_therapist"] + t["var_residual"]
    assert t["var_therapist"] / total == pytest.approx(0.08, rel=1e-14)
    assert t["var_site"] / total == pytest.approx(0.02, rel=1e-14)
    assert d["site"].nunique() == 2
    assert (d.groupby("therapist")["site"].nunique() == 1).all()  # therapists nested in sites


@pytest.mark.parametrize("icc", [0.05, 0.15])
def test_a_large_practice_recovers_its_icc(icc):
    """1,000 therapists x 50 clients: the ICC estimate within 3.5 standard errors (Donner 1986) of the
    truth, the within-therapist variance within 1% (its relative s.e. is sqrt(2 / 49,000) = 0.6%)."""
    d = simulate_practice(1000, 50, icc=icc, seed=11, scale=None)
    est, _, within = anova_icc(d)
    se = math.sqrt(var_icc(icc, 1000, 50_000))
    assert abs(est - icc) < 3.5 * se, (est, icc, se)
    assert within == pytest.approx(d.attrs["truth"]["var_residual"], rel=0.01)


def test_the_between_therapist_estimate_tracks_the_drawn_effects():
    """Given the drawn u_j, the moment estimate of var(u) is close to their sample variance (unbiased over
    30 practices of 500 x 40: mean difference within 3 of its standard errors)."""
    diff = []
    for seed in range(30):
        d = simulate_practice(500, 40, icc=0.05, seed=100 + seed, scale=None, decimals=None)
        u = np.asarray(d.attrs["truth"]["therapists"]["effect"])
        diff.append(anova_icc(d)[1] - u.var(ddof=1))
    diff = np.asarray(diff)
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / math.sqrt(len(diff))


def test_sites_left_out_fold_into_the_therapist_share():
    """Firth et al. (2019): a two-level analysis of a practice with clinics attributes the clinic variance
    to therapists; by site alone, the site share is recovered."""
    d = simulate_practice(600, 40, icc=0.04, sites=60, site_icc=0.04, seed=5, scale=None)
    est, _, _ = anova_icc(d)
    assert abs(est - 0.08) < 3.5 * math.sqrt(var_icc(0.08, 600, 24_000))
    site_est, _, _ = anova_icc(d, group="site")
    assert abs(site_est - 0.04) < 0.025  # 60 sites of 400 clients: Donner s.e. 0.0075 (+ therapists within)


def test_dropout_is_random_and_leaves_at_least_the_intake():
    T, p = 8, 0.3
    d = simulate_practice(200, 30, icc=0.05, n_sessions=T, dropout=p, seed=2)
    last = d.groupby("client")["session"].max()
    n = len(last)
    early = last < T
    assert abs(early.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert early.sum() == d.attrs["truth"]["n_dropped_out"]
    counts = last[early].value_counts().reindex(range(1, T)).to_numpy()
    expected = early.sum() / (T - 1)
    assert ((counts - expected) ** 2 / expected).sum() < 22.5  # chi-square, 6 df, p = .001
    assert (d.groupby("client")["session"].min() == 1).all()


def test_years_and_a_fixed_experience_slope():
    """With years_slope = -0.5 per year and no other change with experience, the final score falls by
    0.5 a year given intake (least squares on 20,000 clients: s.e. about 0.03)."""
    d = simulate_practice(200, 100, icc=0.05, years=6, years_slope=-0.5, seed=4, scale=None)
    assert d["years"].between(0, 6).all()
    assert (d.groupby("client")["years"].nunique() == 1).all()
    pp = _pre_post(d).join(d.groupby("client")["years"].first())
    X = np.column_stack([np.ones(len(pp)), pp["baseline"], pp["years"]])
    coef = np.linalg.lstsq(X, pp["outcome"].to_numpy(), rcond=None)[0]
    assert coef[2] == pytest.approx(-0.5, abs=0.12)


def test_therapist_slopes_are_drawn_with_slope_sd():
    d = simulate_practice(2000, 2, icc=0.05, years=5, slope_sd=0.4, seed=9)
    b = np.asarray(d.attrs["truth"]["therapists"]["slope"])
    assert b.std(ddof=1) == pytest.approx(0.4, rel=4 * math.sqrt(1 / (2 * 1999)))
    assert d.attrs["truth"]["var_slope"] == pytest.approx(0.16)


def test_scores_kept_inside_the_scale_and_the_share_clipped_recorded():
    d = simulate_practice(50, 20, icc=0.05, intake_mean=36, seed=1)
    assert d["score"].max() == 40 and d["score"].between(0, 40).all()
    assert d.attrs["truth"]["share_clipped"] == pytest.approx((d["score"] == 40).mean(), abs=0.01)
    free = simulate_practice(50, 20, icc=0.05, intake_mean=36, seed=1, scale=None)
    assert free["score"].max() > 40


@pytest.mark.parametrize("kwargs, message", [
    ({"n_therapists": 1}, r"n_therapists = 1; expected a whole number >= 2"),
    ({"n_clients": 2.5}, r"n_clients = 2.5; expected a whole number >= 1"),
    ({"n_sessions": 1}, r"n_sessions = 1; expected a whole number >= 2"),
    ({"icc": 1.0}, r"icc = 1; expected a number in \[0, 1\)"),
    ({"icc": -0.1}, r"icc = -0.1"),
    ({"icc": float("nan")}, r"icc = nan; expected a finite number"),
    ({"icc": "0.05"}, r"icc = '0.05'; expected a finite number"),
    ({"icc": 0.6, "sites": 2, "site_icc": 0.5}, r"icc \+ site_icc = 1.1; expected a sum below 1"),
    ({"site_icc": 0.05}, r"site_icc = 0.05 without sites"),
    ({"sites": 60}, r"sites = 60 with 50 therapists"),
    ({"slope_sd": 0.3}, r"slope_sd and years_slope need years"),
    ({"years": 0}, r"years = 0; expected a number > 0"),
    ({"dropout": 1.5}, r"dropout = 1.5; expected a number in \[0, 1\]"),
    ({"scale": (40, 0)}, r"scale = \(40, 0\); expected finite bounds with low < high"),
    ({"seed": -1}, r"seed = -1; expected a whole number >= 0"),
    ({"change_sd": 0, "error_sd": 0}, r"change_sd and error_sd are both 0"),
])
def test_bad_arguments_are_one_line_input_errors(kwargs, message):
    with pytest.raises(InputError, match=message) as e:
        simulate_practice(**kwargs)
    assert "\n" not in str(e.value)


# --- recovered by the package's own model (therapist_effects: REML, lme4-equal) ---------------------------


@pytest.mark.parametrize("icc", [0.05, 0.15])
def test_therapist_effects_recovers_the_icc_of_a_large_practice(icc):
    """From session-level data (baseline = first score, outcome = last), REML: the ICC within 3.5 Donner
    standard errors of the truth, its 95% profile interval covering it, the residual variance within 1%."""
    import commonfactors as cf

    d = simulate_practice(1000, 50, icc=icc, seed=11, scale=None)
    res = cf.therapist_effects(d, "score", "therapist", client="client", session="session")
    assert res.n_therapists == 1000 and res.n_clients == 50_000 and res.dropped == 0
    assert abs(res.icc - icc) < 3.5 * math.sqrt(var_icc(icc, 1000, 50_000))
    assert res.ci_low < icc < res.ci_high
    assert res.var_residual == pytest.approx(d.attrs["truth"]["var_residual"], rel=0.01)


def test_therapist_effects_recovers_site_and_therapist_shares():
    """Three levels (600 therapists in 60 sites): icc and icc_site within 0.02 of the truth (0.04 each; with
    60 sites the site share's s.e. is about 0.008), the therapist variance within 15%."""
    import commonfactors as cf

    d = simulate_practice(600, 40, icc=0.04, sites=60, site_icc=0.04, seed=5, scale=None)
    res = cf.therapist_effects(d, "score", "therapist", client="client", session="session", site="site")
    assert res.icc == pytest.approx(0.04, abs=0.02) and res.icc_site == pytest.approx(0.04, abs=0.02)
    assert res.var_therapist == pytest.approx(d.attrs["truth"]["var_therapist"], rel=0.15)


def test_the_shipped_synthetic_practice_is_what_it_says():
    """data/synthetic_practice.csv: 15 clients with one session are dropped (the .md says so); the two-level
    profile interval covers 0.07, the therapist share with the site share folded in."""
    import warnings

    import commonfactors as cf

    d = cf.load_dataset("synthetic_practice")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.therapist_effects(d, "score", "therapist", client="client", session="session")
    assert res.dropped == 15 and any("15 clients with a single session" in str(w.message) for w in caught)
    assert res.n_therapists == 50 and res.ci_low < 0.07 < res.ci_high
