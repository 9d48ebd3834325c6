"""Three-level model (models/multilevel.py): extra metafor references, the O(k) algebra against dense
matrices, a simulation, degenerate inputs and the result contract.

Reference numbers: R 4.2.2, metafor 3.8-1 (``control = list(rel.tol = 1e-10)``), written by
tests/reference/multilevel.R; the call is given beside each block.
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import BoundaryWarning, DroppedRowsWarning, InputError
from commonfactors.io import read_raw, read_table
from commonfactors.models.multilevel import Blocks, evaluate, fit_sigma2
from conformance_cases import HERE
from reference import load
from tolerances import (
    ALGEBRA_ATOL,
    ALGEBRA_RTOL,
    IDENTITY_RTOL,
    METAFOR_BOUNDARY_ATOL,
    METAFOR_RTOL,
    R_CLOSED_FORM_RTOL,
    assert_agrees,
    printed,
)

RTOL = METAFOR_RTOL["multilevel"]

# d <- data.frame(yi = c(0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8),
#                 vi = c(0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03),
#                 cl = c(1, 1, 2, 2, 3, 3, 4, 4), x = c(1, 3, 2, 5, 4, 4, 7, 6)); d$es <- 1:8
SMALL = pd.DataFrame(
    {
        "yi": [0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8],
        "vi": [0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03],
        "cl": [1, 1, 2, 2, 3, 3, 4, 4],
        "x": [1, 3, 2, 5, 4, 4, 7, 6],
    }
)

REFERENCE = load("multilevel")
# m <- rma.mv(yi, vi, random = ~ 1 | cl/es, data = d, method = METHOD, control = list(rel.tol = 1e-10))
# c(m$b, m$se, m$zval, m$pval, m$ci.lb, m$ci.ub, m$sigma2, logLik(m), m$QE)
SMALL_R = REFERENCE["small"]


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_small_example_matches_metafor(method):
    got = cf.multilevel_meta_analysis(SMALL, cluster="cl", method=method).to_dict()
    expected = {"k": 8, "n_clusters": 4, **SMALL_R[method], "warnings": []}
    assert set(got) == set(expected) | {"warnings"}
    for field, value in expected.items():
        assert_agrees(got[field], value, rtol=RTOL, what=field)


def test_ml_with_moderator_at_the_boundary_matches_metafor():
    # m <- rma.mv(yi, vi, mods = ~ x, random = ~ 1 | cl/es, data = d, method = "ML",
    #             control = list(rel.tol = 1e-10))
    # c(m$b, m$se, m$zval, m$pval, m$ci.lb, m$ci.ub, m$QM, m$QMp, m$sigma2, logLik(m), m$QE)
    with pytest.warns(BoundaryWarning, match="sigma2_1 is estimated at 0"):
        got = cf.multilevel_meta_analysis(SMALL, cluster="cl", mods="~ x", method="ML").to_dict()
    expected = REFERENCE["small_ml_x"]
    coefs = [[c[f] for f in ("estimate", "se", "stat", "pval", "ci_low", "ci_high")]
             for c in expected["coefficients"]]
    # metafor stops at sigma2_1 = 1.8e-12 on its log scale (loglik 1.37976210937091); ours is the boundary
    # value 0 itself (loglik 1.3797621094894, higher), which moves the slope's CI bound 0.000836 by 2e-8
    for c, (b, se, z, p, lo, hi) in zip(got["coefficients"], coefs, strict=True):
        assert_agrees(
            [c["estimate"], c["se"], c["stat"], c["pval"], c["ci_low"], c["ci_high"]],
            [b, se, z, p, lo, hi],
            rtol=RTOL,
            atol=METAFOR_BOUNDARY_ATOL,
            what=c["name"],
        )
    assert [c["name"] for c in got["coefficients"]] == ["intrcpt", "x"]
    assert_agrees(got["qm"], expected["qm"], rtol=RTOL, what="qm")
    assert got["qm_df"] == 1
    assert_agrees(got["qm_pval"], expected["qm_pval"], rtol=RTOL, what="qm_pval")
    assert_agrees(got["sigma2"], expected["sigma2"], rtol=RTOL, atol=1e-10, what="sigma2")
    assert_agrees(got["loglik"], expected["loglik"], rtol=RTOL, what="loglik")
    assert_agrees(got["qe"], expected["qe"], rtol=RTOL, what="qe")
    assert got["k"] == 8 and got["n_clusters"] == 4


def test_t_test_with_dropped_moderator_rows_matches_metafor():
    # k <- read.csv("ml_knapp2017.csv")   (9 rows have no difficulty: metafor omits them)
    # m <- rma.mv(yi, vi, mods = ~ difficulty, random = ~ 1 | cluster/within, data = k, method = "REML",
    #             test = "t", control = list(rel.tol = 1e-10))
    data = read_table(HERE / "inputs" / "ml_knapp2017.csv")
    dropped = r"9 studies with a missing moderator omitted \(rows 9, 10, 20,"
    with pytest.warns(BoundaryWarning), pytest.warns(DroppedRowsWarning, match=dropped):
        res = cf.multilevel_meta_analysis(
            data, cluster="cluster", within="within", mods="~ difficulty", test="t"
        )
    got = res.to_dict()
    reference = REFERENCE["knapp2017_difficulty_t"]
    assert got["k"] == reference["k"] and got["n_clusters"] == reference["n_clusters"]
    expected = [[c[f] for f in ("estimate", "se", "stat", "pval", "ci_low", "ci_high")]
                for c in reference["coefficients"]]
    for c, e in zip(got["coefficients"], expected, strict=True):
        assert_agrees(
            [c["estimate"], c["se"], c["stat"], c["pval"], c["ci_low"], c["ci_high"]],
            e,
            rtol=RTOL,
            what=c["name"],
        )
    # c(m$QM, m$QMdf, m$QMp, m$sigma2, logLik(m), m$QE)
    assert_agrees(got["qm"], reference["qm"], rtol=RTOL, what="qm")
    assert got["qm_df"] == reference["qm_df"]
    assert_agrees(got["qm_pval"], reference["qm_pval"], rtol=RTOL, what="qm_pval")
    # metafor: sigma2_2 = 3.0e-10 (its log-scale optimiser's floor); ours is exactly 0 with a BoundaryWarning
    assert_agrees(got["sigma2"], reference["sigma2"], rtol=RTOL, atol=1e-9, what="sigma2")
    assert_agrees(got["loglik"], reference["loglik"], rtol=RTOL, what="loglik")
    assert_agrees(got["qe"], reference["qe"], rtol=RTOL, what="qe")
    assert any("sigma2_2 is estimated at 0" in w for w in got["warnings"])


def test_aggregate_matches_metafor():
    # a <- escalc(measure = "GEN", yi = yi, vi = vi, data = read.csv("ml_assink2016.csv"))
    # ag <- aggregate(a, cluster = cluster, struct = "CS", rho = 0.6, addk = TRUE)   # and weighted = FALSE
    # cbind(ag$cluster, ag$ki, ag$yi, ag$vi)[c(1, 4, 11, 16), ]
    reference = REFERENCE["assink2016_aggregate_cs_rho06"]
    data = read_table(HERE / "inputs" / "ml_assink2016.csv")
    weighted = cf.aggregate_effects(data, cluster="cluster", rho=0.6)
    simple = cf.aggregate_effects(data, cluster="cluster", rho=0.6, weighted=False)
    assert list(weighted.columns) == ["cluster", "yi", "vi", "ki"] and len(weighted) == 17
    rows = [0, 3, 10, 15]
    assert weighted["cluster"].iloc[rows].tolist() == reference["weighted"]["cluster"]
    assert weighted["ki"].iloc[rows].tolist() == reference["weighted"]["ki"]
    for name, got in (("weighted", weighted), ("simple", simple)):
        for field in ("yi", "vi"):
            assert_agrees(got[field].iloc[rows].tolist(), reference[name][field], rtol=R_CLOSED_FORM_RTOL,
                          what=field)


def test_aggregate_rejects_a_correlation_that_is_not_positive_definite():
    with pytest.raises(InputError, match=r"rho=-0.6 makes the covariance of the 3 effects in cluster a"):
        cf.aggregate_effects(cluster=["a", "a", "a", "b"], yi=[1, 2, 3, 4], vi=[1, 1, 1, 1], rho=-0.6)
    with pytest.raises(InputError, match=r"rho=2"):
        cf.aggregate_effects(cluster=["a", "b"], yi=[1, 2], vi=[1, 1], rho=2)


# --- the O(k) algebra against dense k x k matrices --------------------------------------------------------


def _dense(sigma2, y, v, X, codes, reml):
    """Textbook formulas with explicit V, V^{-1} and P (Harville, 1977)."""
    Z = (codes[:, None] == np.unique(codes)[None, :]).astype(float)
    V1, V2 = Z @ Z.T, np.eye(len(y))
    V = np.diag(v) + sigma2[0] * V1 + sigma2[1] * V2
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    beta = np.linalg.solve(XVX, X.T @ Vi @ y)
    r = y - X @ beta
    k, p = X.shape
    P = Vi - Vi @ X @ np.linalg.inv(XVX) @ X.T @ Vi if reml else Vi
    ll = -0.5 * (np.linalg.slogdet(V)[1] + r @ Vi @ r)
    if reml:
        ll += -0.5 * (
            (k - p) * math.log(2 * math.pi) + np.linalg.slogdet(XVX)[1] - np.linalg.slogdet(X.T @ X)[1]
        )
    else:
        ll += -0.5 * k * math.log(2 * math.pi)
    Py = P @ y if reml else Vi @ r
    Vs = (V1, V2)
    grad = [-0.5 * np.trace(P @ A) + 0.5 * Py @ A @ Py for A in Vs]
    hess = [[0.5 * np.trace(P @ A @ P @ B) - Py @ A @ P @ B @ Py for B in Vs] for A in Vs]
    return ll, np.array(grad), np.array(hess), beta, np.linalg.inv(XVX)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("p", [1, 3])
def test_block_algebra_equals_dense_matrices(reml, p):
    rng = np.random.default_rng(7)
    codes = np.sort(rng.integers(0, 9, 40))
    y, v = rng.normal(size=40), rng.uniform(0.01, 0.2, 40)
    X = np.column_stack([np.ones(40), rng.normal(size=(40, p - 1))])
    sigma2 = np.array([0.07, 0.02])
    ev = evaluate(
        sigma2,
        y,
        v,
        X,
        Blocks.from_sorted_codes(codes),
        reml=reml,
        logdet_xx=np.linalg.slogdet(X.T @ X)[1] if reml else 0.0,
    )
    ll, grad, hess, beta, M = _dense(sigma2, y, v, X, codes, reml)
    assert_agrees(ev.loglik, ll, rtol=IDENTITY_RTOL, what="loglik")
    assert_agrees(ev.grad.tolist(), grad.tolist(), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL, what="gradient")
    assert_agrees(ev.hess.tolist(), hess.tolist(), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL, what="hessian")
    assert_agrees(ev.beta.tolist(), beta.tolist(), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL, what="beta")
    assert_agrees(ev.M.tolist(), M.tolist(), rtol=ALGEBRA_RTOL, atol=ALGEBRA_ATOL, what="M")


def test_row_order_does_not_matter():
    perm = [5, 2, 7, 0, 3, 6, 1, 4]
    with pytest.warns(BoundaryWarning, match="sigma2_1 is estimated at 0"):  # as metafor's 1e-12 with ~ x
        a = cf.multilevel_meta_analysis(SMALL, cluster="cl", mods="~ x", robust="cr2").to_dict()
        b = cf.multilevel_meta_analysis(SMALL.iloc[perm], cluster="cl", mods="~ x", robust="cr2").to_dict()
    assert_agrees(b, a, rtol=ALGEBRA_RTOL, what="permuted rows")


def test_raw_table_sei_and_arrays_give_the_same_fit(tmp_path):
    path = tmp_path / "d.csv"
    SMALL.assign(sei=np.sqrt(SMALL["vi"])).to_csv(path, index=False)
    with pytest.warns(BoundaryWarning, match="sigma2_1 is estimated at 0"):
        base = cf.multilevel_meta_analysis(SMALL, cluster="cl", mods="~ x").to_dict()
        raw = cf.multilevel_meta_analysis(read_raw(path), cluster="cl", mods="~ x").to_dict()
        sei = cf.multilevel_meta_analysis(read_table(path), sei="sei", cluster="cl", mods="~ x").to_dict()
        arrays = cf.multilevel_meta_analysis(
            yi=SMALL["yi"].to_numpy(),
            vi=SMALL["vi"].to_numpy(),
            cluster=SMALL["cl"].to_numpy(),
            mods=SMALL["x"].to_numpy(),
        ).to_dict()
    arrays["coefficients"][1]["name"] = "x"  # bare arrays are named mod1, mod2, ...
    for other in (raw, sei, arrays):
        assert_agrees(other, base, rtol=IDENTITY_RTOL, what="same data")


# --- simulation -------------------------------------------------------------------------------------------


def test_reml_recovers_known_variance_components():
    """Data simulated from the model (seed 20240601): each REML estimate lies within 3 of its
    standard errors (inverse Fisher information) of the truth, and the fit reports convergence."""
    rng = np.random.default_rng(20240601)
    n, mu, s1, s2 = 1500, 0.4, 0.05, 0.02
    sizes = rng.integers(1, 7, n)
    codes = np.repeat(np.arange(n), sizes)
    k = codes.shape[0]
    v = rng.uniform(0.005, 0.08, k)
    y = (
        mu
        + rng.normal(0, math.sqrt(s1), n)[codes]
        + rng.normal(0, math.sqrt(s2), k)
        + rng.normal(0, np.sqrt(v))
    )
    fit = fit_sigma2(y, v, np.ones((k, 1)), Blocks.from_sorted_codes(codes), reml=True)
    assert fit.converged
    se = np.sqrt(np.diag(np.linalg.inv(fit.ev.info)))
    assert np.all(np.abs(fit.ev.sigma2 - [s1, s2]) < 3 * se), (fit.ev.sigma2, se)
    res = cf.multilevel_meta_analysis(yi=y, vi=v, cluster=codes)
    assert abs(res.estimate - mu) < 3 * res.se
    assert res.sigma2 == tuple(fit.ev.sigma2)


# --- degenerate inputs ------------------------------------------------------------------------------------


def test_all_equal_effects_give_zero_variances_with_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.multilevel_meta_analysis(
            yi=[0.3] * 6, vi=[0.1, 0.2, 0.1, 0.3, 0.1, 0.2], cluster=[1, 1, 2, 2, 3, 3]
        )
    assert res.sigma2 == (0.0, 0.0)
    assert res.estimate == pytest.approx(0.3, rel=IDENTITY_RTOL)
    assert res.se == pytest.approx(
        1 / math.sqrt(10 + 5 + 10 + 10 / 3 + 10 + 5), rel=IDENTITY_RTOL
    )  # 1/sqrt(sum 1/vi)
    assert all(math.isfinite(x) for x in (res.loglik, res.q, res.coefficients[0].pval))
    assert [c.category for c in caught] == [BoundaryWarning, BoundaryWarning]
    assert len(res.warnings) == 2


def test_one_cluster_is_a_clear_error():
    with pytest.raises(
        InputError, match="all 4 effects are in one cluster; expected effects from at least two"
    ):
        cf.multilevel_meta_analysis(yi=[0.3, 0.1, 0.5, 0.2], vi=[0.1, 0.2, 0.1, 0.3], cluster=[1, 1, 1, 1])


def test_clusters_of_one_effect_each_are_a_clear_error():
    with pytest.raises(InputError, match="each of the 4 clusters holds a single effect"):
        cf.multilevel_meta_analysis(yi=[0.3, 0.1, 0.5, 0.2], vi=[0.1, 0.2, 0.1, 0.3], cluster=[1, 2, 3, 4])


def test_some_clusters_of_one_effect_are_fine():
    with pytest.warns(BoundaryWarning, match="sigma2_2 is estimated at 0"):
        res = cf.multilevel_meta_analysis(
            yi=[0.3, 0.1, 0.5, 0.2, 0.9], vi=[0.1, 0.2, 0.1, 0.3, 0.1], cluster=["a", "a", "b", "b", "c"]
        )
    assert res.n_clusters == 3 and res.k == 5 and math.isfinite(res.se)


def test_repeated_within_label_names_the_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("yi,vi,study,es\n0.1,0.1,1,1\n0.2,0.1,1,2\n0.3,0.1,2,1\n0.4,0.1,2,1\n")
    with pytest.raises(InputError, match=r"d.csv, row 5, column 'es': repeats the within label of row 4"):
        cf.multilevel_meta_analysis(read_raw(path), cluster="study", within="es")


def test_missing_cluster_rows_are_dropped_and_named(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("yi,vi,study\n0.1,0.1,1\n0.2,0.1,1\n0.3,0.1,NA\n0.4,0.2,2\n0.5,0.1,2\n0.0,0.1,\n")
    dropped = r"2 studies with a missing study omitted \(rows 4, 7\)"
    with pytest.warns(BoundaryWarning), pytest.warns(DroppedRowsWarning, match=dropped):
        res = cf.multilevel_meta_analysis(read_raw(path), cluster="study")
    assert res.k == 4 and res.n_clusters == 2


def test_missing_column_and_bad_options():
    with pytest.raises(InputError, match="no column 'clster'; expected the cluster column"):
        cf.multilevel_meta_analysis(SMALL, cluster="clster")
    with pytest.raises(InputError, match="method='DL'"):
        cf.multilevel_meta_analysis(SMALL, cluster="cl", method="DL")
    with pytest.raises(InputError, match="test='knha'"):
        cf.multilevel_meta_analysis(SMALL, cluster="cl", test="knha")
    with pytest.raises(InputError, match="level=100 is not between 0 and 100"):
        cf.multilevel_meta_analysis(SMALL, cluster="cl", level=100)
    with pytest.raises(InputError, match="robust='cr1'"):
        cf.multilevel_meta_analysis(SMALL, cluster="cl", robust="cr1")
    with pytest.raises(InputError, match="cluster has shape"):
        cf.multilevel_meta_analysis(yi=[0.1, 0.2], vi=[0.1, 0.1], cluster=[1])


def test_no_more_effects_than_coefficients_is_a_clear_error():
    with pytest.raises(InputError, match="3 effects for 3 coefficients"):
        cf.multilevel_meta_analysis(
            yi=[0.1, 0.2, 0.4], vi=[0.1, 0.1, 0.1], cluster=[1, 1, 2], mods=[[1, 0], [2, 1], [4, 5]]
        )


# --- the result contract ----------------------------------------------------------------------------------


def test_result_contract():
    res = cf.multilevel_meta_analysis(SMALL, cluster="cl", robust="cr2")
    assert isinstance(res.summary(), Summary)
    text = str(res.summary())
    assert text.startswith("Multivariate Meta-Analysis Model (k = 8; method: REML)")
    for piece in (
        "sigma^2.1  0.0427  0.2067      4     no         cl",
        "sigma^2.2  0.0033  0.0571      8     no  cl/within",
        "Q(df = 7) = 16.4002, p-val = 0.0217",
        "var-cov estimator: CR2",
    ):
        assert piece in text
    assert repr(res) == text
    assert list(res.to_dict()) == [
        "k",
        "n_clusters",
        "estimate",
        "se",
        "stat",
        "pval",
        "ci_low",
        "ci_high",
        "sigma2",
        "loglik",
        "q",
        "robust",
        "warnings",
    ]
    assert list(res.to_dict()["robust"]) == ["se", "df", "ci_low", "ci_high", "pval"]
    frame = res.to_frame()
    assert list(frame.columns) == [
        "name",
        "estimate",
        "se",
        "stat",
        "pval",
        "ci_low",
        "ci_high",
        "robust_se",
        "robust_df",
        "robust_pval",
        "robust_ci_low",
        "robust_ci_high",
    ]
    assert frame["estimate"].iloc[0] == res.estimate


def test_result_contract_with_moderators():
    with pytest.warns(BoundaryWarning, match="sigma2_1 is estimated at 0"):
        res = cf.multilevel_meta_analysis(SMALL, cluster="cl", mods="~ x", robust="cr2")
    d = res.to_dict()
    assert list(d) == [
        "k",
        "n_clusters",
        "coefficients",
        "qm",
        "qm_df",
        "qm_pval",
        "sigma2",
        "loglik",
        "qe",
        "robust",
        "warnings",
    ]
    assert list(d["coefficients"][0]) == ["name", "estimate", "se", "stat", "pval", "ci_low", "ci_high"]
    assert list(d["robust"]) == ["coefficients", "qm", "qm_df", "qm_pval"]
    assert "Test of Moderators (coefficient 2):" in str(res.summary())
    # logLik, AIC, BIC, AICc as metafor's fitstats() (REML: k - p observations; 2 + p parameters)
    stats = res.fit_statistics()
    dev = -2 * res.loglik
    assert stats["AIC"] == pytest.approx(dev + 8)
    assert stats["BIC"] == pytest.approx(dev + 4 * math.log(6))
    assert stats["AICc"] == pytest.approx(dev + 8 * 6 / (6 - 4 - 1))


def test_fit_statistics_match_metafor():
    # fitstats(rma.mv(yi, vi, random = ~ 1 | cluster/within, data = assink, method = "REML", ...)):
    # logLik, AIC, BIC, AICc to 8 decimals
    res = cf.multilevel_meta_analysis(read_table(HERE / "inputs" / "ml_assink2016.csv"), cluster="cluster")
    assert_agrees(
        list(res.fit_statistics().values()),
        REFERENCE["assink2016_fitstats"],
        rtol=0,
        atol=printed(8),  # as metafor prints them
        what="fitstats",
    )


def test_heterogeneity_p_value_below_the_printed_precision_is_printed_as_metafor():
    # print(rma.mv(yi, vi, random = ~ 1 | cluster/within, data = assink, method = "REML")), metafor 3.8-1:
    # the line of the test for heterogeneity, "p-val < .0001"
    res = cf.multilevel_meta_analysis(read_table(HERE / "inputs" / "ml_assink2016.csv"), cluster="cluster")
    assert REFERENCE["assink2016_printed_q"] in str(res.summary()).splitlines()


def test_non_convergence_is_reported():
    from commonfactors.errors import ConvergenceWarning
    from commonfactors.models.multilevel import _fit_warnings

    codes = np.repeat(np.arange(4), 2)
    y, v = SMALL["yi"].to_numpy(), SMALL["vi"].to_numpy()
    fit = fit_sigma2(y, v, np.ones((8, 1)), Blocks.from_sorted_codes(codes), reml=True, maxiter=1)
    assert not fit.converged
    with pytest.warns(BoundaryWarning), pytest.warns(ConvergenceWarning, match="did not converge in 1 iter"):
        notes = _fit_warnings(fit)
    assert notes[0] == "the likelihood optimisation did not converge in 1 iterations"
