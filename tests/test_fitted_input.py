"""A fitted model as the data of influence, leave-one-out, cumulative and bias functions, as metafor's
influence(res), leave1out(res), cumul(res), regtest(res), ranktest(res) and trimfill(res): numbers from
tests/reference/fitted.R (fitted.json, metafor 3.8-1, BCG vaccine trials, log risk ratios)."""

import warnings

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.errors import InputError
from reference import load

REF = load("fitted")
DATA = REF["data"]
YI, VI = np.array(DATA["yi"]), np.array(DATA["vi"])
RTOL = 1e-6


@pytest.fixture(scope="module")
def re_knha():
    # rma(yi, vi, data = dat, method = "DL", test = "knha", level = 90)
    return cf.meta_analysis(yi=YI, vi=VI, method="DL", test="knha", level=90)


def test_influence_of_a_fitted_meta_regression_keeps_its_moderators():
    res = cf.meta_analysis(yi=YI, vi=VI, mods=np.array(DATA["ablat"], dtype=float))
    got = cf.influence(res)
    assert got.names == tuple(c.name for c in res.coefficients)
    ref = REF["influence_mods"]  # influence(rma(yi, vi, mods = ~ ablat, data = dat))
    np.testing.assert_allclose(got.rstudent, ref["rstudent"], rtol=RTOL)
    np.testing.assert_allclose(got.dfbetas[:, 1], ref["dfbetas_ablat"], rtol=RTOL)


def test_leave_one_out_takes_the_model_s_method_test_and_level(re_knha):
    got = cf.leave_one_out(re_knha)
    ref = REF["leave1out"]  # leave1out(re): DL, Knapp-Hartung, 90% intervals
    assert (got.method, got.test) == ("DL", "knha")
    np.testing.assert_allclose(got.estimate, ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(got.ci_low, ref["ci_lb"], rtol=RTOL)
    np.testing.assert_allclose(got.pval, ref["pval"], rtol=RTOL)


def test_options_given_with_a_fitted_model_win(re_knha):
    got = cf.leave_one_out(re_knha, test="z")
    direct = cf.leave_one_out(yi=YI, vi=VI, method="DL", test="z", level=90)
    np.testing.assert_array_equal(got.ci_low, direct.ci_low)


def test_cumulative_of_a_fitted_model(re_knha):
    got = cf.cumulative(re_knha, order=np.array(DATA["year"]))
    ref = REF["cumul"]  # cumul(re, order = dat$year)
    np.testing.assert_allclose(got.estimate, ref["estimate"], rtol=RTOL)
    np.testing.assert_allclose(got.ci_high, ref["ci_ub"], rtol=RTOL)


def test_bias_functions_of_a_fitted_model(re_knha):
    egger = cf.egger_test(re_knha)
    ref = REF["regtest"]  # regtest(re): t test with k - 2 df under test = "knha"
    assert egger.df == ref["dfs"]
    assert egger.stat == pytest.approx(ref["zval"], rel=RTOL)
    assert egger.pval == pytest.approx(ref["pval"], rel=RTOL)
    rank = cf.rank_test(re_knha)
    assert rank.tau == pytest.approx(REF["ranktest"]["tau"], rel=RTOL)
    assert rank.pval == pytest.approx(REF["ranktest"]["pval"], rel=RTOL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # metafor's trimfill(re) fits the filled data with test = "z" and a 95% interval, whatever re's
        tf = cf.trim_and_fill(re_knha, test="z", level=95)
        all_tests = cf.bias_tests(re_knha)
    ref = REF["trimfill"]  # trimfill(re)
    assert (tf.k0, tf.side) == (ref["k0"], ref["side"])
    assert tf.estimate == pytest.approx(ref["estimate"], rel=RTOL)
    assert tf.ci_low == pytest.approx(ref["ci_lb"], rel=RTOL)
    assert all_tests.trim_and_fill.estimate == tf.estimate and all_tests.egger.stat == egger.stat


def test_a_model_with_moderators_where_none_are_fitted_is_an_input_error():
    res = cf.meta_analysis(yi=YI, vi=VI, mods=np.array(DATA["ablat"], dtype=float))
    with pytest.raises(InputError, match="fitted model with moderators"):
        cf.leave_one_out(res)
    with pytest.raises(InputError, match="fitted model with moderators"):
        cf.egger_test(res)


def test_a_column_name_as_the_order_of_a_fitted_model_is_an_input_error(re_knha):
    with pytest.raises(InputError, match="order='year' names a column"):
        cf.cumulative(re_knha, order="year")
