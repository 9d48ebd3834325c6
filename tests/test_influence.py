"""Case diagnostics: influence (with Knapp-Hartung and moderators), leave-one-out, cumulative and Baujat
against metafor 3.8-1 run here, and degenerate inputs.

Data: the BCG vaccine trials (Colditz et al., 1994; metadat's dat.bcg), log risk ratios from
``escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)`` (full precision below).
Reference numbers: ``rma(yi, vi, data=dat, control=list(threshold=1e-12))`` and the calls given above each.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import InputError, SmallKWarning
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


# > inf <- influence(res); inf$inf$cov.r; inf$dfbs$intrcpt; which(inf$inf$inf == "*")
COV_R = [1.116448986146, 1.01019229175459, 1.06699581106103, 0.965126485136275, 1.13802335405798,
         1.24071642703881, 1.00771140825968, 1.00107013890372, 1.19676223794612, 1.05052732509888,
         1.1859790918485, 1.02585693499391, 1.06504067847919]
DFBETAS = [-0.0402658891701639, -0.345862309951213, -0.159655276645787, -0.513813387319709, 0.271084262192489,
           -0.0192286805312358, -0.338703872105723, 0.471373883729409, 0.141892189166113, -0.348659750570534,
           0.233001917025957, 0.253522002519313, 0.354815829342827]


def test_influence_cov_ratio_dfbetas_and_flags_match_metafor():
    res = cf.influence(BCG, slab="trial")
    close(res.cov_ratio, COV_R, "cov_ratio")
    close(res.dfbetas[:, 0], DFBETAS, "dfbetas")
    assert not res.influential.any()
    assert list(res.slab) == list(BCG.trial)


# > influence(rma(yi, vi, data=dat, test="knha", control=ctl))$inf / $dfbs, first three studies
def test_influence_knha_matches_metafor():
    res = cf.influence(BCG, test="knha")
    close(res.dfbetas[:3, 0], [-0.0394270164406, -0.3445341787930, -0.1571261497453], "dfbetas")
    close(res.rstudent[:3], [-0.213597850408, -1.286829636919, -0.742764119170], "rstudent")
    close(res.dffits[:3], [-0.039859473556, -0.342268313288, -0.157821189645], "dffits")
    close(res.cooks_d[:3], [0.00169741156091, 0.11198760425391, 0.02569079648416], "cooks_d")
    close(res.cov_ratio[:3], [1.15148565411, 1.00665067873, 1.08934443419], "cov_ratio")


# > influence(rma(yi, vi, mods=~ablat, data=dat, control=ctl)), first four studies; no study flagged
def test_influence_with_moderators_matches_metafor():
    res = cf.influence(BCG, mods="~ ablat")
    close(res.dfbetas[:4, 0], [0.00650885157923, 0.14085964984132, 0.02990136972777, 0.26034979031557],
          "dfb0")
    close(res.dfbetas[:4, 1], [0.0223717991958, -0.1933376167522, -0.0677516827134, -0.4037081204270], "dfb1")
    close(res.rstudent[:4], [0.225873773193, -0.481929669244, -0.544191483087, -0.664450333546], "rstudent")
    close(res.dffits[:4], [0.0639729377955, -0.212663315871, -0.100729805067, -0.466590519169], "dffits")
    close(res.cooks_d[:4], [0.00480423588743, 0.0489041644097, 0.0103949578491, 0.249505130751], "cooks_d")
    close(res.cov_ratio[:4], [1.24400357679, 1.49046007256, 1.12919575957, 1.90201193352], "cov_ratio")
    close(res.hat[:4], [0.0490232949592, 0.149265842606, 0.0351420480338, 0.34810326642], "hat")
    close(res.weight[:4], [2.82286880188, 4.18782412952, 2.3074366588, 11.7748750473], "weight")
    assert not res.influential.any()
    assert res.to_frame().columns[-2:].tolist() == ["dfbetas_intrcpt", "dfbetas_ablat"]


def test_influential_flag_follows_metafor_rules():
    # normand1999 SMD: study 3 (rstudent -3.21, DFFITS -1.27 > 3 sqrt(1/8)) is metafor's only flagged study
    from conformance_cases import input_path, load_cases

    case = next(c for c in load_cases("influence") if c["id"] == "influence_normand1999_SMD")
    res = cf.influence(cf.read_table(input_path(case)))
    assert np.flatnonzero(res.influential).tolist() == [2]


# > cm <- cumul(res, order=dat$year); cbind(cm$estimate, cm$se, cm$tau2, cm$I2)
CUMUL = [
    (-0.889311333920205, 0.570600354892951, 0.0, 0.0),
    (-1.325003442244875, 0.348988772287383, 0.0, 0.0),
    (-0.972079931813254, 0.245463345292549, 0.0872067928387365, 40.7091050987494),
    (-1.001096174496205, 0.222284835267113, 0.0762623088687948, 33.9756362165583),
    (-1.101425785211241, 0.199665575172569, 0.0857551704918718, 48.4128268879407),
    (-0.973463894381975, 0.187655301688145, 0.1046041815641578, 60.0007890723498),
    (-0.901251100272631, 0.190738392985326, 0.1204597218593377, 59.9975614627678),
    (-0.788565503718831, 0.196951051080791, 0.1780273482668484, 72.3903628269257),
    (-0.865607438786438, 0.196253208782384, 0.2023350868966314, 73.5064569179256),
    (-0.785210367856669, 0.180143139440426, 0.2005458458156374, 81.4028370143013),
    (-0.708205992370622, 0.178384419410614, 0.2280919281686166, 83.0108675201996),
    (-0.794767604515522, 0.179877685980582, 0.2731829293866654, 87.0313627395745),
    (-0.714532342158140, 0.179781516105207, 0.3132432581364859, 92.2213845212691),
]


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


# > b <- baujat(res); b$x; b$y
BAUJAT_X = [0.0478183405467927, 1.4934114075928551, 0.5508753366657925, 1.5860500734646961,
            0.6777110311298381, 0.0160055560011056, 1.5319030625855072, 1.6638459497329090,
            0.1625233292089766, 1.1168477625427731, 0.4322210972249771, 1.5922385451031982,
            1.2637881718026482]
BAUJAT_Y = [0.001537500918463179, 0.112107073414489000, 0.024349046895046654, 0.237773641745260750,
            0.066985834997827787, 0.000333272180158999, 0.107909485433818009, 0.198964671902796014,
            0.018381621780552009, 0.111389615903809289, 0.048970640673485728, 0.061834563955091973,
            0.115312876242490189]


def test_baujat_matches_metafor():
    res = cf.baujat(BCG)
    close(res.x, BAUJAT_X, "x")
    close(res.y, BAUJAT_Y, "y")
    assert res.to_frame().columns.tolist() == ["slab", "x", "y"]


# > l1 <- leave1out(res); cbind(l1$estimate, l1$se, l1$tau2, l1$I2, l1$Q), first three studies
def test_leave_one_out_matches_metafor():
    res = cf.leave_one_out(BCG)
    close(res.estimate[:3], [-0.707083784699262, -0.654031200293526, -0.685554410836618], "estimate")
    close(res.se[:3], [0.189961014528878, 0.180695386232994, 0.185706196739523], "se")
    close(res.tau2[:3], [0.336156701803671, 0.292583083996311, 0.320737929649056], "tau2")
    close(res.i2[:3], [93.2259340939757, 92.2539554674382, 92.9354117977666], "i2")
    close(res.q[:3], [151.5825727471086, 145.3176076702088, 150.1970444579526], "q")


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
