"""``commonfactors simulate``: the grid from comma-separated options, the table written as CSV or Parquet and
printed in the three formats, bad options as one line with exit 2, Ctrl-C as exit 130 with the cluster's
processes gone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from cli_run import in_a_process, in_process
from commonfactors.simulate import simulation_study

ARGS = ["--k", "5,20", "--tau2", "0,0.1", "--effect", "0.3", "--reps", "200", "--method", "DL,REML",
        "--test", "z,knha", "--seed", "20240603"]


def test_table_written_and_printed(tmp_path):
    out = tmp_path / "results.csv"
    res = in_process("simulate", *ARGS, "--out", out, "--format", "json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    table = pd.read_csv(out)
    assert len(table) == len(data["rows"]) == 4 * 2 * 2  # one row per condition x method x test
    want = simulation_study(k=(5, 20), tau2=(0, 0.1), effect=(0.3,), reps=200, method=("DL", "REML"),
                            test=("z", "knha"), seed=20240603).to_frame()
    pd.testing.assert_frame_equal(table, want, check_exact=True)
    assert data["seed"] == 20240603 and data["rows"][0]["coverage"] == want["coverage"][0]
    text = in_process("simulate", *ARGS, "--out", out)
    assert "Monte Carlo" in text.stdout and f"Wrote {out}" in text.stdout
    as_csv = in_process("simulate", *ARGS, "--out", out, "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("condition,k,tau2,effect,sizes,metric,selection,weight,")
    assert len(as_csv.stdout.splitlines()) == 17


def test_parquet_equals_csv(tmp_path):
    for name in ("t.parquet", "t.csv"):
        assert in_process("simulate", *ARGS, "--bias", "none,step", "--out", tmp_path / name).returncode == 0
    pq = pd.read_parquet(tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(pq, pd.read_csv(tmp_path / "t.csv"), check_exact=True)
    assert set(pq["selection"]) == {"none", "step"} and len(pq) == 32


@pytest.mark.parametrize("args,word", [
    (["--k", "1"], "k="), (["--k", "5,,6"], "empty item"), (["--bias", "funnel"], "selection"),
    (["--metric", "OR"], "metric"), (["--weight", "1.5"], "weight"), (["--reps", "1"], "reps"),
    (["--method", "XYZ"], "method"), (["--tau2", "abc"], "tau2"),
])
def test_bad_options_one_line_exit_2(tmp_path, args, word):
    res = in_a_process("simulate", *ARGS, *args, "--out", tmp_path / "t.csv")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and word in res.stderr
    assert not (tmp_path / "t.csv").exists()


def test_out_must_be_csv_or_parquet(tmp_path):
    res = in_process("simulate", *ARGS, "--out", tmp_path / "t.xlsx")
    assert res.returncode == 2 and ".csv or .parquet" in res.stderr


@pytest.mark.slow
def test_ctrl_c_exits_130_and_stops_the_workers(tmp_path):
    import psutil

    out = tmp_path / "t.csv"
    cmd = [sys.executable, "-m", "commonfactors.cli", "simulate", "--k", "5,10,20,40,80", "--reps", "40000",
           "--seed", "1", "--workers", "2", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parts = tmp_path / "t.csv.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(parts.glob("condition-*.json")):
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children  # the cluster's processes
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    gone, alive = psutil.wait_procs(children, timeout=20)
    assert not alive
    assert not out.exists() and list(parts.glob("condition-*.json"))  # what finished is kept for a rerun
