"""Result of therapist_development(): does a therapist's outcome change with time (years of practice,
caseload)? The fixed effect of time, how therapists' intercepts and slopes vary, and each therapist's
slope."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .._format import Summary, fmt, fmt_p, jsonable, table
from ._table import Printable

#: the columns of ``coefficients`` and of ``slopes``
COEF_COLUMNS = ("term", "estimate", "se", "df", "stat", "pval", "ci_low", "ci_high")
SLOPE_COLUMNS = ("therapist", "n", "intercept", "slope", "ranef_intercept", "ranef_slope", "se", "ci_low",
                 "ci_high")
#: the columns of therapist_benchmark()'s table
BENCHMARK_COLUMNS = ("time", "n", "observed", "fitted", "fitted_ci_low", "fitted_ci_high", "benchmark",
                     "benchmark_ci_low", "benchmark_ci_high")


@dataclass(frozen=True, repr=False)
class DevelopmentResult(Printable):
    """Result of therapist_development(): ``outcome ~ time [+ baseline + mods] + (1 + time | therapist)``.

    Field names are the command line's JSON keys; nothing is rounded.

    ``coefficients``: DataFrame (term, estimate, se, df, stat, pval, ci_low, ci_high) with lmerTest's
    Satterthwaite df, t statistics, p-values and t intervals at ``level`` percent; the row of the time
    column is the average change of a therapist's outcome per unit of time (``slope``, ``slope_se``, ...
    repeat it). ``sd_intercept``, ``sd_slope``, ``corr``: the standard deviations of the therapists'
    intercepts and slopes and their correlation (lme4's ``VarCorr``); ``sigma`` the residual SD.
    ``slopes``: one row per therapist (therapist, n, intercept and slope = fixed + random effect,
    ranef_intercept and ranef_slope = the conditional modes, se = the prediction standard error of the
    therapist's slope including the uncertainty of the fixed slope, ci_low, ci_high at ``level`` percent,
    normal). ``reml_crit`` is lme4's REMLcrit (REML) or deviance (ML); ``singular`` as lme4's isSingular.
    ``dropped`` counts rows left out for a missing value. ``fit`` holds the fitted model for
    ``therapist_benchmark``.
    """

    coefficients: object  # pandas DataFrame, COEF_COLUMNS
    slopes: object  # pandas DataFrame, SLOPE_COLUMNS
    slope: float
    slope_se: float
    slope_df: float
    slope_pval: float
    slope_ci_low: float
    slope_ci_high: float
    sd_intercept: float
    sd_slope: float
    corr: float
    sigma: float
    n: int
    n_therapists: int
    dropped: int
    singular: bool
    converged: bool
    method: str
    level: float
    reml_crit: float
    loglik: float
    outcome: str = "outcome"
    therapist: str = "therapist"
    time: str = "time"
    warnings: tuple[str, ...] = ()
    fit: object = field(default=None, compare=False)
    data: object = field(default=None, compare=False)

    @property
    def coef(self):
        """The fixed effects (``coefficients``)."""
        return self.coefficients

    def to_dict(self) -> dict:
        out = {
            "model": "development", "outcome": self.outcome, "therapist": self.therapist, "time": self.time,
            "method": self.method, "level": self.level, "n": self.n, "n_therapists": self.n_therapists,
            "dropped": self.dropped, "singular": self.singular, "converged": self.converged,
            "slope": self.slope, "slope_se": self.slope_se, "slope_df": self.slope_df,
            "slope_pval": self.slope_pval, "slope_ci_low": self.slope_ci_low,
            "slope_ci_high": self.slope_ci_high, "sd_intercept": self.sd_intercept, "sd_slope": self.sd_slope,
            "corr": self.corr, "sigma": self.sigma,
            "reml_crit": self.reml_crit, "loglik": self.loglik,
            "coefficients": self.coefficients.to_dict(orient="records"),
            "slopes": self.slopes.to_dict(orient="records"),
            "warnings": list(self.warnings),
        }
        return jsonable(out)

    def to_frame(self):
        """The fixed effects, one row per term: term, estimate, se, df, stat, pval, ci_low, ci_high
        (``slopes`` holds one row per therapist)."""
        return self.coefficients.copy()

    def summary(self) -> Summary:
        fit_by = "REML" if self.method == "REML" else "maximum likelihood"
        crit_name = "REML criterion at convergence" if self.method == "REML" else "deviance"
        lv = f"{self.level:g}%"
        corr = "" if math.isnan(self.corr) else fmt(self.corr, 2)
        rows = [[self.therapist, "(Intercept)", fmt(self.sd_intercept ** 2), fmt(self.sd_intercept), ""],
                ["", self.time, fmt(self.sd_slope ** 2), fmt(self.sd_slope), corr],
                ["Residual", "", fmt(self.sigma ** 2), fmt(self.sigma), ""]]
        body = [[r.term, fmt(r.estimate), fmt(r.se), fmt(r.df, 2), fmt(r.stat, 3), fmt_p(r.pval),
                 fmt(r.ci_low), fmt(r.ci_high)] for r in self.coefficients.itertuples()]
        lines = [f"Linear mixed model fit by {fit_by}: {self.outcome} ~ {self.time} + ... + "
                 f"(1 + {self.time} | {self.therapist})",
                 f"{crit_name}: {fmt(self.reml_crit)}   logLik: {fmt(self.loglik)}", "",
                 "Random effects:", table(["Groups", "Name", "Variance", "Std.Dev.", "Corr"], rows),
                 f"Number of obs: {self.n}, groups: {self.therapist}, {self.n_therapists}"
                 + (f" ({self.dropped} rows dropped)" if self.dropped else ""), "",
                 "Fixed effects (t tests with Satterthwaite's df):",
                 table(["", "Estimate", "Std. Error", "df", "t value", "Pr(>|t|)", "ci.lb", "ci.ub"], body),
                 "",
                 f"Change per unit of {self.time}: {fmt(self.slope)}, {lv} CI [{fmt(self.slope_ci_low)}, "
                 f"{fmt(self.slope_ci_high)}]; therapists' slopes vary with SD {fmt(self.sd_slope)}"]
        return Summary("\n".join(lines), notes=self.warnings)
