"""Result of therapist_effects(): the share of outcome variance between therapists (ICC), with its interval,
the fixed effects, and each therapist's empirical Bayes effect."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._format import Summary, fmt, fmt_p, jsonable, table
from .._plotting import draw
from ._table import Printable

#: the columns of ``coefficients`` and of ``ranef``
COEF_COLUMNS = ("term", "estimate", "se", "stat", "pval", "ci_low", "ci_high")
RANEF_COLUMNS = ("therapist", "n", "eb", "se", "ci_low", "ci_high", "flag")


@dataclass(frozen=True, repr=False)
class TherapistResult(Printable):
    """Result of therapist_effects(). Field names are the command line's JSON keys; nothing is rounded.

    ``icc`` = var_therapist / (var_therapist + var_residual) (with sites: var_therapist / (var_therapist +
    var_site + var_residual), the therapist share; ``icc_site`` the site share), ``ci_low``/``ci_high`` its
    interval at ``level`` percent by ``ci_method`` ("profile" likelihood or parametric "bootstrap").
    ``coefficients`` is a DataFrame (term, estimate, se, stat, pval, ci_low, ci_high: Wald z tests and
    intervals), ``ranef`` one row per therapist (therapist, n clients, eb = empirical Bayes effect, se = its
    conditional standard deviation, ci_low, ci_high, flag = +1 / -1 when the interval lies above / below 0,
    else 0). ``n_flagged`` counts flagged therapists, ``expected_flagged`` = (1 - level/100) x n_therapists is
    how many would be flagged by chance if no therapist differed. ``reml_crit`` is lme4's REMLcrit (REML) or
    deviance (ML), ``loglik`` = -reml_crit / 2. ``dropped`` counts clients left out (one session only, or
    missing values). ``singular``: a variance component is estimated at (or within lme4's 1e-4 tolerance of)
    zero. ``theta`` holds lme4's relative standard deviations (therapist[, site]) / residual, ``formula``
    the model in lme4's spelling, ``n_boot`` the bootstrap replicates (None for a profile interval). With
    random sites each therapist's ``eb`` is its deviation from its site's effect.
    """

    icc: float
    ci_low: float
    ci_high: float
    var_therapist: float
    var_residual: float
    var_site: float | None
    icc_site: float | None
    n_therapists: int
    n_clients: int
    n_sites: int | None
    dropped: int
    singular: bool
    converged: bool
    method: str
    ci_method: str
    level: float
    site_effect: str | None
    coefficients: object  # pandas DataFrame, COEF_COLUMNS
    ranef: object  # pandas DataFrame, RANEF_COLUMNS
    n_flagged: int
    expected_flagged: float
    reml_crit: float
    loglik: float
    theta: tuple[float, ...]
    outcome: str = "outcome"
    therapist: str = "therapist"
    formula: str = ""
    site: str | None = None
    n_boot: int | None = None
    warnings: tuple[str, ...] = ()

    @property
    def coef(self):
        """The fixed effects (``coefficients``)."""
        return self.coefficients

    def to_dict(self) -> dict:
        out = {
            "icc": self.icc, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "var_therapist": self.var_therapist, "var_residual": self.var_residual, "var_site": self.var_site,
            "icc_site": self.icc_site, "n_therapists": self.n_therapists, "n_clients": self.n_clients,
            "n_sites": self.n_sites, "dropped": self.dropped, "singular": self.singular,
            "converged": self.converged, "method": self.method, "ci_method": self.ci_method,
            "level": self.level, "site_effect": self.site_effect, "n_boot": self.n_boot,
            "reml_crit": self.reml_crit, "loglik": self.loglik, "formula": self.formula,
            "coefficients": self.coefficients.to_dict(orient="records"),
            "ranef": self.ranef.to_dict(orient="records"),
            "n_flagged": self.n_flagged, "expected_flagged": self.expected_flagged,
            "warnings": list(self.warnings),
        }
        return jsonable(out)

    def to_frame(self):
        """The fixed effects, one row per term: term, estimate, se, stat, pval, ci_low, ci_high (``ranef``
        holds one row per therapist)."""
        return self.coefficients.copy()

    def plot_caterpillar(self, ax=None, **options):
        """The therapists' empirical Bayes effects, sorted, with their intervals (a caterpillar plot); returns
        the matplotlib Axes."""
        return draw("caterpillar", self, ax=ax, **options)

    def summary(self) -> Summary:
        crit_name = "REML criterion at convergence" if self.method == "REML" else "deviance"
        fit_by = "REML" if self.method == "REML" else "maximum likelihood"
        rows = [[self.therapist, "(Intercept)", fmt(self.var_therapist), fmt(math.sqrt(self.var_therapist))]]
        if self.var_site is not None:
            rows.append([self.site or "site", "(Intercept)", fmt(self.var_site),
                         fmt(math.sqrt(self.var_site))])
        rows.append(["Residual", "", fmt(self.var_residual), fmt(math.sqrt(self.var_residual))])
        groups = f"{self.therapist}, {self.n_therapists}"
        if self.n_sites is not None:
            groups += f"; {self.site or 'site'}, {self.n_sites}"
        how = "profile likelihood" if self.ci_method == "profile" else \
            f"parametric bootstrap, {self.n_boot} replicates, percentile"
        lv = f"{self.level:g}%"
        lines = [f"Linear mixed model fit by {fit_by}", f"Formula: {self.formula}",
                 f"{crit_name}: {fmt(self.reml_crit)}   logLik: {fmt(self.loglik)}", "",
                 "Random effects:", table(["Groups", "Name", "Variance", "Std.Dev."], rows),
                 f"Number of obs: {self.n_clients}, groups: {groups}"
                 + (f" ({self.dropped} clients dropped)" if self.dropped else ""), "",
                 f"ICC ({self.therapist}) = {fmt(self.icc)}, {lv} CI [{fmt(self.ci_low)}, "
                 f"{fmt(self.ci_high)}] ({how})"]
        if self.icc_site is not None:
            lines.append(f"ICC ({self.site or 'site'}) = {fmt(self.icc_site)}")
        if self.site_effect == "fixed":
            lines.append("Sites entered as fixed effects.")
        body = [[r.term, fmt(r.estimate), fmt(r.se), fmt(r.stat, 3), fmt_p(r.pval), fmt(r.ci_low),
                 fmt(r.ci_high)] for r in self.coefficients.itertuples()]
        lines += ["", "Fixed effects (Wald z tests and intervals):",
                  table(["", "Estimate", "Std. Error", "z value", "Pr(>|z|)", "ci.lb", "ci.ub"], body), "",
                  f"Therapists whose {lv} interval excludes 0: {self.n_flagged} of {self.n_therapists} "
                  f"({fmt(self.expected_flagged, 1)} expected by chance alone)"]
        return Summary("\n".join(lines), notes=self.warnings)
