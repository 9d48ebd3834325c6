"""``commonfactors pie`` and ``commonfactors factors list | show`` through the command line."""

import json

import pytest
from click.testing import CliRunner

from commonfactors.cli import main


def run(*args):
    res = CliRunner().invoke(main, list(args))
    return res


GOOD = ",alliance,empathy,outcome\nalliance,1,.3,.28\nempathy,.3,1,.2\noutcome,.28,.2,1\n"


def write(tmp_path, text, name="m.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_pie_json_contract_and_seed():
    res = run("pie", "--draws", "1000", "--seed", "7", "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["method"] == "additive" and d["draws"] == 1000 and d["seed"] == 7
    assert [c["factor"] for c in d["components"]] == [
        "relationship",
        "client",
        "technique",
        "therapist",
        "expectancy",
    ]
    for c in d["components"]:
        assert set(c) == {"factor", "share", "ci_low", "ci_high", "sources"}
        assert 0 <= c["ci_low"] <= c["share"] <= c["ci_high"] <= 1
    assert set(d["unexplained"]) == {"share", "ci_low", "ci_high"} == set(d["r2"])
    assert d["unexplained"]["share"] == pytest.approx(1 - d["r2"]["share"], abs=1e-12)
    assert run("pie", "--draws", "1000", "--seed", "7", "--format", "json").output == res.output


def test_pie_dominance_from_a_file(tmp_path):
    path = write(tmp_path, GOOD)
    res = run(
        "pie",
        "--method",
        "dominance",
        "--correlations",
        path,
        "--n",
        "300",
        "--draws",
        "1000",
        "--format",
        "json",
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["method"] == "dominance"
    assert [c["factor"] for c in d["components"]] == ["alliance", "empathy"]
    assert sum(c["share"] for c in d["components"]) == pytest.approx(d["r2"]["share"], rel=1e-12)
    text = run("pie", "--correlations", path, "--n", "300", "--draws", "1000")
    assert text.exit_code == 0 and "general dominance" in text.output


BAD = {
    "non_pd": (",a,b,outcome\na,1,.9,.9\nb,.9,1,-.9\noutcome,.9,-.9,1\n", "not positive definite"),
    "non_symmetric": (",a,b,outcome\na,1,.3,.2\nb,.3,1,.25\noutcome,.2,.2,1\n", "not symmetric"),
    "out_of_range": (
        ",a,b,outcome\na,1,1.3,.2\nb,1.3,1,.2\noutcome,.2,.2,1\n",
        r"row 'a', column 'b': got 1.3; expected a correlation in [-1, 1]",
    ),
    "no_outcome": (",a,b,y\na,1,.3,.2\nb,.3,1,.2\ny,.2,.2,1\n", "no row named 'outcome'"),
    "mismatched_names": (
        ",a,b,outcome\na,1,.3,.2\nc,.3,1,.2\noutcome,.2,.2,1\n",
        "row names and column names do not match",
    ),
    "ragged": (",a,b,outcome\na,1,.3\nb,.3,1,.2\noutcome,.2,.2,1\n", "row 2: 3 cells"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_matrices_exit_2_with_one_line(tmp_path, case):
    text, message = BAD[case]
    path = write(tmp_path, text)
    res = run("pie", "--correlations", path, "--n", "100", "--format", "json")
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert res.output.startswith("Error: " + path)


@pytest.mark.parametrize(
    "args, message",
    [
        (("pie", "--method", "dominance"), "needs a correlation matrix"),
        (("pie", "--method", "additive", "--n", "100"), "apply to --method dominance"),
        (("pie", "--draws", "5"), "expected an integer >= 100"),
    ],
)
def test_bad_options_exit_2(args, message):
    res = run(*args)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output


def test_correlations_need_n(tmp_path):
    res = run("pie", "--correlations", write(tmp_path, GOOD))
    assert res.exit_code == 2 and "--correlations needs --n" in res.output


def test_factors_list_json_and_table():
    d = json.loads(run("factors", "list", "--format", "json").output)
    names = {e["element"] for e in d["elements"]}
    assert {"alliance", "empathy", "therapist-effects", "treatment-differences"} <= names
    for fmt in ("table", "text"):
        res = run("factors", "list", "--format", fmt)
        assert res.exit_code == 0 and "goal-consensus" in res.output


def test_factors_show_json_and_table():
    res = run("factors", "show", "alliance", "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    first = d["estimates"][0]
    assert (first["metric"], first["estimate"], first["k"], first["ci_low"], first["ci_high"]) == (
        "r",
        0.278,
        295,
        0.256,
        0.299,
    )
    assert first["origin"] == "published" and first["verified"] == "yes" and "Fluckiger" in first["source"]
    table = run("factors", "show", "alliance")
    assert table.exit_code == 0 and "95% CI" in table.output and "[0.256, 0.299]" in table.output


def test_factors_show_unknown_element_exits_2():
    res = run("factors", "show", "alliences")
    assert res.exit_code == 2 and "did you mean 'alliance'" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_factors_show_a_factor_lists_its_elements():
    """A factor's name is what people type first: it shows the factor's elements, as the taxonomy has them."""
    res = run("factors", "show", "therapist")
    assert res.exit_code == 0 and "therapist-effects" in res.output and "alliance" not in res.output
    js = json.loads(run("factors", "show", "Relationship", "--format", "json").output)
    assert js["factor"] == "relationship"
    assert [e["element"] for e in js["elements"]] == [
        "alliance", "empathy", "positive-regard", "congruence", "goal-consensus", "collaboration",
        "repairing-ruptures", "feedback"]


@pytest.mark.parametrize("typed, suggested", [
    ("repair", "'repairing-ruptures'"), ("expect", "'expectations' or 'expectancy'"),
    ("aliance", "'alliance'")])
def test_factors_show_suggests_elements_and_factors(typed, suggested):
    res = run("factors", "show", typed)
    assert res.exit_code == 2 and f"(did you mean {suggested}?)" in res.output
    assert "or a factor: relationship, client, technique, therapist, expectancy" in res.output


def test_counts_in_csv_are_whole_numbers():
    # Flückiger et al. (2018): k = 295 studies, written as R's write.csv writes a whole number
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(run("factors", "show", "alliance", "--format", "csv").stdout)))
    first = rows[0]
    assert (first["k"], first["n"], first["year"]) == ("295", "30000", "2018")
