"""What the result classes print and tabulate alike: coefficient rows as metafor prints them, p-value and
degrees-of-freedom text, one-row frames and ``__repr__`` as the summary text."""

from __future__ import annotations

import math

from .._format import fmt, fmt_p, table

#: the columns of a coefficient, in the order of the command line contract
COEF_FIELDS = ("name", "estimate", "se", "stat", "pval", "ci_low", "ci_high")


class Printable:
    """``__repr__`` is the summary text, as a metafor user expects from typing the object's name."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self.summary())


def pick(obj, names) -> dict:
    """``{name: obj.name}`` for each of ``names``, unconverted."""
    return {n: getattr(obj, n) for n in names}


def frame(rows: list[dict], columns) -> object:
    """A DataFrame of ``rows`` with ``columns`` in this order (pandas imported only when called)."""
    import pandas as pd

    return pd.DataFrame(rows, columns=list(columns))


def one_row(obj, columns) -> object:
    """A one-row DataFrame of ``obj``'s attributes ``columns``."""
    return frame([pick(obj, columns)], columns)


def pval_eq(p: float, digits: int = 4) -> str:
    """``= 0.0123`` or ``< .0001``, as metafor prints a p-value after "p-val"."""
    s = fmt_p(p, digits)
    return s.replace("<", "< ") if s.startswith("<") else f"= {s}"


def df_text(df: float) -> str:
    """Degrees of freedom: whole numbers without decimals, others with two, infinity as "inf"."""
    return "inf" if math.isinf(df) else str(int(df)) if df == int(df) else fmt(df, 2)


def coef_header(stat: str = "zval", df: bool = False) -> list[str]:
    """The header of metafor's coefficient table (an empty name column first)."""
    return ["", "estimate", "se", stat, *(["df"] if df else []), "pval", "ci.lb", "ci.ub"]


def coef_cells(c, digits: int = 4, df: str | None = None) -> list[str]:
    """estimate, se, statistic, ``df`` (when given, as text), pval, ci.lb and ci.ub of a coefficient."""
    cells = [fmt(c.estimate, digits), fmt(c.se, digits), fmt(c.stat, digits)]
    cells += [] if df is None else [df]
    return cells + [fmt_p(c.pval, digits), fmt(c.ci_low, digits), fmt(c.ci_high, digits)]


def coef_table(header: list[str], rows: list[list[str]], names: bool = True) -> str:
    """The coefficient table; without ``names`` the name column is left out, as metafor prints the pooled
    effect of a model without moderators."""
    if names:
        return table(header, rows)
    text = table(["", *header[1:]], [["", *r[1:]] for r in rows])
    return "\n".join(line[2:] for line in text.split("\n"))
