"""Case diagnostics: influence (with Knapp-Hartung and moderators), leave-one-out, cumulative and Baujat
against metafor 3.8-1 run here, and degenerate inputs.

Data: the BCG vaccine trials (Colditz et al., 1994; metadat's dat.bcg), log risk ratios from
``escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)`` (full precision below).
Reference numbers: tests/reference/influence.R (``rma(yi, vi, data=dat, control=list(threshold=1e-12))`` and
the calls named above each test) writes them to tests/reference/influence.json.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import InputError, SmallKWarning
from reference import load
from tolerances import ALGEBRA_ATOL, ATOL_FLOOR, IDENTITY_RTOL, assert_agrees, atol_for, rtol_for

RTOL = rtol_for("influence", "")

YI = [-0.889311333920205449, -1.585388657201430629, -1.348073148299693269, -1.441551190021305384,
      -0.217547322211295580, -0.786115585818863982, -1.620898223598391752, 0.011952333523840508,
      -0.469417648738149396, -1.371344803472784424, -0.339358828338390595, 0.445913400571378737,
      -0.017313948216879815]
VI = [0.3255847650039613295, 0.1945811213981438470, 0.4153679653679653860, 0.0200100319022475728,
      0.0512101721696308632, 0.0069056184559087574, 0.2230172475723151693, 0.0039615792978177295,
      0.0564342104632489655, 0.0730247936130289099, 0.0124122139715597199, 0.5325058452001527609,
      0.0714046596839862935]
YEAR = [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976]
ABLAT = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
BCG = pd.DataFrame({"yi": YI, "vi": VI, "year": YEAR, "ablat": ABLAT,
                    "trial": [f"trial {i}" for i in range(1, 14)]})


def close(got, expected, what, rtol=RTOL):
    assert_agrees(list(map(float, got)), list(expected), rtol=rtol, atol=ATOL_FLOOR, what=what)


REFERENCE = load("influence")  # tests/reference/influence.R, with rma(yi, vi, data=dat, control=ctl)
COV_R = REFERENCE["influence"]["cov_ratio"]
DFBETAS = REFERENCE["influence"]["dfbetas"]["intrcpt"]


def test_influence_cov_ratio_dfbetas_and_flags_match_metafor():
    res = cf.influence(BCG, slab="trial")
    close(res.cov_ratio, COV_R, "cov_ratio")
    close(res.dfbetas[:, 0], DFBETAS, "dfbetas")
    assert not res.influential.any()
    assert list(res.slab) == list(BCG.trial)


# influence(rma(yi, vi, data=dat, test="knha", control=ctl)), first three studies
def test_influence_knha_matches_metafor():
    ref = REFERENCE["influence_knha"]
    res = cf.influence(BCG, test="knha")
    close(res.dfbetas[:3, 0], ref["dfbetas"]["intrcpt"][:3], "dfbetas")
    close(res.rstudent[:3], ref["rstudent"][:3], "rstudent")
    close(res.dffits[:3], ref["dffits"][:3], "dffits")
    close(res.cooks_d[:3], ref["cooks_d"][:3], "cooks_d")
    close(res.cov_ratio[:3], ref["cov_ratio"][:3], "cov_ratio")


# influence(rma(yi, vi, mods=~ablat, data=dat, control=ctl)), first four studies; no study flagged
def test_influence_with_moderators_matches_metafor():
    ref = REFERENCE["influence_ablat"]
    res = cf.influence(BCG, mods="~ ablat")
    close(res.dfbetas[:4, 0], ref["dfbetas"]["intrcpt"][:4], "dfb0")
    close(res.dfbetas[:4, 1], ref["dfbetas"]["ablat"][:4], "dfb1")
    for field in ("rstudent", "dffits", "cooks_d", "cov_ratio", "hat", "weight"):
        close(getattr(res, field)[:4], ref[field][:4], field)
    assert not res.influential.any()
    assert res.to_frame().columns[-2:].tolist() == ["dfbetas_intrcpt", "dfbetas_ablat"]


def test_influential_flag_follows_metafor_rules():
    # normand1999 SMD: study 3 (rstudent -3.21, DFFITS -1.27 > 3 sqrt(1/8)) is metafor's only flagged study
    from conformance_cases import input_path, load_cases

    case = next(c for c in load_cases("influence") if c["id"] == "influence_normand1999_SMD")
    res = cf.influence(cf.read_table(input_path(case)))
    assert np.flatnonzero(res.influential).tolist() == [2]


# cumul(res, order=dat$year)
CUMUL = list(zip(*(REFERENCE["cumulative_year"][f] for f in ("estimate", "se", "tau2", "i2")), strict=True))


def test_cumulative_by_year_matches_metafor():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.cumulative(BCG, order="year", slab="trial")
    assert {type(c.message) for c in caught} == {SmallKWarning}
    est, se, tau2, i2 = zip(*CUMUL, strict=True)
    close(res.estimate, est, "estimate")
    close(res.se, se, "se")
    close(res.tau2, tau2, "tau2")
    assert_agrees(list(map(float, res.i2)), list(i2), rtol=RTOL, atol=atol_for("i2"), what="i2")
    # ties (1973: trials 5 and 7) keep the input order, as R's order()
    assert list(res.slab[7:9]) == ["trial 5", "trial 7"]
    assert list(res.order_value) == sorted(YEAR)
    assert any("k = 1 study" in w for w in res.warnings)


def test_cumulative_without_order_is_the_input_order():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallKWarning)
        res = cf.cumulative(yi=YI, vi=VI)
    assert res.estimate[-1] == pytest.approx(cf.meta_analysis(yi=YI, vi=VI).estimate, rel=IDENTITY_RTOL)
    assert res.estimate[0] == pytest.approx(YI[0], rel=IDENTITY_RTOL)


def test_cumulative_missing_order_names_the_row():
    data = BCG.assign(year=BCG.year.astype(float).where(BCG.index != 4))
    with pytest.raises(InputError, match=r"row 4, column 'year'"):
        cf.cumulative(data, order="year")


# baujat(res)
BAUJAT_X = REFERENCE["baujat"]["x"]
BAUJAT_Y = REFERENCE["baujat"]["y"]


def test_baujat_matches_metafor():
    res = cf.baujat(BCG)
    close(res.x, BAUJAT_X, "x")
    close(res.y, BAUJAT_Y, "y")
    assert res.to_frame().columns.tolist() == ["slab", "x", "y"]


# leave1out(res), first three studies
def test_leave_one_out_matches_metafor():
    ref = REFERENCE["leave1out"]
    res = cf.leave_one_out(BCG)
    for field in ("estimate", "se", "tau2", "i2", "q"):
        close(getattr(res, field)[:3], ref[field][:3], field)


def test_influence_to_dict_has_the_cli_fields_and_frame_one_row_per_study():
    res = cf.influence(BCG)
    d = res.to_dict()
    for name in ("leave1out_estimate", "leave1out_tau2", "rstudent", "cooks_d", "dffits", "hat", "weight"):
        assert len(d[name]) == 13, name
    assert set(d["dfbetas"]) == {"intrcpt"} and d["warnings"] == []
    frame = res.to_frame()
    assert frame.shape[0] == 13 and frame.weight.sum() == pytest.approx(100.0, rel=IDENTITY_RTOL)
    assert isinstance(res.summary(), Summary) and repr(res) == str(res.summary())
    # hat values and weights coincide (in proportion) without moderators
    assert np.allclose(res.hat * 100, res.weight, rtol=IDENTITY_RTOL)


def test_one_study_gives_nan_with_a_warning():
    with pytest.warns(SmallKWarning, match="k = 1"):
        res = cf.influence(yi=[0.3], vi=[0.04])
    assert math.isnan(res.rstudent[0]) and res.warnings
    with pytest.warns(SmallKWarning, match="k = 1"):
        loo = cf.leave_one_out(yi=[0.3], vi=[0.04])
    assert math.isnan(loo.estimate[0]) and loo.warnings


def test_two_studies_are_fitted_with_a_warning():
    with pytest.warns(SmallKWarning):
        res = cf.influence(yi=[0.3, 0.5], vi=[0.04, 0.05])
    assert np.isfinite(res.rstudent).all() and np.isfinite(res.leave1out_estimate).all()
    assert res.leave1out_estimate.tolist() == [0.5, 0.3]
    assert res.warnings


def test_all_equal_effects_give_finite_diagnostics():
    res = cf.influence(yi=[0.2] * 5, vi=[0.01, 0.02, 0.03, 0.04, 0.05])
    assert np.allclose(res.rstudent, 0, atol=ALGEBRA_ATOL) and np.allclose(res.cooks_d, 0, atol=ALGEBRA_ATOL)
    assert np.isfinite(res.cov_ratio).all() and not res.warnings


def test_study_whose_removal_makes_a_moderator_constant_is_nan_with_a_warning():
    with pytest.warns(SmallKWarning, match="cannot be fitted without study 4"):
        res = cf.influence(yi=[0.1, 0.2, 0.3, 0.8], vi=[0.01] * 4, mods=[0, 0, 0, 1],
                           slab=["1", "2", "3", "4"])
    assert math.isnan(res.rstudent[3]) and np.isfinite(res.rstudent[:3]).all()


def test_warnings_of_the_refits_point_at_the_users_call():
    """Warnings noticed deep inside (a leave-one-out refit with k = 1) are attributed to the line that
    called the public function, not to a line of the package."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cf.influence(yi=[0.1, 0.5], vi=[0.01, 0.02])
    assert caught and {c.filename for c in caught} == {__file__}
