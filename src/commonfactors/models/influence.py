"""Case diagnostics of meta-analytic models: leave-one-out analyses, influence measures, cumulative
meta-analysis and Baujat plot data (metafor's ``influence``, ``leave1out``, ``cumul`` and ``baujat``).

Each public function validates its input once. The k models without one study (influence, leave-one-out,
Baujat) are solved together from sums over the studies (:mod:`._leave_one_out`): O(k) time and memory, with
the definitions of :func:`commonfactors.models.univariate.fit`, so each number is that of ``meta_analysis``
on the same studies (to the estimators' convergence, ~1e-12). A study whose model cannot be solved there
(fewer than 3 studies or no residual degrees of freedom left, a second maximum of the likelihood) is
refitted alone with ``fit``. The cumulative models (of the first 3, 4, ..., k studies) are fitted together
by the batched engine (:func:`.batch.fit_arrays`) in blocks of bounded size: O(k) memory, O(k^2) time as
k fits but without their overhead; the first two, and any whose tau2 did not converge there, are refitted
alone. Refits skip the Q-profile intervals (``profile_ci=False``: no diagnostic here reports them). Knows
nothing of files.

Each public function also takes a fitted model (the MetaResult of ``meta_analysis``) as ``data``, as metafor's
take a fitted ``rma`` object: its studies (and moderators, for ``influence`` and ``baujat``), and its method,
test and level unless given.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import _distributions as dist
from .._checks import EffectData, group_codes
from ..errors import InputError, SmallKWarning
from ..results.influence import BaujatResult, CumulativeResult, InfluenceResult, LeaveOneOutResult
from ..results.meta import MetaResult
from . import _inference as inference
from ._leave_one_out import DeletedTau2, DeletionSums, Fits, trace_p
from ._notes import Notes, fitted, validated
from ._options import Method, Test, normalize_options
from ._wls import wls
from .batch import fit_arrays
from .tau2 import COMMON_EFFECT
from .univariate import fit


def _rows(ed: EffectData, idx: np.ndarray) -> EffectData:
    """The studies at positions ``idx`` (already validated)."""
    return dataclasses.replace(ed, yi=ed.yi[idx], vi=ed.vi[idx], X=ed.X[idx], rows=ed.rows[idx],
                               slab=ed.slab[idx], frame=None, index=None)


def _refit_without(ed: EffectData, notes: Notes, i: int, **options) -> MetaResult | None:
    """The model fitted without study i; None where it cannot be fitted (too few studies left, or a
    moderator constant once the study is removed)."""
    k, p = ed.X.shape
    idx = np.delete(np.arange(k), i)
    if idx.size < p or np.linalg.matrix_rank(ed.X[idx]) < p:
        return None
    return notes.run("leave-one-out fits", fit, _rows(ed, idx), profile_ci=False, **options)


def _deleted_fits(ed: EffectData, notes: Notes, **options) -> list[MetaResult | None]:
    """The model fitted without each study in turn, one fit each (see :func:`_refit_without`)."""
    fits = [_refit_without(ed, notes, i, **options) for i in range(ed.X.shape[0])]
    _warn_unfitted(ed, notes, [i for i, r in enumerate(fits) if r is None])
    return fits


def _warn_unfitted(ed: EffectData, notes: Notes, failed) -> None:
    if len(failed):
        names = [str(ed.slab[i]) for i in failed[:10]]
        notes.add(f"the model cannot be fitted without {'study' if len(failed) == 1 else 'studies'} "
                  f"{', '.join(names)}{' ...' if len(failed) > 10 else ''}: "
                  "the leave-one-out values are NaN", SmallKWarning)


@dataclasses.dataclass
class _Deleted:
    """The k models without one study, as arrays (NaN where a model cannot be fitted): the coefficients
    ``beta`` (k, p) and their covariance ``vcov`` (k, p, p; Knapp-Hartung scaled under "knha"), ``tau2``,
    Cochran's Q_E ``q`` and tr(P) with weights 1/v ``tr_p0`` (whose ratio to k - 1 - p is the typical
    within-study variance of I2), the Knapp-Hartung factor ``s2`` (1 under z and t tests), and ``a_all``
    (k, p): diag (X'W_(-i)X)^{-1} over all k studies with W_(-i) = diag(1/(v + tau2_(-i)))."""

    beta: np.ndarray
    vcov: np.ndarray
    tau2: np.ndarray
    q: np.ndarray
    tr_p0: np.ndarray
    s2: np.ndarray
    a_all: np.ndarray

    @classmethod
    def empty(cls, k: int, p: int) -> _Deleted:
        nan = math.nan
        return cls(np.full((k, p), nan), np.full((k, p, p), nan), np.full(k, nan), np.full(k, nan),
                   np.full(k, nan), np.full(k, nan), np.full((k, p), nan))

    def put(self, i: int, r: MetaResult, ed: EffectData, test: str) -> None:
        """Row i from the fit ``r`` of the data without study i."""
        k, p = ed.X.shape
        keep = np.arange(k) != i
        self.beta[i] = [c.estimate for c in r.coefficients]
        self.vcov[i], self.tau2[i], self.q[i], self.tr_p0[i] = r.vcov, r.tau2, r.q, r.q_df / r.vt
        # Knapp-Hartung scaling of the deleted fit (Knapp & Hartung, 2003, eq. 7)
        self.s2[i] = (inference.knha_factor(wls(ed.yi[keep], ed.X[keep], r.weights).q, k - 1 - p)
                      if test == "knha" and k - 1 > p else 1.0)
        self.a_all[i] = np.diag(wls(ed.yi, ed.X, 1.0 / (ed.vi + r.tau2)).A)


def _rank_deficient(X: np.ndarray) -> np.ndarray:
    """The studies without which X has rank < p: those with OLS leverage 1 (checked exactly where near)."""
    k, p = X.shape
    lev = np.einsum("ij,jk,ik->i", X, np.linalg.pinv(X.T @ X), X)
    near = np.flatnonzero(lev > 1.0 - 1e-6)
    return np.array([i for i in near if np.linalg.matrix_rank(np.delete(X, i, axis=0)) < p], dtype=int)


def _all_together(k: int, p: int) -> bool:
    """Whether the models without one study are fitted together: every one has residual degrees of freedom
    and at least 3 studies (else :func:`.univariate.fit` warns, or switches the test, for each)."""
    return k - 1 - p >= 1 and k - 1 >= 3


def _deleted(ed: EffectData, notes: Notes, full: MetaResult, *, method: str, test: str,
             level: float) -> _Deleted:
    """The models without each study, all together (:mod:`._leave_one_out`) when every one of them has
    residual degrees of freedom and at least 3 studies, else (and for any study whose tau2 did not
    converge there) one fit per study; the numbers are those of :func:`.univariate.fit` on each subset."""
    k, p = ed.X.shape
    out = _Deleted.empty(k, p)
    failed = _rank_deficient(ed.X) if k > p else np.arange(k)
    idx = np.setdiff1d(np.arange(k), failed)
    alone = idx
    if _all_together(k, p) and idx.size:
        sums = DeletionSums(ed.X, ed.yi, ed.vi)
        y = ed.yi
        sj_start = float(np.mean((y - y.mean()) ** 2))
        est = DeletedTau2(sums, method, idx, full.tau2, sj_start)
        fits = Fits(sums.at(est.tau2, idx, (1,), full.tau2)[0])
        out.beta[idx], A = sums.uncentred(fits.b, fits.A)
        out.s2[idx] = inference.knha_factor(fits.q, k - 1 - p) if test == "knha" else 1.0
        out.vcov[idx] = A * out.s2[idx, None, None]
        out.tau2[idx] = est.tau2
        common = Fits(sums.common(0.0, 1, idx))
        out.q[idx] = common.q
        out.tr_p0[idx] = trace_p(common, sums.common(0.0, 2, idx))
        all_k = sums.at(est.tau2, None, (1,), full.tau2)[0][:, :p, :p]
        out.a_all[idx] = np.diagonal(sums.uncentred(fits.b, np.linalg.inv(all_k))[1], axis1=1, axis2=2)
        alone = idx[~est.converged]
    options = {"method": method, "test": test, "level": level}
    for i in alone:
        r = _refit_without(ed, notes, int(i), **options)
        if r is None:
            failed = np.append(failed, i)
        else:
            out.put(int(i), r, ed, test)
    _warn_unfitted(ed, notes, sorted(int(i) for i in failed))
    return out


def _influence(ed: EffectData, notes: Notes, *, method: str, test: str, level: float) -> InfluenceResult:
    full = notes.run("full model", fit, ed, method=method, test=test, level=level, profile_ci=False)
    X, y, v = ed.X, ed.yi, ed.vi
    k, p = X.shape
    b = np.array([c.estimate for c in full.coefficients])
    A = wls(y, X, full.weights).A                                     # (X'WX)^{-1}, W = diag(1/(v + tau2))
    hat = full.weights * np.einsum("ij,jk,ik->i", X, A, X)           # h_i = w_i x_i' A x_i
    weight = 100.0 * full.weights / full.weights.sum()
    vb_inv = np.linalg.inv(full.vcov)
    if k == 1:
        notes.add("only k = 1 study: the leave-one-out diagnostics are NaN", SmallKWarning)
        d = _Deleted.empty(k, p)
    else:
        d = _deleted(ed, notes, full, method=method, test=test, level=level)
    diff = b[None, :] - d.beta
    with np.errstate(invalid="ignore"):
        # studentized deleted residual: (y_i - x_i'b_(-i)) / sqrt(s2 (v_i + tau2_(-i)) + x_i'Var(b_(-i))x_i)
        # (Viechtbauer & Cheung, 2010, Res. Synth. Methods 1(2), 112-125, eq. 12)
        rstudent = ((y - np.einsum("ij,ij->i", X, d.beta))
                    / np.sqrt(d.s2 * (v + d.tau2) + np.einsum("ij,ijk,ik->i", X, d.vcov, X)))
        # DFFITS: (x_i' b - x_i' b_(-i)) / sqrt(s2 h_i (tau2_(-i) + v_i)) (Viechtbauer & Cheung, 2010, eq. 13)
        dffits = np.einsum("ij,ij->i", X, diff) / np.sqrt(d.s2 * hat * (d.tau2 + v))
        # Cook's distance: (b - b_(-i))' Var(b)^{-1} (b - b_(-i)) (Viechtbauer & Cheung, 2010, eq. 14)
        cooks = np.einsum("ij,jk,ik->i", diff, vb_inv, diff)
        # covariance ratio: det Var(b_(-i)) / det Var(b) (Viechtbauer & Cheung, 2010, eq. 15)
        covr = np.linalg.det(d.vcov) / np.linalg.det(full.vcov)
        # DFBETAS: (b - b_(-i)) / sqrt(s2 diag (X'W_(-i)X)^{-1}), W_(-i) = diag(1/(v + tau2_(-i))) over all k
        # studies (Viechtbauer & Cheung, 2010, eq. 16)
        dfbetas = diff / np.sqrt(d.s2[:, None] * d.a_all)
    # influential as metafor flags it: |DFFITS| > 3 sqrt(p / (k - p)), P(chi2_p <= D_i) > .5, h_i > 3 p / k,
    # or any |DFBETAS| > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        cut = 3.0 * math.sqrt(p / (k - p)) if k > p else math.inf
        influential = ((np.abs(dffits) > cut) | (np.asarray(dist.chi2_cdf(cooks, p)) > 0.5)
                       | (hat > 3.0 * p / k) | np.any(np.abs(dfbetas) > 1.0, axis=1))
    return InfluenceResult(
        k=k, method=full.method, test=full.test, names=ed.names, slab=ed.slab,
        leave1out_estimate=d.beta[:, 0], leave1out_tau2=d.tau2, leave1out_q=d.q, rstudent=rstudent,
        cooks_d=cooks, dffits=dffits, cov_ratio=covr, hat=hat, weight=weight, dfbetas=dfbetas,
        influential=influential, warnings=notes())


@fitted
def influence(data=None, *, yi="yi", vi="vi", sei=None, mods=None, slab=None, method: Method = "REML",
              test: Test = "z", level: float = 95) -> InfluenceResult:
    """Leave-one-out case diagnostics (metafor's ``influence``).

    The model (with moderators ``mods`` if given) is refitted without each study i in turn, giving b_(-i),
    Var(b_(-i)) and tau2_(-i); then, with W = diag(1/(v_i + tau2)) and b, Var(b) of the full model:

    - ``rstudent``: (y_i - x_i'b_(-i)) / sqrt(s2 (v_i + tau2_(-i)) + x_i'Var(b_(-i))x_i);
    - ``dffits``: (x_i'b - x_i'b_(-i)) / sqrt(s2 h_i (tau2_(-i) + v_i));
    - ``cooks_d``: (b - b_(-i))' Var(b)^{-1} (b - b_(-i));
    - ``cov_ratio``: det Var(b_(-i)) / det Var(b);
    - ``dfbetas``: (b - b_(-i)) / sqrt(s2 diag (X'W_(-i)X)^{-1}), W_(-i) = diag(1/(v_j + tau2_(-i))), all k
      studies; s2 = 1, or under ``test="knha"`` the Knapp-Hartung factor of the fit without study i;
    - ``hat``: h_i = w_i x_i'(X'WX)^{-1}x_i; ``weight``: 100 w_i / sum w;
    - ``leave1out_estimate``, ``leave1out_tau2``, ``leave1out_q``: b_(-i)[0], tau2_(-i) and Q_E without i;
    - ``influential``: |DFFITS| > 3 sqrt(p/(k-p)), or the chi2(p) cdf at Cook's distance > .5, or
      h_i > 3p/k, or any |DFBETAS| > 1 (metafor's rules).

    Parameters
    ----------
    data, yi, vi, sei, mods, slab, method, test, level
        As in :func:`commonfactors.meta_analysis`.

    Returns
    -------
    InfluenceResult
        One value per study for each diagnostic above (``to_frame()``: one row per study).

    Warns
    -----
    SmallKWarning
        k = 1 (all leave-one-out values NaN), or a study without which the model cannot be fitted (NaN for
        that study).

    References
    ----------
    Viechtbauer, W., & Cheung, M. W.-L. (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods, 1(2), 112-125 (eq. 10-15).
    Belsley, D. A., Kuh, E., & Welsch, R. E. (1980). Regression Diagnostics. Wiley (DFFITS, DFBETAS,
    COVRATIO). Cook, R. D. (1977). Detection of influential observation in linear regression.
    Technometrics, 19(1), 15-18.

    Examples
    --------
    >>> import commonfactors as cf
    >>> yi = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339,
    ...       0.446, -0.017]
    >>> vi = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
    >>> res = cf.influence(yi=yi, vi=vi)
    >>> [round(float(x), 4) for x in res.rstudent[:3]]   # metafor 3.8-1: -0.2180, -1.2908, -0.7551
    [-0.218, -1.2908, -0.7551]
    """
    method, test, level = normalize_options(method, test, level)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, mods=mods, slab=slab)
    return _influence(ed, notes, method=method, test=test, level=level)


