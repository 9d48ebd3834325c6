"""Design matrices for meta-regression: R's formula conventions through formulaic.

Categorical moderators use treatment coding with the first level (in sorted order) as reference,
as R's default contrasts do. A formula is checked by :mod:`._formula` before anything in it is evaluated
(what it may contain is listed there; ``pmin``/``pmax`` as in R, ``~ I(pmin(weeks, 3))``). Part of the
validation boundary: problems raise InputError.
"""

from __future__ import annotations

import re

import numpy as np

from ._numbers import to_float
from .errors import InputError


def _as_frame(data):
    if hasattr(data, "to_frame") and not hasattr(data, "iloc"):
        return data.to_frame()  # RawTable -> DataFrame, numbers parsed per column
    return data


def coefficient_name(term: str) -> str:
    """formulaic's names in metafor's spelling, factor by factor for interactions.

    'Intercept' -> 'intrcpt', 'alloc[T.random]' -> 'allocrandom', 'poly(ablat, 2)[1]' -> 'poly(ablat, 2)1',
    'ablat:C(alloc)[T.random]' -> 'ablat:allocrandom'.
    """
    if term == "Intercept":
        return "intrcpt"
    return ":".join(_factor_name(f) for f in _interaction_factors(term))


def _interaction_factors(term: str) -> list[str]:
    """Split 'a:C(b, Treatment('x:y'))[T.c]' at the colons outside brackets and quotes."""
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(term):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ":" and depth == 0:
            parts.append(term[start:i])
            start = i + 1
    return [*parts, term[start:]]


def _factor_name(factor: str) -> str:
    poly = re.fullmatch(r"(poly\(.*\))\[(\d+)\]", factor)
    if poly:
        return poly[1] + poly[2]
    if "[T." in factor and factor.endswith("]"):
        var, level = factor[:-1].split("[T.", 1)
        if var.startswith("C(") and var.endswith(")"):
            var = var[2:-1].split(",")[0]
        elif var.startswith("factor(") and "," in var:  # factor(alloc, Treatment('random')) as factor(alloc)
            var = var.split(",")[0] + ")"
        return f"{var}{level}"
    return factor


def design_matrix(data, mods, *, rows, source, keep):
    """Build X (k, p) with an intercept.

    Returns (X, names, ok) where ok flags rows with complete moderators.
    """
    k = len(rows)
    if not isinstance(mods, str):
        try:
            M = np.asarray(mods, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"mods is a {type(mods).__name__}", file=source,
                             expected="a formula string such as '~ ablat + C(alloc)' or an array of numbers "
                             "with one row per study") from None
        if M.ndim == 1:
            M = M[:, None]
        if M.shape[0] != k:
            raise InputError(f"mods has {M.shape[0]} rows but there are {k} studies",
                             expected="one row per study")
        ok = ~np.isnan(M).any(axis=1)
        X = np.column_stack([np.ones(k), M])
        names = ("intrcpt", *[f"mod{j + 1}" for j in range(M.shape[1])])
        _check_rank(X, ok & keep, names, source)
        return X, names, ok
    if data is None:
        raise InputError(f"mods={mods!r} is a formula, but no data was given", expected="data= a table")
    import pandas as pd
    from formulaic import model_matrix

    from ._formula import check_formula, context

    frame = _as_frame(data)
    checked = check_formula(mods, [str(c) for c in frame.columns], source=source, k=k)
    ok = np.ones(k, dtype=bool)
    for v in checked.columns:
        ok &= ~pd.isna(frame[v]).to_numpy()
    use = np.flatnonzero(ok & keep)
    sub = _numbers_where_needed(frame.iloc[use], checked.numeric, rows=rows[use], source=source)
    for v in checked.columns:  # a moderator with one value explains nothing and makes X singular
        if sub[v].nunique() < 2 and len(sub):
            raise InputError(f"moderator {v!r} has a single value ({sub[v].iloc[0]!r}) in the studies used",
                             file=source, column=v, expected="a moderator with at least two levels")
    _check_references(sub, checked.references, source)
    try:
        with np.errstate(all="ignore"):  # log(0), 1/0: reported below with their row, not as warnings
            mm = model_matrix(checked.formula, sub, context=context(), na_action="ignore")
    except Exception as e:
        raise InputError(f"cannot evaluate the moderator formula {mods!r}: {e}", file=source,
                         expected="moderators that are numbers or categories") from None
    names = tuple(coefficient_name(str(c)) for c in mm.columns)
    if names[0] != "intrcpt":
        raise InputError(f"the formula {mods!r} removes the intercept", file=source,
                         expected="a model with an intercept (the '- 1' form is not supported)")
    X = np.full((k, len(names)), np.nan)
    X[use] = np.asarray(mm, dtype=float)
    _check_finite(X[use], rows[use], names, source)
    _check_rank(X, ok & keep, names, source)
    return X, names, ok


def _numbers_where_needed(sub, numeric, *, rows, source):
    """The columns used in arithmetic or functions as float64; text in them names its row."""
    text = sorted(v for v in numeric if sub[v].dtype.kind not in "biuf")
    if not text:
        return sub
    return sub.assign(**{v: to_float(sub[v].to_numpy(), column=v, rows=rows, source=source) for v in text})


def _check_references(sub, references, source):
    """Each Treatment('level') names a level present in its column."""
    for column, level, term in references:
        levels = sub[column].unique().tolist()
        if level not in levels:
            shown = ", ".join(map(repr, sorted(map(str, levels))))
            raise InputError(f"the moderator formula term {term!r} names the reference level {level!r}, "
                             f"which is not a value of {column!r}", file=source, column=column,
                             expected=f"one of {shown}")


def _check_finite(Xu, rows, names, source):
    """The design holds numbers: log(0), sqrt(-1) or 1/0 in a formula name their row and coefficient."""
    bad = np.argwhere(~np.isfinite(Xu))
    if bad.size:
        i, j = bad[0]
        raise InputError(f"the moderator formula gives {Xu[i, j]:g} for {names[j]!r}", file=source,
                         row=rows[i], expected="finite moderator values (log and sqrt of positive numbers, "
                         "no division by zero)")


def _check_rank(X, use, names, source):
    Xu = X[use]
    if Xu.shape[0] and np.linalg.matrix_rank(Xu) < Xu.shape[1]:
        raise InputError(f"the moderators are collinear ({', '.join(names[1:])})", file=source,
                         expected="moderators that are not linear combinations of each other")
