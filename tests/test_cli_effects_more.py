"""``commonfactors effects`` with the measures and rules of tests/test_measures_more.py: IRR, PFT, PAS,
PLN, ``--vtype UB``, and correlations from samples too small (NA, one warning line on stderr, left out by
``pool``). Numbers: metafor 3.8-1, tests/reference/effects_more.json (written by effects_more.R)."""

import json

import pytest

from cli_run import in_a_process, in_process
from reference import load
from tolerances import ATOL_FLOOR, METAFOR_RTOL, assert_agrees

REF = load("effects_more")
CASES = REF["cases"]
RTOL = METAFOR_RTOL["effect_size"]


def write_case(tmp_path, name):
    """The case's arguments as the columns of a CSV file."""
    args = CASES[name]["args"]
    path = tmp_path / f"{name}.csv"
    lines = [",".join(args)] + [",".join(f"{v:g}" for v in row) for row in zip(*args.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path, [x for a in args for x in (f"--{a}", a)]


@pytest.mark.parametrize("name, options", [("irr", []), ("pft", []), ("pas_mi", []), ("pln", []),
                                           ("pln_all", ["--to", "all"]), ("smd_ub", ["--vtype", "UB"])])
def test_json_matches_metafor(tmp_path, name, options):
    # escalc(measure, <args>, <options>): effects_more.R
    path, columns = write_case(tmp_path, name)
    measure = CASES[name]["measure"]
    proc = in_process("effects", path, "--measure", measure, *columns, *options, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["measure"] == measure and got["warnings"] == []
    for field in ("yi", "vi"):
        assert_agrees(got[field], CASES[name][field], rtol=RTOL, atol=ATOL_FLOOR)


def test_small_samples_are_na_with_one_warning_line_and_pool_leaves_them_out(tmp_path):
    data = tmp_path / "cors.csv"
    data.write_text("r,n\n0.3,3\n0.25,40\n0.1,2\n0.4,60\n0.35,25\n")
    out = tmp_path / "es.csv"
    proc = in_a_process("effects", data, "--measure", "ZCOR", "--ri", "r", "--ni", "n", "--format", "csv",
                        "--out", out)
    assert proc.returncode == 0
    assert proc.stderr == (
        "warning: 2 studies with n <= 3 (too small for the sampling variance): vi set to NA (rows 2, 4)\n"
    )
    assert [line.split(",")[-2] for line in out.read_text().splitlines()] == [
        "vi", "NA", "0.02702702702702703", "NA", "0.017543859649122806", "0.045454545454545456"]
    pooled = in_process("pool", out, "--format", "json")
    assert pooled.returncode == 0, pooled.stderr
    got = json.loads(pooled.stdout)
    # rma(yi, vi, data=escalc("ZCOR", ri=c(.3,.25,.1,.4,.35), ni=c(3,40,2,60,25))): the two rows omitted
    ref = REF["zcor_small_pooled"]
    assert got["k"] == ref["k"] == 3
    assert_agrees(got["estimate"], ref["estimate"], rtol=METAFOR_RTOL["rma"])
    assert any("rows 2, 4" in w for w in got["warnings"])


def test_vtype_a_measure_does_not_have_is_one_line_exit_2(tmp_path):
    path, columns = write_case(tmp_path, "zcor_small")
    proc = in_a_process("effects", path, "--measure", "ZCOR", *columns, "--vtype", "UB")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "vtype='UB' for measure ZCOR; expected one of LS" in proc.stderr


def test_irr_person_time_of_zero_names_row_and_column(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("x1,x2,t1,t2\n4,8,100,120\n2,3,0,60\n")
    proc = in_process("effects", path, "--measure", "IRR", "--x1i", "x1", "--x2i", "x2", "--t1i", "t1",
                      "--t2i", "t2")
    assert proc.returncode == 2
    assert "row 3, column 't1': got 0; expected a person-time > 0" in proc.stderr


def test_help_lists_the_measures_their_arguments_and_vtype():
    proc = in_process("effects", "--help")
    text = " ".join(proc.stdout.split())
    for needle in ("IRR: x1i, x2i, t1i, t2i", "PFT: xi, mi|ni", "PAS: xi, mi|ni", "PLN: xi, mi|ni",
                   "--x1i COLUMN", "--t2i COLUMN", "--vtype [LS|UB]"):
        assert needle in text, needle


def test_an_sd_of_zero_is_one_warning_line_on_stderr_naming_row_and_column(tmp_path):
    data = tmp_path / "trials.csv"
    data.write_text("m1,s1,n1,m2,s2,n2\n1,0,10,0,1.2,12\n2,1.5,20,1,1,25\n3,1,15,2,0,15\n")
    proc = in_process("effects", data, "--measure", "SMD", "--m1i", "m1", "--sd1i", "s1", "--n1i", "n1",
                      "--m2i", "m2", "--sd2i", "s2", "--n2i", "n2", "--format", "csv")
    assert proc.returncode == 0
    assert proc.stderr.splitlines() == [
        "warning: 1 study with 0 in column 's1' (an SD of 0 is usually a missing value coded 0): computed as "
        "given (row 2)",
        "warning: 1 study with 0 in column 's2' (an SD of 0 is usually a missing value coded 0): computed as "
        "given (row 4)",
    ]
    # escalc("SMD", ...): effects_more.R, case smd_sd0
    yi = [float(line.split(",")[-3]) for line in proc.stdout.splitlines()[1:]]
    assert_agrees(yi, CASES["smd_sd0"]["yi"], rtol=RTOL)
