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

The fixed effects may be block-diagonal: trials in groups g, each group with its own q coefficients (the
design-by-treatment model gives each design its own effects), so X'WX is a stack of q x q blocks and no
dense p x p matrix of all designs is ever inverted. The consistency model is the case of one group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_TOL = 1e-12
_MAX_ITER = 500


@dataclass(frozen=True)
class Fit:
    beta: np.ndarray  # (p,) the free coefficients, group by group
    vcov: np.ndarray  # (p, p)
    info: np.ndarray  # (p, p) X'WX, the inverse of vcov
    tau2: float
    loglik: float
    qe: float
    n: int
    converged: bool
    iterations: int


def _cs(d: int) -> np.ndarray:
    return (np.eye(d) + np.ones((d, d))) / 2.0


def _group_sum(per_trial: np.ndarray, g: np.ndarray, ng: int) -> np.ndarray:
    """Sum per-trial arrays (m, ...) into their groups (ng, ...)."""
    if ng == 1:
        return per_trial.sum(axis=0)[None]
    out = np.zeros((ng, *per_trial.shape[1:]))
    np.add.at(out, g, per_trial)
    return out


def _evaluate(tau2: float, blocks, ng: int, free: np.ndarray, *, derivs: bool, reml: bool):
    """Sums of the model at ``tau2`` over the blocks (y (m,d), V (m,d,d), X (m,d,q), g (m,))."""
    q = free.shape[1]
    A = np.zeros((ng, q, q))
    c = np.zeros((ng, q))
    yWy = logdet = 0.0
    parts = []
    for y, V, X, g in blocks:
        C = _cs(y.shape[1])
        M = V + tau2 * C
        W = np.linalg.inv(M)
        logdet += float(np.linalg.slogdet(M)[1].sum())
        WX = W @ X
        A += _group_sum(np.einsum("mdp,mdq->mpq", X, WX), g, ng)
        c += _group_sum(np.einsum("mdp,md->mp", WX, y), g, ng)
        yWy += float(np.einsum("md,mde,me->", y, W, y))
        parts.append((y, X, g, W, WX, C))
    gi, pi = np.nonzero(~free)
    A[gi, pi, pi] += 1.0  # unused slots of small groups: identity, separate from the real coefficients
    Ainv = np.linalg.inv(A)
    beta = np.einsum("gpq,gq->gp", Ainv, c)
    rWr = yWy - float(np.sum(c * beta))
    out = {"A": A, "Ainv": Ainv, "beta": beta, "rWr": rWr, "logdet": logdet,
           "logdet_A": float(np.linalg.slogdet(A)[1].sum())}
    if not derivs:
        return out
    trWC = quad = trWCWC = 0.0
    G = np.zeros((ng, q, q))
    H = np.zeros((ng, q, q))
    for y, X, g, W, WX, C in parts:
        r = y - np.einsum("mdq,mq->md", X, beta[g])
        Wr = np.einsum("mij,mj->mi", W, r)
        WC = W @ C
        trWC += float(np.einsum("mii->", WC))
        quad += float(np.einsum("mi,ij,mj->", Wr, C, Wr))
        trWCWC += float(np.einsum("mij,mji->", WC, WC))
        CWX = C @ WX  # (m, d, q)
        G += _group_sum(np.einsum("mdp,mdq->mpq", CWX, WX), g, ng)  # X'WCWX
        H += _group_sum(np.einsum("mdp,mdq->mpq", CWX, W @ CWX), g, ng)  # X'WCWCWX
    if reml:
        AG = Ainv @ G
        score = -0.5 * (trWC - float(np.einsum("gpp->", AG))) + 0.5 * quad
        info = 0.5 * (trWCWC - 2.0 * float(np.sum(Ainv * H)) + float(np.einsum("gpq,gqp->", AG, AG)))
    else:
        score = -0.5 * trWC + 0.5 * quad
        info = 0.5 * trWCWC
    out.update(score=score, info=info)
    return out


