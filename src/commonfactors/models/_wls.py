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

from dataclasses import dataclass

import numpy as np


def is_intercept_only(X: np.ndarray) -> bool:
    """True when ``X`` is a single column of ones (the model without moderators)."""
    return X.shape[1] == 1 and bool(np.all(X[:, 0] == 1.0))


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
        b = np.array([np.dot(w, y) / sw])
        A = np.array([[1.0 / sw]])
        r = y - b[0]
    else:
        Xw = X * w[:, None]
        A = np.linalg.inv(X.T @ Xw)
        A = (A + A.T) / 2
        b = A @ (Xw.T @ y)
        r = y - X @ b
    return WLSFit(beta=b, A=A, resid=r, q=float(np.dot(w, r * r)))


def _xdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X without forming diag(d)."""
    if X.shape[1] == 1 and is_intercept_only(X):
        return np.array([[d.sum()]])
    return X.T @ (X * d[:, None])


def trace_P(X: np.ndarray, w: np.ndarray, A: np.ndarray) -> float:
    """tr(P) = sum(w) - tr(A X'W^2X)."""
    return float(w.sum() - np.sum(A * _xdx(X, w * w)))


def trace_PDPD(X: np.ndarray, w: np.ndarray, A: np.ndarray, d1: np.ndarray | float,
               d2: np.ndarray | float) -> float:
    """tr(P D1 P D2) for diagonal D1, D2 (given as vectors or scalars), in O(k p^2).

    With M = W X A X' W and P = W - M:
    tr(P D1 P D2) = sum(w^2 d1 d2) - 2 tr(A X' diag(w^3 d1 d2) X) + tr(A B1 A B2),
    where B_j = X' diag(w^2 d_j) X.
    """
    k = w.shape[0]
    d1 = np.broadcast_to(np.asarray(d1, dtype=float), (k,))
    d2 = np.broadcast_to(np.asarray(d2, dtype=float), (k,))
    w2 = w * w
    AB1 = A @ _xdx(X, w2 * d1)
    AB2 = A @ _xdx(X, w2 * d2)
    C = _xdx(X, w2 * w * d1 * d2)
    return float(np.sum(w2 * d1 * d2) - 2.0 * np.sum(A * C) + np.sum(AB1 * AB2.T))


def trace_PP(X: np.ndarray, w: np.ndarray, A: np.ndarray) -> float:
    """tr(PP), the REML expected information times two (Viechtbauer, 2005, eq. 13)."""
    return trace_PDPD(X, w, A, 1.0, 1.0)


def generalized_q(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Q(tau2) = y'P(tau2)y with weights 1/(v + tau2): the generalised Q statistic.

    Under the model with heterogeneity tau2 it follows a chi-square distribution with k - p degrees of
    freedom (Viechtbauer, 2007, Stat. Med. 26(1), 37-52, eq. 5); it decreases in tau2.
    """
    return wls(y, X, 1.0 / (v + tau2)).q
