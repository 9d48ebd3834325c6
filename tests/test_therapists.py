"""therapist_effects() against lme4 1.1.31 (tests/reference/therapists.R writes the data to
tests/data/therapist_effects/ and lme4's fits to tests/reference/therapists.json).

Tolerances:
- LME4_RTOL (1e-6): variance components, ICC, fixed effects, their standard errors,
  REMLcrit/deviance and logLik of two converged fits. lme4 (bobyqa, rhoend 1e-12) stops with theta about
  1e-8 relative from the minimum, where the criterion is flat to 1e-16: the criteria agree to 1e-14, the
  variance components to ~1e-8.
- The empirical Bayes effects and conditional variances depend on theta linearly, so at our own optimum they
  agree with lme4's to the same ~1e-8 relative as theta (RANEF_RTOL_AT_OPTIMUM = 1e-6). Evaluated at lme4's
  own theta (the formula alone, without the two optimisers) they agree to RANEF_RTOL = 1e-8.
- CRIT_RTOL (1e-8): REMLcrit and deviance, flat at the minimum (agree to ~1e-14).
- PROFILE_ATOL (1e-6): the ICC's profile interval against the R recipe (devFunOnly + uniroot, tol 1e-13).
"""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import BoundaryWarning, DroppedRowsWarning, InputError
from commonfactors.models import _lmm
from reference import HERE, load

REF = load("therapists")
DATA = HERE.parent / "data" / "therapist_effects"
LME4_RTOL = 1e-6
#: REMLcrit / deviance (1e-8 relative; measured 1e-14)
CRIT_RTOL = 1e-8
RANEF_RTOL_AT_OPTIMUM = 1e-6
RANEF_RTOL = 1e-8
PROFILE_ATOL = 1e-6
#: the same fit computed once and in a batch of data sets (the bootstrap's path): one algorithm, the same
#: arithmetic in another order
LANES_RTOL = 1e-9

CASES = {  # reference case -> (file, therapist_effects arguments)
    "balanced": ("balanced.csv", {"outcome": "post", "therapist": "therapist", "client": "client",
                                  "baseline": "pre"}),
    "unbalanced": ("unbalanced.csv", {"outcome": "post", "therapist": "therapist", "baseline": "pre"}),
    "covariates": ("covariates.csv", {"outcome": "post", "therapist": "therapist", "baseline": "pre",
                                      "mods": "~ age + C(dx)"}),
    "boundary": ("boundary.csv", {"outcome": "post", "therapist": "therapist"}),
    "sessions": ("sessions.csv", {"outcome": "score", "therapist": "therapist", "client": "client",
                                  "session": "session"}),
    "site_random": ("sites.csv", {"outcome": "post", "therapist": "therapist", "baseline": "pre",
                                  "site": "site"}),
    "site_fixed": ("sites.csv", {"outcome": "post", "therapist": "therapist", "baseline": "pre",
                                 "site": "site", "site_effect": "fixed"}),
}
PARAMS = [(case, method) for case in CASES for method in ("REML", "ML")]
_FITS = {}


def _fit(case, method, **extra):
    key = (case, method, tuple(sorted(extra.items())))
    if key not in _FITS:
        file, kwargs = CASES[case]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[key] = cf.therapist_effects(pd.read_csv(DATA / file), method=method, **kwargs, **extra)
    return _FITS[key]


def _rel(got, expected):
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))


