"""`commonfactors reproduce [ID ...] [--all] [--format table|json|csv]`: the reproduction table through the
command line (DESIGN.md: JSON on stdout; user errors exit 2 with one line on stderr)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from cli_run import in_a_process
from commonfactors.cli import main
from commonfactors.reproduce import analysis_ids
from commonfactors.results.reproduce import COLUMNS, ROW_FIELDS, VERDICTS
from reference import load


def run(*args):
    return CliRunner().invoke(main, ["reproduce", *args])


@pytest.fixture(scope="module")
def all_json() -> dict:
    res = run("--all", "--format", "json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_all_json_runs_every_analysis(all_json):
    assert all_json["analyses"] == analysis_ids()
    assert set(all_json) == {"analyses", "counts", "rows", "warnings"}
    assert sum(all_json["counts"].values()) == len(all_json["rows"])
    assert all_json["counts"]["reproduced"] >= 15


def test_all_json_rows_have_a_verdict_and_reproduced_rows_are_within_tolerance(all_json):
    for r in all_json["rows"]:
        assert list(r) == list(ROW_FIELDS)
        assert r["verdict"] in VERDICTS, r["id"]
        assert r["citation"] and r["verified"], r["id"]
        if r["verdict"] == "reproduced":
            assert abs(r["reproduced"] - r["published"]) <= r["tolerance"] * (1 + 1e-9) + 1e-15, r["id"]
        if r["verdict"] == "differs":
            assert abs(r["reproduced"] - r["published"]) > r["tolerance"], r["id"]


def test_all_json_covers_every_published_estimate(all_json):
    from commonfactors import load_dataset

    n = len(load_dataset("published_estimates"))
    assert sum(r["id"].startswith("published_estimates:") for r in all_json["rows"]) == n


def test_csv_is_the_flat_table():
    res = run("molloy2014", "dorn2007", "--format", "csv")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == list(COLUMNS)
    assert [r["id"] for r in rows][:2] == ["molloy2014:r", "molloy2014:r_ci_low"]
    first = rows[0]
    assert (first["published"], first["verdict"], first["model_estimator"]) == ("0.15", "reproduced", "REML")
    metafor = load("reproduce")["reproduced"]["molloy2014:r"]  # metafor 3.8-1, tests/reference/reproduce.R
    assert float(first["reproduced"]) == pytest.approx(metafor, rel=1e-6)
    assert {r["id"].split(":")[0] for r in rows} == {"molloy2014", "dorn2007"}


def test_table_is_the_default_and_text_an_alias():
    res = run("molloy2014")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Reproduction of published estimates (5 numbers from 1 analyses)")
    assert lines[2].split() == ["id", "published", "reproduced", "difference", "tolerance", "verdict"]
    assert lines[3].split() == ["molloy2014:r", "0.150", "0.149", "-0.001", "0.0050", "reproduced"]
    assert "Verdicts: 4 reproduced, 1 differs" in res.stdout
    assert run("molloy2014", "--format", "text").stdout == res.stdout


def test_unknown_id_exits_2_with_one_line():
    out = in_a_process("reproduce", "molloy2015", "--format", "json")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no analysis 'molloy2015' (did you mean 'molloy2014'?)" in lines[0]
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [(), ("molloy2014", "--all")], ids=["nothing", "ids-and-all"])
def test_ids_or_all_is_required(args):
    res = run(*args)
    assert res.exit_code == 2
    assert "give analysis IDs or --all" in res.output
