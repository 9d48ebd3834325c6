"""Effect sizes and their sampling variances, with metafor's (``escalc``) definitions and defaults.

``MEASURES`` is a registry of small functions, one per measure, each declaring the escalc arguments
it needs and citing its source. :func:`effect_sizes` validates the inputs once (through ``_checks``),
handles zero cells of count data as metafor does (``add=1/2, to="only0", drop00=False``), calls the
measure and returns the input table with ``yi`` and ``vi`` appended.

The conversions (:func:`d_to_r`, :func:`r_to_d`, :func:`d_to_logor`, :func:`logor_to_d`,
:func:`d_from_t`, :func:`d_from_f`, :func:`d_from_p`) return a :class:`Conversion` ``(yi, vi)``;
:func:`d_variance` is the large-sample variance of a standardized mean difference.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np

from .. import _checks
from ..errors import CommonFactorsWarning, DroppedRowsWarning, InputError
from .conversions import (
    Conversion,
    d_from_f,
    d_from_p,
    d_from_t,
    d_to_logor,
    d_to_r,
    d_variance,
    logor_to_d,
    r_to_d,
)
from .measures import _ALTERNATIVES, ARGUMENTS, MEASURES, Measure, hedges_j

__all__ = [
    "effect_sizes",
    "MEASURES",
    "Measure",
    "ARGUMENTS",
    "Conversion",
    "d_to_r",
    "r_to_d",
    "d_to_logor",
    "logor_to_d",
    "d_from_t",
    "d_from_f",
    "d_from_p",
    "d_variance",
    "hedges_j",
]

To = Literal["only0", "all", "if0all", "none"]


def _resolve_measure(name) -> Measure:
    key = str(name).upper()
    if key not in MEASURES:
        raise InputError(f"unknown measure {name!r}", expected="one of " + ", ".join(MEASURES))
    return MEASURES[key]


def _warn(rows, what: str, found: list, outcome="yi/vi set to NA", category=DroppedRowsWarning) -> None:
    rows = list(rows)
    if rows:
        n = len(rows)
        studies = f"{n} {'study' if n == 1 else 'studies'}"
        text = f"{studies} with {what}: {outcome} ({_checks.format_rows(rows)})"
        found.append(text)
        warnings.warn(text, category, stacklevel=3)


def _first_bad(bad, values, *, column, rows, source, expected):
    hit = np.flatnonzero(bad)
    if hit.size:
        i = hit[0]
        raise InputError(f"got {values[i]:g}", file=source, row=rows[i], column=column, expected=expected)


def _validated(m: Measure, data, given: dict, alt: dict):
    """Resolve and check the measure's inputs once; derive bi/di/mi from totals.

    Returns (values, names, rows, source): float64 arrays by escalc argument, the column (or argument)
    name of each for messages, the row labels and the source file.
    """
    n = len(data) if data is not None else None
    values, names = {}, {}
    for arg, spec in given.items():
        if arg in m.optional:
            continue
        values[arg], col = _checks.numeric(data, spec, name=arg, n=n)
        names[arg] = col or arg
        n = values[arg].shape[0]
    source = _checks.source_of(data)
    if n == 0:
        raise InputError("no studies", file=source, expected="at least one row")
    rows = _checks.row_labels(data, n)

    def check(arg, bad, expected):
        _first_bad(bad, values[arg], column=names[arg], rows=rows, source=source, expected=expected)

    with np.errstate(invalid="ignore"):
        for arg, x in values.items():
            check(arg, np.isinf(x), "a finite number")
            if arg in ("sd1i", "sd2i", "sdi"):
                check(arg, x < 0, "a standard deviation >= 0")
            elif arg == "ri":
                check(arg, (x < -1) | (x > 1), "a correlation between -1 and 1")
            elif arg in ("n1i", "n2i", "ni"):
                low = m.n_min.get(arg, 1)
                check(arg, x < low, f"a sample size >= {low} for measure {m.name}")
            elif arg in ("t1i", "t2i"):
                check(arg, x <= 0, "a person-time > 0")
            if arg in m.cells or arg in ("ai", "ci", "xi"):
                check(arg, x < 0, "a count >= 0")
        for need, (total, count) in alt.items():
            if need in values:
                continue
            hit = np.flatnonzero(values[count] > values[total])
            if hit.size:
                i = hit[0]
                raise InputError(
                    f"got {values[count][i]:g} but {names[total]} is {values[total][i]:g}",
                    file=source,
                    row=rows[i],
                    column=names[count],
                    expected=f"a count <= {names[total]} (the group size)",
                )
            values[need] = values[total] - values[count]
    return values, names, rows, source


def _zero_cells(m: Measure, inputs: dict, ok, *, add, to, drop00, rows, found):
    """metafor's zero-cell rules: drop00 (2x2 tables and IRR), then ``add`` to the cells chosen by ``to``."""
    cells = np.column_stack([inputs[a] for a in m.cells])
    if drop00 and m.empty is not None:
        empty, what = m.empty(inputs)
        empty = ok & empty
        _warn(rows[empty], what, found)
        ok = ok & ~empty
    zero = ok & np.any(cells == 0, axis=1)
    to_add = {"only0": zero, "all": ok, "if0all": ok & zero.any(), "none": np.zeros(ok.shape, bool)}[to]
    return {**inputs, **{a: np.where(to_add, inputs[a] + add, inputs[a]) for a in m.cells}}, ok


