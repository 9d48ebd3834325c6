"""SimulationResult: the table of a simulation study, one row per condition x method x test."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._format import Summary, fmt, jsonable, table
from ._table import Printable, frame

#: the columns describing a condition, then the estimator
CONDITION_COLUMNS = ("condition", "k", "tau2", "effect", "sizes", "metric", "selection", "weight")
ESTIMATOR_COLUMNS = ("method", "test")
#: performance measures (each followed by its Monte Carlo SE, ``<name>_mcse``)
MEASURE_COLUMNS = ("bias", "empse", "rmse", "coverage", "pi_coverage", "rejection", "ci_width", "tau2_bias")
COLUMNS = (*CONDITION_COLUMNS, *ESTIMATOR_COLUMNS, "reps", "converged", "failures",
           *(c for name in MEASURE_COLUMNS for c in (name, f"{name}_mcse")))


@dataclass(frozen=True, eq=False, repr=False)
class SimulationResult(Printable):
    """Result of :func:`commonfactors.simulation_study`.

    Attributes
    ----------
    rows : tuple of dict
        One per condition x method x test, with the keys of ``COLUMNS``: the condition (its 0-based index
        in the grid, ``k``, ``tau2``, true ``effect``, study ``sizes``, ``metric``, publication bias (``selection``:
        "none" or "step") and the selection ``weight``), the ``method`` and ``test``, ``reps`` generated, ``converged`` and
        ``failures`` (fits that did not converge, left out of the measures), and each measure with its Monte
        Carlo standard error: ``bias``, ``empse`` (empirical SE), ``rmse``, ``coverage`` (of the CI),
        ``pi_coverage`` (mean probability that the prediction interval covers a new study's true effect),
        ``rejection`` (of H0: mu = 0 at 1 - level: power, or the type I error rate when ``effect`` is 0),
        ``ci_width`` (mean) and ``tau2_bias``.
    seed, reps, block, level : the run's settings (``block``: replications per task).
    warnings : tuple of str
    """

    rows: tuple[dict, ...]
    seed: int
    reps: int
    block: int
    level: float
    warnings: tuple[str, ...] = ()

    def to_frame(self):
        """The table: one row per condition x method x test, columns ``COLUMNS``."""
        return frame(list(self.rows), COLUMNS)

    def records(self) -> list[dict]:
        """The table's rows as dicts (the command line's CSV)."""
        return [dict(r) for r in self.rows]

    def to_dict(self) -> dict:
        """Settings and the table (``rows``), JSON-able (NaN -> None)."""
        return jsonable({"seed": self.seed, "reps": self.reps, "block": self.block, "level": self.level,
                         "rows": [dict(r) for r in self.rows], "warnings": list(self.warnings)})

    def summary(self) -> Summary:
        """The grid and the main measures (Monte Carlo SE in parentheses)."""
        n_cond = len({r["condition"] for r in self.rows})
        head = (f"Simulation study: {n_cond} condition{'s' if n_cond != 1 else ''} x {self.reps} replications "
                f"(seed {self.seed}, level {fmt(self.level, 0)}%)")

        def pm(r, name, digits=4):
            v, se = r[name], r[f"{name}_mcse"]
            return "NA" if v is None or math.isnan(v) else f"{fmt(v, digits)} ({fmt(se, digits)})"

        cols = ["k", "tau2", "effect", "sizes", "selection", "method", "test", "bias", "rmse", "coverage",
                "pi_coverage", "rejection", "ci_width", "failures"]
        body = [[str(r["k"]), fmt(r["tau2"]), fmt(r["effect"]), r["sizes"],
                 r["selection"] if r["selection"] == "none" else f"step({fmt(r['weight'], 2)})", r["method"], r["test"],
                 pm(r, "bias"), pm(r, "rmse"), pm(r, "coverage"), pm(r, "pi_coverage"), pm(r, "rejection"),
                 pm(r, "ci_width"), str(r["failures"])] for r in self.rows]
        text = "\n".join([head, "", table(cols, body), "",
                          "Monte Carlo standard errors in parentheses (Morris, White & Crowther, 2019)."])
        return Summary(text, notes=self.warnings)

    def plot_simulation(self, ax=None, measure: str = "coverage", **options):
        """Each condition's ``measure`` (default coverage) by method x test, with +-2 Monte Carlo SE
        (:func:`commonfactors.report.figures.simulation`); returns the Axes."""
        from .._plotting import draw

        return draw("simulation", self, ax=ax, measure=measure, **options)
