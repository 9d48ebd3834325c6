"""``commonfactors monitor``: text, JSON and CSV of routine outcome monitoring, and bad input (exit 2, one
line).

Numbers: tests/reference/monitoring.R (lme4's bounds for tests/data/monitoring_ors.csv; the DAS Table 2
categories, an arithmetic fixture of Jacobson & Truax 1991 as transcribed in AWKruijt/JT-RCI)."""

import csv
import io
import json
import re

import numpy as np
import pytest

from cli_run import in_a_process, in_process
from reference import HERE, load

R = load("monitoring")
ORS = HERE.parent / "data" / "monitoring_ors.csv"
ORS_ARGS = [ORS, "--client", "client", "--session", "session", "--score", "ors"]


@pytest.fixture(scope="module")
def das_long(tmp_path_factory):
    rows = list(csv.DictReader(open(HERE.parent / "data" / "monitoring_jt1991_das.csv")))
    path = tmp_path_factory.mktemp("das") / "das_long.csv"
    with open(path, "w") as f:
        f.write("couple,session,das\n")
        for r in rows:
            f.write(f"{r['couple']},1,{r['pre']}\n{r['couple']},2,{r['post']}\n")
    return path


def test_json_is_the_whole_result_with_lme4_bounds():
    proc = in_process("monitor", *ORS_ARGS, "--therapist", "therapist", "--instrument", "ORS",
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    np.testing.assert_allclose([s["bound"] for s in got["sessions"]], R["predictions"]["bound"], rtol=1e-6)
    assert got["instrument"]["name"] == "ORS" and got["instrument"]["rc_change"]["status"] == "secondary"
    assert got["curves"]["reml_crit"] == pytest.approx(R["fit"]["reml_crit"], rel=1e-8)
    assert "not the proprietary" in got["curves_note"]
    assert len(got["therapists"]) == 8 and len(got["clients"]) == 80
    single = "9 clients with one session: no change category (categories need two sessions)"
    assert got["warnings"] == [single]
    assert proc.stderr.count("warning: ") == 1


def test_das_categories_through_the_command_line(das_long):
    proc = in_process("monitor", das_long, "--client", "couple", "--session", "session", "--score", "das",
                      "--higher-is-better", "--reliability", "0.96", "--sd", "17.8", "--cutoff", "a",
                      "--format", "json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["counts"] == {**R["jt_das"]["counts"], "not clinical at intake": 0}
    assert "expected curves not fitted" in proc.stderr
    text = in_process("monitor", das_long, "--client", "couple", "--session", "session", "--score", "das",
                      "--higher-is-better", "--reliability", "0.96", "--sd", "17.8", "--cutoff", "a").stdout
    assert re.search(r"\nrecovered +10 +33\.3\n", text) and "curves were not fitted" in text
    assert "Jacobson & Truax (1991) cutoff a" in text


def test_text_shows_values_sources_counts_flags_and_the_note():
    proc = in_process("monitor", *ORS_ARGS, "--instrument", "ors", "--therapist", "therapist")
    assert proc.returncode == 0, proc.stderr
    for piece in ("Instrument values used", "not seen", "secondary", "Sources:", "J. Brief Ther.",
                  "Jacobson & Truax categories", "Early responders (reliable improvement by session 4)",
                  "Not on track", "how they ended", "Per therapist", "not the proprietary OQ-Analyst"):
        assert piece in proc.stdout, piece


def test_csv_is_the_per_client_table():
    proc = in_process("monitor", *ORS_ARGS, "--instrument", "ORS", "--early-session", "3", "--alpha", "0.05",
                      "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 80 and list(rows[0])[:4] == ["client", "n_sessions", "first_session", "last_session"]
    single = [r for r in rows if r["n_sessions"] == "1"]
    assert len(single) == 9 and all(r["category"] == "NA" for r in single)


@pytest.mark.parametrize("args, message", [
    (["--instrument", "PHQ9"], "row 9, column 'ors': got 27.2; expected a score in [0, 27] (PHQ9)"),
    (["--instrument", "SRS"], "SRS has no reliable-change value"),
    ([], "a custom instrument needs its direction"),
    (["--instrument", "ORS", "--cutoff", "x"], "'x' is not a number, nor a, b or c"),
    (["--instrument", "ORS", "--rc-change", "5", "--reliability", "0.8"], "both rc_change and reliability"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    proc = in_process("monitor", *ORS_ARGS, *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if not line.startswith("warning: ")]) == 1


def test_a_duplicate_session_in_a_real_process(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("client,session,ors\na,1,20\na,2,22\nb,1,18\nb,1,19\n")
    proc = in_a_process("monitor", path, "--client", "client", "--session", "session", "--score", "ors",
                        "--instrument", "ORS")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"Error: {path}, row 5, column 'session': client 'b' has a second score "
                                   "for session 1 (the first is at row 4); expected one row per client and "
                                   "session")
