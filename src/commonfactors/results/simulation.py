"""SimulationResult: the table of a simulation study, one row per condition x method x test."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._format import Summary, fmt, fmt_p, jsonable, table
from ._table import Printable, frame

#: the columns describing a condition, then the estimator
CONDITION_COLUMNS = ("condition", "k", "tau2", "effect", "sizes", "metric", "selection", "weight")
ESTIMATOR_COLUMNS = ("method", "test")
#: performance measures (each followed by its Monte Carlo SE, ``<name>_mcse``)
MEASURE_COLUMNS = ("bias", "empse", "rmse", "coverage", "pi_coverage", "rejection", "ci_width", "tau2_bias")
COLUMNS = (*CONDITION_COLUMNS, *ESTIMATOR_COLUMNS, "reps", "converged", "failures",
           *(c for name in MEASURE_COLUMNS for c in (name, f"{name}_mcse")))


@dataclass(frozen=True, eq=False, repr=False)
class SimulationResult(Printable):
    """Result of :func:`commonfactors.simulation_study`.

    Attributes
    ----------
    rows : tuple of dict
        One per condition x method x test, with the keys of ``COLUMNS``: the condition (its 0-based index
        in the grid, ``k``, ``tau2``, true ``effect``, study ``sizes``, ``metric``, publication bias
        (``selection``: "none" or "step") and the selection ``weight``), the ``method`` and ``test``, ``reps``
        generated, ``converged`` and
        ``failures`` (fits that did not converge, left out of the measures), and each measure with its Monte
        Carlo standard error: ``bias``, ``empse`` (empirical SE), ``rmse``, ``coverage`` (of the CI),
        ``pi_coverage`` (mean probability that the prediction interval covers a new study's true effect),
        ``rejection`` (of H0: mu = 0 at 1 - level: power, or the type I error rate when ``effect`` is 0),
        ``ci_width`` (mean) and ``tau2_bias``.
    seed, reps, block, level : the run's settings (``block``: replications per block of work).
    warnings : tuple of str
    """

    rows: tuple[dict, ...]
    seed: int
    reps: int
    block: int
    level: float
    warnings: tuple[str, ...] = ()

    def to_frame(self):
        """The table: one row per condition x method x test, columns ``COLUMNS``."""
        return frame(list(self.rows), COLUMNS)

    def records(self) -> list[dict]:
        """The table's rows as dicts (the command line's CSV)."""
        return [dict(r) for r in self.rows]

    def to_dict(self) -> dict:
        """Settings and the table (``rows``), JSON-able (NaN -> None)."""
        return jsonable({"seed": self.seed, "reps": self.reps, "block": self.block, "level": self.level,
                         "rows": [dict(r) for r in self.rows], "warnings": list(self.warnings)})

    def summary(self) -> Summary:
        """The grid and the main measures (Monte Carlo SE in parentheses)."""
        n_cond = len({r["condition"] for r in self.rows})
        head = (f"Simulation study: {n_cond} condition{'s' if n_cond != 1 else ''} x {self.reps} "
                f"replications "
                f"(seed {self.seed}, level {fmt(self.level, 0)}%)")

        def pm(r, name, digits=4):
            v, se = r[name], r[f"{name}_mcse"]
            return "NA" if v is None or math.isnan(v) else f"{fmt(v, digits)} ({fmt(se, digits)})"

        cols = ["k", "tau2", "effect", "sizes", "selection", "method", "test", "bias", "rmse", "coverage",
                "pi_coverage", "rejection", "ci_width", "failures"]
        body = [[str(r["k"]), fmt(r["tau2"]), fmt(r["effect"]), r["sizes"],
                 r["selection"] if r["selection"] == "none" else f"step({fmt(r['weight'], 2)})",
                 r["method"], r["test"],
                 pm(r, "bias"), pm(r, "rmse"), pm(r, "coverage"), pm(r, "pi_coverage"), pm(r, "rejection"),
                 pm(r, "ci_width"), str(r["failures"])] for r in self.rows]
        text = "\n".join([head, "", table(cols, body), "",
                          "Monte Carlo standard errors in parentheses (Morris, White & Crowther, 2019)."])
        return Summary(text, notes=self.warnings)

    def plot_simulation(self, ax=None, measure: str = "coverage", **options):
        """Each condition's ``measure`` (default coverage) by method x test, with +-2 Monte Carlo SE
        (:func:`commonfactors.report.figures.simulation`); returns the Axes."""
        from .._plotting import draw

        return draw("simulation", self, ax=ax, measure=measure, **options)


@dataclass(frozen=True, eq=False, repr=False)
class BootstrapResult(Printable):
    """Result of :func:`commonfactors.bootstrap`: the bootstrap distribution of the pooled effect and tau2.

    Attributes
    ----------
    kind : "parametric" or "nonparametric"
    n_boot, seed, level, method, test : the settings (method and test those of the model).
    estimate, tau2 : the observed values.
    estimate_se, tau2_se : SD of the replicates.
    estimate_ci, tau2_ci : percentile intervals (low, high) at ``level``.
    failures : replicates whose fit did not converge (left out).
    boot_estimate, boot_tau2 : the replicates (arrays of length n_boot, in order; read-only).
    """

    kind: str
    n_boot: int
    seed: int
    level: float
    method: str
    test: str
    estimate: float
    estimate_se: float
    estimate_ci: tuple[float, float]
    tau2: float
    tau2_se: float
    tau2_ci: tuple[float, float]
    failures: int
    boot_estimate: object = field(repr=False)
    boot_tau2: object = field(repr=False)
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("boot_estimate", "boot_tau2"):
            getattr(self, name).setflags(write=False)

    def _rows(self) -> list[dict]:
        return [{"parameter": p, "observed": getattr(self, p),
                 "boot_mean": float(np.mean(getattr(self, f"boot_{p}"))),
                 "boot_se": getattr(self, f"{p}_se"), "ci_low": getattr(self, f"{p}_ci")[0],
                 "ci_high": getattr(self, f"{p}_ci")[1]} for p in ("estimate", "tau2")]

    def to_frame(self):
        """One row per parameter (estimate, tau2): observed, bootstrap mean and SD, percentile interval."""
        return frame(self._rows(), ("parameter", "observed", "boot_mean", "boot_se", "ci_low", "ci_high"))

    def records(self) -> list[dict]:
        return self._rows()

    def to_dict(self) -> dict:
        """The settings and the table (replicates left out)."""
        keys = ("kind", "n_boot", "seed", "level", "method", "test", "estimate", "estimate_se", "estimate_ci",
                "tau2", "tau2_se", "tau2_ci", "failures", "warnings")
        return jsonable({k: getattr(self, k) for k in keys})

    def summary(self) -> Summary:
        lv = fmt(self.level, 0)
        head = (f"{self.kind.capitalize()} bootstrap ({self.n_boot} replicates, seed {self.seed}; "
                f"method: {self.method}, test: {self.test})")
        body = [[r["parameter"], fmt(r["observed"]), fmt(r["boot_se"]), fmt(r["ci_low"]), fmt(r["ci_high"])]
                for r in self._rows()]
        lines = [head, "", table(["", "observed", "boot se", f"{lv}% low", f"{lv}% high"], body), "",
                 "Percentile intervals (Efron & Tibshirani, 1993, ch. 13)."]
        if self.failures:
            lines.append(f"{self.failures} replicates did not converge and are left out.")
        return Summary("\n".join(lines), notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class ClusterBootstrapResult(Printable):
    """Result of :func:`commonfactors.simulate.cluster_bootstrap`: the cluster bootstrap of a three-level
    model's pooled effect and its two variance components.

    Attributes
    ----------
    n_boot, seed, level, method, test : the settings (method and test those of the model).
    n_clusters, k : clusters and effect sizes of the data.
    estimate, sigma2 : the observed pooled effect and (between-cluster, within-cluster) variances.
    estimate_se, sigma2_se : SD of the replicates.
    estimate_ci, sigma2_ci : percentile intervals (low, high) at ``level`` (``sigma2_ci`` one per variance).
    failures : replicates left out: fits that did not converge, and resamples of clusters of one effect
        each (the two variances are then not identifiable).
    boot_estimate, boot_sigma2 : the replicates (n_boot and (n_boot, 2), in order; read-only).
    """

    n_boot: int
    seed: int
    level: float
    method: str
    test: str
    n_clusters: int
    k: int
    estimate: float
    estimate_se: float
    estimate_ci: tuple[float, float]
    sigma2: tuple[float, float]
    sigma2_se: tuple[float, float]
    sigma2_ci: tuple[tuple[float, float], tuple[float, float]]
    failures: int
    boot_estimate: object = field(repr=False)
    boot_sigma2: object = field(repr=False)
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ("boot_estimate", "boot_sigma2"):
            getattr(self, name).setflags(write=False)

    def _rows(self) -> list[dict]:
        rows = [{"parameter": "estimate", "observed": self.estimate,
                 "boot_mean": float(np.nanmean(self.boot_estimate)), "boot_se": self.estimate_se,
                 "ci_low": self.estimate_ci[0], "ci_high": self.estimate_ci[1]}]
        for j, name in enumerate(("sigma2_1", "sigma2_2")):
            rows.append({"parameter": name, "observed": self.sigma2[j],
                         "boot_mean": float(np.nanmean(self.boot_sigma2[:, j])), "boot_se": self.sigma2_se[j],
                         "ci_low": self.sigma2_ci[j][0], "ci_high": self.sigma2_ci[j][1]})
        return rows

    def to_frame(self):
        """One row per parameter (estimate, sigma2_1 between clusters, sigma2_2 within): observed, bootstrap
        mean and SD, percentile interval."""
        return frame(self._rows(), ("parameter", "observed", "boot_mean", "boot_se", "ci_low", "ci_high"))

    def records(self) -> list[dict]:
        return self._rows()

    def to_dict(self) -> dict:
        """The settings and the table (replicates left out)."""
        keys = ("n_boot", "seed", "level", "method", "test", "n_clusters", "k", "estimate", "estimate_se",
                "estimate_ci", "sigma2", "sigma2_se", "sigma2_ci", "failures", "warnings")
        return jsonable({"kind": "cluster", **{k: getattr(self, k) for k in keys}})

    def summary(self) -> Summary:
        lv = fmt(self.level, 0)
        head = (f"Cluster bootstrap of a three-level model ({self.n_boot} replicates of {self.n_clusters} "
                f"clusters drawn with replacement, seed {self.seed}; method: {self.method})")
        body = [[r["parameter"], fmt(r["observed"]), fmt(r["boot_se"]), fmt(r["ci_low"]), fmt(r["ci_high"])]
                for r in self._rows()]
        lines = [head, "", table(["", "observed", "boot se", f"{lv}% low", f"{lv}% high"], body), "",
                 "sigma2_1: between clusters; sigma2_2: within clusters. Percentile intervals (Efron & "
                 "Tibshirani, 1993, ch. 13)."]
        if self.failures:
            lines.append(f"{self.failures} replicates left out (no convergence, or every cluster drawn held "
                         "one effect).")
        return Summary("\n".join(lines), notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class PermutationResult(Printable):
    """Result of :func:`commonfactors.permutation_test` (metafor's ``permutest``).

    Attributes
    ----------
    names, estimate, stat : the model's coefficients, their estimates and observed test statistics.
    pval : permutation p-values of the coefficients (two-sided).
    qm, qm_pval : the omnibus test statistic (of the moderators; z^2 or t^2 without moderators) and its
        permutation p-value.
    n_perm : permutations used (every distinct one when ``exact``).
    exact : bool
    seed : the seed of random permutations (None when exact).
    method, test : the model's.
    """

    names: tuple[str, ...]
    estimate: tuple[float, ...]
    stat: tuple[float, ...]
    pval: tuple[float, ...]
    qm: float
    qm_pval: float
    n_perm: int
    exact: bool
    seed: int | None
    method: str
    test: str
    warnings: tuple[str, ...] = ()

    def _rows(self) -> list[dict]:
        return [{"name": n, "estimate": e, "stat": s, "pval": p}
                for n, e, s, p in zip(self.names, self.estimate, self.stat, self.pval, strict=True)]

    def to_frame(self):
        """One row per coefficient: name, estimate, stat, permutation p-value."""
        return frame(self._rows(), ("name", "estimate", "stat", "pval"))

    def records(self) -> list[dict]:
        return self._rows()

    def to_dict(self) -> dict:
        return jsonable({"coefficients": self._rows(), "qm": self.qm, "qm_pval": self.qm_pval,
                         "n_perm": self.n_perm, "exact": self.exact, "seed": self.seed, "method": self.method,
                         "test": self.test, "warnings": self.warnings})

    def summary(self) -> Summary:
        how = "exact" if self.exact else f"random, seed {self.seed}"
        stat = "tval" if self.test in ("t", "knha") else "zval"
        lines = [f"Permutation test ({self.n_perm} permutations, {how}; method: {self.method}, "
                 f"test: {self.test})",
                 "", f"Test of moderators: QM = {fmt(self.qm)}, p-val* = {fmt_p(self.qm_pval)}", "",
                 table(["", "estimate", stat, "pval*"],
                       [[r["name"], fmt(r["estimate"]), fmt(r["stat"]), fmt_p(r["pval"])]
                        for r in self._rows()]),
                 "", "* p-values from the permutation distribution (metafor's permutest)."]
        return Summary("\n".join(lines), notes=self.warnings)