def _loglik(ev, n: int, p: int, reml: bool, logdet_xx: float) -> float:
    if reml:
        return (-0.5 * (n - p) * math.log(2 * math.pi) + 0.5 * logdet_xx - 0.5 * ev["logdet"]
                - 0.5 * ev["logdet_A"] - 0.5 * ev["rWr"])
    return -0.5 * n * math.log(2 * math.pi) - 0.5 * ev["logdet"] - 0.5 * ev["rWr"]


def _dense(blocks: np.ndarray, free: np.ndarray) -> np.ndarray:
    """The block-diagonal matrix of the free coefficients from its (ng, q, q) blocks."""
    sizes = free.sum(axis=1)
    p = int(sizes.sum())
    out = np.zeros((p, p))
    at = 0
    for j, k in enumerate(sizes):
        idx = np.flatnonzero(free[j])
        out[at:at + k, at:at + k] = blocks[j][np.ix_(idx, idx)]
        at += k
    return out


def fit(blocks, p: int, method: str, *, ng: int = 1, free: np.ndarray | None = None) -> Fit:
    """Fit the model to ``blocks`` (a list of (y, V, X) with shapes (m, d), (m, d, d), (m, d, p), or of
    (y, V, X, g) with X (m, d, q) the coefficients of group g (m,) of ``ng`` groups, ``free`` (ng, q) marking
    each group's real coefficients) by ``method`` "REML", "ML" or "FE" (tau2 = 0)."""
    if free is None:
        free = np.ones((1, p), dtype=bool)
        blocks = [(y, V, X, np.zeros(y.shape[0], dtype=np.int64)) for y, V, X in blocks]
    n = sum(b[0].size for b in blocks)
    xx = np.zeros((ng, free.shape[1], free.shape[1]))
    for _, _, X, g in blocks:
        xx += _group_sum(np.einsum("mdp,mdq->mpq", X, X), g, ng)
    gi, pi = np.nonzero(~free)
    xx[gi, pi, pi] += 1.0
    logdet_xx = float(np.linalg.slogdet(xx)[1].sum())
    fe = _evaluate(0.0, blocks, ng, free, derivs=False, reml=False)
    qe = fe["rWr"]
    if method == "FE":
        return _result(fe, free, 0.0, _loglik(fe, n, p, False, logdet_xx), qe, n, True, 0)
    reml = method == "REML"
    # start: the excess of Q over its degrees of freedom in units of the mean within-trial variance
    vbar = float(np.mean(np.concatenate([np.diagonal(b[1], axis1=1, axis2=2).ravel() for b in blocks])))
    df = max(n - p, 1)
    tau2 = max(0.01 * vbar, vbar * (qe - df) / df)
    ev = _evaluate(tau2, blocks, ng, free, derivs=True, reml=reml)
    ll = _loglik(ev, n, p, reml, logdet_xx)
    converged = False
    it = 0
    while it < _MAX_ITER:
        it += 1
        if not ev["info"] > 0:
            break  # no information on tau2 (not converged)
        step = ev["score"] / ev["info"]
        new = max(0.0, tau2 + step)
        if tau2 == 0.0 and new == 0.0:
            converged = True
            break
        for _ in range(60):
            ev_new = _evaluate(new, blocks, ng, free, derivs=True, reml=reml)
            ll_new = _loglik(ev_new, n, p, reml, logdet_xx)
            if ll_new >= ll - 1e-12 * abs(ll) or abs(new - tau2) < _TOL:
                break
            new = tau2 + (new - tau2) / 2.0
        change = abs(new - tau2)
        tau2, ev, ll = new, ev_new, ll_new
        if change <= _TOL * max(1.0, tau2):
            converged = True
            break
    return _result(ev, free, float(tau2), ll, qe, n, converged, it)


def _result(ev, free, tau2, ll, qe, n, converged, it) -> Fit:
    beta = ev["beta"][free]
    if free.shape[0] == 1:
        vcov = ev["Ainv"][0][np.ix_(free[0], free[0])]
        info = ev["A"][0][np.ix_(free[0], free[0])]
    else:
        vcov, info = _dense(ev["Ainv"], free), _dense(ev["A"], free)
    return Fit(beta, vcov, info, tau2, ll, qe, n, converged, it)
