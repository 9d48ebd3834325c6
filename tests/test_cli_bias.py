"""``commonfactors bias`` and ``commonfactors influence``: the JSON contract of DESIGN.md on metafor 3.8-1
conformance cases, the text and CSV formats, and bad input (exit 2, one line on stderr, no traceback).

The commands run in-process (click's CliRunner); the bad-input test of each command also runs in a real
process, for the exit code and the stderr a shell sees."""

import io
import json

import pandas as pd
import pytest

from cli_run import in_a_process, in_process
from conformance_cases import input_path, load_cases
from reference import load
from tolerances import ATOL_FLOOR, assert_agrees, atol_for, rtol_for

BIAS = {c["id"]: c for c in load_cases("bias")}
INFLUENCE = {c["id"]: c for c in load_cases("influence")}
RENAME = {"egger_rma": "egger", "egger_lm": "egger_classical", "begg": "begg", "trimfill": "trim_and_fill",
          "fsn_rosenthal": "fail_safe_n", "pet": "pet", "peese": "peese", "selmodel_3psm": "selection_3psm"}


run = in_process


def test_bias_json_matches_metafor():
    case = BIAS["bias_linde2005_RR"]  # a case where every field agrees (see test_conformance_bias.py)
    proc = run("bias", input_path(case), "--yi", "yi", "--vi", "vi", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == set(RENAME.values()) | {"k", "method", "direction", "warnings"}
    for section, fields in case["expected"].items():
        ours = RENAME[section]
        for name, expected in fields.items():
            assert_agrees(got[ours][name], expected, rtol=rtol_for("bias", ours), atol=ATOL_FLOOR,
                          what=f"{ours}.{name}")


def test_bias_json_carries_the_warnings_and_text_prints_them():
    path = input_path(BIAS["bias_bcg_RR"])
    got = json.loads(run("bias", path, "--format", "json").stdout)
    assert any("bound of its range [0, 100]" in w for w in got["warnings"])
    assert got["selection_3psm"]["delta"] == [1.0, 100.0]
    proc = run("bias", path)
    assert proc.returncode == 0 and "Trim and fill (L0)" in proc.stdout and "Warnings:" in proc.stdout


def test_bias_r0_with_standard_errors(tmp_path):
    path = tmp_path / "hackshaw_sei.csv"
    pd.read_csv(input_path(BIAS["bias_hackshaw1998"])).assign(sei=lambda d: d.vi ** 0.5).drop(
        columns="vi").to_csv(path, index=False)
    proc = run("bias", path, "--sei", "sei", "--estimator", "R0", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    # metafor 3.8-1, tests/reference/bias.R: trimfill(rma(yi, vi, data=d), estimator="R0")$k0
    assert json.loads(proc.stdout)["trim_and_fill"]["k0"] == load("bias")["trimfill_r0"]["hackshaw1998"]["k0"]


def test_influence_json_matches_metafor():
    case = INFLUENCE["influence_bcg_RR"]
    proc = run("influence", input_path(case), "--yi", "yi", "--vi", "vi", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for name, expected in case["expected"].items():
        assert_agrees(got[name], expected, rtol=rtol_for("influence", name), atol=atol_for(name), what=name)
    assert len(got["influential"]) == 13 and got["warnings"] == []


def test_influence_csv_has_one_row_per_study_and_text_the_table():
    path = input_path(INFLUENCE["influence_normand1999_SMD"])
    proc = run("influence", path, "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(io.StringIO(proc.stdout))
    assert frame.shape[0] == 9 and frame.influential.tolist().count(True) == 1
    text = run("influence", path).stdout
    assert text.startswith("Influence diagnostics (k = 9; tau^2 estimator: REML)")


@pytest.mark.parametrize("command", ["bias", "influence"])
def test_bad_input_exits_2_with_one_line_in_a_real_process(command, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("yi,vi\n0.1,0.01\n0.2,-0.02\n0.3,0.03\n")
    proc = in_a_process(command, bad, "--format", "json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "row 3, column 'vi'" in lines[0] and "sampling variance > 0" in lines[0]
    proc = run(command, tmp_path / "missing.csv")
    assert proc.returncode == 2 and "no such file or dataset" in proc.stderr


@pytest.mark.parametrize("command", ["bias", "influence"])
def test_missing_column_is_named(command):
    proc = run(command, input_path(BIAS["bias_bcg_RR"]), "--vi", "v")
    assert proc.returncode == 2 and "no column 'v'" in proc.stderr and "Traceback" not in proc.stderr
