"""Weighted least squares for meta-analytic models: pure array functions, no pandas.

Every function takes the moderator matrix ``X`` (k, p) and a vector of weights ``w`` (k,) and works in
O(k p^2) time and memory: the k x k matrices of the textbook formulas (the weight matrix ``W``, the
"residual-maker" ``P``) are never formed. With ``A = (X'WX)^{-1}``,

    P = W - W X A X' W,

the matrix whose quadratic form is the (generalised) Q statistic (Raudenbush, 2009, in Cooper, Hedges &
Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 16, eq. 16.9-16.10;
Viechtbauer, 2005, J. Educ. Behav. Stat. 30(3), 261-293, eq. 6-8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum(a * b) for vectors, without BLAS: numpy's einsum loop is as fast single-threaded, and a
    multi-threaded BLAS ddot is 20 times slower on a loaded machine (measured with k = 10^6 on 2 cores)."""
    return float(np.einsum("i,i->", a, b))


def is_intercept_only(X: np.ndarray) -> bool:
    """True when ``X`` is a single column of ones (the model without moderators).

    A column with stride 0 (``_checks.intercept``: one number repeated) is read at its first element."""
    if X.shape[1] != 1:
        return False
    col = X[:, 0]
    if col.strides[0] == 0 and col.shape[0] > 0:
        return bool(col[0] == 1.0)
    return bool(np.all(col == 1.0))


@dataclass(frozen=True)
class WLSFit:
    """Weighted least-squares fit of ``y`` on ``X`` with weights ``w``.

    beta : coefficients (p,); A : (X'WX)^{-1} (p, p); resid : y - X beta (k,);
    q : sum(w * resid**2) = y'Py, the (generalised) Q statistic.
    """

    beta: np.ndarray
    A: np.ndarray
    resid: np.ndarray
    q: float


def wls(y: np.ndarray, X: np.ndarray, w: np.ndarray) -> WLSFit:
    """Weighted least squares: beta = (X'WX)^{-1} X'Wy (Raudenbush, 2009, eq. 16.6)."""
    if X.shape[1] == 1 and is_intercept_only(X):
        sw = w.sum()
        b = np.array([dot(w, y) / sw])
        A = np.array([[1.0 / sw]])
        r = y - b[0]
        return WLSFit(beta=b, A=A, resid=r, q=float(np.einsum("i,i,i->", w, r, r)))
    Xw = X * w[:, None]
    A = np.linalg.inv(X.T @ Xw)
    A = (A + A.T) / 2
    b = A @ (Xw.T @ y)
    r = y - X @ b
    return WLSFit(beta=b, A=A, resid=r, q=dot(w * r, r))


def cochran_q(y: np.ndarray, v: np.ndarray, X: np.ndarray, sums: InterceptSums | None = None
              ) -> tuple[float, float]:
    """Cochran's Q_E = y'Py and tr(P) with the common-effect weights 1/v (Cochran, 1954, Biometrics 10(1),
    101-129; tr(P) is the denominator of DerSimonian & Laird's estimator and of the typical within-study
    variance (k - p) / tr(P) of I2). ``sums`` (the model without moderators) saves the centring of y."""
    if sums is not None:
        at0 = sums.sums(0.0)
        return sums.q_from(at0)[0], sums.trace_P_from(at0)
    w = 1.0 / v
    fit = wls(y, X, w)
    return fit.q, trace_P(X, w, fit.A)


def xdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X without forming diag(d)."""
    if X.shape[1] == 1 and is_intercept_only(X):
        return np.array([[d.sum()]])
    return X.T @ (X * d[:, None])


def trace_P(X: np.ndarray, w: np.ndarray, A: np.ndarray) -> float:
    """tr(P) = sum(w) - tr(A X'W^2X)."""
    if X.shape[1] == 1 and is_intercept_only(X):
        return float(w.sum() - A[0, 0] * dot(w, w))
    return float(w.sum() - np.sum(A * xdx(X, w * w)))


def trace_PDPD(X: np.ndarray, w: np.ndarray, A: np.ndarray, d1: np.ndarray | float,
               d2: np.ndarray | float) -> float:
    """tr(P D1 P D2) for diagonal D1, D2 (given as vectors or scalars), in O(k p^2).

    With M = W X A X' W and P = W - M:
    tr(P D1 P D2) = sum(w^2 d1 d2) - 2 tr(A X' diag(w^3 d1 d2) X) + tr(A B1 A B2),
    where B_j = X' diag(w^2 d_j) X.
    """
    if is_intercept_only(X):
        return float(intercept_trace_PDPD(w, d1, d2))
    k = w.shape[0]
    d1 = np.broadcast_to(np.asarray(d1, dtype=float), (k,))
    d2 = np.broadcast_to(np.asarray(d2, dtype=float), (k,))
    w2 = w * w
    AB1 = A @ xdx(X, w2 * d1)
    AB2 = A @ xdx(X, w2 * d2)
    C = xdx(X, w2 * w * d1 * d2)
    return float(np.sum(w2 * d1 * d2) - 2.0 * np.sum(A * C) + np.sum(AB1 * AB2.T))


def intercept_trace_PDPD(w: np.ndarray, d1, d2) -> np.ndarray | float:
    """tr(P D1 P D2) of the model without moderators (X = 1, A = 1/sum(w)), summed over axis 0: one value
    for vectors (k,), one per column for (k, m) arrays (:func:`.batch.fit_many`; a missing study has weight
    0). :func:`trace_PDPD` with X = 1: with S = sum(w) and a_j = w d_j,

        tr(P D1 P D2) = sum(a_1 a_2) - 2 sum(w a_1 a_2) / S + sum(w a_1) sum(w a_2) / S^2.
    """
    a1 = w * d1
    a2 = a1 if d2 is d1 else w * d2

    def total(*terms):  # sum over axis 0 of the product, without a temporary product
        return np.einsum(",".join(["i..."] * len(terms)) + "->...", *terms)

    s = w.sum(axis=0)
    return total(a1, a2) - 2.0 * total(w, a1, a2) / s + total(w, a1) * total(w, a2) / s**2


def trace_PP(X: np.ndarray, w: np.ndarray, A: np.ndarray) -> float:
    """tr(PP), the REML expected information times two (Viechtbauer, 2005, eq. 13)."""
    return trace_PDPD(X, w, A, 1.0, 1.0)


class InterceptSums:
    """The model without moderators, in sums: everything the estimators, Q and its profile need at a given
    tau2 is a function of

        S_a = sum(w^a), T_a = sum(w^a yc), U_a = sum(w^a yc^2),  a = 1, 2, 3,

    with w = 1/(v + tau2) and yc = y - mean(y) (every quantity but the estimate is invariant to a shift
    of y; centring keeps the sums free of cancellation). With b = T_1 / S_1 (the estimate minus mean(y)):

        beta = mean(y) + b, var(beta) = 1 / S_1, Q = y'Py = U_1 - b T_1,
        y'PPy = -Q' = U_2 - 2 b T_2 + b^2 S_2, tr(P) = S_1 - S_2 / S_1,
        tr(PP) = S_2 - 2 S_3 / S_1 + S_2^2 / S_1^2, tr(W) = S_1, tr(W^2) = S_2,

    and with u = Py = w (yc - b), y'PPPy = u'Pu = U_3 - 2 b T_3 + b^2 S_3 - (T_2 - b S_2)^2 / S_1
    (Q'' = 2 y'PPPy: dP/dtau2 = -PP; Harville, 1977, JASA 72(358), 320-338; Viechtbauer, 2005, eq. 11-14).

    yc is formed once, in the constructor, and shared by all the evaluations of a fit (the estimator's
    iterations, Cochran's Q, the coefficient and the Q-profile interval). An evaluation runs over the
    studies in blocks of ``BLOCK``: w and wy = w yc of a block are made in small reused buffers, which
    stay in the processor's cache while the block's sums read them (S_1 = sum w, T_1 = sum wy,
    U_1 = wy'yc, S_2 = w'w, T_2 = w'wy, U_2 = wy'wy, and with w2 = w^2: S_3 = w2'w, T_3 = w2'wy,
    U_3 = sum(wy^2 w)). So memory holds one array of k (yc) besides the data, and each evaluation reads
    v and yc once from main memory.
    """

    BLOCK = 65_536

    def __init__(self, y: np.ndarray, v: np.ndarray):
        self.mean = float(y.mean())
        self.yc = y - self.mean
        self.v = v
        n = min(self.BLOCK, v.shape[0])
        self._w, self._wy, self._w2 = np.empty(n), np.empty(n), np.empty(n)

    def sums(self, tau2: float, power: int = 2, s3: bool = False) -> list[list[float]]:
        """[[S_1, T_1, U_1], [S_2, T_2, U_2], [S_3, T_3, U_3]] at ``tau2`` (Python floats), computed up to
        the ``power``-th row (NaN below it), and S_3 alone with ``s3``."""
        acc = np.zeros((3, 3))
        third = power >= 3 or s3
        for start in range(0, self.v.shape[0], self.BLOCK):
            v, yc = self.v[start:start + self.BLOCK], self.yc[start:start + self.BLOCK]
            m = v.shape[0]
            w, wy = self._w[:m], self._wy[:m]
            np.add(v, tau2, out=w)
            np.reciprocal(w, out=w)
            np.multiply(w, yc, out=wy)
            acc[0] += float(w.sum()), float(wy.sum()), dot(wy, yc)
            if power >= 2:
                acc[1] += dot(w, w), dot(w, wy), dot(wy, wy)
            if third:
                w2 = np.multiply(w, w, out=self._w2[:m])
                acc[2, 0] += dot(w2, w)
                if power >= 3:
                    acc[2, 1:] += dot(w2, wy), float(np.einsum("i,i,i->", wy, wy, w))
        s3_sum = acc[2, 0]
        acc[power:] = np.nan
        if third:
            acc[2, 0] = s3_sum
        return acc.tolist()

    def q(self, tau2: float) -> tuple[float, float]:
        """Q(tau2) and Q'(tau2) (see :func:`q_function`)."""
        return self.q_from(self.sums(tau2))

    @staticmethod
    def q_from(sums: list[list[float]]) -> tuple[float, float]:
        """Q and Q' from the first two rows of :meth:`sums`."""
        (s1, t1, u1), (s2, t2, u2) = sums[0], sums[1]
        b = t1 / s1
        return max(0.0, u1 - b * t1), -max(0.0, u2 - 2.0 * b * t2 + b * b * s2)

    @staticmethod
    def trace_P_from(sums: list[list[float]]) -> float:
        """tr(P) = S_1 - S_2 / S_1 from :meth:`sums`."""
        return sums[0][0] - sums[1][0] / sums[0][0]

    def coefficient(self, sums: list[list[float]]) -> tuple[float, float]:
        """The estimate mean(y) + T_1/S_1 and its variance 1/S_1, from the first row of :meth:`sums`."""
        s1, t1, _ = sums[0]
        return self.mean + t1 / s1, 1.0 / s1


def q_function(y: np.ndarray, v: np.ndarray, X: np.ndarray, sums: InterceptSums | None = None):
    """``tau2 -> (Q(tau2), Q'(tau2))`` for repeated evaluation (root finding): Q(tau2) = y'P(tau2)y with
    weights 1/(v + tau2), the generalised Q statistic, chi-square on k - p degrees of freedom under the
    model with heterogeneity tau2 (Viechtbauer, 2007, Stat. Med. 26(1), 37-52, eq. 5).

    The derivative is Q' = -y'PPy = -sum((w e)^2), e the WLS residuals: dP/dtau2 = -PP (Harville, 1977,
    JASA 72(358), 320-338; Viechtbauer, 2005, eq. 11). Q is convex as well as decreasing, since
    Q'' = 2 y'PPPy >= 0 (P is positive semi-definite). Without moderators both come from six sums
    (:class:`InterceptSums`, which ``sums`` may pass ready).
    """
    if is_intercept_only(X):
        return (sums if sums is not None else InterceptSums(y, v)).q

    def q_general(tau2: float) -> tuple[float, float]:
        w = 1.0 / (v + tau2)
        fit = wls(y, X, w)
        we = w * fit.resid
        return fit.q, -dot(we, we)
    return q_general


def likelihood_terms(y: np.ndarray, v: np.ndarray, X: np.ndarray, sums: InterceptSums | None = None):
    """``(tau2, third) -> (y'PPy, tr(P), tr(PP), tr(W), tr(W^2), y'PPPy)`` with W = diag(1/(v + tau2)):
    the pieces of the ML and REML scores, their Fisher informations (Viechtbauer, 2005, eq. 11-14) and
    their derivatives (d tr(P)/d tau2 = -tr(PP), d y'PPy/d tau2 = -2 y'PPPy; Harville, 1977). y'PPPy
    (for Newton steps) is computed only when ``third`` is true, NaN otherwise. Without moderators they
    are sums (:class:`InterceptSums`, which ``sums`` may pass ready).
    """
    if not is_intercept_only(X):
        def terms(tau2: float, third: bool = False):
            w = 1.0 / (v + tau2)
            fit = wls(y, X, w)
            u = w * fit.resid  # P y
            ypPPPy = math.nan
            if third:  # u'Pu = sum(w u^2) - (X'Wu)' A (X'Wu)
                wu = w * u
                c = X.T @ wu
                ypPPPy = dot(wu, u) - float(c @ fit.A @ c)
            return (dot(u, u), trace_P(X, w, fit.A), trace_PP(X, w, fit.A), float(w.sum()), dot(w, w),
                    ypPPPy)
        return terms
    sums = sums if sums is not None else InterceptSums(y, v)

    def terms_intercept(tau2: float, third: bool = False):
        (s1, t1, _), (s2, t2, u2), (s3, t3, u3) = sums.sums(tau2, 3 if third else 2, s3=True)
        b = t1 / s1
        ypPPy = u2 - 2.0 * b * t2 + b * b * s2
        ypPPPy = math.nan
        if third:
            c = t2 - b * s2
            ypPPPy = max(0.0, u3 - 2.0 * b * t3 + b * b * s3 - c * c / s1)
        return (max(0.0, ypPPy), s1 - s2 / s1, s2 - 2.0 * s3 / s1 + s2 * s2 / (s1 * s1), s1, s2, ypPPPy)

    return terms_intercept
