"""meta_analysis() / fit(): options, degenerate inputs, subgroups, warnings, oracle and property tests.

Reference numbers not in tests/conformance/cases.json were computed with metafor 3.8-1, mostly on
tests/conformance/inputs/mr_bcg_RR_alloc.csv (the BCG log risk ratios of dat.bcg with alloc), by
tests/reference/univariate.R (the calls) into tests/reference/univariate.json.
"""

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import commonfactors as cf
from commonfactors._checks import effect_data
from commonfactors.errors import DroppedRowsWarning, SmallKWarning
from commonfactors.io import read_table
from commonfactors.models._wls import is_intercept_only
from commonfactors.models.univariate import fit, normalize_options
from commonfactors.results.meta import MetaResult, SubgroupResult
from conformance_cases import HERE
from reference import load
from tolerances import (
    ALGEBRA_RTOL,
    ATOL_FLOOR,
    IDENTITY_RTOL,
    METAFOR_RTOL,
    PROPERTY_ATOL,
    PROPERTY_RTOL,
    printed,
    rtol_for,
)

RTOL = METAFOR_RTOL["rma"]
REFERENCE = load("univariate")


@pytest.fixture(scope="module")
def bcg():
    return read_table(HERE / "inputs" / "mr_bcg_RR_alloc.csv")


def close(a, b, rtol=RTOL, atol=ATOL_FLOOR):
    return abs(a - b) <= atol + rtol * abs(b)


# ---------------------------------------------------------------- options


