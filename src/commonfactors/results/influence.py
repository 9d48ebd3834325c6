"""Results of the case diagnostics (:mod:`commonfactors.models.influence`): one row per study.

Frozen and unrounded. ``to_frame()`` has one row per study (``slab`` first); ``to_dict()`` has one list
per column (NaN -> None), the ``commonfactors influence`` JSON for :class:`InfluenceResult`; ``summary()``
prints the table as metafor does; ``__repr__`` is the summary text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._format import Summary, fmt, fmt_p, jsonable, table
from .._plotting import draw
from ._table import Printable


def _plain(values):
    """A column (or a dict of columns) as JSON values, as :func:`.._format.jsonable` gives them (NaN and
    infinities as None), without visiting each value in Python unless the column holds objects."""
    if isinstance(values, dict):
        return {str(name): _plain(v) for name, v in values.items()}
    array = np.asarray(values)
    if array.dtype.kind not in "fbiu":
        return jsonable(values)
    out = array.tolist()
    if array.dtype.kind == "f":
        for i in np.flatnonzero(~np.isfinite(array)).tolist():
            out[i] = None
    return out


class _StudyTable(Printable):
    """Shared contract of the per-study results: ``_COLUMNS`` names the array fields, in order."""

    _COLUMNS: tuple[str, ...] = ()
    _TITLE = ""
    _PVALUES: tuple[str, ...] = ()

    def _columns(self) -> dict:
        return {c: getattr(self, c) for c in self._COLUMNS}

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame({"slab": [str(s) for s in self.slab], **self._columns()})

    def _extra(self) -> dict:
        return {}

    def to_dict(self) -> dict:
        columns = {name: _plain(values) for name, values in {**self._columns(), **self._extra()}.items()}
        return {"k": self.k, "method": self.method, "slab": [str(s) for s in self.slab], **columns,
                "warnings": list(self.warnings)}

    def _cell(self, name, value, digits):
        if isinstance(value, (bool, np.bool_)):
            return "*" if value else ""
        return fmt_p(value, digits) if name in self._PVALUES else fmt(value, digits)

    def summary(self, digits: int = 4) -> Summary:
        cols = self._columns()
        rows = [[str(s)] + [self._cell(c, cols[c][i], digits) for c in cols] for i, s in enumerate(self.slab)]
        text = f"{self._TITLE} (k = {self.k}; tau^2 estimator: {self.method})\n\n" + table(["", *cols], rows)
        return Summary(text, notes=self.warnings)


@dataclass(frozen=True, eq=False, repr=False)
class InfluenceResult(_StudyTable):
    """Leave-one-out case diagnostics of a (mixed-effects) meta-analytic model (metafor's ``influence``).

    Per study i (arrays of shape (k,)): ``leave1out_estimate`` and ``leave1out_tau2`` (the first coefficient
    and tau2 of the model fitted without study i), ``leave1out_q`` (its Q_E), ``rstudent`` (studentized
    deleted residual), ``cooks_d`` (Cook's distance), ``dffits``, ``cov_ratio`` (covariance ratio), ``hat``
    (diagonal of the hat matrix), ``weight`` (percent of the total weight), ``influential`` (metafor's
    rules); ``dfbetas`` has shape (k, p), one column per coefficient (``names``).
    """

    k: int
    method: str
    test: str
    names: tuple[str, ...]
    slab: np.ndarray = field(repr=False)
    leave1out_estimate: np.ndarray = field(repr=False)
    leave1out_tau2: np.ndarray = field(repr=False)
    leave1out_q: np.ndarray = field(repr=False)
    rstudent: np.ndarray = field(repr=False)
    cooks_d: np.ndarray = field(repr=False)
    dffits: np.ndarray = field(repr=False)
    cov_ratio: np.ndarray = field(repr=False)
    hat: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    dfbetas: np.ndarray = field(repr=False)
    influential: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    _COLUMNS = ("rstudent", "dffits", "cooks_d", "cov_ratio", "leave1out_tau2", "leave1out_q", "hat",
                "weight", "leave1out_estimate", "influential")
    _TITLE = "Influence diagnostics"

    def _extra(self) -> dict:
        return {"dfbetas": {n: self.dfbetas[:, j] for j, n in enumerate(self.names)}}

    def to_dict(self) -> dict:
        """The ``commonfactors influence --format json`` object: per-study lists ``leave1out_estimate,
        leave1out_tau2, rstudent, cooks_d, dffits, hat, weight`` (DESIGN.md), plus ``leave1out_q, cov_ratio,
        influential, dfbetas {name: list}, slab, k, method, warnings``."""
        return super().to_dict()

    def to_frame(self):
        """One row per study: slab, rstudent, dffits, cooks_d, cov_ratio, leave1out_tau2, leave1out_q, hat,
        weight, leave1out_estimate, influential, and ``dfbetas_<name>`` per coefficient."""
        frame = super().to_frame()
        for j, n in enumerate(self.names):
            frame[f"dfbetas_{n}"] = self.dfbetas[:, j]
        return frame


@dataclass(frozen=True, eq=False, repr=False)
class _FitSeries(_StudyTable):
    """One meta-analysis per row, fitted to a subset of the studies: estimate, se, stat, pval, ci_low,
    ci_high, q, q_pval, tau2, i2 (percent), h2 (arrays of shape (k,)). The fields shared by
    :class:`LeaveOneOutResult` and :class:`CumulativeResult`, which say what subset each row is."""

    k: int
    method: str
    test: str
    slab: np.ndarray = field(repr=False)
    estimate: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    stat: np.ndarray = field(repr=False)
    pval: np.ndarray = field(repr=False)
    ci_low: np.ndarray = field(repr=False)
    ci_high: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)
    q_pval: np.ndarray = field(repr=False)
    tau2: np.ndarray = field(repr=False)
    i2: np.ndarray = field(repr=False)
    h2: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    _COLUMNS = ("estimate", "se", "stat", "pval", "ci_low", "ci_high", "q", "q_pval", "tau2", "i2", "h2")
    _PVALUES = ("pval", "q_pval")


@dataclass(frozen=True, eq=False, repr=False)
class LeaveOneOutResult(_FitSeries):
    """Leave-one-out meta-analyses (metafor's ``leave1out``): row i is the model fitted without study i
    (``slab[i]``): estimate, se, stat, pval, ci_low, ci_high, q, q_pval, tau2, i2 (percent), h2."""

    _TITLE = "Leave-one-out analyses"


@dataclass(frozen=True, eq=False, repr=False)
class CumulativeResult(_FitSeries):
    """Cumulative meta-analysis (metafor's ``cumul``): row j is the model fitted to the first j studies in
    the order of ``order`` (``slab[j]`` is the study added at step j, ``order_value`` its value)."""

    order_value: np.ndarray = field(repr=False, kw_only=True)

    _TITLE = "Cumulative meta-analysis"

    def to_frame(self):
        """One row per step: slab (the study added), order_value, estimate, se, stat, pval, ci_low, ci_high,
        q, q_pval, tau2, i2, h2."""
        frame = super().to_frame()
        frame.insert(1, "order_value", list(self.order_value))
        return frame

    def _extra(self) -> dict:
        return {"order_value": list(self.order_value)}

    def plot_cumulative(self, ax=None, **options):
        """A cumulative forest plot (metafor's ``forest(cumul(res))``), drawn into ``ax`` (a figure of its own
        when None); returns the matplotlib Axes. ``options`` as
        ``commonfactors.report.figures.cumulative_forest`` (``xlabel``, ``order_label``, ``level``,
        ``transf``: estimates and axis on the natural scale)."""
        return draw("cumulative", self, ax, **options)


@dataclass(frozen=True, eq=False, repr=False)
class BaujatResult(_StudyTable):
    """Data of a Baujat plot (metafor's ``baujat``): ``x`` the contribution of each study to the
    heterogeneity statistic (its squared Pearson residual), ``y`` its influence on the fitted value (the
    squared difference between the fitted values with and without the study, over the variance of the
    latter)."""

    k: int
    method: str
    slab: np.ndarray = field(repr=False)
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    warnings: tuple[str, ...] = ()

    _COLUMNS = ("x", "y")
    _TITLE = "Baujat plot data"

    def plot_baujat(self, ax=None, **options):
        """The Baujat plot of these data, drawn into ``ax`` (a figure of its own when None); returns the
        matplotlib Axes. ``options`` as ``commonfactors.report.figures.baujat`` (``influential``,
        ``title``)."""
        return draw("baujat", self, ax, **options)
