"""Cluster-robust inference for the three-level model: CR2 with Satterthwaite df and the HTZ test.

Notation (Pustejovsky & Tipton, 2018, J. Bus. Econ. Stat. 36(4), 672-683, sec. 2-3): the working model
has weights W = V^{-1} (the fitted marginal covariance, block-diagonal by cluster) and working covariance
Phi = V, so M = (X'WX)^{-1} and the residual-maker's cluster blocks satisfy
(I - H)_j Phi (I - H)_j' = V_j - X_j M X_j'. The CR2 estimator (Bell & McCaffrey, 2002, Survey
Methodology 28(2), 169-181; Pustejovsky & Tipton, 2018, sec. 2) is

    V^CR2 = M (sum_j X_j' W_j A_j e_j e_j' A_j W_j X_j) M,
    A_j = D_j' B_j^{+1/2} D_j,   B_j = D_j (V_j - X_j M X_j') D_j',   D_j' D_j = V_j,

with e_j the cluster's residuals and B^{+1/2} the symmetric square root of the Moore-Penrose inverse.

For a contrast c'beta, c'V^CR2 c = sum_j (p_j' e_j)^2 with p_j = A_j W_j X_j M c. Under the working model
the quadratic-form covariances are Omega_ij = p_i' V_i p_j [i = j] - q_i' M q_j with q_j = X_j' p_j
(derived from (I - H)' Phi (I - H) with W = Phi^{-1}), giving the Satterthwaite degrees of freedom
df = (tr Omega)^2 / sum_ij Omega_ij^2 (Bell & McCaffrey, 2002;
Pustejovsky & Tipton, 2018, sec. 3).
The Hotelling T^2 approximation for q contrasts C beta = 0 (HTZ; Tipton & Pustejovsky, 2015, J. Educ.
Behav. Stat. 40(6), 604-634; Pustejovsky & Tipton, 2018, sec. 3) standardises the
contrasts to G = E[C V^CR2 C']^{-1/2} C, the working-model expectation (tr Omega^st; it equals C M C'
when every B_j is invertible, and differs when a pseudo-inverse was needed), and sets

    eta = q (q + 1) / sum_{s,t} Var(g_s' V^CR2 g_t),   F = (eta - q + 1) / (eta q) * Q ~ F(q, eta - q + 1),

with Q the Wald statistic (C b)' (C V^CR2 C')^{-1} (C b) and, for normal errors,
Var(g_s' V^CR2 g_t) = sum_ij (Omega^ss_ij Omega^tt_ij + Omega^st_ij Omega^ts_ij).
Everything is O(k p q^2) except A_j, which needs one eigendecomposition per cluster (batched by
cluster size).
"""

from __future__ import annotations

import math

import numpy as np

from .._distributions import f_sf
from ..errors import CommonFactorsWarning, SmallKWarning
from . import _inference as inference
from ._notes import Notes


def _adjustments(v, X, blocks, sigma2, M) -> np.ndarray:
    """T = A_j W_j X_j stacked over clusters (k, p): the CR2-adjusted, weighted design."""
    s1, s2 = float(sigma2[0]), float(sigma2[1])
    k, p = X.shape
    T = np.empty((k, p))
    d = v + s2
    for m in np.unique(blocks.sizes):
        which = np.flatnonzero(blocks.sizes == m)
        idx = blocks.starts[which][:, None] + np.arange(m)[None, :]  # (n_m, m) row numbers
        dj = d[idx]
        Xj = X[idx]  # (n_m, m, p)
        Vj = s1 * np.ones((m, m))[None] + dj[:, :, None] * np.eye(m)[None]
        L = np.linalg.cholesky(Vj)  # V_j = L L', so D_j = L'
        C = Vj - Xj @ M @ np.swapaxes(Xj, 1, 2)  # V_j - X_j M X_j'
        B = np.swapaxes(L, 1, 2) @ C @ L
        B = (B + np.swapaxes(B, 1, 2)) / 2
        ev, Q = np.linalg.eigh(B)
        tol = 1e-12 * np.maximum(ev.max(axis=1, keepdims=True), 1e-300)
        root = np.where(ev > tol, 1.0 / np.sqrt(np.where(ev > tol, ev, 1.0)), 0.0)
        Bmh = (Q * root[:, None, :]) @ np.swapaxes(Q, 1, 2)  # B^{+1/2}
        A = L @ Bmh @ np.swapaxes(L, 1, 2)
        wj = 1.0 / dj
        cj = s1 / (1.0 + s1 * wj.sum(axis=1))
        wX = wj[:, :, None] * Xj
        WX = wX - (cj[:, None] * wj)[:, :, None] * wX.sum(
            axis=1, keepdims=True
        )  # V_j^{-1} X_j, Sherman-Morrison
        T[idx] = A @ WX
    return T