@pytest.mark.parametrize(("case", "method"), PARAMS, ids=[f"{c}-{m}" for c, m in PARAMS])
def test_fit_equals_lme4(case, method):
    res, ref = _fit(case, method), REF[case][method]
    assert res.n_clients == ref["n"]
    assert res.reml_crit == pytest.approx(ref["crit"], rel=CRIT_RTOL)
    assert res.loglik == pytest.approx(ref["loglik"], rel=CRIT_RTOL)
    assert res.var_residual == pytest.approx(ref["var_residual"], rel=LME4_RTOL)
    assert res.var_therapist == pytest.approx(ref["var_therapist"], rel=LME4_RTOL, abs=1e-12)
    assert res.icc == pytest.approx(ref["icc"], rel=LME4_RTOL, abs=1e-12)
    renamed = {"first": "baseline"}  # session-level data: the first session's score
    assert list(res.coefficients.term) == [renamed.get(t, t) for t in ref["fixef"]]
    assert _rel(res.coefficients.estimate, list(ref["fixef"].values())) < LME4_RTOL
    assert _rel(res.coefficients.se, list(ref["se"].values())) < LME4_RTOL
    assert res.singular == ref["singular"]
    if case == "site_random":
        assert res.var_site == pytest.approx(ref["var_site"], rel=LME4_RTOL)
        assert res.icc_site == pytest.approx(ref["icc_site"], rel=LME4_RTOL)
        assert ref["theta_names"] == ["therapist.(Intercept)", "site.(Intercept)"]
    else:
        assert res.var_site is None and res.icc_site is None
    assert res.theta == pytest.approx(list(np.atleast_1d(ref["theta"])), rel=LME4_RTOL, abs=1e-8)


@pytest.mark.parametrize(("case", "method"), PARAMS, ids=[f"{c}-{m}" for c, m in PARAMS])
def test_empirical_bayes_effects_equal_lme4_ranef_condvar(case, method):
    res, ref = _fit(case, method), REF[case][method]["ranef"]
    assert [str(t) for t in res.ranef.therapist] == ref["therapist"]
    scale = max(np.abs(ref["eb"]).max(), 1e-300)
    assert np.abs(res.ranef.eb - ref["eb"]).max() <= RANEF_RTOL_AT_OPTIMUM * scale + 1e-12
    assert _rel(res.ranef.se ** 2, ref["condvar"]) < RANEF_RTOL_AT_OPTIMUM or max(ref["condvar"]) < 1e-12


def _engine_at(case, method, theta):
    """The engine evaluated at a given theta (lme4's), and the EB effects and conditional variances there."""
    res = _fit(case, method)
    file, kw = CASES[case]
    d = pd.read_csv(DATA / file)
    X = np.column_stack([np.ones(len(d)), d["pre"]]) if "pre" in kw.values() else np.ones((len(d), 1))
    g = pd.factorize(d["therapist"], sort=True)[0]
    site_of = None
    if case == "site_random":
        site_of = np.zeros(g.max() + 1, dtype=int)
        site_of[g] = pd.factorize(d["site"], sort=True)[0]
    st = _lmm.sums(X, d[kw["outcome"]].to_numpy(float), g, site_of)
    tau = np.square(theta)
    ev = _lmm.evaluate(tau[:1], tau[1:] if len(tau) > 1 else 0.0, st, reml=method == "REML")
    sigma2 = float(ev.sigma2[0])
    h11 = st.n / ev.d[0] - (0 if ev.e is None else ev.e[0][site_of] * (st.n / ev.d[0]) ** 2)
    return res, ev, tau[0] * ev.resid_t[0], sigma2 * tau[0] * (1 - tau[0] * h11)


@pytest.mark.parametrize(("case", "method"), [p for p in PARAMS if p[0] in ("balanced", "unbalanced",
                                                                          "boundary", "site_random")])
def test_empirical_bayes_formula_at_lme4_theta(case, method):
    ref = REF[case][method]
    _, ev, eb, condvar = _engine_at(case, method, np.atleast_1d(np.asarray(ref["theta"], dtype=float)))
    assert float(ev.crit[0]) == pytest.approx(ref["crit"], rel=1e-12)
    scale = max(np.abs(ref["ranef"]["eb"]).max(), 1e-300)
    assert np.abs(eb - ref["ranef"]["eb"]).max() <= RANEF_RTOL * scale + 1e-15
    cv = np.asarray(ref["ranef"]["condvar"])
    assert np.abs(condvar - cv).max() <= RANEF_RTOL * cv.max() + 1e-15


