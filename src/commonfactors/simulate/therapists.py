"""Coverage of the therapist ICC's intervals in small practices (:func:`icc_coverage_study`): seeded
simulations of the random-intercept model, fitted by the closed-form REML engine, in blocks run in this
process or on Dask.

Model (THERAPISTS.md section 2): client i of therapist j, y_ij = b0 + b1 x_ij + u_j + e_ij,
u_j ~ N(0, s2_t), e_ij ~ N(0, 1), s2_t = icc / (1 - icc), so the true ICC is s2_t / (s2_t + 1) = icc. The
covariate x (an intake score, N(0, 1)) is drawn once per condition and kept for every replicate (a fixed
design), so the replicates of a block share X and are fitted together as lanes of
``commonfactors.models._lmm`` (one pass of the sums, one vectorised REML minimisation).

Intervals at level 1 - alpha, for each replicate, with z = z_{1 - alpha/2} and q = z^2 (the chi-square(1)
quantile):

- **profile**: {theta: d(theta) - d(theta_hat) <= q}, d the REML criterion (-2 log restricted likelihood)
  profiled over beta and sigma2, mapped through icc = theta^2 / (1 + theta^2); the roots are found for all
  lanes at once by bisection on the library's criterion (``_lmm.profile_theta_t`` computes the same interval
  for one data set);
- **wald** (on the theta scale): theta_hat +- z se(theta_hat), Var(theta_hat) = 2 / d''(theta_hat) (the
  inverse observed information, d = -2 log-likelihood), the lower end truncated at 0, mapped through
  theta^2 / (1 + theta^2); at a boundary fit (theta_hat = 0) d''(0) = 2 dd/dtau at tau = theta^2 = 0;
- **wald_icc** (the delta method on the ICC scale): icc_hat +- z se(theta_hat) 2 theta_hat /
  (1 + theta_hat^2)^2, the lower end truncated at 0.

Coverage is a proportion p over the n replicates whose fit converged, with Monte Carlo SE sqrt(p (1 - p) / n)
(Morris, White & Crowther, 2019, Stat. Med. 38(11), 2074-2102, Table 6).

Random streams: condition c's design from ``SeedSequence(seed, spawn_key=(c, 0))``, its block b of
replicates from ``spawn_key=(c, b + 1)``; counts are added over blocks, so the table does not depend on
where or in which order the blocks ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._distributions import norm_ppf
from ..errors import InputError
from ..models import _lmm
from ..models._options import normalize_level
from ._dask import run_tasks

#: replicates per block (the unit of work of a worker) unless given
BLOCK = 500
#: fixed effects of the simulated model: intercept and the intake score's slope
B0, B1 = 0.5, 0.6
INTERVALS = ("profile", "wald", "wald_icc")
#: the table's columns
COLUMNS = ("condition", "therapists", "clients", "icc", "interval", "reps", "converged", "failures",
           "coverage", "coverage_mcse", "boundary")


def design(therapists: int, clients: int, stream) -> tuple[np.ndarray, np.ndarray]:
    """(X, groups): X (n, 2) = [1, x], x ~ N(0, 1) the intake score, and each client's therapist (0-based),
    ``clients`` per therapist."""
    rng = np.random.default_rng(stream)
    groups = np.repeat(np.arange(therapists), clients)
    return np.column_stack((np.ones(groups.size), rng.normal(0.0, 1.0, groups.size))), groups


def replicates(X: np.ndarray, groups: np.ndarray, icc: float, size: int, stream) -> np.ndarray:
    """Y (n, size): ``size`` replicates of the model on the design (X, groups) with therapist ICC ``icc``."""
    rng = np.random.default_rng(stream)
    m = int(groups.max()) + 1
    u = rng.normal(0.0, math.sqrt(icc / (1.0 - icc)), (m, size))
    return B0 + B1 * X[:, 1:2] + u[groups] + rng.normal(0.0, 1.0, (groups.size, size))


def icc_of(theta):
    """icc = theta^2 / (1 + theta^2) (1 at theta = inf)."""
    theta = np.asarray(theta, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isinf(theta), 1.0, theta * theta / (1.0 + theta * theta))


def _crit(theta, st):
    return _lmm.evaluate(theta * theta, 0.0, st, reml=True).crit


def _bisect(lo, hi, rising, steps: int = 64):
    """Each lane's root of ``rising`` (negative at lo, positive at hi) by bisection: 64 halvings of a
    bracket leave it below 1e-18 of its width."""
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        up = rising(mid) > 0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    return 0.5 * (lo + hi)


def profile_intervals(st, theta_hat, crit_hat, q: float):
    """Every lane's profile interval of theta, {theta: d(theta) - d(theta_hat) <= q}: the lower root in
    [0, theta_hat] (0 when d(0) is within the bound), the upper one bracketed by doubling from
    max(2 theta_hat, 1e-3) (inf beyond theta = 1e4), both by bisection."""
    L = theta_hat.shape[0]

    def excess(th):
        return _crit(th, st) - crit_hat - q

    start = np.maximum(2.0 * theta_hat, 1e-3)
    hi_hi = start
    open_ = excess(hi_hi) <= 0
    while open_.any() and (hi_hi[open_] < 1e4).any():
        hi_hi = np.where(open_, 2.0 * hi_hi, hi_hi)
        open_ = open_ & (excess(hi_hi) <= 0)
    hi_lo = np.where(hi_hi > start, hi_hi / 2, theta_hat)
    high = np.where(open_, np.inf, _bisect(hi_lo, hi_hi, excess))
    low = _bisect(np.zeros(L), theta_hat.copy(), lambda th: -excess(th))
    return np.where(excess(np.zeros(L)) <= 0, 0.0, low), high


def wald_se(st, theta_hat):
    """se(theta_hat) = sqrt(2 / d''(theta_hat)), d'' by central differences of the analytic dd/dtheta =
    2 theta dd/dtau (step 1e-4 max(theta, 0.01)); at theta = 0, d''(0) = 2 dd/dtau."""
    def dd_dtheta(th):
        return 2.0 * th * _lmm.evaluate(th * th, 0.0, st, reml=True).grad_t

    h = 1e-4 * np.maximum(theta_hat, 0.01)
    below = np.maximum(theta_hat - h, 0.0)
    second = np.where(theta_hat > 0,
                      (dd_dtheta(theta_hat + h) - dd_dtheta(below)) / (theta_hat + h - below),
                      2.0 * _lmm.evaluate(np.zeros_like(theta_hat), 0.0, st, reml=True).grad_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(2.0 / second)


def fit_replicates(X, Y, groups, level: float = 95) -> dict:
    """REML fits of the replicates (columns of Y) and their three intervals on the ICC scale.

    Returns a dict of arrays over the replicates: ``theta``, ``crit``, ``converged``, ``boundary``
    (theta_hat below the singular tolerance), ``profile``, ``wald``, ``wald_icc`` ((low, high) each on the
    ICC scale) and ``profile_theta`` (the profile interval on the theta scale)."""
    z = float(norm_ppf(0.5 + level / 200))
    st = _lmm.sums(X, Y, groups)
    fit = _lmm.fit(st, reml=True, lanes=Y.shape[1])
    theta, crit = fit.theta[:, 0], fit.ev.crit
    lo, hi = profile_intervals(st, theta, crit, z * z)
    se = wald_se(st, theta)
    icc_hat, se_icc = icc_of(theta), se * 2 * theta / (1 + theta**2) ** 2
    return {"theta": theta, "crit": crit, "converged": np.asarray(fit.converged, dtype=bool),
            "boundary": theta < _lmm.SINGULAR_TOL, "profile_theta": (lo, hi),
            "profile": (icc_of(lo), icc_of(hi)),
            "wald": (icc_of(np.maximum(theta - z * se, 0.0)), icc_of(theta + z * se)),
            "wald_icc": (np.maximum(icc_hat - z * se_icc, 0.0), icc_hat + z * se_icc)}


def coverage_block(condition: tuple, level: float, seed: int, c: int, b: int, size: int) -> np.ndarray:
    """One block of condition ``c`` = (therapists, clients, icc): ``size`` replicates simulated and fitted.
    Returns the counts [replicates, converged, boundary fits, covered by each of :data:`INTERVALS`]
    (boundary and coverage over the converged fits)."""
    m, per, icc = condition
    X, groups = design(m, per, np.random.SeedSequence(seed, spawn_key=(c, 0)))
    Y = replicates(X, groups, icc, size, np.random.SeedSequence(seed, spawn_key=(c, b + 1)))
    out = fit_replicates(X, Y, groups, level)
    ok = out["converged"]
    covered = [int(np.sum(ok & (out[k][0] <= icc) & (icc <= out[k][1]))) for k in INTERVALS]
    return np.array([size, int(ok.sum()), int(np.sum(ok & out["boundary"])), *covered], dtype=np.int64)


def _conditions(conditions) -> list[tuple[int, int, float]]:
    expected = "(therapists >= 2, clients per therapist >= 2, true ICC in (0, 1)) for each condition"
    try:
        rows = [tuple(c) for c in conditions]
    except TypeError:
        raise InputError(f"conditions={conditions!r}", expected=expected) from None
    out = []
    for row in rows:
        ok = len(row) == 3 and all(isinstance(x, (int, float, np.integer, np.floating))
                                   and not isinstance(x, bool) for x in row)
        if ok:
            m, per, icc = row
            ok = float(m).is_integer() and float(per).is_integer() and m >= 2 and per >= 2 and 0 < icc < 1
        if not ok:
            raise InputError(f"condition {row!r}", expected=expected)
        out.append((int(m), int(per), float(icc)))
    if not out:
        raise InputError("no condition", expected=expected)
    return out


def _whole(name: str, v, least: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        raise InputError(f"{name}={v!r}", expected=f"a whole number >= {least}")
    return int(v)


def icc_coverage_study(conditions: Sequence[tuple], reps: int = 2000, seed: int = 20261205, *,
                       level: float = 95, block: int = BLOCK, workers: int = 0, scheduler: str | None = None):
    """Coverage of the therapist ICC's profile and Wald intervals, by simulation.

    Parameters
    ----------
    conditions : sequence of (therapists, clients, icc)
        Practices simulated: the number of therapists, clients per therapist and the true ICC.
    reps : int
        Replicates per condition (>= 2).
    seed : int
        Seed of the run (>= 0): the same seed and ``block`` give the same table.
    level : float
        Confidence level of the intervals (95, 0.95 and 0.05 all mean 95%).
    block : int
        Replicates per block, the unit of work of a worker (part of the random streams).
    workers, scheduler
        As in :func:`commonfactors.simulation_study`: 0 or 1 in this process, N >= 2 a local Dask cluster
        of N worker processes, or a running cluster's scheduler address. The table is the same.

    Returns
    -------
    pandas.DataFrame
        One row per condition x interval (``profile``, ``wald``, ``wald_icc``; see the module's text), with
        columns :data:`COLUMNS`: the condition, ``reps``, ``converged``, ``failures``, ``coverage`` over the
        converged fits and its Monte Carlo SE ``coverage_mcse``, and ``boundary``, the share of fits at
        ICC = 0.

    References
    ----------
    Morris, T. P., White, I. R., & Crowther, M. J. (2019). Using simulation studies to evaluate statistical
    methods. Statistics in Medicine, 38(11), 2074-2102.
    """
    conds = _conditions(conditions)
    reps = _whole("reps", reps, 2)
    seed = _whole("seed", seed, 0)
    block = _whole("block", block, 1)
    workers = _whole("workers", workers, 0)
    level = normalize_level(level)
    sizes = [min(block, reps - b * block) for b in range(-(-reps // block))]
    tasks = [(c, b, size) for c in range(len(conds)) for b, size in enumerate(sizes)]
    totals = np.zeros((len(conds), 3 + len(INTERVALS)), dtype=np.int64)

    def add(t, counts):
        totals[tasks[t][0]] += counts

    run_tasks(coverage_block, [(conds[c], level, seed, c, b, size) for c, b, size in tasks], add,
              workers=workers, scheduler=scheduler)
    rows = []
    for c, (m, per, icc) in enumerate(conds):
        n_all, n, boundary, *covered = (int(x) for x in totals[c])
        for name, k in zip(INTERVALS, covered, strict=True):
            p = k / n if n else math.nan
            rows.append({"condition": c, "therapists": m, "clients": per, "icc": icc, "interval": name,
                         "reps": n_all, "converged": n, "failures": n_all - n, "coverage": p,
                         "coverage_mcse": math.sqrt(p * (1 - p) / n) if n else math.nan,
                         "boundary": boundary / n if n else math.nan})
    import pandas as pd

    return pd.DataFrame(rows, columns=list(COLUMNS))
