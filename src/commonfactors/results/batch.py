"""BatchResult: the result of fit_many, m meta-analyses as arrays of length m."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .._format import Summary, fmt, jsonable, table
from ._table import Printable

#: the per-meta-analysis fields, in the order of the command line contract (and of to_frame's columns)
ARRAY_FIELDS = ("k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
                "se_tau2", "i2", "h2", "q", "q_df", "q_pval", "converged")


@dataclass(frozen=True, eq=False, repr=False)
class BatchResult(Printable):
    """Result of :func:`commonfactors.fit_many`: one entry per meta-analysis (row of the input).

    Attributes
    ----------
    k : int array of shape (m,)
        Studies used in each meta-analysis.
    estimate, se, stat, pval, ci_low, ci_high : float arrays of shape (m,)
        Pooled effect, its standard error, test statistic (z or t), two-sided p-value and the
        confidence interval at ``level`` percent.
    pi_low, pi_high : float arrays of shape (m,)
        Prediction interval (NaN for method "FE").
    tau2, se_tau2 : float arrays of shape (m,)
        Between-study variance and its standard error (NaN for "FE" and k = 1).
    i2 : float array of shape (m,)
        I2 in percent.
    h2 : float array of shape (m,)
        H2 (a ratio).
    q, q_df, q_pval : arrays of shape (m,)
        Cochran's Q (weights 1/vi), its degrees of freedom (k - 1) and p-value.
    converged : bool array of shape (m,)
        False where the iterations hit their limit, and for k = 0.
    method, test : str
    level : float
        Confidence level in percent.
    warnings : tuple of str

    The arrays are read-only. Nothing is rounded.
    """

    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    tau2: np.ndarray
    se_tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_df: np.ndarray
    q_pval: np.ndarray
    converged: np.ndarray
    method: str
    test: str
    level: float
    warnings: tuple[str, ...] = ()

    def __post_init__(self):
        for name in ARRAY_FIELDS:
            a = np.asarray(getattr(self, name))
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def m(self) -> int:
        """The number of meta-analyses."""
        return int(self.k.shape[0])

    def __len__(self) -> int:
        return self.m

    def to_frame(self):
        """One row per meta-analysis, one column per field of ``ARRAY_FIELDS`` (names as the CLI's)."""
        import pandas as pd

        return pd.DataFrame({name: getattr(self, name) for name in ARRAY_FIELDS})

    def to_dict(self) -> dict:
        """Each field as a list of length m (NaN -> None), plus method, test, level and warnings."""
        return jsonable({f.name: getattr(self, f.name) for f in fields(self)})

    def summary(self) -> Summary:
        """m, the distribution of k, how many converged, and quantiles of tau2 and the estimate."""
        fitted = self.k > 0
        head = (f"{self.m} meta-analyses (method: {self.method}, test: {self.test}, "
                f"level: {fmt(self.level, 0)}%)")
        lines = [head, ""]
        if fitted.any():
            k = self.k[fitted]
            empty = "" if fitted.all() else f"; {int((~fitted).sum())} without studies"
            lines.append(f"studies per meta-analysis (k): min {k.min()}, median {fmt(np.median(k), 1)}, "
                         f"max {k.max()}{empty}")
        else:
            lines.append("no meta-analysis has any study")
        lines.append(f"converged: {int(self.converged.sum())} of {self.m}")
        probs = (0.0, 0.25, 0.5, 0.75, 1.0)
        rows = []
        for name in ("estimate", "tau2", "i2"):
            x = np.asarray(getattr(self, name))[fitted]
            qs = np.quantile(x, probs) if x.size else np.full(len(probs), np.nan)
            rows.append([name, *(fmt(v) for v in qs)])
        lines += ["", table(["", "min", "25%", "median", "75%", "max"], rows)]
        return Summary("\n".join(lines), notes=self.warnings)
