"""Results of the factors layer: element estimates (``factors show``) and variance pies (``pie``).

Frozen and unrounded; ``to_dict()`` is exactly the command line JSON of issue 5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .. import _format
from .._format import Summary, fmt
from ._table import Printable


@dataclass(frozen=True)
class ElementEstimate:
    """One pooled estimate of an element's association with outcome.

    ``origin`` is "pooled" (computed here by the engine from a shipped study-level dataset; ``model``
    says how) or "published" (a row of ``data/published/estimates.csv``; ``verified`` is its checking
    label: yes / secondary / UNVERIFIED). ``metric`` is "r", "d" (d or g), "icc" (a share of variance
    between therapists), or the published label when none of these. ``k`` and ``n`` are the leading
    numbers of the published counts (``k_text``/``n_text`` keep the text as printed); intervals are 95%
    confidence (``ci_*``) and prediction (``pi_*``) intervals on the metric's own scale; ``i2`` is in
    percent; ``share`` is the proportion of outcome variance the estimate converts to (r^2; d to r^2
    with r = d / sqrt(d^2 + 4); an ICC as is), NaN when it does not convert.
    """

    element: str
    factor: str
    label: str
    metric: str
    estimate: float
    share: float
    k: int | None
    n: int | None
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    i2: float
    source: str
    year: int | None
    origin: str
    verified: str
    where_seen: str
    model: str | None = None
    k_text: str = ""
    n_text: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return _format.jsonable(asdict(self))


@dataclass(frozen=True, repr=False)
class ElementResult(Printable):
    """All estimates linked to one element of the taxonomy (``commonfactors factors show ELEMENT``)."""

    element: str
    factor: str
    description: str
    estimates: tuple[ElementEstimate, ...]
    warnings: tuple[str, ...] = ()

    def summary(self) -> Summary:
        head = f"Element: {self.element} (factor: {self.factor})\n{self.description}\n"
        if not self.estimates:
            return Summary(head + "\nNo pooled estimate is shipped for this element.", notes=self.warnings)
        rows = [
            [
                e.label,
                e.metric,
                fmt(e.estimate, 3),
                _count(e.k, e.k_text),
                _count(e.n, e.n_text),
                _interval(e.ci_low, e.ci_high),
                _interval(e.pi_low, e.pi_high),
                fmt(e.i2, 1),
                fmt(100 * e.share, 2),
                e.origin if e.origin == "pooled" else e.verified,
            ]
            for e in self.estimates
        ]
        text = (
            head
            + "\n"
            + _format.table(
                ["estimate", "metric", "value", "k", "N", "95% CI", "95% PI", "I2", "% var", "checked"], rows
            )
        )
        refs = "\n".join(
            f"  [{i + 1}] {e.source}"
            + (f" ({e.year})" if e.year else "")
            + (f"; model: {e.model}" if e.model else f"; seen: {e.where_seen}")
            for i, e in enumerate(self.estimates)
        )
        return Summary(text + "\n\nSources:\n" + refs, notes=self.warnings)

    def to_frame(self):
        import pandas as pd

        cols = [f.name for f in fields(ElementEstimate)]
        return pd.DataFrame([asdict(e) for e in self.estimates], columns=cols)

    def to_dict(self) -> dict:
        return _format.jsonable(
            {
                "element": self.element,
                "factor": self.factor,
                "description": self.description,
                "estimates": [e.to_dict() for e in self.estimates],
                "warnings": list(self.warnings),
            }
        )


@dataclass(frozen=True)
class Share:
    """A share of outcome variance (a proportion, 0-1) with its Monte Carlo interval."""

    share: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class PieSlice:
    """One factor's slice of the pie.

    ``share`` comes from the point estimates, ``ci_low``/``ci_high`` from the Monte Carlo draws.
    ``element``, ``metric``, ``estimate`` and ``se`` describe the input: for the additive pie the
    element's pooled estimate and its standard error on the sampling scale (Fisher's z for r, d for d,
    logit for an ICC); for the dominance pie the factor's correlation with the outcome and the
    standard error of its Fisher z.
    """

    factor: str
    share: float
    ci_low: float
    ci_high: float
    sources: tuple[str, ...]
    element: str = ""
    metric: str = ""
    estimate: float = float("nan")
    se: float = float("nan")


@dataclass(frozen=True, repr=False)
class PieResult(Printable):
    """Each factor's share of outcome variance, the explained total (``r2``) and the unexplained rest.

    ``method`` is "additive" (each factor's own r^2, summed as the published pies do) or "dominance"
    (general dominance weights of the outcome's R2, which remove the overlap between correlated
    factors). ``draws`` Monte Carlo draws with ``seed`` give the intervals at ``level`` percent;
    ``rejected_draws`` counts drawn correlation matrices that were not positive definite and were
    redrawn (dominance only); ``n`` is the sample size the correlations rest on (dominance only);
    ``pooled`` the correlation matrix pooled from studies the pie rests on, if any (its JSON is
    ``pooled_correlations``).
    """

    method: str
    draws: int
    seed: int | None
    level: float
    components: tuple[PieSlice, ...]
    unexplained: Share
    r2: Share
    n: float | None = None
    rejected_draws: int = 0
    warnings: tuple[str, ...] = ()
    pooled: CorrelationPoolResult | None = None

    def summary(self) -> Summary:
        lo, hi = f"{(100 - self.level) / 2:g}%", f"{100 - (100 - self.level) / 2:g}%"
        rows = [
            [
                c.factor,
                fmt(100 * c.share, 2),
                fmt(100 * c.ci_low, 2),
                fmt(100 * c.ci_high, 2),
                c.element or "-",
            ]
            for c in self.components
        ]
        rows.append(
            [
                "(all factors)",
                fmt(100 * self.r2.share, 2),
                fmt(100 * self.r2.ci_low, 2),
                fmt(100 * self.r2.ci_high, 2),
                "R2" if self.method == "dominance" else "sum",
            ]
        )
        rows.append(
            [
                "unexplained",
                fmt(100 * self.unexplained.share, 2),
                fmt(100 * self.unexplained.ci_low, 2),
                fmt(100 * self.unexplained.ci_high, 2),
                "",
            ]
        )
        title = {
            "additive": "Additive variance pie (each factor's r^2, overlaps counted in each factor)",
            "dominance": "Overlap-aware variance pie (general dominance weights of R2)",
        }[self.method]
        info = f"draws = {self.draws}, seed = {self.seed}"
        if self.n is not None:
            info += f", n = {self.n:g}"
        if self.rejected_draws:
            info += f", non-positive-definite draws redrawn: {self.rejected_draws}"
        if self.pooled is not None:
            p = self.pooled
            info += f"\ncorrelations pooled by GLS ({p.method}) from k = {p.k} studies (N = {p.n:g}); " + (
                f"homogeneity Q({p.q_df}) = {fmt(p.q, 2)}, p = {_format.fmt_p(p.q_pval)}"
                if p.q_df > 0
                else "no homogeneity test (no degrees of freedom)"
            )
        text = f"{title}\n{info}\n\n" + _format.table(["factor", "% of variance", lo, hi, "element"], rows)
        srcs = [f"  {c.factor}: {'; '.join(c.sources)}" for c in self.components if c.sources]
        if srcs:
            text += "\n\nSources:\n" + "\n".join(srcs)
        if self.pooled is not None:
            text += "\n\n" + self.pooled.summary().text
        return Summary(text, notes=self.warnings)

    def to_frame(self):
        """One row per slice (factors, then "unexplained"): factor, share, ci_low, ci_high (proportions),
        element, metric, estimate, se, sources ("; "-joined), method, level."""
        import pandas as pd

        rows = [
            {
                "factor": c.factor,
                "share": c.share,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "element": c.element,
                "metric": c.metric,
                "estimate": c.estimate,
                "se": c.se,
                "sources": "; ".join(c.sources),
            }
            for c in self.components
        ]
        rows.append(
            {
                "factor": "unexplained",
                "share": self.unexplained.share,
                "ci_low": self.unexplained.ci_low,
                "ci_high": self.unexplained.ci_high,
                "element": "",
                "metric": "",
                "estimate": float("nan"),
                "se": float("nan"),
                "sources": "",
            }
        )
        df = pd.DataFrame(rows)
        df["method"] = self.method
        df["level"] = self.level
        return df

    def to_dict(self) -> dict:
        return _format.jsonable(
            {
                "method": self.method,
                "draws": self.draws,
                "seed": self.seed,
                "level": self.level,
                "components": [
                    {
                        "factor": c.factor,
                        "share": c.share,
                        "ci_low": c.ci_low,
                        "ci_high": c.ci_high,
                        "sources": list(c.sources),
                    }
                    for c in self.components
                ],
                "unexplained": asdict(self.unexplained),
                "r2": asdict(self.r2),
                "warnings": list(self.warnings),
            }
            | ({} if self.pooled is None else {"pooled_correlations": self.pooled.to_dict()})
        )


@dataclass(frozen=True)
class PooledCorrelation:
    """One pooled correlation of stage 1: ``k`` studies with total ``n`` report it; ``r`` is the GLS
    estimate with standard error ``se`` and Wald interval ``ci_low``/``ci_high`` (r scale); ``tau2`` its
    between-study variance (random effects; NaN under fixed effects)."""

    var1: str
    var2: str
    k: int
    n: float
    r: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float


@dataclass(frozen=True, eq=False, repr=False)
class CorrelationPoolResult(Printable):
    """A correlation matrix pooled from studies by GLS (stage 1 of Cheung & Chan 2005), with the
    asymptotic covariance of its correlations and the homogeneity test.

    ``names``: the variables, factors first and ``outcome`` last; ``pairs``: the m pooled correlations
    in upper-triangle row order of ``names``; ``vcov``: their m x m covariance; ``q``, ``q_df``,
    ``q_pval``: the test that all studies share one population matrix; ``k``: studies; ``n``: their
    total (common) sample size; ``method``: "FE" or "REML"; ``v_from``: the correlations the sampling
    covariances were computed from ("study" or "mean").
    """

    method: str
    names: tuple[str, ...]
    outcome: str
    k: int
    n: float
    pairs: tuple[PooledCorrelation, ...]
    vcov: np.ndarray = field(repr=False)
    q: float
    q_df: int
    q_pval: float
    level: float
    v_from: str
    source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def matrix(self) -> np.ndarray:
        """The pooled correlation matrix, shape (q, q), in the order of ``names``."""
        pos = {v: i for i, v in enumerate(self.names)}
        R = np.eye(len(self.names))
        for p in self.pairs:
            R[pos[p.var1], pos[p.var2]] = R[pos[p.var2], pos[p.var1]] = p.r
        return R

    def correlation_frame(self):
        """The pooled matrix as a DataFrame labelled by ``names`` (what ``dominance_pie`` reads)."""
        import pandas as pd

        return pd.DataFrame(self.matrix, index=list(self.names), columns=list(self.names))

    def summary(self) -> Summary:
        lo, hi = f"{(100 - self.level) / 2:g}%", f"{100 - (100 - self.level) / 2:g}%"
        model = {
            "FE": "fixed effects (one common population matrix)",
            "REML": "random effects (diagonal between-study covariance, REML)",
        }[self.method]
        head = (
            f"Correlation matrix pooled by GLS (Becker 1992; Cheung & Chan 2005, stage 1): {model}\n"
            f"k = {self.k} studies, N = {self.n:g}, sampling covariances from "
            f"{'each study' if self.v_from == 'study' else 'the weighted mean'} correlations\n\n"
        )
        rows = [
            [
                f"{p.var1} - {p.var2}",
                str(p.k),
                f"{p.n:g}",
                fmt(p.r, 4),
                fmt(p.se, 4),
                fmt(p.ci_low, 4),
                fmt(p.ci_high, 4),
                fmt(p.tau2, 4),
            ]
            for p in self.pairs
        ]
        text = head + _format.table(["pair", "k", "N", "r", "se", lo, hi, "tau2"], rows)
        test = (
            f"Test of homogeneity: Q({self.q_df}) = {fmt(self.q, 4)}, p = {_format.fmt_p(self.q_pval)}"
            if self.q_df > 0
            else "Test of homogeneity: not available (no degrees of freedom)"
        )
        return Summary(text + "\n\n" + test, notes=self.warnings)

    def to_frame(self):
        """One row per pooled correlation: var1, var2, k, n, r, se, ci_low, ci_high, tau2."""
        import pandas as pd

        return pd.DataFrame(
            [asdict(p) for p in self.pairs], columns=[f.name for f in fields(PooledCorrelation)]
        )

    def to_dict(self) -> dict:
        return _format.jsonable(
            {
                "method": self.method,
                "k": self.k,
                "n": self.n,
                "names": list(self.names),
                "outcome": self.outcome,
                "correlations": [asdict(p) for p in self.pairs],
                "matrix": self.matrix,
                "vcov": self.vcov,
                "q": self.q,
                "q_df": self.q_df,
                "q_pval": self.q_pval,
                "level": self.level,
                "v_from": self.v_from,
                "warnings": list(self.warnings),
            }
        )


@dataclass(frozen=True)
class SensitivityRow:
    """The dominance pie at one assumed common correlation among the factors (``assumed_r``).

    ``shares``: each factor's general dominance weight (NaN when ``valid`` is False: the assumed
    matrix is not positive definite, so no such correlations can occur); ``r2``: their sum."""

    assumed_r: float
    shares: tuple[float, ...]
    r2: float
    valid: bool


@dataclass(frozen=True, repr=False)
class SensitivityResult(Printable):
    """Dominance shares when the correlations among factors are unknown: one row per assumed value.

    ``factors`` with their correlations with the outcome ``rxy`` (and ``sources``); ``additive_shares``
    are their r^2 (what the additive pie shows, the shares at an assumed 0)."""

    factors: tuple[str, ...]
    rxy: tuple[float, ...]
    additive_shares: tuple[float, ...]
    rows: tuple[SensitivityRow, ...]
    sources: tuple[tuple[str, ...], ...] = ()
    warnings: tuple[str, ...] = ()

    def summary(self) -> Summary:
        head = (
            "Sensitivity of the overlap-aware pie to the unknown correlations among factors\n"
            "(% of outcome variance by general dominance weights, at each assumed common correlation)\n\n"
        )
        rows = [
            ["r with outcome", *(fmt(r, 3) for r in self.rxy), "", ""],
            [
                "additive (r^2)",
                *(fmt(100 * a, 2) for a in self.additive_shares),
                fmt(100 * sum(self.additive_shares), 2),
                "",
            ],
        ]
        rows += [
            [
                f"assumed r = {row.assumed_r:g}",
                *(fmt(100 * s, 2) for s in row.shares),
                fmt(100 * row.r2, 2),
                "yes" if row.valid else "no (not positive definite)",
            ]
            for row in self.rows
        ]
        text = head + _format.table(["", *self.factors, "R2", "valid"], rows)
        srcs = [f"  {f}: {'; '.join(s)}" for f, s in zip(self.factors, self.sources, strict=False) if s]
        if srcs:
            text += "\n\nSources:\n" + "\n".join(srcs)
        return Summary(text, notes=self.warnings)

    def to_frame(self):
        """One row per (assumed_r, factor): assumed_r, factor, share, additive_share, r2, valid."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "assumed_r": row.assumed_r,
                    "factor": f,
                    "share": s,
                    "additive_share": a,
                    "r2": row.r2,
                    "valid": row.valid,
                }
                for row in self.rows
                for f, s, a in zip(self.factors, row.shares, self.additive_shares, strict=True)
            ]
        )

    def to_dict(self) -> dict:
        return _format.jsonable(
            {
                "method": "dominance",
                "sensitivity": [
                    {
                        "assumed_r": row.assumed_r,
                        "components": [
                            {"factor": f, "share": s, "r": r, "additive_share": a}
                            for f, s, r, a in zip(
                                self.factors, row.shares, self.rxy, self.additive_shares, strict=True
                            )
                        ],
                        "r2": row.r2,
                        "valid": row.valid,
                    }
                    for row in self.rows
                ],
                "warnings": list(self.warnings),
            }
        )


def _count(x, text: str) -> str:
    if text:
        return text if len(text) <= 12 else text[:11] + "~"
    return "NA" if x is None else str(x)


def _interval(lo, hi) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return "NA"
    return f"[{lo:.3f}, {hi:.3f}]"
