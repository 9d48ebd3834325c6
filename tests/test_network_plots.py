"""The network figures drawn from a NetworkResult: what they show is the result's numbers."""

import warnings

import numpy as np
import pandas as pd
import pytest

from commonfactors.models.network import network_meta_analysis
from reference import HERE

HB = pd.read_csv(HERE.parent / "data" / "network_hasselblad1998.csv")


@pytest.fixture(scope="module")
def res():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return network_meta_analysis(HB, study="study", treatment="trt", events="xi", n="ni", measure="OR",
                                     reference="no_contact", small_values="bad")


def test_forest_rows_are_the_effects_on_the_ratio_scale(res):
    ax = res.plot_forest()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    ps = {r["treatment"]: r["pscore"] for r in res.pscore}
    expected = [f"{e['treatment']} (P = {ps[e['treatment']]:.2f})"
                for e in sorted(res.effects, key=lambda e: e["estimate"])]  # top row first
    assert labels == expected
    assert ax.get_xscale() == "log"
    squares = ax.collections[-1].get_offsets()[:, 0]
    np.testing.assert_allclose(sorted(squares), sorted(np.exp([e["estimate"] for e in res.effects])))


def test_graph_nodes_and_edges(res):
    ax = res.plot_graph()
    nodes = ax.collections[-1]
    assert len(nodes.get_offsets()) == 4
    sizes = nodes.get_sizes()
    n = [nd["n"] for nd in res.graph["nodes"]]
    assert np.argmax(sizes) == np.argmax(n) and np.argmin(sizes) == np.argmin(n)
    assert len(ax.lines) == len(res.graph["edges"]) == 6
    trials = sorted(int(t.get_text()) for t in ax.texts if t.get_text().isdigit())
    assert trials == sorted(e["k"] for e in res.graph["edges"])


def test_league_figure_cells(res):
    from commonfactors._plotting import draw

    ax = draw("network_league", res)
    cells = [t.get_text() for t in ax.texts if "to" in t.get_text()]
    assert len(cells) == 6
    league = {(r["treat1"], r["treat2"]): r for r in res.league}
    r = league[("grp_counseling", "no_contact")]
    assert f"{np.exp(r['estimate']):.2f}\n({np.exp(r['ci_low']):.2f} to {np.exp(r['ci_high']):.2f})" in cells
