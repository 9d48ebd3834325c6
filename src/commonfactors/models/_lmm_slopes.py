"""Linear mixed model with one grouping factor and q random effects per group, by the profiled criterion.

The model (Bates, Maechler, Bolker & Walker, 2015, "Fitting linear mixed-effects models using lme4",
J. Stat. Softw. 67(1), section 3) for the n_j rows of group j is

    y_j = X_j beta + Z_j b_j + e_j,  b_j = Lambda_theta u_j,  u_j ~ N(0, sigma2 I_q),  e_j ~ N(0, sigma2 I),

so the random effects have covariance G = sigma2 Lambda Lambda'. ``Lambda`` is the q x q lower-triangular
relative covariance factor; theta holds its lower triangle column by column (lme4's order: for q = 2,
theta = (Lambda_11, Lambda_21, Lambda_22)) with the diagonal bounded below by 0.

Penalised least squares (Bates et al. 2015, eqs. 14-18 and 30-34). With one grouping factor the sparse
Cholesky factor L_theta is block diagonal, one q x q block per group:

    L_j L_j' = Lambda' Z_j'Z_j Lambda + I_q,
    c_j = L_j^{-1} Lambda' Z_j'y_j,   C_j = L_j^{-1} Lambda' Z_j'X_j,
    R_X'R_X = X'X - sum_j C_j'C_j,    R_X'R_X beta = X'y - sum_j C_j'c_j,
    r2(theta) = y'y - sum_j c_j'c_j - beta'(X'y - sum_j C_j'c_j)     (penalised residual sum of squares),

and the criteria, profiled over beta and sigma2 (eqs. 34 and 41),

    deviance(theta) = log|L|^2 + n (1 + log(2 pi r2 / n)),
    REMLcrit(theta) = log|L|^2 + log|R_X|^2 + (n - p) (1 + log(2 pi r2 / (n - p))),

with sigma2 = r2/n (ML) or r2/(n - p) (REML). Everything depends on the data only through the per-group
sums Z_j'Z_j, Z_j'X_j, Z_j'y_j and the global X'X, X'y, y'y, computed in one pass; one evaluation then
costs O(m q^2 (q + p) + p^3), vectorised over the m groups.

Conditional modes and variances of the random effects (lme4's ``ranef(condVar = TRUE)``):
u_j = L_j^{-T}(c_j - C_j beta), b_j = Lambda u_j, Var(b_j | y) = sigma2 Lambda (L_j L_j')^{-1} Lambda'
(at the estimated beta and theta, as lme4 computes it).

Optimisation: theta is found by bounded Nelder-Mead from lme4's start (Lambda = I), derivative-free as
lme4's bobyqa; then L-BFGS-B with central-difference gradients polishes it, and Nelder-Mead restarts once
from the best point with a fresh small simplex. A diagonal element left within 1e-4 of 0 is set to 0 when
the criterion is no worse there (1e-12 relative). On tests/data/development_astray.csv lme4's bobyqa stops
23 units of the criterion above the optimum this reaches.

Satterthwaite's degrees of freedom for a contrast L'beta follow Kuznetsova, Brockhoff & Christensen (2017,
"lmerTest package: tests in linear mixed effects models", J. Stat. Softw. 82(13), section 3.2):

    df = 2 (L' C L)^2 / (g' A g),

where C = Var(beta) = sigma2 (R_X'R_X)^{-1} as a function of the variance parameters tau = (theta, sigma),
g = d(L' C L)/d tau, and A = 2 H^{-1} with H the Hessian of the (not profiled) REML or ML deviance in tau,
d(tau) = log|L|^2 [+ log|R_X|^2] + n_eff log(2 pi sigma2) + r2(theta) / sigma2, n_eff = n - p (REML) or n.
H and the theta-part of g are computed here by central differences with Richardson extrapolation (step
h, h/2, h/4; error O(h^6)); the sigma-part of g is analytic, dC/d sigma = 2 C / sigma.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import BoundaryWarning, ConvergenceWarning

_LOG_2PI = math.log(2.0 * math.pi)
#: a theta diagonal element at or below this is "at the boundary" (lme4's isSingular uses 1e-4 by default)
SINGULAR_TOL = 1e-4


@dataclass(frozen=True)
class LmmFit:
    """A fitted LMM. Shapes: p fixed effects, q random effects per group, m groups.

    beta (p,), cov_beta (p, p) = sigma2 (R_X'R_X)^{-1}, sigma2 residual variance, G (q, q) covariance of
    the random effects, theta (lme4's parameter vector, q(q+1)/2), ranef (m, q) conditional modes b_j,
    ranef_cov (m, q, q) their conditional covariances, reml_crit (lme4's REMLcrit for REML, deviance for
    ML), loglik (-crit/2), converged, singular (a theta diagonal element < ``SINGULAR_TOL``), method,
    n, p, q, m; ``nobs_group`` (m,) rows per group.
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    G: np.ndarray
    theta: np.ndarray
    ranef: np.ndarray
    ranef_cov: np.ndarray
    reml_crit: float
    loglik: float
    converged: bool
    singular: bool
    method: str
    n: int
    p: int
    q: int
    m: int
    nobs_group: np.ndarray
    _stats: _Stats
    #: (m, q, p) d b_j / d beta = -Lambda M_j^{-1} Lambda'Z_j'X_j: how each conditional mode moves with beta,
    #: used by :func:`prediction_variance`
    ranef_dbeta: np.ndarray | None = None

    @property
    def sd(self) -> np.ndarray:
        """Standard deviations of the q random effects."""
        return np.sqrt(np.diag(self.G))

    @property
    def corr(self) -> np.ndarray:
        """Correlation matrix of the random effects (NaN where an SD is 0)."""
        sd = self.sd
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.G / np.outer(sd, sd)

    def satterthwaite_df(self, L) -> float:
        """Satterthwaite df of the contrast L'beta (see :func:`satterthwaite_df`)."""
        return satterthwaite_df(self, L)


@dataclass(frozen=True)
class _Stats:
    ZtZ: np.ndarray  # (m, q, q)
    ZtX: np.ndarray  # (m, q, p)
    Zty: np.ndarray  # (m, q)
    nobs: np.ndarray  # (m,) rows per group
    XtX: np.ndarray  # (p, p)
    Xty: np.ndarray  # (p,)
    yty: float
    n: int
    p: int
    q: int
    m: int


def sufficient_stats(y, X, Z, groups) -> _Stats:
    """Per-group cross-products Z_j'Z_j, Z_j'X_j, Z_j'y_j and the global X'X, X'y, y'y, in one pass."""
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    g = np.asarray(groups, dtype=np.intp)
    n, p = X.shape
    q = Z.shape[1]
    m = int(g.max()) + 1 if n else 0
    W = np.concatenate((Z, X, y[:, None]), axis=1)  # (n, q + p + 1)
    order = np.argsort(g, kind="stable")
    gs = g[order]
    starts = np.concatenate(([0], np.flatnonzero(np.diff(gs)) + 1))
    outer = Z[order][:, :, None] * W[order][:, None, :]  # (n, q, q + p + 1)
    sums = np.zeros((m, q, q + p + 1))
    sums[gs[starts]] = np.add.reduceat(outer, starts, axis=0)
    return _Stats(ZtZ=sums[:, :, :q], ZtX=sums[:, :, q:q + p], Zty=sums[:, :, q + p],
                  nobs=np.bincount(g, minlength=m), XtX=X.T @ X,
                  Xty=X.T @ y, yty=float(y @ y), n=n, p=p, q=q, m=m)


@functools.lru_cache(maxsize=16)
def _tril_order(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the lower triangle of a q x q matrix, column by column (lme4's theta order)."""
    rows, cols = np.tril_indices(q)
    order = np.lexsort((rows, cols))
    return rows[order], cols[order]


def lambda_of(theta, q: int) -> np.ndarray:
    """The lower-triangular q x q factor Lambda from theta (lower triangle, column by column)."""
    lam = np.zeros((q, q))
    rows, cols = _tril_order(q)
    lam[rows, cols] = theta
    return lam


def _theta_bounds(q: int) -> list[tuple[float | None, float | None]]:
    rows, cols = _tril_order(q)
    return [(0.0, None) if r == c else (None, None) for r, c in zip(rows, cols, strict=True)]


def _diag_index(q: int) -> np.ndarray:
    rows, cols = _tril_order(q)
    return np.flatnonzero(rows == cols)


@dataclass(frozen=True)
class _Pls:
    """The penalised least squares solution at one theta."""

    lam: np.ndarray
    M: np.ndarray      # (m, q, q) L_j L_j'
    Minv: np.ndarray   # (m, q, q) (L_j L_j')^{-1}
    ldL2: float
    RXtRX: np.ndarray  # (p, p)
    ldRX2: float
    beta: np.ndarray
    r2: float
    LtZtX: np.ndarray  # (m, q, p) Lambda' Z_j'X_j
    LtZty: np.ndarray  # (m, q)


def _inv_logdet(M: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverses of the m symmetric positive definite q x q blocks M (m, q, q) and sum_j log|M_j|: explicit
    for q <= 2 (no LAPACK call per evaluation), a batched Cholesky factorisation otherwise."""
    q = M.shape[1]
    if q == 1:
        return 1.0 / M, float(np.log(M[:, 0, 0]).sum())
    if q == 2:
        a, b, c = M[:, 0, 0], M[:, 1, 0], M[:, 1, 1]
        det = a * c - b * b
        if not np.all(det > 0.0):
            raise np.linalg.LinAlgError("not positive definite")
        inv = np.empty_like(M)
        inv[:, 0, 0] = c / det
        inv[:, 1, 1] = a / det
        inv[:, 0, 1] = inv[:, 1, 0] = -b / det
        return inv, float(np.log(det).sum())
    chol = np.linalg.cholesky(M)
    return np.linalg.inv(M), 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())


def _pls(s: _Stats, theta) -> _Pls:
    lam = lambda_of(theta, s.q)
    M = lam.T @ s.ZtZ @ lam + np.eye(s.q)  # (m, q, q): L_j L_j'
    Minv, ldL2 = _inv_logdet(M)
    LtZtX = lam.T @ s.ZtX  # (m, q, p)
    LtZty = s.Zty @ lam  # (m, q)
    W = Minv @ LtZtX  # M_j^{-1} Lambda'Z_j'X_j
    w = np.einsum("jab,jb->ja", Minv, LtZty)  # M_j^{-1} Lambda'Z_j'y_j
    # sum_j C_j'C_j = sum_j (Lambda'Z'X)' M^{-1} (Lambda'Z'X), and the same with y
    RXtRX = s.XtX - np.einsum("jai,jak->ik", LtZtX, W)
    rX = s.Xty - np.einsum("jai,ja->i", LtZtX, w)
    cholX = np.linalg.cholesky(RXtRX)
    ldRX2 = 2.0 * float(np.log(np.diag(cholX)).sum())
    beta = np.linalg.solve(RXtRX, rX)
    r2 = s.yty - float(np.einsum("ja,ja->", LtZty, w)) - float(beta @ rX)
    return _Pls(lam=lam, M=M, Minv=Minv, ldL2=ldL2, RXtRX=RXtRX, ldRX2=ldRX2, beta=beta, r2=max(r2, 0.0),
                LtZtX=LtZtX, LtZty=LtZty)


def criterion(s: _Stats, theta, method: str = "REML") -> float:
    """lme4's REMLcrit (method "REML") or deviance ("ML") profiled over beta and sigma2, at theta."""
    try:
        f = _pls(s, theta)
    except np.linalg.LinAlgError:
        return math.inf
    if f.r2 <= 0.0:
        return math.inf
    if method == "REML":
        nr = s.n - s.p
        return f.ldL2 + f.ldRX2 + nr * (1.0 + _LOG_2PI + math.log(f.r2 / nr))
    return f.ldL2 + s.n * (1.0 + _LOG_2PI + math.log(f.r2 / s.n))


def deviance_vp(s: _Stats, theta, sigma: float, method: str = "REML") -> float:
    """The REML or ML deviance at theta and the residual SD sigma, not profiled over sigma.

    d = log|L|^2 [+ log|R_X|^2] + n_eff log(2 pi sigma^2) + r2(theta)/sigma^2 (Bates et al. 2015, eqs.
    33 and 40 before sigma is profiled out); its minimum over sigma is :func:`criterion`.
    """
    f = _pls(s, theta)
    s2 = sigma * sigma
    if method == "REML":
        return f.ldL2 + f.ldRX2 + (s.n - s.p) * (_LOG_2PI + math.log(s2)) + f.r2 / s2
    return f.ldL2 + s.n * (_LOG_2PI + math.log(s2)) + f.r2 / s2


def _start(s: _Stats) -> np.ndarray:
    """lme4's default start: Lambda = I (diagonal 1, off-diagonal 0)."""
    theta = np.zeros(s.q * (s.q + 1) // 2)
    theta[_diag_index(s.q)] = 1.0
    return theta


def _optimise(s: _Stats, method: str, start=None):
    from scipy.optimize import minimize  # lazily: off the command line's start-up path

    q = s.q
    bounds = _theta_bounds(q)
    x0 = _start(s) if start is None else np.asarray(start, dtype=float)
    fun = lambda t: criterion(s, t, method)  # noqa: E731
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])

    def grad(t):
        g = np.empty_like(t)
        for k in range(t.size):
            h = 1e-6 * max(1.0, abs(t[k]))
            if t[k] - h < lo[k]:  # one-sided at the boundary
                e = np.zeros_like(t)
                e[k] = h
                g[k] = (-3 * fun(t) + 4 * fun(t + e) - fun(t + 2 * e)) / (2 * h)
            else:
                e = np.zeros_like(t)
                e[k] = h
                g[k] = (fun(t + e) - fun(t - e)) / (2 * h)
        return g

    # Nelder-Mead stops when the simplex is within 1e-9 in theta and 1e-13 relative in the criterion (the
    # criterion's rounding error: a tighter fatol is never met)
    nm = {"xatol": 1e-9, "fatol": 1e-13 * max(1.0, abs(fun(x0))), "maxiter": 5000 * x0.size,
          "maxfev": 10000 * x0.size}
    # derivative-free first (as lme4's bobyqa), from Lambda = I: a quasi-Newton step from there can run into
    # a boundary local minimum of the criterion (seen on groups of 1-2 rows)
    r0 = minimize(fun, x0, method="Nelder-Mead", bounds=bounds, options=nm)
    r1 = minimize(fun, r0.x, method="L-BFGS-B", jac=grad, bounds=bounds,
                  options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
    best = r1 if r1.fun < r0.fun else r0
    # restart once from the optimum with a fresh simplex
    r2 = minimize(fun, best.x, method="Nelder-Mead", bounds=bounds,
                  options={**nm, "initial_simplex": _simplex(best.x)})
    converged = bool(r2.success or r0.success)
    if r2.fun <= best.fun:
        best = r2
    theta = np.asarray(best.x, dtype=float)
    diag = _diag_index(q)
    theta[diag] = np.maximum(theta[diag], 0.0)
    # a diagonal element a hair above 0 is the boundary: snap it when the criterion is no worse there
    fbest = fun(theta)
    for k in diag:
        if 0.0 < theta[k] < SINGULAR_TOL:
            t0 = theta.copy()
            t0[k] = 0.0
            f0 = fun(t0)
            if f0 <= fbest + 1e-12 * abs(fbest):
                theta, fbest = t0, min(f0, fbest)
    return theta, converged


def _simplex(x):
    """A small starting simplex around x (steps of 1e-3 of each element, at least 1e-4) for the restart."""
    x = np.asarray(x, dtype=float)
    pts = [x.copy()]
    for k in range(x.size):
        y = x.copy()
        step = 1e-3 * max(abs(x[k]), 0.1)
        y[k] = x[k] + step
        pts.append(y)
    return np.array(pts)


def fit_lmm(y, X, Z, groups, method: str = "REML", *, start=None) -> LmmFit:
    """Fit y = X beta + Z b + e with b_j ~ N(0, G) per group by REML or ML (lme4's criterion).

    Parameters
    ----------
    y : array (n,); X : array (n, p) fixed-effects design (full column rank); Z : array (n, q)
        random-effects design of each row; groups : int array (n,) group codes 0..m-1.
    method : "REML" (default) or "ML".
    start : theta to start from (default lme4's, Lambda = I).

    Returns an :class:`LmmFit`; ``singular`` is True (with a BoundaryWarning) when a diagonal element of
    Lambda is at 0, i.e. G is singular, as lme4's ``isSingular``.
    """
    method = method.upper()
    if method not in ("REML", "ML"):
        raise ValueError(f"method must be REML or ML, not {method!r}")
    y, X, Z = np.asarray(y, dtype=float), np.asarray(X, dtype=float), np.asarray(Z, dtype=float)
    groups = np.asarray(groups)
    n = y.shape[0]
    if (y.ndim != 1 or X.ndim != 2 or Z.ndim != 2 or X.shape[0] != n or Z.shape[0] != n
            or groups.shape != (n,)):
        raise ValueError(f"y (n,), X (n, p), Z (n, q) and groups (n,) expected, got {y.shape}, {X.shape}, "
                         f"{Z.shape}, {groups.shape}")
    if groups.dtype.kind not in "iu" or n == 0 or groups.min() < 0:
        raise ValueError("groups must be integer codes 0..m-1")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(X)) and np.all(np.isfinite(Z))):
        raise ValueError("y, X and Z must be finite")
    s = sufficient_stats(y, X, Z, groups)
    theta, converged = _optimise(s, method, start)
    return _finish(s, theta, method, converged)


def _finish(s: _Stats, theta, method, converged) -> LmmFit:
    f = _pls(s, theta)
    crit = criterion(s, theta, method)
    sigma2 = f.r2 / (s.n - s.p if method == "REML" else s.n)
    cov_beta = sigma2 * np.linalg.inv(f.RXtRX)
    lam = f.lam
    # u_j = M_j^{-1} (Lambda'Z_j'y_j - Lambda'Z_j'X_j beta);  b_j = Lambda u_j
    Minv = f.Minv
    u = np.einsum("jab,jb->ja", Minv, f.LtZty - f.LtZtX @ f.beta)
    ranef = u @ lam.T
    ranef_cov = sigma2 * np.einsum("ia,jab,kb->jik", lam, Minv, lam)
    G = sigma2 * lam @ lam.T
    diag = np.asarray(theta)[_diag_index(s.q)]
    singular = bool(np.any(diag < SINGULAR_TOL))
    if singular:
        warnings.warn("boundary (singular) fit: a random-effect variance or correlation is at the edge of "
                      "its space (a diagonal of Lambda is 0)", BoundaryWarning, stacklevel=3)
    if not converged:
        warnings.warn("the optimiser of the REML/ML criterion did not report convergence", ConvergenceWarning,
                      stacklevel=3)
    nobs = s.nobs
    dbeta = -np.einsum("ia,jak->jik", lam, Minv @ f.LtZtX)
    return LmmFit(beta=f.beta, cov_beta=cov_beta, sigma2=float(sigma2), G=G, theta=np.asarray(theta, float),
                  ranef=ranef, ranef_cov=ranef_cov, reml_crit=float(crit), loglik=-0.5 * float(crit),
                  converged=converged, singular=singular, method=method, n=s.n, p=s.p, q=s.q, m=s.m,
                  nobs_group=nobs, _stats=s, ranef_dbeta=dbeta)


def _richardson_d1(f, x, h):
    """f'(x) by central differences at h, h/2, h/4 with two Richardson steps (error O(h^6))."""
    d = [(f(x + hh) - f(x - hh)) / (2 * hh) for hh in (h, h / 2, h / 4)]
    d1 = [(4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3]
    return (16 * d1[1] - d1[0]) / 15


def _hessian(f, x, h=1e-3):
    """Hessian of f at x: central second differences, Richardson-extrapolated as in _richardson_d1."""
    k = x.size
    H = np.empty((k, k))
    f0 = f(x)

    def second(i, j, hh):
        ei = np.zeros(k)
        ej = np.zeros(k)
        ei[i] = hh
        ej[j] = hh
        if i == j:
            return (f(x + ei) - 2 * f0 + f(x - ei)) / (hh * hh)
        return (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * hh * hh)

    for i in range(k):
        for j in range(i, k):
            d = [second(i, j, hh) for hh in (h, h / 2, h / 4)]
            d1 = [(4 * d[1] - d[0]) / 3, (4 * d[2] - d[1]) / 3]
            H[i, j] = H[j, i] = (16 * d1[1] - d1[0]) / 15
    return H


def vcov_varpar(fit: LmmFit) -> np.ndarray:
    """A = 2 H^{-1}: the asymptotic covariance of tau = (theta, sigma) from the deviance's Hessian."""
    s = fit._stats
    tau = np.concatenate((fit.theta, [math.sqrt(fit.sigma2)]))
    dev = lambda t: deviance_vp(s, t[:-1], t[-1], fit.method)  # noqa: E731
    H = _hessian(dev, tau, h=1e-3 * max(1.0, float(np.max(np.abs(tau)))))
    return 2.0 * np.linalg.pinv(H)


def _vcov_beta_at(s: _Stats, theta, sigma: float) -> np.ndarray:
    return sigma * sigma * np.linalg.inv(_pls(s, theta).RXtRX)


def satterthwaite_parts(fit: LmmFit) -> tuple[np.ndarray, np.ndarray]:
    """(A, dC): A = 2 H^{-1} (k+1, k+1) and dC (k+1, p, p) the derivatives of C = Var(beta) in tau =
    (theta, sigma), computed once so that the df of any contrast costs two quadratic forms."""
    s = fit._stats
    sigma = math.sqrt(fit.sigma2)
    k = fit.theta.size
    dC = np.empty((k + 1, fit.p, fit.p))
    for i in range(k):
        def f(t, i=i):
            th = fit.theta.copy()
            th[i] = t
            return _vcov_beta_at(s, th, sigma)
        dC[i] = _richardson_d1(f, fit.theta[i], 1e-3 * max(1.0, abs(fit.theta[i])))
    dC[k] = 2.0 * fit.cov_beta / sigma
    return vcov_varpar(fit), dC


def satterthwaite_df(fit: LmmFit, L, parts=None) -> float:
    """Satterthwaite's df of L'beta (Kuznetsova et al. 2017, eq. 5; lmerTest's ``contest1D``).

    df = 2 (L'CL)^2 / (g'Ag) with C = Var(beta)(tau), g its gradient in tau = (theta, sigma) and
    A = 2 H^{-1} (:func:`vcov_varpar`). See the module docstring for how the derivatives are computed.
    ``parts``: :func:`satterthwaite_parts` of this fit, to reuse for several contrasts.
    """
    L = np.asarray(L, dtype=float).reshape(-1)
    A, dC = satterthwaite_parts(fit) if parts is None else parts
    var = float(L @ fit.cov_beta @ L)
    g = np.einsum("a,kab,b->k", L, dC, L)
    denom = float(g @ A @ g)
    if not denom > 0.0:
        return math.inf
    return 2.0 * var * var / denom


def prediction_variance(fit: LmmFit, j: int, x, z) -> float:
    """Var(x'beta_hat + z'b_hat_j - (x'beta + z'b_j)): Henderson's prediction error variance of a
    group's line, the uncertainty of beta_hat included (Henderson, 1975, Biometrics 31(2), 423-447, the
    inverse of the mixed model equations' coefficient matrix), at the estimated variance parameters:

        (x + D_j'z)' C (x + D_j'z) + z' Var(b_j | y) z,   D_j = d b_hat_j / d beta (``ranef_dbeta``).
    """
    x = np.asarray(x, dtype=float)
    z = np.asarray(z, dtype=float)
    a = x + fit.ranef_dbeta[j].T @ z
    return float(a @ fit.cov_beta @ a + z @ fit.ranef_cov[j] @ z)
