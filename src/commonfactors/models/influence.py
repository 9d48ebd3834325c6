"""Case diagnostics of meta-analytic models: leave-one-out analyses, influence measures, cumulative
meta-analysis and Baujat plot data (metafor's ``influence``, ``leave1out``, ``cumul`` and ``baujat``).

Each public function validates its input once; every refit (without one study, or with the first j studies)
is :func:`commonfactors.models.univariate.fit` on the clean arrays, so each number is that of
``meta_analysis`` on the same studies. k refits cost k model fits, without their Q-profile intervals
(``profile_ci=False``: no diagnostic here reports them). Knows nothing of files.
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
from ._wls import wls
from .univariate import Method, Notes, Test, normalize_options, validated


def _rows(ed: EffectData, idx: np.ndarray) -> EffectData:
    """The studies at positions ``idx`` (already validated)."""
    return dataclasses.replace(ed, yi=ed.yi[idx], vi=ed.vi[idx], X=ed.X[idx], rows=ed.rows[idx],
                               slab=ed.slab[idx], frame=None, index=None)


def _deleted_fits(ed: EffectData, notes: Notes, **options) -> list[MetaResult | None]:
    """The model fitted without each study in turn; None where it cannot be fitted (too few studies left,
    or a moderator constant once the study is removed), with a warning naming the studies."""
    k, p = ed.X.shape
    fits: list[MetaResult | None] = []
    failed = []
    for i in range(k):
        idx = np.delete(np.arange(k), i)
        if idx.size < p or np.linalg.matrix_rank(ed.X[idx]) < p:
            fits.append(None)
            failed.append(str(ed.slab[i]))
            continue
        fits.append(notes.refit("leave-one-out fits", _rows(ed, idx), profile_ci=False, **options))
    if failed:
        notes.add(f"the model cannot be fitted without {'study' if len(failed) == 1 else 'studies'} "
                  f"{', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}: "
                  "the leave-one-out values are NaN", SmallKWarning)
    return fits


def _influence(ed: EffectData, notes: Notes, *, method: str, test: str, level: float) -> InfluenceResult:
    full = notes.refit("full model", ed, method=method, test=test, level=level, profile_ci=False)
    X, y, v = ed.X, ed.yi, ed.vi
    k, p = X.shape
    b = np.array([c.estimate for c in full.coefficients])
    A = wls(y, X, full.weights).A                                     # (X'WX)^{-1}, W = diag(1/(v + tau2))
    hat = full.weights * np.einsum("ij,jk,ik->i", X, A, X)           # h_i = w_i x_i' A x_i
    weight = 100.0 * full.weights / full.weights.sum()
    vb_inv = np.linalg.inv(full.vcov)
    nan = math.nan
    cols = {n: np.full(k, nan) for n in ("est", "tau2", "q", "rstudent", "cooks", "dffits", "covr")}
    dfbetas = np.full((k, p), nan)
    fits = _deleted_fits(ed, notes, method=method, test=test, level=level) if k > 1 else [None]
    if k == 1:
        notes.add("only k = 1 study: the leave-one-out diagnostics are NaN", SmallKWarning)
    det_full = np.linalg.det(full.vcov)
    for i, r in enumerate(fits):
        if r is None:
            continue
        b_del = np.array([c.estimate for c in r.coefficients])
        x = X[i]
        diff = b - b_del
        cols["est"][i], cols["tau2"][i], cols["q"][i] = b_del[0], r.tau2, r.q
        # Knapp-Hartung scaling of the deleted fit (1 under z and t tests), which also scales the
        # residual variances below: s2_(-i) = sum w_j e_j^2 / (k - 1 - p) (Knapp & Hartung, 2003, eq. 7)
        keep = np.arange(k) != i
        s2 = wls(y[keep], X[keep], r.weights).q / (k - 1 - p) if test == "knha" and k - 1 > p else 1.0
        # studentized deleted residual: (y_i - x_i'b_(-i)) / sqrt(s2 (v_i + tau2_(-i)) + x_i'Var(b_(-i))x_i)
        # (Viechtbauer & Cheung, 2010, Res. Synth. Methods 1(2), 112-125, eq. 12)
        cols["rstudent"][i] = (y[i] - x @ b_del) / math.sqrt(s2 * (v[i] + r.tau2) + x @ r.vcov @ x)
        # DFFITS: (x_i' b - x_i' b_(-i)) / sqrt(s2 h_i (tau2_(-i) + v_i)) (Viechtbauer & Cheung, 2010, eq. 13)
        cols["dffits"][i] = (x @ diff) / math.sqrt(s2 * hat[i] * (r.tau2 + v[i]))
        # Cook's distance: (b - b_(-i))' Var(b)^{-1} (b - b_(-i)) (Viechtbauer & Cheung, 2010, eq. 14)
        cols["cooks"][i] = diff @ vb_inv @ diff
        # covariance ratio: det Var(b_(-i)) / det Var(b) (Viechtbauer & Cheung, 2010, eq. 15)
        cols["covr"][i] = np.linalg.det(r.vcov) / det_full
        # DFBETAS: (b - b_(-i)) / sqrt(s2 diag (X'W_(-i)X)^{-1}), W_(-i) = diag(1/(v + tau2_(-i))) over all k
        # studies (Viechtbauer & Cheung, 2010, eq. 16)
        dfbetas[i] = diff / np.sqrt(s2 * np.diag(wls(y, X, 1.0 / (v + r.tau2)).A))
    # influential as metafor flags it: |DFFITS| > 3 sqrt(p / (k - p)), P(chi2_p <= D_i) > .5, h_i > 3 p / k,
    # or any |DFBETAS| > 1
    with np.errstate(invalid="ignore", divide="ignore"):
        cut = 3.0 * math.sqrt(p / (k - p)) if k > p else math.inf
        influential = ((np.abs(cols["dffits"]) > cut) | (np.asarray(dist.chi2_cdf(cols["cooks"], p)) > 0.5)
                       | (hat > 3.0 * p / k) | np.any(np.abs(dfbetas) > 1.0, axis=1))
    return InfluenceResult(
        k=k, method=full.method, test=full.test, names=ed.names, slab=ed.slab, leave1out_estimate=cols["est"],
        leave1out_tau2=cols["tau2"], leave1out_q=cols["q"], rstudent=cols["rstudent"], cooks_d=cols["cooks"],
        dffits=cols["dffits"], cov_ratio=cols["covr"], hat=hat, weight=weight, dfbetas=dfbetas,
        influential=influential, warnings=notes())


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


def _table(results: list[MetaResult | None]) -> dict[str, np.ndarray]:
    """Columns estimate ... h2 from a list of fits (NaN where a fit is missing)."""
    names = ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")
    return {n: np.array([math.nan if r is None else float(getattr(r, n)) for r in results]) for n in names}


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
        fits = [None]
    else:
        fits = _deleted_fits(ed, notes, method=method, test=test, level=level)
    return LeaveOneOutResult(k=k, method=method, test=test, slab=ed.slab, **_table(fits), warnings=notes())


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
        n_all = len(data) if data is not None else len(np.asarray(order))
        codes, levels, column = group_codes(data, order, name="order", n=n_all)
        codes = codes[index]
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise InputError("missing value", file=ed.source, row=ed.rows[i], column=column or "order",
                             expected="a value to order the studies by")
        perm = np.argsort(codes, kind="stable")
        values = levels[codes[perm]]
    fits = [notes.refit("cumulative fits", _rows(ed, perm[:j]), method=method, test=test, level=level,
                        profile_ci=False) for j in range(1, k + 1)]
    values = np.asarray([v.item() if hasattr(v, "item") else v for v in values], dtype=object)
    return CumulativeResult(k=k, method=method, test=test, slab=ed.slab[perm], order_value=values,
                            **_table(fits), warnings=notes())


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
    full = notes.refit("full model", ed, method=method, profile_ci=False)
    X, y, v = ed.X, ed.yi, ed.vi
    k = y.shape[0]
    b = np.array([c.estimate for c in full.coefficients])
    fitted = X @ b
    xs = (y - fitted) ** 2 / (v + full.tau2)
    ys = np.full(k, math.nan)
    if k == 1:
        notes.add("only k = 1 study: the influence on the fitted value is NaN", SmallKWarning)
    else:
        for i, r in enumerate(_deleted_fits(ed, notes, method=method)):
            if r is not None:
                b_del = np.array([c.estimate for c in r.coefficients])
                ys[i] = (fitted[i] - X[i] @ b_del) ** 2 / (X[i] @ r.vcov @ X[i])
    return BaujatResult(k=k, method=method, slab=ed.slab, x=xs, y=ys, warnings=notes())
