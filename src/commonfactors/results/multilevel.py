"""Result of multilevel_meta_analysis(): a three-level model, optionally with cluster-robust inference."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .._format import Summary, fmt, jsonable, table
from ._table import COEF_FIELDS, Printable, coef_cells, coef_header, coef_table, pick, pval_eq
from .meta import Coefficient


@dataclass(frozen=True, slots=True)
class RobustCoefficient:
    """Cluster-robust (CR2) inference for one coefficient: t test with Satterthwaite df."""

    name: str
    estimate: float
    se: float
    stat: float
    df: float
    pval: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True, slots=True)
class RobustInference:
    """CR2 cluster-robust inference (clubSandwich's vcovCR type "CR2", coef_test "Satterthwaite",
    Wald_test "HTZ"). ``qm`` is the HTZ F statistic for all coefficients but the intercept, with
    ``qm_df`` = (q, eta - q + 1); NaN when the model has no moderators."""

    coefficients: tuple[RobustCoefficient, ...]
    qm: float
    qm_df: tuple[float, float]
    qm_pval: float
    n_clusters: int
    warnings: tuple[str, ...] = ()

    def to_dict(self, has_mods: bool) -> dict:
        fields = ("se", "df", "ci_low", "ci_high", "pval")
        coefs = [{f: getattr(c, f) for f in fields} for c in self.coefficients]
        if not has_mods:
            return coefs[0]
        return {"coefficients": coefs, "qm": self.qm, "qm_df": list(self.qm_df), "qm_pval": self.qm_pval}


@dataclass(frozen=True, slots=True, repr=False)
class MultilevelResult(Printable):
    """Result of multilevel_meta_analysis(). Field names are the CLI's JSON keys; nothing is rounded.

    ``sigma2`` = (between-cluster, within-cluster) variance; ``q``/``q_df``/``q_pval`` the test for
    (residual) heterogeneity with V = diag(vi) (metafor's QE); ``qm``/``qm_df``/``qm_pval`` the omnibus
    Wald test of the moderators (chi-square for test="z", F for test="t"; NaN without moderators).
    """

    k: int
    n_clusters: int
    method: str
    test: str
    level: float
    has_mods: bool
    coefficients: tuple[Coefficient, ...]  # model-based inference (z or t)
    sigma2: tuple[float, float]
    loglik: float
    q: float
    q_df: int
    q_pval: float
    qm: float
    qm_df: object
    qm_pval: float
    cluster_name: str
    within_name: str
    cluster_sizes: tuple[int, ...]
    converged: bool
    robust: RobustInference | None = None
    warnings: tuple[str, ...] = ()

    @property
    def estimate(self) -> float:
        return self.coefficients[0].estimate

    @property
    def se(self) -> float:
        return self.coefficients[0].se

    @property
    def n_parameters(self) -> int:
        """Coefficients plus the two variance components (metafor's parameter count for AIC)."""
        return len(self.coefficients) + 2

    def fit_statistics(self) -> dict:
        """logLik, AIC, BIC and AICc as metafor's fitstats() (for REML, on k - p observations)."""
        m = self.n_parameters
        n = self.k - len(self.coefficients) if self.method == "REML" else self.k
        dev = -2.0 * self.loglik
        aicc = dev + 2.0 * m * max(n, m + 2) / (max(n, m + 2) - m - 1)
        return {"logLik": self.loglik, "AIC": dev + 2.0 * m, "BIC": dev + m * math.log(n), "AICc": aicc}

    def to_dict(self) -> dict:
        head = {"k": self.k, "n_clusters": self.n_clusters}
        levels = {"sigma2": list(self.sigma2), "loglik": self.loglik}
        if not self.has_mods:
            out = {**head, **pick(self.coefficients[0], COEF_FIELDS[1:]), **levels, "q": self.q}
        else:
            out = {**head, "coefficients": [asdict(c) for c in self.coefficients], "qm": self.qm,
                   "qm_df": self.qm_df, "qm_pval": self.qm_pval, **levels, "qe": self.q}
        if self.robust is not None:
            out["robust"] = self.robust.to_dict(self.has_mods)
        out["warnings"] = list(self.warnings)
        return jsonable(out)

    def to_frame(self):
        """One row per coefficient: name, estimate, se, stat, pval, ci_low, ci_high, and with robust
        inference robust_se, robust_df, robust_pval, robust_ci_low, robust_ci_high."""
        import pandas as pd

        frame = pd.DataFrame([asdict(c) for c in self.coefficients])
        if self.robust is not None:
            for f in ("se", "df", "pval", "ci_low", "ci_high"):
                frame[f"robust_{f}"] = [getattr(c, f) for c in self.robust.coefficients]
        return frame

    def summary(self) -> Summary:
        stats = self.fit_statistics()
        levels = zip(self.sigma2, (self.n_clusters, self.k), (self.cluster_name, self.within_name),
                     strict=True)
        rows = [[f"sigma^2.{i + 1}", fmt(s2), fmt(math.sqrt(s2)), str(n), "no", name]
                for i, (s2, n, name) in enumerate(levels)]
        lines = [f"Multivariate Meta-Analysis Model (k = {self.k}; method: {self.method})", "",
                 table(["", *stats], [[self.method, *(fmt(x) for x in stats.values())]]), "",
                 "Variance Components:", "", table(["", "estim", "sqrt", "nlvls", "fixed", "factor"], rows),
                 "", "Test for Residual Heterogeneity:" if self.has_mods else "Test for Heterogeneity:",
                 f"{'QE' if self.has_mods else 'Q'}(df = {self.q_df}) = {fmt(self.q)}, "
                 f"p-val {pval_eq(self.q_pval)}", ""]
        robust = self.robust
        if robust is not None:
            sizes = self.cluster_sizes
            mid = len(sizes) // 2
            median = sizes[mid] if len(sizes) % 2 else (sizes[mid - 1] + sizes[mid]) / 2
            lines += [f"Number of estimates:   {self.k}", f"Number of clusters:    {self.n_clusters}",
                      f"Estimates per cluster: {sizes[0]}-{sizes[-1]} (mean: {self.k / self.n_clusters:.2f}, "
                      f"median: {median:g})", ""]
        p = len(self.coefficients)
        if p > 1:
            span = f"coefficients 2:{p}" if p > 2 else "coefficient 2"
            lines.append(f"Test of Moderators ({span}):")
            if robust is not None:
                lines.append(f"F(df1 = {fmt(robust.qm_df[0], 0)}, df2 = {fmt(robust.qm_df[1], 2)}) = "
                             f"{fmt(robust.qm)}, p-val {pval_eq(robust.qm_pval)}  (CR2, HTZ)")
            elif self.test == "z":
                lines.append(f"QM(df = {self.qm_df}) = {fmt(self.qm)}, p-val {pval_eq(self.qm_pval)}")
            else:
                lines.append(f"F(df1 = {self.qm_df[0]}, df2 = {self.qm_df[1]}) = {fmt(self.qm)}, "
                             f"p-val {pval_eq(self.qm_pval)}")
            lines.append("")
        lines += ["Model Results:", ""]
        if robust is None:
            header = coef_header("zval" if self.test == "z" else "tval")
            body = [[c.name, *coef_cells(c)] for c in self.coefficients]
        else:
            header = coef_header("tval", df=True)
            body = [[c.name, *coef_cells(c, df=fmt(c.df, 2))] for c in robust.coefficients]
        lines.append(coef_table(header, body, names=p > 1))
        if robust is not None:
            lines += ["", "Results based on cluster-robust inference (var-cov estimator: CR2,",
                      "approx t/F-tests and confidence intervals, df: Satterthwaite approx)."]
        return Summary("\n".join(lines), notes=self.warnings)