@pytest.mark.parametrize(("case", "method"), [p for p in PARAMS if p[0] not in ("site_fixed",)])
def test_profile_interval_equals_the_r_recipe(case, method):
    res, ref = _fit(case, method), REF[case][method]["profile"]["level95"]
    assert res.ci_method == "profile" and res.level == 95
    assert res.ci_low == pytest.approx(ref["ci_low"], abs=PROFILE_ATOL)
    assert res.ci_high == pytest.approx(ref["ci_high"], abs=PROFILE_ATOL)
    assert res.ci_low <= res.icc <= res.ci_high


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_profile_interval_at_90_percent(method):
    res = _fit("balanced", method, level=90)
    ref = REF["balanced"][method]["profile"]["level90"]
    assert res.ci_low == pytest.approx(ref["ci_low"], abs=PROFILE_ATOL)
    assert res.ci_high == pytest.approx(ref["ci_high"], abs=PROFILE_ATOL)
    wide = _fit("balanced", method)
    assert wide.ci_low < res.ci_low and res.ci_high < wide.ci_high
    assert res.expected_flagged == pytest.approx(0.1 * 30)


def test_boundary_fit_gives_icc_zero_with_a_warning_not_an_error():
    file, kw = CASES["boundary"]
    with pytest.warns(BoundaryWarning, match="singular"):
        res = cf.therapist_effects(pd.read_csv(DATA / file), **kw)
    assert REF["boundary"]["REML"]["singular"] and REF["boundary"]["REML"]["theta"] == 0
    assert res.icc == 0 and res.var_therapist == 0 and res.singular and res.ci_low == 0
    assert res.ci_high == pytest.approx(REF["boundary"]["REML"]["profile"]["level95"]["ci_high"], abs=1e-6)
    assert (res.ranef.eb == 0).all() and (res.ranef.flag == 0).all() and res.n_flagged == 0
    assert any("singular" in w for w in res.warnings)


def test_sessions_first_and_last_score_and_single_session_clients_dropped():
    ref = REF["sessions"]
    file, kw = CASES["sessions"]
    with pytest.warns(DroppedRowsWarning, match=f"{ref['dropped']} clients with a single session omitted"):
        res = cf.therapist_effects(pd.read_csv(DATA / file), **kw)
    assert res.dropped == ref["dropped"] and res.n_clients == ref["n_clients"]
    assert list(res.coefficients.term) == ["(Intercept)", "baseline"]


def test_therapists_with_one_client_are_kept():
    res = _fit("unbalanced", "REML")
    assert res.n_therapists == 40
    assert (res.ranef.n == 1).sum() == 6
    singles = res.ranef[res.ranef.n == 1]
    # one client: the shrinkage factor is var_t / (var_t + var_residual), the widest intervals
    assert (singles.se > res.ranef.se[res.ranef.n > 1].max()).all()


def test_flags_follow_the_intervals_and_the_expected_count_is_alpha_m():
    res = _fit("balanced", "REML")
    r = res.ranef
    z = 1.959963984540054
    assert np.allclose(r.ci_low, r.eb - z * r.se, rtol=1e-12) and np.allclose(r.ci_high, r.eb + z * r.se)
    flags = np.where(r.ci_low > 0, 1, np.where(r.ci_high < 0, -1, 0))
    assert (r.flag == flags).all() and res.n_flagged == int((flags != 0).sum())
    assert res.expected_flagged == pytest.approx(0.05 * 30)


def test_plot_caterpillar_draws_one_row_per_therapist_into_a_given_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = _fit("unbalanced", "REML")
    fig, ax = plt.subplots()
    try:
        assert res.plot_caterpillar(ax=ax) is ax
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert len(labels) == res.n_therapists and any("(n = 1)" in t for t in labels)
    finally:
        plt.close(fig)


def test_mapping_input_equals_the_dataframe():
    d = pd.read_csv(DATA / "balanced.csv")
    res = cf.therapist_effects({c: d[c].tolist() for c in d.columns}, "post", "therapist", baseline="pre")
    assert res.icc == pytest.approx(_fit("balanced", "REML").icc, rel=1e-14)


def test_missing_values_are_dropped_and_named():
    d = pd.read_csv(DATA / "balanced.csv")
    d.loc[[4, 9], "post"] = np.nan
    d.loc[11, "pre"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"3 rows with a missing value omitted \(rows 4, 9, 11\)"):
        res = cf.therapist_effects(d, "post", "therapist", baseline="pre")
    assert res.n_clients == 357 and res.dropped == 3


