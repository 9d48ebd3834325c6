"""The pie's Monte Carlo intervals on Dask: the draws are made in blocks, block b from the b-th child of
``SeedSequence(seed)``, so a LocalCluster of two worker processes (started by the call, or running and given
by its address) gives the numbers of a run in this process, on the command line too."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from commonfactors.cli import main
from commonfactors.errors import InputError
from commonfactors.factors import pie
from commonfactors.factors.pie import DRAW_BLOCK, PieWarning, additive_pie, component, dominance_pie

COMPONENTS = [
    component("relationship", "r", 0.278, ci_low=0.256, ci_high=0.299),
    component("technique", "d", 0.06, ci_low=0.0, ci_high=0.12),
    component("therapist", "icc", 0.05, n_clusters=581, n=6146),
]
#: more than two blocks, the last one short
DRAWS = 2 * DRAW_BLOCK + 1000


def _matrix():
    names = ["alliance", "empathy", "expectancy", "outcome"]
    R = [[1, 0.5, 0.2, 0.28], [0.5, 1, 0.25, 0.28], [0.2, 0.25, 1, 0.12], [0.28, 0.28, 0.12, 1]]
    return pd.DataFrame(R, index=names, columns=names)


def _dominance(**kw):
    with warnings.catch_warnings():  # n = 40 rejects some drawn matrices (counted in the result)
        warnings.simplefilter("ignore", PieWarning)
        return dominance_pie(_matrix(), n=40, draws=DRAWS, seed=11, **kw)


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_blocks_of_the_draws_and_their_streams():
    assert pie._block_sizes(DRAWS) == [DRAW_BLOCK, DRAW_BLOCK, 1000]
    assert pie._block_sizes(100) == [100]
    # block b draws from the b-th child of SeedSequence(seed): the second block of the additive draws
    stream = np.random.SeedSequence(5).spawn(2)[1]
    block = pie._additive_block(tuple(COMPONENTS), stream, 300)
    rng = np.random.default_rng(np.random.SeedSequence(5).spawn(2)[1])
    z = rng.normal(np.arctanh(0.278), COMPONENTS[0].se, 300)
    assert block.shape == (3, 300)
    assert np.array_equal(block[0], np.tanh(z) ** 2)


def test_a_running_cluster_gives_the_numbers_of_this_process(scheduler):
    here = additive_pie(COMPONENTS, draws=DRAWS, seed=3)
    there = additive_pie(COMPONENTS, draws=DRAWS, seed=3, scheduler=scheduler)
    assert there.to_dict() == here.to_dict()
    assert additive_pie(COMPONENTS, draws=DRAWS, seed=4).to_dict() != here.to_dict()
    dom = _dominance()
    assert dom.rejected_draws > 0  # each block redraws its own rejected matrices
    assert _dominance(scheduler=scheduler).to_dict() == dom.to_dict()


def test_a_local_cluster_started_for_the_call():
    assert _dominance(workers=2).to_dict() == _dominance().to_dict()


def test_the_command_line_on_a_running_cluster(scheduler):
    def run(*extra):
        args = ["pie", "--draws", str(DRAWS), "--seed", "9", "--format", "json", *extra]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        return json.loads(res.stdout)

    assert run("--scheduler", scheduler) == run()


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_workers_must_be_a_whole_number(bad):
    with pytest.raises(InputError, match="workers"):
        additive_pie(COMPONENTS, draws=100, workers=bad)


def test_negative_workers_on_the_command_line_is_exit_2():
    res = CliRunner().invoke(main, ["pie", "--workers", "-1"])
    assert res.exit_code == 2
    assert "workers" in res.output and "Traceback" not in res.output
