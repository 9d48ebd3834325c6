"""Therapist ICCs pooled across studies (factors/therapist_icc.py), and the pie's therapist slice from data.

References: metafor 3.8-1 ``rma(yi = icc, vi = Donner's variance)`` on the same numbers
(tests/reference/therapist_icc.R -> therapist_icc.json; tolerance METAFOR_RTOL["rma"] = 1e-6, as every rma
case); Donner (1986)'s variance checked by hand and against the spread of one-way ANOVA ICCs in simulated
data (Monte Carlo).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from cli_run import in_process
from commonfactors.errors import DroppedRowsWarning, InputError
from commonfactors.factors import convert
from commonfactors.factors.pie import additive_pie
from commonfactors.factors.therapist_icc import (
    pool_therapist_iccs,
    published_therapist_iccs,
    therapist_component,
)
from reference import load
from tolerances import ATOL_FLOOR, METAFOR_RTOL

REF = load("therapist_icc")
CASES = REF["cases"]


def test_the_reference_covers_both_sets_and_four_models():
    assert len(CASES) == 8 and {c["set"] for c in CASES} == {"published", "practices"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pooled_iccs_equal_metafor(case):
    data = pd.DataFrame(case["input"])
    res = pool_therapist_iccs(data, study="study", method=case["method"], test=case["test"])
    exp = case["expected"]
    assert [s.vi for s in res.studies] == pytest.approx(exp["vi"], rel=1e-13)  # the same formula
    assert [s.weight for s in res.studies] == pytest.approx(exp["weight"], rel=METAFOR_RTOL["rma"])
    for field in ("icc", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_pval"):
        got = getattr(res, field)
        assert got == pytest.approx(exp[field], rel=METAFOR_RTOL["rma"], abs=ATOL_FLOOR), field
    assert [s.study for s in res.studies] == list(data["study"])


def test_donner_variance_by_hand():
    """rho = .1, 50 therapists of 20 clients: 2 (.9)^2 (1 + 19 (.1))^2 / (20 * 19 * 49) = 13.6242 / 18620."""
    h = REF["hand"]
    assert convert.var_icc(0.1, 50, 1000) == pytest.approx(13.6242 / 18620, rel=1e-14)
    assert convert.var_icc(h["rho"], h["g"], h["n"]) == pytest.approx(h["v"], rel=1e-14)


@pytest.mark.parametrize("g, m, rho", [(100, 10, 0.1), (50, 20, 0.05), (200, 5, 0.2)])
def test_donner_variance_is_the_spread_of_anova_iccs(g, m, rho):
    """4,000 balanced one-way data sets: the variance of the ANOVA ICC estimates within 4 Monte Carlo standard
    errors (a sample variance's relative s.e. is sqrt(2 / (R - 1)) = 2.2%) of Donner's large-sample value."""
    R = 4000
    rng = np.random.default_rng(20261205)
    y = rng.normal(0, math.sqrt(rho), (R, g, 1)) + rng.normal(0, math.sqrt(1 - rho), (R, g, m))
    means = y.mean(axis=2)
    msb = m * means.var(axis=1, ddof=1)
    msw = ((y - means[..., None]) ** 2).sum(axis=(1, 2)) / (g * (m - 1))
    est = (msb - msw) / (msb + (m - 1) * msw)
    ratio = est.var(ddof=1) / convert.var_icc(rho, g, g * m)
    assert abs(ratio - 1) < 4 * math.sqrt(2 / (R - 1))


def test_published_iccs_are_the_rows_of_the_estimates_table():
    d = published_therapist_iccs()
    assert list(d["study"]) == ["Wampold 2005", "Saxon 2012", "Firth 2019", "Mahon 2023"]
    assert d["icc"].tolist() == pytest.approx([0.05, 0.066, 0.034, 0.0521], rel=1e-15)
    assert d["n_therapists"].tolist() == [581, 119, 462, 874]
    assert d["n_clients"].tolist() == [6146, 10786, 26888, 156258]
    assert set(d["verified"]) == {"yes"}


def test_percent_and_arrays_give_the_same_pool():
    d = published_therapist_iccs()
    a = pool_therapist_iccs(d)
    b = pool_therapist_iccs(icc=100 * d["icc"].to_numpy(), n_therapists=d["n_therapists"].to_numpy(),
                            n_clients=d["n_clients"].to_numpy(), percent=True)
    assert b.icc == pytest.approx(a.icc, rel=1e-12) and b.tau2 == pytest.approx(a.tau2, rel=1e-9)
    assert [s.study for s in b.studies] == ["element 1", "element 2", "element 3", "element 4"]


def test_result_contract():
    res = pool_therapist_iccs(published_therapist_iccs(), study="study")
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["origin"].startswith("from data: pooled from 4 studies")
    assert list(res.to_frame().columns) == ["study", "icc", "n_therapists", "n_clients", "vi", "weight"]
    text = str(res.summary())
    assert "Donner (1986)" in text and "Wampold 2005" in text and "pooled ICC: 0.0490" in text


def test_missing_rows_are_dropped_with_a_warning():
    d = pd.DataFrame({"icc": [0.05, None, 0.03], "n_therapists": [50, 40, 30], "n_clients": [500, 400, 300]},
                     index=[2, 3, 4])
    with pytest.warns(DroppedRowsWarning, match=r"1 study with a missing ICC or count omitted \(row 3\)"):
        res = pool_therapist_iccs(d)
    assert res.k == 2 and res.warnings[0].startswith("1 study")


@pytest.mark.parametrize("change, message", [
    ({"icc": [5.0, 0.03]}, r"row 2, column 'icc': got 5; expected an ICC in \[0, 1\) \(a proportion"),
    ({"icc": [-0.01, 0.03]}, r"row 2, column 'icc': got -0.01"),
    ({"n_therapists": [1, 30]}, r"row 2, column 'n_therapists': got 1; expected a number of therapists >= 2"),
    ({"n_clients": [40, 300]}, r"row 2, column 'n_clients': got 40 clients of 50 therapists; expected more"),
])
def test_bad_values_name_row_and_column(change, message):
    d = pd.DataFrame({"icc": [0.05, 0.03], "n_therapists": [50, 30], "n_clients": [500, 300]}, index=[2, 3])
    for k, v in change.items():
        d[k] = v
    with pytest.raises(InputError, match=message):
        pool_therapist_iccs(d)


def test_a_misspelled_column_is_named():
    d = published_therapist_iccs()
    with pytest.raises(InputError, match=r"no column 'iccs' \(did you mean 'icc'\?\)"):
        pool_therapist_iccs(d, icc="iccs")


# --- the therapist slice of the pie from data -----------------------------------------------------------


def test_pie_slice_from_a_pooled_icc():
    pooled = pool_therapist_iccs(published_therapist_iccs(), study="study")
    pie = additive_pie(therapist=pooled, draws=2000, seed=1)
    t = next(c for c in pie.components if c.factor == "therapist")
    assert t.share == pytest.approx(pooled.icc, rel=1e-15)
    assert t.se == pytest.approx(pooled.se / (pooled.icc * (1 - pooled.icc)), rel=1e-15)  # delta, logit
    assert t.sources[0].startswith("from data: pooled from 4 studies")
    # a logit-normal draw with that se: its 95% interval is close to the pooled Wald interval
    assert t.ci_low == pytest.approx(pooled.ci_low, abs=0.003) and t.ci_high == pytest.approx(pooled.ci_high,
                                                                                             abs=0.003)
    default = additive_pie(draws=2000, seed=1)
    assert [c.factor for c in pie.components] == [c.factor for c in default.components]
    others = [c.share for c in pie.components if c.factor != "therapist"]
    assert others == [c.share for c in default.components if c.factor != "therapist"]


def test_pie_slice_from_a_practice_fit_json():
    fit = {"icc": 0.07, "ci_low": 0.04, "ci_high": 0.11, "level": 95, "ci_method": "profile",
           "n_therapists": 50, "n_clients": 1000, "singular": False}
    c = therapist_component(fit, source="fit.json")
    assert c.sources == ("from data: this practice's fitted ICC (fit.json), 50 therapists, 1000 clients, "
                         "profile interval",)
    z = 1.959963984540054  # the 95% interval's half-width on the logit scale over z_.975
    assert c.se == pytest.approx((convert.logit(0.11) - convert.logit(0.04)) / (2 * z), rel=1e-12)
    # an interval reaching 0 (profile lower bound at the boundary): Donner's variance instead
    c0 = therapist_component({**fit, "ci_low": 0.0})
    v = convert.var_icc(0.07, 50, 1000) / (0.07 * 0.93) ** 2
    assert c0.se == pytest.approx(math.sqrt(v), rel=1e-12)


def test_a_singular_fit_has_no_slice():
    with pytest.raises(InputError, match=r"fit.json: the fitted ICC is 0 \(a singular fit"):
        therapist_component({"icc": 0.0, "n_therapists": 20, "n_clients": 200, "singular": True},
                            source="fit.json")
    with pytest.raises(InputError, match=r"no 'n_clients'"):
        therapist_component({"icc": 0.05, "n_therapists": 20})


def test_factors_show_therapist_says_where_the_slice_comes_from(tmp_path):
    res = in_process("factors", "show", "therapist")
    assert res.returncode == 0
    assert "therapist slice of the pie: published estimate: Wampold & Brown" in res.stderr + res.stdout
    f = tmp_path / "iccs.csv"
    published_therapist_iccs().to_csv(f, index=False)
    res = in_process("factors", "show", "therapist", "--therapist-icc", f, "--format", "json")
    data = json.loads(res.stdout)
    assert data["pie_slice"]["origin"].startswith("from data: pooled from 4 studies")
    assert data["pie_slice"]["share"] == pytest.approx(pool_therapist_iccs(published_therapist_iccs()).icc)


def test_pie_cli_therapist_icc_from_a_table_and_from_a_fit(tmp_path):
    f = tmp_path / "iccs.csv"
    published_therapist_iccs().to_csv(f, index=False)
    res = in_process("pie", "--draws", 500, "--therapist-icc", f, "--format", "json")
    assert res.returncode == 0, res.stderr
    t = next(c for c in json.loads(res.stdout)["components"] if c["factor"] == "therapist")
    assert t["share"] == pytest.approx(pool_therapist_iccs(published_therapist_iccs()).icc, rel=1e-12)
    assert t["sources"][0].startswith(f"from data: pooled from 4 studies ({f})")
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"icc": 0.07, "ci_low": 0.04, "ci_high": 0.11, "level": 95, "n_therapists": 50,
                               "n_clients": 1000, "singular": False, "ci_method": "profile"}))
    res = in_process("pie", "--draws", 500, "--therapist-icc", fit)
    assert res.returncode == 0, res.stderr
    assert "therapist: from data: this practice's fitted ICC" in res.stdout
    assert "therapist               7.00" in res.stdout


def test_pie_cli_therapist_icc_errors(tmp_path):
    fit = tmp_path / "fit.json"
    fit.write_text(json.dumps({"icc": 0.0, "n_therapists": 20, "n_clients": 200, "singular": True}))
    res = in_process("pie", "--therapist-icc", fit)
    assert res.returncode == 2 and "the fitted ICC is 0 (a singular fit" in res.stderr
    assert len(res.stderr.splitlines()) == 1
    res = in_process("pie", "--method", "dominance", "--therapist-icc", fit)
    assert res.returncode == 2 and "--therapist-icc applies to the additive pie" in res.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("icc,n_therapists,n_clients\n0.05,50,500\n1.5,40,400\n")
    res = in_process("pie", "--therapist-icc", bad)
    assert res.returncode == 2 and "row 3, column 'icc': got 1.5" in res.stderr


def test_exported():
    assert cf.pool_therapist_iccs is pool_therapist_iccs


def test_pie_slice_from_a_therapist_effects_result():
    """therapist_effects on the shipped synthetic practice, given to the pie as the object itself: the slice
    is its ICC, the draws' s.e. from its 95% profile interval on the logit scale."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the clients with one session, dropped and counted
        fit = cf.therapist_effects(cf.load_dataset("synthetic_practice"), "score", "therapist",
                                   client="client", session="session")
        pie = additive_pie(therapist=fit, draws=500, seed=1)
    t = next(c for c in pie.components if c.factor == "therapist")
    assert t.share == fit.icc
    assert t.sources[0].startswith("from data: this practice's fitted ICC, 50 therapists")
    z = 1.959963984540054
    half = (convert.logit(fit.ci_high) - convert.logit(fit.ci_low)) / 2
    assert t.se == pytest.approx(half / z, rel=1e-12)
