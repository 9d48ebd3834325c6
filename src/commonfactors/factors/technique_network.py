"""The technique slice of the pie taken from data: the Dodo-bird test of a network meta-analysis.

A network meta-analysis of standardized mean differences with named active (bona fide) treatments
(:func:`commonfactors.network_meta_analysis` with ``active=`` and ``measure="SMD"``) estimates
tau2_technique, the variance of the active treatments' true effects around their mean, in units of the
outcome's within-group variance (1). The share of the outcome variance owed to which technique a client
receives is tau2_technique / (1 + tau2_technique) (Wampold & Imel 2015, ch. 5: between-treatment effects as
variance explained). :func:`technique_component` turns that estimate into the "technique" slice of
:func:`commonfactors.additive_pie`, replacing the published estimate (Cuijpers et al.'s pairwise difference
between CBT and other psychotherapies).

Its Monte Carlo draws come from the Q-profile confidence distribution of tau2_technique, not from a normal
approximation: with Q(t) the generalised Q statistic of the active treatments' effects at
tau2_technique = t (decreasing in t), H(t) = P(chi2_{a-1} >= Q(t)) is a confidence distribution (Xie, M., &
Singh, K. (2013). Confidence distribution, the frequentist distribution estimator of a parameter: a review.
Int. Stat. Rev., 81(1), 3-39): its quantiles at (1 -+ level) / 2 are the Q-profile interval (Viechtbauer,
W. (2007). Stat. Med., 26(1), 37-52), and it puts the mass
H(0) = the Dodo-bird test's p-value on tau2_technique = 0 (no difference between techniques). A draw is
u ~ U(0, 1) mapped to 0 when u <= H(0), else to the root of Q(t) = the chi2_{a-1} quantile at 1 - u. With
L beta the a - 1 differences of the active treatments' effects from the first, S their covariance and
R R' = L L' (Cholesky), R^{-1} L S L' R^{-T} = U diag(lambda) U' gives Q(t) = sum_i c_i^2 / (lambda_i + t),
c = U' R^{-1} L beta, evaluated for all draws at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import _distributions as dist
from ..errors import InputError

_EXPECTED = ("the JSON of 'commonfactors network ... --measure SMD --active A,B,C --format json' (or its "
             "NetworkResult)")


def technique_component(fit, *, source: str | None = None):
    """The technique slice of :func:`commonfactors.additive_pie` from a network's Dodo-bird estimate.

    Parameters
    ----------
    fit : NetworkResult or mapping
        A network meta-analysis of standardized mean differences with active treatments
        (``network_meta_analysis(..., measure="SMD", active=[...])``), or its JSON as a dict.
    source : str, optional
        The file the fit was read from, named in the slice's source.

    Returns
    -------
    Component
        Factor "technique", metric "share": the estimate tau2_technique / (1 + tau2_technique), its draws
        from the Q-profile confidence distribution (see the module's docstring); its source says "from
        data: ...".

    Raises
    ------
    InputError
        A fit without the Dodo-bird test (no active treatments), of another measure than SMD, or a mapping
        without the keys of the network's JSON.
    """
    from .pie import Component

    d = fit.to_dict() if hasattr(fit, "to_dict") and not isinstance(fit, Mapping) else fit
    if not isinstance(d, Mapping):
        raise InputError(f"got a {type(fit).__name__}", file=source, expected=_EXPECTED)
    missing = [k for k in ("treatments", "effects", "vcov", "dodo", "measure") if k not in d]
    if missing:
        raise InputError(f"no {', '.join(map(repr, missing))} in the network's result", file=source,
                         expected=_EXPECTED)
    dodo = d["dodo"]
    if not isinstance(dodo, Mapping):
        raise InputError("the network has no Dodo-bird test (no active treatments named)", file=source,
                         expected="a network fitted with --active A,B,C (active=[...])")
    if d["measure"] != "SMD":
        raise InputError(f"the network's measure is {d['measure']!r}", file=source,
                         expected="standardized mean differences (--measure SMD): the share of the outcome "
                                  "variance needs effects in units of its within-group SD")
    q = _qprofile(d, dodo, source)
    tau2 = float(dodo["tau2_technique"])
    share = tau2 / (1.0 + tau2)
    active = list(dodo["active"])
    lo, hi = dodo.get("tau2_technique_ci") or (math.nan, math.nan)
    where = f" ({source})" if source else ""
    level = float(d.get("level") or 95)
    origin = (f"from data: the Dodo-bird test of a network meta-analysis{where}, {len(active)} active "
              f"treatments ({', '.join(active)}), {d.get('k', '?')} trials: tau2_technique = {tau2:.4g} "
              f"({level:g}% Q-profile CI {float(lo):.4g} to {float(hi):.4g}), p = {float(dodo['pval']):.3g}")
    return Component("technique", "share", share, math.nan, (origin,), "treatment-differences",
                     "Q-profile confidence distribution", draw=q.draw)


class _QProfile:
    """Q(t) of the active treatments' effects and draws of t / (1 + t) from its confidence distribution."""

    def __init__(self, c2: np.ndarray, lam: np.ndarray, df: int):
        self.c2, self.lam, self.df = c2, lam, df

    def q(self, t):
        t = np.asarray(t, dtype=float)
        return np.sum(self.c2 / (self.lam + t[..., None]), axis=-1)

    def tau2(self, u: np.ndarray) -> np.ndarray:
        """The quantiles of the confidence distribution at ``u`` (0 where u <= H(0))."""
        target = np.asarray(dist.chi2_ppf(1.0 - np.clip(u, 1e-300, 1.0 - 1e-16), self.df), dtype=float)
        out = np.zeros(u.shape)
        pos = self.q(0.0) > target
        if not pos.any():
            return out
        tgt = target[pos]
        lo = np.zeros(tgt.shape)
        hi = np.ones(tgt.shape)
        for _ in range(200):
            grow = self.q(hi) > tgt
            if not grow.any():
                break
            hi = np.where(grow, hi * 4.0, hi)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            above = self.q(mid) > tgt
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
            if np.all(hi - lo <= 1e-14 * np.maximum(1.0, hi)):
                break
        out[pos] = 0.5 * (lo + hi)
        return out

    def draw(self, rng, n: int) -> np.ndarray:
        t = self.tau2(rng.random(n))
        return t / (1.0 + t)


def _qprofile(d, dodo, source) -> _QProfile:
    try:
        names = [str(t) for t in d["treatments"]]
        vc = np.array(d["vcov"], dtype=float)
        est = {str(e["treatment"]): float(e["estimate"]) for e in d["effects"]}
        beta = np.array([est.get(t, 0.0) for t in names])  # the reference's effect is 0
        idx = np.array([names.index(str(a)) for a in dodo["active"]])
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"the network's result is malformed ({e})", file=source,
                         expected=_EXPECTED) from None
    a = idx.size
    if vc.shape != (len(names), len(names)) or a < 2 or not np.all(np.isfinite(vc)):
        raise InputError("the network's vcov or active treatments do not fit its treatments", file=source,
                         expected=_EXPECTED)
    L = np.hstack([-np.ones((a - 1, 1)), np.eye(a - 1)])
    Lb = L @ beta[idx]
    LSL = L @ vc[np.ix_(idx, idx)] @ L.T
    R = np.linalg.cholesky(L @ L.T)
    Ri = np.linalg.inv(R)
    lam, U = np.linalg.eigh(Ri @ LSL @ Ri.T)
    c = U.T @ (Ri @ Lb)
    return _QProfile(c * c, lam, a - 1)
