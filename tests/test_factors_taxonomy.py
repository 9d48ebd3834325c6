"""The taxonomy of factors and elements and each element's estimates (commonfactors.factors.taxonomy)."""

import math

import pytest

from commonfactors.errors import InputError
from commonfactors.factors import taxonomy
from commonfactors.factors.taxonomy import element, element_estimates, list_elements
from reference import load
from tolerances import IDENTITY_RTOL, METAFOR_RTOL

# The elements issue 5 lists, per factor
ISSUE_ELEMENTS = {
    "relationship": {
        "alliance",
        "empathy",
        "positive-regard",
        "congruence",
        "goal-consensus",
        "collaboration",
        "repairing-ruptures",
        "feedback",
    },
    "client": {"expectations", "preferences", "readiness", "severity", "social-support"},
    "technique": {"treatment-differences", "specific-ingredients"},
    "therapist": {"therapist-effects"},
}


def test_every_element_of_the_issue_is_there_under_its_factor():
    df = list_elements()
    for factor, names in ISSUE_ELEMENTS.items():
        assert names <= set(df.loc[df["factor"] == factor, "element"]), factor
    assert set(df["factor"]) == set(taxonomy.FACTORS)
    assert (df.groupby("factor")["in_pie"].sum() == 1).all()  # one element stands for each factor


def test_every_published_key_matches_rows_of_estimates_csv():
    rows = taxonomy._read_published("estimates.csv")
    for e in taxonomy.ELEMENTS:
        for key in e.published:
            assert any((r["factor"], r["subfactor"]) == key for r in rows), (e.name, key)


def test_alliance_first_estimate_is_fluckiger_2018_with_its_ci():
    est = element_estimates("alliance", pooled=False).estimates[0]
    assert (est.metric, est.estimate, est.k, est.n, est.n_text) == ("r", 0.278, 295, 30000, ">30000")
    assert (est.ci_low, est.ci_high) == (0.256, 0.299)
    assert est.share == pytest.approx(0.278**2, rel=IDENTITY_RTOL)
    assert est.origin == "published" and est.verified == "yes" and est.year == 2018
    assert "doi:10.1037/pst0000172" in est.source


def test_percentages_become_proportions_and_ranges_are_not_cis():
    ests = {e.label: e for e in element_estimates("therapist-effects").estimates}
    wb = ests["therapist effects, managed care (severity-adjusted)"]
    assert (wb.metric, wb.estimate, wb.share, wb.k, wb.k_text, wb.n) == (
        "icc",
        0.05,
        0.05,
        581,
        "~581 therapists",
        6146,
    )
    johns = ests["therapist effects: all studies since 2013"]
    assert math.isnan(johns.ci_low) and math.isnan(johns.ci_high)
    assert "not a confidence interval" in johns.note
    assert ests["therapist effects: efficacy trials"].verified == "UNVERIFIED"


def test_elements_without_shipped_estimates_have_none():
    res = element_estimates("severity")
    assert res.estimates == ()
    assert "No pooled estimate is shipped" in str(res.summary())


def test_names_are_forgiving_and_unknown_names_suggest():
    assert element("Goal consensus").name == "goal-consensus"
    assert element("therapist_effects").name == "therapist-effects"
    with pytest.raises(InputError, match=r"no element 'alliences' \(did you mean 'alliance'\?\)"):
        element("alliences")


def test_pooled_treatment_effect_matches_metafor():
    # metafor 3.8-1, tests/reference/taxonomy.R: rma(yi, sei = sei, method = "REML") on one row per comparison
    expected = load("taxonomy")["treatment_effect"]
    est = element_estimates("treatment-effect").estimates[0]
    assert est.origin == "pooled" and est.metric == "d" and "REML" in est.model
    got = est.to_dict()
    for field, value in expected.items():
        assert got[field] == pytest.approx(value, rel=METAFOR_RTOL["rma"]), field
    assert est.n == 51131  # both arms summed over the 599 comparisons that report them


def test_element_result_contract():
    res = element_estimates("empathy")
    d = res.to_dict()
    assert set(d) == {"element", "factor", "description", "estimates", "warnings"}
    assert {
        "metric",
        "estimate",
        "k",
        "n",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "i2",
        "source",
        "origin",
        "verified",
        "share",
    } <= set(d["estimates"][0])
    assert len(res.to_frame()) == len(res.estimates) == 3
    assert repr(res) == str(res.summary())
