"""Expected-change curves by intake severity, fitted from the user's own data, and not-on-track flags.

These curves are NOT the proprietary OQ-Analyst or Better Outcomes Now algorithms (Finch, Lambert & Schaalje
2001 and their successors are not reproduced): they are a linear mixed model fitted to the scores at hand,
as Haas, Hill, Lambert & Morrell (2002) define early response against expected curves.

The model, for client i's scores after intake at session s (the intake score x_i0 is the covariate):

    y_is = b0 + b1 x_i0 + (b2 + b3 x_i0) log(s) + u_i0 + u_i1 log(s) + e_is,
    (u_i0, u_i1) ~ N(0, G),   e_is ~ N(0, sigma2),

i.e. lme4's ``score ~ intake * log(session) + (1 + log(session) | client)``, fitted by REML with
:func:`commonfactors.models._lmm_slopes.fit_lmm`.

Prediction at session s from intake and the client's earlier scores after intake (sessions t < s), with
z = (1, log s), x = (1, x_i0, log s, x_i0 log s), r_t = y_t - x_t' beta, and Z, X the earlier rows:

    b_hat = G Z'V^-1 r = Lambda (M + I)^-1 Lambda' Z'r,   M = Lambda' Z'Z Lambda,   G = sigma2 Lambda Lambda'
    Var(b | earlier) = G - G Z'V^-1 Z G = sigma2 Lambda (M + I)^-1 Lambda'
    expected = x' beta + z' b_hat
    a = x - X'V^-1 Z G z = x - (Lambda (M + I)^-1 Lambda' Z'X)' z
    Var(y_s - expected) = sigma2 + z' Var(b | earlier) z + a' Var(beta_hat) a

(the conditional normal distribution of a mixed model, e.g. Henderson 1975; the push-through identity turns
V^-1, n x n, into q x q solves). The last term is the fixed effects' sampling variance, INCLUDED, treating
beta_hat as independent of the client's own scores (it is estimated from all clients). With no earlier score
after intake, b_hat = 0 and Var(b) = G.

A score is not on track when it is worse than the one-sided (1 - alpha) prediction bound
``expected -/+ z_(1-alpha) sd`` (minus where higher is better).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._distributions import norm_ppf

#: names of the fixed effects, as lme4 prints ``score ~ intake * log(session)``
FIXED_NAMES = ("(Intercept)", "intake", "log(session)", "intake:log(session)")
#: names of the random effects
RANDOM_NAMES = ("(Intercept)", "log(session)")


@dataclass(frozen=True)
class CurveModel:
    """The fitted expected-change model: ``beta`` (4,) in the order of :data:`FIXED_NAMES`, ``cov_beta``
    (4, 4), ``G`` (2, 2) covariance of (intercept, log(session)) per client, ``sigma2``, ``theta`` (lme4's),
    ``reml_crit``, ``n`` rows (scores after intake), ``m`` clients, ``singular``, ``converged``."""

    beta: np.ndarray
    cov_beta: np.ndarray
    G: np.ndarray
    sigma2: float
    theta: np.ndarray | None = None
    reml_crit: float = float("nan")
    n: int = 0
    m: int = 0
    singular: bool = False
    converged: bool = True

    def expected(self, intake, session) -> np.ndarray:
        """The population curve: expected score at ``session`` for an ``intake`` score (no client effects)."""
        return design(np.asarray(intake, float), np.asarray(session, float)) @ self.beta

    def to_dict(self) -> dict:
        sd = np.sqrt(np.diag(self.G))
        corr = self.G[0, 1] / (sd[0] * sd[1]) if sd[0] > 0 and sd[1] > 0 else float("nan")
        return {"formula": "score ~ intake * log(session) + (1 + log(session) | client)", "method": "REML",
                "coefficients": [{"name": n, "estimate": float(b), "se": float(np.sqrt(v))} for n, b, v in
                                 zip(FIXED_NAMES, self.beta, np.diag(self.cov_beta), strict=True)],
                "sd_intercept": float(sd[0]), "sd_slope": float(sd[1]), "corr": float(corr),
                "sigma": float(np.sqrt(self.sigma2)), "reml_crit": self.reml_crit, "n": self.n,
                "n_clients": self.m, "singular": self.singular, "converged": self.converged}


def design(intake: np.ndarray, session: np.ndarray) -> np.ndarray:
    """Fixed-effects design (n, 4): 1, intake, log(session), intake * log(session)."""
    ls = np.log(session)
    return np.column_stack([np.ones_like(ls), intake, ls, intake * ls])


def random_design(session: np.ndarray) -> np.ndarray:
    """Random-effects design (n, 2): 1, log(session)."""
    ls = np.log(session)
    return np.column_stack([np.ones_like(ls), ls])


def fit_curves(intake, session, score, client) -> CurveModel:
    """Fit the expected-change model to scores after intake.

    ``intake``, ``session``, ``score`` : float arrays (n,) (sessions >= 1); ``client`` : int codes (n,)
    0..m-1, every code present. Returns a :class:`CurveModel` (REML).
    """
    from ..models._lmm_slopes import fit_lmm

    intake, session, score = (np.asarray(a, dtype=np.float64) for a in (intake, session, score))
    fit = fit_lmm(score, design(intake, session), random_design(session), np.asarray(client), method="REML")
    return CurveModel(beta=np.asarray(fit.beta, float), cov_beta=np.asarray(fit.cov_beta, float),
                      G=np.asarray(fit.G, float), sigma2=float(fit.sigma2),
                      theta=np.asarray(fit.theta, float),
                      reml_crit=float(fit.reml_crit), n=int(fit.n), m=int(fit.m), singular=bool(fit.singular),
                      converged=bool(fit.converged))


@dataclass(frozen=True)
class Predictions:
    """Per row (scores after intake, in the input order): ``expected`` (conditional on intake and the
    client's earlier scores), ``sd`` of the prediction error, ``bound`` (one-sided, 1 - alpha),
    ``off_track`` (the score is worse than the bound), ``population`` (the curve without client effects)."""

    expected: np.ndarray
    sd: np.ndarray
    bound: np.ndarray
    off_track: np.ndarray
    population: np.ndarray


def _factor(model: CurveModel) -> np.ndarray:
    """A 2 x 2 factor Lambda with Lambda Lambda' = G / sigma2 (G may be singular)."""
    w, U = np.linalg.eigh(model.G / model.sigma2)
    return U * np.sqrt(np.clip(w, 0.0, None))


def _exclusive_cumsum(values: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For rows sorted by client, the sum of ``values`` over the same client's earlier rows.

    ``start[i]`` is the position of the first row of row i's client."""
    total = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return total[np.arange(values.shape[0])] - total[start]


def predict(model: CurveModel, intake, session, score, client, *, alpha: float = 0.10,
            higher_is_better: bool = True) -> Predictions:
    """Prediction of each score after intake from intake and the same client's earlier scores after intake
    (the module's formulas), its one-sided (1 - alpha) bound and whether the score is worse than the bound.

    ``client`` holds labels or codes (n,); within a client, rows are taken in order of ``session``.
    """
    intake, session, score = (np.asarray(a, dtype=np.float64) for a in (intake, session, score))
    client = np.asarray(client)
    order = np.lexsort((session, client))
    X, Z = design(intake[order], session[order]), random_design(session[order])
    y = score[order]
    c = client[order]
    first = np.ones(c.shape[0], dtype=bool)
    first[1:] = c[1:] != c[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(c.shape[0]), 0))
    lam = _factor(model)
    r = y - X @ model.beta
    zz = _exclusive_cumsum(Z[:, :, None] * Z[:, None, :], start)  # (n, 2, 2): Z'Z of earlier rows
    zr = _exclusive_cumsum(Z * r[:, None], start)  # (n, 2)
    zx = _exclusive_cumsum(Z[:, :, None] * X[:, None, :], start)  # (n, 2, 4)
    M = np.einsum("ai,nab,bj->nij", lam, zz, lam) + np.eye(2)
    Minv = np.linalg.inv(M)
    H = np.einsum("ia,nab,jb->nij", lam, Minv, lam)  # Lambda (M + I)^-1 Lambda'
    b = np.einsum("nij,nj->ni", H, zr)
    expected = X @ model.beta + np.einsum("ni,ni->n", Z, b)
    var_b = np.einsum("ni,nij,nj->n", Z, H, Z) * model.sigma2
    a = X - np.einsum("nij,ni->nj", np.einsum("nik,nkj->nij", H, zx), Z)
    var_beta = np.einsum("ni,ij,nj->n", a, model.cov_beta, a)
    sd = np.sqrt(model.sigma2 + var_b + var_beta)
    zq = float(norm_ppf(1.0 - alpha))
    if higher_is_better:
        bound = expected - zq * sd
        off = y < bound
    else:
        bound = expected + zq * sd
        off = y > bound
    back = np.empty_like(order)
    back[order] = np.arange(order.shape[0])
    population = X @ model.beta
    return Predictions(expected=expected[back], sd=sd[back], bound=bound[back], off_track=off[back],
                       population=population[back])
