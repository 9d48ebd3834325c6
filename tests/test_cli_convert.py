"""``commonfactors convert``: d, r, log OR, t, F, p, g and the NNT, against R (tests/reference/convert.R)."""

import json

import pytest

from cli_run import in_a_process, in_process
from commonfactors.effects.nnt import nnt_from_d
from reference import load

REF = load("convert")


def rows(*args):
    res = in_process("convert", *args, "--format", "json")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)["rows"]


def test_d_to_r_with_group_sizes():
    c = REF["d_to_r"]
    (row,) = rows("d", "r", c["d"], "--n1i", c["n1i"], "--n2i", c["n2i"])
    assert (row["estimate"], row["vi"]) == pytest.approx((c["r"], c["vi"]), rel=1e-12)


def test_t_to_hedges_g_equals_escalc():
    c = REF["t_to_g"]
    (row,) = rows("t", "g", c["t"], "--n1i", c["n1i"], "--n2i", c["n2i"])
    assert (row["estimate"], row["vi"]) == pytest.approx((c["g"], c["vi"]), rel=1e-10)


def test_p_to_d_with_a_direction():
    c = REF["p_to_d"]
    (row,) = rows("p", "d", c["p"], "--n1i", c["n1i"], "--n2i", c["n2i"], "--sign", "-1")
    assert (row["estimate"], row["vi"]) == pytest.approx((c["d"], c["vi"]), rel=1e-10)


def test_log_odds_ratio_to_r_carries_the_variance():
    c = REF["logor_to_r"]
    (row,) = rows("logor", "r", c["logor"], "--vi", c["vi"])
    assert (row["estimate"], row["vi"]) == pytest.approx((c["r"], c["vr"]), rel=1e-12)


def test_nnt_both_methods_and_negative_values():
    k, f = REF["nnt_kraemer"], REF["nnt_furukawa"]
    got = rows("d", "nnt", *k["d"])
    assert [r["estimate"] for r in got] == pytest.approx(k["nnt"], rel=1e-12)
    got = rows("d", "nnt", *f["d"], "--cer", f["cer"])
    assert [r["estimate"] for r in got] == pytest.approx(f["nnt"], rel=1e-12)
    assert all(r["vi"] is None for r in got)
    assert nnt_from_d(0.0) == float("inf") and nnt_from_d(0.0, cer=0.3) == float("inf")


def test_text_and_csv_output():
    text = in_process("convert", "d", "nnt", "0.5", "--cer", "0.2").stdout
    assert text.splitlines() == [
        "d = 0.5 -> NNT = 6.0126",
        "NNT by Furukawa & Leucht (2011); a negative NNT is a number needed to harm."]
    csv = in_process("convert", "d", "nnt", "0", "--format", "csv").stdout.splitlines()
    assert csv == ["from,input,to,estimate,vi", "d,0,nnt,Inf,NA"]  # R writes 0, not 0.0


@pytest.mark.parametrize("args, message", [
    (["d", "g", "0.5"], "Hedges' g needs the group sizes; expected --n1i N and --n2i N"),
    (["r", "d", "1.5"], "got 1.5; expected a correlation in (-1, 1)"),
    (["d", "r", "0.5", "--vi", "0.1", "--vi", "0.2"], "2 --vi for 1 values"),
    (["d", "r", "0.5", "--cer", "0.2"], "--cer only with TO nnt"),
    (["d", "nnt", "0.5", "--cer", "1"], "expected a control event rate in (0, 1)"),
    (["t", "d", "2"], "d from t needs the group sizes"),
    (["q", "d", "2"], "'q' is not one of"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    res = in_a_process("convert", *args)
    assert res.returncode == 2 and message in res.stderr and res.stderr.count("\n") == 1, res.stderr