def test_options_are_normalised_in_one_place():
    assert normalize_options("reml", "HKSJ", 0.9) == ("REML", "knha", 90.0)
    assert normalize_options("DL", "t", 95) == ("DL", "t", 95.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "XYZ"},
     r"method='XYZ' is not one of FE, EE, CE, DL, HE, HS, SJ, ML, REML, EB, PM, PMM, GENQ"),
    ({"test": "wald"}, r"test='wald' is not one of z, t, knha \(or its alias hksj\)"),
    ({"level": 100}, r"level=100 is not between 0 and 100"),
    ({"level": "high"}, r"level='high' is not a number"),
])
def test_bad_options_raise_valueerror_naming_allowed_values(bcg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cf.meta_analysis(bcg, **kwargs)


def test_hksj_is_an_alias_of_knha(bcg):
    a = cf.meta_analysis(bcg, test="hksj").to_dict()
    b = cf.meta_analysis(bcg, test="knha").to_dict()
    assert a == b and a["test"] == "knha"


def test_sei_gives_the_same_model_as_vi(bcg):
    a = cf.meta_analysis(yi=bcg["yi"].to_numpy(), vi=bcg["vi"].to_numpy())
    b = cf.meta_analysis(yi=bcg["yi"].to_numpy(), sei=np.sqrt(bcg["vi"].to_numpy()))
    assert close(a.estimate, b.estimate, IDENTITY_RTOL) and close(a.tau2, b.tau2, ALGEBRA_RTOL)


# ---------------------------------------------------------------- tests and levels against metafor


def test_t_test_and_prediction_interval_match_metafor(bcg):
    r = cf.meta_analysis(bcg, test="t")
    expected = {f: REFERENCE["t_test"][f]
                for f in ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high")}
    for f, e in expected.items():
        assert close(getattr(r, f), e), f
    assert r.df == 12


def test_t_test_omnibus_is_an_f_test_as_metafor(bcg):
    expected = REFERENCE["t_test_mods"]
    r = cf.meta_analysis(bcg, mods="~ alloc", test="t")
    assert close(r.qm, expected["qm"]) and close(r.qm_pval, expected["qm_pval"])
    for c, e in zip(r.coefficients, expected["pval"], strict=True):
        assert close(c.pval, e)
    assert [c.name for c in r.coefficients] == ["intrcpt", "allocrandom", "allocsystematic"]
    assert r.qm_df == 2 and r.df == 10


def test_level_90_matches_metafor(bcg):
    ref = REFERENCE["level_90"]
    r = cf.meta_analysis(bcg, level=90)
    assert close(r.ci_low, ref["ci_low"]) and close(r.ci_high, ref["ci_high"])
    expected = ref["tau2_ci"]
    assert all(close(a, b, rtol_for("rma", "tau2_ci")) for a, b in zip(r.tau2_ci, expected, strict=True))
    assert all(close(a, b, rtol_for("rma", "i2_ci"))
               for a, b in zip(r.i2_ci, ref["i2_ci"], strict=True))
    assert r.level == 90.0


# ---------------------------------------------------------------- degenerate inputs


def test_k2_works_and_warns_as_metafor(bcg):
    with pytest.warns(SmallKWarning, match="only k = 2 studies"):
        r = cf.meta_analysis(bcg.iloc[:2])
    fields = ("estimate", "se", "tau2", "se_tau2", "i2", "h2", "qe", "qe_pval")
    expected = [REFERENCE["k2"][f] for f in fields]
    got = [r.estimate, r.se, r.tau2, r.se_tau2, r.i2, r.h2, r.q, r.q_pval]
    assert all(close(g, e) for g, e in zip(got, expected, strict=True)), got
    # confint(r): ci.lb = 0 and ci.ub "> 100" (metafor stops its search at 100; we search further)
    assert r.tau2_ci[0] == 0 and r.tau2_ci[1] > 100
    assert r.warnings == ("only k = 2 studies: tau2, I2 and H2 are very imprecise",)


def test_k1_gives_the_study_with_tau2_zero_and_a_warning(bcg):
    # > rma(yi, vi, data=d[1,]): tau^2 = 0, I^2 = 0%, H^2 = 1, Q(df = 0) = 0, p-val = 1
    with pytest.warns(SmallKWarning, match="tau2 cannot be estimated and is set to 0"):
        r = cf.meta_analysis(bcg.iloc[:1])
    y, v = bcg["yi"].iloc[0], bcg["vi"].iloc[0]
    assert r.estimate == y and close(r.se, math.sqrt(v), IDENTITY_RTOL)
    assert (r.tau2, r.i2, r.h2, r.q, r.q_df, r.q_pval) == (0.0, 0.0, 1.0, 0.0, 0, 1.0)
    d = r.to_dict()
    assert d["se_tau2"] is None and d["tau2_ci"] is None and len(d["warnings"]) == 1


@pytest.mark.parametrize("test", ["t", "knha"])
def test_k1_with_t_tests_falls_back_to_z_as_metafor(bcg, test):
    # metafor: 'Setting argument test="z" since k=1.'
    with pytest.warns(SmallKWarning, match=f"test='{test}' needs more studies than coefficients"):
        r = cf.meta_analysis(yi=[0.5], vi=[0.1], test=test)
    assert r.test == "z" and close(r.se, 0.1 ** 0.5, IDENTITY_RTOL)
    assert close(r.pval, REFERENCE["k1_knha"]["pval"], 0, printed(7))


def test_common_effect_k1(bcg):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = cf.meta_analysis(bcg.iloc[:1], method="FE")
    assert r.i2 == 0.0 and r.h2 == 1.0 and r.warnings == ()


def test_common_effect_contract_nulls(bcg):
    d = cf.meta_analysis(bcg, method="FE").to_dict()
    assert d["pi_low"] is None and d["pi_high"] is None and d["se_tau2"] is None
    assert d["tau2_ci"] is None and d["i2_ci"] is None and d["h2_ci"] is None and d["tau2"] == 0


def test_homogeneous_data_give_a_zero_interval():
    # > confint(rma(c(0.1, 0.12, 0.11, 0.1, 0.115), rep(0.04, 5))): tau^2 0 [0, 0], I^2 0 [0, 0], H^2 1 [1, 1]
    r = cf.meta_analysis(yi=[0.1, 0.12, 0.11, 0.1, 0.115], vi=[0.04] * 5)
    assert r.tau2 == 0 and r.tau2_ci == (0.0, 0.0) and r.i2_ci == (0.0, 0.0) and r.h2_ci == (1.0, 1.0)


def test_dropped_rows_are_warned_and_kept_in_the_result(bcg):
    d = bcg.copy()
    d.loc[[3, 7], "yi"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"2 studies with missing yi or vi omitted \(rows 3, 7\)"):
        r = cf.meta_analysis(d)
    assert r.k == 11 and r.warnings == ("2 studies with missing yi or vi omitted (rows 3, 7)",)


@pytest.mark.parametrize("method", ["REML", "DL", "PM"])
def test_fit_without_profile_intervals_changes_nothing_else(bcg, method):
    ed = effect_data(bcg, mods="~ alloc")
    for data in (ed, effect_data(bcg)):
        a, b = fit(data, method=method).to_dict(), fit(data, method=method, profile_ci=False).to_dict()
        assert b["tau2_ci"] == b["i2_ci"] == b["h2_ci"] == [None, None]
        assert all(None not in a[f] for f in ("tau2_ci", "i2_ci", "h2_ci"))
        assert {f: v for f, v in a.items() if not f.endswith("_ci")} == \
            {f: v for f, v in b.items() if not f.endswith("_ci")}


# ---------------------------------------------------------------- GENQ (user weights)

# weights 1 / sei
GENQ_FIELDS = ("tau2", "se_tau2", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high",
               "i2", "h2", "q", "q_pval")
GENQ = {test: tuple(r[{"q": "qe", "q_pval": "qe_pval"}.get(f, f)] for f in GENQ_FIELDS)
        for test, r in REFERENCE["genq"].items()}
GENQ_MODS_FIELDS = ("tau2", "se_tau2", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "qm", "qm_pval",
                    "r2", "i2", "h2", "qe", "qe_pval")
GENQ_MODS = {test: tuple(r[f] for f in GENQ_MODS_FIELDS) for test, r in REFERENCE["genq_mods"].items()}


@pytest.mark.parametrize("test", sorted(GENQ))
def test_genq_matches_metafor(bcg, test):
    w = 1 / np.sqrt(bcg["vi"].to_numpy())
    r = cf.meta_analysis(bcg, method="GENQ", weights=w, test=test)
    for f, e in zip(GENQ_FIELDS, GENQ[test], strict=True):
        assert close(getattr(r, f), e), f
    assert r.method == "GENQ" and np.array_equal(r.weights, w)
    # metafor's confint() for GENQ uses the generalised Q-statistic method (not implemented): NaN
    d = r.to_dict()
    assert d["tau2_ci"] == d["i2_ci"] == d["h2_ci"] == [None, None]


@pytest.mark.parametrize("test", sorted(GENQ_MODS))
def test_genq_with_moderators_matches_metafor(bcg, test):
    bcg = bcg.assign(w=1 / np.sqrt(bcg["vi"]))
    r = cf.meta_analysis(bcg, mods="~ alloc", method="GENQ", weights="w", test=test)
    tau2, se_tau2, b, se, stat, pval, lo, hi, qm, qm_pval, r2, i2, h2, qe, qe_pval = GENQ_MODS[test]
    got = {"tau2": r.tau2, "se_tau2": r.se_tau2, "qm": r.qm, "qm_pval": r.qm_pval, "r2": r.r2, "i2": r.i2,
           "h2": r.h2, "qe": r.q, "qe_pval": r.q_pval}
    for f, e in zip(got, (tau2, se_tau2, qm, qm_pval, r2, i2, h2, qe, qe_pval), strict=True):
        assert close(got[f], e), f
    for f, e in zip(("estimate", "se", "stat", "pval", "ci_low", "ci_high"), (b, se, stat, pval, lo, hi),
                    strict=True):
        assert all(close(getattr(c, f), x) for c, x in zip(r.coefficients, e, strict=True)), f


def test_genq_in_subgroups_matches_metafor(bcg):
    expected = REFERENCE["genq_random"]
    bcg = bcg.assign(w=1 / np.sqrt(bcg["vi"]))
    with pytest.warns(SmallKWarning):
        r = cf.meta_analysis(bcg, by="alloc", method="GENQ", weights="w")
    res = r.results[r.levels.index("random")]
    assert res.k == expected["k"] and close(res.tau2, expected["tau2"])
    assert close(res.estimate, expected["estimate"]) and close(res.se, expected["se"])


def test_genq_with_inverse_variance_or_unit_weights_is_dl_or_he(bcg):
    """Identity (DerSimonian & Kacker, 2007): weights 1/vi give DL's tau2, unit weights HE's."""
    y, v = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    for weights, method in ((1 / v, "DL"), (np.ones_like(v), "HE")):
        a = cf.meta_analysis(yi=y, vi=v, method="GENQ", weights=weights)
        b = cf.meta_analysis(yi=y, vi=v, method=method)
        assert close(a.tau2, b.tau2, IDENTITY_RTOL) and close(a.se_tau2, b.se_tau2, ALGEBRA_RTOL)


def test_genq_estimate_is_the_weighted_mean_with_its_model_variance(bcg):
    """Identity: b = sum(a y) / sum(a), Var(b) = sum(a^2 (v + tau2)) / sum(a)^2."""
    y, v = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    a = np.linspace(1, 3, len(y))
    r = cf.meta_analysis(yi=y, vi=v, method="GENQ", weights=a)
    assert close(r.estimate, a @ y / a.sum(), IDENTITY_RTOL)
    assert close(r.se, math.sqrt(a**2 @ (v + r.tau2)) / a.sum(), IDENTITY_RTOL)


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "GENQ"}, r"method='GENQ' needs weights="),
    ({"method": "REML", "weights": np.ones(13)}, r"weights= are only used by method='GENQ', not by"),
])
def test_weights_go_with_genq_only(bcg, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cf.meta_analysis(bcg, **kwargs)


def test_bad_weights_name_the_row_and_column(bcg):
    from commonfactors.errors import InputError

    d = bcg.assign(w=1.0)
    d.loc[4, "w"] = 0.0
    with pytest.raises(InputError, match=r"row 4, column 'w': got 0; expected a weight > 0"):
        cf.meta_analysis(d, method="GENQ", weights="w")
    d.loc[4, "w"] = np.nan
    with pytest.raises(InputError, match=r"row 4, column 'w': missing value"):
        cf.meta_analysis(d, method="GENQ", weights="w")
    d.loc[4, "yi"] = np.nan  # a dropped study needs no weight
    with pytest.warns(DroppedRowsWarning):
        assert cf.meta_analysis(d, method="GENQ", weights="w").k == 12
    with pytest.raises(InputError, match=r"weights has 3 values but the data have 13 rows"):
        cf.meta_analysis(bcg, method="GENQ", weights=[1.0, 2.0, 3.0])


# ---------------------------------------------------------------- subgroups


def test_subgroups_match_metafor(bcg):
    ref = REFERENCE["subgroups"]
    with pytest.warns(SmallKWarning, match="alloc = alternate: only k = 2 studies"):
        r = cf.meta_analysis(bcg, by="alloc")
    assert isinstance(r, SubgroupResult) and r.levels == ("alternate", "random", "systematic")
    expected = [(g["k"], g["estimate"], g["se"], g["tau2"]) for g in ref["groups"]]
    for res, (k, est, se, tau2) in zip(r.results, expected, strict=True):
        assert res.k == k and close(res.estimate, est) and close(res.se, se) and close(res.tau2, tau2)
    assert close(r.q_between, ref["q_between"]) and close(r.q_between_pval, ref["q_between_pval"])
    assert r.q_between_df == 2
    d = r.to_dict()
    assert [s["level"] for s in d["subgroups"]] == ["alternate", "random", "systematic"]
    assert d["warnings"] == ["alloc = alternate: only k = 2 studies: tau2, I2 and H2 are very imprecise"]
    assert "Test for Subgroup Differences:" in str(r.summary())


# one fit per level of meta (0, 1), mods ~ length, and the test of equal coefficients across them
SUBGROUP_MODS = {
    test: ([tuple(g[f] for f in ("k", "estimate", "se", "tau2", "qm", "qm_pval", "qe", "qe_pval"))
            for g in r["groups"]], r["q_between"], r["q_between_pval"])
    for test, r in REFERENCE["subgroups_mods"].items()
}


@pytest.mark.parametrize("test", sorted(SUBGROUP_MODS))
def test_subgroups_with_moderators_match_metafor(test):
    d = read_table(HERE / "inputs" / "mr_bangertdrowns2004_length_imag_meta.csv")
    r = cf.meta_analysis(d, by="meta", mods="~ length", test=test)
    groups, qb, qb_p = SUBGROUP_MODS[test]
    assert r.levels == ("0", "1") and r.has_mods
    for res, (k, b, se, tau2, qm, qm_p, qe, qe_p) in zip(r.results, groups, strict=True):
        assert res.k == k and [c.name for c in res.coefficients] == ["intrcpt", "length"]
        assert all(close(c.estimate, e) for c, e in zip(res.coefficients, b, strict=True))
        assert all(close(c.se, e) for c, e in zip(res.coefficients, se, strict=True))
        got = (res.tau2, res.qm, res.qm_pval, res.q, res.q_pval)
        assert all(close(g, e) for g, e in zip(got, (tau2, qm, qm_p, qe, qe_p), strict=True)), got
    assert close(r.q_between, qb) and close(r.q_between_pval, qb_p) and r.q_between_df == 2
    assert "Test for Subgroup Differences (all 2 coefficients):" in str(r.summary())
    frame = r.to_frame()
    assert list(frame["name"]) == ["intrcpt", "length"] * 2 and list(frame["level"]) == ["0", "0", "1", "1"]


def test_subgroups_with_two_moderators_match_metafor():
    ref = REFERENCE["subgroups_two_mods"]  # as above with mods ~ cog + home, by group
    d = read_table(HERE / "inputs" / "mr_lopez2019_f2f_cog_ba_home_group.csv")
    r = cf.meta_analysis(d, by="group", mods="~ cog + home")
    g1 = r.results[1]
    assert all(close(c.se, e) for c, e in zip(g1.coefficients, ref["groups"][1]["se"], strict=True))
    assert close(g1.tau2, ref["groups"][1]["tau2"])
    assert close(r.q_between, ref["q_between"]) and close(r.q_between_pval, ref["q_between_pval"])
    assert r.q_between_df == 3


def test_multivariate_between_test_with_one_coefficient_is_the_subgroup_q(bcg):
    """Identity: with p = 1 the multivariate Q is sum_g (b_g - b_bar)^2 / se_g^2."""
    from commonfactors.models.univariate import _q_between

    with pytest.warns(SmallKWarning):
        r = cf.meta_analysis(bcg, by="alloc")
    b = np.array([x.estimate for x in r.results])
    w = 1 / np.array([x.se for x in r.results]) ** 2
    assert close(_q_between(list(r.results))[0], w @ (b - w @ b / w.sum()) ** 2, IDENTITY_RTOL)


def test_subgroup_that_cannot_estimate_the_moderators_is_an_input_error():
    import pandas as pd

    from commonfactors.errors import InputError

    d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5, 0.4, 0.6], "vi": [0.01, 0.02, 0.01, 0.02, 0.03, 0.01],
                      "x": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0], "g": ["a", "a", "a", "b", "b", "b"]})
    with pytest.raises(InputError, match=r"column 'g': the 3 studies of subgroup 'b' cannot estimate the "
                                         r"coefficients intrcpt, x; expected moderators that vary"):
        cf.meta_analysis(d, by="g", mods="~ x")