_TABLE = ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")


def _table(results: list[MetaResult | None]) -> dict[str, np.ndarray]:
    """Columns estimate ... h2 from a list of fits (NaN where a fit is missing)."""
    return {n: np.array([math.nan if r is None else float(getattr(r, n)) for r in results]) for n in _TABLE}


@fitted
def leave_one_out(data=None, *, yi="yi", vi="vi", sei=None, slab=None, method: Method = "REML",
                  test: Test = "z", level: float = 95) -> LeaveOneOutResult:
    """Leave-one-out meta-analyses (metafor's ``leave1out``): the random-effects (or common-effect) model
    fitted k times, each time without one study.

    Returns
    -------
    LeaveOneOutResult
        Row i (``slab[i]`` left out): estimate, se, stat, pval, ci_low, ci_high, q, q_pval, tau2, i2, h2.

    Warns
    -----
    SmallKWarning
        k = 1: there is nothing left to fit (all values NaN).
    """
    method, test, level = normalize_options(method, test, level)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    k = ed.yi.shape[0]
    if k == 1:
        notes.add("only k = 1 study: the leave-one-out analyses are NaN", SmallKWarning)
        table = _table([None])
    elif _all_together(k, 1):
        full = notes.run("full model", fit, ed, method=method, test=test, level=level, profile_ci=False)
        table = _deleted_table(_deleted(ed, notes, full, method=method, test=test, level=level), k,
                               random=method not in COMMON_EFFECT, test=test, level=level)
    else:
        table = _table(_deleted_fits(ed, notes, method=method, test=test, level=level))
    return LeaveOneOutResult(k=k, method=method, test=test, slab=ed.slab, **table, warnings=notes())


