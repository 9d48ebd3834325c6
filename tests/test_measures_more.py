"""escalc measures and rules beyond the conformance set: IRR, PFT, PAS, PLN, SMD with vtype "UB", and
correlations from samples too small, which escalc keeps as NA with a warning.

Reference numbers: metafor 3.8-1 (R 4.2.2), computed by tests/reference/effects_more.R, which keeps each
``escalc()`` call's measure, arguments and options beside its yi and vi in tests/reference/effects_more.json.
Tolerance: metafor's effect-size tolerance (1e-8 relative, tests/tolerances.py); the JSON keeps 15
significant digits.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import DroppedRowsWarning, InputError
from reference import load
from tolerances import ATOL_FLOOR, METAFOR_RTOL

CASES = load("effects_more")["cases"]


def computed(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.CommonFactorsWarning)
        return cf.effect_sizes(None, case["measure"], **case["args"], **dict(case["options"] or {}))


@pytest.mark.parametrize("name", sorted(CASES))
def test_escalc_yi_vi_match_metafor(name):
    # escalc(measure, <args>, <options>) for each case of effects_more.R
    case = CASES[name]
    out = computed(case)
    for field in ("yi", "vi"):
        expected = np.array([np.nan if e is None else e for e in case[field]], dtype=float)
        got = out[field].to_numpy()
        assert np.array_equal(np.isnan(got), np.isnan(expected)), (field, got, expected)
        ok = ~np.isnan(expected)
        np.testing.assert_allclose(got[ok], expected[ok], rtol=METAFOR_RTOL["effect_size"], atol=ATOL_FLOOR)


def test_the_new_measures_are_registered_with_their_sources():
    for name, signature in [("IRR", "x1i, x2i, t1i, t2i"), ("PFT", "xi, mi|ni"), ("PAS", "xi, mi|ni"),
                            ("PLN", "xi, mi|ni")]:
        m = cf.MEASURES[name]
        assert m.signature == signature and any(ch.isdigit() for ch in m.reference)
    assert cf.MEASURES["SMD"].vtypes == ("LS", "UB")


@pytest.mark.parametrize(
    "measure, args, warning",
    [
        # escalc("ZCOR", ri, ni=c(1,2,3,3.5,4,100)): "Cannot estimate the sampling variance when ni <= 3."
        ("ZCOR", "zcor_small", r"^3 studies with ni <= 3 \(.*\): vi set to NA \(elements 1, 2, 3\)$"),
        # escalc("COR", ...): vi NA for ni <= 3 (escalc does not warn; we do)
        ("COR", "cor_small", r"^3 studies with ni <= 3 \(.*\): vi set to NA \(elements 1, 2, 3\)$"),
        # escalc("UCOR", ...): "Cannot compute the bias-corrected correlation coefficient when ni <= 4."
        ("UCOR", "ucor_small", r"^3 studies with ni <= 4 \(.*\): yi/vi set to NA \(elements 1, 2, 3\)$"),
    ],
)
def test_too_small_samples_are_na_with_a_warning_naming_the_rows(measure, args, warning):
    case = CASES[args]
    with pytest.warns(DroppedRowsWarning, match=warning):
        out = cf.effect_sizes(None, measure, **case["args"])
    assert len(out.attrs["warnings"]) == 1


def test_too_small_samples_name_file_rows_and_are_dropped_by_the_model(tmp_path):
    path = tmp_path / "cors.csv"
    path.write_text("r,n\n0.3,3\n0.25,40\n0.1,2\n0.4,60\n0.35,25\n")
    with pytest.warns(DroppedRowsWarning, match=r"2 studies with n <= 3 .*: vi set to NA \(rows 2, 4\)"):
        es = cf.effect_sizes(cf.read_table(path), "ZCOR", ri="r", ni="n")
    with pytest.warns(DroppedRowsWarning, match=r"2 studies with missing yi or vi omitted \(rows 2, 4\)"):
        res = cf.meta_analysis(es, yi="yi", vi="vi")
    # rma(yi, vi, data=escalc("ZCOR", ri=c(.3,.25,.1,.4,.35), ni=c(3,40,2,60,25))): k = 3
    ref = load("effects_more")["zcor_small_pooled"]
    assert res.k == ref["k"] == 3
    assert res.estimate == pytest.approx(ref["estimate"], rel=METAFOR_RTOL["rma"])
    assert res.tau2 == pytest.approx(ref["tau2"], rel=METAFOR_RTOL["rma"], abs=ATOL_FLOOR)


def test_a_sample_size_below_one_is_still_refused():
    with pytest.raises(InputError, match=r"element 2, column 'ni': got 0; expected a sample size >= 1"):
        cf.effect_sizes(None, "ZCOR", ri=[0.2, 0.1], ni=[10, 0])


@pytest.mark.parametrize(
    "kw, pattern",
    [
        (dict(x1i=[1, 2], x2i=[1, 3], t1i=[0, 20], t2i=[10, 30]),
         r"element 1, column 't1i': got 0; expected a person-time > 0"),
        (dict(x1i=[1, -2], x2i=[1, 3], t1i=[5, 20], t2i=[10, 30]),
         r"element 2, column 'x1i': got -2; expected a count >= 0"),
    ],
)
def test_irr_refuses_bad_person_time_and_counts_as_escalc(kw, pattern):
    # escalc stops: "One or more person-times are <= 0." / "One or more counts are negative."
    with pytest.raises(InputError, match=pattern):
        cf.effect_sizes(None, "IRR", **kw)


def test_vtype_other_than_ls_is_refused_where_the_measure_has_none():
    # escalc("ZCOR", ..., vtype="UB") stops: "Use of vtype='UB' only permitted when measure='UCOR'."
    with pytest.raises(InputError, match=r"vtype='UB' for measure ZCOR; expected one of LS"):
        cf.effect_sizes(None, "ZCOR", ri=[0.2], ni=[10], vtype="UB")


def test_proportions_over_their_total_are_refused():
    with pytest.raises(InputError, match=r"column 'xi': got 11 but ni is 10"):
        cf.effect_sizes(pd.DataFrame({"x": [11]}), "PFT", xi=[11], ni=[10])


@pytest.mark.parametrize(
    "name, sd1_rows, sd2_rows",
    [("smd_sd0", "element 1", "element 3"), ("md_sd0", "elements 1, 2", "element 2"),
     ("rom_sd0", "elements 1, 2", "element 2"), ("smcc_sd0", "element 1", "element 2")],
)
def test_an_sd_of_zero_is_computed_as_escalc_and_warned_with_rows_and_column(name, sd1_rows, sd2_rows):
    # yi and vi as escalc (test_escalc_yi_vi_match_metafor, same cases); escalc itself does not warn
    case = CASES[name]
    with pytest.warns(cf.CommonFactorsWarning) as caught:
        out = cf.effect_sizes(None, case["measure"], **case["args"])
    texts = [str(w.message) for w in caught]
    assert texts == out.attrs["warnings"] == [
        f"{sd1_rows.count(',') + 1} {'study' if ',' not in sd1_rows else 'studies'} with 0 in column 'sd1i' "
        f"(an SD of 0 is usually a missing value coded 0): computed as given ({sd1_rows})",
        f"1 study with 0 in column 'sd2i' (an SD of 0 is usually a missing value coded 0): computed as given "
        f"({sd2_rows})",
    ]
    assert not any(issubclass(w.category, DroppedRowsWarning) for w in caught)  # no row is dropped


def test_an_sd_of_zero_names_the_file_row_and_column(tmp_path):
    path = tmp_path / "trials.csv"
    path.write_text("m1,s1,n1,m2,s2,n2\n1,1,10,0,1.2,12\n3,1,15,2,0,15\n")
    with pytest.warns(cf.CommonFactorsWarning, match=r"^1 study with 0 in column 's2' .*\(row 3\)$"):
        out = cf.effect_sizes(cf.read_table(path), "SMD", m1i="m1", sd1i="s1", n1i="n1", m2i="m2", sd2i="s2",
                              n2i="n2")
    # escalc("SMD", m1i=3, sd1i=1, n1i=15, m2i=2, sd2i=0, n2i=15): smd_sd0, third study
    assert out["yi"].iloc[1] == pytest.approx(CASES["smd_sd0"]["yi"][2], rel=METAFOR_RTOL["effect_size"])


def test_both_sds_zero_still_leave_smd_undefined():
    with pytest.raises(InputError, match=r"sd1i and sd2i not both 0"):
        cf.effect_sizes(None, "SMD", m1i=[1], sd1i=[0], n1i=[10], m2i=[0], sd2i=[0], n2i=[10])


def test_d_variance_is_escalcs_large_sample_smd_variance():
    # escalc("SMD", ..., vtype="LS"): case smd_ls; vi = d_variance(yi, n1i, n2i)
    case = CASES["smd_ls"]
    n1i, n2i = (np.array(case["args"][a]) for a in ("n1i", "n2i"))
    got = cf.effects.d_variance(np.array(case["yi"]), n1i, n2i)
    np.testing.assert_allclose(got, case["vi"], rtol=METAFOR_RTOL["effect_size"])