def test_to_dict_has_the_contract_keys_and_is_plain_json():
    res = _fit("site_random", "REML")
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    for key in ("icc", "ci_low", "ci_high", "var_therapist", "var_residual", "n_therapists", "n_clients",
                "dropped", "singular", "method", "ci_method", "level", "coefficients", "ranef", "var_site"):
        assert key in d
    assert set(d["coefficients"][0]) == {"term", "estimate", "se", "stat", "pval", "ci_low", "ci_high"}
    assert set(d["ranef"][0]) == {"therapist", "n", "eb", "se", "ci_low", "ci_high", "flag"}
    assert d["n_sites"] == 6 and d["site_effect"] == "random"
    text = str(res.summary())
    assert "ICC (therapist) = 0.0259" in text and "ICC (site) = 0.0782" in text
    assert "REML criterion at convergence: 1770.2856" in text
    assert "Formula: post ~ pre + (1 | site) + (1 | therapist)" in text and d["formula"] in text


def test_wald_fixed_effects():
    c = _fit("covariates", "REML").coefficients
    z = 1.959963984540054
    assert np.allclose(c.stat, c.estimate / c.se, rtol=1e-14)
    assert np.allclose(c.ci_low, c.estimate - z * c.se, rtol=1e-12)
    from math import erfc
    assert np.allclose(c.pval, [erfc(abs(s) / math.sqrt(2)) for s in c.stat], rtol=1e-10)


# ---- the engine ------------------------------------------------------------------------------------------

def _simulated(m=200, k=20, icc=0.1, seed=3):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(m), k)
    x = rng.normal(25, 6, g.shape[0])
    y = 10 + 0.6 * x + rng.normal(0, math.sqrt(icc / (1 - icc)) * 4, m)[g] + rng.normal(0, 4, g.shape[0])
    return pd.DataFrame({"therapist": g, "pre": x, "post": y})


@pytest.mark.parametrize("sited", [False, True])
def test_batched_fits_equal_single_fits(sited):
    """The bootstrap's path (L data sets fitted at once) against one fit per data set."""
    rng = np.random.default_rng(1)
    m, n = 24, 200
    g = np.sort(rng.integers(0, m, n))
    g = np.unique(g, return_inverse=True)[1]
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    site_of = (np.arange(g.max() + 1) % 4) if sited else None
    Y = (X @ [1, 0.5])[:, None] + rng.normal(0, 0.5, (g.max() + 1, 5))[g] + rng.normal(size=(n, 5))
    if sited:
        Y += rng.normal(0, 0.7, (4, 5))[site_of[g]]
    batch = _lmm.fit(_lmm.sums(X, Y, g, site_of), reml=True, lanes=5)
    for i in range(5):
        one = _lmm.fit(_lmm.sums(X, Y[:, i], g, site_of), reml=True)
        assert one.ev.crit[0] == pytest.approx(batch.ev.crit[i], rel=1e-13)
        assert np.allclose(one.theta[0], batch.theta[i], rtol=LANES_RTOL, atol=1e-12)


def test_bootstrap_is_reproducible_with_a_seed():
    d = pd.read_csv(DATA / "balanced.csv")
    a = cf.therapist_effects(d, "post", "therapist", baseline="pre", ci="bootstrap", n_boot=200, seed=7)
    b = cf.therapist_effects(d, "post", "therapist", baseline="pre", ci="bootstrap", n_boot=200, seed=7)
    c = cf.therapist_effects(d, "post", "therapist", baseline="pre", ci="bootstrap", n_boot=200, seed=8)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.ci_method == "bootstrap" and a.n_boot == 200 and a.icc == _fit("balanced", "REML").icc