def _deleted_table(d: _Deleted, k: int, *, random: bool, test: str, level: float) -> dict[str, np.ndarray]:
    """The columns of :func:`_table` from the models without one study (no moderators; k - 2 >= 1), with
    :func:`.univariate.fit`'s definitions: tests and intervals of the estimate (z, or t(k - 2) under t and
    knha), Q_E's p-value on k - 2 df, and I2 = 100 tau2 / (vt + tau2), H2 = (vt + tau2) / vt with
    vt = (k - 2) / tr(P) for random-effects models, I2 = 100 max(0, (Q - df) / Q), H2 = Q / df for the
    common-effect model (Higgins & Thompson, 2002, Stat. Med. 21, 1539-1558)."""
    df = k - 2
    estimate = d.beta[:, 0]
    se = np.sqrt(d.vcov[:, 0, 0])
    stat, pval, _, low, high = inference.wald(estimate, se, math.inf if test == "z" else float(df), level)
    if random:
        with np.errstate(invalid="ignore", divide="ignore"):
            vt = df / d.tr_p0
        i2, h2 = inference.heterogeneity_random(d.tau2, vt)
    else:
        i2, h2 = inference.heterogeneity_common(d.q, df)
    return {"estimate": estimate, "se": se, "stat": stat, "pval": pval, "ci_low": low, "ci_high": high,
            "q": d.q, "q_pval": inference.q_pval(d.q, df), "tau2": d.tau2, "i2": i2, "h2": h2}


