"""simulation_study on Dask: a real LocalCluster of two worker processes on loopback gives the table of a
single-process run; a running scheduler given by its address too; a killed run resumes from its checkpoints
to the table of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from commonfactors.errors import InputError
from commonfactors.simulate import simulation_study

GRID = dict(k=(5, 12), tau2=(0.0, 0.1), effect=(0.3,), sizes=("20-200",), selection=("none", "step"),
            reps=700, block=150, method=("DL", "REML"), test=("z", "knha"))


def test_local_cluster_of_two_processes_gives_the_single_process_table(tmp_path):
    here = simulation_study(**GRID, seed=20240603)
    out = tmp_path / "table.csv"
    on_dask = simulation_study(**GRID, seed=20240603, workers=2, out=out)
    assert on_dask.to_frame().equals(here.to_frame())
    assert out.exists() and not (tmp_path / "table.csv.parts").exists()
    other = simulation_study(**GRID, seed=20240604)
    assert not other.to_frame()["bias"].equals(here.to_frame()["bias"])


def test_a_running_scheduler_by_its_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        on_dask = simulation_study(**GRID, seed=7, scheduler=cluster.scheduler_address)
    assert on_dask.to_frame().equals(simulation_study(**GRID, seed=7).to_frame())


@pytest.mark.slow  # waits for the connection timeout (10 s)
def test_no_scheduler_at_the_address_is_an_input_error():
    with pytest.raises(InputError, match="no Dask scheduler answered"):
        simulation_study(**dict(GRID, reps=10), seed=1, scheduler="tcp://127.0.0.1:9")


def _command(out, workers):
    return [sys.executable, "-m", "commonfactors.cli", "simulate", "--k", "5,10,20,40", "--tau2", "0,0.1",
            "--effect", "0.2", "--reps", "15000", "--method", "REML", "--test", "z,knha", "--seed", "31",
            "--workers", str(workers), "--out", str(out), "--format", "json"]


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_killed_run_resumes_to_the_uninterrupted_table(tmp_path, workers):
    whole = tmp_path / "whole.csv"
    subprocess.run(_command(whole, 0), check=True, capture_output=True, timeout=300)
    out = tmp_path / "resumed.csv"
    parts = tmp_path / "resumed.csv.parts"
    proc = subprocess.Popen(_command(out, workers), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and len(list(parts.glob("condition-*.json"))) < 2:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its worker processes
    finally:
        proc.wait(timeout=30)
    done = len(list(parts.glob("condition-*.json")))
    assert 2 <= done < 8 and not out.exists()
    rerun = subprocess.run(_command(out, workers), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert out.read_bytes() == whole.read_bytes()
    assert not parts.exists()


def test_checkpoints_of_other_settings_are_refused(tmp_path):
    out = tmp_path / "t.csv"
    parts = tmp_path / "t.csv.parts"
    parts.mkdir()
    (parts / "run.json").write_text('{"seed": 1}')
    with pytest.raises(InputError, match="checkpoints of another run"):
        simulation_study(**dict(GRID, reps=10), seed=2, out=out)


def test_a_rerun_without_a_seed_resumes_with_the_first_seed(tmp_path, monkeypatch):
    """Without a seed, the first run draws one and checkpoints it; the same command resumes with it."""
    from commonfactors.simulate import study

    out = tmp_path / "t.csv"
    kw = dict(GRID, reps=200, block=100)
    calls = []
    original = study.run_tasks

    def stop_after_first_condition(fn, tasks, on_result, **kw2):
        def hand_over(i, result):
            on_result(i, result)
            calls.append(i)
            if len(calls) == 2:  # the first condition's two blocks are in: checkpointed
                raise KeyboardInterrupt
        return original(fn, tasks, hand_over, **kw2)
    monkeypatch.setattr(study, "run_tasks", stop_after_first_condition)
    with pytest.raises(KeyboardInterrupt):
        simulation_study(**kw, out=out)
    monkeypatch.setattr(study, "run_tasks", original)
    first_seed = json.loads((tmp_path / "t.csv.parts" / "run.json").read_text())["seed"]
    resumed = simulation_study(**kw, out=out)
    assert resumed.seed == first_seed
    assert resumed.to_frame().equals(simulation_study(**kw, seed=first_seed).to_frame())
