"""Three-level meta-analysis: effects nested in clusters, with O(k) work per iteration.

The model (Konstantopoulos, 2011; Van den Noortgate et al., 2013) for effect ``i`` of cluster ``j`` is

    y_ij = x_ij' beta + u_j + w_ij + e_ij,   u_j ~ N(0, sigma2_1), w_ij ~ N(0, sigma2_2), e_ij ~ N(0, v_ij),

so the marginal covariance is V = diag(v) + sigma2_1 Z Z' + sigma2_2 I, block-diagonal by cluster, each
block a diagonal matrix plus a rank-one matrix:

    V_j = D_j + sigma2_1 1 1',   D_j = diag(v_ij + sigma2_2).

Its inverse and log-determinant follow from the Sherman-Morrison formula and the matrix determinant lemma
(Sherman & Morrison, 1950, Ann. Math. Stat. 21(1), 124-127; Harville, 1997, Matrix Algebra From a
Statistician's Perspective, Springer, ch. 18):

    V_j^{-1} = D_j^{-1} - c_j D_j^{-1} 1 1' D_j^{-1},   c_j = sigma2_1 / (1 + sigma2_1 W_j),
    W_j = 1' D_j^{-1} 1,
    log|V_j| = sum_i log(v_ij + sigma2_2) + log(1 + sigma2_1 W_j).

Every quantity of the (restricted) likelihood, its gradient and its Hessian is then a sum over rows or
over clusters; no k x k matrix is ever formed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from .. import _checks
from ..errors import BoundaryWarning, ConvergenceWarning, InputError
from . import _inference as inference
from ._notes import Notes
from ._options import MultilevelMethod as Method
from ._options import MultilevelTest as Test
from ._options import normalize_options
from ._wls import cochran_q

Robust = Literal["cr2"]

_LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class Blocks:
    """Rows sorted so that each cluster is contiguous: ``starts`` (n,) first row of each cluster,
    ``sizes`` (n,), ``group`` (k,) cluster number of each row."""

    starts: np.ndarray
    sizes: np.ndarray
    group: np.ndarray

    @classmethod
    def from_sorted_codes(cls, codes: np.ndarray) -> Blocks:
        edge = np.flatnonzero(np.diff(codes)) + 1
        starts = np.concatenate(([0], edge)).astype(np.intp)
        sizes = np.diff(np.concatenate((starts, [codes.shape[0]])))
        group = np.repeat(np.arange(starts.shape[0]), sizes)
        return cls(starts=starts, sizes=sizes, group=group)

    def sum(self, a: np.ndarray) -> np.ndarray:
        """Sums over the rows of each cluster (axis 0)."""
        return np.add.reduceat(a, self.starts, axis=0)


@dataclass(frozen=True)
class Evaluation:
    """The (restricted) log-likelihood at sigma2 = (sigma2_1, sigma2_2), its gradient and Hessian,
    the expected information, and the GLS fit: ``beta`` and its covariance ``M`` = (X'V^{-1}X)^{-1}."""

    sigma2: np.ndarray
    loglik: float
    grad: np.ndarray
    hess: np.ndarray
    info: np.ndarray
    beta: np.ndarray
    M: np.ndarray


def _logdet_spd(A: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(A)
    return float(value) if sign > 0 else -math.inf


def evaluate(sigma2, y, v, X, blocks: Blocks, *, reml: bool, logdet_xx: float) -> Evaluation:
    """Log-likelihood, gradient, Hessian and Fisher information at ``sigma2`` in O(k p^2).

    With P = V^{-1} - V^{-1} X M X' V^{-1} (REML; P = V^{-1} for ML), V_1 = Z Z', V_2 = I and e = P y:

        d ll / d s_a = -tr(P V_a) / 2 + e' V_a e / 2,
        d2 ll / d s_a d s_b = tr(P V_a P V_b) / 2 - e' V_a P V_b e,
        I_ab = tr(P V_a P V_b) / 2

    (Harville, 1977, J. Am. Stat. Assoc. 72(358), 320-338: the ML and REML likelihood equations and
    their information matrices). The restricted
    log-likelihood is Harville's (1974, Biometrika 61(2), 383-385) with the constant log|X'X| / 2, as
    metafor's rma.mv reports it.
    """
    s1, s2 = float(sigma2[0]), float(sigma2[1])
    k, p = X.shape
    g_of = blocks.group
    d = v + s2
    w = 1.0 / d
    W = blocks.sum(w)
    g = 1.0 + s1 * W
    c = s1 / g  # Sherman-Morrison: V_j^{-1} = diag(w) - c_j w w'

    def vinv(A):  # V^{-1} A for A of shape (k, m)
        S = blocks.sum(w[:, None] * A)
        return w[:, None] * (A - (c[:, None] * S)[g_of])

    Zy = np.column_stack((X, y))
    VZ = vinv(Zy)
    cross = Zy.T @ VZ
    XVX = (cross[:p, :p] + cross[:p, :p].T) / 2
    M = np.linalg.inv(XVX)
    M = (M + M.T) / 2
    beta = M @ cross[:p, p]
    U = VZ[:, :p]  # V^{-1} X
    e = VZ[:, p] - U @ beta  # P y = V^{-1} (y - X beta)
    rvr = float(np.dot(y - X @ beta, e))
    logdet_v = float(np.log(d).sum() + np.log(g).sum())  # matrix determinant lemma
    if reml:
        loglik = -0.5 * ((k - p) * _LOG_2PI + logdet_v + _logdet_spd(XVX) - logdet_xx + rvr)
    else:
        loglik = -0.5 * (k * _LOG_2PI + logdet_v + rvr)

    W2, W3 = blocks.sum(w * w), blocks.sum(w**3)
    Wg = W / g  # 1' V_j^{-1} 1
    E = blocks.sum(e)  # Z' e
    # traces of V^{-1} V_a V^{-1} V_b (a, b = 1: Z Z', 2: I), cluster by cluster
    t22 = float(np.sum(W2 - 2.0 * c * W3 + c * c * W2 * W2))
    t12 = float(np.sum(W2 / (g * g)))
    t11 = float(np.sum(Wg * Wg))
    tr1 = float(Wg.sum())  # tr(V^{-1} Z Z')
    tr2 = float(np.sum(W - c * W2))  # tr(V^{-1})
    T = np.array([[t11, t12], [t12, t22]])
    tr = np.array([tr1, tr2])
    # e' V_a P V_b e with f_1 = Z Z' e, f_2 = e
    F = np.column_stack((E[g_of], e))
    FPF = F.T @ vinv(F)
    if reml:
        G = blocks.sum(U)  # Z' V^{-1} X
        VU = vinv(U)
        UU = {(1, 1): G.T @ G, (2, 2): U.T @ U}
        # U' V_a V^{-1} V_b U
        UAVBU = {(2, 2): U.T @ VU, (1, 1): (G * Wg[:, None]).T @ G}
        UAVBU[(1, 2)] = G.T @ blocks.sum(VU)
        MU = {a: M @ UU[(a, a)] for a in (1, 2)}
        for a in (1, 2):
            tr[a - 1] -= np.trace(MU[a])
            for b in (1, 2):
                cr = UAVBU[(min(a, b), max(a, b))]
                T[a - 1, b - 1] += -2.0 * np.trace(M @ cr) + np.trace(MU[a] @ MU[b])
        UF = U.T @ F
        FPF = FPF - UF.T @ M @ UF
    T = (T + T.T) / 2
    quad = np.array([float(E @ E), float(e @ e)])
    grad = 0.5 * (quad - tr)
    info = 0.5 * T
    hess = info - (FPF + FPF.T) / 2
    return Evaluation(
        sigma2=np.array([s1, s2]), loglik=float(loglik), grad=grad, hess=hess, info=info, beta=beta, M=M
    )


@dataclass(frozen=True)
class Fit:
    ev: Evaluation
    converged: bool
    iterations: int


def fit_sigma2(y, v, X, blocks: Blocks, *, reml: bool, rtol: float = 1e-12, maxiter: int = 200) -> Fit:
    """Maximise the (restricted) log-likelihood over sigma2_1, sigma2_2 >= 0.

    Newton-Raphson with the analytic Hessian where it is negative definite, Fisher scoring otherwise
    (Harville, 1977; Jennrich & Sampson, 1976, Technometrics 18(1), 11-17), each step projected
    onto the non-negative quadrant and halved until the log-likelihood does not decrease; a variance held
    at zero whose gradient points outward leaves the active set (Karush-Kuhn-Tucker conditions).
    Converged when no free component moves by more than ``rtol`` relative, or when the step's predicted
    gain in log-likelihood (the Newton decrement g'step) is below rounding, 1e-14 (1 + |loglik|): near a
    variance of 0 a relative move test alone can go on splitting steps of 1e-18 for ever.
    """
    logdet_xx = _logdet_spd(X.T @ X) if reml else 0.0
    start = _start(y, v, X)
    ev = evaluate(start, y, v, X, blocks, reml=reml, logdet_xx=logdet_xx)
    for it in range(1, maxiter + 1):
        s = ev.sigma2
        free = np.flatnonzero((s > 0) | (ev.grad > 0))
        if free.size == 0:
            return Fit(ev, True, it)
        H = ev.hess[np.ix_(free, free)]
        gr = ev.grad[free]
        step = None
        if np.all(np.linalg.eigvalsh(H) < 0):
            step = np.linalg.solve(-H, gr)
        else:
            step = np.linalg.lstsq(ev.info[np.ix_(free, free)], gr, rcond=None)[0]
        if abs(float(gr @ step)) <= 1e-14 * (1.0 + abs(ev.loglik)):
            return Fit(ev, True, it)
        t = 1.0
        while True:
            cand = s.copy()
            cand[free] = np.maximum(s[free] + t * step, 0.0)
            new = evaluate(cand, y, v, X, blocks, reml=reml, logdet_xx=logdet_xx)
            if new.loglik >= ev.loglik - 1e-13 * (1.0 + abs(ev.loglik)) or t < 1e-8:
                break
            t /= 2
        moved = np.abs(new.sigma2 - s)
        ev = new
        if np.all(moved <= rtol * np.maximum(np.abs(s), 1e-8)):
            return Fit(ev, True, it)
    return Fit(ev, False, maxiter)


def _start(y, v, X) -> np.ndarray:
    """Starting values: half each of the residual variance beyond the sampling variance (OLS residuals)."""
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    r = y - X @ beta
    dof = max(y.shape[0] - X.shape[1], 1)
    total = max(float(r @ r) / dof - float(v.mean()), 0.0)
    half = max(total / 2, 0.01 * float(np.median(v)))
    return np.array([half, half])


def multilevel_meta_analysis(
    data=None,
    *,
    yi="yi",
    vi="vi",
    sei=None,
    cluster,
    within=None,
    mods=None,
    method: Method = "REML",
    test: Test = "z",
    level: float = 95,
    robust: Robust | None = None,
):
    """Fit a three-level meta-analytic model: effects nested in clusters (e.g. outcomes within studies).

    The same model as metafor's ``rma.mv(yi, vi, random = ~ 1 | cluster/within, mods = mods)``.

    Parameters
    ----------
    data : pandas.DataFrame or commonfactors.io.RawTable, optional
        One row per effect size. When given, ``yi``, ``vi``, ``sei``, ``cluster`` and ``within`` are
        column names; otherwise they are arrays of shape (k,).
    yi, vi : str or array_like
        Effect sizes and their sampling variances (``vi > 0``); ``sei`` (standard errors) may replace ``vi``.
    cluster : str or array_like
        The cluster (study, sample, lab) of each effect; effects in a cluster share a random effect.
    within : str or array_like, optional
        Identifies each effect inside its cluster (each (cluster, within) pair must be unique). When
        omitted, each row is its own effect, as in metafor with ``within = 1:k``.
    mods : str or array_like, optional
        Moderators: an R-style formula (``"~ year + C(type)"``) or an array of shape (k,) or (k, q).
    method : {"REML", "ML"}
        Restricted or full maximum likelihood. Default "REML", as metafor.
    test : {"z", "t"}
        Normal tests, or t tests with k - p degrees of freedom (and F for the omnibus test).
    level : float
        Confidence level: a percent (default 95), a proportion (0.95) or a two-sided alpha (0.05), as
        metafor.
    robust : {None, "cr2"}
        Add cluster-robust inference: the CR2 variance estimator with Satterthwaite degrees of freedom
        and the approximate Hotelling T^2 (HTZ) test for the moderators, as clubSandwich.

    Returns
    -------
    MultilevelResult
        ``k`` (effects used), ``n_clusters``, ``coefficients`` (``estimate``, ``se``, ``stat``, ``pval``,
        ``ci_low``, ``ci_high``; intercept first), ``sigma2`` (between-cluster, within-cluster variance),
        ``loglik`` (restricted log-likelihood for REML), ``q``/``qe`` (Cochran's Q with V = diag(vi)),
        ``qm``/``qm_df``/``qm_pval`` (omnibus Wald test of the moderators), and with ``robust`` the
        cluster-robust ``robust`` block.

    Raises
    ------
    InputError
        A column is missing or not numeric, ``vi <= 0``, a (cluster, within) pair repeats, all effects
        sit in one cluster, every cluster holds a single effect (the two variances are then not
        identifiable: use ``meta_analysis``), there are no more effects than coefficients, or an option
        is not one of the allowed values.

    Warns
    -----
    DroppedRowsWarning
        Rows with a missing yi, vi, moderator, cluster or within value were left out (named).
    BoundaryWarning
        A variance component was estimated at zero.
    ConvergenceWarning
        The optimiser stopped before converging.

    Notes
    -----
    :math:`y = X\\beta + Z u + w + e` with :math:`u \\sim N(0, \\sigma^2_1 I_n)`,
    :math:`w \\sim N(0, \\sigma^2_2 I_k)` and :math:`e \\sim N(0, \\mathrm{diag}(v))`. The variances maximise
    the (restricted) likelihood; :math:`\\hat\\beta` is the GLS estimate with
    :math:`\\mathrm{Var}(\\hat\\beta) = (X' V^{-1} X)^{-1}`. Each iteration costs O(k p^2) time and memory.

    References
    ----------
    Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level
    meta-analysis. Research Synthesis Methods, 2(1), 61-76. doi:10.1002/jrsm.35 (the model).
    Van den Noortgate, W., Lopez-Lopez, J. A., Marin-Martinez, F., & Sanchez-Meca, J. (2013). Three-level
    meta-analysis of dependent effect sizes. Behavior Research Methods, 45(2), 576-594.
    doi:10.3758/s13428-012-0261-6.
    Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation and to related
    problems. J. Am. Stat. Assoc., 72(358), 320-338 (gradient and information).
    Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance estimation
    and hypothesis testing in fixed effects models. J. Bus. Econ. Stat., 36(4), 672-683 (robust="cr2").

    Examples
    --------
    >>> import commonfactors as cf
    >>> res = cf.multilevel_meta_analysis(yi=[0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8],
    ...                                   vi=[0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03],
    ...                                   cluster=[1, 1, 2, 2, 3, 3, 4, 4])
    >>> round(res.estimate, 4), round(res.se, 4), [round(s, 4) for s in res.sigma2]
    (0.4771, 0.1208, [0.0427, 0.0033])
    """
    method, test, level = normalize_options(method, test, level, methods=get_args(Method),
                                            tests=get_args(Test))
    if robust is not None and str(robust).lower() != "cr2":
        raise InputError(f"robust={robust!r}", expected="None or 'cr2'")
    ed = _checks.effect_data(data, yi=yi, vi=vi, sei=sei, mods=mods)
    prep = _prepare(data, ed, cluster=cluster, within=within)
    y, v, X, blocks = prep.y, prep.v, prep.X, prep.blocks
    k, p = X.shape
    n = blocks.starts.shape[0]
    fit = fit_sigma2(y, v, X, blocks, reml=(method == "REML"))
    notes = _fit_warnings(fit)
    ev = fit.ev
    se = np.sqrt(np.diag(ev.M))
    stat, pval, _, low, high = inference.wald(ev.beta, se, math.inf if test == "z" else float(k - p), level)
    qm, qm_df, qm_pval = math.nan, 0, math.nan
    if p > 1:
        qm, qm_df, qm_pval = inference.omnibus(ev.beta[1:], ev.M[1:, 1:], test, k - p)
    robust_part = None
    if robust is not None:
        from .robust import cr2

        robust_part = cr2(y, v, X, blocks, ev.sigma2, ev.beta, ev.M, names=prep.names, level=level)
        notes += robust_part.warnings
    from ..results.meta import Coefficient
    from ..results.multilevel import MultilevelResult

    coefs = tuple(
        Coefficient(
            name=prep.names[j],
            estimate=float(ev.beta[j]),
            se=float(se[j]),
            stat=float(stat[j]),
            pval=float(pval[j]),
            ci_low=float(low[j]),
            ci_high=float(high[j]),
        )
        for j in range(p)
    )
    q = cochran_q(y, v, X)[0]  # metafor's QE of rma.mv: weights 1/v
    return MultilevelResult(
        k=k,
        n_clusters=n,
        method=method,
        test=test,
        level=level,
        has_mods=mods is not None,
        coefficients=coefs,
        sigma2=(float(ev.sigma2[0]), float(ev.sigma2[1])),
        loglik=ev.loglik,
        q=q,
        q_df=k - p,
        q_pval=inference.q_pval(q, k - p),
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        cluster_name=prep.cluster_name,
        within_name=prep.within_name,
        cluster_sizes=tuple(np.sort(blocks.sizes)),
        converged=fit.converged,
        robust=robust_part,
        warnings=tuple(notes),
    )


def _fit_warnings(fit: Fit) -> tuple[str, ...]:
    notes = Notes()
    if not fit.converged:
        notes.add(f"the likelihood optimisation did not converge in {fit.iterations} iterations",
                  ConvergenceWarning)
    names = ("between-cluster variance sigma2_1", "within-cluster variance sigma2_2")
    for name, s in zip(names, fit.ev.sigma2, strict=True):
        if s == 0:
            notes.add(f"the {name} is estimated at 0 (the boundary of its range)", BoundaryWarning)
    return notes()


@dataclass(frozen=True)
class Prepared:
    """Validated inputs sorted by cluster."""

    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    blocks: Blocks
    rows: np.ndarray
    cluster_name: str
    within_name: str


def _prepare(data, ed: _checks.EffectData, *, cluster, within) -> Prepared:
    """The rest of the validation boundary (``ed`` comes from ``_checks.effect_data``): cluster and within
    columns through ``_checks.group_codes``; incomplete rows dropped with a warning; rows sorted by
    cluster."""
    k0 = ed.yi.shape[0] + len(ed.dropped)
    kept = slice(None) if ed.index is None else ed.index
    ccodes, _, ccol = _checks.group_codes(data, cluster, name="cluster", n=k0)
    ccodes = ccodes[kept]
    missing = ccodes < 0
    wcodes, wcol = None, None
    if within is not None:
        wcodes, _, wcol = _checks.group_codes(data, within, name="within", n=k0)
        wcodes = wcodes[kept]
        missing |= wcodes < 0
    y, v, X, rows = ed.yi, ed.vi, ed.X, ed.rows
    if missing.any():
        what = "a missing " + " or ".join(
            c for c in (ccol or "cluster", (wcol or "within") if within is not None else None) if c
        )
        _checks.warn_dropped(list(rows[missing]), what, stacklevel=4)
        keep = ~missing
        if not keep.any():
            raise InputError(
                "no study has a cluster",
                file=ed.source,
                column=ccol,
                expected="cluster labels for the effects",
            )
        y, v, X, rows, ccodes = y[keep], v[keep], X[keep], rows[keep], ccodes[keep]
        wcodes = wcodes[keep] if wcodes is not None else None
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise InputError(
                f"the moderators are collinear in the effects used ({', '.join(ed.names[1:])})",
                file=ed.source,
                expected="moderators that are not linear combinations of each other",
            )
    order = np.argsort(ccodes, kind="stable")
    y, v, X, rows, ccodes = y[order], v[order], X[order], rows[order], ccodes[order]
    if wcodes is not None:
        _check_unique_pairs(ccodes, wcodes[order], rows, source=ed.source, column=wcol)
    blocks = Blocks.from_sorted_codes(ccodes)
    k, p = X.shape
    n = blocks.starts.shape[0]
    where = dict(file=ed.source, column=ccol)
    if n < 2:
        raise InputError(
            f"all {k} effects are in one cluster",
            **where,
            expected="effects from at least two clusters (with one cluster, fit meta_analysis)",
        )
    if n == k:
        raise InputError(
            f"each of the {k} clusters holds a single effect, so the between- and within-cluster "
            "variances cannot be told apart",
            **where,
            expected="some clusters with several effects (or fit meta_analysis)",
        )
    if k <= p:
        raise InputError(
            f"{k} effects for {p} coefficients", file=ed.source, expected="more effects than coefficients"
        )
    return Prepared(
        y=y,
        v=v,
        X=X,
        names=ed.names,
        blocks=blocks,
        rows=rows,
        cluster_name=ccol or "cluster",
        within_name=f"{ccol or 'cluster'}/{wcol or 'within'}",
    )


def _check_unique_pairs(ccodes, wcodes, rows, *, source, column):
    pair = ccodes * (int(wcodes.max()) + 1) + wcodes
    order = np.argsort(pair, kind="stable")
    dup = np.flatnonzero(np.diff(pair[order]) == 0)
    if dup.size:
        first, second = rows[order[dup[0]]], rows[order[dup[0] + 1]]
        raise InputError(
            f"repeats the within label of {_checks.format_rows([first])} in the same cluster",
            file=source,
            row=second,
            column=column,
            expected="a label that identifies each effect inside its cluster",
        )


def aggregate_effects(data=None, *, cluster, yi="yi", vi="vi", rho: float = 0.6, weighted: bool = True):
    """Aggregate dependent effects to one per cluster, assuming a correlation ``rho`` between them.

    Within cluster j the sampling covariance is taken as compound symmetric,
    ``V_j = S R S`` with ``S = diag(sqrt(vi))`` and ``R = (1 - rho) I + rho 1 1'``. With
    ``weighted=True`` (metafor's ``aggregate(..., struct="CS", rho=rho)``) the composite is the GLS mean

        y_j = (1' V_j^{-1} 1)^{-1} 1' V_j^{-1} y,   v_j = (1' V_j^{-1} 1)^{-1};

    with ``weighted=False`` it is the simple mean of Borenstein et al. (2009, ch. 24),
    ``y_j = mean(y)``, ``v_j = (sum_i v_i + rho sum_{i != l} sqrt(v_i v_l)) / m^2``.

    Parameters
    ----------
    data : pandas.DataFrame or commonfactors.io.RawTable, optional
        One row per effect; ``cluster``, ``yi``, ``vi`` name its columns (or are arrays when data is None).
    rho : float
        The assumed correlation between effects of one cluster, in [-1, 1].
    weighted : bool
        Inverse-variance (GLS) composite, as metafor; False for the simple mean.

    Returns
    -------
    pandas.DataFrame
        One row per cluster, in sorted cluster order: the cluster label (column named as ``cluster``,
        or "cluster"), ``yi``, ``vi`` and ``ki`` (the number of effects aggregated).

    Raises
    ------
    InputError
        Missing column, non-numeric value, ``vi <= 0``, ``rho`` outside [-1, 1], or a cluster whose
        assumed covariance matrix is not positive definite (rho <= -1 / (m - 1)).

    References
    ----------
    Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction to
    Meta-Analysis. Wiley, ch. 24 (the composite of correlated outcomes).
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J. Stat. Softw.,
    36(3), 1-48 (aggregate.escalc: GLS composite under an assumed covariance structure).

    Examples
    --------
    >>> import commonfactors as cf
    >>> agg = cf.aggregate_effects(cluster=[1, 1, 2], yi=[0.2, 0.4, 0.5], vi=[0.04, 0.04, 0.05], rho=0.5)
    >>> agg.round(4).to_dict("list")
    {'cluster': [1, 2], 'yi': [0.3, 0.5], 'vi': [0.03, 0.05], 'ki': [2, 1]}
    """
    import pandas as pd

    if not (isinstance(rho, (int, float)) and -1 <= rho <= 1):
        raise InputError(f"rho={rho!r}", expected="a correlation in [-1, 1]")
    ed = _checks.effect_data(data, yi=yi, vi=vi)
    index = ed.positions()
    k0 = index.shape[0] + len(ed.dropped)
    codes, _, ccol = _checks.group_codes(data, cluster, name="cluster", n=k0)
    raw = np.asarray(data[cluster] if ccol is not None else cluster)
    pos = index[codes[index] >= 0]
    if pos.shape[0] < index.shape[0]:
        _checks.warn_dropped(
            list(ed.rows[codes[index] < 0]), f"a missing {ccol or 'cluster'}", stacklevel=3
        )
        if pos.shape[0] == 0:
            raise InputError(
                "no study has a cluster",
                file=ed.source,
                column=ccol,
                expected="cluster labels for the effects",
            )
    y_all, v_all = np.empty(k0), np.empty(k0)
    y_all[index], v_all[index] = ed.yi, ed.vi
    pos = pos[np.argsort(codes[pos], kind="stable")]
    y, v, codes = y_all[pos], v_all[pos], codes[pos]
    blocks = Blocks.from_sorted_codes(codes)
    m = blocks.sizes.astype(float)
    a = 1.0 / np.sqrt(v)
    if weighted:
        # R^{-1} = (I - rho / (1 + (m - 1) rho) 1 1') / (1 - rho) (Sherman-Morrison);
        # V^{-1} = S^{-1} R^{-1} S^{-1}
        denom = 1.0 + (m - 1.0) * rho
        bad = np.flatnonzero((denom <= 0) | ((rho >= 1) & (m > 1)))
        if bad.size:
            j = bad[0]
            raise InputError(
                f"rho={rho:g} makes the covariance of the {int(m[j])} effects in cluster "
                f"{raw[pos[blocks.starts[j]]]!s} singular or not positive definite",
                file=ed.source,
                column=ccol,
                expected=f"rho in ({-1 / (m[j] - 1):g}, 1) for weighted=True, or weighted=False",
            )
        f = np.where(m > 1, rho / denom, 0.0)
        scale = np.where(m > 1, 1.0 / (1.0 - rho) if rho < 1 else 1.0, 1.0)
        A1, A2, AY = blocks.sum(a), blocks.sum(a * a), blocks.sum(a * a * y)
        AaY = blocks.sum(a * y)
        one_v_one = scale * (A2 - f * A1 * A1)
        one_v_y = scale * (AY - f * A1 * AaY)
        yj, vj = one_v_y / one_v_one, 1.0 / one_v_one
    else:
        s = np.sqrt(v)
        S1, S2 = blocks.sum(s), blocks.sum(v)
        yj = blocks.sum(y) / m
        vj = (rho * S1 * S1 + (1.0 - rho) * S2) / (m * m)  # Borenstein et al. (2009), ch. 24
        bad = np.flatnonzero(vj <= 0)
        if bad.size:
            j = bad[0]
            raise InputError(
                f"rho={rho:g} gives cluster {raw[pos[blocks.starts[j]]]!s} a variance <= 0",
                file=ed.source,
                column=ccol,
                expected="a larger rho",
            )
    out = pd.DataFrame(
        {ccol or "cluster": raw[pos[blocks.starts]], "yi": yj, "vi": vj, "ki": blocks.sizes.astype(int)}
    )
    return out
