"""Design matrices for meta-regression: R's formula conventions through formulaic.

Categorical moderators use treatment coding with the first level (in sorted order) as reference,
as R's default contrasts do. ``pmin``/``pmax`` are available in formulas, as in R
(``~ I(pmin(weeks, 3))``). Part of the validation boundary: problems raise InputError.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

#: R functions usable inside formulas, mapped to numpy.
FORMULA_CONTEXT = {"pmin": np.minimum, "pmax": np.maximum, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}


def _as_frame(data):
    if hasattr(data, "to_frame") and not hasattr(data, "iloc"):
        return data.to_frame()  # RawTable -> DataFrame, numbers parsed per column
    return data


def coefficient_name(term: str) -> str:
    """formulaic's names in metafor's spelling.

    'Intercept' -> 'intrcpt', 'alloc[T.random]' -> 'allocrandom'.
    """
    if term == "Intercept":
        return "intrcpt"
    if "[T." in term and term.endswith("]"):
        var, level = term[:-1].split("[T.", 1)
        if var.startswith("C(") and var.endswith(")"):
            var = var[2:-1].split(",")[0]
        return f"{var}{level}"
    return term


def design_matrix(data, mods, *, rows, source, keep):
    """Build X (k, p) with an intercept.

    Returns (X, names, ok) where ok flags rows with complete moderators.
    """
    k = len(rows)
    if not isinstance(mods, str):
        M = np.asarray(mods, dtype=float)
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
    from formulaic import Formula, model_matrix

    formula = mods.strip()
    if not formula.startswith("~"):
        formula = "~ " + formula
    frame = _as_frame(data)
    try:
        needed = sorted(Formula(formula).required_variables)
    except Exception as e:  # formulaic raises many exception types for syntax errors
        raise InputError(f"cannot parse the moderator formula {mods!r}: {e}", file=source,
                         expected="an R-style formula such as '~ ablat + C(alloc)'") from None
    names_in = [str(c) for c in frame.columns]
    for v in needed:
        if v not in names_in and v not in FORMULA_CONTEXT:
            from ._checks import require_column

            require_column(frame, v, role="moderator")
    used = [v for v in needed if v in names_in]
    ok = np.ones(k, dtype=bool)
    for v in used:
        ok &= ~pd.isna(frame[v]).to_numpy()
    sub = frame.iloc[np.flatnonzero(ok & keep)]
    for v in used:  # a moderator with one value explains nothing and makes X singular
        if sub[v].nunique() < 2 and len(sub):
            raise InputError(f"moderator {v!r} has a single value ({sub[v].iloc[0]!r}) in the studies used",
                             file=source, column=v, expected="a moderator with at least two levels")
    try:
        mm = model_matrix(formula, sub, context=FORMULA_CONTEXT, na_action="raise")
    except Exception as e:
        raise InputError(f"cannot evaluate the moderator formula {mods!r}: {e}", file=source,
                         expected="moderators that are numbers or categories") from None
    names = tuple(coefficient_name(str(c)) for c in mm.columns)
    if names[0] != "intrcpt":
        raise InputError(f"the formula {mods!r} removes the intercept", file=source,
                         expected="a model with an intercept (the '- 1' form is not supported)")
    X = np.full((k, len(names)), np.nan)
    X[np.flatnonzero(ok & keep)] = np.asarray(mm, dtype=float)
    _check_rank(X, ok & keep, names, source)
    return X, names, ok


def _check_rank(X, use, names, source):
    Xu = X[use]
    if Xu.shape[0] and np.linalg.matrix_rank(Xu) < Xu.shape[1]:
        raise InputError(f"the moderators are collinear ({', '.join(names[1:])})", file=source,
                         expected="moderators that are not linear combinations of each other")
