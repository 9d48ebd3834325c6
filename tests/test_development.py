"""therapist_development() and therapist_benchmark() (models/development.py) against lme4 1.1.31 and
lmerTest 3.1.3 (tests/reference/development.R): fixed effects, Satterthwaite df, t and p, variance
components, correlation, REMLcrit and each therapist's slope (lme4's ``coef``) to 1e-5 relative (the brief's
tolerance is 1e-4; the unbalanced set's G, 1e-4: see tests/test_lmm_slopes.py); Henderson's prediction
variances against the inverse of the dense mixed model equations (an oracle, 1e-9); one-line input errors.
"""

import functools
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import commonfactors as cf
from commonfactors.errors import BoundaryWarning, DroppedRowsWarning, InputError
from commonfactors.models.development import therapist_benchmark, therapist_development
from reference import load

DATA = __import__("pathlib").Path(__file__).parent / "data"
REF = load("development")["fits"]
RTOL = 1e-5


def read(name):
    return pd.read_csv(DATA / f"development_{name}.csv")


@functools.cache
def result(name, baseline=True, method="REML"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        return therapist_development(read(name), "y", "therapist", "time", client="client",
                                     baseline="baseline" if baseline else None, method=method)


CASES = {"slope_baseline_reml": ("slopes", True, "REML"), "slope_reml": ("slopes", False, "REML"),
         "slope_ml": ("slopes", False, "ML"), "unbalanced_reml": ("unbalanced", True, "REML"),
         "singular_reml": ("singular", False, "REML"), "astray_reml": ("astray", True, "REML")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixed_effects_with_satterthwaite_df_equal_lmertests(case):
    r, ref = result(*CASES[case]), REF[case]
    c = r.coefficients
    assert list(c["term"]) == ref["terms"]
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("df", "df"), ("stat", "t")):
        np.testing.assert_allclose(c[ours], ref[theirs], rtol=RTOL, err_msg=ours)
    # p-values on the log scale: in the far tail (1e-44) p moves by (df + 1) times t's relative difference
    np.testing.assert_allclose(np.log(c["pval"]), np.log(ref["p"]), rtol=RTOL)
    crit = stats.t.ppf(0.975, c["df"])
    np.testing.assert_allclose(c["ci_low"], c["estimate"] - crit * c["se"], rtol=1e-12)
    np.testing.assert_allclose(c["ci_high"], c["estimate"] + crit * c["se"], rtol=1e-12)
    assert r.slope == c["estimate"][1] and r.slope_df == c["df"][1] and r.slope_ci_low == c["ci_low"][1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_variance_components_and_criterion_equal_lme4s(case):
    r, ref = result(*CASES[case]), REF[case]
    rtol = 1e-4 if case == "unbalanced_reml" else RTOL
    np.testing.assert_allclose([r.sd_intercept, r.sd_slope, r.sigma], [*ref["sd"], ref["sigma"]], rtol=rtol)
    assert r.corr == pytest.approx(ref["corr"], rel=rtol)
    assert r.reml_crit == pytest.approx(ref["crit"], rel=1e-10)
    assert r.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    assert r.singular == ref["singular"]
    assert r.method == ("ML" if case.endswith("_ml") else "REML")


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_therapists_slope_equals_lme4s_coef(case):
    r, ref = result(*CASES[case]), REF[case]
    s = r.slopes
    assert [str(t) for t in s["therapist"]] == ref["groups"]
    coef = np.array(ref["coef"]).reshape(len(s), -1)
    scale = np.abs(coef[:, :2]).max(axis=0)
    assert np.all(np.abs(s[["intercept", "slope"]].to_numpy() - coef[:, :2]) <= 1e-4 * scale)
    re = np.array(ref["ranef"]).reshape(len(s), 2)
    modes = s[["ranef_intercept", "ranef_slope"]].to_numpy()
    assert np.all(np.abs(modes - re) <= 1e-4 * np.abs(re).max(axis=0))
    assert s["n"].sum() == r.n


def _dense_mme(r):
    """The inverse of Henderson's mixed model equations, dense: Var([beta_hat; b_hat - b]) / 1."""
    fit, d = r.fit, r.data
    X, g = d["X"], d["g"]
    n, m = X.shape[0], fit.m
    Zf = np.zeros((n, 2 * m))
    Zf[np.arange(n), 2 * g] = 1.0
    Zf[np.arange(n), 2 * g + 1] = d["time"]
    Ginv = np.kron(np.eye(m), np.linalg.inv(fit.G))
    C = np.block([[X.T @ X, X.T @ Zf], [Zf.T @ X, Zf.T @ Zf + fit.sigma2 * Ginv]]) / fit.sigma2
    return np.linalg.inv(C)


def test_prediction_variances_equal_the_inverse_of_the_mixed_model_equations():
    r = result("slopes", True, "REML")
    fit, p = r.fit, r.fit.p
    Cinv = _dense_mme(r)
    np.testing.assert_allclose(Cinv[:p, :p], fit.cov_beta, rtol=1e-9)
    for j in (0, 7, 29):
        cv = Cinv[p + 2 * j:p + 2 * j + 2, p + 2 * j:p + 2 * j + 2]
        a = np.zeros(p + 2 * fit.m)
        a[1] = 1.0
        a[p + 2 * j + 1] = 1.0  # beta_time + b_j,time
        assert r.slopes["se"][j] ** 2 == pytest.approx(a @ Cinv @ a, rel=1e-9)
        # lme4's condVar is the conditional variance given beta: smaller than the prediction error variance
        assert np.all(np.diag(fit.ranef_cov[j]) <= np.diag(cv) + 1e-15)


def test_benchmark_lines_at_average_case_mix():
    r = result("slopes", True, "REML")
    d = read("slopes")
    b = therapist_benchmark(r, "T03")
    mine = d[d.therapist == "T03"]
    assert list(b["time"]) == sorted(mine["time"].unique()) and b["n"].sum() == len(mine)
    beta = r.coefficients["estimate"].to_numpy()
    xbar = d["baseline"].mean()
    np.testing.assert_allclose(b["benchmark"], beta[0] + beta[1] * b["time"] + beta[2] * xbar, rtol=1e-12)
    s = r.slopes.set_index("therapist").loc["T03"]
    np.testing.assert_allclose(b["fitted"], s["intercept"] + s["slope"] * b["time"] + beta[2] * xbar,
                               rtol=1e-12)
    one = mine[mine.time == b["time"][0]]
    assert b["observed"][0] == pytest.approx((one.y - beta[2] * (one.baseline - xbar)).mean(), rel=1e-12)
    # the therapist's interval, against the dense mixed model equations
    Cinv, p, j = _dense_mme(r), r.fit.p, list(r.slopes["therapist"]).index("T03")
    t = 4.0
    a = np.zeros(p + 2 * r.fit.m)
    a[:p] = [1.0, t, xbar]
    a[p + 2 * j], a[p + 2 * j + 1] = 1.0, t
    g = therapist_benchmark(r, "T03", times=[t])
    half = (g["fitted_ci_high"][0] - g["fitted_ci_low"][0]) / 2
    assert half == pytest.approx(stats.norm.ppf(0.975) * math.sqrt(a @ Cinv @ a), rel=1e-9)
    assert math.isnan(g["observed"][0]) and g["n"][0] == 0
    # the practice line's interval uses Satterthwaite's df of its contrast (the time row's df at x = e_time)
    half_b = (g["benchmark_ci_high"][0] - g["benchmark_ci_low"][0]) / 2
    x = np.array([1.0, t, xbar])
    df = r.fit.satterthwaite_df(x)
    assert half_b == pytest.approx(stats.t.ppf(0.975, df) * math.sqrt(x @ r.fit.cov_beta @ x), rel=1e-12)
    assert df not in set(r.coefficients["df"])  # a df of its own contrast, not a coefficient's


def test_singular_fit_warns_and_returns():
    with pytest.warns(BoundaryWarning, match="singular"):
        r = therapist_development(read("singular"), "y", "therapist", "time")
    assert r.singular and r.corr == pytest.approx(-1.0, abs=1e-12)
    assert r.warnings and "singular" in r.warnings[0]


def test_result_contract():
    r = result("slopes", True, "REML")
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert {"slope", "slope_se", "slope_df", "slope_pval", "slope_ci_low", "slope_ci_high", "sd_intercept",
            "sd_slope", "corr", "sigma", "reml_crit", "singular", "coefficients", "slopes"} <= set(d)
    assert d["coefficients"][1]["term"] == "time" and len(d["slopes"]) == 30
    assert list(r.to_frame().columns) == ["term", "estimate", "se", "df", "stat", "pval", "ci_low", "ci_high"]
    text = str(r.summary())
    assert "(1 + time | therapist)" in text and f"{r.reml_crit:.4f}" in text and "Satterthwaite" in text
    assert cf.therapist_development is therapist_development


def test_mods_formula_and_missing_rows():
    d = read("slopes")
    d["group"] = np.where(d["client"] % 3 == 0, "a", "b")
    d.loc[4, "baseline"] = np.nan
    with pytest.warns(DroppedRowsWarning, match="row 4"):
        r = therapist_development(d, "y", "therapist", "time", baseline="baseline", mods="~ C(group)")
    assert list(r.coefficients["term"]) == ["(Intercept)", "time", "baseline", "groupb"]
    assert r.dropped == 1 and r.n == len(d) - 1
    # the formula's treatment coding equals a 0/1 column given as a numeric moderator
    d["groupb"] = (d["group"] == "b").astype(float)
    with pytest.warns(DroppedRowsWarning):
        r2 = therapist_development(d, "y", "therapist", "time", baseline="baseline", mods="~ groupb")
    np.testing.assert_allclose(r2.coefficients["estimate"], r.coefficients["estimate"], rtol=1e-9)
    assert r2.reml_crit == pytest.approx(r.reml_crit, rel=1e-12)


@pytest.mark.parametrize("change, match", [
    (lambda d: d.rename(columns={"time": "years"}), r"no column 'time'"),
    (lambda d: d.assign(time=d["time"].astype(object).where(d.index != 5, "ten")), r"row 5.*'time'"),
    (lambda d: d.assign(client=d["client"].where(d.index != 9, 3)), r"row 9.*'client'.*client 3 appears"),
    (lambda d: d[d.therapist.isin(["T01", "T02"])], r"three therapists"),
    (lambda d: d.assign(time=1.0), r"time is 1 in every row"),
    (lambda d: d.groupby("therapist").head(2), r"no more rows than random effects"),
])
def test_bad_input_is_one_line(change, match):
    d = change(read("slopes"))
    with pytest.raises(InputError, match=match) as e:
        therapist_development(d, "y", "therapist", "time", client="client")
    assert "\n" not in str(e.value)


def test_bad_options_and_unknown_therapist():
    d = read("slopes")
    with pytest.raises(InputError, match="method"):
        therapist_development(d, "y", "therapist", "time", method="GLS")
    r = result("slopes", True, "REML")
    with pytest.raises(InputError, match="no therapist 'T99'"):
        therapist_benchmark(r, "T99")


def test_level_sets_the_t_intervals():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        r = therapist_development(read("slopes"), "y", "therapist", "time", level=0.9)
    c = r.coefficients
    assert r.level == 90.0
    np.testing.assert_allclose(c["ci_high"], c["estimate"] + stats.t.ppf(0.95, c["df"]) * c["se"], rtol=1e-12)
    s = r.slopes
    np.testing.assert_allclose(s["ci_high"] - s["slope"], stats.norm.ppf(0.95) * s["se"], rtol=1e-12)
