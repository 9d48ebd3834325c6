"""The reproduction table (``commonfactors.reproduce``, ``analyses/``): verdicts recomputed from the numbers,
coverage of every published estimate, the result contract, and the reproduced values against metafor.

Published numbers and their sources are in the analysis scripts (page/table, and where each number was
seen); this file checks that each "reproduced" row is within its stated tolerance by recomputing
|reproduced - published| here, never trusting the verdict, and pins the reproduced values to metafor 3.8-1
on the same data (R 4.2.2, tests/reference/reproduce.R).
"""

import math
import subprocess
import sys
from pathlib import Path

import pytest

import commonfactors as cf
from commonfactors import reproduce as rp
from commonfactors._format import Summary
from commonfactors.errors import InputError
from commonfactors.results.reproduce import COLUMNS, ROW_FIELDS, VERDICTS, ReproduceResult
from reference import load
from tolerances import METAFOR_RTOL, assert_agrees

ANALYSES = Path(rp.__file__).resolve().parents[2] / "analyses"
VERIFIED = ("yes", "secondary", "UNVERIFIED", "not checked")


@pytest.fixture(scope="module")
def table() -> ReproduceResult:
    return rp.run_all()


@pytest.fixture(scope="module")
def rows(table) -> dict:
    return {r["id"]: r for r in table.rows}


def test_every_analysis_script_ran(table):
    assert list(table.analyses) == sorted(p.stem for p in ANALYSES.glob("*.py") if not p.name.startswith("_"))
    assert len(table.analyses) >= 9


def test_every_row_has_all_fields_a_verdict_a_citation_and_a_verified_flag(table):
    assert table.rows
    for r in table.rows:
        assert tuple(r) == ROW_FIELDS, r["id"]
        assert r["verdict"] in VERDICTS, r["id"]
        assert isinstance(r["citation"], str) and len(r["citation"]) > 20, r["id"]
        assert isinstance(r["verified"], str) and r["verified"].startswith(VERIFIED), r["id"]
        assert set(r["model"]) == {"measure", "estimator", "test", "subset"}, r["id"]
        assert r["id"].split(":")[0] in table.analyses


def test_row_ids_are_unique(table):
    ids = [r["id"] for r in table.rows]
    assert len(ids) == len(set(ids))


def test_reproduced_rows_are_within_their_stated_tolerance(table):
    reproduced = [r for r in table.rows if r["verdict"] == "reproduced"]
    assert len(reproduced) >= 15
    for r in reproduced:
        assert isinstance(r["published"], (int, float)) and r["tolerance"] is not None, r["id"]
        gap = abs(float(r["reproduced"]) - float(r["published"]))
        assert gap <= r["tolerance"] * (1 + 1e-9) + 1e-15, (r["id"], gap, r["tolerance"])
        assert r["difference"] == pytest.approx(r["reproduced"] - r["published"], abs=1e-15)


def test_differs_rows_are_outside_their_tolerance_and_say_why(table):
    differs = [r for r in table.rows if r["verdict"] == "differs"]
    assert differs
    for r in differs:
        assert abs(float(r["reproduced"]) - float(r["published"])) > r["tolerance"], r["id"]
        assert r["why"], r["id"]


def test_not_checked_rows_have_no_published_number_but_a_reproduced_one(table):
    rows = [r for r in table.rows if r["verdict"] == "not checked"]
    assert rows
    for r in rows:
        assert r["published"] is None or isinstance(r["published"], str), r["id"]
        assert r["reproduced"] is not None and math.isfinite(r["reproduced"]), r["id"]
        assert r["why"] and r["verified"] == "not checked", r["id"]


def test_not_reproducible_rows_say_why_and_reproduce_nothing(table):
    rows = [r for r in table.rows if r["verdict"] == "not reproducible from shipped data"]
    for r in rows:
        assert r["reproduced"] is None and r["difference"] is None, r["id"]
        assert r["why"], r["id"]


