"""Results of the univariate models: :class:`Coefficient`, :class:`MetaResult`, :class:`SubgroupResult`.

Frozen and unrounded; everything is computed at fit time (:func:`commonfactors.models.univariate.fit`).
``to_dict()`` is exactly the JSON of the ``commonfactors pool`` contract (DESIGN.md), ``summary()``
prints like metafor's ``print.rma.uni``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._format import Summary, fmt, jsonable
from .._plotting import draw
from ._table import COEF_FIELDS, Printable, coef_cells, coef_header, coef_table, df_text, frame, pick, pval_eq

_SUBGROUP_FIELDS = ("k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                    "i2", "q", "q_pval")


@dataclass(frozen=True)
class Coefficient:
    """One model coefficient: estimate, standard error, test statistic (z or t), two-sided p-value and
    confidence interval at the model's level."""

    name: str
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float

    def to_dict(self) -> dict:
        return jsonable(pick(self, COEF_FIELDS))


def _pair(x):
    return None if x is None else [x[0], x[1]]


def _signif(p: float) -> str:
    if p is None or math.isnan(p):
        return ""
    for cut, code in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, ".")):
        if p < cut:
            return code
    return ""


@dataclass(frozen=True, eq=False, repr=False)
class MetaResult(Printable):
    """Result of :func:`commonfactors.meta_analysis` for a common-, random- or mixed-effects model.

    Field names are the command line's JSON keys; nothing is rounded. ``estimate`` ... ``ci_high`` are
    those of the first coefficient (the pooled effect; the intercept with moderators, as metafor's first
    row). ``i2`` and its interval are percents. ``pi_low``/``pi_high`` (prediction interval for a new
    study's true effect) and ``se_tau2`` are NaN for a common-effect model, and the prediction interval is
    NaN with moderators (it depends on the moderator values). ``tau2_ci``/``i2_ci``/``h2_ci`` are Q-profile
    intervals (None for a common-effect model; NaN pairs from ``fit(..., profile_ci=False)``, the refits of
    influence diagnostics and trim and fill, and for method "GENQ"). ``df`` is the degrees of freedom of
    the t/F tests (inf under ``test="z"``). ``vt`` is metafor's "typical" within-study variance used by I2
    and H2. ``weights`` are the model's inverse-variance weights 1/(vi + tau2) (the user's weights with
    method "GENQ"); ``vcov`` the covariance matrix of the coefficients.
    """

    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    se_tau2: float
    tau2_ci: tuple[float, float] | None
    i2: float
    i2_ci: tuple[float, float] | None
    h2: float
    h2_ci: tuple[float, float] | None
    q: float
    q_df: int
    q_pval: float
    method: str
    test: str
    level: float
    df: float
    coefficients: tuple[Coefficient, ...]
    qm: float
    qm_df: int
    qm_pval: float
    r2: float
    vt: float
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    X: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    vcov: np.ndarray = field(repr=False)
    slab: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()
    crit: float = math.nan  # the critical value of the intervals: z, or t(df), at the level

    @property
    def has_mods(self) -> bool:
        """True for a meta-regression (a model with moderators)."""
        return len(self.coefficients) > 1

    @property
    def common_effect(self) -> bool:
        """True for a common-effect (equal-/fixed-effects) model."""
        return self.method in ("FE", "EE", "CE")

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    def to_dict(self) -> dict:
        """The ``commonfactors pool --format json`` object (DESIGN.md), NaN as None."""
        out = {
            "k": self.k, "estimate": self.estimate, "se": self.se, "stat": self.stat, "pval": self.pval,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "pi_low": self.pi_low, "pi_high": self.pi_high,
            "tau2": self.tau2, "se_tau2": self.se_tau2, "tau2_ci": _pair(self.tau2_ci), "i2": self.i2,
            "i2_ci": _pair(self.i2_ci), "h2": self.h2, "h2_ci": _pair(self.h2_ci), "q": self.q,
            "q_df": self.q_df, "q_pval": self.q_pval, "method": self.method, "test": self.test,
            "warnings": list(self.warnings),
        }
        if self.has_mods:
            out.update({
                "coefficients": [c.to_dict() for c in self.coefficients], "qm": self.qm, "qm_df": self.qm_df,
                "qm_pval": self.qm_pval, "r2": self.r2, "qe": self.q, "qe_pval": self.q_pval,
            })
        return jsonable(out)

    def records(self) -> list[dict]:
        """The rows of :meth:`to_frame` as dicts (no pandas), for the command line's CSV output."""
        return [pick(c, COEF_FIELDS) for c in self.coefficients]

    def to_frame(self):
        """One row per coefficient: name, estimate, se, stat, pval, ci_low, ci_high."""
        return frame(self.records(), COEF_FIELDS)

    def summary(self, digits: int = 4) -> Summary:
        """metafor's print layout: model line, heterogeneity, tests, and the "Model Results" table."""
        return Summary(_model_text(self, digits), notes=self.warnings)

    def predict(self, newmods=None, transf: str = "none", measure: str | None = None, ni=None):
        """Predicted effects with confidence and prediction intervals, as metafor's ``predict.rma``.

        Without moderators: the pooled effect. With moderators: the fitted value of each study, or of each
        row of ``newmods`` (the values of the moderators in the order of ``coefficients[1:]``, as the model
        matrix has them: dummy columns for factors; a 1-d array is one value per new study with one
        moderator, else the values of one new study). pred = x'b with variance
        x' V x; the confidence interval pred -+ crit se and the prediction interval
        pred -+ crit sqrt(se^2 + tau2) (Riley, Higgins & Deeks, 2011; NaN for a common-effect model), with
        the model's critical value (z, or t(k - p)). ``transf`` back-transforms pred and the limits
        ("exp", "ztor", "ilogit", "iarcsin", "ipft" with the sample sizes ``ni``; "auto" the natural scale
        of ``measure``); se is then NaN, as metafor leaves it out.

        Returns a DataFrame: pred, se, ci_low, ci_high, pi_low, pi_high.
        """
        from .._transforms import TRANSFORMS, back_transform, choose

        if transf not in TRANSFORMS:
            raise ValueError(f"transf={transf!r} is not one of {', '.join(TRANSFORMS)}")
        p = len(self.coefficients)
        if newmods is None:
            X = self.X if self.has_mods else np.ones((1, 1))
        else:
            x = np.asarray(newmods, dtype=float)
            if x.ndim < 2:  # one moderator: a value per new study; several: the values of one new study
                x = x.reshape(-1, 1) if p == 2 else x.reshape(1, -1)
            if x.shape[1] != p - 1:
                raise ValueError(f"newmods has {x.shape[1]} columns; the model has {p - 1} moderators")
            X = np.column_stack([np.ones(x.shape[0]), x])
        beta = np.array([c.estimate for c in self.coefficients])
        pred = X @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, self.vcov, X))
        half = self.crit * se
        pi_half = self.crit * np.sqrt(se**2 + self.tau2)
        if self.common_effect:
            pi_half = np.full(pred.shape, np.nan)
        cols = {"pred": pred, "se": se, "ci_low": pred - half, "ci_high": pred + half,
                "pi_low": pred - pi_half, "pi_high": pred + pi_half}
        chosen = choose(transf, measure)
        if chosen is not None:
            cols = {k: (np.full(pred.shape, np.nan) if k == "se" else back_transform(chosen[0], v, ni=ni))
                    for k, v in cols.items()}
        return frame([dict(zip(cols, row, strict=True)) for row in zip(*cols.values(), strict=True)], cols)

    def plot_forest(self, ax=None, **options):
        """A forest plot of the model, drawn into ``ax`` (a figure of its own when None); returns the
        matplotlib Axes. ``options`` as ``commonfactors.report.figures.forest``: ``xlabel``, ``title``,
        ``transf`` (the axis on the natural scale, e.g. "exp" for a log odds ratio), ``cluster`` (one row per
        study), ``labels`` (studies labelled up to 500 by default)."""
        return draw("forest", self, ax, **options)

    def plot_funnel(self, ax=None, **options):
        """A contour-enhanced funnel plot of the model, drawn into ``ax``; returns the matplotlib Axes.
        ``options`` as ``commonfactors.report.figures.funnel`` (``contours``, ``trim_fill``, ``xlabel``,
        ``transf``: the axis on the natural scale)."""
        return draw("funnel", self, ax, **options)

    def plot_baujat(self, ax=None, **options):
        """A Baujat plot of the model (without moderators), drawn into ``ax``; returns the matplotlib Axes.
        ``options`` as ``commonfactors.report.figures.baujat`` (``influential``, ``title``)."""
        return draw("baujat", self, ax, **options)


