"""``commonfactors pie --sensitivity`` (the dominance shares at assumed inter-factor correlations) and
``commonfactors pie --correlations FILE`` with the long per-study format (pooled by GLS), through the
command line: JSON contract, text table, agreement with the Python API, and bad input (exit 2, one line)."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from commonfactors.cli import main
from commonfactors.factors.corpool import CorrelationPoolWarning, pool_correlation_matrices
from commonfactors.factors.dominance import equicorrelated, general_dominance
from commonfactors.factors.pie import dominance_pie
from tolerances import IDENTITY_RTOL


def run(*args):
    return CliRunner().invoke(main, list(args))


def write(tmp_path, text, name="m.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


SQUARE = ",alliance,empathy,outcome\nalliance,1,.3,.28\nempathy,.3,1,.2\noutcome,.28,.2,1\n"
LONG = (
    "study,var1,var2,r,n\n"
    "s1,alliance,outcome,0.30,120\ns1,empathy,outcome,0.25,120\ns1,alliance,empathy,0.40,120\n"
    "s2,alliance,outcome,0.20,80\n"
    "s3,alliance,outcome,0.35,150\ns3,empathy,outcome,0.10,150\ns3,alliance,empathy,0.55,150\n"
    "s4,empathy,outcome,0.32,60\ns4,alliance,empathy,0.30,60\n"
)
ASSUMED = "0,0.1,0.2,0.3,0.4,0.5"
FACTORS = ["relationship", "client", "technique", "therapist", "expectancy"]


def test_sensitivity_json_contract_with_the_shipped_estimates():
    res = run("pie", "--method", "dominance", "--sensitivity", ASSUMED, "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert set(d) == {"method", "sensitivity", "warnings"} and d["method"] == "dominance"
    assert [row["assumed_r"] for row in d["sensitivity"]] == [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    for row in d["sensitivity"]:
        assert set(row) == {"assumed_r", "components", "r2", "valid"} and row["valid"] is True
        assert [c["factor"] for c in row["components"]] == FACTORS
        for c in row["components"]:
            assert set(c) == {"factor", "share", "r", "additive_share"}
            assert c["additive_share"] == pytest.approx(c["r"] ** 2, rel=IDENTITY_RTOL)
        assert sum(c["share"] for c in row["components"]) == pytest.approx(row["r2"], rel=IDENTITY_RTOL)
        # the shares are general dominance weights of the equicorrelated matrix (an oracle)
        rxy = [c["r"] for c in row["components"]]
        gd = general_dominance(equicorrelated(rxy, row["assumed_r"]))
        assert [c["share"] for c in row["components"]] == pytest.approx(list(gd), rel=IDENTITY_RTOL)
    at0 = d["sensitivity"][0]["components"]
    assert [c["share"] for c in at0] == pytest.approx([c["additive_share"] for c in at0], rel=IDENTITY_RTOL)
    r2 = [row["r2"] for row in d["sensitivity"]]
    assert r2[1] < r2[0]  # correlated factors overlap: less explained than the additive sum
    # the shipped estimates as correlations: r as published, d -> r, an ICC -> sqrt(ICC)
    r = {c["factor"]: c["r"] for c in at0}
    assert r["relationship"] == 0.278 and r["therapist"] == pytest.approx(math.sqrt(0.05), rel=IDENTITY_RTOL)
    assert r["client"] == pytest.approx(0.41 / math.sqrt(0.41**2 + 4), rel=IDENTITY_RTOL)


def test_sensitivity_implies_the_dominance_method_and_prints_a_table():
    res = run("pie", "--sensitivity", "0,0.3")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "Sensitivity of the overlap-aware pie" in out and "assumed r = 0.3" in out
    assert all(f in out for f in FACTORS) and "R2" in out and "ICC = 0.05 as r = sqrt(ICC)" in out


def test_an_impossible_assumed_value_is_marked_invalid_with_a_warning():
    d = json.loads(run("pie", "--sensitivity", "0.2,-0.3", "--format", "json").stdout)
    bad = d["sensitivity"][1]
    assert bad["valid"] is False and bad["r2"] is None
    assert all(c["share"] is None for c in bad["components"])
    assert d["warnings"] == [
        "assumed r = -0.3: no 5 factors can all correlate this way (the matrix is not positive definite)"
    ]
    assert "no (not positive definite)" in run("pie", "--sensitivity", "0.2,-0.3").output


def test_sensitivity_takes_the_outcome_correlations_of_a_square_matrix(tmp_path):
    path = write(tmp_path, SQUARE)
    d = json.loads(run("pie", "--correlations", path, "--sensitivity", "0,0.5", "--format", "json").stdout)
    comps = d["sensitivity"][1]["components"]
    assert [(c["factor"], c["r"]) for c in comps] == [("alliance", 0.28), ("empathy", 0.2)]
    gd = general_dominance(equicorrelated([0.28, 0.2], 0.5))
    assert [c["share"] for c in comps] == pytest.approx(list(gd), rel=IDENTITY_RTOL)


def test_sensitivity_takes_the_pooled_outcome_correlations_of_a_long_file(tmp_path):
    path = write(tmp_path, LONG)
    d = json.loads(
        run(
            "pie", "--correlations", path, "--pool-method", "REML", "--sensitivity", "0.3", "--format", "json"
        ).output
    )
    pooled = pool_correlation_matrices(pd.read_csv(path), method="REML")
    comps = d["sensitivity"][0]["components"]
    assert [c["r"] for c in comps] == pytest.approx(list(pooled.matrix[:-1, -1]), rel=IDENTITY_RTOL)
    assert d["warnings"] == list(pooled.warnings)


def test_long_file_is_pooled_by_gls_and_drawn_from_its_covariance(tmp_path):
    path = write(tmp_path, LONG)
    res = run("pie", "--correlations", path, "--draws", "1000", "--seed", "3", "--format", "json")
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["method"] == "dominance"
    assert {"method", "draws", "seed", "level", "components", "unexplained", "r2", "warnings"} < set(d)
    frame = pd.read_csv(path)
    frame.attrs["source"] = path
    with pytest.warns(CorrelationPoolWarning, match="homogeneity test rejects"):
        api = dominance_pie(pool_correlation_matrices(frame), draws=1000, seed=3).to_dict()
    assert d == json.loads(json.dumps(api))
    pooled = d["pooled_correlations"]
    assert (
        pooled["method"] == "FE"
        and pooled["k"] == 4
        and pooled["names"] == ["alliance", "empathy", "outcome"]
    )
    assert np.array(pooled["vcov"]).shape == (3, 3)
    reml = json.loads(
        run(
            "pie", "--correlations", path, "--pool-method", "REML", "--draws", "500", "--format", "json"
        ).output
    )
    assert reml["pooled_correlations"]["method"] == "REML"
    assert all(c["tau2"] is not None for c in reml["pooled_correlations"]["correlations"])
    text = run("pie", "--correlations", path, "--draws", "500").output
    assert "correlations pooled by GLS (FE) from k = 4 studies" in text and "Test of homogeneity" in text


def test_long_file_columns_ri_ni_and_any_case_are_recognised(tmp_path):
    text = LONG.replace("study,var1,var2,r,n", "Study,VAR1,var2,ri,ni")
    res = run("pie", "--correlations", write(tmp_path, text), "--draws", "500", "--format", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["pooled_correlations"]["k"] == 4


def test_square_matrix_with_n_still_works(tmp_path):
    res = run(
        "pie", "--correlations", write(tmp_path, SQUARE), "--n", "300", "--draws", "500", "--format", "json"
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert "pooled_correlations" not in d and [c["factor"] for c in d["components"]] == [
        "alliance",
        "empathy",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (("pie", "--sensitivity", "0,abc"), "--sensitivity: got 'abc'; expected comma-separated"),
        (("pie", "--sensitivity", "0,1"), "rho = 1; expected an assumed correlation in (-1, 1)"),
        (("pie", "--method", "additive", "--sensitivity", "0"), "apply to --method dominance"),
        (("pie", "--pool-method", "REML"), "apply to --method dominance"),
    ],
)
def test_bad_sensitivity_options_exit_2(args, message):
    res = run(*args)
    assert res.exit_code == 2 and message in res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1


def test_bad_long_files_exit_2_with_file_row_and_column(tmp_path):
    path = write(tmp_path, LONG + "s4,alliance,outcome,1.4,60\n")
    res = run("pie", "--correlations", path, "--format", "json")
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert (
        res.output.strip() == f"Error: {path}, row 11, column 'r': got 1.4; expected a correlation in (-1, 1)"
    )
    path = write(tmp_path, LONG + "s4,therapist,empathy,.2,60\n", "never.csv")
    res = run("pie", "--correlations", path)
    assert (
        res.exit_code == 2
        and "row 11, column 'var1': 'therapist' is never correlated with 'outcome'" in res.output
    )
    path = write(tmp_path, LONG)
    res = run("pie", "--correlations", path, "--n", "100")
    assert res.exit_code == 2 and "--n does not apply to a long per-study file" in res.output
    res = run("pie", "--correlations", write(tmp_path, SQUARE, "sq.csv"), "--n", "100", "--pool-method", "FE")
    assert (
        res.exit_code == 2 and "--pool-method applies to a long per-study --correlations file" in res.output
    )


def test_dominance_sensitivity_result_contract():
    import dataclasses

    from commonfactors._format import Summary
    from commonfactors.factors.pie import dominance_sensitivity

    res = dominance_sensitivity(
        {"alliance": 0.28, "empathy": 0.2}, [0.0, 0.3], sources={"alliance": ("Fluckiger 2018",)}
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.rows = ()
    s = res.summary()
    assert isinstance(s, Summary) and repr(res) == str(s) and "alliance: Fluckiger 2018" in str(s)
    frame = res.to_frame()
    assert list(frame.columns) == ["assumed_r", "factor", "share", "additive_share", "r2", "valid"]
    assert len(frame) == 4 and list(frame["factor"]) == ["alliance", "empathy"] * 2
    gd = general_dominance(equicorrelated([0.28, 0.2], 0.3))
    assert list(frame["share"][2:]) == pytest.approx(list(gd), rel=IDENTITY_RTOL)
    assert res.sources == (("Fluckiger 2018",), ())
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