def test_every_published_estimate_has_a_row():
    """data/published/estimates.csv: one row per line (the file's line numbers, header = line 1)."""
    published = cf.load_dataset("published_estimates")
    rows = {r["id"]: r for r in rp.run(["published_estimates"]).rows}
    assert set(rows) == {f"published_estimates:line{i}" for i in published.index}
    for i, rec in published.iterrows():
        r = rows[f"published_estimates:line{i}"]
        assert r["verified"] == rec["verified"]
        assert r["verdict"] == "not reproducible from shipped data"


def test_counts_add_up(table):
    counts = table.counts
    assert list(counts) == list(VERDICTS)
    assert sum(counts.values()) == len(table.rows)


# --- the reproduced numbers against metafor 3.8-1 on the same data ------------------------------------------

# every value: metafor 3.8-1 on the same data, tests/reference/reproduce.R (the R call of each row id there);
# iterative estimators run to convergence where the analysis does
METAFOR = load("reproduce")["reproduced"]


@pytest.mark.parametrize("row_id", sorted(METAFOR))
def test_reproduced_value_matches_metafor(rows, row_id):
    assert_agrees(rows[row_id]["reproduced"], METAFOR[row_id], rtol=METAFOR_RTOL["rma"], what=row_id)


def test_published_bcg_analyses_differ_only_where_the_paper_stopped_early(rows):
    """Viechtbauer (2010) and Berkey et al. (1995): every printed number agrees except a few last digits.

    The five JSS rows come from metafor's default stopping rules (uniroot's tolerance for the I2/H2 limits,
    REML's threshold for the ablat + year model); converged metafor gives the reproduced values (pinned
    above). Berkey's common-effect slope SE is 0.003987 (0.0040) where the article prints 0.0039.
    """
    differs = {
        i
        for i, r in rows.items()
        if i.startswith(("viechtbauer2010_bcg:", "berkey1995_bcg:")) and r["verdict"] == "differs"
    }
    assert differs == {
        "viechtbauer2010_bcg:re_i2_ci_low",
        "viechtbauer2010_bcg:re_h2_ci_low",
        "viechtbauer2010_bcg:me_qm",
        "viechtbauer2010_bcg:me_intercept",
        "viechtbauer2010_bcg:me_intercept_se",
        "berkey1995_bcg:fe_ablat_se",
    }
    jss = [r for i, r in rows.items() if i.startswith("viechtbauer2010_bcg:")]
    assert len(jss) >= 60
    assert all(r["verified"] == "yes" and ", p. " in r["citation"] for r in jss)
    assert all("metafor" in rows[i]["why"] for i in differs)


def test_metapsy_log_rr_rule_reproduces_the_stored_log_rr():
    """The database adds 0.5 to every count and total (data/metapsy_total_response.md: 561 of 569 rows)."""
    sys.path.insert(0, str(ANALYSES))
    try:
        import metapsy_total_response as mtr
    finally:
        sys.path.remove(str(ANALYSES))
    d = cf.load_dataset("metapsy_total_response")
    yi, vi = mtr.metapsy_log_rr(d["improved.ig"], d["n.ig"], d["improved.cg"], d["n.cg"])
    same = (abs(yi - d["logrr"]) < 1e-5) & (abs(vi**0.5 - d["se.logrr"]) < 1e-5)
    assert same.sum() >= 560
    # escalc's default rule (0.5 only for zero cells) gives other values wherever no cell is zero
    e = cf.effect_sizes(d, "RR", ai="improved.ig", n1i="n.ig", ci="improved.cg", n2i="n.cg")
    assert (abs(e["yi"] - d["logrr"]) > 1e-5).sum() > 400


def test_stored_metapsy_g_se_is_not_escalcs_variance():
    """.g_se uses the uncorrected d in the variance (data/metapsy_depression_psyctr.md); escalc uses g."""
    d = cf.load_dataset("metapsy_depression_psyctr")
    msd = d[d["outcome_type"] == "msd"]
    e = cf.effect_sizes(
        msd,
        "SMD",
        m1i="mean_arm1",
        sd1i="sd_arm1",
        n1i="n_arm1",
        m2i="mean_arm2",
        sd2i="sd_arm2",
        n2i="n_arm2",
    )
    n1, n2 = e["n_arm1"], e["n_arm2"]
    j = 1 - 3 / (4 * (n1 + n2) - 9)
    dunc = e[".g"] / j
    metapsy_vi = (n1 + n2) / (n1 * n2) + dunc**2 / (2 * (n1 + n2))
    assert (abs(metapsy_vi - e[".g_se"] ** 2) < 1e-8).sum() >= 800
    assert (abs(e["vi"] - e[".g_se"] ** 2) > 1e-6).sum() >= 700