def _model_text(r: MetaResult, digits: int) -> str:
    lines = []
    amount = "residual" if r.has_mods else "total"
    variability = "unaccounted" if r.has_mods else "total"
    het = [(f"I^2 ({amount} heterogeneity / {variability} variability):", f"{fmt(r.i2, 2)}%"),
           (f"H^2 ({variability} variability / sampling variability):", fmt(r.h2, 2))]
    if r.common_effect:
        name = {"FE": "Fixed-Effects", "EE": "Equal-Effects", "CE": "Common-Effects"}[r.method]
        name += " with Moderators" if r.has_mods else ""
        lines += [f"{name} Model (k = {r.k})", ""]
    else:
        kind = "Mixed-Effects" if r.has_mods else "Random-Effects"
        lines += [f"{kind} Model (k = {r.k}; tau^2 estimator: {r.method})", ""]
        het = [(f"tau^2 (estimated amount of {amount} heterogeneity):",
                f"{fmt(r.tau2, digits)} (SE = {fmt(r.se_tau2, digits)})"),
               ("tau (square root of estimated tau^2 value):", fmt(r.tau, digits)), *het]
        if r.has_mods:
            het.append(("R^2 (amount of heterogeneity accounted for):", f"{fmt(r.r2, 2)}%"))
    width = max(len(a) for a, _ in het)
    lines += [f"{a.ljust(width)} {b}" for a, b in het]
    qname = "QE" if r.has_mods else "Q"
    lines += ["", f"Test for {'Residual ' if r.has_mods else ''}Heterogeneity:",
              f"{qname}(df = {r.q_df}) = {fmt(r.q, digits)}, p-val {pval_eq(r.q_pval, digits)}"]
    if r.has_mods:
        m = len(r.coefficients) - 1
        which = "coefficient 2" if m == 1 else f"coefficients 2:{m + 1}"
        stat = (f"QM(df = {r.qm_df})" if r.test == "z"
                else f"F(df1 = {r.qm_df}, df2 = {df_text(r.df)})")
        lines += ["", f"Test of Moderators ({which}):",
                  f"{stat} = {fmt(r.qm, digits)}, p-val {pval_eq(r.qm_pval, digits)}"]
    lines += ["", "Model Results:", ""]
    header = coef_header("zval" if r.test == "z" else "tval", df=r.test != "z") + [""]
    df = None if r.test == "z" else df_text(r.df)
    rows = [[c.name, *coef_cells(c, digits, df), _signif(c.pval)] for c in r.coefficients]
    # no (empty) name column for the pooled effect, as metafor
    lines.append(coef_table(header, rows, names=r.has_mods))
    lines += ["", "---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines)


@dataclass(frozen=True, eq=False, repr=False)
class SubgroupResult(Printable):
    """Result of ``meta_analysis(..., by=column)``: one :class:`MetaResult` per level of ``by`` (levels in
    sorted order), and the test for subgroup differences: ``q_between`` with ``q_between_df`` = (number of
    subgroups - 1) degrees of freedom and its chi-square p-value ``q_between_pval``. With moderators each
    subgroup's result is a meta-regression, and the test is that all its p coefficients are the same in
    every subgroup, on (number of subgroups - 1) p degrees of freedom (not a comparison of the intercepts,
    the subgroups' effects where every moderator is 0)."""

    by: str
    levels: tuple[str, ...]
    results: tuple[MetaResult, ...]
    q_between: float
    q_between_df: int
    q_between_pval: float
    method: str
    test: str
    level: float
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """``{"by", "subgroups": [{"level", ...pool fields...}], "q_between", "q_between_df",
        "q_between_pval", "method", "test", "warnings"}``, NaN as None."""
        return jsonable({
            "by": self.by,
            "subgroups": [{"level": lvl, **res.to_dict()}
                          for lvl, res in zip(self.levels, self.results, strict=True)],
            "q_between": self.q_between, "q_between_df": self.q_between_df,
            "q_between_pval": self.q_between_pval,
            "method": self.method, "test": self.test, "warnings": list(self.warnings),
        })

    @property
    def has_mods(self) -> bool:
        """True when each subgroup's model is a meta-regression."""
        return bool(self.results) and self.results[0].has_mods

    def _columns(self) -> list[str]:
        return ["level", "k", *COEF_FIELDS, "tau2", "qe", "qe_pval"] if self.has_mods \
            else ["level", *_SUBGROUP_FIELDS]

    def records(self) -> list[dict]:
        """The rows of :meth:`to_frame` as dicts (no pandas), for the command line's CSV output."""
        pairs = zip(self.levels, self.results, strict=True)
        if self.has_mods:
            return [{"level": lvl, "k": r.k, **pick(c, COEF_FIELDS), "tau2": r.tau2,
                     "qe": r.q, "qe_pval": r.q_pval} for lvl, r in pairs for c in r.coefficients]
        return [{"level": lvl, **pick(r, _SUBGROUP_FIELDS)} for lvl, r in pairs]

    def to_frame(self):
        """One row per subgroup: level, k, estimate, se, stat, pval, ci_low, ci_high, pi_low, pi_high,
        tau2, i2, q, q_pval. With moderators one row per subgroup and coefficient: level, k, name, estimate,
        se, stat, pval, ci_low, ci_high, tau2, qe, qe_pval."""
        return frame(self.records(), self._columns())

    def summary(self, digits: int = 4) -> Summary:
        blocks = [f"Subgroups by {self.by} (tau^2 estimated within each subgroup)"]
        for lvl, r in zip(self.levels, self.results, strict=True):
            blocks += ["", f"=== {self.by} = {lvl} ===", "", _model_text(r, digits)]
        what = f" (all {len(self.results[0].coefficients)} coefficients)" if self.has_mods else ""
        blocks += ["", f"Test for Subgroup Differences{what}:",
                   f"QM(df = {self.q_between_df}) = {fmt(self.q_between, digits)}, "
                   f"p-val {pval_eq(self.q_between_pval, digits)}"]
        return Summary("\n".join(blocks), notes=self.warnings)
