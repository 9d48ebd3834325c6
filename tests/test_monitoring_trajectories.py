"""Expected-change curves and not-on-track bounds (commonfactors.monitoring.trajectories).

Reference: tests/reference/monitoring.R fits ``ors ~ intake * log(session) + (1 + log(session) | client)``
with lme4 1.1.31 (REML, bobyqa) to the scores after intake of tests/data/monitoring_ors.csv (synthetic,
seeded) and computes every score's prediction from intake and the client's earlier scores with the n x n
conditional normal formulas written out in R (no push-through identity), including the fixed effects'
sampling variance.
"""

import math

import numpy as np
import pandas as pd
import pytest

from commonfactors.monitoring import trajectories
from commonfactors.monitoring.trajectories import CurveModel, fit_curves, predict
from reference import HERE, load

R = load("monitoring")
DATA = pd.read_csv(HERE.parent / "data" / "monitoring_ors.csv")


def _after_intake():
    d = DATA.sort_values(["client", "session"]).copy()
    d["intake"] = d.groupby("client").ors.transform("first")
    return d[d.session > 1]


def _r_model() -> CurveModel:
    f = R["fit"]
    return CurveModel(beta=np.array(f["beta"]), cov_beta=np.array(f["vcov"]), G=np.array(f["G"]),
                      sigma2=f["sigma2"])


def test_the_bounds_equal_the_conditional_normal_written_in_r():
    """With lme4's estimates plugged in, the push-through formulas give R's n x n results to rounding."""
    p = _after_intake()
    pred = predict(_r_model(), p.intake, p.session, p.ors, p.client, alpha=R["alpha"])
    ref = R["predictions"]
    assert list(p.client) == ref["client"] and list(p.session) == ref["session"]
    for name in ("expected", "sd", "bound", "population"):
        np.testing.assert_allclose(getattr(pred, name), ref[name], rtol=1e-12, err_msg=name)
    np.testing.assert_array_equal(pred.off_track, np.array(ref["score"]) < np.array(ref["bound"]))


def test_the_fit_equals_lme4():
    p = _after_intake()
    codes = np.unique(p.client, return_inverse=True)[1]
    model = fit_curves(p.intake, p.session, p.ors, codes)
    f = R["fit"]
    assert model.n == f["n"] and model.m == f["n_clients"] and not model.singular
    assert model.reml_crit == pytest.approx(f["reml_crit"], rel=1e-8)
    np.testing.assert_allclose(model.beta, f["beta"], rtol=1e-6)
    np.testing.assert_allclose(model.G, f["G"], rtol=1e-5)
    assert model.sigma2 == pytest.approx(f["sigma2"], rel=1e-6)
    np.testing.assert_allclose(model.cov_beta, f["vcov"], rtol=1e-5)
    pred = predict(model, p.intake, p.session, p.ors, p.client, alpha=R["alpha"])
    np.testing.assert_allclose(pred.bound, R["predictions"]["bound"], rtol=1e-6)


def test_a_hand_made_case():
    """G = diag(4, 0), sigma2 = 4, beta = (0, 1, 0, 0), no fixed-effect uncertainty: expected = intake
    before any earlier score, var = 4 + 4; after one earlier residual r, b = 4 r / (4 + 4) and
    var = 4 + (4 - 16 / 8) = 6."""
    model = CurveModel(beta=np.array([0.0, 1.0, 0.0, 0.0]), cov_beta=np.zeros((4, 4)),
                       G=np.diag([4.0, 0.0]), sigma2=4.0)
    z = 1.2815515655446004  # qnorm(0.90)
    pred = predict(model, [20, 20, 20], [2, 3, 4], [17, 14, 20], ["a", "a", "a"], alpha=0.10)
    assert pred.expected[0] == pytest.approx(20) and pred.sd[0] == pytest.approx(math.sqrt(8))
    assert pred.bound[0] == pytest.approx(20 - z * math.sqrt(8))
    assert not pred.off_track[0]  # 17 > 16.375
    assert pred.expected[1] == pytest.approx(20 - 3 / 2) and pred.sd[1] == pytest.approx(math.sqrt(6))
    assert pred.off_track[1]  # 14 < 18.5 - 3.139
    # two earlier residuals -3, -6: b = 4 * (-9) / (4 + 2 * 4), var(b) = 4 - 4 * 2 * 4 / (4 + 2 * 4)
    assert pred.expected[2] == pytest.approx(20 - 36 / 12)
    assert pred.sd[2] == pytest.approx(math.sqrt(4 + 4 - 32 / 12))
    # lower is better: the bound is above the expected score
    low = predict(model, [20, 20], [2, 2], [23, 24], ["a", "b"], alpha=0.10, higher_is_better=False)
    assert low.bound[0] == pytest.approx(20 + z * math.sqrt(8)) and list(low.off_track) == [False, True]


def test_rows_in_any_order_give_the_same_predictions():
    p = _after_intake()
    shuffled = p.sample(frac=1.0, random_state=3)
    a = predict(_r_model(), p.intake, p.session, p.ors, p.client)
    b = predict(_r_model(), shuffled.intake, shuffled.session, shuffled.ors, shuffled.client)
    order = pd.Series(np.arange(len(p)), index=p.index)[shuffled.index].to_numpy()
    np.testing.assert_allclose(b.bound, a.bound[order], rtol=1e-13)


def test_the_design_is_lme4s():
    assert trajectories.FIXED_NAMES == ("(Intercept)", "intake", "log(session)", "intake:log(session)")
    X = trajectories.design(np.array([10.0]), np.array([np.e]))
    np.testing.assert_allclose(X, [[1, 10, 1, 10]])