def effect_sizes(
    data=None,
    measure: str = "SMD",
    *,
    add: float = 0.5,
    to: To = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    **columns,
):
    """Compute effect sizes ``yi`` and sampling variances ``vi`` as metafor's ``escalc``.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per study. Column arguments are column names of ``data``, or arrays (one value per row).
    measure : str
        A key of ``MEASURES``: SMD, SMDH, MD, ROM, SMCC, SMCR, COR, UCOR, ZCOR, OR, RR, RD, IRR, PR, PLN,
        PLO, PAS, PFT, MN.
    ai, bi, ci, di, n1i, n2i, x1i, x2i, t1i, t2i, m1i, m2i, sd1i, sd2i, ri, ni, xi, mi, sdi : str or array
        The measure's inputs, named as in escalc (``MEASURES[m].signature`` lists them). 2x2 tables take
        ``ai, bi, ci, di`` or ``ai, ci, n1i, n2i``; incidence rates events ``x1i, x2i`` and person-time
        ``t1i, t2i``; proportions ``xi, ni`` or ``xi, mi``.
    add : float
        Added to the counts (2x2 tables; ``x1i`` and ``x2i`` for IRR; ``xi`` and ``mi`` for PR, PLN and
        PLO; PAS and PFT need none). Default 1/2.
    to : {"only0", "all", "if0all", "none"}
        Which studies get ``add``: those with a zero cell (default, as metafor), all, all when any study
        has a zero cell, or none.
    drop00 : bool
        2x2 tables with no events (ai = ci = 0) or only events (bi = di = 0), and IRR with no events in
        either group, give NA. Default False.
    vtype : {"LS", "UB"}
        The sampling variance: large-sample (default) or, for SMD, unbiased (Hedges 1983).

    Returns
    -------
    pandas.DataFrame
        A copy of ``data`` (or a table of the given arrays) with ``yi`` (the effect size) and ``vi``
        (its sampling variance) appended; ``attrs["measure"]`` is the measure and ``attrs["warnings"]``
        the warnings raised.

    Raises
    ------
    InputError
        A column is missing or holds text, a sample size is below the measure's limit, an SD is negative
        or makes the measure undefined, a correlation is outside [-1, 1], a count is negative or above
        its group size; the message names the file, row and column.

    Warns
    -----
    DroppedRowsWarning
        "N studies with missing inputs: yi/vi set to NA (rows ...)", and likewise for tables dropped by
        ``drop00``, for values that cannot be computed (zero cells with ``to="none"``) and for samples
        too small, which escalc keeps as NA (ni <= 3 for COR and ZCOR: vi; ni <= 4 for UCOR: yi and vi).
    CommonFactorsWarning
        "N studies with 0 in column 'sd1': computed as given (rows ...)": a standard deviation of 0 in
        one group (SMD, SMDH, MD, ROM, SMCC), computed as escalc does, is usually a missing value.

    References
    ----------
    Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J. Stat. Softw.,
    36(3), 1-48. Each measure's own sources are in ``MEASURES[m].reference``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"tpos": [4, 6], "tneg": [119, 300], "cpos": [11, 29], "cneg": [128, 274]})
    >>> out = effect_sizes(df, "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    >>> out[["yi", "vi"]].round(4)
           yi      vi
    0 -0.8893  0.3256
    1 -1.5854  0.1946
    """
    import pandas as pd

    m = _resolve_measure(measure)
    unknown = sorted(set(columns) - set(ARGUMENTS))
    if unknown:
        raise InputError(
            f"unknown argument {unknown[0]!r}", expected="escalc's arguments " + ", ".join(ARGUMENTS)
        )
    if to not in ("only0", "all", "if0all", "none"):
        raise InputError(f"to={to!r}", expected='one of "only0", "all", "if0all", "none"')
    if not (isinstance(add, (int, float)) and math.isfinite(add) and add >= 0):
        raise InputError(f"add={add!r}", expected="a number >= 0")
    if vtype not in m.vtypes:
        raise InputError(f"vtype={vtype!r} for measure {m.name}", expected="one of " + ", ".join(m.vtypes))
    given = {a: c for a, c in columns.items() if c is not None}
    if data is not None and not isinstance(data, pd.DataFrame):
        data = data.to_frame() if hasattr(data, "to_frame") else pd.DataFrame(data)
    alt = {k: v for k, v in _ALTERNATIVES.items() if k in m.needs} if m.cells else {}
    missing = [a for a in m.needs if a not in given and not (a in alt and alt[a][0] in given)]
    if missing:
        raise InputError(
            f"measure {m.name} needs {m.signature}; missing {', '.join(missing)}",
            expected="the missing arguments as column names or arrays",
        )
    usable = set(m.needs) | set(m.optional) | {alt[a][0] for a in m.needs if a in alt}
    extra = sorted(set(given) - usable)
    if extra:
        raise InputError(
            f"measure {m.name} does not use {', '.join(extra)}", expected=f"the arguments {m.signature}"
        )

    values, names, rows, source = _validated(m, data, given, alt)
    inputs = {a: values[a] for a in m.needs}
    n = rows.shape[0]
    ok = ~np.any(np.isnan(np.column_stack(list(inputs.values()))), axis=1)
    if m.undefined is not None:
        bad, arg, expected = m.undefined(inputs)
        _first_bad(bad & ok, values[arg], column=names[arg], rows=rows, source=source, expected=expected)
    found: list[str] = []
    _warn(rows[~ok], "missing inputs", found)
    if m.cells and m.adds:
        inputs, ok = _zero_cells(m, inputs, ok, add=add, to=to, drop00=drop00, rows=rows, found=found)

    yi, vi = np.full(n, np.nan), np.full(n, np.nan)
    options = {"vtype": vtype} if vtype != "LS" else {}
    with np.errstate(divide="ignore", invalid="ignore"):
        y, v = m.function(**{a: x[ok] for a, x in inputs.items()}, **options)
    yi[ok], vi[ok] = y, v
    small = np.zeros(n, bool)
    if m.small is not None:
        arg, at_most, fields, why = m.small
        small = ok & (inputs[arg] <= at_most)
        _warn(rows[small], f"{names[arg]} <= {at_most:g} ({why})", found, f"{fields} set to NA")
        vi[small] = np.nan
        if fields == "yi/vi":
            yi[small] = np.nan
    undefined = ok & ~small & ~(np.isfinite(yi) & np.isfinite(vi))
    _warn(
        rows[undefined], f"{m.name} undefined" + (" (zero cells; see add and to)" if m.cells else ""), found
    )
    yi[undefined] = vi[undefined] = np.nan
    for arg in ("sd1i", "sd2i"):
        if arg in m.needs:
            zero = ok & ~undefined & (inputs[arg] == 0)
            what = f"0 in column {names[arg]!r} (an SD of 0 is usually a missing value coded 0)"
            _warn(rows[zero], what, found, "computed as given", CommonFactorsWarning)

    if data is not None:
        out = data.copy()
    else:
        out = pd.DataFrame({a: values[a] for a in given if a in values})
    out["yi"], out["vi"] = yi, vi
    out.attrs["measure"] = m.name
    out.attrs["warnings"] = found
    if source:
        out.attrs["source"] = source
    return out
