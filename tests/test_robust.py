"""Cluster-robust inference (models/robust.py): CR2, Satterthwaite df and the HTZ test.

References: metafor 3.8-1 ``robust(m, cluster = ..., clubSandwich = TRUE)`` with clubSandwich 0.5.8, by
tests/reference/robust.R (the calls; models fitted with ``control = list(rel.tol = 1e-10)``) into
tests/reference/robust.json, and the textbook formulas computed with dense matrices (Bell & McCaffrey,
2002, Survey Methodology 28(2), 169-181; Pustejovsky & Tipton, 2018, J. Bus. Econ. Stat. 36(4), 672-683;
Tipton & Pustejovsky, 2015, J. Educ. Behav. Stat. 40(6), 604-634).
"""

import math

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import BoundaryWarning, CommonFactorsWarning, DroppedRowsWarning, SmallKWarning
from commonfactors.io import read_table
from commonfactors.models.multilevel import Blocks, evaluate
from commonfactors.models.robust import cr2
from conformance_cases import HERE
from reference import load
from tolerances import ALGEBRA_RTOL, CR2_ALGEBRA_RTOL, IDENTITY_RTOL, METAFOR_RTOL_FIELD, assert_agrees

RTOL = METAFOR_RTOL_FIELD["robust"]
REFERENCE = load("robust")

SMALL = pd.DataFrame(
    {
        "yi": [0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8],
        "vi": [0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03],
        "cl": [1, 1, 2, 2, 3, 3, 4, 4],
    }
)


# m <- rma.mv(yi, vi, random = ~ 1 | cl/es, data = d, method = METHOD); robust(m, cluster = d$cl,
# clubSandwich = TRUE)   (d as in tests/test_multilevel.py)
@pytest.mark.parametrize(
    "method, expected",
    [(m, [r[f] for f in ("se", "df", "pval", "ci_low", "ci_high")]) for m, r in REFERENCE["small"].items()],
)
def test_small_example_matches_clubsandwich(method, expected):
    got = cf.multilevel_meta_analysis(SMALL, cluster="cl", method=method, robust="cr2").to_dict()["robust"]
    se, df, pval, lo, hi = expected
    assert_agrees(
        got, {"se": se, "df": df, "ci_low": lo, "ci_high": hi, "pval": pval}, rtol=RTOL, what=method
    )


def test_moderator_with_dropped_rows_matches_clubsandwich():
    # robust(rma.mv(yi, vi, mods = ~ difficulty, random = ~ 1 | cluster/within, test = "t"), ...): metafor
    # drops the 9 rows without difficulty; the fit has sigma2_2 at the boundary
    data = read_table(HERE / "inputs" / "ml_knapp2017.csv")
    with pytest.warns(DroppedRowsWarning), pytest.warns(BoundaryWarning):
        res = cf.multilevel_meta_analysis(
            data, cluster="cluster", within="within", mods="~ difficulty", test="t", robust="cr2"
        )
    expected = REFERENCE["knapp2017_difficulty"]
    assert_agrees(res.to_dict()["robust"], expected, rtol=RTOL, what="robust")


def test_htz_with_one_moderator_is_the_squared_satterthwaite_t_test():
    """For q = 1 the HTZ F test reduces to the square of the Satterthwaite t test (Tipton & Pustejovsky,
    2015): F = t^2 with df2 = the coefficient's df."""
    data = read_table(HERE / "inputs" / "ml_assink2016.csv")
    rob = cf.multilevel_meta_analysis(data, cluster="cluster", mods="~ year", robust="cr2").robust
    slope = rob.coefficients[1]
    assert rob.qm == pytest.approx(slope.stat**2, rel=IDENTITY_RTOL)
    assert rob.qm_df == (1.0, pytest.approx(slope.df, rel=ALGEBRA_RTOL))
    assert rob.qm_pval == pytest.approx(slope.pval, rel=CR2_ALGEBRA_RTOL)


# --- the O(k) formulas against the textbook's dense matrices ---------------------------------------------


def _sym_power(A, power):
    """Symmetric power of a symmetric positive semi-definite matrix (pseudo-inverse for negative powers)."""
    ev, Q = np.linalg.eigh((A + A.T) / 2)
    keep = ev > 1e-12 * ev.max()
    root = np.zeros_like(ev)
    root[keep] = ev[keep] ** power
    return (Q * root) @ Q.T


