"""``commonfactors pool FILE --method MH|PETO --ai .. --bi .. --ci .. --di ..``: 2x2 tables pooled as
metafor's rma.mh / rma.peto (metafor 3.8-1, reference numbers and calls in tests/reference/binary.json,
written by tests/reference/binary.R), and its errors: exit 2, one line on stderr, no traceback, nothing on
stdout."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from cli_run import in_a_process, in_process
from reference import load
from test_binary import BCG_PRINTED, assert_case
from tolerances import R_CLOSED_FORM_RTOL

REFERENCE = load("binary")
CASES = {c["id"]: c for c in REFERENCE["cases"]}
CELLS = ("--ai", "ai", "--bi", "bi", "--ci", "ci", "--di", "di")


def _table(tmp_path, name: str, sizes: bool = False):
    d = pd.DataFrame(REFERENCE["tables"][name])
    if sizes:  # events and group sizes instead of the four cells
        d = pd.DataFrame({"ai": d.ai, "n1i": d.ai + d.bi, "ci": d.ci, "n2i": d.ci + d.di})
    f = tmp_path / f"{name}.csv"
    d.to_csv(f, index=False)
    return f


@pytest.mark.parametrize("case_id, args", [
    ("bcg_MH_OR", ["--method", "MH"]),
    ("bcg_MH_RR", ["--method", "mh", "--measure", "rr"]),
    ("bcg_MH_RD", ["--method", "MH", "--measure", "RD"]),
    ("bcg_PETO", ["--method", "PETO"]),
    ("bcg_MH_OR_level90", ["--method", "MH", "--level", "90"]),
])
def test_json_matches_metafor(tmp_path, case_id, args):
    proc = in_process("pool", _table(tmp_path, "bcg"), *CELLS, *args, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert_case(json.loads(proc.stdout), CASES[case_id])


@pytest.mark.parametrize("case_id, method", [("hahn2001_MH_OR", "MH"), ("hahn2001_PETO", "PETO")])
def test_group_sizes_instead_of_non_events(tmp_path, case_id, method):
    f = _table(tmp_path, "hahn2001", sizes=True)
    proc = in_process("pool", f, "--method", method, "--ai", "ai", "--ci", "ci", "--n1i", "n1i",
                      "--n2i", "n2i", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert_case(json.loads(proc.stdout), CASES[case_id])


def test_a_shipped_dataset_prints_as_metafor():
    # the text of print(rma.mh(tpos, tneg, cpos, cneg, data = dat.bcg)), metafor 3.8-1
    proc = in_process("pool", "bcg", "--method", "MH", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos",
                      "--di", "cneg")
    assert proc.returncode == 0 and proc.stdout == BCG_PRINTED + "\n"


def test_csv_gives_the_log_and_the_ratio_scale(tmp_path):
    proc = in_process("pool", _table(tmp_path, "bcg"), *CELLS, "--method", "MH", "--format", "csv")
    lines = proc.stdout.splitlines()
    assert lines[0] == "scale,estimate,se,stat,pval,ci_low,ci_high"
    assert [line.split(",")[0] for line in lines[1:]] == ["log OR", "OR"]
    assert lines[2].split(",")[2:5] == ["NA", "NA", "NA"]
    assert float(lines[1].split(",")[1]) == pytest.approx(CASES["bcg_MH_OR"]["expected"]["estimate"],
                                                          rel=R_CLOSED_FORM_RTOL)


def test_a_missing_count_is_left_out_with_a_warning(tmp_path):
    f = tmp_path / "na.csv"
    f.write_text("study,a,b,c,d\ns1,4,119,11,128\ns2,6,300,NA,274\ns3,3,228,11,209\n")
    proc = in_process("pool", f, "--method", "MH", "--ai", "a", "--bi", "b", "--ci", "c", "--di", "d",
                      "--format", "json")
    assert proc.returncode == 0
    assert proc.stderr == "warning: 1 study with a missing count omitted (row 3)\n"
    out = json.loads(proc.stdout)
    assert out["k"] == 2 and out["warnings"] == ["1 study with a missing count omitted (row 3)"]


def test_cold_start_imports_neither_pandas_nor_scipy(tmp_path):
    f = _table(tmp_path, "bcg")
    code = ("import sys; from commonfactors.cli import main\n"
            f"try:\n    main(['pool', sys.argv[1], '--method', 'MH', {', '.join(map(repr, CELLS))}])\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'formulaic') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(f)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- bad input: exit 2, one line, no traceback

GOOD = "study,a,b,c,d,n1,n2\ns1,4,119,11,128,123,139\ns2,6,300,29,274,306,303\ns3,3,228,11,209,231,220\n"


def _bad(tmp_path, text, *args, process=False):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    run = in_a_process if process else in_process
    proc = run("pool", f, *args, "--format", "json")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0], f


FOUR = ("--method", "MH", "--ai", "a", "--bi", "b", "--ci", "c", "--di", "d")


def test_a_negative_count_in_a_real_process(tmp_path):
    line, f = _bad(tmp_path, GOOD.replace("s2,6,300,29", "s2,6,300,-29"), *FOUR, process=True)
    assert line == f"Error: {f}, row 3, column 'c': got -29; expected a count >= 0"


def test_a_count_that_is_not_a_whole_number(tmp_path):
    line, f = _bad(tmp_path, GOOD.replace("s3,3,", "s3,3.5,"), *FOUR)
    assert line == f"Error: {f}, row 4, column 'a': got 3.5; expected a count (a whole number)"


def test_events_above_the_group_size(tmp_path):
    line, f = _bad(tmp_path, GOOD.replace("s1,4,", "s1,124,"), "--method", "PETO", "--ai", "a", "--ci", "c",
                   "--n1i", "n1", "--n2i", "n2")
    assert line == f"Error: {f}, row 2, column 'a': got 124; expected a count <= n1 (123, the group size)"


def test_a_missing_column(tmp_path):
    line, f = _bad(tmp_path, GOOD, "--method", "MH", "--ai", "a", "--bi", "b", "--ci", "c", "--di", "dd")
    assert f"{f}: no column 'dd'" in line
    assert "the columns are 'study', 'a', 'b', 'c', 'd', 'n1', 'n2'" in line


@pytest.mark.parametrize("args, message", [
    (("--method", "MH", "--ai", "a", "--ci", "c"), "--method MH needs the 2x2 tables"),
    (("--method", "MH", "--ai", "a", "--bi", "b", "--ci", "c", "--n2i", "n2"), "--method MH needs the 2x2"),
    ((*FOUR, "--mods", "~ a"), "--mods cannot be combined with --method MH"),
    ((*FOUR, "--test", "knha"), "--test cannot be combined with --method MH"),
    ((*FOUR, "--vi", "d"), "--vi cannot be combined with --method MH"),
    (("--method", "PETO", "--measure", "RR", *FOUR[2:]), "--method PETO pools odds ratios, not --measure RR"),
    (("--ai", "a", "--yi", "a", "--vi", "b"), "--ai: 2x2 tables are pooled by --method MH or PETO"),
    (("--measure", "SMD", *FOUR), "--method MH pools OR, RR or RD, not --measure SMD"),
])
def test_option_conflicts_are_usage_errors(tmp_path, args, message):
    f = tmp_path / "ok.csv"
    f.write_text(GOOD)
    proc = in_process("pool", f, *args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert message in proc.stderr
