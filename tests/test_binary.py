"""Mantel-Haenszel and Peto pooling of 2x2 tables against metafor's rma.mh and rma.peto.

The reference numbers were computed with metafor 3.8-1 (R 4.2.2, metadat 1.2-0) by
tests/reference/binary.R into tests/reference/binary.json, which also holds each dataset's counts: dat.bcg
(no zero cells), dat.nielweise2007 (zero cells; one study without events), dat.hahn2001 (three studies
without events), dat.collins1985b (pre-eclampsia), the first two BCG trials, the first alone, and two
tables without events. Each case keeps its R call.
"""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import DroppedRowsWarning, InputError
from commonfactors.results.binary import BinaryResult
from reference import load
from tolerances import ATOL_FLOOR, IDENTITY_RTOL, PERCENT_ATOL, PERCENT_FIELDS, R_CLOSED_FORM_RTOL

REFERENCE = load("binary")
CASES = REFERENCE["cases"]
TABLES = {name: pd.DataFrame(rows) for name, rows in REFERENCE["tables"].items()}
CELLS = {"ai": "ai", "bi": "bi", "ci": "ci", "di": "di"}


def _fit(case) -> BinaryResult:
    spec = dict(case["spec"])
    method, measure = spec.pop("method"), spec.pop("measure")
    data = TABLES[case["data"]]
    if method == "PETO":
        return cf.peto(data, **CELLS, **spec)
    return cf.mantel_haenszel(data, **CELLS, measure=measure, **spec)


