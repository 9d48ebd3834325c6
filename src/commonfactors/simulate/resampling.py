"""Bootstraps and permutation tests of a fitted meta-analysis.

- :func:`bootstrap`: parametric or nonparametric (studies resampled) bootstrap of a model without moderators,
  percentile intervals of the pooled effect and tau2; the replicates are fitted in blocks by
  :func:`commonfactors.fit_many`, in this process or on Dask, each block with its own stream of
  ``SeedSequence(seed)``, so the result does not depend on where the blocks ran.
- :func:`cluster_bootstrap`: a three-level model's pooled effect and variance components by resampling
  whole clusters, in blocks as :func:`bootstrap`.
- :func:`permutation_test`: metafor's ``permutest``: signs permuted for a model without moderators, rows of
  the model matrix for a meta-regression; exact (every distinct permutation) when there are few.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .._checks import EffectData
from ..errors import InputError
from ..models.batch import fit_many
from ..models.univariate import fit
from ..results.meta import MetaResult
from ..results.simulation import BootstrapResult, ClusterBootstrapResult, PermutationResult
from ._dask import run_tasks
from ._engine import block_seed

#: replicates per block (the unit of work of a worker)
BOOT_BLOCK = 5000
#: metafor's ``comptol``: a permuted statistic within this of the observed one counts as "as extreme"
COMPTOL = math.sqrt(np.finfo(float).eps)
KINDS = ("parametric", "nonparametric")


def _check_model(res, what: str) -> MetaResult:
    if not isinstance(res, MetaResult):
        raise InputError(f"{what} takes a fitted meta_analysis() result, got {type(res).__name__}",
                         expected="the MetaResult of meta_analysis() (one model, no subgroups)")
    return res


def _check_count(name, value, least):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise InputError(f"{name}={value!r}", expected=f"a whole number >= {least}")
    return int(value)


def _seed(seed) -> int:
    if seed is None:
        return int(np.random.SeedSequence().entropy) % 2**63
    return _check_count("seed", seed, 0)


def _boot_block(kind, yi, vi, mu, tau2, method, test, seed, block, size):
    """One block of ``size`` bootstrap replicates: (estimates, tau2s, converged)."""
    rng = np.random.default_rng(block_seed(seed, 0, block))
    k = yi.shape[0]
    if kind == "parametric":
        y = mu + np.sqrt(vi + tau2)[None, :] * rng.standard_normal((size, k))
        v = np.broadcast_to(vi, (size, k))
    else:
        idx = rng.integers(0, k, size=(size, k))
        y, v = yi[idx], vi[idx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted as failures
        r = fit_many(y, v, method=method, test=test)
    return np.asarray(r.estimate), np.asarray(r.tau2), np.asarray(r.converged)


def bootstrap(res, n_boot: int = 1000, seed: int | None = None, kind: str = "parametric", *,
              workers: int = 0, scheduler: str | None = None) -> BootstrapResult:
    r"""Bootstrap distribution and percentile intervals of the pooled effect and tau2 of a model without
    moderators.

    Parameters
    ----------
    res : MetaResult
        A fitted :func:`commonfactors.meta_analysis` without moderators; its method and test are used.
    n_boot : int
        Replicates (>= 2).
    seed : int, optional
        Seed (default: fresh entropy, reported in the result).
    kind : {"parametric", "nonparametric"}
        "parametric": :math:`y_i^* \sim N(\hat\mu, v_i + \hat\tau^2)` with the studies' own v_i (the fitted
        random-effects model; Efron & Tibshirani, 1993, An Introduction to the Bootstrap, ch. 6.5).
        "nonparametric": k studies (yi, vi pairs) drawn with replacement (Efron & Tibshirani, 1993, ch. 6.2).
    workers, scheduler
        Where the blocks of replicates run, as :func:`commonfactors.simulation_study`.

    Returns
    -------
    BootstrapResult
        The observed estimate and tau2, the bootstrap SD of each and their percentile intervals at the model's
        level (Efron & Tibshirani, 1993, ch. 13.3: the alpha/2 and 1 - alpha/2 quantiles of the replicates,
        numpy's linear interpolation, R's type 7), over the replicates whose fit converged; the replicates
        themselves; ``failures`` counts those that did not converge.
    """
    res = _check_model(res, "bootstrap()")
    if res.has_mods:
        raise InputError("bootstrap() takes a model without moderators",
                         expected="meta_analysis() without mods (use permutation_test() for moderators)")
    if kind not in KINDS:
        raise InputError(f"kind={kind!r}", expected=f"one of {', '.join(KINDS)}")
    if res.k < 2:
        raise InputError(f"the model has {res.k} study", expected="at least 2 studies to resample")
    n_boot = _check_count("n_boot", n_boot, 2)
    seed = _seed(seed)
    method = "FE" if res.method in ("FE", "EE", "CE") else res.method
    if method == "GENQ":
        raise InputError("method 'GENQ' (user weights) cannot be bootstrapped here",
                         expected="a model fitted with one of fit_many's methods")
    yi, vi = np.asarray(res.yi, dtype=float), np.asarray(res.vi, dtype=float)
    tau2 = 0.0 if method == "FE" else float(res.tau2)
    sizes = [min(BOOT_BLOCK, n_boot - b * BOOT_BLOCK) for b in range(math.ceil(n_boot / BOOT_BLOCK))]
    parts: dict[int, tuple] = {}
    run_tasks(_boot_block, [(kind, yi, vi, float(res.estimate), tau2, method, res.test, seed, b, s)
                            for b, s in enumerate(sizes)],
              lambda b, out: parts.__setitem__(b, out), workers=workers, scheduler=scheduler)
    est = np.concatenate([parts[b][0] for b in range(len(sizes))])
    t2 = np.concatenate([parts[b][1] for b in range(len(sizes))])
    ok = np.concatenate([parts[b][2] for b in range(len(sizes))]) & np.isfinite(est)
    alpha = 1 - res.level / 100
    probs = (alpha / 2, 1 - alpha / 2)
    e, t = est[ok], t2[ok]
    return BootstrapResult(
        kind=kind, n_boot=n_boot, seed=seed, level=res.level, method=method, test=res.test,
        estimate=float(res.estimate), estimate_se=float(np.std(e, ddof=1)),
        estimate_ci=tuple(float(q) for q in np.quantile(e, probs)),
        tau2=float(res.tau2), tau2_se=float(np.std(t, ddof=1)),
        tau2_ci=tuple(float(q) for q in np.quantile(t, probs)),
        failures=int((~ok).sum()), boot_estimate=est, boot_tau2=t2)


# --------------------------------------------------------------------------------------------------
# Cluster bootstrap of a three-level model


def resample_rows(starts: np.ndarray, sizes: np.ndarray, pick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of the clusters ``pick`` (indices into ``starts``/``sizes``, repeats allowed), in that order,
    and their new cluster codes 0, 1, ...: a cluster drawn twice is two clusters."""
    sz = sizes[pick]
    first = np.cumsum(sz) - sz
    rows = np.repeat(starts[pick] - first, sz) + np.arange(int(sz.sum()))
    return rows, np.repeat(np.arange(pick.size), sz)