def test_bootstrap_interval_is_close_to_the_profile_one_on_a_large_set():
    """200 therapists x 20 clients, ICC 0.1 (estimate 0.112, profile interval [0.0864, 0.1427]): both
    intervals approach estimate -+ 1.96 se at this size; what is left is the skewness of the ICC's sampling
    distribution, which the two treat differently (measured with 20,000 replicates: the bootstrap's ends lie
    0.0013 and 0.0027 below the profile's), plus the Monte Carlo error of the ends with 2,000 replicates
    (standard deviation 0.0005 and 0.0012 over 10 seeds, measured). Tolerance 0.005."""
    d = _simulated()
    prof = cf.therapist_effects(d, "post", "therapist", baseline="pre")
    boot = cf.therapist_effects(d, "post", "therapist", baseline="pre", ci="bootstrap", n_boot=2000, seed=1)
    assert boot.ci_low == pytest.approx(prof.ci_low, abs=0.005)
    assert boot.ci_high == pytest.approx(prof.ci_high, abs=0.005)


def test_bootstrap_with_random_sites_is_reproducible():
    d = pd.read_csv(DATA / "sites.csv")
    kw = {"baseline": "pre", "site": "site", "ci": "bootstrap", "n_boot": 40}
    a = cf.therapist_effects(d, "post", "therapist", seed=3, **kw)
    b = cf.therapist_effects(d, "post", "therapist", seed=3, **kw)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert 0 <= a.ci_low <= a.ci_high < 1 and a.n_boot == 40
    assert a.icc == pytest.approx(REF["site_random"]["REML"]["icc"], rel=LME4_RTOL)


def test_a_site_variance_at_zero_warns_and_leaves_the_two_level_fit():
    d = pd.read_csv(DATA / "balanced.csv")
    d["site"] = [f"S{int(t[1:]) % 3}" for t in d.therapist]
    with pytest.warns(BoundaryWarning, match="the site variance is estimated at 0"):
        res = cf.therapist_effects(d, "post", "therapist", baseline="pre", site="site")
    two = _fit("balanced", "REML")
    assert res.singular and res.var_site == 0 and res.icc_site == 0
    assert res.icc == pytest.approx(two.icc, rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx((two.ci_low, two.ci_high), rel=1e-6)
    assert res.reml_crit == pytest.approx(two.reml_crit, rel=1e-13)


def test_a_missing_moderator_drops_the_client_with_a_warning():
    d = pd.read_csv(DATA / "covariates.csv")
    d.loc[6, "age"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"1 client with a missing moderator omitted \(row 6\)"):
        res = cf.therapist_effects(d, "post", "therapist", baseline="pre", mods="~ age + C(dx)")
    assert res.n_clients == REF["covariates"]["REML"]["n"] - 1 and res.dropped == 1


def test_labels_by_hashing_equal_the_sorted_labels_of_checks():
    """The fast path for text columns gives group_codes' codes and levels: stripped text, missing spellings,
    values of mixed types read as their text."""
    from commonfactors._checks import group_codes
    from commonfactors.models.therapists import _codes

    d = pd.DataFrame({"t": ["T2", " T1", "T1 ", None, "NA", np.nan, "", 3, "T10", "<NA>", "x y"]},
                     dtype=object)
    want, got = group_codes(d, "t", name="t", n=len(d)), _codes(d, "t", name="t", n=len(d))
    assert got[0].tolist() == want[0].tolist() == [3, 1, 1, -1, -1, -1, -1, 0, 2, -1, 4]
    assert [str(v) for v in got[1]] == [str(v) for v in want[1]] == ["3", "T1", "T10", "T2", "x y"]


# ---- input errors name the row and the column --------------------------------------------------------------

def _frame():
    return pd.read_csv(DATA / "balanced.csv")


def test_error_non_numeric_outcome_names_row_and_column():
    d = _frame()
    d["post"] = d["post"].astype(object)
    d.loc[17, "post"] = "n/a?"
    with pytest.raises(InputError, match=r"row 17, column 'post': got 'n/a\?'"):
        cf.therapist_effects(d, "post", "therapist", baseline="pre")


def test_error_client_under_two_therapists():
    d = _frame()
    d.loc[20, "client"] = d.loc[3, "client"]
    with pytest.raises(InputError, match=r"row 20, column 'therapist': client 'C0004' is under therapist "
                                         r"'T02' here and 'T01' in row 3"):
        cf.therapist_effects(d, "post", "therapist", client="client", baseline="pre")


def test_error_client_twice_in_client_level_data():
    d = _frame()
    d.loc[5, "client"] = d.loc[3, "client"]
    with pytest.raises(InputError, match=r"row 5, column 'client': client 'C0004' appears twice "
                                         r"\(also row 3\)"):
        cf.therapist_effects(d, "post", "therapist", client="client", baseline="pre")


def test_error_duplicate_session():
    d = pd.read_csv(DATA / "sessions.csv")
    two = d.groupby("client").filter(lambda x: len(x) >= 2)
    i, j = two.index[two.client == two.client.iloc[0]][:2]
    d.loc[j, "session"] = d.loc[i, "session"]
    with pytest.raises(InputError, match=rf"column 'session': client '{d.client[i]}' has session "
                                         rf"{d.session[i]} twice"):
        cf.therapist_effects(d, "score", "therapist", client="client", session="session")


def test_error_missing_column_suggests_the_closest():
    with pytest.raises(InputError, match=r"no column 'therapsit' \(did you mean 'therapist'\?\)"):
        cf.therapist_effects(_frame(), "post", "therapsit")


def test_error_therapist_in_two_sites():
    d = pd.read_csv(DATA / "sites.csv")
    row = d.index[d.therapist == "T01"][0]
    d.loc[row, "site"] = "S2"
    with pytest.raises(InputError, match=r"column 'site': therapist 'T01' works in two sites"):
        cf.therapist_effects(d, "post", "therapist", site="site")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"method": "MLE"}, "method='MLE' is not one of"),
    ({"ci": "wald"}, "ci='wald' is not one of"),
    ({"site_effect": "mixed", "site": "therapist"}, "site_effect='mixed' is not one of"),
    ({"n_boot": 5}, "n_boot=5"),
    ({"session": "pre"}, "session='pre' without client="),
])
def test_error_bad_options(kwargs, match):
    with pytest.raises(InputError, match=match):
        cf.therapist_effects(_frame(), "post", "therapist", **kwargs)


