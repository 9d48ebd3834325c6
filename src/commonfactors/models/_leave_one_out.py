"""The k models fitted without one study each, all at once, in O(k) memory and time (no k x k matrix).

Every quantity of a (mixed-effects) meta-analytic model with weights w_j = 1/(v_j + tau2) is a function of
the moments

    M_m(tau2) = sum_j w_j^m z_j z_j',   z_j = (x_j', y_j)',   m = 1, 2, 3

((p + 1) x (p + 1) matrices; y and the moderators but the intercept are centred at their means, which
changes no quantity below but the coefficients, given back in the original parametrisation by
:meth:`DeletionSums.uncentred`, and keeps the quadratic forms free of cancellation): with A = (X'WX)^{-1}
and e = Z (-b', 1)',

    b = A X'Wy,  Q(tau2) = sum w e^2 = (-b', 1) M_1 (-b', 1)',  y'PPy = (-b', 1) M_2 (-b', 1)',
    tr(W) = M_1[0, 0], tr(P) = tr(W) - tr(A X'W^2X), tr(PP) = tr(W^2) - 2 tr(A X'W^3X) + tr((A X'W^2X)^2),
    y'PPPy = (-b', 1) M_3 (-b', 1)' - c'Ac,  c = X'W^2e

(Raudenbush, 2009, eq. 16.6-16.10; Viechtbauer, 2005, J. Educ. Behav. Stat. 30(3), 261-293, eq. 11-14;
Harville, 1977, JASA 72(358), 320-338, for the derivatives). The moments of the data without study i are
those of all k studies minus study i's term. The leave-one-out tau2_(-i) differ from study to study, so the
full moments are needed at k different tau2; near the expansion centre c (the full-data estimate) they are
a series in the shift d = tau2 - c: with s = min_j (v_j + c) and u_j = s / (v_j + c) <= 1,

    (v_j + c + d)^{-m} = s^{-m} sum_n binom(-m, n) (d/s)^n u_j^{m+n},
    M_m(c + d) = s^{-m} sum_n binom(-m, n) (d/s)^n G_{m+n},   G_r = sum_j u_j^r z_j z_j',

which converges for |d| < s; it is used for |d| <= s / 4 (34 terms bound the truncation below 1e-16), and
the sums are computed directly, in blocks, for the few studies whose tau2_(-i) is farther away. Each
estimator is then solved for all k deleted data sets together, by the code of single fits (:mod:`.tau2`):
the closed forms (DL, HE, HS, SJ; :func:`.tau2.closed_form`) from the statistics computed here from the
moments, ML and REML by the likelihood iteration (:func:`.tau2.score_roots`) and PM, EB and PMM by the
root finder of Q(tau2) = target (:func:`.tau2.q_roots`), vectorised over the studies.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import _distributions as dist
from .tau2 import CLOSED_FORMS, closed_form, likelihood_equation, q_roots, score_roots, search_limit

#: the series in the shift of tau2 is used up to |d| <= SERIES_RADIUS * s (see the module docstring)
SERIES_RADIUS = 0.25
#: terms of the series: binom(N + 2, 2) SERIES_RADIUS^N < 1e-17
SERIES_TERMS = 34
#: entries of the (studies x k) weight blocks of the direct sums
BLOCK = 1 << 21


def _binomial_signs(m: int, n: np.ndarray) -> np.ndarray:
    """binom(-m, n) = (-1)^n binom(m + n - 1, n) for m = 1, 2, 3."""
    sign = np.where(n % 2 == 0, 1.0, -1.0)
    if m == 1:
        return sign
    if m == 2:
        return sign * (n + 1.0)
    return sign * (n + 1.0) * (n + 2.0) / 2.0


def _terms(radius: float) -> int:
    """The number of terms N of the series for |d/s| <= ``radius``: binom(N + 2, 2) radius^N < 1e-17."""
    n = 0
    while n < SERIES_TERMS and (n + 1) * (n + 2) / 2 * radius**n >= 1e-17:
        n += 1
    return n


class DeletionSums:
    """The moments M_m of the k data sets without one study (see the module docstring).

    ``X`` (k, p) with the intercept first, ``y`` and ``v`` (k,). Memory: the k products z_j z_j' and a few
    arrays of k.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, v: np.ndarray):
        self.k, self.p = X.shape
        self.mean = float(y.mean())
        self.x_mean = X[:, 1:].mean(axis=0)
        Z = np.column_stack([np.ones(self.k), X[:, 1:] - self.x_mean, y - self.mean])
        q = self.p + 1
        self.zz = (Z[:, :, None] * Z[:, None, :]).reshape(self.k, q * q)
        self.v = v
        self.scale = float(v.mean())
        self._series: dict[float, tuple[float, np.ndarray]] = {}

    def uncentred(self, b: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients (n, p) and their covariance matrices (n, p, p) of the centred parametrisation in
        the original one: b_0 = mean(y) + b_0c - sum_j mean(x_j) b_j, A = T A_c T' with T = I but
        T[0, 1:] = -mean(x)."""
        beta = b.copy()
        beta[:, 0] += self.mean - b[:, 1:] @ self.x_mean
        T = np.eye(self.p)
        T[0, 1:] = -self.x_mean
        return beta, T @ A @ T.T

    def _shape(self, flat: np.ndarray) -> np.ndarray:
        return flat.reshape(flat.shape[:-1] + (self.p + 1, self.p + 1))

    def common(self, tau2: float, m: int, idx: np.ndarray) -> np.ndarray:
        """M_m(tau2) at one tau2 of the data without study ``idx[n]`` (n, p+1, p+1); m = -1 .. 3 (m = 0:
        unweighted, m = -1: weights v + tau2)."""
        w = (self.v + tau2) ** -float(m)
        return self._shape((w @ self.zz)[None, :] - w[idx, None] * self.zz[idx])

    def _coefficients(self, center: float) -> tuple[float, np.ndarray]:
        """s and G_r (r = 0 .. SERIES_TERMS + 3) of the series around ``center``."""
        if center not in self._series:
            s = float(np.min(self.v)) + center
            G = np.zeros((SERIES_TERMS + 4, self.zz.shape[1]))
            step = max(1, BLOCK // 64)
            for start in range(0, self.k, step):
                u = s / (self.v[start:start + step] + center)
                zz = self.zz[start:start + step]
                power = np.ones_like(u)
                for r in range(SERIES_TERMS + 4):
                    G[r] += power @ zz
                    power *= u
            self._series[center] = (s, G)
        return self._series[center]

    def at(self, tau2: np.ndarray, idx: np.ndarray | None, powers: tuple[int, ...], center: float
           ) -> list[np.ndarray]:
        """M_m(tau2[n]) (n, p+1, p+1) for each m in ``powers``: of the data without study ``idx[n]``, or of
        all k studies when ``idx`` is None; by the series around ``center`` where it converges fast (each
        entry a polynomial in d/s, by Horner's scheme), directly otherwise."""
        s, G = self._coefficients(center)
        delta = (tau2 - center) / s
        n_out, q2 = tau2.shape[0], self.zz.shape[1]
        out = [np.empty((q2, n_out)) for _ in powers]        # one contiguous row per entry of M_m
        near = np.abs(delta) <= SERIES_RADIUS
        rows = slice(None) if near.all() else np.flatnonzero(near)
        d = delta[rows]
        terms = _terms(float(np.max(np.abs(d)))) if d.size else 0
        for m, o in zip(powers, out, strict=True):
            if not d.size:
                break
            C = _binomial_signs(m, np.arange(terms + 1))[:, None] * G[m:m + terms + 1] * s ** -float(m)
            for j in range(q2):
                acc = np.full(d.shape[0], C[terms, j])
                for n in range(terms - 1, -1, -1):
                    acc *= d
                    acc += C[n, j]
                o[j, rows] = acc
        far = np.flatnonzero(~near)
        block = max(1, BLOCK // self.k)
        for start in range(0, far.shape[0], block):
            sel = far[start:start + block]
            w = 1.0 / (self.v[None, :] + tau2[sel, None])
            for m, o in zip(powers, out, strict=True):
                o[:, sel] = (self.zz.T @ (w**m).T)
        if idx is not None:
            w = 1.0 / (self.v[idx] + tau2)
            zz = self.zz[idx].T
            for m, o in zip(powers, out, strict=True):
                o -= w**m * zz
        return [self._shape(o.T) for o in out]


class Fits:
    """Weighted least squares from the moments M_1 (n, p+1, p+1): ``A`` = (X'WX)^{-1}, ``b`` (centred y),
    ``e`` = (-b', 1) and Q = e' M_1 e."""

    def __init__(self, M1: np.ndarray):
        p = M1.shape[-1] - 1
        self.A = np.linalg.inv(M1[:, :p, :p])
        self.b = np.einsum("nij,nj->ni", self.A, M1[:, :p, p])
        self.e = np.concatenate([-self.b, np.ones((M1.shape[0], 1))], axis=1)
        self.q = quadratic(M1, self.e)
        self.w_sum = M1[:, 0, 0]


def quadratic(M: np.ndarray, e: np.ndarray) -> np.ndarray:
    """e_n' M_n e_n for each n."""
    return np.einsum("ni,nij,nj->n", e, M, e)


def trace_of_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """tr(A_n B_n) for each n."""
    return np.einsum("nij,nji->n", A, B)


def trace_p(f: Fits, M2: np.ndarray) -> np.ndarray:
    """tr(P) = tr(W) - tr(A X'W^2X) from the fits ``f`` and the moments M_2 of the same weights."""
    p = M2.shape[-1] - 1
    return f.w_sum - np.einsum("nii->n", f.A @ M2[:, :p, :p])


def likelihood_terms(M1, M2, M3):
    """(y'PPy, tr(P), tr(PP), tr(W), tr(W^2), y'PPPy) for each deleted data set, from its moments."""
    p = M1.shape[-1] - 1
    f = Fits(M1)
    B2 = M2[:, :p, :p]
    AB2 = f.A @ B2
    ypPPy = quadratic(M2, f.e)
    trP = M1[:, 0, 0] - np.einsum("nii->n", AB2)
    trPP = M2[:, 0, 0] - 2.0 * trace_of_product(f.A, M3[:, :p, :p]) + trace_of_product(AB2, AB2)
    c = np.einsum("nij,nj->ni", M2[:, :p, :], f.e)          # X'W^2 e
    ypPPPy = quadratic(M3, f.e) - np.einsum("ni,nij,nj->n", c, f.A, c)
    return ypPPy, trP, trPP, M1[:, 0, 0], M2[:, 0, 0], ypPPPy


class DeletedTau2:
    """tau2 of the k data sets without one study, for the estimators of :mod:`.tau2` (metafor's definitions,
    as in :func:`.tau2.estimate_tau2`), given the full-data estimate ``full_tau2`` (and the SJ start of the
    full data, ``full_sj_start``, the centre of the series for the deleted SJ starts).

    ``tau2`` (k,) and ``converged`` (k,): a study whose estimate did not converge is to be refitted alone.
    Only for k - 1 - p >= 1 (tau2 is estimable without any one study). The closed forms come from
    :func:`.tau2.closed_form`, with the statistics below (``q_e``, ``tr_p``, ... of the deleted data sets).
    """

    def __init__(self, sums: DeletionSums, method: str, idx: np.ndarray, full_tau2: float,
                 full_sj_start: float = 0.0):
        self.sums, self.idx = sums, idx
        self.k = sums.k - 1
        self.df = sums.k - 1 - sums.p
        self.converged = np.ones(idx.shape[0], dtype=bool)
        self.center, self.sj_center = full_tau2, full_sj_start
        if method in CLOSED_FORMS:
            self.tau2 = closed_form(method, self)[0]
        else:
            estimate = getattr(self, f"_{method.lower()}", None)
            self.tau2 = np.zeros(idx.shape[0]) if estimate is None else estimate()

    def _common(self, tau2: float, m: int) -> np.ndarray:
        return self.sums.common(tau2, m, self.idx)

    # the statistics of the closed forms ------------------------------------------------------------------
    @functools.cached_property
    def _inverse(self) -> tuple[Fits, np.ndarray]:
        f = Fits(self._common(0.0, 1))
        return f, trace_p(f, self._common(0.0, 2))

    q_e = property(lambda self: self._inverse[0].q)
    tr_p = property(lambda self: self._inverse[1])
    sum_w = property(lambda self: self._inverse[0].w_sum)

    @functools.cached_property
    def _unit(self) -> tuple[np.ndarray, Fits]:
        M0 = self._common(0.0, 0)
        return M0, Fits(M0)

    rss = property(lambda self: self._unit[1].q)

    @property
    def tr_pv(self) -> np.ndarray:
        """tr(P V) = sum(v) - tr((X'X)^{-1} X'VX)."""
        Mv = self._common(0.0, -1)
        return Mv[:, 0, 0] - trace_of_product(self._unit[1].A, Mv[:, :self.sums.p, :self.sums.p])

    @functools.cached_property
    def crude(self) -> np.ndarray:
        """mean((y - mean(y))^2) of each deleted data set."""
        M0, p, n = self._unit[0], self.sums.p, self.k
        return (M0[:, p, p] - M0[:, 0, p] ** 2 / n) / n

    q_crude = property(lambda self: Fits(self.sums.at(self.crude, self.idx, (1,), self.sj_center)[0]).q)

    # iterative estimators ---------------------------------------------------------------------------------
    def _likelihood(self, restricted: bool) -> np.ndarray:
        """The maximum of the (restricted) likelihood by :func:`.tau2.score_roots` from the full-data
        estimate. Where the score at 0 is not positive the maximum over tau2 >= 0 is at 0, unless the
        likelihood has a maximum inside (0, infinity) as well: where the iterations see the score positive,
        which maximum they reach depends on their start, and those studies are refitted alone
        (``converged`` False)."""
        def equation(t, sel):
            moments = self.sums.at(t, self.idx[sel], (1, 2, 3), self.center)
            return likelihood_equation(likelihood_terms(*moments), restricted)

        at0 = likelihood_equation(likelihood_terms(*(self._common(0.0, m) for m in (1, 2, 3))), restricted)[0]
        start = np.full(self.idx.shape[0], self.center)
        tau2, ok, positive, _ = score_roots(equation, start, self.sums.scale)
        inside = at0 > 0
        self.converged = np.where(inside, ok, ok & ~positive)
        return np.where(inside, tau2, 0.0)

    def _reml(self):
        return self._likelihood(restricted=True)

    def _ml(self):
        return self._likelihood(restricted=False)

    def _q_root(self, target: float) -> np.ndarray:
        """The tau2 with Q(tau2) = ``target`` (0 when Q(0) <= target) by :func:`.tau2.q_roots` from the
        full-data estimate, up to :func:`.tau2.search_limit`; Q' = -y'PPy (Viechtbauer, 2007)."""
        tau2 = np.zeros(self.idx.shape[0])
        run = np.flatnonzero(Fits(self._common(0.0, 1)).q > target)
        if run.size:
            def q(t, sel):
                M1, M2 = self.sums.at(t, self.idx[run[sel]], (1, 2), self.center)
                f = Fits(M1)
                return f.q, -quadratic(M2, f.e)

            start = np.full(run.size, self.center)
            rss = Fits(self._common(0.0, 0)).q[run]  # the ordinary least-squares residual sum of squares
            tau2[run], self.converged[run] = q_roots(
                q, target, start=start, at_start=q(start, np.arange(run.size)), scale=self.sums.scale,
                limit=search_limit(rss, self.sums.scale, target))
        return tau2

    def _pm(self):
        """Paule & Mandel (1982): Q(tau2) = k - p."""
        return self._q_root(float(self.df))

    _eb = _pm

    def _pmm(self):
        """Median-unbiased Paule-Mandel: Q(tau2) = the median of chi2(k - p) (Viechtbauer, 2021)."""
        return self._q_root(float(dist.chi2_ppf(0.5, self.df)))
