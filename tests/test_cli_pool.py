"""``commonfactors pool``: the JSON contract of DESIGN.md on a few metafor 3.8-1 conformance cases, the text
and CSV formats, the cold start (no pandas/scipy/formulaic), and bad input (exit 2, one line on stderr naming
file/row/column, no traceback).

The command runs in-process (click's CliRunner); the cold start and one bad input run in a real process, for
what only a shell sees (tests/test_cli_errors.py runs one more)."""

import json
import subprocess
import sys

import pytest

from cli_run import in_a_process, in_process
from conformance_cases import HERE, input_path, load_cases
from reference import load
from tolerances import ATOL_FLOOR, METAFOR_RTOL, assert_agrees, rtol_for

RMA = {c["id"]: c for c in load_cases("rma")}
METAREG = {c["id"]: c for c in load_cases("metareg")}
UNIVARIATE = load("univariate")  # metafor 3.8-1, tests/reference/univariate.R
POOL_KEYS = {"k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
             "se_tau2", "tau2_ci", "i2", "i2_ci", "h2", "h2_ci", "q", "q_df", "q_pval", "method", "test",
             "warnings"}
MODS_KEYS = {"coefficients", "qm", "qm_df", "qm_pval", "r2", "qe", "qe_pval"}


def run(*args):
    return in_process("pool", *args)


