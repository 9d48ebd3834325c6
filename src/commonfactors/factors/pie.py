"""Variance "pies": each factor's share of outcome variance, with Monte Carlo intervals.

Two pies:

* :func:`additive_pie` does what the published pies do: each factor's own share of variance (r^2,
  d converted to r^2, an ICC as is), summed, the rest unexplained. Correlated factors overlap, so the
  sum counts shared variance more than once.
* :func:`dominance_pie` splits the outcome's R2 from all factors together by general dominance
  weights (:mod:`commonfactors.factors.dominance`), from a correlation matrix among the factors and
  the outcome, so that nothing is counted twice; :func:`dominance_sensitivity` shows how the split
  moves when the correlations among factors are unknown and assumed; :func:`pool_correlations_pairwise` pools
  that matrix from study-level correlations, each pair on its own.

Intervals are percentile intervals of ``draws`` Monte Carlo draws from each estimate's approximate
sampling distribution (``seed`` fixes them): normal on Fisher's z for r, normal for d, normal on the
logit scale for an ICC. The draws are made in blocks of :data:`DRAW_BLOCK`, block b from the b-th child of
``numpy.random.SeedSequence(seed)``, through the simulation machinery's ``run_tasks``: in this process, or
on Dask (``workers``, ``scheduler``) with the same numbers whatever ran the blocks.
:func:`published_pies` returns the pies of the literature, with sources.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .._distributions import norm_ppf
from ..effects.conversions import d_variance
from ..errors import CommonFactorsWarning, InputError
from ..results.factors import ElementEstimate, PieResult, PieSlice, SensitivityResult, SensitivityRow, Share
from . import convert
from .dominance import (
    CorrelationMatrix,
    check_correlation_matrix,
    check_factor_count,
    equicorrelated,
    general_dominance,
    is_positive_definite,
    memory_bytes,
    subset_r2,
)

METRICS = ("r", "d", "icc", "share")

#: Memory a pie may use: 2 GiB, or half the machine's physical memory when that is less. Draws that would
#: need more are refused before anything is allocated.
MEMORY_BUDGET = 2 * 2**30
#: Monte Carlo work a dominance pie may take: draws x 2**p subset R2 (about a minute on one core).
MAX_SUBSET_R2 = 2**31
#: Correlation matrices drawn, checked and decomposed together by the dominance pie.
DRAW_CHUNK = 4096
#: Draws per block, the unit of work of a worker; with the seed it fixes the numbers (block b draws from the
#: b-th child of ``SeedSequence(seed)``), so they do not depend on how many processes ran the blocks.
DRAW_BLOCK = 4096


class PieWarning(CommonFactorsWarning):
    """An interval or share of a pie rests on an approximation the caller should know about."""


@dataclass(frozen=True)
class Component:
    """One factor's input to the additive pie.

    ``metric``: "r" (a correlation with outcome), "d" (a standardised mean difference), "icc" or
    "share" (a proportion of outcome variance). ``se`` is the standard error on the sampling scale
    (Fisher's z for r, d for d, logit for an ICC or share); NaN when it cannot be recovered, and then
    the factor has no interval. ``se_basis`` says where ``se`` came from.
    """

    factor: str
    metric: str
    estimate: float
    se: float
    sources: tuple[str, ...] = ()
    element: str = ""
    se_basis: str = ""
    #: ``draw(rng, n)``: n draws of the share from another distribution than the normal one on the
    #: sampling scale (the technique slice from a network: the Q-profile confidence distribution)
    draw: object = None


def component(
    factor: str,
    metric: str,
    estimate: float,
    *,
    se=None,
    ci_low=None,
    ci_high=None,
    k=None,
    n=None,
    i2=None,
    n_clusters=None,
    sources: Sequence[str] = (),
    element: str = "",
) -> Component:
    """Build (and validate) one factor's input to :func:`additive_pie`.

    Parameters
    ----------
    factor : str
        Name of the slice.
    metric : {"r", "d", "icc", "share"}
        Metric of ``estimate``.
    estimate : float
        The pooled estimate (an ICC or share as a proportion, 0-1).
    se : float, optional
        Standard error on the sampling scale (Fisher's z for r, d for d, logit for icc/share). When
        absent it is recovered, in this order: from a 95% confidence interval ``ci_low``/``ci_high``
        (its half-width on the sampling scale over z_.975); from the total sample size ``n`` over ``k``
        studies (fixed-effect approximation, widened by 1 / (1 - I2) when ``i2``, in percent, is given:
        see Notes); for an ICC from ``n_clusters`` therapists and ``n`` patients (Donner 1986).
    sources : sequence of str
        Citations shown with the slice.

    Notes
    -----
    Fixed-effect approximations: for r, var(z) = 1 / (N - 3k) (the inverse of the summed weights
    n_i - 3, Borenstein et al. 2009 eq. 6.3); for d, var(d) = (4 + d^2 / 2) / N (the inverse of the
    summed weights of eq. 4.20 with equal arms). With I2 = tau2 / (tau2 + v) (Higgins & Thompson 2002,
    Stat Med 21:1539) and equal within-study variances v, the random-effects variance of the mean is
    the fixed-effect one divided by (1 - I2). Without I2 the interval ignores heterogeneity and is too
    narrow; a PieWarning says so.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    est = _finite(estimate, f"{factor}: estimate")
    if metric == "r" and not -1 < est < 1:
        raise InputError(f"{factor}: got r = {est:g}", expected="a correlation in (-1, 1)")
    if metric in ("icc", "share") and not 0 < est < 1:
        raise InputError(f"{factor}: got {metric} = {est:g}", expected="a proportion in (0, 1)")
    if se is not None:
        se = _finite(se, f"{factor}: se")
        if se <= 0:
            raise InputError(f"{factor}: got se = {se:g}", expected="a standard error > 0")
        return Component(factor, metric, est, se, tuple(sources), element, "given")
    se, basis = _recover_se(factor, metric, est, ci_low, ci_high, k, n, i2, n_clusters)
    return Component(factor, metric, est, se, tuple(sources), element, basis)


def _finite(x, what: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{what}: got {x!r}", expected="a number") from None
    if not math.isfinite(v):
        raise InputError(f"{what}: got {x!r}", expected="a finite number")
    return v


def _present(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _to_scale(metric: str, x):
    """The sampling scale: Fisher's z for r, d as is, logit for an ICC or share."""
    if metric == "r":
        return convert.fisher_z(x)
    if metric == "d":
        return np.asarray(x, dtype=float)
    return convert.logit(x)


def _recover_se(factor, metric, est, ci_low, ci_high, k, n, i2, n_clusters) -> tuple[float, str]:
    if _present(ci_low) and _present(ci_high):
        lo, hi = float(ci_low), float(ci_high)
        if metric in ("icc", "share") and (lo <= 0 or hi >= 1) or metric == "r" and (lo <= -1 or hi >= 1):
            raise InputError(
                f"{factor}: confidence interval [{lo:g}, {hi:g}] is outside the metric's range",
                expected="a 95% CI inside (-1, 1) for r, inside (0, 1) for a proportion",
            )
        if not lo < hi:
            raise InputError(f"{factor}: confidence interval [{lo:g}, {hi:g}]", expected="ci_low < ci_high")
        z = float(norm_ppf(0.975))
        return float((_to_scale(metric, hi) - _to_scale(metric, lo)) / (2 * z)), "95% CI"
    if metric == "icc" and _present(n_clusters) and _present(n):
        v = convert.var_icc(est, n_clusters, n) / (est * (1 - est)) ** 2  # delta method to the logit scale
        return float(np.sqrt(v)), f"Donner (1986) variance from {n_clusters:g} therapists and {n:g} patients"
    if metric in ("r", "d") and _present(n):
        kk = float(k) if _present(k) else 1.0
        v = 1.0 / (float(n) - 3.0 * kk) if metric == "r" else float(d_variance(est, n / 2.0, n / 2.0))
        basis = f"fixed-effect approximation from N = {n:g}" + (f", k = {kk:g}" if _present(k) else "")
        if _present(i2):
            v /= 1.0 - float(i2) / 100.0
            return float(np.sqrt(v)), basis + f", widened for I2 = {float(i2):g}%"
        warnings.warn(
            f"{factor}: interval from N alone (no CI or I2 published) ignores between-study "
            "heterogeneity and is too narrow",
            PieWarning,
            stacklevel=4,
        )
        return float(np.sqrt(v)), basis + " (heterogeneity ignored: too narrow)"
    warnings.warn(
        f"{factor}: no interval (no CI, and no sample size to approximate one)", PieWarning, stacklevel=4
    )
    return math.nan, "none"


def component_from_estimate(est: ElementEstimate, factor: str | None = None) -> Component:
    """The additive-pie input for an element estimate (see :func:`component` for how ``se`` is recovered).

    For an ICC whose published ``k`` counts therapists ("~581 therapists"), ``k`` is the number of clusters.
    """
    if est.metric not in METRICS:
        raise InputError(
            f"element {est.element!r}: estimate {est.label!r} is a {est.metric!r}",
            expected="an r, d, ICC or share of variance",
        )
    n_clusters = est.k if est.metric == "icc" and "therapist" in est.k_text else None
    src = est.source + (f" ({est.year})" if est.year else "")
    if est.origin == "published":
        src += f" [checked: {est.verified}]"
    return component(
        factor or est.factor,
        est.metric,
        est.estimate,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        k=est.k if n_clusters is None else None,
        n=est.n,
        i2=None if math.isnan(est.i2) else est.i2,
        n_clusters=n_clusters,
        sources=(src,),
        element=est.element,
    )


def default_components() -> tuple[Component, ...]:
    """One component per factor: the first estimate of the factor's pie element that converts to a share.

    See :func:`commonfactors.factors.taxonomy.pie_elements`.
    """
    from . import taxonomy

    out = []
    for e in taxonomy.pie_elements():
        ests = taxonomy.element_estimates(e.name).estimates
        est = next(x for x in ests if x.metric in METRICS and math.isfinite(x.estimate))
        out.append(component_from_estimate(est))
    return tuple(out)


def _share_draws(c: Component, rng, draws: int) -> np.ndarray:
    if c.draw is not None:
        return np.asarray(c.draw(rng, draws), dtype=float)
    if math.isnan(c.se):
        return np.full(draws, np.nan)
    x = rng.normal(float(_to_scale(c.metric, c.estimate)), c.se, draws)
    if c.metric == "r":
        return convert.r_to_share(convert.inverse_fisher_z(x))
    if c.metric == "d":
        return convert.d_to_share(x)
    return convert.expit(x)


def _point_share(c: Component) -> float:
    if c.metric == "r":
        return float(convert.r_to_share(c.estimate))
    if c.metric == "d":
        return float(convert.d_to_share(c.estimate))
    return float(c.estimate)


def _interval(x: np.ndarray, level: float) -> tuple[float, float]:
    if np.isnan(x).any():
        return math.nan, math.nan
    a = (100 - level) / 2
    lo, hi = np.percentile(x, [a, 100 - a])
    return float(lo), float(hi)


def _block_sizes(draws: int) -> list[int]:
    """The sizes of the blocks of ``draws``: :data:`DRAW_BLOCK` each, the last one the rest."""
    n = -(-draws // DRAW_BLOCK)
    return [min(DRAW_BLOCK, draws - b * DRAW_BLOCK) for b in range(n)]


def _check_workers(workers, scheduler) -> tuple[int, str | None]:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise InputError(f"workers = {workers!r}", expected="a whole number >= 0 (0 or 1: in this process)")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise InputError(f"scheduler = {scheduler!r}", expected="the address of a Dask scheduler, tcp://HOST:PORT")
    return int(workers), scheduler


def _run_blocks(fn, args: tuple, draws: int, seed: int | None, keep, workers: int, scheduler: str | None):
    """``fn(*args, stream, size)`` for every block of ``draws`` (:func:`_block_sizes`), block b with the b-th
    child of ``SeedSequence(seed)`` as its random stream, run by ``simulate._dask.run_tasks`` (in this
    process, or on Dask); ``keep(start, result)`` as each block is in, ``start`` its first draw's index."""
    from ..simulate._dask import run_tasks

    sizes = _block_sizes(draws)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    run_tasks(fn, [(*args, streams[b], size) for b, size in enumerate(sizes)],
              lambda b, result: keep(b * DRAW_BLOCK, result), workers=workers, scheduler=scheduler)


def _additive_block(comps, stream, size: int) -> np.ndarray:
    """One block of the additive pie: ``size`` draws of each component's share, (len(comps), size)."""
    rng = np.random.default_rng(stream)
    return np.vstack([_share_draws(c, rng, size) for c in comps])


def _check_mc(draws, seed, level) -> tuple[int, int | None, float]:
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 100:
        raise InputError(f"draws = {draws!r}", expected="an integer >= 100")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed = {seed!r}", expected="an integer >= 0 (or None for fresh randomness)")
    level = float(level)
    if not 0 < level < 100:
        raise InputError(f"level = {level:g}", expected="a confidence level in percent, between 0 and 100")
    return int(draws), None if seed is None else int(seed), level


def memory_budget() -> int:
    """Bytes a pie may use: :data:`MEMORY_BUDGET`, or half the machine's physical memory when less."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows) or no such name
        return MEMORY_BUDGET
    return min(MEMORY_BUDGET, physical // 2)


def _check_memory(draws: int, per_draw: int, fixed: int, what: str, source: str | None = None) -> None:
    """Refuse ``draws`` that need more than :func:`memory_budget`: ``per_draw`` bytes each (what is kept
    for the intervals) plus ``fixed`` bytes whatever the draws (the chunks being worked on)."""
    budget = memory_budget()
    need = draws * per_draw + fixed
    if need > budget:
        most = max(0, (budget - fixed) // per_draw)
        raise InputError(
            f"draws = {draws:,} of {what} need {byte_size(need)} of memory, more than a pie's budget of "
            f"{byte_size(budget)} (the smaller of {byte_size(MEMORY_BUDGET)} and half the machine's memory)",
            file=source,
            expected=f"at most {most:,} draws" if most >= 100 else "fewer factors",
        )


def _check_dominance_size(draws: int, p: int, source: str | None) -> None:
    """Refuse a dominance pie too large to compute, before anything is allocated: more than
    :data:`~commonfactors.factors.dominance.MAX_FACTORS` factors, more than :data:`MAX_SUBSET_R2` subset R2
    over the draws, or more memory than :func:`memory_budget`."""
    check_factor_count(p, source)
    p1 = p + 1
    chunk = DRAW_CHUNK * 8 * (3 * p1 * p1 // 2 + 4 * p1 * p1)  # normal draws and their transforms; matrices
    # kept: the weights of each draw, their sum R2, 1 - R2 and the copy a percentile sorts
    _check_memory(draws, 8 * (p + 3), chunk + memory_bytes(p), f"{p} factors", source)
    if draws * 2**p > MAX_SUBSET_R2:
        raise InputError(
            f"draws = {draws:,} of {p} factors take {draws * 2**p:,} subset R2 ({2**p:,} a draw), more than "
            f"the {MAX_SUBSET_R2:,} a dominance pie may take",
            file=source,
            expected=f"at most {MAX_SUBSET_R2 // 2**p:,} draws with {p} factors",
        )


def byte_size(n: int) -> str:
    """Bytes for a message: in GiB from 1 GiB, in MiB from 1 MiB, else in bytes."""
    if n >= 2**30:
        return f"{n / 2**30:,.1f} GiB"
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _pie_result(method: str, mc: tuple[int, int | None, float], components, r2: Share, unexplained: Share,
                msgs: Sequence[str], *, inherited: tuple[str, ...] = (), **extra) -> PieResult:
    """The result of :func:`additive_pie` or :func:`dominance_pie`, their new messages ``msgs`` emitted as
    PieWarnings at the user's call and stored after the ``inherited`` ones (a pooled matrix's, already
    emitted). ``mc``: (draws, seed, level) as :func:`_check_mc` returns them; ``extra``: the dominance pie's
    ``n``, ``rejected_draws`` and ``pooled``."""
    for m in msgs:
        warnings.warn(m, PieWarning, stacklevel=3)
    draws, seed, level = mc
    return PieResult(method=method, draws=draws, seed=seed, level=level, components=tuple(components),
                     unexplained=unexplained, r2=r2, warnings=tuple(inherited) + tuple(msgs), **extra)


def additive_pie(
    components: Sequence[Component | ElementEstimate] | None = None,
    *,
    draws: int = 10000,
    seed: int | None = 1,
    level: float = 95,
    therapist=None,
    technique=None,
    workers: int = 0,
    scheduler: str | None = None,
) -> PieResult:
    """Each factor's own share of outcome variance, summed as the published pies do, with intervals.

    Parameters
    ----------
    components : sequence of Component or ElementEstimate, optional
        One per factor (see :func:`component`); default :func:`default_components` (the alliance,
        readiness, treatment differences, therapist effects and credibility estimates shipped).
    draws : int
        Monte Carlo draws (>= 100).
    seed : int or None
        Seed (>= 0) of ``numpy.random.default_rng``; the same seed gives the same numbers.
    level : float
        Interval level in percent.
    therapist : IccPoolResult, TherapistResult, mapping or Component, optional
        The therapist slice from data instead of the published estimate: ICCs pooled across studies
        (:func:`~commonfactors.factors.therapist_icc.pool_therapist_iccs`), one practice's fitted model
        (``therapist_effects``, or its JSON as a dict); see
        :func:`~commonfactors.factors.therapist_icc.therapist_component`. It replaces the component named
        "therapist" (or is added). Its source says "from data: ...".
    technique : NetworkResult, mapping or Component, optional
        The technique slice from data instead of the published estimate: a network meta-analysis of
        standardized mean differences with active treatments (``network_meta_analysis(..., measure="SMD",
        active=[...])``, or its JSON as a dict), whose share tau2_technique / (1 + tau2_technique) is drawn
        from its Q-profile confidence distribution; see
        :func:`~commonfactors.factors.technique_network.technique_component`. It replaces the component
        named "technique" (or is added).
    workers : int
        0 or 1: the draws are made in this process; N >= 2: by a ``dask.distributed.LocalCluster`` of N
        worker processes started for the call. The same seed gives the same numbers either way.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://HOST:PORT``) to make the draws on instead.

    Returns
    -------
    PieResult
        ``components``: per factor ``share`` (from the point estimate) and ``ci_low``/``ci_high``
        (percentiles of the draws); ``r2``: the sum of the shares; ``unexplained``: 1 minus that sum.

    Raises
    ------
    InputError
        No components, repeated factor names, or ``draws`` needing more memory than :func:`memory_budget`
        (checked before drawing).

    Warns
    -----
    PieWarning
        A factor without an interval (then the total has none either), an interval that ignores
        heterogeneity, or shares that sum to more than 1.

    Notes
    -----
    Share of variance: r^2 (Rosenthal 1994); for d, r^2 with r = d / sqrt(d^2 + 4) (Wampold & Imel
    2015; Borenstein et al. 2009 eq. 7.7); an ICC as is. Each draw is taken independently per factor:
    normal on Fisher's z = atanh(r), on d, or on logit(ICC), with the standard error of the estimate.
    """
    draws, seed, level = _check_mc(draws, seed, level)
    workers, scheduler = _check_workers(workers, scheduler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        comps = (
            default_components()
            if components is None
            else tuple(c if isinstance(c, Component) else component_from_estimate(c) for c in components)
        )
        if therapist is not None:
            from .therapist_icc import therapist_component

            t = therapist if isinstance(therapist, Component) else therapist_component(therapist)
            replaced = tuple(t if c.factor == t.factor else c for c in comps)
            comps = replaced if t in replaced else comps + (t,)
        if technique is not None:
            from .technique_network import technique_component

            t = technique if isinstance(technique, Component) else technique_component(technique)
            replaced = tuple(t if c.factor == t.factor else c for c in comps)
            comps = replaced if t in replaced else comps + (t,)
    msgs = [str(w.message) for w in caught]
    if not comps:
        raise InputError("no components", expected="at least one factor")
    names = [c.factor for c in comps]
    if len(set(names)) != len(names):
        raise InputError(f"factor names repeat: {names}", expected="one component per factor")
    # kept: each factor's draws; with them at most 6 arrays of draws (the total, 1 - total, the copy a
    # percentile sorts) and a block's draws and their transforms
    _check_memory(draws, 8 * (len(comps) + 6), 8 * (len(comps) + 3) * DRAW_BLOCK, f"{len(comps)} factors")
    sims = np.empty((len(comps), draws))

    def keep(start, block):
        sims[:, start : start + block.shape[1]] = block

    _run_blocks(_additive_block, (comps,), draws, seed, keep, workers, scheduler)
    slices = []
    for c, s in zip(comps, sims, strict=False):
        lo, hi = _interval(s, level)
        no_se = math.isnan(c.se) and c.draw is None
        if no_se and not any(m.startswith(f"{c.factor}: no interval") for m in msgs):
            msgs.append(f"{c.factor}: no interval (no standard error)")
        slices.append(
            PieSlice(
                factor=c.factor,
                share=_point_share(c),
                ci_low=lo,
                ci_high=hi,
                sources=c.sources,
                element=c.element,
                metric=c.metric,
                estimate=c.estimate,
                se=c.se,
            )
        )
    total = sum(s.share for s in slices)
    tot_draws = sims.sum(axis=0)
    if total > 1:
        msgs.append(f"the factors' shares sum to {total:.3f} > 1: they overlap; use the dominance pie")
    r2 = Share(total, *_interval(tot_draws, level))
    un = Share(1 - total, *_interval(1 - tot_draws, level))
    return _pie_result("additive", (draws, seed, level), slices, r2, un, list(dict.fromkeys(msgs)))


def _as_matrix(correlations, outcome: str) -> CorrelationMatrix:
    if isinstance(correlations, CorrelationMatrix):
        return correlations
    if not hasattr(correlations, "iloc"):
        raise InputError(
            f"got a {type(correlations).__name__}",
            expected="a pandas DataFrame with names as index and columns (or a CorrelationMatrix)",
        )
    return check_correlation_matrix(correlations, outcome=outcome)


def _pair_se(cm: CorrelationMatrix, n, se_z, outcome: str) -> np.ndarray:
    """Standard errors of Fisher's z for every off-diagonal entry, as a (p + 1, p + 1) array."""
    names = list(cm.names) + [outcome]
    if se_z is not None:
        S = _labelled(se_z, names, "se_z", outcome)
        if not np.all(S[~np.eye(len(names), dtype=bool)] > 0):
            raise InputError("se_z has entries <= 0", expected="standard errors > 0 off the diagonal")
        return S
    if n is None:
        raise InputError(
            "no sample size for the correlations",
            expected="n (the harmonic mean N the correlations rest on) or se_z",
        )
    if np.ndim(n) == 0:
        nn = _finite(n, "n")
        if nn <= 3:
            raise InputError(f"n = {nn:g}", expected="a sample size > 3")
        return np.full((len(names), len(names)), 1.0 / math.sqrt(nn - 3.0))
    N = _labelled(n, names, "n", outcome)
    off = ~np.eye(len(names), dtype=bool)
    if not np.all(N[off] > 3):
        raise InputError("n has entries <= 3", expected="sample sizes > 3 off the diagonal")
    out = np.ones_like(N)
    out[off] = 1.0 / np.sqrt(N[off] - 3.0)
    return out


def _labelled(frame, names, what, outcome) -> np.ndarray:
    if not hasattr(frame, "loc"):
        raise InputError(f"{what} must be a number or a DataFrame labelled like the correlations")
    missing = [x for x in names if x not in frame.index or x not in frame.columns]
    if missing:
        raise InputError(f"{what} has no row/column for {missing}", expected=f"the names {names}")
    return frame.loc[names, names].to_numpy(dtype=float)


def dominance_pie(
    correlations,
    *,
    n=None,
    se_z=None,
    draws: int = 10000,
    seed: int | None = 1,
    level: float = 95,
    outcome: str = "outcome",
    sources: Mapping[str, Sequence[str]] | None = None,
    max_tries: int = 20,
    workers: int = 0,
    scheduler: str | None = None,
) -> PieResult:
    """Overlap-aware pie: general dominance weights of the outcome's R2, with Monte Carlo intervals.

    Parameters
    ----------
    correlations : pandas.DataFrame, CorrelationMatrix or CorrelationPoolResult
        Square correlation matrix with names as index and columns, one of them ``outcome``
        (validated by :func:`~commonfactors.factors.dominance.check_correlation_matrix`); or a matrix
        pooled from studies by :func:`~commonfactors.factors.corpool.pool_correlation_matrices`, whose
        covariance then gives the draws (``n`` and ``se_z`` do not apply).
    n : float or pandas.DataFrame, optional
        Sample size the correlations rest on: one (harmonic mean) N, or one per pair (labelled like
        ``correlations``). Each Fisher z is drawn with standard error 1 / sqrt(n - 3).
    se_z : pandas.DataFrame, optional
        Standard errors of the pooled Fisher z of each pair (e.g. from :func:`pool_correlations_pairwise`,
        which include between-study heterogeneity), instead of ``n``.
    draws, seed, level
        As in :func:`additive_pie`.
    sources : mapping, optional
        Citations per factor name.
    max_tries : int
        At most ``max_tries`` times a block's draws are drawn to obtain its positive definite ones.
    workers, scheduler
        As in :func:`additive_pie`: where the blocks of draws are made (the same numbers anywhere).

    Returns
    -------
    PieResult
        ``components``: each factor's general dominance weight (``share``) with its interval;
        ``r2``: the outcome's R2 on all factors; ``unexplained``: 1 - R2; ``rejected_draws``;
        ``pooled``: the pooled matrix when one was given.

    Raises
    ------
    InputError
        An invalid matrix (see ``check_correlation_matrix``; a pooled matrix that is not positive
        definite), no ``n``/``se_z`` for a plain matrix, ``n``/``se_z`` with a pooled one, or fewer than
        one in ``max_tries`` drawn matrices positive definite. Before anything is drawn: more than
        :data:`~commonfactors.factors.dominance.MAX_FACTORS` factors, ``draws`` needing more memory than
        :func:`memory_budget`, or more than :data:`MAX_SUBSET_R2` subset R2 (``draws`` x 2**p).

    Notes
    -----
    A plain matrix: each correlation is drawn independently as tanh(z + se * N(0, 1)) with z = atanh(r),
    ignoring the covariances between correlations that share a variable (Olkin & Siotani 1976). A
    pooled matrix: the correlations are drawn jointly from the multivariate normal with the pooled
    correlations as mean and their GLS covariance (Becker 1992; Cheung & Chan 2005), which keeps those
    covariances. A drawn matrix that is not positive definite is **rejected** and redrawn (no repair
    by projection), so the intervals come from the draws' distribution truncated to valid correlation
    matrices; ``rejected_draws`` counts them and a warning is given when any were rejected. Matrices are
    drawn and decomposed in blocks of :data:`DRAW_BLOCK` (each from its own random stream, so a block
    redraws its own rejected matrices); only each kept draw's weights stay in memory.
    """
    from ..results.factors import CorrelationPoolResult

    draws, seed, level = _check_mc(draws, seed, level)
    pooled = correlations if isinstance(correlations, CorrelationPoolResult) else None
    if pooled is not None:
        if n is not None or se_z is not None:
            raise InputError(
                "n and se_z do not apply to a pooled correlation matrix",
                expected="its GLS covariance, which gives the draws",
            )
        cm = check_correlation_matrix(
            pooled.correlation_frame(), outcome=pooled.outcome, source=pooled.source
        )
        S = None
    else:
        cm = _as_matrix(correlations, outcome)
        S = _pair_se(cm, n, se_z, outcome)
    R = cm.R
    p1 = R.shape[0]
    _check_dominance_size(draws, p1 - 1, cm.source)
    iu = np.triu_indices(p1, 1)
    workers, scheduler = _check_workers(workers, scheduler)
    if pooled is not None:
        # pooled.pairs run over the upper triangle of pooled.names (outcome last), cm's order
        law = ("normal", R[iu], np.linalg.cholesky(pooled.vcov))
        se_out = np.array([p.se for p in pooled.pairs])[iu[1] == p1 - 1]
    else:
        law = ("fisher", np.arctanh(R[iu]), S[iu])
        se_out = S[:-1, -1]
    gd = np.empty((draws, p1 - 1))  # general dominance weights of the kept draws, filled block by block
    counts = np.zeros(3, dtype=np.int64)  # kept, rejected, tried

    def keep(start, result):
        weights, rejected_, tried_ = result
        gd[start : start + len(weights)] = weights
        counts[:] += (len(weights), rejected_, tried_)

    _run_blocks(_dominance_block, (law, p1, max_tries), draws, seed, keep, workers, scheduler)
    kept, rejected, tried = (int(x) for x in counts)
    if kept < draws:
        raise InputError(
            f"only {kept} of {tried} drawn correlation matrices were positive definite",
            file=cm.source,
            expected="correlations farther from singularity, or a larger n",
        )
    point = general_dominance(R)
    r2_point = float(subset_r2(R)[-1])
    r2_draws = gd.sum(axis=1)
    msgs = []
    if rejected:
        msgs.append(
            f"{rejected} of {tried} drawn correlation matrices were not positive definite and were "
            "redrawn (intervals conditional on a valid matrix)"
        )
    src = dict(sources or {})
    if pooled is not None:
        default_src = (
            f"pooled by GLS ({pooled.method}) from {pooled.k} studies"
            + (f" in {cm.source}" if cm.source else ""),
        )
    else:
        default_src = (f"correlation matrix {cm.source}",) if cm.source else ("correlation matrix supplied",)
    r_out = R[:-1, -1]
    slices = tuple(
        PieSlice(
            factor=name,
            share=float(point[i]),
            ci_low=lo,
            ci_high=hi,
            sources=tuple(src.get(name, default_src)),
            element=name,
            metric="r",
            estimate=float(r_out[i]),
            se=float(se_out[i]),
        )
        for i, name in enumerate(cm.names)
        for lo, hi in [_interval(gd[:, i], level)]
    )
    return _pie_result(
        "dominance",
        (draws, seed, level),
        slices,
        Share(r2_point, *_interval(r2_draws, level)),
        Share(1 - r2_point, *_interval(1 - r2_draws, level)),
        msgs,
        inherited=pooled.warnings if pooled is not None else (),
        n=None if n is None or np.ndim(n) else float(n),
        rejected_draws=rejected,
        pooled=pooled,
    )


def _dominance_block(law, p1: int, max_tries: int, stream, size: int):
    """One block of the dominance pie: ``size`` positive definite correlation matrices drawn (at most
    ``max_tries * size`` tried, :data:`DRAW_CHUNK` at a time) and their general dominance weights.

    ``law``: ("fisher", z, se): each correlation tanh(z + se N(0, 1)), independently; or ("normal", mean,
    chol): the correlations jointly normal, mean + chol N(0, I). Returns (weights (kept, p), rejected, tried).
    """
    kind, loc, scale = law
    rng = np.random.default_rng(stream)
    iu = np.triu_indices(p1, 1)
    gd = np.empty((size, p1 - 1))
    kept, rejected, tried = 0, 0, 0
    while kept < size and tried < max_tries * size:
        n = min(DRAW_CHUNK, max(size - kept, 256), max_tries * size - tried)
        z = rng.standard_normal((n, len(loc)))
        vals = loc + z @ scale.T if kind == "normal" else np.tanh(loc + scale * z)
        Rd = np.empty((n, p1, p1))
        Rd[:, iu[0], iu[1]] = vals
        Rd[:, iu[1], iu[0]] = vals
        Rd[:, np.arange(p1), np.arange(p1)] = 1.0
        valid = is_positive_definite(Rd)
        tried += n
        rejected += n - int(valid.sum())
        ok = np.flatnonzero(valid)[: size - kept]
        gd[kept : kept + len(ok)] = general_dominance(Rd[ok])
        kept += len(ok)
    return gd[:kept], rejected, tried


def dominance_sensitivity(
    rxy: Mapping[str, float] | None = None,
    rho=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    *,
    sources: Mapping[str, Sequence[str]] | None = None,
) -> SensitivityResult:
    """The dominance pie when the correlations among factors are unknown: one assumed common value at a time.

    Parameters
    ----------
    rxy : mapping of str to float, optional
        Each factor's correlation with the outcome. Default: the shipped estimate of each factor
        (:func:`default_components`) as a correlation: r as is, d as r = d / sqrt(d^2 + 4) (Borenstein
        et al. 2009, eq. 7.7), an ICC or share as r = sqrt(share) (the correlation whose square is that
        share of outcome variance).
    rho : sequence of float
        Assumed common correlations among the factors, each in (-1, 1).
    sources : mapping, optional
        Citations per factor (default: those of the shipped estimates when ``rxy`` is not given).

    Returns
    -------
    SensitivityResult
        Per assumed value the general dominance weights (proportions of outcome variance), their sum R2
        and whether the assumed matrix is positive definite (if not, the shares and R2 are NaN); the
        additive shares r^2 (what the additive pie shows). ``to_frame()`` gives one row per (assumed_r,
        factor).

    Raises
    ------
    InputError
        A correlation outside (-1, 1), more than :data:`~commonfactors.factors.dominance.MAX_FACTORS`
        factors, or more than :data:`MAX_SUBSET_R2` subset R2 in all (``len(rho)`` x 2**p).

    Warns
    -----
    PieWarning
        An assumed value no set of factors can take (the matrix is not positive definite).
    """
    if rxy is None:
        with warnings.catch_warnings():  # the components' interval caveats do not apply to point values
            warnings.simplefilter("ignore", PieWarning)
            comps = default_components()
        rxy = {c.factor: _point_r(c) for c in comps}
        sources = sources or {c.factor: (*c.sources, _r_basis(c)) for c in comps}
    if not rxy:
        raise InputError("no factors", expected="a mapping of factor names to correlations with the outcome")
    names = list(rxy)
    check_factor_count(len(names))
    rho = list(rho)
    if len(rho) * 2 ** len(names) > MAX_SUBSET_R2:
        raise InputError(
            f"{len(rho):,} assumed correlations of {len(names)} factors take {len(rho) * 2 ** len(names):,} "
            f"subset R2, more than the {MAX_SUBSET_R2:,} a dominance analysis may take",
            expected=f"at most {MAX_SUBSET_R2 // 2 ** len(names):,} assumed correlations",
        )
    r = np.array([_finite(rxy[k], f"{k}: r") for k in names])
    if np.any(np.abs(r) >= 1):
        raise InputError(f"correlations {r.tolist()}", expected="each in (-1, 1)")
    rows = []
    for a in rho:
        a = _finite(a, "rho")
        if not -1 < a < 1:
            raise InputError(f"rho = {a:g}", expected="an assumed correlation in (-1, 1)")
        R = equicorrelated(r, a)
        ok = bool(is_positive_definite(R))
        w = general_dominance(R) if ok else np.full(len(r), np.nan)
        rows.append(SensitivityRow(assumed_r=a, shares=tuple(float(x) for x in w),
                                   r2=float(w.sum()) if ok else math.nan, valid=ok))
    msgs = [
        f"assumed r = {row.assumed_r:g}: no {len(names)} factors can all correlate this way (the matrix is "
        "not positive definite)"
        for row in rows
        if not row.valid
    ]
    for m in msgs:
        warnings.warn(m, PieWarning, stacklevel=2)
    src = dict(sources or {})
    return SensitivityResult(
        factors=tuple(names),
        rxy=tuple(float(rxy[n]) for n in names),
        additive_shares=tuple(float(x**2) for x in r),
        rows=tuple(rows),
        sources=tuple(tuple(src.get(n, ())) for n in names),
        warnings=tuple(msgs),
    )


def _point_r(c: Component) -> float:
    if c.metric == "r":
        return float(c.estimate)
    if c.metric == "d":
        return float(convert.d_to_r(c.estimate))
    return math.sqrt(c.estimate)


def _r_basis(c: Component) -> str:
    return {
        "r": "r as published",
        "d": f"d = {c.estimate:g} as r = d / sqrt(d^2 + 4)",
        "icc": f"ICC = {c.estimate:g} as r = sqrt(ICC)",
        "share": f"share = {c.estimate:g} as r = sqrt(share)",
    }[c.metric]


def pool_correlations_pairwise(
    data, *, var1: str = "var1", var2: str = "var2", ri: str = "ri", ni: str = "ni", method: str = "REML"
):
    """Pool a correlation matrix from study-level correlations, each pair by random effects on Fisher's z.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study and pair: the two variable names (``var1``, ``var2``; the outcome's name is
        ``outcome``), the correlation ``ri`` and the sample size ``ni``.
    method : str
        tau2 estimator of the univariate engine (default REML).

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``var1``, ``var2``, ``k``, ``n`` (total), ``n_harmonic`` (harmonic mean of the
        studies' n), ``r`` (back-transformed pooled z), ``z``, ``se_z``, ``ci_low``/``ci_high`` (r scale),
        ``tau2``, ``i2``. Use :func:`correlation_frames` to turn it into the matrices
        :func:`dominance_pie` takes.

    Notes
    -----
    Each pair is pooled separately (univariate approach; Hedges & Olkin 1985 for Fisher's z with
    v = 1 / (n - 3)); the covariances between correlations of the same study are ignored, unlike the
    GLS stage 1 of Cheung & Chan (2005, Psychological Methods 10:40).
    """
    from .._checks import numeric, require_column, row_labels, source_of
    from ..models.univariate import meta_analysis
    from .corpool import check_correlation_rows

    for c in (var1, var2):
        require_column(data, c)
    r, _ = numeric(data, ri, name="ri")
    nn, _ = numeric(data, ni, name="ni", n=len(r))
    a = np.asarray(data[var1]).astype(str)
    b = np.asarray(data[var2]).astype(str)
    check_correlation_rows(r, nn, a, b, rows=row_labels(data, len(r)), source=source_of(data),
                           columns=(ri, ni, var2), missing_r=False)
    import pandas as pd

    key = [tuple(sorted(p)) for p in zip(a, b, strict=False)]
    out = []
    for pair in dict.fromkeys(key):
        sel = np.array([k == pair for k in key])
        z = convert.fisher_z(r[sel])
        v = convert.var_fisher_z(nn[sel])
        res = meta_analysis(yi=z, vi=v, method=method).to_dict()
        out.append(
            {
                "var1": pair[0],
                "var2": pair[1],
                "k": int(sel.sum()),
                "n": float(nn[sel].sum()),
                "n_harmonic": float(sel.sum() / np.sum(1.0 / nn[sel])),
                "r": float(np.tanh(res["estimate"])),
                "z": res["estimate"],
                "se_z": res["se"],
                "ci_low": float(np.tanh(res["ci_low"])),
                "ci_high": float(np.tanh(res["ci_high"])),
                "tau2": res["tau2"],
                "i2": res["i2"],
            }
        )
    return pd.DataFrame(out)


def correlation_frames(pooled, outcome: str = "outcome"):
    """The matrices of pooled r and of se_z (labelled DataFrames) from :func:`pool_correlations_pairwise`.

    Raises
    ------
    InputError
        A pair is missing (every pair of variables needs at least one study).
    """
    import pandas as pd

    names = sorted(set(pooled["var1"]) | set(pooled["var2"]), key=lambda x: (x == outcome, x))
    R = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    S = pd.DataFrame(np.ones((len(names), len(names))), index=names, columns=names)
    seen = set()
    for row in pooled.itertuples(index=False):
        R.loc[row.var1, row.var2] = R.loc[row.var2, row.var1] = row.r
        S.loc[row.var1, row.var2] = S.loc[row.var2, row.var1] = row.se_z
        seen.add(frozenset((row.var1, row.var2)))
    missing = [(x, y) for i, x in enumerate(names) for y in names[i + 1 :] if frozenset((x, y)) not in seen]
    if missing:
        raise InputError(
            f"no study correlates {missing[0][0]!r} with {missing[0][1]!r}",
            expected="at least one study for every pair of variables",
        )
    return R, S


def published_pies(*, include_unverified: bool = False):
    """The published variance pies (``data/published/pies.csv``) as a tidy table, one row per slice.

    Parameters
    ----------
    include_unverified : bool
        Also return slices marked UNVERIFIED (numbers from recollection, not seen in any source;
        ``data/published/README.md`` asks not to report them as checked). Default False.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``year``, ``category``, ``share`` (proportion, 0-1; NaN when published only as
        "<1%" or similar, see ``share_text``), ``share_text`` (percent, as published), ``scale`` (what
        the share is a share of: outcome variance, or improvement), ``verified`` (yes / secondary /
        UNVERIFIED), ``where_seen``, ``notes``.
    """
    import pandas as pd

    from .taxonomy import published_path

    df = pd.read_csv(published_path("pies.csv"), dtype=str, keep_default_na=False)
    if not include_unverified:
        df = df[df["verified"] != "UNVERIFIED"].reset_index(drop=True)
    df["share"] = pd.to_numeric(df["share_pct"], errors="coerce") / 100
    df["year"] = pd.to_numeric(df["year"]).astype(int)
    return df.rename(columns={"share_pct": "share_text"})[
        ["source", "year", "category", "share", "share_text", "scale", "verified", "where_seen", "notes"]
    ]
