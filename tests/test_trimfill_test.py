"""Trim and fill after a Knapp-Hartung model gives metafor's numbers: its filled model has the z test, as
metafor 3.8-1's trimfill(res) fits it; Egger's test keeps the model's t test (tests/reference/trimfill.R)."""

import warnings

import pytest

import commonfactors as cf
from reference import load
from tolerances import METAFOR_RTOL

REF = load("trimfill")
RTOL = METAFOR_RTOL["rma"]


def _check(tf):
    ref = REF["bcg_knha_trimfill"]
    assert tf.k0 == ref["k0"] and ref["test"] == "z"
    assert (tf.estimate, tf.se, tf.ci_low, tf.ci_high, tf.pval) == pytest.approx(
        (ref["estimate"], ref["se"], ref["ci_low"], ref["ci_high"], ref["pval"]), rel=RTOL)


def test_trim_and_fill_of_a_knha_model_as_trimfill(bcg_rr):
    res = cf.meta_analysis(bcg_rr, test="knha")
    _check(cf.trim_and_fill(res))


def test_bias_tests_with_knha_egger_t_and_trim_and_fill_z(bcg_rr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.bias_tests(bcg_rr, test="knha")
    _check(res.trim_and_fill)
    ref = REF["bcg_knha_regtest"]
    assert (res.egger.stat, res.egger.pval) == pytest.approx((ref["stat"], ref["pval"]), rel=RTOL)