@fitted
def cumulative(data=None, *, yi="yi", vi="vi", sei=None, order=None, slab=None, method: Method = "REML",
               test: Test = "z", level: float = 95) -> CumulativeResult:
    """Cumulative meta-analysis (metafor's ``cumul``): the model fitted to the first 1, 2, ..., k studies.

    Parameters
    ----------
    order : str or array_like, optional
        A column (or array) to order the studies by, e.g. the publication year; ties keep the input order.
        Default: the input order.

    Returns
    -------
    CumulativeResult
        Row j: the study added (``slab``, ``order_value``) and the model of the first j studies: estimate,
        se, stat, pval, ci_low, ci_high, q, q_pval, tau2, i2, h2.

    Raises
    ------
    InputError
        ``order`` has a missing value in a study used.
    """
    method, test, level = normalize_options(method, test, level)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, slab=slab)
    k = ed.yi.shape[0]
    index = ed.positions()
    if order is None:
        perm = np.arange(k)
        values = np.arange(1, k + 1)
    else:
        if isinstance(data, MetaResult) and isinstance(order, str):
            raise InputError(f"order={order!r} names a column, but a fitted model has none",
                             expected="an array of one value per study of the model")
        n_all = len(np.asarray(order)) if data is None or isinstance(data, MetaResult) else len(data)
        codes, levels, column = group_codes(data, order, name="order", n=n_all)
        codes = codes[index]
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise InputError("missing value", file=ed.source, row=ed.rows[i], column=column or "order",
                             expected="a value to order the studies by")
        perm = np.argsort(codes, kind="stable")
        values = levels[codes[perm]]
    table = _cumulative_table(ed, perm, notes, method=method, test=test, level=level)
    values = np.asarray([v.item() if hasattr(v, "item") else v for v in values], dtype=object)
    return CumulativeResult(k=k, method=method, test=test, slab=ed.slab[perm], order_value=values,
                            **table, warnings=notes())