@pytest.mark.parametrize(("change", "match"), [
    (lambda d: d.assign(post=5.0), r"column 'post': every client's 'post' is 5"),
    (lambda d: d.assign(post=2 * d.pre + 1),
     r"column 'post': the fixed effects \(\(Intercept\), pre\) fit 'post' exactly"),
    (lambda d: d.assign(post=d.therapist.str[1:].astype(float)), r"column 'therapist': 'post' does not vary "
                                                                   r"within therapists"),
    (lambda d: d.assign(post=d.post.where(d.index != 8, 3e101)), r"row 8, column 'post': got 3e\+101"),
])
def test_error_outcomes_without_residual_variance_or_beyond_double_precision(change, match):
    """Refused rather than fitted: the residual variance would be 0 (the criterion has no minimum) or the
    squares would overflow."""
    with pytest.raises(InputError, match=match):
        cf.therapist_effects(change(_frame()), "post", "therapist", baseline="pre")


def test_error_collinear_fixed_effects():
    d = _frame().assign(pre2=lambda x: 2 * x.pre + 1)
    with pytest.raises(InputError, match=r"the fixed effects are collinear \(\(Intercept\), pre, pre2\)"):
        cf.therapist_effects(d, "post", "therapist", baseline="pre", mods="~ pre2")


def test_error_every_row_missing():
    d = pd.read_csv(DATA / "sessions.csv").assign(score=np.nan)
    with pytest.raises(InputError, match="every row has a missing value in one of 'score', 'therapist'"):
        cf.therapist_effects(d, "score", "therapist", client="client", session="session")


def test_error_every_client_with_a_single_session():
    d = pd.read_csv(DATA / "sessions.csv").drop_duplicates("client")
    left = r"no client is left to fit \(\d+ dropped\).*two sessions or more"
    with pytest.warns(DroppedRowsWarning), pytest.raises(InputError, match=left):
        cf.therapist_effects(d, "score", "therapist", client="client", session="session")


def test_error_one_therapist_and_one_client_each():
    d = _frame()
    with pytest.raises(InputError, match="clients of two therapists or more"):
        cf.therapist_effects(d[d.therapist == "T01"], "post", "therapist")
    with pytest.raises(InputError, match="more clients than therapists"):
        cf.therapist_effects(d, "post", "client")