def _omega_products(P, X, v, blocks, sigma2, M):
    """Per-cluster quantities of the working-model covariances Omega^st for the columns of P (k, q):
    z[j, s, t] = p_sj' V_j p_tj and Q[s] (n, p) with rows q_sj = X_j' p_sj."""
    s1, s2 = float(sigma2[0]), float(sigma2[1])
    d = v + s2
    S = blocks.sum(P)  # (n, q)
    z = blocks.sum(P[:, :, None] * (d[:, None, None] * P[:, None, :])) + s1 * S[:, :, None] * S[:, None, :]
    Q = np.stack([blocks.sum(X * P[:, [s]]) for s in range(P.shape[1])])  # (q, n, p)
    return z, Q


def _sum_omega_products(z, Q, M, a, b, c, d) -> float:
    """sum_ij Omega^ab_ij Omega^cd_ij with Omega^ab = diag(z[:, a, b]) - Q_a M Q_b'."""
    diag_ab = np.einsum("jp,pr,jr->j", Q[a], M, Q[b])
    diag_cd = np.einsum("jp,pr,jr->j", Q[c], M, Q[d])
    zab, zcd = z[:, a, b], z[:, c, d]
    cross = np.trace(M @ Q[a].T @ Q[c] @ M @ Q[d].T @ Q[b])
    return float(zab @ zcd - zab @ diag_cd - zcd @ diag_ab + cross)


def _trace_omega(z, Q, M, s, t) -> float:
    """E[c_s' V^CR2 c_t] = tr Omega^st under the working model (= c_s' M c_t when every B_j is invertible)."""
    return float(z[:, s, t].sum() - np.einsum("jp,pr,jr->", Q[s], M, Q[t]))


def cr2(y, v, X, blocks, sigma2, beta, M, *, names, level: float):
    """CR2 cluster-robust inference for every coefficient, and the HTZ test of all but the intercept."""
    from ..results.multilevel import RobustCoefficient, RobustInference

    k, p = X.shape
    n = blocks.starts.shape[0]
    T = _adjustments(v, X, blocks, sigma2, M)
    e = y - X @ beta
    notes = Notes()
    exact = bool(np.max(np.abs(e)) <= 1e-12 * max(float(np.max(np.abs(y))), 1e-300))
    if exact:
        e = np.zeros_like(e)  # rounding noise only: the exact robust variance is 0
        msg = "the model fits every effect exactly (all residuals are 0), so the cluster-robust SEs are 0"
        notes.add(msg, CommonFactorsWarning)
    u = blocks.sum(T * e[:, None])  # X_j' W_j A_j e_j, (n, p)
    vcr = M @ (u.T @ u) @ M
    se = np.sqrt(np.diag(vcr))
    P = T @ M  # columns: p_j for the contrasts e_1 .. e_p
    z, Q = _omega_products(P, X, v, blocks, sigma2, M)
    # Satterthwaite's df of each coefficient: (tr Omega)^2 / sum_ij Omega_ij^2
    dfs = np.array([_trace_omega(z, Q, M, s, s) ** 2 / _sum_omega_products(z, Q, M, s, s, s, s)
                    for s in range(p)])
    stat, pval, _, low, high = inference.wald(beta, se, dfs, level)
    coefs = [
        RobustCoefficient(name=names[s], estimate=float(beta[s]), se=float(se[s]), stat=float(stat[s]),
                          df=float(dfs[s]), pval=float(pval[s]), ci_low=float(low[s]), ci_high=float(high[s]))
        for s in range(p)
    ]
    qm, qm_df, qm_pval = math.nan, (math.nan, math.nan), math.nan
    if p > 1:
        q = p - 1
        Cm = np.eye(p)[1:]
        expect = np.array([[_trace_omega(z, Q, M, s, t) for t in range(1, p)] for s in range(1, p)])
        ev, vec = np.linalg.eigh((expect + expect.T) / 2)
        G = (vec / np.sqrt(ev)) @ vec.T @ Cm  # E[C V^CR2 C']^{-1/2} C
        zg, Qg = _omega_products(T @ M @ G.T, X, v, blocks, sigma2, M)
        total = sum(
            _sum_omega_products(zg, Qg, M, s, s, t, t) + _sum_omega_products(zg, Qg, M, s, t, t, s)
            for s in range(q)
            for t in range(q)
        )
        eta = q * (q + 1) / total
        df2 = eta - q + 1
        qm_df = (float(q), float(df2))
        if df2 > 0 and not exact:
            b = beta[1:]
            wald = float(b @ np.linalg.solve(vcr[1:, 1:], b))  # (C b)' (C V^CR2 C')^{-1} (C b)
            qm = (eta - q + 1) / (eta * q) * wald
            qm_pval = float(f_sf(qm, q, df2))
        elif not exact:
            msg = (
                f"the HTZ test of the moderators is not defined with {n} clusters for {p} coefficients "
                f"(denominator df {df2:.3g} <= 0); its F statistic and p-value are NA"
            )
            notes.add(msg, SmallKWarning)
    bad = [c.name for c in coefs if not (math.isfinite(c.df) and c.df > 0)]
    if bad:
        msg = f"cluster-robust degrees of freedom are not defined for {', '.join(bad)} with {n} clusters"
        notes.add(msg, SmallKWarning)
    return RobustInference(
        coefficients=tuple(coefs),
        qm=float(qm),
        qm_df=qm_df,
        qm_pval=qm_pval,
        n_clusters=n,
        warnings=notes(),
    )
