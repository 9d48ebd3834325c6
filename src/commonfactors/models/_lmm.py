"""Random-intercept linear mixed models in closed form: clients within therapists, optionally therapists
within sites, fitted by REML or ML from per-therapist sums.

The model for client i of therapist j (in site k) is

    y_ij = x_ij' beta + u_j [+ v_k] + e_ij,   u_j ~ N(0, s2_t),  v_k ~ N(0, s2_s),  e_ij ~ N(0, s2),

written, as lme4 does (Bates, Maechler, Bolker & Walker, 2015, J. Stat. Softw. 67(1), section 3), with the
relative parameters theta_t = s_t / s and theta_s = s_s / s, tau = theta^2. The marginal covariance is
s2 H with H = I + tau_t Z_t Z_t' + tau_s Z_s Z_s', block-diagonal by site (by therapist without sites).

Within a therapist block H_j = I + tau_t 1 1', and by the Sherman-Morrison formula and the matrix
determinant lemma (Harville, 1997, Matrix Algebra From a Statistician's Perspective, ch. 18)

    H_j^{-1} = I - c_j 1 1',   c_j = tau_t / d_j,   d_j = 1 + tau_t n_j,   log|H_j| = log d_j.

A site block is B_k + tau_s 1 1' with B_k = diag(H_j): the same two identities once more, with
w_k = 1' B_k^{-1} 1 = sum_j n_j / d_j and e_k = tau_s / (1 + tau_s w_k). So for W = [X y]

    W' H^{-1} W = W'W - sum_j c_j s_j s_j' - sum_k e_k t_k t_k',   t_k = sum_{j in k} s_j / d_j,
    log|H| = sum_j log d_j + sum_k log(1 + tau_s w_k),

where s_j = sum_i w_ij are the therapist's sums: one pass over the data, then each evaluation costs
O(m p^2) for m therapists. beta and s2 are profiled out: with M = X'H^{-1}X, beta = M^{-1} X'H^{-1}y and
r2 = y'H^{-1}y - beta' X'H^{-1}y (lme4's penalized residual sum of squares), the criteria are lme4's
profiled deviance and profiled REML criterion (Bates et al. 2015, section 3)

    deviance (ML):   log|H| + n (1 + log(2 pi r2 / n)),
    REMLcrit (REML): log|H| + log|M| + (n - p) (1 + log(2 pi r2 / (n - p))),

functions of (theta_t, theta_s) alone, with s2 = r2 / n (ML) or r2 / (n - p) (REML). Their derivatives
with respect to tau follow from d(W'H^{-1}W) = -W'H^{-1} (dH) H^{-1}W, dH = Z Z':

    dr2 = -sum_g rho_g^2,   d log|M| = -sum_g q_g' M^{-1} q_g,

where (q_g, rho_g) = Z_g' H^{-1} [X, y - X beta] per therapist (for tau_t) or per site (for tau_s). The
minimum over theta_t >= 0 is found on a grid of theta (logarithmic from 1e-4 to 1e4, and 0), then by
regula falsi on the derivative to full double precision; with sites the minimum over theta_t is
nested in the one over theta_s (its derivative, by the envelope theorem, is the partial one at the inner
minimum). Every function takes a leading axis of "lanes": several values of theta, or several data sets
with the same design (the parametric bootstrap), are evaluated at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_LOG_2PI = math.log(2.0 * math.pi)
#: the grid of theta searched before the root finder (0 is added)
THETA_GRID = np.logspace(-4.0, 4.0, 17)
#: the most steps of the root finder (it stops when no estimate moves; a bisection would need 60)
ROOT_STEPS = 100
#: several data sets at once (the bootstrap): a coarser grid, and theta to 1e-10 relative
LANES_GRID = np.logspace(-4.0, 4.0, 9)
LANES_RTOL = 1e-10
#: lme4's isSingular() tolerance: a theta below it is a boundary (singular) fit
SINGULAR_TOL = 1e-4


@dataclass(frozen=True)
class Sums:
    """The sufficient statistics of the model: ``S`` (..., P, P) = W'W with W = [X y] (P = p + 1), ``s``
    (..., m, P) each therapist's column sums of W, ``n`` (m,) clients per therapist, ``site`` (m,) the site
    code of each therapist (None without sites) and ``n_sites``; ``nobs`` clients, ``p`` fixed effects.
    A leading axis of ``S`` and ``s`` holds several data sets of the same design (lanes)."""

    S: np.ndarray
    s: np.ndarray
    n: np.ndarray
    site: np.ndarray | None
    n_sites: int
    nobs: int
    p: int

    @property
    def m(self) -> int:
        return self.n.shape[0]

    def take(self, lanes: np.ndarray) -> Sums:
        """The sums of the data sets ``lanes`` (itself when it holds one data set, shared by all lanes)."""
        if self.S.ndim == 2:
            return self
        return Sums(S=self.S[lanes], s=self.s[lanes], n=self.n, site=self.site, n_sites=self.n_sites,
                    nobs=self.nobs, p=self.p)


def sums(X: np.ndarray, y: np.ndarray, groups: np.ndarray, site_of_group: np.ndarray | None = None) -> Sums:
    """Sums of ``X`` (n, p), ``y`` (n,) or (n, L) for L data sets, ``groups`` (n,) therapist codes 0..m-1,
    ``site_of_group`` (m,) site codes 0..K-1 (therapists nested in sites) or None."""
    m = int(groups.max()) + 1
    n = np.bincount(groups, minlength=m).astype(float)
    p = X.shape[1]
    if y.ndim == 1:
        W = np.column_stack((X, y))
        S = np.einsum("ij,ik->jk", W, W)  # not BLAS: its threads stall on a busy machine
        s = _group_sums(groups, W, m)
    else:  # L data sets with the same X: lanes first
        L = y.shape[1]
        XX = np.einsum("ij,ik->jk", X, X)
        Xy = X.T @ y  # (p, L)
        S = np.empty((L, p + 1, p + 1))
        S[:, :p, :p] = XX
        S[:, :p, p] = Xy.T
        S[:, p, :p] = Xy.T
        S[:, p, p] = np.einsum("il,il->l", y, y)
        s = np.empty((L, m, p + 1))
        s[:, :, :p] = _group_sums(groups, X, m)
        order = np.argsort(groups, kind="stable")
        starts = np.searchsorted(groups[order], np.arange(m))
        s[:, :, p] = np.add.reduceat(y[order], starts, axis=0).T  # every therapist has a client
    K = 0 if site_of_group is None else int(site_of_group.max()) + 1
    return Sums(S=S, s=s, n=n, site=site_of_group, n_sites=K, nobs=int(n.sum()), p=p)


def _group_sums(groups: np.ndarray, A: np.ndarray, m: int) -> np.ndarray:
    """Column sums of ``A`` (n, c) over the rows of each group: (m, c)."""
    return np.column_stack([np.bincount(groups, weights=A[:, c], minlength=m) for c in range(A.shape[1])])


@dataclass(frozen=True)
class Evaluation:
    """The criterion and what comes with it at (tau_t, tau_s), one value per lane: ``crit`` (REMLcrit or
    deviance), ``grad_t``/``grad_s`` its derivatives with respect to tau_t and tau_s, ``beta`` (L, p),
    ``M`` (L, p, p) = X'H^{-1}X, ``r2`` the penalized residual sum of squares, ``sigma2`` the residual
    variance, ``resid_t`` (L, m) = 1_j'H^{-1}(y - X beta) per therapist and ``resid_s`` (L, K) per site."""

    crit: np.ndarray
    grad_t: np.ndarray
    grad_s: np.ndarray
    beta: np.ndarray
    M: np.ndarray
    r2: np.ndarray
    sigma2: np.ndarray
    resid_t: np.ndarray
    resid_s: np.ndarray | None
    d: np.ndarray
    e: np.ndarray | None


