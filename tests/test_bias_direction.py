"""The favourable direction of small-study tests, and Egger's test for effect sizes nested in studies,
against metafor 3.8-1 and clubSandwich 0.5.8 (tests/reference/bias_direction.R)."""

import json
import warnings

import pytest

import commonfactors as cf
from cli_run import in_process
from reference import load
from tolerances import METAFOR_RTOL

REF = load("bias_direction")
RTOL = METAFOR_RTOL["bias"]


def test_lower_effects_favourable_flip_the_selection_model_and_trim_and_fill(bcg_rr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.bias_tests(bcg_rr, direction="lower")
    ref = REF["bcg_lower"]
    sel, tf = res.selection_3psm, res.trim_and_fill
    assert res.direction == "lower" and res.direction_given
    assert (sel.estimate, sel.se, sel.tau2, sel.lrt, sel.lrt_pval) == pytest.approx(
        tuple(ref["selection"][k] for k in ("estimate", "se", "tau2", "lrt", "lrt_pval")), rel=RTOL)
    assert sel.delta[-1] == pytest.approx(ref["selection"]["delta"][-1], rel=RTOL)
    assert (tf.k0, tf.side) == (ref["trimfill"]["k0"], ref["trimfill"]["side"])
    filled = ref["trimfill"]
    assert (tf.estimate, tf.se) == pytest.approx((filled["estimate"], filled["se"]), rel=RTOL)
    assert not any("pooled estimate is negative" in w for w in res.warnings)


def test_the_default_is_metafors_and_a_negative_pooled_estimate_is_said(bcg_rr):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cf.bias_tests(bcg_rr)
    assert res.direction == "higher" and not res.direction_given
    assert any("pooled estimate is negative" in w and "--direction lower" in w for w in res.warnings)
    assert any("no study has a one-sided p-value in (0, 0.025] for higher effects" in w for w in res.warnings)
    assert "Favourable direction: higher effects for the selection model (metafor's default)" in str(res)


def test_egger_for_nested_effect_sizes_three_level_cr2():
    ref = REF["assink2016_egger_cr2"]
    res = in_process("bias", "assink2016", "--cluster", "study", "--format", "json")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["egger_clustered"] == pytest.approx(
        {k: ref[k] for k in ("stat", "df", "pval", "limit_estimate")}, rel=RTOL)
    assert "not independent" not in res.stderr  # the clustering is said, not warned
    text = in_process("bias", "assink2016", "--cluster", "study").stdout
    assert "Egger (three-level, CR2)          t(6.97) = 2.7879  0.0271" in text
    assert "the other tests assume independent effect sizes" in text


def test_cli_direction_option(tmp_path):
    es = tmp_path / "bcg.csv"
    in_process("effects", "bcg", "--measure", "RR", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di",
               "cneg", "--format", "csv", "--out", es)
    got = json.loads(in_process("bias", es, "--direction", "lower", "--format", "json").stdout)
    assert got["direction"] == "lower" and got["trim_and_fill"]["side"] == "right"
    expected = REF["bcg_lower"]["selection"]["estimate"]
    assert got["selection_3psm"]["estimate"] == pytest.approx(expected, rel=RTOL)