def test_subgroup_with_a_missing_label_is_dropped_with_a_warning(bcg):
    d = bcg.copy()
    d["alloc"] = d["alloc"].astype(object)
    d.loc[2, "alloc"] = None
    with pytest.warns(DroppedRowsWarning, match=r"1 study with a missing alloc omitted \(row 2\)"):
        r = cf.meta_analysis(d, by="alloc")
    assert sum(x.k for x in r.results) == 12


# ---------------------------------------------------------------- oracle: direct WLS algebra


def test_common_effect_equals_statsmodels_wls(bcg):
    """Identity: the common-effect estimate is WLS with weights 1/vi and known scale 1."""
    sm = pytest.importorskip("statsmodels.api")
    y, v = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    ols = sm.WLS(y, np.ones((len(y), 1)), weights=1 / v).fit()
    r = cf.meta_analysis(yi=y, vi=v, method="FE")
    assert r.estimate == pytest.approx(ols.params[0], rel=IDENTITY_RTOL)
    assert r.se == pytest.approx(math.sqrt(ols.normalized_cov_params[0, 0]), rel=IDENTITY_RTOL)


def test_meta_regression_equals_direct_algebra(bcg):
    """Identity: beta = (X'WX)^-1 X'Wy, W = diag(1/(vi + tau2)), vcov = (X'WX)^-1
    (Raudenbush 2009, eq. 16.6-16.7)."""
    sm = pytest.importorskip("statsmodels.api")
    y, v = bcg["yi"].to_numpy(), bcg["vi"].to_numpy()
    x = np.arange(len(y), dtype=float)
    r = cf.meta_analysis(yi=y, vi=v, mods=x, method="DL")
    X = np.column_stack([np.ones_like(x), x])
    ols = sm.WLS(y, X, weights=1 / (v + r.tau2)).fit()
    assert np.allclose([c.estimate for c in r.coefficients], ols.params, rtol=IDENTITY_RTOL, atol=0)
    assert np.allclose(r.vcov, ols.normalized_cov_params, rtol=ALGEBRA_RTOL, atol=0)


