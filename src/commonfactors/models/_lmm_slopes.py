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

Gradient. With H_j = I + Z_j Lambda Lambda' Z_j' (so V_j = sigma2 H_j) the criteria are, up to constants,
log|H| + log|X'H^{-1}X| + (n - p) log r2 (REML) and log|H| + n log r2 (ML) with
r2 = (y - X beta)'H^{-1}(y - X beta) (derivatives as in Harville, 1977, J. Am. Stat. Assoc. 72(358),
320-338). With dH/dtheta_k = Z D_k Z', D_k = E_k Lambda' + Lambda E_k' (E_k the unit matrix at theta_k's
position (r, c)):

    d REMLcrit / d theta_k = tr(P dH) - (n - p)/r2 * r'H^{-1} dH H^{-1} r = 2 (K Lambda)_{rc},
    K = sum_j [S_j - T_j (R_X'R_X)^{-1} T_j'] - (n - p)/r2 sum_j v_j v_j'   (ML: no T_j term, n for n - p),

where S_j = Z_j'H_j^{-1}Z_j = A_j - A_j Lambda M_j^{-1} Lambda'A_j, T_j = Z_j'H_j^{-1}X_j and
v_j = Z_j'H_j^{-1}(y_j - X_j beta) (Woodbury), A_j = Z_j'Z_j, M_j = L_j L_j': q x q and q x p blocks from the
same per-group sums, so the gradient costs about as much as the criterion (tests/test_lmm_slopes.py checks it
against central differences).

Optimisation. The criterion depends on Lambda only through Lambda Lambda', so negating a column of Lambda
leaves it unchanged; theta is therefore searched unbounded and each column's sign fixed at the end (diagonal
>= 0, lme4's parameterisation). A bound at 0 on the diagonal is a trap for a quasi-Newton method: by that
symmetry the derivative in the last diagonal element is exactly 0 there, and L-BFGS-B with bounds, started
from Lambda = I, stopped on the boundary 0.2-2.9 units of the criterion above the optimum on four of the test
data sets. The search is Newton's method with a line search, the Hessian by differences of the analytic
gradient (q = 2: four evaluations per iteration), steps along directions of negative curvature lengthened to
leave saddles (Nocedal & Wright, 2006, Numerical Optimization, 2nd ed., sections 3.4 and 4.3); Newton's
quadratic convergence takes theta to the criterion's rounding, so the final point needs no polishing. It runs
from two starts, lme4's (Lambda = I) and a method-of-moments estimate from per-group least squares
(:func:`_moment_start`), and keeps the lower optimum. A diagonal element left within 1e-4 of 0 is set to 0
when the criterion is no worse there (1e-12 relative). On tests/data/development_astray.csv lme4's bobyqa
stops 23 units of the criterion above the optimum this reaches from either start.

Cost (measured 2026-12-05 on 2 shared cores, the curves of benchmarks/bench_monitor.py: 100,176 scores of
18,211 clients, q = 2, p = 4): 46 evaluations of criterion and gradient (25 and 21 from the two starts),
0.3 s; the former Nelder-Mead, L-BFGS-B with difference gradients and Nelder-Mead restart made about 980
evaluations of the criterion (about 7 s). scipy's L-BFGS-B is not used: with numpy's threaded OpenBLAS
warm, a 3-parameter quadratic took it 110 ms (9 iterations) on these cores, 0.4 ms with one BLAS thread.
Per-group arrays keep the group index last and are combined by einsum, not by BLAS calls.

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
    #: the same per-group sums with the group index last (contiguous (q, q, m), (q, p, m), (q, m)), so that
    #: one evaluation is a few vector operations of length m per element of the small q x q and q x p blocks
    A: np.ndarray | None = None
    B: np.ndarray | None = None
    d: np.ndarray | None = None


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
    last = np.ascontiguousarray(np.moveaxis(sums, 0, -1))  # (q, q + p + 1, m)
    return _Stats(ZtZ=sums[:, :, :q], ZtX=sums[:, :, q:q + p], Zty=sums[:, :, q + p],
                  nobs=np.bincount(g, minlength=m), XtX=X.T @ X,
                  Xty=X.T @ y, yty=float(y @ y), n=n, p=p, q=q, m=m,
                  A=np.ascontiguousarray(last[:, :q]), B=np.ascontiguousarray(last[:, q:q + p]),
                  d=np.ascontiguousarray(last[:, q + p]))


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


def _diag_index(q: int) -> np.ndarray:
    rows, cols = _tril_order(q)
    return np.flatnonzero(rows == cols)


@dataclass(frozen=True)
class _Pls:
    """The penalised least squares solution at one theta; per-group arrays with the group index last."""

    lam: np.ndarray
    LtA: np.ndarray    # (q, q, m) Lambda' Z_j'Z_j
    Minv: np.ndarray   # (q, q, m) (L_j L_j')^{-1}
    ldL2: float
    RXtRX: np.ndarray  # (p, p)
    ldRX2: float
    beta: np.ndarray
    r2: float
    LtB: np.ndarray    # (q, p, m) Lambda' Z_j'X_j
    Ltd: np.ndarray    # (q, m) Lambda' Z_j'y_j
    Wx: np.ndarray     # (q, p, m) M_j^{-1} Lambda' Z_j'X_j
    wy: np.ndarray     # (q, m) M_j^{-1} Lambda' Z_j'y_j


def _inv_logdet(M: np.ndarray) -> tuple[np.ndarray, float]:
    """Inverses of the m symmetric positive definite q x q blocks M (q, q, m) and sum_j log|M_j|: explicit
    for q <= 2 (element-wise over the groups), a batched Cholesky factorisation otherwise."""
    q = M.shape[0]
    if q == 1:
        return 1.0 / M, float(np.log(M[0, 0]).sum())
    if q == 2:
        a, b, c = M[0, 0], M[1, 0], M[1, 1]
        det = a * c - b * b
        if not np.all(det > 0.0):
            raise np.linalg.LinAlgError("not positive definite")
        inv = np.empty_like(M)
        inv[0, 0] = c / det
        inv[1, 1] = a / det
        inv[0, 1] = inv[1, 0] = -b / det
        return inv, float(np.log(det).sum())
    Mg = np.moveaxis(M, -1, 0)
    chol = np.linalg.cholesky(Mg)
    inv = np.ascontiguousarray(np.moveaxis(np.linalg.inv(Mg), 0, -1))
    return inv, 2.0 * float(np.log(np.diagonal(chol, axis1=1, axis2=2)).sum())


def _pls(s: _Stats, theta) -> _Pls:
    q = s.q
    lam = lambda_of(theta, q)
    LtA = np.einsum("ca,cdj->adj", lam, s.A)  # (q, q, m): Lambda' A_j
    M = np.einsum("adj,db->abj", LtA, lam)  # L_j L_j' = Lambda' A_j Lambda + I
    M[np.arange(q), np.arange(q)] += 1.0
    Minv, ldL2 = _inv_logdet(M)
    LtB = np.einsum("ca,cij->aij", lam, s.B)  # (q, p, m)
    Ltd = np.einsum("ca,cj->aj", lam, s.d)  # (q, m)
    Wx = np.einsum("abj,bij->aij", Minv, LtB)
    wy = np.einsum("abj,bj->aj", Minv, Ltd)
    # sum_j C_j'C_j = sum_j (Lambda'Z'X)' M^{-1} (Lambda'Z'X), and the same with y
    RXtRX = s.XtX - np.einsum("aij,akj->ik", LtB, Wx)
    rX = s.Xty - np.einsum("aij,aj->i", LtB, wy)
    cholX = np.linalg.cholesky(RXtRX)
    ldRX2 = 2.0 * float(np.log(np.diag(cholX)).sum())
    beta = np.linalg.solve(RXtRX, rX)
    r2 = s.yty - float(np.einsum("aj,aj->", Ltd, wy)) - float(beta @ rX)
    return _Pls(lam=lam, LtA=LtA, Minv=Minv, ldL2=ldL2, RXtRX=RXtRX, ldRX2=ldRX2, beta=beta,
                r2=max(r2, 0.0), LtB=LtB, Ltd=Ltd, Wx=Wx, wy=wy)


def _crit_of(s: _Stats, f: _Pls, method: str) -> float:
    if f.r2 <= 0.0:
        return math.inf
    if method == "REML":
        nr = s.n - s.p
        return f.ldL2 + f.ldRX2 + nr * (1.0 + _LOG_2PI + math.log(f.r2 / nr))
    return f.ldL2 + s.n * (1.0 + _LOG_2PI + math.log(f.r2 / s.n))


def criterion(s: _Stats, theta, method: str = "REML") -> float:
    """lme4's REMLcrit (method "REML") or deviance ("ML") profiled over beta and sigma2, at theta."""
    try:
        f = _pls(s, theta)
    except np.linalg.LinAlgError:
        return math.inf
    return _crit_of(s, f, method)


def _gradient(s: _Stats, f: _Pls, method: str) -> np.ndarray:
    """d criterion / d theta from the same per-group blocks (see the module docstring):
    2 (K Lambda)_{rc} for theta's element (r, c), K = sum_j [S_j - T_j W T_j'] - (n_eff / r2) sum_j v_j v_j'
    (REML; ML without the T_j W T_j' term), with S_j = Z_j'H_j^{-1}Z_j, T_j = Z_j'H_j^{-1}X_j,
    v_j = Z_j'H_j^{-1}(y_j - X_j beta), W = (R_X'R_X)^{-1}."""
    LtA = f.LtA  # (Lambda'A_j)' = A_j Lambda
    Y = np.einsum("efj,fdj->edj", f.Minv, LtA)  # M_j^{-1} Lambda'A_j
    S = s.A.sum(axis=-1) - np.einsum("ecj,edj->cd", LtA, Y)
    T = s.B - np.einsum("ecj,eij->cij", LtA, f.Wx)  # Z_j'H_j^{-1}X_j
    v = s.d - np.einsum("ecj,ej->cj", LtA, f.wy) - np.einsum("i,cij->cj", f.beta, T)
    U = np.einsum("cj,dj->cd", v, v)
    if method == "REML":
        TW = np.einsum("cij,ik->ckj", T, np.linalg.inv(f.RXtRX))
        K = S - np.einsum("ckj,dkj->cd", TW, T) - (s.n - s.p) / f.r2 * U
    else:
        K = S - s.n / f.r2 * U
    K = 0.5 * (K + K.T)
    rows, cols = _tril_order(s.q)
    return 2.0 * (K @ f.lam)[rows, cols]


def _crit_grad(s: _Stats, theta, method: str) -> tuple[float, np.ndarray]:
    """The criterion and its gradient in theta at one evaluation."""
    try:
        f = _pls(s, theta)
    except np.linalg.LinAlgError:
        return math.inf, np.zeros(np.size(theta))
    crit = _crit_of(s, f, method)
    if not math.isfinite(crit):
        return crit, np.zeros(np.size(theta))
    return crit, _gradient(s, f, method)


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


def _moment_start(s: _Stats) -> np.ndarray | None:
    """A method-of-moments start from the per-group sums: the ordinary least-squares residuals e (coefficients
    b), each group's least-squares coefficients c_j = A_j^{-1} Z_j'e_j (groups with more rows than q and a
    well-conditioned A_j = Z_j'Z_j), sigma2 the pooled residual variance after those per-group fits,
    (e'e - sum_j e_j'Z_j c_j) / (n - p - q k) over k such groups, and G the covariance of the c_j less
    sigma2 times the mean of A_j^{-1} (eigenvalues kept >= 1e-2 of the largest); Lambda = chol(G / sigma2).
    None when fewer than 2q + 1 groups qualify."""
    q = s.q
    try:
        b_ols = np.linalg.solve(s.XtX, s.Xty)
    except np.linalg.LinAlgError:
        return None
    rss = s.yty - float(b_ols @ s.Xty)
    if q == 1:
        ev_lo = ev_hi = s.A[0, 0]
    elif q == 2:  # the eigenvalues of [[a, b], [b, c]]: (a + c)/2 -+ sqrt((a - c)^2/4 + b^2)
        half = 0.5 * (s.A[0, 0] + s.A[1, 1])
        disc = np.sqrt(0.25 * (s.A[0, 0] - s.A[1, 1]) ** 2 + s.A[1, 0] ** 2)
        ev_lo, ev_hi = half - disc, half + disc
    else:
        ev = np.linalg.eigvalsh(np.moveaxis(s.A, -1, 0))
        ev_lo, ev_hi = ev[:, 0], ev[:, -1]
    ok = (s.nobs > q) & (ev_lo > 1e-8 * ev_hi) & (ev_hi > 0.0)
    k = int(ok.sum())
    if k <= 2 * q or s.n - s.p - q * k <= 0:
        return None
    e = (s.d - np.einsum("i,aij->aj", b_ols, s.B)).T[ok]  # (k, q): Z_j'e_j
    try:
        Ainv = np.moveaxis(_inv_logdet(np.ascontiguousarray(s.A[..., ok]))[0], -1, 0)  # (k, q, q)
    except np.linalg.LinAlgError:
        return None
    c = np.einsum("jab,jb->ja", Ainv, e)
    sigma2 = (rss - float(np.einsum("ja,ja->", e, c))) / (s.n - s.p - q * k)
    if not sigma2 > 0.0:
        return None
    G = np.cov(c, rowvar=False).reshape(q, q) - sigma2 * Ainv.mean(axis=0)
    w, V = np.linalg.eigh(G)
    if not w[-1] > 0.0:
        return None
    G = (V * np.maximum(w, 1e-2 * w[-1])) @ V.T
    lam = np.linalg.cholesky(G / sigma2)
    rows, cols = _tril_order(q)
    return lam[rows, cols]


def _canonical(theta, q: int) -> np.ndarray:
    """theta with each column of Lambda negated where its diagonal is negative (Lambda Lambda' unchanged)."""
    lam = lambda_of(theta, q)
    lam *= np.where(np.diag(lam) < 0.0, -1.0, 1.0)
    rows, cols = _tril_order(q)
    return lam[rows, cols]


def _hessian_fd(fg, theta, grad, central: bool = False) -> np.ndarray:
    """Hessian of the criterion by differences of the analytic gradient: forward (steps of 1e-6 of each
    element, at least 1e-7) while searching, central (1e-5, at least 1e-6) at the end; symmetrised."""
    k = theta.size
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        if central:
            e[i] = 1e-5 * max(abs(theta[i]), 0.1)
            H[:, i] = (fg(theta + e)[1] - fg(theta - e)[1]) / (2.0 * e[i])
        else:
            e[i] = 1e-6 * max(abs(theta[i]), 0.1)
            H[:, i] = (fg(theta + e)[1] - grad) / e[i]
    return 0.5 * (H + H.T)


def _newton(fg, theta, max_iter: int = 100):
    """Minimise the criterion from theta by Newton's method with a line search (Nocedal & Wright 2006,
    Numerical Optimization, 2nd ed., sections 3.1 and 3.4): the Hessian from differences of the analytic
    gradient, its eigenvalues replaced by their absolute values (at least 1e-8 of the largest) so that every
    step goes down, steps no longer than 1 + max|theta|, halved until the criterion falls by at least 1e-4 of
    the predicted fall (Armijo). Stops when the Newton decrement g'H^{-1}g (twice the predicted further fall
    of the criterion) is below its rounding (1e-13 relative, at least 1e-10), after one more full step, or
    when no step lowers it. Returns (theta, criterion, converged, evaluations)."""
    fval, grad = fg(theta)
    evals = 1
    k = theta.size
    converged = False
    for _ in range(max_iter):
        if not math.isfinite(fval):
            break
        H = _hessian_fd(fg, theta, grad)
        evals += k
        w, V = np.linalg.eigh(H)
        aw = np.abs(w)
        top = float(aw.max()) if aw.size else 0.0
        if not top > 0.0:
            break
        aw = np.maximum(aw, 1e-8 * top)
        coef = -(V.T @ grad) / aw
        # along a direction of negative curvature (a saddle, e.g. near a diagonal element 0 of Lambda, where
        # the gradient vanishes by symmetry) the Newton length |g/w| is tiny: go at least a tenth of the
        # scale of theta downhill (or either way at a zero slope); the line search shortens it if too long
        neg = w < 0.0
        if np.any(neg):
            floor = 0.1 * (1.0 + float(np.max(np.abs(theta))))
            coef[neg] = np.where(coef[neg] > 0.0, 1.0, -1.0) * np.maximum(np.abs(coef[neg]), floor)
        step = V @ coef
        decrement = max(-float(grad @ step), 0.0)
        if np.any(neg):
            decrement = max(decrement, float(np.sum(-w[neg] * coef[neg] ** 2)) / 2.0)
        rounding = 1e-13 * max(1.0, abs(fval))  # of the criterion: sums over all rows and groups
        if decrement < max(1e-10, rounding) and np.all(w > 0.0):
            # at the optimum to the criterion's rounding: one last full step, kept unless it rises beyond that
            f1, g1 = fg(theta + step)
            evals += 1
            if f1 <= fval + rounding:
                theta, fval = theta + step, f1
            converged = True
            break
        cap = 1.0 + float(np.max(np.abs(theta)))
        size = float(np.max(np.abs(step)))
        if size > cap:
            step *= cap / size
            decrement *= cap / size
        t = 1.0
        while True:
            f1, g1 = fg(theta + t * step)
            evals += 1
            if f1 <= fval - 1e-4 * t * decrement:
                break
            t *= 0.5
            if t < 1e-10:
                break
        if not f1 <= fval - 1e-4 * t * decrement:
            # no step lowers the criterion: at its optimum to rounding when the predicted fall is that small
            converged = decrement < 1e-6
            break
        theta, fval, grad = theta + t * step, f1, g1
    return theta, fval, converged, evals


def _optimise(s: _Stats, method: str, start=None):
    q = s.q
    fg = functools.partial(_crit_grad, s, method=method)
    starts = [_start(s) if start is None else np.asarray(start, dtype=float)]
    mom = _moment_start(s)
    if mom is not None and np.all(np.isfinite(mom)):
        starts.append(mom)
    # the criterion depends on Lambda only through Lambda Lambda', so a column of Lambda and its negative give
    # the same value: theta is searched unbounded and the signs fixed afterwards (with a bound at 0, a step
    # that lands on a diagonal element 0 stays there: the derivative in the last one is exactly 0 there)
    best = None
    for x0 in starts:
        theta, fval, converged, _ = _newton(fg, np.array(x0, dtype=float))
        if best is None or fval < best[1]:
            best = (theta, fval, converged)
    theta, fval, converged = best
    theta = _canonical(theta, q)
    diag = _diag_index(q)
    # a diagonal element a hair above 0 is the boundary: snap it when the criterion is no worse there
    fbest = fval
    for k in diag:
        if 0.0 < theta[k] < SINGULAR_TOL:
            t0 = theta.copy()
            t0[k] = 0.0
            f0 = criterion(s, t0, method)
            if f0 <= fbest + 1e-12 * abs(fbest):
                theta, fbest = t0, min(f0, fbest)
    return theta, converged


def fit_lmm(y, X, Z, groups, method: str = "REML", *, start=None) -> LmmFit:
    """Fit y = X beta + Z b + e with b_j ~ N(0, G) per group by REML or ML (lme4's criterion).

    Parameters
    ----------
    y : array (n,); X : array (n, p) fixed-effects design (full column rank); Z : array (n, q)
        random-effects design of each row; groups : int array (n,) group codes 0..m-1.
    method : "REML" (default) or "ML".
    start : theta to start from instead of lme4's (Lambda = I); the method-of-moments start is tried too.

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
    crit = _crit_of(s, f, method)
    sigma2 = f.r2 / (s.n - s.p if method == "REML" else s.n)
    cov_beta = sigma2 * np.linalg.inv(f.RXtRX)
    lam = f.lam
    # u_j = M_j^{-1} (Lambda'Z_j'y_j - Lambda'Z_j'X_j beta);  b_j = Lambda u_j
    u = (f.wy - np.einsum("i,aij->aj", f.beta, f.Wx)).T  # (m, q)
    ranef = u @ lam.T
    ranef_cov = sigma2 * np.einsum("ia,abj,kb->jik", lam, f.Minv, lam)
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
    dbeta = -np.einsum("ia,akj->jik", lam, f.Wx)  # -Lambda M_j^{-1} Lambda'Z_j'X_j
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
