"""The contrast-based network meta-analysis model, fitted by REML, ML or as a common-effect model, one block
per trial, vectorised across trials with the same number of arms.

For trial i with d_i contrasts y_i (each arm vs the trial's base arm),

    y_i = X_i beta + u_i + e_i,   e_i ~ N(0, V_i),   u_i ~ N(0, tau2 C_i),   C_i = (I + J) / 2,

X_i the contrast coding (+1 for the treatment, -1 for the base arm, the reference treatment's column
dropped), V_i the within-trial covariance, C_i one heterogeneity variance tau2 shared by all comparisons
with correlation 1/2 between the contrasts of a multi-arm trial (the "homogeneous variance" consistency
model: Higgins, J. P. T., & Whitehead, A. (1996). Borrowing strength from external trials in a
meta-analysis. Stat. Med., 15(24), 2733-2749; Salanti, G., Higgins, J. P. T., Ades, A. E., & Ioannidis,
J. P. A. (2008). Evaluation of networks of randomized trials. Stat. Methods Med. Res., 17(3), 279-301).
It is metafor's ``rma.mv(yi, V, mods = ~ X - 1, random = ~ comp | study, rho = 1/2)`` (struct "CS" with
rho fixed at 1/2; metafor's documented analysis of ``dat.hasselblad1998``).

tau2 maximises the REML (or ML) log-likelihood; Fisher scoring with the score and expected information
of the block-diagonal model (Harville, D. A. (1977). Maximum likelihood approaches to variance component
estimation and to related problems. J. Am. Stat. Assoc., 72(358), 320-338), held at 0 when the score
there is negative, each step halved until the likelihood does not decrease.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TOL = 1e-12
_MAX_ITER = 500


@dataclass(frozen=True)
class Fit:
    beta: np.ndarray
    vcov: np.ndarray
    tau2: float
    loglik: float
    qe: float
    n: int
    converged: bool
    iterations: int


def _cs(d: int) -> np.ndarray:
    return (np.eye(d) + np.ones((d, d))) / 2.0


def _evaluate(tau2: float, blocks, p: int, *, derivs: bool, reml: bool):
    """Sums of the model at ``tau2`` over the blocks (y (m,d), V (m,d,d), X (m,d,p))."""
    A = np.zeros((p, p))
    c = np.zeros(p)
    yWy = logdet = 0.0
    parts = []
    for y, V, X in blocks:
        d = y.shape[1]
        C = _cs(d)
        M = V + tau2 * C
        W = np.linalg.inv(M)
        sign, ld = np.linalg.slogdet(M)
        logdet += float(ld.sum())
        WX = W @ X
        Wy = np.einsum("mij,mj->mi", W, y)
        A += np.einsum("mdp,mdq->pq", X, WX)
        c += np.einsum("mdp,md->p", WX, y)
        yWy += float(np.einsum("md,md->", y, Wy))
        parts.append((y, X, W, WX, C))
    Ainv = np.linalg.inv(A)
    beta = Ainv @ c
    rWr = yWy - float(c @ beta)
    out = {"A": A, "Ainv": Ainv, "beta": beta, "rWr": rWr, "logdet": logdet}
    if not derivs:
        return out
    trWC = quad = trWCWC = 0.0
    G = np.zeros((p, p))
    H = np.zeros((p, p))
    for y, X, W, WX, C in parts:
        r = y - X @ beta
        Wr = np.einsum("mij,mj->mi", W, r)
        WC = W @ C
        trWC += float(np.einsum("mii->", WC))
        quad += float(np.einsum("mi,ij,mj->", Wr, C, Wr))
        trWCWC += float(np.einsum("mij,mji->", WC, WC))
        CWX = C @ WX  # (m, d, p)
        G += np.einsum("mdp,mdq->pq", CWX, WX)  # X'WCWX
        WCWX = W @ CWX
        H += np.einsum("mdp,mdq->pq", CWX, WCWX)
    if reml:
        score = -0.5 * (trWC - float(np.sum(Ainv * G))) + 0.5 * quad
        AG = Ainv @ G
        info = 0.5 * (trWCWC - 2.0 * float(np.sum(Ainv * H)) + float(np.sum(AG * AG.T)))
    else:
        score = -0.5 * trWC + 0.5 * quad
        info = 0.5 * trWCWC
    out.update(score=score, info=info)
    return out


def _loglik(ev, n: int, p: int, reml: bool, logdet_xx: float) -> float:
    if reml:
        return (-0.5 * (n - p) * math.log(2 * math.pi) + 0.5 * logdet_xx - 0.5 * ev["logdet"]
                - 0.5 * float(np.linalg.slogdet(ev["A"])[1]) - 0.5 * ev["rWr"])
    return -0.5 * n * math.log(2 * math.pi) - 0.5 * ev["logdet"] - 0.5 * ev["rWr"]


def fit(blocks, p: int, method: str) -> Fit:
    """Fit the model to ``blocks`` (a list of (y, V, X) with shapes (m, d), (m, d, d), (m, d, p)) by
    ``method`` "REML", "ML" or "FE" (tau2 = 0)."""
    n = sum(y.size for y, _, _ in blocks)
    xx = sum(np.einsum("mdp,mdq->pq", X, X) for _, _, X in blocks)
    logdet_xx = float(np.linalg.slogdet(xx)[1])
    fe = _evaluate(0.0, blocks, p, derivs=False, reml=False)
    qe = fe["rWr"]
    if method == "FE":
        return Fit(fe["beta"], fe["Ainv"], 0.0, _loglik(fe, n, p, False, logdet_xx), qe, n, True, 0)
    reml = method == "REML"
    # start: the mean within-trial variance's share of excess heterogeneity, or a small positive value
    vbar = float(np.mean(np.concatenate([np.diagonal(V, axis1=1, axis2=2).ravel() for _, V, _ in blocks])))
    df = max(n - p, 1)
    tau2 = max(0.01 * vbar, vbar * (qe - df) / df)
    ev = _evaluate(tau2, blocks, p, derivs=True, reml=reml)
    ll = _loglik(ev, n, p, reml, logdet_xx)
    converged = False
    it = 0
    for it in range(1, _MAX_ITER + 1):
        step = ev["score"] / ev["info"]
        new = max(0.0, tau2 + step)
        if tau2 == 0.0 and new == 0.0:
            converged = True
            break
        for _ in range(60):
            ev_new = _evaluate(new, blocks, p, derivs=True, reml=reml)
            ll_new = _loglik(ev_new, n, p, reml, logdet_xx)
            if ll_new >= ll - 1e-12 * abs(ll) or abs(new - tau2) < _TOL:
                break
            new = tau2 + (new - tau2) / 2.0
        change = abs(new - tau2)
        tau2, ev, ll = new, ev_new, ll_new
        if change <= _TOL * max(1.0, tau2):
            converged = True
            break
    return Fit(ev["beta"], ev["Ainv"], float(tau2), ll, qe, n, converged, it)