# --- row(): the verdict comes from the numbers --------------------------------------------------------------

MODEL = {"measure": "SMD", "estimator": "REML", "test": "z", "subset": "all"}


def _row(**kw):
    base = dict(publication="P", dataset="d", quantity="q", model=MODEL, citation="C", verified="yes")
    return rp.row("x:y", **{**base, **kw})


def test_row_verdicts():
    assert _row(published=0.15, reproduced=0.1549, tolerance=rp.printed(2))["verdict"] == "reproduced"
    assert (
        _row(published=0.15, reproduced=0.155, tolerance=rp.printed(2))["verdict"] == "reproduced"
    )  # half unit
    assert _row(published=0.15, reproduced=0.1551, tolerance=rp.printed(2))["verdict"] == "differs"
    assert _row(published=None, reproduced=0.2, tolerance=None)["verdict"] == "not checked"
    assert _row(published="13-18", reproduced=None, tolerance=None)["verdict"] == "not checked"
    r = _row(published=0.2, reproduced=None, tolerance=0.005, reproducible=False)
    assert r["verdict"] == "not reproducible from shipped data" and r["difference"] is None
    assert _row(published=0.15, reproduced=0.16, tolerance=0.005)["difference"] == pytest.approx(0.01)


def test_row_rejects_incomplete_input():
    with pytest.raises(ValueError, match="model lacks"):
        _row(published=1.0, reproduced=1.0, tolerance=0.5, model={"measure": "RR"})
    with pytest.raises(ValueError, match="needs a reproduced number"):
        _row(published=1.0, reproduced=None, tolerance=0.5)


def test_printed_is_half_a_unit_of_the_last_digit():
    assert rp.printed(2) == pytest.approx(0.005)
    assert rp.printed(0) == pytest.approx(0.5)


def test_unknown_analysis_id_names_the_ids_and_a_close_match():
    with pytest.raises(
        InputError, match=r"no analysis 'molloy2015' \(did you mean 'molloy2014'\?\).*dorn2007"
    ):
        rp.run(["molloy2015"])


def test_run_selects_and_deduplicates_analyses():
    res = rp.run(["molloy2014", "molloy2014"])
    assert res.analyses == ("molloy2014",)
    assert {r["id"].split(":")[0] for r in res.rows} == {"molloy2014"}


# --- the result contract ------------------------------------------------------------------------------------


def test_result_contract():
    res = rp.run(["molloy2014", "dorn2007"])
    summary = res.summary()
    assert isinstance(summary, Summary)
    text = str(summary)
    assert "molloy2014:r " in text and "Verdicts:" in text
    assert repr(res) == text
    frame = res.to_frame()
    assert list(frame.columns) == list(COLUMNS) and len(frame) == len(res.rows)
    assert frame.loc[frame["id"] == "molloy2014:r", "model_estimator"].item() == "REML"
    d = res.to_dict()
    assert set(d) == {"analyses", "counts", "rows", "warnings"}
    assert [r["id"] for r in d["rows"]] == [r["id"] for r in res.rows]
    assert all(list(r) == list(ROW_FIELDS) for r in d["rows"])


def test_warnings_of_the_models_are_kept_with_their_analysis():
    res = rp.run(["metapsy_total_response"])
    assert all(w.startswith("metapsy_total_response: ") for w in res.warnings)
    assert str(res.summary()).count("Warnings:") == (1 if res.warnings else 0)


def test_an_analysis_script_runs_alone():
    out = subprocess.run(
        [sys.executable, str(ANALYSES / "molloy2014.py")], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "molloy2014:r_ci_low" in out.stdout and "Verdicts:" in out.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", sorted(p.name for p in ANALYSES.glob("*.py") if not p.name.startswith("_"))
)
def test_every_analysis_script_runs_alone(script):
    out = subprocess.run(
        [sys.executable, str(ANALYSES / script)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert f"{script[:-3]}:" in out.stdout
