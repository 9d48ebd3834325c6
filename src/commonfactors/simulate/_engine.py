"""The work of one task of a simulation study: a block of replications of one condition, generated with numpy
and fitted with :func:`commonfactors.fit_many`, reduced to sums that blocks add up (:func:`run_block`); and
the performance measures with their Monte Carlo standard errors computed from those sums (:func:`measures`).

Everything here is a pure function of its arguments (the random stream included), so a block gives the same
sums in any process, and a condition's sums, added in block order, the same table whatever ran them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .. import _distributions as dist
from ..models.batch import fit_many

#: effect-size metrics of the generated studies
METRICS = ("SMD", "ZCOR")
#: publication bias: none, or the step selection function of :func:`publish`
SELECTIONS = ("none", "step")
#: one-sided p-value below which a study is always published (Hedges, 1992; Vevea & Hedges, 1995)
STEP_P = 0.025
_Z_STEP = 1.959963984540054  # the upper 0.025 quantile of the standard normal

#: the sums a block returns for each method x test, in this order
SUMS = ("reps", "converged", "err", "err2", "err4", "covered", "pi", "pi2", "rejected", "width", "width2",
        "tau2_err", "tau2_err2")


@dataclass(frozen=True)
class Condition:
    """One data-generating condition: ``k`` studies per meta-analysis with true effects drawn from
    N(``effect``, ``tau2``), total sample sizes ``sizes`` ("N", or "LO-HI": uniform integers), on the
    ``metric`` scale, published under ``selection`` ("none", or "step" with ``weight``: the probability that a
    study with one-sided p >= .025 is published)."""

    k: int
    tau2: float
    effect: float
    sizes: str
    metric: str
    selection: str
    weight: float

    def to_dict(self) -> dict:
        return asdict(self)


def size_range(spec: str) -> tuple[int, int]:
    """``"40"`` -> (40, 40); ``"20-200"`` -> (20, 200). ValueError when it is neither."""
    lo, sep, hi = str(spec).strip().partition("-")
    lo_n = int(lo)
    hi_n = int(hi) if sep else lo_n
    if hi_n < lo_n:
        raise ValueError(spec)
    return lo_n, hi_n


def _hedges_j(df: np.ndarray) -> np.ndarray:
    r"""Exact small-sample correction of the standardized mean difference,
    :math:`J(m) = \Gamma(m/2) / (\sqrt{m/2}\,\Gamma((m-1)/2))` (Hedges, 1981, J. Educ. Stat. 6(2), 107-128,
    eq. 6b; metafor's escalc "SMD"), computed once per distinct m."""
    values, inverse = np.unique(df, return_inverse=True)
    j = np.array([math.exp(math.lgamma(m / 2) - 0.5 * math.log(m / 2) - math.lgamma((m - 1) / 2))
                  for m in values.tolist()])
    return j[inverse].reshape(df.shape)


def draw_studies(c: Condition, shape: tuple[int, int], rng: np.random.Generator):
    r"""Effect sizes and sampling variances of ``shape`` (replications, studies) unselected studies.

    Each study's true effect is :math:`\theta_i \sim N(\mu, \tau^2)` and its total sample size N uniform on
    the condition's range.

    - "SMD": two groups of N//2 and N - N//2 with unit variance; the mean difference is drawn as
      N(theta_i, 1/n1 + 1/n2) and the pooled variance as chi-square(N - 2)/(N - 2), independently (the exact
      sampling distribution of normal data); yi is Hedges' g = J d and vi = 1/n1 + 1/n2 + yi^2/(2N), as
      metafor's escalc (measure "SMD", Hedges, 1981; Borenstein et al., 2009, eq. 4.20).
    - "ZCOR": Fisher's z of a correlation, yi ~ N(theta_i, 1/(N - 3)) and vi = 1/(N - 3) (the normal
      approximation of Fisher, 1921).
    """
    lo, hi = size_range(c.sizes)
    n = rng.integers(lo, hi + 1, size=shape)
    theta = c.effect + math.sqrt(c.tau2) * rng.standard_normal(shape)
    if c.metric == "SMD":
        n1 = n // 2
        n2 = n - n1
        var_diff = 1.0 / n1 + 1.0 / n2
        diff = theta + np.sqrt(var_diff) * rng.standard_normal(shape)
        df = n - 2
        s = np.sqrt(rng.chisquare(df) / df)
        yi = _hedges_j(df) * diff / s
        vi = var_diff + yi * yi / (2.0 * n)
    else:
        vi = 1.0 / (n - 3.0)
        yi = theta + np.sqrt(vi) * rng.standard_normal(shape)
    return yi, vi


def publish(c: Condition, reps: int, rng: np.random.Generator):
    r"""(yi, vi) of ``reps`` meta-analyses of ``c.k`` published studies each.

    Without bias every study drawn is published. Under "step", a step selection function with one cut
    point (Hedges, 1992, Stat. Sci. 7(2), 246-255; Vevea & Hedges, 1995, Psychometrika 60(3), 419-435): a
    study whose one-sided p-value for a positive effect, :math:`1 - \Phi(y_i/\sqrt{v_i})`, is below .025 is
    always published, any other with probability ``c.weight``. Studies are drawn in rounds of k per
    unfinished meta-analysis and the published ones kept in the order drawn until each has k.
    """
    k = c.k
    if c.selection == "none":
        return draw_studies(c, (reps, k), rng)
    yi, vi = np.empty((reps, k)), np.empty((reps, k))
    filled = np.zeros(reps, dtype=np.int64)
    rows = np.arange(reps)
    while rows.size:
        y, v = draw_studies(c, (rows.size, k), rng)
        keep = (y / np.sqrt(v) > _Z_STEP) | (rng.random((rows.size, k)) < c.weight)
        slot = filled[rows][:, None] + np.cumsum(keep, axis=1) - 1
        r, j = np.nonzero(keep & (slot < k))
        yi[rows[r], slot[r, j]] = y[r, j]
        vi[rows[r], slot[r, j]] = v[r, j]
        filled[rows] = np.minimum(k, filled[rows] + keep.sum(axis=1))
        rows = rows[filled[rows] < k]
    return yi, vi


def block_seed(seed: int, condition: int, block: int) -> np.random.SeedSequence:
    """The stream of block ``block`` of condition ``condition``: the child ``[condition][block]`` of
    ``SeedSequence(seed)`` (what ``SeedSequence(seed).spawn(...)[condition].spawn(...)[block]`` gives),
    independent of which process draws it or when."""
    return np.random.SeedSequence(seed, spawn_key=(condition, block))


def run_block(c: Condition, methods, tests, level: float, seed: int, condition: int, block: int,
              reps: int) -> dict:
    """Generate block ``block`` (``reps`` meta-analyses) of ``condition`` and fit each with every method x
    test; returns ``{(method, test): [sums in the order of SUMS]}``.

    Per replication, with e = estimate - effect: the estimate's error and its powers 2 and 4, whether the
    CI covers the effect, the probability that the prediction interval covers a new study's true effect
    :math:`\\theta_{new} \\sim N(\\mu, \\tau^2)`
    (:math:`\\Phi((hi - \\mu)/\\tau) - \\Phi((lo - \\mu)/\\tau)`, its indicator when tau2 = 0), whether
    H0: mu = 0 is rejected at 1 - level, the CI's width, and tau2's error and its square; summed over the
    replications that converged (a row of ``fit_many`` with ``converged`` True and a finite estimate).
    """
    rng = np.random.default_rng(block_seed(seed, condition, block))
    yi, vi = publish(c, reps, rng)
    alpha = 1.0 - level / 100.0
    out = {}
    for method in methods:
        for test in tests:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence is counted below
                res = fit_many(yi, vi, method=method, test=test, level=level)
            ok = res.converged & np.isfinite(res.estimate)
            est, lo, hi = res.estimate[ok], res.ci_low[ok], res.ci_high[ok]
            err = est - c.effect
            err2 = err * err
            width = hi - lo
            pi = _pi_coverage(res.pi_low[ok], res.pi_high[ok], c)
            t_err = res.tau2[ok] - c.tau2
            out[(method, test)] = [
                float(reps), float(ok.sum()), _sum(err), _sum(err2), _sum(err2 * err2),
                float(((lo <= c.effect) & (c.effect <= hi)).sum()), _sum(pi), _sum(pi * pi),
                float((res.pval[ok] < alpha).sum()), _sum(width), _sum(width * width),
                _sum(t_err), _sum(t_err * t_err)]
    return out


def _sum(x: np.ndarray) -> float:
    return float(np.sum(x)) if x.size else 0.0


def _pi_coverage(lo, hi, c: Condition) -> np.ndarray:
    if c.tau2 == 0:
        return ((lo <= c.effect) & (c.effect <= hi)).astype(np.float64)
    tau = math.sqrt(c.tau2)
    # the upper tails: Phi(b) - Phi(a) = Q(a) - Q(b), accurate when both are in the upper tail
    return dist.norm_sf((lo - c.effect) / tau) - dist.norm_sf((hi - c.effect) / tau)


def add(total: list[float] | None, part: list[float]) -> list[float]:
    """Sums of a condition: ``part`` added to ``total`` (None: the first block)."""
    return list(part) if total is None else [a + b for a, b in zip(total, part, strict=True)]


#: the performance measures, each followed by ``<name>_mcse`` in the table
MEASURES = ("bias", "empse", "rmse", "coverage", "pi_coverage", "rejection", "ci_width", "tau2_bias")


def measures(sums: list[float]) -> dict:
    r"""Performance measures and Monte Carlo standard errors from a condition's sums (Morris, White &
    Crowther, 2019, Stat. Med. 38(11), 2074-2102, Table 6), over the n_sim replications that converged:

    - bias :math:`\bar e`, MCSE :math:`\sqrt{\sum (\hat\theta_i - \bar\theta)^2 / (n(n-1))}`;
    - empirical SE :math:`s = \sqrt{\sum (\hat\theta_i - \bar\theta)^2/(n-1)}`, MCSE :math:`s/\sqrt{2(n-1)}`;
    - MSE :math:`\overline{e^2}`, MCSE :math:`\sqrt{\sum (e_i^2 - MSE)^2/(n(n-1))}`; reported as RMSE with
      the delta-method MCSE, MCSE(MSE) / (2 RMSE);
    - coverage of the CI and rejection rate of H0: mu = 0 (power, or type I error when the effect is 0),
      proportions p with MCSE :math:`\sqrt{p(1-p)/n}`;
    - the prediction interval's mean coverage probability, the mean CI width and the bias of tau2, means
      with MCSE :math:`\sqrt{\sum (x_i - \bar x)^2/(n(n-1))}`.
    NaN where fewer than 2 replications converged (and PI coverage for method "FE", which has none).
    """
    s = dict(zip(SUMS, sums, strict=True))
    n = s["converged"]
    out = {"reps": int(s["reps"]), "converged": int(n), "failures": int(s["reps"] - n)}
    if n < 2:
        return out | {m: math.nan for name in MEASURES for m in (name, f"{name}_mcse")}

    def mean_mcse(s1, s2):
        ss = max(s2 - s1 * s1 / n, 0.0)
        return s1 / n, math.sqrt(ss / (n * (n - 1)))

    def proportion(count):
        p = count / n
        return p, math.sqrt(p * (1 - p) / n)

    bias, bias_mcse = mean_mcse(s["err"], s["err2"])
    empse = math.sqrt(max(s["err2"] - s["err"] ** 2 / n, 0.0) / (n - 1))
    mse = s["err2"] / n
    mse_mcse = math.sqrt(max(s["err4"] - 2 * mse * s["err2"] + n * mse * mse, 0.0) / (n * (n - 1)))
    rmse = math.sqrt(mse)
    pi = mean_mcse(s["pi"], s["pi2"]) if math.isfinite(s["pi"]) else (math.nan, math.nan)
    values = {
        "bias": (bias, bias_mcse),
        "empse": (empse, empse / math.sqrt(2 * (n - 1))),
        "rmse": (rmse, mse_mcse / (2 * rmse) if rmse > 0 else math.nan),
        "coverage": proportion(s["covered"]),
        "pi_coverage": pi,
        "rejection": proportion(s["rejected"]),
        "ci_width": mean_mcse(s["width"], s["width2"]),
        "tau2_bias": mean_mcse(s["tau2_err"], s["tau2_err2"]),
    }
    for name in MEASURES:
        out[name], out[f"{name}_mcse"] = values[name]
    return out
