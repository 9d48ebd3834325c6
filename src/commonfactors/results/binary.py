"""Results of the Mantel-Haenszel and Peto pooling of 2x2 tables: :class:`BinaryResult`.

Frozen and unrounded; computed completely by :func:`commonfactors.models.binary.mantel_haenszel` or
:func:`~commonfactors.models.binary.peto`. ``summary()`` prints like metafor's ``print.rma.mh`` and
``print.rma.peto``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._format import Summary, fmt, jsonable
from .._transforms import natural
from ._table import COEF_FIELDS, Printable, coef_cells, coef_header, coef_table, frame, pick, pval_eq

_RECORD_FIELDS = ("scale", *COEF_FIELDS[1:])


@dataclass(frozen=True, eq=False, repr=False)
class BinaryResult(Printable):
    """Result of :func:`commonfactors.mantel_haenszel` or :func:`commonfactors.peto`.

    Field names are the command line's JSON keys; nothing is rounded. ``method`` is "MH" or "PETO";
    ``measure`` "OR", "RR" or "RD". ``estimate`` ... ``ci_high`` are on the scale the model pools (log OR,
    log RR, RD), at ``level`` percent, with a z test. ``q`` (Cochran's Q on ``q_df`` degrees of freedom,
    p-value ``q_pval``), ``i2`` (percent) and ``h2`` describe the heterogeneity of the studies' own
    estimates ``yi`` (variances ``vi``; NaN for the studies left out of Q) around the pooled one. ``cmh``,
    ``cmh_pval`` (Cochran-Mantel-Haenszel test, continuity-corrected when ``correct``) and ``tarone``,
    ``tarone_df``, ``tarone_pval`` (Tarone's test of homogeneity) are those of Mantel-Haenszel pooling of
    odds ratios; NaN (and ``tarone_df`` 0) otherwise. ``rows`` and ``slab`` name the ``k`` studies used.
    """

    method: str
    measure: str
    level: float
    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_low: float
    ci_high: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    cmh: float
    cmh_pval: float
    tarone: float
    tarone_df: int
    tarone_pval: float
    correct: bool
    yi: np.ndarray = field(repr=False)
    vi: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    slab: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def log_scale(self) -> bool:
        """True when the model pools on the log scale (odds and risk ratios)."""
        return self.measure in ("OR", "RR")

    @property
    def natural(self) -> dict | None:
        """The pooled ratio and its interval (the estimate and limits exponentiated), as metafor prints
        them: ``{"scale", "transf", "estimate", "ci_low", "ci_high", "pi_low", "pi_high"}``, the
        natural-scale block of every pooled result (no prediction interval in an equal-effects model: NaN);
        None for a risk difference."""
        return natural("auto", self.measure, self.estimate, self.ci_low, self.ci_high)

    def to_dict(self) -> dict:
        """The ``commonfactors pool --method MH|PETO --format json`` object, NaN as None."""
        out = {
            "k": self.k, "method": self.method, "measure": self.measure, "level": self.level,
            "estimate": self.estimate, "se": self.se, "stat": self.stat, "pval": self.pval,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "natural": self.natural, "q": self.q,
            "q_df": self.q_df, "q_pval": self.q_pval, "i2": self.i2, "h2": self.h2,
        }
        if self.method == "MH" and self.measure == "OR":
            out.update({"cmh": self.cmh, "cmh_pval": self.cmh_pval, "tarone": self.tarone,
                        "tarone_df": self.tarone_df, "tarone_pval": self.tarone_pval})
        out["warnings"] = list(self.warnings)
        return jsonable(out)

    def records(self) -> list[dict]:
        """The rows of :meth:`to_frame` as dicts (no pandas), for the command line's CSV output."""
        scale = f"log {self.measure}" if self.log_scale else self.measure
        out = [{"scale": scale, **pick(self, _RECORD_FIELDS[1:])}]
        if self.log_scale:
            nat = self.natural
            out.append({"scale": self.measure, "estimate": nat["estimate"], "se": math.nan, "stat": math.nan,
                        "pval": math.nan, "ci_low": nat["ci_low"], "ci_high": nat["ci_high"]})
        return out

    def to_frame(self):
        """The pooled estimate: one row on the scale pooled (scale, estimate, se, stat, pval, ci_low,
        ci_high) and, for odds and risk ratios, one on the ratio scale (estimate and interval only)."""
        return frame(self.records(), _RECORD_FIELDS)

    def summary(self, digits: int = 4) -> Summary:
        """metafor's print layout: model line, heterogeneity, the results on both scales, and the tests."""
        return Summary(_text(self, digits), notes=self.warnings)


def _text(r: BinaryResult, digits: int) -> str:
    het = [("I^2 (total heterogeneity / total variability):", f"{fmt(r.i2, 2)}%"),
           ("H^2 (total variability / sampling variability):", fmt(r.h2, 2))]
    width = max(len(a) for a, _ in het)
    lines = [f"Equal-Effects Model (k = {r.k})", ""]
    lines += [f"{a.ljust(width)} {b}" for a, b in het]
    lines += ["", "Test for Heterogeneity:",
              f"Q(df = {r.q_df}) = {fmt(r.q, digits)}, p-val {pval_eq(r.q_pval, digits)}", ""]
    lines += ["Model Results (log scale):" if r.log_scale else "Model Results:", "",
              coef_table(coef_header(), [["", *coef_cells(r, digits)]], names=False)]
    if r.log_scale:
        nat = r.natural
        lines += ["", f"Model Results ({r.measure} scale):", "",
                  coef_table(["", "estimate", "ci.lb", "ci.ub"],
                             [["", *(fmt(nat[f], digits) for f in ("estimate", "ci_low", "ci_high"))]],
                             names=False)]
    if r.method == "MH" and r.measure == "OR":
        stats = [fmt(r.cmh, digits), fmt(r.tarone, digits)]
        w = max(len(s) for s in stats)
        dfs = ["df = 1,", f"df = {r.tarone_df},"]
        dw = max(len(s) for s in dfs)
        lines += ["",
                  f"Cochran-Mantel-Haenszel Test:    CMH = {stats[0].rjust(w)}, {dfs[0].ljust(dw)} "
                  f"p-val {_test_p(r.cmh_pval, digits)}",
                  f"Tarone's Test for Heterogeneity: X^2 = {stats[1].rjust(w)}, {dfs[1].ljust(dw)} "
                  f"p-val {_test_p(r.tarone_pval, digits)}"]
    return "\n".join(lines)


def _test_p(p: float, digits: int) -> str:
    """A test's p-value as metafor prints it beside CMH and Tarone: '= 0.0005', '< 0.0001'."""
    s = pval_eq(p, digits)
    return s.replace("< .", "< 0.")
