"""``commonfactors effects``: the JSON / CSV / text outputs of the CLI contract, and bad input (exit 2, one
line on stderr, no traceback, no output file). Numbers: metafor 3.8-1 (conformance cases es_bcg_RR,
es_linde2005_RR)."""

import json
import re

import pytest

import commonfactors as cf
from cli_run import in_a_process, in_process
from conformance_cases import input_path, load_cases
from tolerances import ATOL_FLOOR, METAFOR_RTOL, assert_agrees

CASES = {c["id"]: c for c in load_cases("effect_size")}
LINDE = CASES["es_linde2005_RR"]
RR_ARGS = ["--measure", "RR", "--ai", "ai", "--ci", "ci", "--n1i", "n1i", "--n2i", "n2i"]


def run_in_a_process(*args):
    """The command as a shell runs it (exit code, stderr, cold start)."""
    return in_a_process("effects", *args)


def run(*args):
    """The same command in-process (click's CliRunner): 10 times faster."""
    return in_process("effects", *args)


def test_json_has_measure_yi_vi_and_names_missing_rows():
    proc = run_in_a_process(input_path(LINDE), *RR_ARGS, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert set(got) == {"measure", "yi", "vi", "warnings"}
    assert got["warnings"] == ["2 studies with missing inputs: yi/vi set to NA (rows 6, 27)"]
    for field in ("yi", "vi"):
        assert_agrees(got[field], LINDE["expected"][field], rtol=METAFOR_RTOL["effect_size"], atol=ATOL_FLOOR)


def test_csv_to_file_appends_yi_vi_to_the_input(tmp_path):
    out = tmp_path / "out.csv"
    proc = run(input_path(LINDE), *RR_ARGS, "--format", "csv", "--out", out)
    assert proc.returncode == 0 and proc.stdout == ""
    assert proc.stderr.strip() == "warning: 2 studies with missing inputs: yi/vi set to NA (rows 6, 27)"
    back = cf.read_table(out)
    src = cf.read_table(input_path(LINDE))
    assert list(back.columns) == [*src.columns, "yi", "vi", "measure"]  # the measure, for pool to read
    assert back["ai"].tolist()[:3] == [19, 15, 10]  # whole numbers written as in the input
    assert out.read_text().splitlines()[5].split(",")[-3:] == ["NA", "NA", "RR"]  # file line 6: NA
    assert_agrees(back["yi"].tolist(), LINDE["expected"]["yi"], rtol=METAFOR_RTOL["effect_size"])


def test_text_prints_a_table_with_the_inputs_used():
    proc = run(
        input_path(CASES["es_bcg_RR"]),
        "--measure",
        "rr",
        "--ai",
        "tpos",
        "--bi",
        "tneg",
        "--ci",
        "cpos",
        "--di",
        "cneg",
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "Effect sizes: RR, log risk ratio (k = 13)"
    assert lines[2].split() == ["row", "tpos", "tneg", "cpos", "cneg", "yi", "vi"]
    bcg = CASES["es_bcg_RR"]["expected"]  # metafor 3.8-1, to 4 decimals as escalc's print() shows them
    assert lines[3].split() == ["2", "4", "119", "11", "128", f"{bcg['yi'][0]:.4f}", f"{bcg['vi'][0]:.4f}"]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--measure", "RR", "--ai", "ai", "--ci", "ci", "--n1i", "n1", "--n2i", "n2i"],
            r"no column 'n1' \(did you mean 'n1i'\?\)",
        ),
        (
            ["--measure", "RR", "--ai", "n1i", "--ci", "ci", "--n1i", "ai", "--n2i", "n2i"],
            r"row 7, column 'ai': got 0; expected a sample size >= 1 for measure RR",
        ),
        (
            ["--measure", "RR", "--ai", "study", "--ci", "ci", "--n1i", "n1i", "--n2i", "n2i"],
            r"row 2, column 'study': got 'Hoffman & Kuehl'; expected a number",
        ),
        (["--measure", "SMD", "--ai", "ai"], r"measure SMD needs m1i, sd1i, n1i, m2i, sd2i, n2i; missing"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_file(tmp_path, args, message):
    out = tmp_path / "out.csv"
    proc = run(input_path(LINDE), *args, "--format", "csv", "--out", out)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert re.search(message, proc.stderr), proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_unknown_file_and_measure_exit_2():
    proc = run_in_a_process("no/such/file.csv", *RR_ARGS)
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
    proc = run(input_path(LINDE), "--measure", "XYZ", "--ai", "ai")
    assert proc.returncode == 2 and "Invalid value for '--measure'" in proc.stderr


def test_count_above_group_size_names_the_file_line(tmp_path):
    data = tmp_path / "trials.csv"
    data.write_text("ai,n1i,ci,n2i\n3,10,2,10\n\n12,10,2,10\n")  # line 3 blank: the bad row is line 4
    proc = run(data, *RR_ARGS, "--format", "json")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == (
        f"Error: {data}, row 4, column 'ai': got 12 but n1i is 10; expected a count <= n1i (the group size)"
    )
