"""Results of the small-study-effect and publication-bias methods (:mod:`commonfactors.models.bias`).

Frozen and unrounded; everything is computed at fit time. Each class keeps the result contract:
``summary()`` returns a :class:`commonfactors._format.Summary`, ``to_frame()`` a tidy DataFrame,
``to_dict()`` the JSON of the command line contract (NaN -> None) and ``__repr__`` is the summary text.
:class:`BiasResult` gathers them all; its ``to_dict()`` is exactly the ``commonfactors bias`` object of
DESIGN.md (plus ``k``, ``method`` and ``warnings``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._format import Summary, fmt, fmt_p, jsonable, table
from .._plotting import draw
from ._table import COEF_FIELDS, Printable, coef_cells, coef_header, df_text, frame, one_row, pick
from .meta import MetaResult


class _OneRow(Printable):
    """A test with one row of results: ``to_dict()`` is the fields ``_JSON`` (the command line contract),
    ``to_frame()`` one row of the fields ``_ROW``."""

    _JSON: tuple[str, ...] = ()
    _ROW: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return jsonable(pick(self, self._JSON))

    def to_frame(self):
        return one_row(self, self._ROW)


@dataclass(frozen=True, eq=False, repr=False)
class RegressionTest(_OneRow):
    """Egger's regression test for funnel plot asymmetry (metafor's ``regtest``).

    ``model`` is ``"rma"`` (a meta-regression on the predictor with the model's tau2 estimator) or ``"lm"``
    (weighted least squares with a multiplicative dispersion term, the classical test).
    ``slope``/``slope_se`` is the predictor's coefficient, ``stat`` its z (``df`` = inf) or t statistic
    (``df`` = k - 2), ``pval`` the two-sided p-value; ``limit_estimate``/``limit_se`` is the intercept (the
    effect at infinite precision, a bias-adjusted estimate when the predictor is ``sei`` or ``vi``) with its
    confidence interval.
    """

    model: str
    predictor: str
    method: str
    k: int
    slope: float
    slope_se: float
    stat: float
    pval: float
    df: float
    limit_estimate: float
    limit_se: float
    limit_ci_low: float
    limit_ci_high: float
    warnings: tuple[str, ...] = ()

    _JSON = ("stat", "pval", "limit_estimate")
    _ROW = ("model", "predictor", "slope", "slope_se", "stat", "pval", "df", "limit_estimate", "limit_se",
            "limit_ci_low", "limit_ci_high")

    def to_dict(self) -> dict:
        """``{stat, pval, limit_estimate}`` for the "rma" model, ``{stat, pval, df}`` for "lm"."""
        if self.model == "lm":
            return jsonable({"stat": self.stat, "pval": self.pval, "df": int(self.df)})
        return super().to_dict()

    def summary(self, digits: int = 4) -> Summary:
        name = ("Weighted regression with multiplicative dispersion" if self.model == "lm"
                else f"Mixed-effects meta-regression model (tau^2 estimator: {self.method})")
        statname = "t" if self.model == "lm" else "z"
        dfs = f", df = {df_text(self.df)}" if self.model == "lm" else ""
        lines = ["Regression Test for Funnel Plot Asymmetry", "", f"Model:     {name}",
                 f"Predictor: {'standard error' if self.predictor == 'sei' else 'sampling variance'}", "",
                 f"Test for Funnel Plot Asymmetry: {statname} = {fmt(self.stat, digits)}{dfs}, "
                 f"p = {fmt_p(self.pval, digits)}",
                 f"Limit Estimate (as sei -> 0):   b = {fmt(self.limit_estimate, digits)} "
                 f"(CI: {fmt(self.limit_ci_low, digits)}, {fmt(self.limit_ci_high, digits)})"]
        return Summary("\n".join(lines), notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class RankTest(_OneRow):
    """Begg and Mazumdar's rank correlation test (metafor's ``ranktest``): Kendall's tau (tau-b with ties)
    between the standardised effects and the sampling variances, with the exact two-sided p-value
    (``exact=True``; k < 50 and no ties) or the normal approximation with the tie-corrected variance."""

    k: int
    tau: float
    pval: float
    exact: bool
    warnings: tuple[str, ...] = ()

    _JSON = ("tau", "pval")
    _ROW = ("k", "tau", "pval", "exact")

    def summary(self, digits: int = 4) -> Summary:
        text = (f"Rank Correlation Test for Funnel Plot Asymmetry\n\n"
                f"Kendall's tau = {fmt(self.tau, digits)}, p = {fmt_p(self.pval, digits)}"
                f" ({'exact' if self.exact else 'normal approximation'})")
        return Summary(text, notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class TrimFillResult(_OneRow):
    """Trim and fill (Duval & Tweedie, 2000): ``k0`` studies estimated missing on ``side`` ("left" or
    "right") by ``estimator`` ("L0" or "R0"), imputed as mirror images around the trimmed estimate, and the
    model refitted to the augmented data (``fit``, whose estimate, se and tau2 are repeated here).
    ``yi``/``vi`` hold the observed then the ``k0`` filled values; ``filled`` flags the filled ones."""

    k0: int
    side: str
    estimator: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pval: float
    tau2: float
    fit: MetaResult = field(repr=False)
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    filled: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    _JSON = ("k0", "estimate", "se", "tau2", "side")


    def to_frame(self):
        """One row per study of the augmented data: yi, vi, filled (True for imputed studies)."""
        import pandas as pd

        return pd.DataFrame({"yi": self.yi, "vi": self.vi, "filled": self.filled})

    def summary(self, digits: int = 4) -> Summary:
        head = (f"Estimated number of missing studies on the {self.side} side: {self.k0} "
                f"(estimator {self.estimator})\n\n")
        return Summary(head + str(self.fit.summary(digits).text), notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class FailSafeN(_OneRow):
    """Rosenthal's (1979) fail-safe N: the number of studies averaging null results that would bring the
    Stouffer combined one-sided p-value (``pval``) up to ``alpha``; ``fsnum`` is 0 when it is already
    above."""

    k: int
    fsnum: int
    alpha: float
    pval: float
    warnings: tuple[str, ...] = ()

    _JSON = ("fsnum",)
    _ROW = ("k", "fsnum", "alpha", "pval")

    def summary(self, digits: int = 4) -> Summary:
        text = (f"Fail-safe N Calculation Using the Rosenthal Approach\n\n"
                f"Observed Significance Level: {fmt_p(self.pval, digits)}\n"
                f"Target Significance Level:   {self.alpha:g}\n\nFail-safe N: {self.fsnum}")
        return Summary(text, notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class PetPeeseResult(Printable):
    """PET and PEESE (Stanley & Doucouliagos, 2014): the intercepts of meta-regressions of the effects on
    their standard errors (``pet``) and on their sampling variances (``peese``), with the model's tau2
    estimator; each a :class:`commonfactors.results.meta.Coefficient`."""

    pet: object
    peese: object
    method: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """``{"pet": {estimate, se}, "peese": {estimate, se}}``."""
        return jsonable({"pet": {"estimate": self.pet.estimate, "se": self.pet.se},
                         "peese": {"estimate": self.peese.estimate, "se": self.peese.se}})

    def to_frame(self):
        """Two rows (pet, peese): name, estimate, se, stat, pval, ci_low, ci_high."""
        return frame([{**pick(co, COEF_FIELDS), "name": n}
                      for n, co in (("pet", self.pet), ("peese", self.peese))], COEF_FIELDS)

    def summary(self, digits: int = 4) -> Summary:
        rows = [[n, *coef_cells(c, digits)] for n, c in (("PET", self.pet), ("PEESE", self.peese))]
        text = ("PET-PEESE (intercepts of meta-regressions on sei and vi; "
                f"tau^2 estimator: {self.method})\n\n" + table(coef_header(), rows))
        return Summary(text, notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class SelectionModelResult(Printable):
    """A step-function selection model (Vevea & Hedges, 1995) fitted by maximum likelihood.

    ``estimate``/``se``/``stat``/``pval``/``ci_low``/``ci_high``: the adjusted average effect; ``tau2``,
    ``se_tau2``; ``delta``: the relative likelihood of selection in each p-value interval, the first fixed
    at 1, with ``se_delta`` (NaN for the fixed one); ``steps``: the upper ends of the intervals (the last is
    1); ``k_per_interval``: the number of studies whose one-sided p-value falls in each; ``lrt``,
    ``lrt_df``, ``lrt_pval``: likelihood ratio test of delta = 1 against the random-effects model fitted by
    ML; ``loglik``, ``loglik_null``: the two maximised log-likelihoods.
    """

    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    tau2: float
    se_tau2: float
    delta: tuple[float, ...]
    se_delta: tuple[float, ...]
    steps: tuple[float, ...]
    k_per_interval: tuple[int, ...]
    alternative: str
    lrt: float
    lrt_df: int
    lrt_pval: float
    loglik: float
    loglik_null: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """``{estimate, se, tau2, delta, lrt, lrt_pval}``."""
        return jsonable({"estimate": self.estimate, "se": self.se, "tau2": self.tau2,
                         "delta": list(self.delta), "lrt": self.lrt, "lrt_pval": self.lrt_pval})

    def to_frame(self):
        """One row per p-value interval: lower and upper p bound, k, delta, se_delta."""
        columns = ("p_low", "p_high", "k", "delta", "se_delta")
        return frame([dict(zip(columns, row, strict=True)) for row in self._intervals()], columns)

    def _intervals(self) -> list[tuple]:
        """(p_low, p_high, k, delta, se_delta) of each p-value interval."""
        return list(zip((0.0, *self.steps[:-1]), self.steps, self.k_per_interval, self.delta, self.se_delta,
                        strict=True))

    def summary(self, digits: int = 4) -> Summary:
        lines = [f"Random-Effects Model (k = {self.k}; tau^2 estimator: ML)",
                 f"Selection model: step function (steps {', '.join(f'{s:g}' for s in self.steps)}; "
                 f"one-sided p-values, alternative '{self.alternative}')", "",
                 f"tau^2 (estimated amount of total heterogeneity): {fmt(self.tau2, digits)} "
                 f"(SE = {fmt(self.se_tau2, digits)})", "",
                 f"Test for Selection Model Parameters: LRT(df = {self.lrt_df}) = {fmt(self.lrt, digits)}, "
                 f"p-val = {fmt_p(self.lrt_pval, digits)}", "", "Model Results:", "",
                 table(coef_header(), [["", *coef_cells(self, digits)]]), "", "Selection Model Results:", ""]
        rows = [[f"{lo:g} < p <= {hi:g}", str(n), fmt(d, digits), fmt(s, digits)]
                for lo, hi, n, d, s in self._intervals()]
        lines.append(table(["", "k", "estimate", "se"], rows))
        return Summary("\n".join(lines), notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class FunnelData(Printable):
    """Data for a contour-enhanced funnel plot (Peters et al., 2008).

    ``yi``, ``sei``, ``slab``: the points; ``estimate``: the pooled estimate (the centre of the pseudo
    confidence region ``estimate +- z_{.975} se``); ``contours``: for each two-sided significance level
    ``p`` in ``levels``, the effects ``+- z_{1 - p/2} se`` that reach it at standard error ``se``, as lines
    from se = 0 to ``se_max``; a point outside a pair of lines is significant at that level.
    """

    yi: np.ndarray = field(repr=False)
    sei: np.ndarray = field(repr=False)
    slab: np.ndarray = field(repr=False)
    estimate: float
    se_max: float
    levels: tuple[float, ...]
    z: tuple[float, ...]

    def contour(self, p: float) -> dict:
        """The two lines of level ``p``: ``{"p", "se": [0, se_max], "lower": [...], "upper": [...]}``."""
        z = self.z[self.levels.index(p)]
        return {"p": p, "se": [0.0, self.se_max], "lower": [0.0, -z * self.se_max],
                "upper": [0.0, z * self.se_max]}

    def plot_funnel(self, ax=None, **options):
        """The funnel plot of these data, drawn into ``ax`` (a figure of its own when None); returns the
        matplotlib Axes. ``options`` as ``commonfactors.report.figures.funnel`` (``contours``,
        ``trim_fill``, ``xlabel``, ``transf``: the axis on the natural scale)."""
        return draw("funnel", self, ax, **options)

    def to_dict(self) -> dict:
        """``{"points": {"yi", "sei", "slab"}, "estimate", "pseudo_ci": {"se", "lower", "upper"},
        "contours": [{"p", "se", "lower", "upper"}, ...]}``."""
        z95 = self.z[self.levels.index(0.05)] if 0.05 in self.levels else 1.959963984540054
        return jsonable({
            "points": {"yi": self.yi, "sei": self.sei, "slab": [str(s) for s in self.slab]},
            "estimate": self.estimate,
            "pseudo_ci": {"se": [0.0, self.se_max],
                          "lower": [self.estimate, self.estimate - z95 * self.se_max],
                          "upper": [self.estimate, self.estimate + z95 * self.se_max]},
            "contours": [self.contour(p) for p in self.levels],
        })

    def to_frame(self):
        """One row per study: slab, yi, sei, and the smallest contour level it reaches (``p_region``:
        e.g. 0.01 for a study significant at .01; 1 for a study not significant at the largest level)."""
        import pandas as pd

        zi = np.abs(self.yi) / self.sei
        region = np.ones(self.yi.shape[0])
        for p, z in sorted(zip(self.levels, self.z, strict=True), reverse=True):
            region[zi >= z] = p
        return pd.DataFrame({"slab": self.slab, "yi": self.yi, "sei": self.sei, "p_region": region})

    def summary(self, digits: int = 4) -> Summary:
        rows = [[f"p = {p:g}", fmt(z, digits)] for p, z in zip(self.levels, self.z, strict=True)]
        text = (f"Contour-enhanced funnel plot data (k = {self.yi.shape[0]}; estimate = "
                f"{fmt(self.estimate, digits)}; se up to {fmt(self.se_max, digits)})\n\n"
                + table(["contour", "|yi| / sei"], rows))
        return Summary(text)


@dataclass(frozen=True, eq=False, repr=False)
class BiasResult(Printable):
    """All small-study-effect diagnostics of :func:`commonfactors.bias_tests` on one data set."""

    k: int
    method: str
    egger: RegressionTest
    egger_classical: RegressionTest
    begg: RankTest
    trim_and_fill: TrimFillResult
    fail_safe_n: FailSafeN
    pet_peese: PetPeeseResult
    selection_3psm: SelectionModelResult | None
    direction: str = "higher"
    direction_given: bool = False
    egger_clustered: RegressionTest | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The ``commonfactors bias --format json`` object (DESIGN.md):
        ``egger {stat, pval, limit_estimate}``, ``egger_classical {stat, pval, df}``, ``begg {tau, pval}``,
        ``trim_and_fill {k0, estimate, se, tau2, side}``, ``fail_safe_n {fsnum}``, ``pet {estimate, se}``,
        ``peese {estimate, se}``, ``selection_3psm {estimate, se, tau2, delta, lrt, lrt_pval}`` (None when it
        could not be fitted), plus ``k``, ``method``, ``direction`` (the favourable one, "lower" or
        "higher") and ``warnings``; with clusters ``egger_clustered {stat, pval, df, limit_estimate}``."""
        pp = self.pet_peese.to_dict()
        g = self.egger_clustered
        clustered = {} if g is None else {"egger_clustered": {**g.to_dict(), "df": g.df}}
        return jsonable({
            "k": self.k, "method": self.method, "direction": self.direction, **clustered,
            "egger": self.egger.to_dict(), "egger_classical": self.egger_classical.to_dict(),
            "begg": self.begg.to_dict(), "trim_and_fill": self.trim_and_fill.to_dict(),
            "fail_safe_n": self.fail_safe_n.to_dict(), "pet": pp["pet"], "peese": pp["peese"],
            "selection_3psm": None if self.selection_3psm is None else self.selection_3psm.to_dict(),
            "warnings": list(self.warnings),
        })

    def to_frame(self):
        """One row per method: method, estimate (the adjusted effect where there is one), se, stat, pval."""
        e, c, t, f, pp, sel = (self.egger, self.egger_classical, self.trim_and_fill, self.fail_safe_n,
                               self.pet_peese, self.selection_3psm)
        nan = math.nan
        rows = [("egger", e.limit_estimate, e.limit_se, e.stat, e.pval),
                ("egger_classical", c.limit_estimate, c.limit_se, c.stat, c.pval),
                ("begg", nan, nan, self.begg.tau, self.begg.pval),
                ("trim_and_fill", t.estimate, t.se, float(t.k0), t.pval),
                ("fail_safe_n", nan, nan, float(f.fsnum), f.pval),
                ("pet", pp.pet.estimate, pp.pet.se, pp.pet.stat, pp.pet.pval),
                ("peese", pp.peese.estimate, pp.peese.se, pp.peese.stat, pp.peese.pval),
                ("selection_3psm",
                 *((nan,) * 4 if sel is None else (sel.estimate, sel.se, sel.lrt, sel.lrt_pval)))]
        columns = ("method", "estimate", "se", "stat", "pval")
        return frame([dict(zip(columns, row, strict=True)) for row in rows], columns)

    def summary(self, digits: int = 4) -> Summary:
        e, c, b, t, f = self.egger, self.egger_classical, self.begg, self.trim_and_fill, self.fail_safe_n
        pet, peese, sel = self.pet_peese.pet, self.pet_peese.peese, self.selection_3psm
        rows = [
            ["Egger (meta-regression on sei)", f"{_z_or_t(e.df)} = {fmt(e.stat, digits)}",
             fmt_p(e.pval, digits), f"limit estimate {fmt(e.limit_estimate, digits)}"],
            ["Egger (classical, weighted lm)", f"t({df_text(c.df)}) = {fmt(c.stat, digits)}",
             fmt_p(c.pval, digits), ""],
            ["Begg rank correlation", f"tau = {fmt(b.tau, digits)}", fmt_p(b.pval, digits), ""],
            [f"Trim and fill ({t.estimator})", f"k0 = {t.k0} ({t.side})", "",
             f"estimate {fmt(t.estimate, digits)} (SE {fmt(t.se, digits)}), tau^2 {fmt(t.tau2, digits)}"],
            ["Fail-safe N (Rosenthal)", str(f.fsnum), "", ""],
            ["PET", "", fmt_p(pet.pval, digits),
             f"estimate {fmt(pet.estimate, digits)} (SE {fmt(pet.se, digits)})"],
            ["PEESE", "", fmt_p(peese.pval, digits),
             f"estimate {fmt(peese.estimate, digits)} (SE {fmt(peese.se, digits)})"],
        ]
        if sel is not None:
            rows.append(["Selection model (3PSM, p < .025)", f"LRT = {fmt(sel.lrt, digits)}",
                         fmt_p(sel.lrt_pval, digits),
                         f"estimate {fmt(sel.estimate, digits)} (SE {fmt(sel.se, digits)}), "
                         f"tau^2 {fmt(sel.tau2, digits)}, delta {fmt(sel.delta[-1], digits)}"])
        if self.egger_clustered is not None:
            g = self.egger_clustered
            rows.insert(0, ["Egger (three-level, CR2)", f"t({df_text(g.df)}) = {fmt(g.stat, digits)}",
                            fmt_p(g.pval, digits), f"limit estimate {fmt(g.limit_estimate, digits)}"])
        head = f"Small-study effects and publication bias (k = {self.k}; tau^2 estimator: {self.method})\n\n"
        foot = [f"Favourable direction: {self.direction} effects, as given: the selection model's one-sided "
                "p-values and trim and fill's side follow it." if self.direction_given else
                f"Favourable direction: {self.direction} effects for the selection model (metafor's "
                "default); trim and fill's side from Egger's test. Set it with direction= (--direction)."]
        if self.egger_clustered is not None:
            foot.append("Effect sizes nested in clusters: only the three-level Egger test accounts for it; "
                        "the other tests assume independent effect sizes.")
        return Summary(head + table(["", "statistic", "pval", "adjusted"], rows) + "\n\n" + "\n".join(foot),
                       notes=self.warnings)


def _z_or_t(df: float) -> str:
    """The statistic's name: z, or t with its degrees of freedom."""
    return "z" if math.isinf(df) else f"t({df_text(df)})"