# ---------------------------------------------------------------- properties


def _data(draw_k):
    return st.integers(min_value=3, max_value=30).flatmap(lambda k: st.tuples(
        st.lists(st.floats(-3, 3), min_size=k, max_size=k),
        st.lists(st.floats(0.005, 2.0), min_size=k, max_size=k)))


DATA = _data(None)
METHODS = st.sampled_from(["REML", "ML", "DL", "HE", "HS", "SJ", "EB", "PM", "PMM", "FE"])


@settings(max_examples=60, deadline=None)
@given(DATA, METHODS, st.randoms(use_true_random=False))
def test_reordering_studies_changes_nothing(data, method, rnd):
    y, v = map(np.asarray, data)
    perm = np.arange(len(y))
    rnd.shuffle(perm)
    a = cf.meta_analysis(yi=y, vi=v, method=method)
    b = cf.meta_analysis(yi=y[perm], vi=v[perm], method=method)
    for f in ("estimate", "se", "tau2", "i2", "q"):
        assert close(getattr(b, f), getattr(a, f), PROPERTY_RTOL, PROPERTY_ATOL), f


@settings(max_examples=60, deadline=None)
@given(DATA, METHODS, st.floats(-50, 50))
def test_shifting_yi_shifts_the_estimate(data, method, c):
    y, v = map(np.asarray, data)
    a = cf.meta_analysis(yi=y, vi=v, method=method)
    b = cf.meta_analysis(yi=y + c, vi=v, method=method)
    assert close(b.estimate, a.estimate + c, PROPERTY_RTOL, 10 * PROPERTY_ATOL)  # yi + c: |c| up to 50
    assert close(b.tau2, a.tau2, PROPERTY_RTOL, PROPERTY_ATOL)
    assert close(b.se, a.se, PROPERTY_RTOL, PROPERTY_ATOL)