def _site_sum(a: np.ndarray, site: np.ndarray, K: int) -> np.ndarray:
    """Sums over the therapists of each site along axis 1 of ``a`` (L, m) or (L, m, P)."""
    onehot = _onehot(site, K)
    return a @ onehot if a.ndim == 2 else np.swapaxes(np.swapaxes(a, 1, 2) @ onehot, 1, 2)


def _onehot(site: np.ndarray, K: int) -> np.ndarray:
    out = np.zeros((site.shape[0], K))
    out[np.arange(site.shape[0]), site] = 1.0
    return out


def evaluate(tau_t, tau_s, st: Sums, *, reml: bool) -> Evaluation:
    """The criterion, its derivatives and the GLS fit at ``tau_t``, ``tau_s`` (arrays of L lanes; ``tau_s``
    ignored without sites), for the sums ``st`` (one data set, or L of them)."""
    tau_t = np.atleast_1d(np.asarray(tau_t, dtype=float))
    L = tau_t.shape[0]
    p, nobs, n = st.p, st.nobs, st.n
    s = st.s if st.s.ndim == 3 else st.s[None]
    S = st.S if st.S.ndim == 3 else st.S[None]
    d = 1.0 + tau_t[:, None] * n  # (L, m)
    sd = s / d[:, :, None]  # s_j / d_j
    A = S - np.swapaxes(tau_t[:, None, None] * sd, 1, 2) @ s  # W'B^{-1}W: c_j s_j s_j' = tau_t (s_j/d_j) s_j'
    logdet_h = np.log(d).sum(axis=1)
    sited = st.site is not None
    if sited:
        tau_s = np.broadcast_to(np.asarray(tau_s, dtype=float), (L,))
        K = st.n_sites
        t = _site_sum(sd, st.site, K)  # (L, K, P)
        w = _site_sum(n / d, st.site, K)  # (L, K)
        g = 1.0 + tau_s[:, None] * w
        e = tau_s[:, None] / g
        A = A - np.swapaxes(e[:, :, None] * t, 1, 2) @ t
        logdet_h = logdet_h + np.log(g).sum(axis=1)
        q = sd - (e[:, :, None] * t)[:, st.site] * (n / d)[:, :, None]  # Z_t'H^{-1}W per therapist
    else:
        q = sd
    A = (A + np.swapaxes(A, 1, 2)) / 2
    M = A[:, :p, :p]
    Minv = np.linalg.inv(M)
    beta = (Minv @ A[:, :p, p:])[:, :, 0]
    r2 = A[:, p, p] - (beta * A[:, :p, p]).sum(axis=1)
    nu = nobs - p if reml else nobs
    crit = logdet_h + nu * (1.0 + _LOG_2PI + np.log(r2 / nu))
    if reml:
        crit = crit + np.linalg.slogdet(M)[1]
    coef = np.concatenate((-beta, np.ones((L, 1))), axis=1)  # W [-beta; 1] = y - X beta

    def derivative(qg, dlogdet):
        rho = (qg @ coef[:, :, None])[:, :, 0]
        out = dlogdet - nu * np.square(rho).sum(axis=1) / r2
        if reml:
            qx = qg[:, :, :p]
            out = out - ((qx @ Minv) * qx).sum(axis=(1, 2))
        return out, rho

    if sited:
        nd2 = _site_sum((n / d) ** 2, st.site, K)
        dlog_t = (n / d).sum(axis=1) - (e * nd2).sum(axis=1)
        grad_t, resid_t = derivative(q, dlog_t)
        grad_s, resid_s = derivative(t / g[:, :, None], (w / g).sum(axis=1))
    else:
        grad_t, resid_t = derivative(q, (n / d).sum(axis=1))
        grad_s, resid_s, e = np.zeros(L), None, None
    return Evaluation(crit=crit, grad_t=grad_t, grad_s=grad_s, beta=beta, M=M, r2=r2, sigma2=r2 / nu,
                      resid_t=resid_t, resid_s=resid_s, d=d, e=e)


