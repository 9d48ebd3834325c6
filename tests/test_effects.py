"""Unit tests of commonfactors.effects: measures and zero-cell rules not covered by the conformance cases,
the conversions, validation at the boundary and the missing-input warning.

Reference numbers: R 4.2.2 and metafor 3.8-1, written by tests/reference/effects.R (each case's yi and vi);
the call is beside each use. Tolerance: metafor's effect-size tolerance (1e-8 relative, tests/tolerances.py).
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.effects import MEASURES, hedges_j
from commonfactors.effects.measures import _hyp2f1_half
from commonfactors.errors import DroppedRowsWarning, InputError
from conformance_cases import load_cases
from reference import load
from tolerances import ATOL_FLOOR, IDENTITY_RTOL, METAFOR_RTOL

RTOL = METAFOR_RTOL["effect_size"]
ESCALC, CONVERSIONS = load("effects")["escalc"], load("effects")["conversions"]
BCG_RR = next(c for c in load_cases("effect_size") if c["id"] == "es_bcg_RR")["expected"]


def escalc(case: str) -> tuple[list, list]:
    """yi and vi of one escalc() case of tests/reference/effects.R."""
    return ESCALC[case]["yi"], ESCALC[case]["vi"]


def converted(case: str) -> list:
    """The converted value and its variance, by the formulas of tests/reference/effects.R."""
    return [CONVERSIONS[case]["yi"], CONVERSIONS[case]["vi"]]


def close(got, expected, rtol=RTOL):
    got = np.asarray(got, dtype=float)
    expected = np.asarray([np.nan if e is None else e for e in np.atleast_1d(expected)], dtype=float)
    assert got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected)), (got, expected)
    ok = ~np.isnan(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=rtol, atol=ATOL_FLOOR)


def es(measure, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        out = cf.effect_sizes(None, measure, **kw)
    return out["yi"].to_numpy(), out["vi"].to_numpy()


# -- the registry ------------------------------------------------------------------------------------------


def test_registry_holds_the_issue_measures_with_needs_and_sources():
    assert set(MEASURES) == {
        "SMD",
        "SMDH",
        "MD",
        "ROM",
        "SMCC",
        "SMCR",
        "COR",
        "UCOR",
        "ZCOR",
        "OR",
        "RR",
        "RD",
        "IRR",
        "PR",
        "PLN",
        "PLO",
        "PAS",
        "PFT",
        "MN",
    }
    for name, m in MEASURES.items():
        assert m.name == name and m.needs and m.description
        assert any(ch.isdigit() for ch in m.reference) and "(" in m.reference  # author (year) ...
    assert MEASURES["RR"].signature == "ai, bi|n1i, ci, di|n2i"
    assert MEASURES["PLO"].signature == "xi, mi|ni"


def test_exact_j_matches_its_gamma_definition_and_the_usual_approximation():
    # identity: J(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)) (Hedges 1981, eq. 6e)
    for m in (2, 5, 18, 100):
        exact = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
        assert hedges_j(m) == pytest.approx(exact, rel=IDENTITY_RTOL)
    assert hedges_j(1000) == pytest.approx(1 - 3 / (4 * 1000 - 1), rel=1e-6)  # Hedges (1981), eq. 6b


# -- measures and zero cells, against metafor ------------------------------------------------------------

TABLE = dict(ai=[0, 3, 5], ci=[2, 0, 4], n1i=[10, 12, 20], n2i=[11, 10, 20])


@pytest.mark.parametrize(
    "to, add, yi, vi",
    [
        # escalc("RD", ai=c(0,3,5), ci=c(2,0,4), n1i=c(10,12,20), n2i=c(11,10,20), to=TO)
        ("only0", 0.5, *escalc("rd_only0")),
        ("all", 0.5, *escalc("rd_all")),
        ("if0all", 0.5, *escalc("rd_if0all")),
        ("none", 0.5, *escalc("rd_none")),
    ],
)
def test_risk_difference_zero_cells_as_metafor(to, add, yi, vi):
    y, v = es("RD", **TABLE, to=to, add=add)
    close(y, yi)
    close(v, vi)


def test_odds_ratio_add_one_to_all_cells_as_metafor():
    # f(escalc("OR", ai=c(0,3,5), ci=c(2,0,4), n1i=c(10,12,20), n2i=c(11,10,20), to="all", add=1))
    y, v = es("OR", **TABLE, to="all", add=1)
    yi, vi = escalc("or_all_add1")
    close(y, yi)
    close(v, vi)


def test_odds_ratio_without_correction_is_na_for_zero_cells_with_a_warning():
    # f(escalc("OR", ai=c(0,3,5), ci=c(2,0,4), n1i=c(10,12,20), n2i=c(11,10,20), to="none"))
    with pytest.warns(
        DroppedRowsWarning, match=r"2 studies with OR undefined .*: yi/vi set to NA \(elements 1, 2\)"
    ):
        out = cf.effect_sizes(None, "OR", **TABLE, to="none")
    yi, vi = escalc("or_none")
    close(out["yi"], yi)
    close(out["vi"], vi)


def test_drop00_as_metafor_and_excluded_from_if0all():
    # f(escalc("RR", ai=c(0,3,0,5), bi=c(10,9,0,15), ci=c(0,1,2,4), di=c(11,9,0,16), drop00=TRUE))
    with pytest.warns(DroppedRowsWarning, match=r"2 studies with no events .*\(elements 1, 3\)"):
        out = cf.effect_sizes(
            None, "RR", ai=[0, 3, 0, 5], bi=[10, 9, 0, 15], ci=[0, 1, 2, 4], di=[11, 9, 0, 16], drop00=True
        )
    yi, vi = escalc("rr_drop00")
    close(out["yi"], yi)
    close(out["vi"], vi)
    # f(escalc("RR", ai=c(0,3,5), bi=c(10,9,15), ci=c(0,1,4), di=c(11,9,16), drop00=TRUE, to="if0all"))
    y, v = es("RR", ai=[0, 3, 5], bi=[10, 9, 15], ci=[0, 1, 4], di=[11, 9, 16], drop00=True, to="if0all")
    yi, vi = escalc("rr_drop00_if0all")
    close(y, yi)
    close(v, vi)


@pytest.mark.parametrize(
    "measure, kw, yi, vi",
    [
        # escalc("PR", xi=c(0,3,10), ni=c(10,10,10))
        ("PR", dict(xi=[0, 3, 10], ni=[10, 10, 10]), *escalc("pr_ni")),
        # escalc("PR", xi=c(0,3,10), mi=c(10,7,0))
        ("PR", dict(xi=[0, 3, 10], mi=[10, 7, 0]), *escalc("pr_mi")),
        # escalc("PR", xi=c(0,3,10), ni=c(10,10,10), to="none")
        ("PR", dict(xi=[0, 3, 10], ni=[10, 10, 10], to="none"), *escalc("pr_none")),
        # escalc("PLO", xi=c(0,3,10), ni=c(10,10,10))
        ("PLO", dict(xi=[0, 3, 10], ni=[10, 10, 10]), *escalc("plo")),
        # escalc("PLO", xi=c(0,3,10), ni=c(10,10,10), to="all")
        ("PLO", dict(xi=[0, 3, 10], ni=[10, 10, 10], to="all"), *escalc("plo_all")),
        # escalc("SMCC", m1i=c(10,12.5), m2i=c(8,13), sd1i=c(3,4), sd2i=c(3.5,4.2), ri=c(0.5,-0.2),
        #        ni=c(3,25))
        (
            "SMCC",
            dict(m1i=[10, 12.5], m2i=[8, 13], sd1i=[3, 4], sd2i=[3.5, 4.2], ri=[0.5, -0.2], ni=[3, 25]),
            *escalc("smcc"),
        ),
        # escalc("SMCR", m1i=c(10,12.5), m2i=c(8,13), sd1i=c(3,4), ri=c(0.5,-0.2), ni=c(3,25))
        (
            "SMCR",
            dict(m1i=[10, 12.5], m2i=[8, 13], sd1i=[3, 4], ri=[0.5, -0.2], ni=[3, 25]),
            *escalc("smcr"),
        ),
        # escalc("ROM", m1i=c(-2,-1), m2i=c(-4,-3), sd1i=c(1,1), sd2i=c(1,2), n1i=c(10,20), n2i=c(12,20))
        (
            "ROM",
            dict(m1i=[-2, -1], m2i=[-4, -3], sd1i=[1, 1], sd2i=[1, 2], n1i=[10, 20], n2i=[12, 20]),
            *escalc("rom"),
        ),
        # escalc("MN", mi=c(1.5,-2), sdi=c(2,0), ni=c(1,30))
        ("MN", dict(mi=[1.5, -2], sdi=[2, 0], ni=[1, 30]), *escalc("mn")),
        # escalc("ZCOR", ri=c(-0.999,0.5), ni=c(4,100))
        ("ZCOR", dict(ri=[-0.999, 0.5], ni=[4, 100]), *escalc("zcor")),
        # escalc("UCOR", ri=c(0.05,0.3,0.6,-0.9,0.99,0.3,0.3,0.01,-0.2), ni=c(5,5,5,5,5,6,1000,300,41))
        (
            "UCOR",
            dict(ri=[0.05, 0.3, 0.6, -0.9, 0.99, 0.3, 0.3, 0.01, -0.2], ni=[5, 5, 5, 5, 5, 6, 1000, 300, 41]),
            *escalc("ucor"),
        ),
    ],
)
def test_measures_and_edge_cases_as_metafor(measure, kw, yi, vi):
    y, v = es(measure, **kw)
    close(y, yi)
    close(v, vi)


def test_hypergeometric_series_agrees_with_mpmath_on_both_sides_of_the_switch():
    mpmath = pytest.importorskip("mpmath")
    c = np.array([1.5, 2.0, 19.5, 20.0, 20.5, 60.0, 149.0, 499.0, 5000.0])
    for z in (0.0, 0.3, 0.9, 0.9999, 1.0):
        got = _hyp2f1_half(c, np.full(c.shape, z))
        want = [float(mpmath.hyp2f1(0.5, 0.5, ci, z)) for ci in c]
        np.testing.assert_allclose(got, want, rtol=IDENTITY_RTOL)


def test_mixed_table_forms_give_the_same_numbers():
    cells = cf.effect_sizes(None, "OR", ai=[4, 6], bi=[119, 300], ci=[11, 29], di=[128, 274])
    totals = cf.effect_sizes(None, "OR", ai=[4, 6], n1i=[123, 306], ci=[11, 29], n2i=[139, 303])
    np.testing.assert_array_equal(cells[["yi", "vi"]].to_numpy(), totals[["yi", "vi"]].to_numpy())


def test_metapsy_total_response_logrr_is_reproduced_by_adding_half_to_events_and_totals():
    """The Metapsy database's logrr adds 0.5 to a, c, n1 and n2 (not to b and d, as escalc's to="all"
    does); 561 of its 569 rows are log[((a+.5)/(n1+.5)) / ((c+.5)/(n2+.5))], the 8 others are the
    tables with a 100% response arm (another correction there). Source: data/metapsy_total_response.md."""
    d = cf.load_dataset("metapsy_total_response")
    a, n1, c, n2 = (d[k] for k in ("improved.ig", "n.ig", "improved.cg", "n.cg"))
    out = cf.effect_sizes(d, "RR", ai=a + 0.5, n1i=n1 + 0.5, ci=c + 0.5, n2i=n2 + 0.5, to="none")
    same = np.isclose(out["yi"], d["logrr"], rtol=1e-10, atol=0)
    assert same.sum() == 561
    assert ((a == n1) | (c == n2))[~same].all()
    all_cells = cf.effect_sizes(d, "RR", ai=a, n1i=n1, ci=c, n2i=n2, to="all")
    assert np.isclose(all_cells["yi"], d["logrr"], rtol=1e-10, atol=0).sum() < 200  # to="all" is not it


# -- the data frame contract -------------------------------------------------------------------------------


def test_returns_a_copy_with_yi_vi_appended_and_the_measure_in_attrs():
    df = pd.DataFrame(
        {"a": [4, 6], "b": [119, 300], "c": [11, 29], "d": [128, 274], "note": ["x", "y"]}, index=[2, 3]
    )
    out = cf.effect_sizes(df, "RR", ai="a", bi="b", ci="c", di="d")
    assert list(out.columns) == ["a", "b", "c", "d", "note", "yi", "vi"]
    assert list(out.index) == [2, 3] and "yi" not in df.columns
    assert out.attrs["measure"] == "RR" and out.attrs["warnings"] == []
    # bcg trials 1-2, as the conformance case es_bcg_RR (metafor 3.8-1)
    close(out["yi"], BCG_RR["yi"][:2])


def test_columns_may_be_arrays_alongside_names():
    df = pd.DataFrame({"r": [0.187, 0.162]})
    out = cf.effect_sizes(df, "ZCOR", ri="r", ni=np.array([109, 749]))
    close(out["vi"], [1 / 106, 1 / 746])


def test_missing_inputs_give_na_and_one_warning_naming_the_rows():
    df = pd.DataFrame(
        {
            "m1": [1.0, np.nan, 2.0, 1.0],
            "m2": [0.0, 0.0, 0.0, np.nan],
            "s": [1.0, 1.0, 1.0, 1.0],
            "n": [10, 10, 10, 10],
        },
        index=[7, 12, 13, 20],
    )
    with pytest.warns(
        DroppedRowsWarning, match=r"^2 studies with missing inputs: yi/vi set to NA \(rows 12, 20\)$"
    ):
        out = cf.effect_sizes(df, "SMD", m1i="m1", m2i="m2", sd1i="s", sd2i="s", n1i="n", n2i="n")
    assert out["yi"].isna().tolist() == [False, True, False, True]
    assert out.attrs["warnings"] == ["2 studies with missing inputs: yi/vi set to NA (rows 12, 20)"]


# -- bad input: one-line InputError naming file, row and column -------------------------------------------


def _file_frame(tmp_path, text):
    path = tmp_path / "studies.csv"
    path.write_text(text)
    return cf.read_table(path), str(path)


SMD_COLS = dict(m1i="m1", sd1i="s1", n1i="n1", m2i="m2", sd2i="s2", n2i="n2")


@pytest.mark.parametrize(
    "row3, pattern",
    [
        ("1,-1,10,0,1,10", r"row 3, column 's1': got -1; expected a standard deviation >= 0"),
        ("1,1,1,0,1,10", r"row 3, column 'n1': got 1; expected a sample size >= 2 for measure SMD"),
        ("1,0,10,0,0,10", r"row 3, column 's1': got 0; expected sd1i and sd2i not both 0"),
        ("1,abc,10,0,1,10", r"row 3, column 's1': got 'abc'; expected a number"),
    ],
)
def test_bad_values_name_file_row_and_column(tmp_path, row3, pattern):
    df, path = _file_frame(tmp_path, "m1,s1,n1,m2,s2,n2\n1,1,10,0,1,10\n" + row3 + "\n")
    with pytest.raises(InputError, match=pattern) as err:
        cf.effect_sizes(df, "SMD", **SMD_COLS)
    assert str(err.value).startswith(path) and "\n" not in str(err.value)


def test_missing_column_suggests_the_closest_name(tmp_path):
    df, _ = _file_frame(tmp_path, "m1,s1,n1,m2,s2,n2\n1,1,10,0,1,10\n")
    with pytest.raises(InputError, match=r"no column 'sd1' \(did you mean 's1'\?\)"):
        cf.effect_sizes(df, "SMD", **dict(SMD_COLS, sd1i="sd1"))


@pytest.mark.parametrize(
    "measure, kw, pattern",
    [
        (
            "COR",
            dict(ri=[0.2, 1.3], ni=[10, 10]),
            r"element 2, column 'ri': got 1.3; expected a correlation between -1",
        ),
        (
            "ZCOR",
            dict(ri=[0.2, 1.0], ni=[10, 10]),
            r"element 2, column 'ri': got 1; expected a correlation strictly",
        ),
        (
            "SMCR",
            dict(m1i=[1], m2i=[0], sd1i=[1], ri=[0.5], ni=[2]),
            r"column 'ni': got 2; expected a sample size >= 3",
        ),
        ("SMCC", dict(m1i=[1], m2i=[0], sd1i=[1], sd2i=[1], ri=[1], ni=[9]), r"change-score SD > 0"),
        ("ROM", dict(m1i=[1], m2i=[-2], sd1i=[1], sd2i=[1], n1i=[9], n2i=[9]), r"column 'm1i'.*same sign"),
        (
            "RR",
            dict(ai=[5], ci=[1], n1i=[4], n2i=[9]),
            r"column 'ai': got 5 but n1i is 4; expected a count <= n1i",
        ),
        ("OR", dict(ai=[1], bi=[-1], ci=[1], di=[1]), r"column 'bi': got -1; expected a count >= 0"),
        ("PLO", dict(xi=[11], ni=[10]), r"column 'xi': got 11 but ni is 10"),
        ("SMD", dict(m1i=[1], sd1i=[1], n1i=[9], m2i=[0], sd2i=[1]), r"measure SMD needs .*; missing n2i"),
        ("SMD", dict(m1i=[1], sd1i=[1], n1i=[9], m2i=[0], sd2i=[1], n2i=[9], ni=[18]), r"does not use ni"),
        ("XYZ", dict(ri=[0.1]), r"unknown measure 'XYZ'"),
        ("RR", dict(ai=[1], ci=[1], n1i=[4], n2i=[9], to="some"), r"to='some'"),
        ("RR", dict(ai=[1], ci=[1], n1i=[4], n2i=[9], add=-1), r"add=-1; expected a number >= 0"),
    ],
)
def test_bad_arrays_and_options_raise_input_error(measure, kw, pattern):
    with pytest.raises(InputError, match=pattern):
        cf.effect_sizes(None, measure, **kw)


# -- conversions ------------------------------------------------------------------------------------------


def test_d_to_r_with_group_sizes():
    # d<-0.5; n1<-20; n2<-60; a<-(n1+n2)^2/(n1*n2); vd<-1/n1+1/n2+d^2/(2*(n1+n2))
    # c(d/sqrt(d^2+a), a^2*vd/(d^2+a)^3)   (Borenstein et al. 2009, eqs. 4.20, 7.7-7.9)
    close(cf.d_to_r(0.5, n1i=20, n2i=60), converted("d_to_r_groups"))
    # equal groups (a = 4), variance given: c(0.5/sqrt(4.25), 16*0.05/4.25^3)
    close(cf.d_to_r(0.5, 0.05), converted("d_to_r_variance"))
    assert cf.d_to_r(0.5).vi is None


def test_r_to_d():
    # r<-0.3; vr<-(1-r^2)^2/99; c(2*r/sqrt(1-r^2), 4*vr/(1-r^2)^3)
    close(cf.r_to_d(0.3, ni=100), converted("r_to_d"))
    # with n1 = 20, n2 = 60: a<-80^2/1200; c(sqrt(a)*r/sqrt(1-r^2), a*((1-r^2)^2/79)/(1-r^2)^3)
    close(cf.r_to_d(0.3, n1i=20, n2i=60), converted("r_to_d_groups"))


def test_d_r_round_trip_is_the_identity():
    d = np.array([-1.2, 0.0, 0.3, 2.5])
    r, vr = cf.d_to_r(d, vi=np.full(4, 0.04), n1i=15, n2i=45)
    back, vd = cf.r_to_d(r, vi=vr, n1i=15, n2i=45)
    np.testing.assert_allclose(back, d, rtol=IDENTITY_RTOL, atol=1e-15)
    np.testing.assert_allclose(vd, 0.04, rtol=IDENTITY_RTOL)


def test_logor_to_d_matches_metafor_or2dl():
    # escalc("OR", ai=c(4,6), bi=c(119,300), ci=c(11,29), di=c(128,274))
    logor, v = escalc("or")
    # escalc("OR2DL", ai=c(4,6), bi=c(119,300), ci=c(11,29), di=c(128,274))
    close(cf.logor_to_d(logor, v), list(escalc("or2dl")))


def test_d_to_logor_matches_metafor_d2orl():
    m1, m2, s1, s2, n1, n2 = (
        np.array(x, float) for x in ([10, 12.5], [8, 13], [3, 4], [3.5, 4.2], [20, 25], [22, 30])
    )
    d = (m1 - m2) / np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / (n1 + n2 - 2))  # Cohen's d
    vd = 1 / n1 + 1 / n2 + d**2 / (2 * (n1 + n2))
    # escalc("D2ORL", m1i=c(10,12.5), m2i=c(8,13), sd1i=c(3,4), sd2i=c(3.5,4.2), n1i=c(20,25), n2i=c(22,30))
    close(cf.d_to_logor(d, vd), list(escalc("d2orl")))


def test_d_from_t_f_p():
    # escalc("SMD", ti=c(2.5,-1.2), n1i=c(30,12), n2i=c(30,20))   (Hedges' g from t)
    close(cf.d_from_t([2.5, -1.2], [30, 12], [30, 20], correct=True), list(escalc("smd_from_t")))
    # t<-2.5; d<-t*sqrt(2/30); c(d, 2/30 + d^2/120)   (Cohen's d)
    d, vd = converted("d_from_t")
    close(cf.d_from_t(2.5, 30, 30), [d, vd])
    np.testing.assert_allclose(cf.d_from_f(6.25, 30, 30, sign=-1), [-d, vd], rtol=IDENTITY_RTOL)
    # escalc("SMD", ti=c(1,-1)*qt(c(0.05,0.2)/2, df=c(58,30), lower.tail=FALSE), n1i=c(30,12), n2i=c(30,20))
    close(
        cf.d_from_p([0.05, 0.2], [30, 12], [30, 20], sign=[1, -1], correct=True),
        list(escalc("smd_from_p")),
    )


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: cf.r_to_d(1.0, ni=10), r"column 'r': got 1; expected a correlation in \(-1, 1\)"),
        (lambda: cf.d_to_r([0.1, 0.2], vi=[0.1, -0.1]), r"element 2, column 'vi': got -0.1"),
        (lambda: cf.d_from_p(0, 10, 10), r"column 'p': got 0; expected a p-value in \(0, 1\]"),
        (lambda: cf.d_from_f(-1, 10, 10), r"expected an F statistic >= 0"),
        (lambda: cf.d_from_f(4, 10, 10, sign=2), r"expected \+1 or -1"),
        (lambda: cf.d_from_t(2, 1, 10), r"column 'n1i': got 1; expected a group size >= 2"),
        (lambda: cf.d_from_t([1, 2, 3], [10, 11], 10), r"different lengths"),
        (lambda: cf.logor_to_d("x"), r"column 'logor': got 'x'"),
    ],
)
def test_conversion_input_errors(call, pattern):
    with pytest.raises(InputError, match=pattern):
        call()