def _cluster_block(y, v, starts, sizes, reml, seed, block, size):
    """One block of ``size`` cluster-bootstrap replicates: (estimates, sigma2 (size, 2), usable)."""
    from ..models.multilevel import Blocks, fit_sigma2

    rng = np.random.default_rng(block_seed(seed, 0, block))
    n = starts.shape[0]
    est, s2 = np.full(size, np.nan), np.full((size, 2), np.nan)
    ok = np.zeros(size, dtype=bool)
    for r in range(size):
        pick = rng.integers(0, n, size=n)
        if np.all(sizes[pick] == 1):  # no cluster of two effects: the variances are not identifiable
            continue
        rows, codes = resample_rows(starts, sizes, pick)
        blocks = Blocks.from_sorted_codes(codes)
        fit = fit_sigma2(y[rows], v[rows], np.ones((rows.size, 1)), blocks, reml=reml)
        est[r], s2[r], ok[r] = fit.ev.beta[0], fit.ev.sigma2, fit.converged
    return est, s2, ok


def cluster_bootstrap(data=None, *, yi="yi", vi="vi", sei=None, cluster, within=None, method: str = "REML",
                      test: str = "z", level: float = 95, n_boot: int = 1000, seed: int | None = None,
                      workers: int = 0, scheduler: str | None = None) -> ClusterBootstrapResult:
    r"""Cluster bootstrap of a three-level meta-analysis without moderators: the pooled effect and the
    between- and within-cluster variances of :func:`commonfactors.multilevel_meta_analysis`, refitted on
    samples of whole clusters drawn with replacement.

    Parameters
    ----------
    data, yi, vi, sei, cluster, within, method, test, level
        As :func:`commonfactors.multilevel_meta_analysis` (the model is fitted once, on the data, for the
        observed values; its result does not keep the data, hence the data here).
    n_boot : int
        Replicates (>= 2).
    seed : int, optional
        Seed (default: fresh entropy, reported in the result).
    workers, scheduler
        Where the blocks of replicates run, as :func:`commonfactors.simulation_study`; the same seed gives
        the same replicates anywhere.

    Returns
    -------
    ClusterBootstrapResult
        Observed values, the bootstrap SD of each and their percentile intervals at ``level``, over the
        usable replicates; ``failures`` counts the others.

    Notes
    -----
    Each replicate draws n clusters (n the number in the data) with replacement, keeping every effect of a
    drawn cluster; a cluster drawn twice enters as two clusters. This resamples the top level only, which
    keeps the dependence within clusters and is the resampling scheme that stays consistent for the
    variance of the mean in nested data (Davison & Hinkley, 1997, Bootstrap Methods and their Application,
    section 3.8; Field & Welsh, 2007, J. R. Stat. Soc. B 69(3), 369-390). A resample whose clusters all hold
    a single effect cannot separate the two variances and is counted as a failure, as is a fit that did not
    converge. Intervals are percentile intervals (Efron & Tibshirani, 1993, ch. 13.3; numpy's linear
    interpolation, R's type 7).
    """
    from .._checks import effect_data
    from ..models.multilevel import _prepare, multilevel_meta_analysis

    n_boot = _check_count("n_boot", n_boot, 2)
    seed = _seed(seed)
    res = multilevel_meta_analysis(data, yi=yi, vi=vi, sei=sei, cluster=cluster, within=within,
                                   method=method, test=test, level=level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rows dropped: already said by the fit above
        prep = _prepare(data, effect_data(data, yi=yi, vi=vi, sei=sei), cluster=cluster, within=within)
    y, v, b = prep.y, prep.v, prep.blocks
    sizes = [min(BOOT_BLOCK, n_boot - i * BOOT_BLOCK) for i in range(math.ceil(n_boot / BOOT_BLOCK))]
    parts: dict[int, tuple] = {}
    run_tasks(_cluster_block, [(y, v, b.starts, b.sizes, res.method == "REML", seed, i, s)
                               for i, s in enumerate(sizes)],
              lambda i, out: parts.__setitem__(i, out), workers=workers, scheduler=scheduler)
    est = np.concatenate([parts[i][0] for i in range(len(sizes))])
    s2 = np.concatenate([parts[i][1] for i in range(len(sizes))])
    ok = np.concatenate([parts[i][2] for i in range(len(sizes))]) & np.isfinite(est)
    if ok.sum() < 2:
        raise InputError(f"only {int(ok.sum())} of {n_boot} resamples could be fitted",
                         expected="clusters of two or more effects, or more replicates")
    alpha = 1 - res.level / 100
    probs = (alpha / 2, 1 - alpha / 2)
    e, t = est[ok], s2[ok]
    return ClusterBootstrapResult(
        n_boot=n_boot, seed=seed, level=res.level, method=res.method, test=res.test,
        n_clusters=res.n_clusters, k=res.k, estimate=float(res.estimate),
        estimate_se=float(np.std(e, ddof=1)), estimate_ci=tuple(float(q) for q in np.quantile(e, probs)),
        sigma2=tuple(res.sigma2), sigma2_se=tuple(float(x) for x in np.std(t, axis=0, ddof=1)),
        sigma2_ci=tuple(tuple(float(q) for q in np.quantile(t[:, j], probs)) for j in range(2)),
        failures=int((~ok).sum()), boot_estimate=est, boot_sigma2=s2, warnings=tuple(res.warnings))


# --------------------------------------------------------------------------------------------------
# Permutation tests


def _distinct_permutations(labels: np.ndarray):
    """Every distinct ordering of a sequence of integer labels (a multiset), in lexicographic order, the first
    being the sorted one (Knuth, TAOCP 4A, 7.2.1.2, Algorithm L)."""
    a = sorted(labels.tolist())
    n = len(a)
    while True:
        yield list(a)
        j = n - 2
        while j >= 0 and a[j] >= a[j + 1]:
            j -= 1
        if j < 0:
            return
        m = n - 1
        while a[j] >= a[m]:
            m -= 1
        a[j], a[m] = a[m], a[j]
        a[j + 1:] = a[j + 1:][::-1]


def _count_distinct(labels: np.ndarray) -> int:
    """k! / prod(n_i!) for the multiplicities n_i of the labels."""
    _, counts = np.unique(labels, return_counts=True)
    total = math.factorial(int(labels.size))
    for c in counts.tolist():
        total //= math.factorial(c)
    return total


def permutation_test(res, n_perm: int = 1000, seed: int | None = None, exact: bool | None = None
                     ) -> PermutationResult:
    r"""Permutation test of a fitted model's coefficients and omnibus test, as metafor's ``permutest``.

    Without moderators, the signs of the yi are permuted (Follmann & Proschan, 1999, Biometrics 55(4),
    1201-1206): 2^k permutations. With moderators, the rows of the model matrix X (Higgins & Thompson, 2004,
    Stat. Med. 23(11), 1663-1682; Viechtbauer et al., 2015, Psychol. Methods 20(3), 360-374): k! orderings,
    of which only the distinct ones are needed when X has repeated rows. Each permutation is refitted with the
    model's method and test. The two-sided p-value of a coefficient is the share of permutations whose
    \|statistic\| is at least the observed one, the omnibus test's the share with QM at least the observed
    QM, both with metafor's tolerance ``COMPTOL`` (sqrt of the machine epsilon).

    Parameters
    ----------
    res : MetaResult
        A fitted :func:`commonfactors.meta_analysis` (method not "GENQ").
    n_perm : int
        Random permutations when the test is not exact (the first is the observed data, so no p-value is 0).
    seed : int, optional
        Seed of the random permutations.
    exact : bool, optional
        Every distinct permutation. Default (None): exact when their number is at most ``n_perm``, as
        metafor.
    """
    res = _check_model(res, "permutation_test()")
    n_perm = _check_count("n_perm", n_perm, 2)
    if res.method == "GENQ":
        raise InputError("method 'GENQ' (user weights) is not permuted here", expected="another method")
    seed = _seed(seed)
    yi, vi, X = np.asarray(res.yi, float), np.asarray(res.vi, float), np.asarray(res.X, float)
    k = yi.size
    observed = np.array([c.stat for c in res.coefficients])
    if not res.has_mods:
        n_exact = 2 ** k
        exact = n_exact <= n_perm if exact is None else bool(exact)
        if exact and n_exact > 2 ** 20:
            raise InputError(f"an exact test needs 2^{k} sign permutations", expected="exact=False")
        if exact:
            signs = 1.0 - 2.0 * ((np.arange(n_exact)[:, None] >> np.arange(k)[None, :]) & 1)
        else:
            rng = np.random.default_rng(seed)
            signs = np.where(rng.random((n_perm, k)) < 0.5, -1.0, 1.0)
            signs[0] = 1.0
        method = "FE" if res.method in ("FE", "EE", "CE") else res.method
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fit_many(signs * yi[None, :], np.broadcast_to(vi, signs.shape), method=method, test=res.test,
                         level=res.level)
        stats = np.asarray(r.stat)[:, None]
        qm = stats[:, 0] ** 2
    else:
        _, labels = np.unique(X, axis=0, return_inverse=True)
        labels = labels.ravel()
        n_exact = _count_distinct(labels)
        exact = n_exact <= n_perm if exact is None else bool(exact)
        if exact and n_exact > 10 ** 6:
            raise InputError(f"an exact test needs {n_exact:,} permutations of the model matrix",
                             expected="exact=False")
        rows = {lab: np.flatnonzero(labels == lab)[0] for lab in np.unique(labels).tolist()}
        if exact:
            orders = (np.array([rows[lab] for lab in perm]) for perm in _distinct_permutations(labels))
        else:
            rng = np.random.default_rng(seed)
            orders = itertools.chain([np.arange(k)], (rng.permutation(k) for _ in range(n_perm - 1)))
        stats_list, qm_list = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for order in orders:
                data = EffectData(yi=yi, vi=vi, X=X[order], names=tuple(c.name for c in res.coefficients),
                                  rows=np.arange(k), slab=np.arange(k), source=None)
                f = fit(data, method=res.method, test=res.test, level=res.level, profile_ci=False)
                stats_list.append([c.stat for c in f.coefficients])
                qm_list.append(f.qm)
        stats, qm = np.array(stats_list), np.array(qm_list)
    pval = np.mean(np.abs(stats) >= np.abs(observed)[None, :] - COMPTOL, axis=0)
    qm_obs = res.qm if res.has_mods else observed[0] ** 2
    qm_pval = float(np.mean(qm >= qm_obs - COMPTOL))
    return PermutationResult(
        names=tuple(c.name for c in res.coefficients), estimate=tuple(c.estimate for c in res.coefficients),
        stat=tuple(float(s) for s in observed), pval=tuple(float(p) for p in pval), qm=float(qm_obs),
        qm_pval=qm_pval, n_perm=int(stats.shape[0]), exact=exact, seed=None if exact else seed,
        method=res.method, test=res.test)