def _root(lo, hi, sign_fun, steps: int = ROOT_STEPS, rtol: float = 1e-15):
    """The root of each lane's function in its bracket [lo, hi], where ``sign_fun`` is <= 0 at ``lo`` and
    > 0 at ``hi``: regula falsi with the Illinois modification (Dowell & Jarratt, 1971, BIT 11, 168-174;
    superlinear, the bracket kept), falling back to the midpoint when a step leaves the bracket, until no
    lane's estimate moves by more than ``rtol`` relative."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    flo, fhi = sign_fun(lo), sign_fun(hi)
    flo = np.minimum(flo, 0.0)
    fhi = np.where(fhi > 0, fhi, np.inf)  # no sign change: the bracket's upper end
    side = np.zeros(lo.shape)
    x = hi.copy()
    for _ in range(steps):
        with np.errstate(invalid="ignore", divide="ignore"):
            new = np.where(np.isfinite(fhi), lo - flo * (hi - lo) / (fhi - flo), 0.5 * (lo + hi))
        inside = (new > lo) & (new < hi)
        new = np.where(inside, new, 0.5 * (lo + hi))
        done = np.abs(new - x) <= rtol * np.abs(new) + 1e-300
        x = new
        if done.all():
            break
        fx = sign_fun(x)
        up = fx > 0
        flo_new = np.where(up, flo, fx)
        fhi_new = np.where(up, fx, fhi)
        flo = np.where(up & (side > 0), flo_new / 2, flo_new)  # Illinois: the end kept twice is halved
        fhi = np.where(~up & (side < 0), fhi_new / 2, fhi_new)
        lo, hi = np.where(up, lo, x), np.where(up, x, hi)
        side = np.where(up, 1.0, -1.0)
        if (hi - lo <= rtol * hi).all():
            break
    return x


def _newton(lo, hi, fun_deriv, rtol: float = 1e-15, ftol: float = 0.0, steps: int = ROOT_STEPS):
    """The root of each lane's function in its bracket [lo, hi] (negative at ``lo``, positive at ``hi``) by
    Newton's method kept inside the bracket: a step that leaves it, or a zero derivative, bisects instead
    (the safeguard of Press et al., 2007, Numerical Recipes, 3rd ed., section 9.4). ``fun_deriv(x)``
    returns the function and its derivative. Stops when in every lane the estimate moves by no more than
    ``rtol`` relative or the function is within ``ftol`` of 0 (its rounding noise)."""
    lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
    x = 0.5 * (lo + hi)
    for _ in range(steps):
        f, df = fun_deriv(x)
        up = f > 0
        lo, hi = np.where(up, lo, x), np.where(up, x, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = x - f / df
        new = np.where((new > lo) & (new < hi), new, 0.5 * (lo + hi))
        done = (np.abs(new - x) <= rtol * np.abs(new) + 1e-300) | (np.abs(f) <= ftol)
        x = np.where(f == 0, x, new)
        if done.all():
            break
    return x


def _argmin_1d(crit_grad, L: int):
    """The minimiser over theta >= 0 of each lane's function: ``crit_grad(theta)`` returns (criterion,
    derivative with respect to theta^2) at an array of L thetas. Grid, then regula falsi on the derivative's
    sign in the bracket around the grid's best point (0 when the derivative at 0 is not negative).
    Returns (theta, converged): not converged when the best grid point is the last one."""
    rtol = 1e-15 if L == 1 else LANES_RTOL
    grid = np.concatenate(([0.0], THETA_GRID if L == 1 else LANES_GRID))
    if L == 1:  # one data set: the whole grid at once, as lanes
        values = crit_grad(grid)[0][None, :]
    else:
        values = np.empty((L, grid.shape[0]))
        for i, th in enumerate(grid):
            values[:, i] = crit_grad(np.full(L, th))[0]
    best = np.argmin(values, axis=1)
    at = grid[best]
    grad_at = crit_grad(at)[1]
    lo = np.where(grad_at > 0, grid[np.maximum(best - 1, 0)], at)
    hi = np.where(grad_at > 0, at, grid[np.minimum(best + 1, grid.shape[0] - 1)])
    theta = _root(lo, hi, lambda th: crit_grad(th)[1], rtol=rtol)
    boundary = (best == 0) & (grad_at >= 0)
    theta = np.where(boundary, 0.0, theta)
    return theta, best < grid.shape[0] - 1


@dataclass(frozen=True)
class Fit:
    """The fit of one data set (or one per lane): ``theta`` (L, 2) = (theta_t, theta_s) (theta_s = 0 without
    sites), the evaluation there, ``converged`` (L,)."""

    theta: np.ndarray
    ev: Evaluation
    converged: np.ndarray


def _inner(tau_s, st: Sums, reml: bool, guess=None):
    """theta_t minimising the criterion for each lane's tau_s.

    With a ``guess`` per lane (the minimiser at a nearby tau_s: the nested fit's previous step), the bracket
    [guess / 2, 2 guess] is tried first; the lanes where the derivative changes sign in it (or whose guess is
    0 with a derivative at 0 that is not negative) take the root there, the others search the grid."""
    L = tau_s.shape[0]
    if guess is None or guess.shape != (L,):
        return _argmin_1d(lambda th: _cg_t(th, tau_s, st, reml), L)
    at_zero = guess == 0
    lo, hi = guess / 2, np.where(at_zero, THETA_GRID[0], 2 * guess)
    g_lo, g_hi = _cg_t(lo, tau_s, st, reml)[1], _cg_t(hi, tau_s, st, reml)[1]
    zero = at_zero & (g_lo >= 0)
    good = ((g_lo <= 0) & (g_hi > 0)) & ~zero
    theta, ok = np.zeros(L), np.ones(L, dtype=bool)
    rtol = 1e-15 if L == 1 else LANES_RTOL
    if good.any():
        i = np.flatnonzero(good)
        sub, ts = st.take(i), tau_s[i]
        theta[i] = _root(lo[i], hi[i], lambda th: _cg_t(th, ts, sub, reml)[1], rtol=rtol)
    rest = ~(good | zero)
    if rest.any():
        i = np.flatnonzero(rest)
        sub, ts = st.take(i), tau_s[i]
        theta[i], ok[i] = _argmin_1d(lambda th: _cg_t(th, ts, sub, reml), i.shape[0])
    return theta, ok


def _cg_t(th, tau_s, st, reml):
    ev = evaluate(th * th, tau_s, st, reml=reml)
    return ev.crit, ev.grad_t


def fit(st: Sums, *, reml: bool, lanes: int | None = None) -> Fit:
    """Minimise the criterion over theta_t >= 0 (and theta_s >= 0 with sites). ``lanes`` is the number of
    data sets in ``st`` (None: one)."""
    L = 1 if lanes is None else lanes
    if st.site is None:
        theta_t, ok = _inner(np.zeros(L), st, reml)
        theta_s = np.zeros(L)
    else:
        last = {}  # the inner minimiser of the previous call: the start of the next one

        def outer(ths):
            tau_s = ths * ths
            tht, _ = _inner(tau_s, st, reml, last.get("theta_t"))
            last["theta_t"] = tht
            ev = evaluate(tht * tht, tau_s, st, reml=reml)
            return ev.crit, ev.grad_s

        theta_s, ok = _argmin_1d(outer, L)
        theta_t, ok_t = _inner(theta_s * theta_s, st, reml)
        ok = ok & ok_t
    ev = evaluate(theta_t * theta_t, theta_s * theta_s, st, reml=reml)
    return Fit(theta=np.column_stack((theta_t, theta_s)), ev=ev, converged=ok)


def profile_theta_t(st: Sums, *, reml: bool, theta_hat: float, crit_hat: float, q: float):
    """The profile interval of theta_t without sites: {theta: d(theta) - d(theta_hat) <= q}, as
    (low, high); low = 0 when d(0) - d(theta_hat) <= q, high = inf when the criterion stays within q up to
    theta = 1e4."""
    def excess(th):
        return evaluate(th * th, 0.0, st, reml=reml).crit - crit_hat - q

    def excess_deriv(th):  # with respect to theta: 2 theta d/d(theta^2)
        ev = evaluate(th * th, 0.0, st, reml=reml)
        return sign * (ev.crit - crit_hat - q), sign * 2.0 * th * ev.grad_t

    lo_ends = np.array([0.0, theta_hat])
    f0 = excess(np.array([0.0]))[0]
    grid = THETA_GRID[THETA_GRID > theta_hat]
    above = excess(grid) > 0 if grid.size else np.array([], dtype=bool)
    if above.any():
        i = int(np.argmax(above))
        hi_bracket = (grid[i - 1] if i > 0 else theta_hat, grid[i])
    else:
        hi_bracket = None
    brackets_lo = np.array([lo_ends[0], hi_bracket[0] if hi_bracket else 0.0])
    brackets_hi = np.array([lo_ends[1], hi_bracket[1] if hi_bracket else 1.0])
    # the lower root: excess falls through 0 from 0 to theta_hat; the upper one rises through 0
    sign = np.array([-1.0, 1.0])
    # the criterion is known to ~1e-16 of its size: closer to the root its sign is rounding noise
    roots = _newton(brackets_lo, brackets_hi, excess_deriv, ftol=1e-13 * (abs(crit_hat) + q))
    low = 0.0 if f0 <= 0 else float(roots[0])
    high = float(roots[1]) if hi_bracket else math.inf
    return low, high


def profile_share(st: Sums, *, reml: bool, psi_hat: float, crit_hat: float, q: float):
    """The profile interval of the therapist share psi = tau_t / (1 + tau_t + tau_s) with sites: for each
    psi the criterion is minimised over theta_s >= 0 with tau_t = psi (1 + tau_s) / (1 - psi); the interval is
    {psi: min - d_hat <= q}, (low, high), low = 0 when the profile at psi = 0 is within q."""
    def profile(psi):  # psi: (L,) in [0, 1)
        ratio = psi / (1.0 - psi)

        def cg(ths):
            tau_s = ths * ths
            ev = evaluate(ratio * (1.0 + tau_s), tau_s, st, reml=reml)
            return ev.crit, ev.grad_s + ev.grad_t * ratio

        ths, _ = _argmin_1d(cg, psi.shape[0])
        return cg(ths)[0]

    def excess(psi):
        return profile(psi) - crit_hat - q

    f0 = excess(np.array([0.0]))[0]
    cap = 1.0 - 1e-9
    f_cap = excess(np.array([cap]))[0]
    # one end at a time: the inner minimisation of a single lane evaluates its grid at once
    low = 0.0 if f0 <= 0 else float(_root(np.array([0.0]), np.array([psi_hat]), lambda x: -excess(x))[0])
    high = float(_root(np.array([psi_hat]), np.array([cap]), excess)[0]) if f_cap > 0 else 1.0
    return low, high
