"""The report's simulation page (commonfactors.report.simulation): the fixed-seed study it runs at build time
reproduces IntHout, Ioannidis & Borm (2014) as the page says, its numbers, figures and table come from that
study, every link resolves, and the command it shows writes the same table."""

from __future__ import annotations

import html
import re
import shlex

import pandas as pd
import pytest
from click.testing import CliRunner

from commonfactors.cli import main
from commonfactors.report import simulation
from commonfactors.report.render import Writer


@pytest.fixture(scope="module")
def result():
    return simulation.study()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    page = simulation.job(str(root))
    entry = simulation.write(Writer(root), page, [("index.html", "Overview")])
    return root, page, entry


def _row(result, k, tau2, method, test):
    key = (k, tau2, method, test)
    return next(r for r in result.rows if (r["k"], r["tau2"], r["method"], r["test"]) == key)


def test_the_study_reproduces_inthout_2014(result):
    """k = 5, tau2 > 0: the DL Wald-type interval covers well below 95% (below 0.93), the Knapp-Hartung one
    within 0.93-0.97; with tau2 = 0 both cover at least 95% less 2 MC SE; with k = 20 the Wald-type gap is
    smaller than with k = 5; REML within 0.01 of DL (what the page's text says)."""
    assert result.reps == 5000 and len(result.rows) == 3 * 3 * 2 * 2
    for tau2 in (0.05, 0.2):
        wald, knha = _row(result, 5, tau2, "DL", "z"), _row(result, 5, tau2, "DL", "knha")
        assert wald["coverage"] + 2 * wald["coverage_mcse"] < 0.93
        assert 0.93 <= knha["coverage"] <= 0.97
        assert _row(result, 20, tau2, "DL", "z")["coverage"] > wald["coverage"]
        assert knha["ci_width"] > wald["ci_width"]
    for r in result.rows:
        if r["tau2"] == 0:
            assert r["coverage"] >= 0.95 - 2 * r["coverage_mcse"]
        if r["method"] == "REML":
            dl = _row(result, r["k"], r["tau2"], "DL", r["test"])
            assert abs(r["coverage"] - dl["coverage"]) < 0.01
        assert r["failures"] == 0
    assert simulation.finding(result)["holds"]


def test_the_page_shows_the_study(built, result):
    root, page, entry = built
    assert entry["page"] == "simulation.html"
    text = html.unescape((root / "simulation.html").read_text(encoding="utf-8"))
    assert "Knapp-Hartung" in text and "IntHout" in text and "reproduced here (" in text
    for tau2 in (0.05, 0.2):
        wald = _row(result, 5, tau2, "DL", "z")
        assert f"{wald['coverage']:.3f} ± {2 * wald['coverage_mcse']:.3f}" in text
    assert len(page["rows"]) == len(result.rows)
    table = pd.read_csv(root / page["table"])
    assert table["coverage"].tolist() == pytest.approx([r["coverage"] for r in result.rows], abs=1e-15)
    assert " ".join(simulation.COMMAND.split()) in " ".join(text.split())


def test_every_link_of_the_page_resolves(built):
    root, page, _ = built
    raw = (root / "simulation.html").read_text(encoding="utf-8")
    links = set(re.findall(r'(?:href|src)="([^"#]+)"', raw))
    local = [x for x in links if not x.startswith("https://")]
    expected = {"figures/simulation-coverage.png", "figures/simulation-ci-width.svg", "tables/simulation.csv"}
    assert expected <= set(local)
    for link in local:
        if link != "index.html":
            assert (root / link).is_file(), link


def test_the_command_writes_the_same_table(tmp_path, result):
    args = shlex.split(simulation.COMMAND)[1:]
    args[args.index("--out") + 1] = str(tmp_path / "simulation.csv")
    res = CliRunner().invoke(main, [*args, "--format", "json"])
    assert res.exit_code == 0, res.output
    written = pd.read_csv(tmp_path / "simulation.csv")
    assert written["coverage"].tolist() == [r["coverage"] for r in result.rows]
    assert written["ci_width"].tolist() == pytest.approx([r["ci_width"] for r in result.rows], rel=1e-14)