@pytest.mark.parametrize("case_id", ["rma_bcg_RR_REML_knha", "rma_hackshaw1998_PM_z", "rma_bcg_RR_FE_z"])
def test_json_matches_metafor(case_id):
    case = RMA[case_id]
    proc = run(input_path(case), "--yi", "yi", "--vi", "vi", "--method", case["spec"]["method"], "--test",
               case["spec"]["test"], "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == POOL_KEYS
    for field, expected in case["expected"].items():
        assert_agrees(got[field], expected, rtol=rtol_for("rma", field), atol=ATOL_FLOOR, what=field)


def test_json_with_mods_matches_metafor():
    case = METAREG["mr_bcg_RR_alloc_REML_knha"]
    proc = run(input_path(case), "--mods", case["spec"]["mods"], "--test", "knha", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == POOL_KEYS | MODS_KEYS
    assert [c["name"] for c in got["coefficients"]] == ["intrcpt", "allocrandom", "allocsystematic"]
    for field, expected in case["expected"].items():
        if field != "coefficients":
            assert_agrees(got[field], expected, rtol=rtol_for("metareg", field), atol=ATOL_FLOOR, what=field)
    for g, e in zip(got["coefficients"], case["expected"]["coefficients"], strict=True):
        for f in ("estimate", "se", "stat", "pval", "ci_low", "ci_high"):
            assert_agrees(g[f], e[f], rtol=rtol_for("metareg", f), what=f)


def test_sei_instead_of_vi(tmp_path):
    src = input_path(RMA["rma_bcg_RR_DL_z"]).read_text().splitlines()
    f = tmp_path / "se.csv"
    rows = [f"{a},{float(b) ** 0.5!r}" for a, b in (r.split(",") for r in src[1:])]
    f.write_text("\n".join(["yi,sei", *rows]))
    proc = run(f, "--sei", "sei", "--method", "DL", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert_agrees(json.loads(proc.stdout)["tau2"], RMA["rma_bcg_RR_DL_z"]["expected"]["tau2"],
                  rtol=METAFOR_RTOL["rma"])


def test_by_gives_subgroups_and_the_between_groups_test():
    # metafor 3.8-1, tests/reference/univariate.R (subgroups), as tests/test_univariate.py
    proc = run(input_path(METAREG["mr_bcg_RR_alloc_REML_z"]), "--by", "alloc", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert [s["level"] for s in got["subgroups"]] == ["alternate", "random", "systematic"]
    assert_agrees(got["q_between"], UNIVARIATE["subgroups"]["q_between"], rtol=METAFOR_RTOL["metareg"])
    assert got["q_between_df"] == 2
    assert proc.stderr.strip() == ("warning: alloc = alternate: only k = 2 studies: "
                                   "tau2, I2 and H2 are very imprecise")


def test_genq_with_a_weights_column(tmp_path):
    # metafor 3.8-1, tests/reference/univariate.R (genq, weights 1/sqrt(vi)), as tests/test_univariate.py
    src = input_path(METAREG["mr_bcg_RR_alloc_REML_z"]).read_text().splitlines()
    f = tmp_path / "w.csv"
    f.write_text("\n".join([src[0] + ",w", *(f"{r},{float(r.split(',')[1]) ** -0.5!r}" for r in src[1:])]))
    proc = run(f, "--method", "GENQ", "--weights", "w", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == POOL_KEYS and got["method"] == "GENQ" and got["tau2_ci"] == [None, None]
    assert_agrees(got["tau2"], UNIVARIATE["genq"]["z"]["tau2"], rtol=METAFOR_RTOL["rma"])
    assert_agrees(got["estimate"], UNIVARIATE["genq"]["z"]["estimate"], rtol=METAFOR_RTOL["rma"])
    proc = run(f, "--method", "REML", "--weights", "w")
    assert proc.returncode == 2 and "weights= are only used by method='GENQ'" in proc.stderr


def test_text_is_metafor_like():
    proc = run(input_path(RMA["rma_bcg_RR_REML_z"]))
    assert proc.returncode == 0
    out = proc.stdout
    assert out.startswith("Random-Effects Model (k = 13; tau^2 estimator: REML)")
    assert "tau^2 (estimated amount of total heterogeneity): 0.3132 (SE = 0.1664)" in out
    assert "Q(df = 12) = 152.2330, p-val < .0001" in out
    assert "estimate      se     zval    pval    ci.lb    ci.ub" in out
    assert " -0.7145  0.1798  -3.9744  <.0001  -1.0669  -0.3622  ***" in out


def test_csv_is_one_row_per_coefficient():
    proc = run(input_path(METAREG["mr_bcg_RR_ablat_REML_z"]), "--mods", "~ ablat", "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "name,estimate,se,stat,pval,ci_low,ci_high"
    assert [r.split(",")[0] for r in lines[1:]] == ["intrcpt", "ablat"]
    slope = METAREG["mr_bcg_RR_ablat_REML_z"]["expected"]["coefficients"][1]["estimate"]
    assert_agrees(float(lines[2].split(",")[1]), slope, rtol=METAFOR_RTOL["metareg"])


def test_cold_start_imports_neither_pandas_nor_scipy_nor_formulaic():
    code = ("import sys; from commonfactors.cli import main\n"
            "try:\n    main(['pool', sys.argv[1], '--format', 'json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandas', 'scipy', 'formulaic') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code, str(input_path(RMA["rma_bcg_RR_REML_z"]))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


# ---------------------------------------------------------------- bad input: exit 2, one line, no traceback


def _bad(tmp_path, text, *args, process=False):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    proc = (in_a_process("pool", f, *args, "--format", "json") if process
            else run(f, *args, "--format", "json"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0], f


GOOD = "yi,vi,g\n0.1,0.01,a\n0.3,0.02,b\n0.2,0.015,a\n"


def test_missing_column(tmp_path):
    line, f = _bad(tmp_path, GOOD, "--vi", "v")
    assert str(f) in line and "no column 'v'" in line and "(did you mean 'vi'?)" in line


def test_misspelled_yi_column(tmp_path):
    line, _ = _bad(tmp_path, GOOD, "--yi", "yie")
    assert "no column 'yie'" in line and "did you mean 'yi'?" in line
    assert "the columns are 'yi', 'vi', 'g'" in line


def test_text_in_a_numeric_column(tmp_path):
    line, f = _bad(tmp_path, "yi,vi\n0.1,0.01\nabc,0.02\n0.2,0.015\n")
    assert f"{f}, row 3, column 'yi': got 'abc'" in line


def test_non_positive_variance_in_a_real_process(tmp_path):
    line, f = _bad(tmp_path, "yi,vi\n0.1,0.01\n0.3,0\n0.2,0.015\n", process=True)
    assert f"{f}, row 3, column 'vi': got 0; expected a sampling variance > 0" in line


def test_empty_file(tmp_path):
    line, f = _bad(tmp_path, "")
    assert str(f) in line and "the file is empty" in line


def test_moderator_with_one_level(tmp_path):
    line, f = _bad(tmp_path, "yi,vi,g\n0.1,0.01,a\n0.3,0.02,a\n0.2,0.015,a\n", "--mods", "~ g")
    assert str(f) in line and "moderator 'g' has a single value" in line


def test_unknown_method_is_a_usage_error(tmp_path):
    f = tmp_path / "ok.csv"
    f.write_text(GOOD)
    proc = run(f, "--method", "XYZ")  # click's usage error: exit 2, usage lines and one "Error:" line
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "Error: Invalid value for '--method': 'XYZ' is not one of" in proc.stderr


def test_by_with_mods_gives_one_meta_regression_per_subgroup():
    # metafor 3.8-1, tests/reference/univariate.R (subgroups_mods), as tests/test_univariate.py
    f = HERE / "inputs" / "mr_bangertdrowns2004_length_imag_meta.csv"
    proc = run(f, "--by", "meta", "--mods", "~ length", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert [set(s) for s in got["subgroups"]] == [POOL_KEYS | MODS_KEYS | {"level"}] * 2
    assert [c["name"] for c in got["subgroups"][1]["coefficients"]] == ["intrcpt", "length"]
    expected = UNIVARIATE["subgroups_mods"]["z"]["q_between"]
    assert_agrees(got["q_between"], expected, rtol=METAFOR_RTOL["metareg"])
    assert got["q_between_df"] == 2
    proc = run(f, "--by", "meta", "--mods", "~ length", "--format", "csv")
    assert proc.stdout.splitlines()[0] == "level,k,name,estimate,se,stat,pval,ci_low,ci_high,tau2,qe,qe_pval"


def test_cluster_dispatches_to_the_three_level_model():
    case = load_cases("multilevel")[0]  # ml_assink2016_REML, metafor 3.8-1
    proc = run(input_path(case), "--cluster", "cluster", "--within", "within", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for field in ("k", "n_clusters", "estimate"):
        assert_agrees(got[field], case["expected"][field], rtol=rtol_for("multilevel", field), what=field)


@pytest.mark.parametrize("args, message", [
    (["--within", "g"], "--within and --robust need --cluster"),
    (["--robust", "cr2"], "--within and --robust need --cluster"),
    (["--vi", "vi", "--sei", "vi"], "give either --vi or --sei, not both"),
    (["--cluster", "g", "--by", "g"], "--by cannot be combined with --cluster"),
    (["--cluster", "g", "--weights", "g"], "--weights cannot be combined with --cluster"),
    (["--method", "GENQ"], "method='GENQ' needs weights="),
])
def test_option_conflicts_are_usage_errors(tmp_path, args, message):
    f = tmp_path / "ok.csv"
    f.write_text(GOOD)
    proc = run(f, *args)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