def _cumulative_table(ed: EffectData, perm: np.ndarray, notes: Notes, *, method: str, test: str,
                      level: float) -> dict[str, np.ndarray]:
    """The columns of :func:`_table` for the models of the first j studies in the order ``perm``, j = 1..k.

    The first two (which warn: k = 1, 2) and any whose tau2 did not converge in the batched engine are fitted
    alone by :func:`.univariate.fit`; the others together (:func:`_prefix_fits`). Rows are computed and kept
    as numbers, never as k models (whose arrays of j studies each would hold O(k^2) memory).
    """
    k = perm.size

    def alone(j: int) -> MetaResult:
        return notes.run("cumulative fits", fit, _rows(ed, perm[:j]), method=method, test=test, level=level,
                         profile_ci=False)

    head = min(k, 2)
    table = _table([alone(j) for j in range(1, head + 1)])
    if k > head:
        rest, converged = _prefix_fits(ed.yi[perm], ed.vi[perm], head + 1, method=method, test=test,
                                       level=level)
        table = {name: np.concatenate([table[name], rest[name]]) for name in table}
        for j in head + 1 + np.flatnonzero(~converged):
            r = alone(int(j))
            for name, column in table.items():
                column[j - 1] = getattr(r, name)
    return table


#: studies times models in one call of the batched engine by :func:`_prefix_fits` (4 MB per working array)
PREFIX_BLOCK = 2**19


