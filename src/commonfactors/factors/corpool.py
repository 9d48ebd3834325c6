"""Stage 1 of meta-analytic structural equation modelling: pool correlation matrices by generalised least
squares (GLS), with the asymptotic covariance of the pooled correlations and a homogeneity test.

Each study reports some of the correlations among the factors and the outcome (all of them, or only
those it measured). Stacking every study's correlations in one vector r, the model is

    r = X rho + u + e,    e ~ N(0, V),    u ~ N(0, T)  (random effects only),

where rho holds the m = q (q - 1) / 2 population correlations among the q variables, X picks for each
observed correlation its element of rho (one 1 per row), and V is block diagonal: study i's block is
the Olkin & Siotani (1976) asymptotic covariance of the correlations computed in one sample of n_i.
The GLS estimate and its covariance are (Becker 1992; Cheung & Chan 2005, the GLS approach)

    rho_hat = (X' W X)^{-1} X' W r,    Cov(rho_hat) = (X' W X)^{-1},    W = (V + X T X')^{-1},

and the homogeneity test of one common correlation matrix is Q = (r - X rho_hat)' V^{-1} (r - X rho_hat),
chi-square with (number of observed correlations - m) df under H0 (Becker 1992).

**Fixed effects** (``method="FE"``, T = 0): every study estimates the same population correlation
matrix, and study results differ only by sampling error. The pooled covariance then reflects sampling
error alone; when studies differ in their populations, measures or treatments (a significant Q), the
intervals are too narrow and the pooled matrix describes only these studies. **Random effects**
(``method="REML"``): each study's correlations deviate from the mean matrix by u_i with T diagonal
(one between-study variance tau2 per correlation: the random-effects model of Becker 1992 with
uncorrelated random effects; metafor's ``struct = "DIAG"``), estimated by restricted maximum
likelihood; the pooled correlations are then the mean of a distribution of matrices, and their
covariance includes T.

References
----------
Olkin, I., & Siotani, M. (1976). Asymptotic distribution of functions of a correlation matrix. In S. Ikeda
(Ed.), *Essays in Probability and Statistics* (pp. 235-251). Shinko Tsusho.
Becker, B. J. (1992). Using results from replicated studies to estimate linear models. *Journal of
Educational Statistics*, 17(4), 341-362. doi:10.3102/10769986017004341 (the covariance of two
correlations in one sample, the GLS estimator, its covariance and the homogeneity test).
Cheung, M. W.-L., & Chan, W. (2005). Meta-analytic structural equation modeling: A two-stage approach.
*Psychological Methods*, 10(1), 40-64. doi:10.1037/1082-989X.10.1.40 (the GLS approach as stage 1).
Borenstein, M. (2009). Effect sizes for continuous data. In Cooper, Hedges & Valentine (Eds.), *The
Handbook of Research Synthesis and Meta-Analysis* (2nd ed.), eq. 12.27: var(r) = (1 - r^2)^2 / (n - 1).
Hafdahl, A. R. (2007). Combining correlation matrices: Simulation analysis of improved fixed-effects
methods. *Journal of Educational and Behavioral Statistics*, 32(2), 180-205
(V from the sample-size weighted mean correlations instead of each study's own).
Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation and to related
problems. *Journal of the American Statistical Association*, 72(358), 320-338 (the REML score and
expected information used by Fisher scoring).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .._checks import format_rows, require_column, row_labels, source_of, warn_dropped
from .._distributions import chi2_sf
from .._numbers import to_float
from ..errors import CommonFactorsWarning, ConvergenceWarning, InputError
from ..models._inference import critical
from ..results.factors import CorrelationPoolResult, PooledCorrelation

Method = Literal["FE", "REML"]
VFrom = Literal["study", "mean"]
NFun = Literal["min", "harmonic", "mean"]

#: Fisher scoring stops when no tau2 moves by more than this.
REML_TOL = 1e-10
REML_MAXITER = 500


class CorrelationPoolWarning(CommonFactorsWarning):
    """The pooled correlation matrix rests on an assumption the data question (heterogeneity, a tau2
    that cannot be estimated, a pooled matrix that is not positive definite)."""


@dataclass(frozen=True)
class _Stage1:
    """Clean stage-1 data: ``names`` (factors first, outcome last), ``pairs`` (m pairs of indices into
    names, upper triangle in row order), and per study its label, common n, the positions of its
    correlations in ``pairs`` and their values."""

    names: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    studies: tuple[str, ...]
    n: np.ndarray
    idx: tuple[np.ndarray, ...]
    r: tuple[np.ndarray, ...]
    first_row: tuple
    source: str | None


def pool_correlation_matrices(
    data,
    *,
    study: str = "study",
    var1: str = "var1",
    var2: str = "var2",
    ri: str = "r",
    ni: str = "n",
    outcome: str = "outcome",
    method: Method = "FE",
    v_from: VFrom = "study",
    nfun: NFun = "min",
    level: float = 95,
) -> CorrelationPoolResult:
    """Pool study correlation matrices by GLS (Becker 1992; Cheung & Chan 2005, stage 1).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per study and reported correlation: the study's label (``study``), the two
        variables (``var1``, ``var2``, in either order; one of the variables is ``outcome``), the
        correlation (``ri``) and the sample size it rests on (``ni``). Pairs a study did not report are
        simply absent (or have a missing ``ri``: such rows are dropped with a warning).
    outcome : str
        Name of the outcome variable. Every other variable must be correlated with it in some study.
    method : {"FE", "REML"}
        Fixed effects (one common population matrix) or random effects with one between-study variance
        per correlation, estimated by REML (see the module notes for what each assumes).
    v_from : {"study", "mean"}
        Correlations the Olkin-Siotani covariances are computed from: each study's own (Becker 1992; as
        metafor's ``rcalc``), with the sample-size weighted mean filling the pairs a study did not
        report; or the weighted mean correlations for every study (Hafdahl 2007: less biased weights).
    nfun : {"min", "harmonic", "mean"}
        The common sample size of a study whose correlations rest on different n (as ``rcalc``'s nfun).
    level : float
        Confidence level of the Wald intervals, in percent.

    Returns
    -------
    CorrelationPoolResult
        ``pairs``: per correlation ``var1``, ``var2``, ``k`` (studies reporting it), ``n`` (their total
        N), ``r`` (pooled), ``se``, ``ci_low``/``ci_high`` (Wald, r scale), ``tau2`` (REML; NaN for
        FE); ``vcov``: the m x m asymptotic covariance of the pooled correlations, in the order of
        ``pairs``; ``matrix``: the pooled matrix (factors first, outcome last); ``q``, ``q_df``,
        ``q_pval``: the homogeneity test; ``k``: studies; ``n``: their total common N.

    Raises
    ------
    InputError
        A missing column; a correlation outside (-1, 1); n < 4 or missing; a variable correlated with
        itself; a pair listed twice in one study; no ``outcome``, a variable never paired with the
        outcome, or a pair of variables no study reports; a study whose correlations cannot occur
        together (their sampling covariance is not positive definite). Before pooling: more than
        :data:`~commonfactors.factors.dominance.MAX_FACTORS` variables besides the outcome, or more
        memory than :func:`~commonfactors.factors.pie.memory_budget`.

    Warns
    -----
    DroppedRowsWarning
        Rows with a missing correlation were left out.
    CorrelationPoolWarning
        FE with a significant homogeneity test (p < .05); a tau2 reported by a single study (fixed at 0);
        a pooled matrix that is not positive definite.
    ConvergenceWarning
        REML did not converge.

    Notes
    -----
    Study i with common sample size n_i and correlations rho contributes the block
    V_i[st, uv] = A(rho)[st, uv] / (n_i - 1), with the Olkin & Siotani (1976) numerator (as in Becker 1992)

        A[st, uv] = 1/2 r_st r_uv (r_su^2 + r_sv^2 + r_tu^2 + r_tv^2) + r_su r_tv + r_sv r_tu
                    - (r_st r_su r_sv + r_ts r_tu r_tv + r_us r_ut r_uv + r_vs r_vt r_vu),

    which gives var(r_st) = (1 - r_st^2)^2 / (n_i - 1) (Borenstein 2009, eq. 12.27, the variance metafor
    uses for raw correlations; Becker divides by n_i, which is asymptotically the same).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = [("s1", "alliance", "outcome", 0.30, 120), ("s1", "empathy", "outcome", 0.25, 120),
    ...         ("s1", "alliance", "empathy", 0.40, 120), ("s2", "alliance", "outcome", 0.20, 80)]
    >>> res = pool_correlation_matrices(pd.DataFrame(rows, columns=["study", "var1", "var2", "r", "n"]))
    >>> res.names, res.k, res.q_df
    (('alliance', 'empathy', 'outcome'), 2, 1)
    >>> [round(p.r, 4) for p in res.pairs]
    [0.3934, 0.2626, 0.2359]
    """
    if method not in ("FE", "REML"):
        raise InputError(f"method = {method!r}", expected="'FE' (fixed effects) or 'REML' (random effects)")
    if v_from not in ("study", "mean"):
        raise InputError(f"v_from = {v_from!r}", expected="'study' or 'mean'")
    if nfun not in ("min", "harmonic", "mean"):
        raise InputError(f"nfun = {nfun!r}", expected="'min', 'harmonic' or 'mean'")
    level = float(level)
    if not 0 < level < 100:
        raise InputError(f"level = {level:g}", expected="a confidence level in percent, between 0 and 100")
    d = _stage1_data(data, study, var1, var2, ri, ni, outcome, nfun)
    rbar = _weighted_mean(d)
    st = _stack(d, _sampling_covariances(d, rbar, v_from))
    msgs: list[tuple[type, str]] = []
    m = len(d.pairs)
    fe = _gls(st, np.zeros(m))
    q = float(fe["q"])
    q_df = sum(len(i) for i in d.idx) - m
    q_pval = float(chi2_sf(q, q_df)) if q_df > 0 else math.nan
    k_pair = np.bincount(np.concatenate(d.idx), minlength=m)
    if method == "FE":
        fit, tau2 = fe, np.full(m, np.nan)
        if q_df > 0 and q_pval < 0.05:
            msgs.append(
                (
                    CorrelationPoolWarning,
                    f"the homogeneity test rejects one common correlation matrix (Q = {q:.2f}, df = {q_df}, "
                    f"p = {q_pval:.3g}): fixed-effects intervals are too narrow; consider random effects "
                    "(method='REML', or --pool-method REML)",
                )
            )
    else:
        tau2, msgs_re = _reml(st, k_pair, d.names, d.pairs)
        msgs += msgs_re
        fit = _gls(st, tau2)
    rho, vcov = fit["beta"], fit["cov"]
    se = np.sqrt(np.diag(vcov))
    zq = critical(level)
    n_pair = np.zeros(m)
    for n_i, idx in zip(d.n, d.idx, strict=True):
        n_pair[idx] += n_i
    pooled = tuple(
        PooledCorrelation(
            var1=d.names[a],
            var2=d.names[b],
            k=int(k_pair[j]),
            n=float(n_pair[j]),
            r=float(rho[j]),
            se=float(se[j]),
            ci_low=float(rho[j] - zq * se[j]),
            ci_high=float(rho[j] + zq * se[j]),
            tau2=float(tau2[j]),
        )
        for j, (a, b) in enumerate(d.pairs)
    )
    R = _matrix(rho, d.pairs, len(d.names))
    if np.linalg.eigvalsh(R)[0] <= 0:
        msgs.append((CorrelationPoolWarning, "the pooled correlation matrix is not positive definite"))
    for category, msg in msgs:
        warnings.warn(msg, category, stacklevel=2)
    return CorrelationPoolResult(
        method=method,
        names=d.names,
        outcome=outcome,
        k=len(d.studies),
        n=float(d.n.sum()),
        pairs=pooled,
        vcov=vcov,
        q=q,
        q_df=int(q_df),
        q_pval=q_pval,
        level=level,
        v_from=v_from,
        source=d.source,
        warnings=tuple(msg for _, msg in msgs),
    )


def olkin_siotani(R, pairs) -> np.ndarray:
    """The Olkin & Siotani (1976) numerator A: n times the asymptotic covariance of the correlations.

    Parameters
    ----------
    R : array of shape (q, q)
        Correlation matrix the covariances are evaluated at.
    pairs : sequence of (s, t)
        Index pairs of the correlations, s != t.

    Returns
    -------
    array of shape (len(pairs), len(pairs))
        A[st, uv] as in Becker (1992) (module notes); A[st, st] = (1 - r_st^2)^2.
    """
    R = np.asarray(R, dtype=float)
    p = np.asarray(pairs, dtype=int).reshape(-1, 2)
    s, t = p[:, 0][:, None], p[:, 1][:, None]
    u, v = p[:, 0][None, :], p[:, 1][None, :]
    return (
        0.5 * R[s, t] * R[u, v] * (R[s, u] ** 2 + R[s, v] ** 2 + R[t, u] ** 2 + R[t, v] ** 2)
        + R[s, u] * R[t, v]
        + R[s, v] * R[t, u]
        - (
            R[s, t] * R[s, u] * R[s, v]
            + R[t, s] * R[t, u] * R[t, v]
            + R[u, s] * R[u, t] * R[u, v]
            + R[v, s] * R[v, t] * R[v, u]
        )
    )


def _text(values) -> np.ndarray:
    """Labels as stripped text; missing spellings become None."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        s = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
        out[i] = None if s in ("", "NA", "nan", "NaN", "None", "<NA>") else s
    return out


def check_correlation_rows(r, n, var1, var2, *, rows, source, columns: tuple[str, str, str],
                           missing_r: bool) -> None:
    """Raise InputError at the first row of study-level correlations that cannot be pooled.

    Package-internal: the one check of the rows of a long correlation table, shared by
    :func:`pool_correlation_matrices` and :func:`commonfactors.factors.pie.pool_correlations_pairwise`.
    Each row needs r in (-1, 1), a sample size n >= 4 (Fisher's z has variance 1 / (n - 3)) and two
    different variables.

    Parameters
    ----------
    r, n : arrays of shape (m,)
        Correlations and sample sizes, one per row (m rows).
    var1, var2 : arrays of shape (m,)
        The two variables' names.
    rows, source
        The row labels and the file, for the message.
    columns : (str, str, str)
        The names of the r, n and second-variable columns, for the message.
    missing_r : bool
        Whether a missing r passes (the caller drops it with a warning).
    """
    ri, ni, var2_column = columns
    bad = np.flatnonzero(~(np.abs(r) < 1) & ~(missing_r & np.isnan(r)))
    if bad.size:
        raise InputError(f"got {r[bad[0]]:g}", file=source, row=rows[bad[0]], column=ri,
                         expected="a correlation in (-1, 1)")
    bad = np.flatnonzero(~(n >= 4))
    if bad.size:
        got = "a missing value" if np.isnan(n[bad[0]]) else f"{n[bad[0]]:g}"
        raise InputError(f"got {got}", file=source, row=rows[bad[0]], column=ni,
                         expected="a sample size >= 4")
    same = np.flatnonzero(var1 == var2)
    if same.size:
        raise InputError(
            f"{str(var1[same[0]])!r} is correlated with itself",
            file=source,
            row=rows[same[0]],
            column=var2_column,
            expected="two different variables",
        )


def _stage1_data(data, study, var1, var2, ri, ni, outcome, nfun) -> _Stage1:
    """Validate the long table once (every InputError about its values is raised here)."""
    if not hasattr(data, "columns"):
        raise InputError(
            f"got a {type(data).__name__}",
            expected="a pandas DataFrame with columns study, var1, var2, r, n (one row per correlation)",
        )
    for col, role in ((study, "study"), (var1, "var1"), (var2, "var2"), (ri, "correlation"), (ni, "n")):
        require_column(data, col, role=role)
    source = source_of(data)
    rows = row_labels(data, len(data))
    if len(data) == 0:
        raise InputError("no rows", file=source, expected="one row per study and correlation")
    r = to_float(data[ri], column=ri, rows=rows, source=source)
    n = to_float(data[ni], column=ni, rows=rows, source=source)
    sid, a, b = _text(data[study]), _text(data[var1]), _text(data[var2])
    for vals, col, what in (
        (sid, study, "a study label"),
        (a, var1, "a variable name"),
        (b, var2, "a variable name"),
    ):
        miss = [i for i, x in enumerate(vals) if x is None]
        if miss:
            raise InputError("missing", file=source, row=rows[miss[0]], column=col, expected=what)
    check_correlation_rows(r, n, a, b, rows=rows, source=source, columns=(ri, ni, var2), missing_r=True)
    keep = ~np.isnan(r)
    warn_dropped(list(rows[~keep]), "a missing correlation", stacklevel=5)
    seen: dict = {}
    for i in np.flatnonzero(keep):
        key = (sid[i], frozenset((a[i], b[i])))
        if key in seen:
            raise InputError(
                f"study {sid[i]!r} lists the pair ({a[i]!r}, {b[i]!r}) twice "
                f"(also {format_rows([seen[key]])})",
                file=source,
                row=rows[i],
                column=var2,
                expected="each correlation once per study",
            )
        seen[key] = rows[i]
    kept = np.flatnonzero(keep)
    first = {}
    for i in kept:
        for v in (a[i], b[i]):
            first.setdefault(v, i)
    if outcome not in first:
        raise InputError(
            f"no correlation involves {outcome!r}",
            file=source,
            column=f"{var1}/{var2}",
            expected=f"the outcome variable named {outcome!r}",
        )
    with_outcome = {a[i] for i in kept if b[i] == outcome} | {b[i] for i in kept if a[i] == outcome}
    for v, i in first.items():
        if v != outcome and v not in with_outcome:
            raise InputError(
                f"{v!r} is never correlated with {outcome!r}",
                file=source,
                row=rows[i],
                column=var1 if a[i] == v else var2,
                expected=f"every variable paired with {outcome!r} in at least one study",
            )
    names = tuple([v for v in first if v != outcome] + [outcome])
    _check_size(len(names), len({sid[i] for i in kept}), source)
    pos = {v: j for j, v in enumerate(names)}
    pairs = tuple((x, y) for x in range(len(names)) for y in range(x + 1, len(names)))
    pair_pos = {p: j for j, p in enumerate(pairs)}
    observed = {tuple(sorted((pos[a[i]], pos[b[i]]))) for i in kept}
    for x, y in pairs:
        if (x, y) not in observed:
            raise InputError(
                f"no study reports the correlation of {names[x]!r} with {names[y]!r}",
                file=source,
                expected="every pair of variables in at least one study",
            )
    by_study: dict = {}
    for i in kept:
        by_study.setdefault(sid[i], []).append(i)
    fns = {"min": np.min, "harmonic": lambda x: len(x) / np.sum(1 / x), "mean": np.mean}
    studies, ns, idxs, rs, firsts = [], [], [], [], []
    for s, ii in by_study.items():
        ii = np.asarray(ii)
        j = np.array([pair_pos[tuple(sorted((pos[a[i]], pos[b[i]])))] for i in ii])
        order = np.argsort(j)
        studies.append(s)
        ns.append(float(fns[nfun](n[ii])))
        idxs.append(j[order])
        rs.append(r[ii][order])
        firsts.append(rows[ii[0]])
    return _Stage1(
        names, pairs, tuple(studies), np.asarray(ns), tuple(idxs), tuple(rs), tuple(firsts), source
    )


def _check_size(q: int, k: int, source) -> None:
    """Refuse before any work: more factors than a dominance pie takes, or q variables of k studies whose GLS
    would need more memory than a pie may use (:func:`~commonfactors.factors.pie.memory_budget`): about
    seven (k, m, m) arrays of the m = q (q - 1) / 2 correlations (the studies' covariances, weights and
    their products) and two (m, m, m) arrays (the REML information)."""
    from .dominance import MAX_FACTORS, check_factor_count
    from .pie import byte_size, memory_budget

    check_factor_count(q - 1, source)  # the pooled matrix is for a dominance pie: refused before pooling
    m = q * (q - 1) // 2
    need, budget = 8 * (7 * k * m * m + 2 * m**3), memory_budget()
    if need > budget:
        studies = "1 study" if k == 1 else f"{k} studies"
        raise InputError(
            f"{q} variables in {studies}: pooling their {m:,} correlations needs {byte_size(need)} of "
            f"memory, more than the budget of {byte_size(budget)}",
            file=source,
            expected=f"fewer variables (a dominance pie takes at most {MAX_FACTORS} factors and the outcome)",
        )


def _weighted_mean(d: _Stage1) -> np.ndarray:
    """Sample-size weighted mean of each correlation over the studies reporting it."""
    m = len(d.pairs)
    num, den = np.zeros(m), np.zeros(m)
    for n_i, idx, r_i in zip(d.n, d.idx, d.r, strict=True):
        num[idx] += n_i * r_i
        den[idx] += n_i
    return num / den


def _matrix(rho, pairs, q) -> np.ndarray:
    R = np.eye(q)
    for j, (x, y) in enumerate(pairs):
        R[x, y] = R[y, x] = rho[j]
    return R


def _sampling_covariances(d: _Stage1, rbar, v_from) -> tuple[np.ndarray, ...]:
    """Each study's V_i = A(R_i)[idx, idx] / (n_i - 1) (module notes), checked positive definite."""
    q = len(d.names)
    out = []
    for s, n_i, idx, r_i, row in zip(d.studies, d.n, d.idx, d.r, d.first_row, strict=True):
        rho = rbar.copy()
        if v_from == "study":
            rho[idx] = r_i
        pairs = [d.pairs[j] for j in idx]
        V = olkin_siotani(_matrix(rho, d.pairs, q), pairs) / (n_i - 1.0)
        if np.linalg.eigvalsh(V)[0] <= 0:
            raise InputError(
                f"the correlations of study {s!r} cannot occur together (their sampling covariance is not "
                "positive definite)",
                file=d.source,
                row=row,
                expected="correlations from one sample (a positive definite matrix), or v_from='mean'",
            )
        out.append(V)
    return tuple(out)


@dataclass(frozen=True)
class _Stacked:
    """The studies padded to all m correlations: ``obs`` (k, m) marks the reported ones, ``y`` (k, m) their
    values (0 elsewhere), ``V`` (k, m, m) their sampling covariances (0 in unreported rows and columns)."""

    obs: np.ndarray
    y: np.ndarray
    V: np.ndarray


def _stack(d: _Stage1, Vs) -> _Stacked:
    k, m = len(d.studies), len(d.pairs)
    obs, y, V = np.zeros((k, m), dtype=bool), np.zeros((k, m)), np.zeros((k, m, m))
    for i, (idx, r_i, V_i) in enumerate(zip(d.idx, d.r, Vs, strict=True)):
        obs[i, idx], y[i, idx] = True, r_i
        V[i, idx[:, None], idx[None, :]] = V_i
    return _Stacked(obs, y, V)


def _gls(st: _Stacked, tau2) -> dict:
    """GLS fit with W_i = (V_i + diag(tau2) on study i's correlations)^{-1}; REML score and information.

    Each study is padded to all m correlations with an identity block for the unreported ones, so that
    the inverse of the padded matrix is W_i on the reported block; zeroing the rest gives W_i in the
    coordinates of rho, where X_i' W_i X_i is W_i itself. Returns beta, cov = (X'WX)^{-1}, q (the
    residual quadratic form, Q_E when tau2 = 0), the REML log-likelihood (up to a constant), and the
    REML score and expected information in tau2 (Harville 1977): score_j = -tr(P D_j) / 2 +
    (Py)' D_j (Py) / 2, info_jl = tr(P D_j P D_l) / 2, with D_j selecting the rows of correlation j
    and P = W - W X (X'WX)^{-1} X' W.
    """
    obs = st.obs
    both = obs[:, :, None] & obs[:, None, :]
    M = np.where(both, st.V + np.eye(len(tau2)) * tau2, 0.0) + np.eye(len(tau2)) * ~obs[:, :, None]
    W = np.linalg.inv(M) * both
    logdet = np.linalg.slogdet(M)[1].sum()
    XtWX = W.sum(axis=0)
    cov = np.linalg.inv(XtWX)
    beta = cov @ np.einsum("iab,ib->a", W, st.y)
    e = (st.y - beta) * obs
    Py = np.einsum("iab,ib->ia", W, e)
    q = float(np.sum(e * Py))
    WC = W @ cov
    WCW = WC @ W  # (W X C X' W) within each study
    ptr = np.einsum("iaa->a", W) - np.einsum("iaa->a", WCW)
    info = np.sum(W * W - 2 * W * WCW, axis=0)  # the same-study terms of sum over a in j, b in l of P_ab^2
    A = np.einsum("ija,ijb->jab", W, W)  # sum over the rows a of correlation j of u_a u_a', u_a' = (W X)[a]
    CA = cov @ A
    info += np.einsum("jab,lba->jl", CA, CA)  # sum over all a in j, b in l of (u_a' C u_b)^2
    return {
        "beta": beta,
        "cov": cov,
        "q": q,
        "loglik": -0.5 * (logdet + np.linalg.slogdet(XtWX)[1] + q),
        "score": 0.5 * (np.sum(Py**2, axis=0) - ptr),
        "info": 0.5 * info,
    }


def _reml(st: _Stacked, k_pair, names, pairs) -> tuple[np.ndarray, list[tuple[type, str]]]:
    """REML estimate of the diagonal T by Fisher scoring with step halving, on tau2 >= 0.

    A tau2 at 0 whose score is not positive stays at 0 for that step (projected Newton); the others take
    the Fisher scoring step. A correlation reported by a single study has a flat restricted likelihood
    in its tau2 (its observation is used up by its own mean): that tau2 is fixed at 0 with a warning.
    """
    m = len(pairs)
    msgs = []
    free = k_pair >= 2
    single = [f"{names[pairs[j][0]]}-{names[pairs[j][1]]}" for j in np.flatnonzero(~free)]
    if single:
        msgs.append(
            (
                CorrelationPoolWarning,
                f"tau2 fixed at 0 for correlations reported by a single study: {', '.join(single)}",
            )
        )
    # start: the excess of the observed variance of each correlation over its mean sampling variance
    cnt = st.obs.sum(axis=0)
    mean = st.y.sum(axis=0) / cnt
    dev = np.sum(((st.y - mean) * st.obs) ** 2, axis=0)
    vbar = np.einsum("iaa->a", st.V) / cnt
    with np.errstate(invalid="ignore", divide="ignore"):
        tau2 = np.where(free, np.maximum(dev / np.maximum(cnt - 1, 1) - vbar, 0.0) + 1e-4, 0.0)
    fit = _gls(st, tau2)
    for _ in range(REML_MAXITER):
        act = free & ~((tau2 == 0) & (fit["score"] <= 0))
        step = np.zeros(m)
        if act.any():
            step[act] = np.linalg.lstsq(fit["info"][np.ix_(act, act)], fit["score"][act], rcond=None)[0]
        for _half in range(30):
            new = np.maximum(tau2 + step, 0.0)
            cand = _gls(st, new)
            if cand["loglik"] >= fit["loglik"] - 1e-12 * abs(fit["loglik"]):
                break
            step /= 2
        change = np.max(np.abs(new - tau2))
        tau2, fit = new, cand
        if change < REML_TOL:
            return tau2, msgs
    msgs.append((ConvergenceWarning, f"REML did not converge in {REML_MAXITER} Fisher scoring iterations"))
    return tau2, msgs
