"""``commonfactors simulate-practice``: the file written is the library's practice for the same arguments, it
says it is synthetic, and bad arguments are one line with exit code 2 (more in tests/test_cli_errors.py)."""

import json
import os

import pandas as pd
import pytest

from cli_run import in_a_process, in_process
from commonfactors.simulate import simulate_practice


def test_the_file_is_the_library_practice(tmp_path):
    out = tmp_path / "practice.csv"
    res = in_process("simulate-practice", "--therapists", 6, "--clients", 4, "--icc", 0.1, "--sessions", 5,
                     "--sites", 2, "--site-icc", 0.05, "--dropout", 0.25, "--years", 8, "--slope-sd", 0.2,
                     "--seed", 3, "--out", out)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(out)
    want = simulate_practice(6, 4, 0.1, 5, sites=2, site_icc=0.05, dropout=0.25, years=8, slope_sd=0.2,
                             seed=3)
    assert list(got.columns) == ["client", "therapist", "site", "session", "score", "years"]
    pd.testing.assert_frame_equal(got, want.reset_index(drop=True), check_dtype=False)
    assert "SYNTHETIC data, not real clients (seed 3)" in res.stdout
    assert f"{len(want)} rows: 24 clients of 6 therapists in 2 sites" in res.stdout
    assert res.stderr == ""


def test_json_gives_the_truth(tmp_path):
    out = tmp_path / "p.csv"
    res = in_process("simulate-practice", "--seed", 1, "--out", out, "--format", "json")
    data = json.loads(res.stdout)
    truth = simulate_practice(seed=1).attrs["truth"]
    assert data["synthetic"] is True and data["rows"] == 50 * 20 * 8
    for key in ("icc", "var_therapist", "var_residual", "share_clipped"):
        assert data[key] == pytest.approx(truth[key], rel=1e-15)
    assert data["parameters"]["seed"] == 1 and data["parameters"]["n_sessions"] == 8


def test_years_alone_means_ten_years(tmp_path):
    out = tmp_path / "p.csv"
    assert in_process("simulate-practice", "--years", "--seed", 2, "--out", out).returncode == 0
    years = pd.read_csv(out)["years"]
    assert 0 <= years.min() and years.max() <= 10 and years.max() > 9


def test_without_a_seed_the_text_says_so(tmp_path):
    res = in_process("simulate-practice", "--therapists", 2, "--clients", 2, "--out", tmp_path / "p.csv")
    assert "no seed" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["--dropout", "-0.1"], "dropout = -0.1; expected a number in [0, 1]"),
    (["--slope-sd", "0.3"], "slope_sd and years_slope need years"),
    (["--therapists", "1"], "n_therapists = 1; expected a whole number >= 2"),
    (["--sessions", "x"], "Invalid value for '--sessions'"),
])
def test_bad_arguments_one_line_exit_2_no_file(tmp_path, args, message):
    out = tmp_path / "p.csv"
    res = in_process("simulate-practice", *args, "--out", out)
    assert res.returncode == 2 and message in res.stderr and len(res.stderr.splitlines()) == 1
    assert not out.exists() and os.listdir(tmp_path) == []


def test_out_is_required_and_a_folder_is_refused(tmp_path):
    res = in_process("simulate-practice", "--seed", 1)
    assert res.returncode == 2 and "Missing option '--out'" in res.stderr
    res = in_a_process("simulate-practice", "--seed", 1, "--out", tmp_path)
    assert res.returncode == 2 and len(res.stderr.splitlines()) == 1 and "Traceback" not in res.stderr