def _prefix_fits(y: np.ndarray, v: np.ndarray, first: int, *, method: str, test: str, level: float
                 ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The models of the first j studies of ``y``, ``v`` for j = first..k, fitted together by
    :func:`.batch.fit_arrays` (metafor's definitions for models without moderators, those of
    :func:`.univariate.fit`; rows agree with it to the estimators' convergence, ~1e-12): the columns of
    :func:`_table` and whether each tau2 converged.

    The models go in blocks of m consecutive j, as an (n, m) array of the first n = j_max studies where
    column c holds study i for i < j_c and, below, padding of weight zero (y = 0, v = inf); m is the largest
    with n m <= ``PREFIX_BLOCK``, so memory stays O(k) whatever k (the time is O(k^2), as for k fits).
    """
    k = y.shape[0]
    engine = "FE" if method in COMMON_EFFECT else method
    columns = {name: np.empty(k - first + 1) for name in _TABLE}
    converged = np.empty(k - first + 1, dtype=bool)
    lo = first
    while lo <= k:
        # m (lo + m - 1) <= PREFIX_BLOCK
        m = int((1 - lo + math.sqrt((lo - 1) ** 2 + 4 * PREFIX_BLOCK)) // 2)
        j = np.arange(lo, min(lo + max(m, 1), k + 1))
        n = int(j[-1])
        used = np.arange(n)[:, None] < j[None, :]
        out = fit_arrays(np.where(used, y[:n, None], 0.0), np.where(used, v[:n, None], np.inf),
                         method=engine, test=test, level=level)
        at = slice(lo - first, lo - first + j.size)
        for name, column in columns.items():
            column[at] = out[name]
        converged[at] = out["converged"]
        lo += j.size
    return columns, converged


@fitted
def baujat(data=None, *, yi="yi", vi="vi", sei=None, mods=None, slab=None,
           method: Method = "REML") -> BaujatResult:
    """Data of a Baujat plot (metafor's ``baujat``), as generalised to random- and mixed-effects models.

    x_i = (y_i - x_i'b)^2 / (v_i + tau2): the squared Pearson residual (for the common-effect model,
    study i's contribution to Cochran's Q); y_i = (x_i'b - x_i'b_(-i))^2 / x_i'Var(b_(-i))x_i: the squared
    change of the fitted value when the study is left out, standardised by the variance of the latter.

    Returns
    -------
    BaujatResult
        ``x`` and ``y``, one value per study.

    References
    ----------
    Baujat, B., Mahé, C., Pignon, J.-P., & Hill, C. (2002). A graphical method for exploring heterogeneity
    in meta-analyses: application to a meta-analysis of 65 trials. Statistics in Medicine, 21(18),
    2641-2652. Generalisation: metafor's documentation of ``baujat`` (Viechtbauer, 2021).
    """
    method, _, _ = normalize_options(method, "z", 95)
    ed, notes = validated(data, yi=yi, vi=vi, sei=sei, mods=mods, slab=slab)
    full = notes.run("full model", fit, ed, method=method, profile_ci=False)
    X, y, v = ed.X, ed.yi, ed.vi
    k = y.shape[0]
    b = np.array([c.estimate for c in full.coefficients])
    fitted = X @ b
    xs = (y - fitted) ** 2 / (v + full.tau2)
    ys = np.full(k, math.nan)
    if k == 1:
        notes.add("only k = 1 study: the influence on the fitted value is NaN", SmallKWarning)
    else:
        d = _deleted(ed, notes, full, method=method, test="z", level=95.0)
        with np.errstate(invalid="ignore"):
            ys = ((fitted - np.einsum("ij,ij->i", X, d.beta)) ** 2
                  / np.einsum("ij,ijk,ik->i", X, d.vcov, X))
    return BaujatResult(k=k, method=method, slab=ed.slab, x=xs, y=ys, warnings=notes())