def _dense_cr2(y, v, X, codes, sigma2):
    """CR2, Satterthwaite df and HTZ from their definitions with explicit k x k matrices."""
    k, p = X.shape
    Z = (codes[:, None] == np.unique(codes)[None, :]).astype(float)
    Phi = np.diag(v) + sigma2[0] * Z @ Z.T + sigma2[1] * np.eye(k)
    W = np.linalg.inv(Phi)
    M = np.linalg.inv(X.T @ W @ X)
    beta = M @ X.T @ W @ y
    IH = np.eye(k) - X @ M @ X.T @ W
    e = IH @ y
    clusters = [np.flatnonzero(codes == c) for c in np.unique(codes)]
    AWX = []
    for idx in clusters:
        D = _sym_power(Phi[np.ix_(idx, idx)], 0.5)  # any D with D'D = Phi_j gives the same A_j
        B = D @ IH[idx] @ Phi @ IH[idx].T @ D
        A = D @ _sym_power(B, -0.5) @ D
        AWX.append(A @ W[np.ix_(idx, idx)] @ X[idx])
    meat = sum(np.outer(T.T @ e[idx], T.T @ e[idx]) for T, idx in zip(AWX, clusters, strict=True))
    vcr = M @ meat @ M

    def g_vectors(c):  # y' G y = c' V^CR2 c with G = sum_j g_j g_j'
        return [IH[idx].T @ (T @ M @ c) for T, idx in zip(AWX, clusters, strict=True)]

    dfs = []
    for s in range(p):
        g = np.array(g_vectors(np.eye(p)[s]))
        omega = g @ Phi @ g.T
        dfs.append(np.trace(omega) ** 2 / np.sum(omega**2))
    q = p - 1
    C = np.eye(p)[1:]
    gs = [np.array(g_vectors(c)) for c in C]
    E = np.array([[np.trace(gs[s] @ Phi @ gs[t].T) for t in range(q)] for s in range(q)])
    Cs = _sym_power(E, -0.5) @ C
    hs = [np.array(g_vectors(c)) for c in Cs]
    total = 0.0
    for s in range(q):
        for t in range(q):
            A = (hs[s].T @ hs[t] + hs[t].T @ hs[s]) / 2  # d_st = y' A y
            total += 2 * np.trace(A @ Phi @ A @ Phi)  # Var(y'Ay) = 2 tr(A Phi A Phi) for normal y
    eta = q * (q + 1) / total
    wald = beta[1:] @ np.linalg.solve(vcr[1:, 1:], beta[1:])
    return np.sqrt(np.diag(vcr)), np.array(dfs), (eta - q + 1) / (eta * q) * wald, eta - q + 1


@pytest.mark.parametrize("one_cluster_category", [False, True])
def test_cr2_equals_the_dense_definitions(one_cluster_category):
    """Includes a category present in one cluster only, where some B_j are singular (pseudo-inverse)."""
    rng = np.random.default_rng(11)
    codes = np.sort(rng.integers(0, 7, 36))
    k = codes.shape[0]
    y, v = rng.normal(size=k), rng.uniform(0.01, 0.2, k)
    third = (codes == 3).astype(float) if one_cluster_category else rng.normal(size=k)
    X = np.column_stack([np.ones(k), rng.normal(size=k), third])
    sigma2 = np.array([0.05, 0.03])
    blocks = Blocks.from_sorted_codes(codes)
    ev = evaluate(sigma2, y, v, X, blocks, reml=True, logdet_xx=0.0)
    rob = cr2(y, v, X, blocks, sigma2, ev.beta, ev.M, names=("a", "b", "c"), level=95)
    se, dfs, F, df2 = _dense_cr2(y, v, X, codes, sigma2)
    assert_agrees([c.se for c in rob.coefficients], se.tolist(), rtol=CR2_ALGEBRA_RTOL, what="se")
    assert_agrees([c.df for c in rob.coefficients], dfs.tolist(), rtol=CR2_ALGEBRA_RTOL, what="df")
    assert_agrees(rob.qm, F, rtol=CR2_ALGEBRA_RTOL, what="HTZ F")
    assert_agrees(rob.qm_df[1], df2, rtol=CR2_ALGEBRA_RTOL, what="HTZ df2")


# --- degenerate inputs --------------------------------------------------------------------------------------


def test_perfect_fit_gives_zero_robust_se_with_a_warning():
    x = np.arange(1.0, 7.0)
    with pytest.warns(BoundaryWarning), pytest.warns(CommonFactorsWarning, match="fits every effect exactly"):
        res = cf.multilevel_meta_analysis(
            yi=0.1 + 0.2 * x,
            vi=[0.1, 0.2, 0.1, 0.3, 0.1, 0.2],
            cluster=[1, 1, 2, 2, 3, 3],
            mods=x,
            robust="cr2",
        )
    rob = res.to_dict()["robust"]
    assert [c["se"] for c in rob["coefficients"]] == [0.0, 0.0]
    assert rob["qm"] is None and rob["qm_pval"] is None
    assert any("fits every effect exactly" in w for w in res.warnings)


def test_htz_undefined_with_too_few_clusters_is_na_with_a_warning():
    rng = np.random.default_rng(0)
    codes = np.repeat([1, 2, 3], 4)
    with pytest.warns(SmallKWarning, match="HTZ test of the moderators is not defined with 3 clusters for 4"):
        res = cf.multilevel_meta_analysis(
            yi=rng.normal(size=12),
            vi=rng.uniform(0.01, 0.1, 12),
            cluster=codes,
            mods=rng.normal(size=(12, 3)),
            robust="cr2",
        )
    rob = res.to_dict()["robust"]
    assert rob["qm"] is None and rob["qm_pval"] is None and rob["qm_df"][1] <= 0
    assert all(math.isfinite(c["df"]) for c in rob["coefficients"])