def assert_case(got: dict, case: dict) -> None:
    """Every expected field of a binary.json case in ``got`` (a result's JSON): closed-form estimates, R's
    numbers written with 15 significant digits; R's NA as None."""
    for name, expected in case["expected"].items():
        if expected is None:
            assert got[name] is None, (name, case["call"])
            continue
        atol = PERCENT_ATOL if name in PERCENT_FIELDS else ATOL_FLOOR
        assert got[name] == pytest.approx(expected, rel=R_CLOSED_FORM_RTOL, abs=atol), (name, case["call"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_metafor(case):
    assert_case(_fit(case).to_dict(), case)


def test_every_measure_dataset_and_option_is_covered():
    # 5 datasets x (MH OR, RR, RD + Peto) + three cases of options + three degenerate: no case can drop
    assert len(CASES) == 26
    assert {c["data"] for c in CASES} == set(TABLES)
    odds_ratio_mh = [c for c in CASES if c["spec"] == {"method": "MH", "measure": "OR"}]
    assert all({"cmh", "cmh_pval", "tarone", "tarone_df", "tarone_pval"} <= set(c["expected"])
               for c in odds_ratio_mh)


@pytest.mark.parametrize("case", [c for c in CASES if c["spec"]["measure"] != "RD"
                                  and c["expected"]["estimate"] is not None], ids=lambda c: c["id"])
def test_ratio_scale_is_the_exponentiated_estimate_and_interval(case):
    # metafor prints exp(beta), exp(ci.lb), exp(ci.ub) under "Model Results (OR scale)"
    nat, exp = _fit(case).natural, case["expected"]
    assert nat["scale"] == {"OR": "odds ratio", "RR": "risk ratio"}[case["spec"]["measure"]]
    assert math.isnan(nat["pi_low"]) and math.isnan(nat["pi_high"])  # an equal-effects model
    for ours, theirs in (("estimate", "estimate"), ("ci_low", "ci_low"), ("ci_high", "ci_high")):
        assert nat[ours] == pytest.approx(math.exp(exp[theirs]), rel=R_CLOSED_FORM_RTOL)


def test_risk_difference_has_no_ratio_scale():
    res = cf.mantel_haenszel(TABLES["bcg"], **CELLS, measure="RD")
    assert res.natural is None and res.to_dict()["natural"] is None
    assert "cmh" not in res.to_dict() and math.isnan(res.cmh)


@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_group_sizes_give_the_same_tables_as_the_four_cells(measure):
    d = TABLES["nielweise2007"].assign(n1=lambda t: t.ai + t.bi, n2=lambda t: t.ci + t.di)
    by_cells = cf.mantel_haenszel(d, **CELLS, measure=measure).to_dict()
    by_sizes = cf.mantel_haenszel(d, ai="ai", ci="ci", n1i="n1", n2i="n2", measure=measure).to_dict()
    assert by_sizes == by_cells


def test_arrays_and_lower_case_measure():
    d = TABLES["bcg"]
    framed = cf.mantel_haenszel(d, **CELLS, measure="RR")
    bare = cf.mantel_haenszel(ai=d.ai.to_numpy(), bi=d.bi.tolist(), ci=d.ci.to_numpy(), di=d.di.to_numpy(),
                              measure="rr")
    assert bare.to_dict() == framed.to_dict()


def test_level_follows_metafors_rule():
    d = TABLES["bcg"]
    at_90 = cf.mantel_haenszel(d, **CELLS, level=90).to_dict()
    assert cf.mantel_haenszel(d, **CELLS, level=0.9).to_dict() == at_90
    assert cf.mantel_haenszel(d, **CELLS, level=0.1).to_dict() == at_90


def test_a_study_with_a_missing_count_is_left_out_with_a_warning():
    # metafor omits studies with NAs ("Studies with NAs omitted from model fitting"): the result is that
    # of the other studies
    d = TABLES["bcg"].astype(float)
    d.loc[3, "ci"] = np.nan
    with pytest.warns(DroppedRowsWarning, match=r"1 study with a missing count omitted \(row 3\)"):
        res = cf.mantel_haenszel(d, **CELLS)
    rest = cf.mantel_haenszel(d.drop(index=3), **CELLS)
    assert res.k == 12 and res.estimate == rest.estimate and res.tarone == rest.tarone
    assert res.warnings == ("1 study with a missing count omitted (row 3)",)
    assert res.warnings[0] in str(res.summary()) and res.to_dict()["warnings"] == list(res.warnings)


def test_peto_ignores_tables_without_events_in_both_groups():
    # a table with no events has V = 0: it changes neither the estimate nor Q (identity)
    d = TABLES["bcg"]
    extra = pd.concat([d, pd.DataFrame([{"ai": 0, "bi": 40, "ci": 0, "di": 38}])], ignore_index=True)
    one, two = cf.peto(d, **CELLS), cf.peto(extra, **CELLS)
    assert two.k == one.k + 1 and two.q_df == one.q_df
    assert two.estimate == pytest.approx(one.estimate, rel=IDENTITY_RTOL)
    assert two.q == pytest.approx(one.q, rel=IDENTITY_RTOL)


# what metafor 3.8-1 prints for rma.mh(tpos, tneg, cpos, cneg, data = dat.bcg)
BCG_PRINTED = """\
Equal-Effects Model (k = 13)

I^2 (total heterogeneity / total variability):  92.68%
H^2 (total variability / sampling variability): 13.66

Test for Heterogeneity:
Q(df = 12) = 163.9426, p-val < .0001

Model Results (log scale):

estimate      se      zval    pval    ci.lb    ci.ub
 -0.4734  0.0410  -11.5444  <.0001  -0.5538  -0.3930

Model Results (OR scale):

estimate   ci.lb   ci.ub
  0.6229  0.5748  0.6750

Cochran-Mantel-Haenszel Test:    CMH = 135.6889, df = 1,  p-val < 0.0001
Tarone's Test for Heterogeneity: X^2 = 171.7567, df = 12, p-val < 0.0001"""


def test_summary_prints_as_metafor():
    # metafor's print, trailing blanks stripped
    assert str(cf.mantel_haenszel(TABLES["bcg"], **CELLS).summary()) == BCG_PRINTED


def test_peto_and_risk_difference_print_one_table_scale_and_no_mh_tests():
    peto_text = str(cf.peto(TABLES["bcg"], **CELLS).summary())
    assert "Model Results (OR scale):" in peto_text and "Tarone" not in peto_text
    rd_text = str(cf.mantel_haenszel(TABLES["bcg"], **CELLS, measure="RD").summary())
    assert "Model Results:\n" in rd_text and "scale" not in rd_text


#: the JSON keys of `pool --method MH|PETO` (Mantel-Haenszel odds ratios add the CMH and Tarone tests)
BINARY_KEYS = {"k", "method", "measure", "level", "estimate", "se", "stat", "pval", "ci_low", "ci_high",
               "natural", "q", "q_df", "q_pval", "i2", "h2", "warnings"}
MH_OR_KEYS = {"cmh", "cmh_pval", "tarone", "tarone_df", "tarone_pval"}


@pytest.mark.parametrize("method, measure", [("MH", "OR"), ("MH", "RR"), ("MH", "RD"), ("PETO", "OR")])
def test_result_contract(method, measure):
    # the contract of every result class (tests/test_results_contract.py): frozen, summary() a Summary
    # whose text is repr(), to_dict() plain JSON with the command's keys, to_frame() a DataFrame
    fit = cf.peto if method == "PETO" else lambda d, **kw: cf.mantel_haenszel(d, measure=measure, **kw)
    res = fit(TABLES["hahn2001"], **CELLS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.k = 0
    assert isinstance(res.summary(), Summary) and repr(res) == str(res.summary())
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert set(d) == BINARY_KEYS | (MH_OR_KEYS if (method, measure) == ("MH", "OR") else set())
    natural_keys = {"scale", "transf", "estimate", "ci_low", "ci_high", "pi_low", "pi_high"}
    assert d["natural"] is None if measure == "RD" else set(d["natural"]) == natural_keys
    assert isinstance(res.to_frame(), pd.DataFrame)


def test_frame_and_records():
    res = cf.mantel_haenszel(TABLES["bcg"], **CELLS, measure="RR")
    frame = res.to_frame()
    assert frame["scale"].tolist() == ["log RR", "RR"]
    assert frame.loc[1, "estimate"] == pytest.approx(math.exp(res.estimate), rel=IDENTITY_RTOL)
    assert frame.columns.tolist() == list(res.records()[0])


# --- bad input: one InputError naming the row and column


def _bad(row, column, value):
    d = TABLES["bcg"].astype(object)
    d.loc[row, column] = value
    return d


@pytest.mark.parametrize("value, expected", [
    (-1, r"row 2, column 'ci': got -1; expected a count >= 0"),
    (2.5, r"row 2, column 'ci': got 2.5; expected a count \(a whole number\)"),
    (math.inf, r"row 2, column 'ci': got inf; expected a count >= 0"),
    ("many", r"row 2, column 'ci'"),
])
def test_bad_counts_are_refused_with_row_and_column(value, expected):
    with pytest.raises(InputError, match=expected):
        cf.mantel_haenszel(_bad(2, "ci", value), **CELLS)


def test_events_above_the_group_size_are_refused():
    d = TABLES["bcg"].assign(n1=lambda t: t.ai + t.bi, n2=lambda t: t.ci + t.di)
    d.loc[4, "ci"] = d.loc[4, "n2"] + 1
    expected = r"row 4, column 'ci': got 5809; expected a count <= n2 \(5808, the group size\)"
    with pytest.raises(InputError, match=expected):
        cf.peto(d, ai="ai", ci="ci", n1i="n1", n2i="n2")


def test_a_table_without_participants_is_refused():
    # metafor's rma.mh gives NaN for every measure (0/0), rma.peto stops with an R error
    d = pd.concat([TABLES["bcg"], pd.DataFrame([{"ai": 0, "bi": 0, "ci": 0, "di": 0}])], ignore_index=True)
    with pytest.raises(InputError, match=r"row 13, column 'ai': got 0; expected a table with participants"):
        cf.mantel_haenszel(d, **CELLS)


def test_a_missing_column_is_named():
    expected = r"no column 'dd'; expected the di column; the columns are 'ai', 'bi', 'ci', 'di'"
    with pytest.raises(InputError, match=expected):
        cf.mantel_haenszel(TABLES["bcg"], ai="ai", bi="bi", ci="ci", di="dd")


def test_bad_measure_and_level():
    with pytest.raises(InputError, match=r"measure='SMD' is not one of 'OR', 'RR', 'RD'"):
        cf.mantel_haenszel(TABLES["bcg"], **CELLS, measure="SMD")
    with pytest.raises(InputError, match=r"level=150 is not between 0 and 100"):
        cf.peto(TABLES["bcg"], **CELLS, level=150)


def test_the_table_must_be_given():
    with pytest.raises(TypeError, match="give bi and di .non-events., or n1i and n2i"):
        cf.mantel_haenszel(TABLES["bcg"], ai="ai", ci="ci", bi="bi")