@settings(max_examples=60, deadline=None)
@given(DATA, METHODS, st.floats(0.01, 100))
def test_scaling_yi_and_vi_scales_estimate_and_tau2(data, method, s):
    y, v = map(np.asarray, data)
    a = cf.meta_analysis(yi=y, vi=v, method=method)
    b = cf.meta_analysis(yi=y * s, vi=v * s * s, method=method)
    assert close(b.estimate, a.estimate * s, PROPERTY_RTOL, PROPERTY_ATOL * s)
    assert close(b.tau2, a.tau2 * s * s, PROPERTY_RTOL, PROPERTY_ATOL * s * s)
    assert close(b.i2, a.i2, PROPERTY_RTOL, 100 * PROPERTY_ATOL)  # percent


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=2), METHODS, st.sampled_from(["z", "t", "knha"]))
def test_k1_and_k2_give_defined_estimates(ys, method, test):
    v = [0.1 + 0.05 * i for i in range(len(ys))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        r = cf.meta_analysis(yi=ys, vi=v, method=method, test=test)
    assert math.isfinite(r.estimate) and math.isfinite(r.se) and r.tau2 >= 0 and r.k == len(ys)


# ---------------------------------------------------------------- large k


def test_the_boundary_copies_the_inputs_and_stores_the_intercept_once():
    """effect_data: yi and vi are its own float64 arrays (the caller's are never written, not even sei, which
    it squares in place), and X without moderators is one stored 1.0 seen as a read-only (k, 1) column,
    which the engine reads as the intercept-only model, with the numbers of a dense column of ones."""
    y, s = np.array([0.1, 0.3, 0.2, 0.5]), np.array([0.1, 0.2, 0.15, 0.3])
    s0 = s.copy()
    ed = effect_data(yi=y, sei=s)
    assert np.array_equal(s, s0) and not np.shares_memory(ed.vi, s) and not np.shares_memory(ed.yi, y)
    assert np.array_equal(ed.vi, s0**2) and ed.dropped == ()
    assert ed.index is None and list(ed.positions()) == [0, 1, 2, 3]  # every row kept: no array of k
    with pytest.warns(DroppedRowsWarning):
        kept = effect_data(yi=[0.1, np.nan, 0.2], vi=[0.01, 0.02, 0.03])
    assert list(kept.index) == list(kept.positions()) == [0, 2]
    assert ed.X.shape == (4, 1) and ed.X.strides[0] == 0 and not ed.X.flags.writeable
    assert is_intercept_only(ed.X) and not is_intercept_only(np.broadcast_to(np.full((1, 1), 2.0), (4, 1)))
    assert fit(ed).to_dict() == fit(dataclasses.replace(ed, X=np.ones((4, 1)))).to_dict()


def test_fit_handles_a_million_studies_without_k_by_k_matrices():
    """O(k) memory: k = 10^6 would need 8 TB as a k x k matrix."""
    rng = np.random.default_rng(1)
    k = 1_000_000
    v = rng.uniform(0.01, 0.2, k)
    y = rng.normal(0.3, np.sqrt(v + 0.05))
    ed = effect_data(yi=y, vi=v)
    r = fit(ed, method="REML")
    assert isinstance(r, MetaResult) and r.k == k
    assert abs(r.tau2 - 0.05) < 0.002 and abs(r.estimate - 0.3) < 0.002
    assert r.tau2_ci[0] < r.tau2 < r.tau2_ci[1]
