"""Results of the factors layer: element estimates (``factors show``) and variance pies (``pie``).

Frozen and unrounded; ``to_dict()`` is exactly the command line JSON of issue 5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .. import _format
from .._format import Summary, fmt


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


@dataclass(frozen=True)
class ElementResult:
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

    def __repr__(self) -> str:
        return str(self.summary())


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


@dataclass(frozen=True)
class PieResult:
    """Each factor's share of outcome variance, the explained total (``r2``) and the unexplained rest.

    ``method`` is "additive" (each factor's own r^2, summed as the published pies do) or "dominance"
    (general dominance weights of the outcome's R2, which remove the overlap between correlated
    factors). ``draws`` Monte Carlo draws with ``seed`` give the intervals at ``level`` percent;
    ``rejected_draws`` counts drawn correlation matrices that were not positive definite and were
    redrawn (dominance only); ``n`` is the sample size the correlations rest on (dominance only).
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
        text = f"{title}\n{info}\n\n" + _format.table(["factor", "% of variance", lo, hi, "element"], rows)
        srcs = [f"  {c.factor}: {'; '.join(c.sources)}" for c in self.components if c.sources]
        if srcs:
            text += "\n\nSources:\n" + "\n".join(srcs)
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
        )

    def __repr__(self) -> str:
        return str(self.summary())


def _count(x, text: str) -> str:
    if text:
        return text if len(text) <= 12 else text[:11] + "~"
    return "NA" if x is None else str(x)


def _interval(lo, hi) -> str:
    if lo is None or hi is None or lo != lo or hi != hi:
        return "NA"
    return f"[{lo:.3f}, {hi:.3f}]"
