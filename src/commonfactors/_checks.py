"""Validation of in-memory data at the package's boundary: with :mod:`._numbers` (cells read as numbers)
and :mod:`._design` (moderators), the one place that raises InputError about data values.

Public functions call these once at their entry; everything inside trusts the clean float64 arrays
they return. Each array travels with ``rows``: the label of each study in the user's terms (the file
line number when the data came from a file, the index label of a DataFrame, ``element i`` (1-based)
for bare arrays), so an error found after filtering still names the row the user sees.
"""

from __future__ import annotations

import difflib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._design import design_matrix
from ._numbers import MISSING, to_float
from .errors import DroppedRowsWarning, InputError


def as_table(data, *, rows: str):
    """``data`` as a pandas DataFrame: a DataFrame as it is, the command line's pandas-free table parsed
    column by column, a mapping of column names to columns of equal length; ``rows`` says what one row holds
    (for the error when there is no data)."""
    if data is None:
        raise InputError("no data was given", expected=f"data= a DataFrame with one row per {rows}")
    if hasattr(data, "iloc"):
        return data
    if hasattr(data, "to_frame"):  # the command line's pandas-free table
        return data.to_frame()
    import pandas as pd

    try:
        return pd.DataFrame(dict(data))
    except (TypeError, ValueError) as e:
        raise InputError(f"data cannot be read as a table ({e})",
                         expected="a DataFrame or a mapping of column names to columns of equal length"
                         ) from None


def label(v):
    """A label as the user wrote it: numbers as numbers (3, not 3.0), text as text."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    return v.item() if hasattr(v, "item") else v


def source_of(data) -> str | None:
    """The file a table was read from, if any."""
    attrs = getattr(data, "attrs", None)
    return attrs.get("source") if isinstance(attrs, dict) else None


class ElementLabels(np.ndarray):
    """The 1-based positions of bare-array inputs; each element reads as ``"element i"``.

    Indexing with a slice or mask gives ElementLabels again; a single element, iteration and
    ``tolist()`` give the strings. Nothing is formatted until a message needs it, so a fit of a million
    studies passed as arrays builds no million strings.
    """

    def __new__(cls, n: int):
        return np.arange(1, n + 1).view(cls)

    def __getitem__(self, key):
        out = super().__getitem__(key)
        return out if isinstance(out, np.ndarray) else f"element {int(out)}"

    def __iter__(self):
        return (f"element {int(p)}" for p in self.view(np.ndarray))

    def tolist(self):
        return list(self)


def row_labels(data, n: int) -> np.ndarray:
    """Labels naming each row to the user: file lines, DataFrame index labels, or 1-based positions."""
    if data is not None and hasattr(data, "index"):
        return np.asarray(data.index)
    return ElementLabels(n)


def format_rows(rows, limit: int = 10) -> str:
    """'rows 7, 12' (or 'elements 2, 5'), shortened after ``limit`` entries."""
    rows = list(rows)
    if rows and isinstance(rows[0], str) and rows[0].startswith("element "):
        noun, items = "element", [r.split(" ", 1)[1] for r in rows]
    else:
        noun, items = "row", [str(r) for r in rows]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return f"{noun}{'s' if len(items) > 1 else ''} {', '.join(items[:limit])}{more}"


def column_names(data) -> list[str]:
    return [str(c) for c in data.columns]


def require_column(data, name: str, *, role: str | None = None) -> None:
    """Raise InputError when ``name`` is not a column of ``data``, suggesting the closest names."""
    names = column_names(data)
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    what = f"the {role} column" if role else "a column"
    raise InputError(f"no column {name!r}{hint}", file=source_of(data),
                     expected=f"{what}; the columns are {', '.join(map(repr, names))}{_other_sheets(data)}")


def _other_sheets(data) -> str:
    """For a table read from one sheet of a workbook of several: which sheet was read, and the others."""
    attrs = getattr(data, "attrs", None)
    sheets = attrs.get("sheets", ()) if isinstance(attrs, dict) else ()
    if len(sheets) < 2:
        return ""
    others = ", ".join(repr(t) for t in sheets if t != attrs.get("sheet"))
    return (f" (of sheet {attrs.get('sheet')!r}; the workbook's other sheets are {others}: choose one with "
            "--sheet NAME or N, or table= in Python)")


#: text a spreadsheet or R writes for a logical value
def _column(data, arg: str, *, name: str) -> np.ndarray:
    """The values of column ``arg`` of ``data`` (given for the argument ``name``), which must exist."""
    if data is None:
        raise InputError(f"{name}={arg!r} names a column, but no data was given",
                         expected="data= a DataFrame, or an array for " + name)
    require_column(data, arg, role=name)
    return np.asarray(data[arg])


def numeric(data, arg, *, name: str, n: int | None = None) -> tuple[np.ndarray, str | None]:
    """Resolve ``arg`` (a column name of ``data``, or an array) to float64; returns (values, column)."""
    if isinstance(arg, str):
        values, column = _column(data, arg, name=name), arg
    else:
        values, column = np.asarray(arg, dtype=object if np.asarray(arg).dtype.kind in "OUS" else None), None
        if values.ndim != 1:
            raise InputError(f"{name} has shape {values.shape}", expected="a one-dimensional array")
        if n is not None and values.shape[0] != n:
            raise InputError(f"{name} has {values.shape[0]} values but the data have {n} rows",
                             expected="one value per study")
    if values.dtype.kind in "iuf":  # numbers already: nothing to parse, no row labels needed
        return values.astype(np.float64), column
    return to_float(values, column=column or name, rows=row_labels(data, values.shape[0]),
                    source=source_of(data)), column


def check_range(x, *, column, rows, source, low=None, high=None, low_open=False, high_open=False,
                expected: str) -> bool:
    """Raise InputError at the first value of the float array ``x`` that is infinite or outside [low, high]
    (open ends as flagged); missing values (NaN) pass. Returns whether ``x`` has a missing value.

    When every value passes (the usual case) this costs two reductions over ``x`` and no array: the minimum
    and the maximum (NaN when a value is) bound all the values.
    """
    if x.size == 0:
        return False
    lo, hi = float(np.minimum.reduce(x)), float(np.maximum.reduce(x))
    if (math.isfinite(lo) and math.isfinite(hi)
            and (low is None or (lo > low if low_open else lo >= low))
            and (high is None or (hi < high if high_open else hi <= high))):
        return False
    bad = np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        if low is not None:
            bad |= (x <= low) if low_open else (x < low)
        if high is not None:
            bad |= (x >= high) if high_open else (x > high)
        bad |= np.isinf(x)
    hit = np.flatnonzero(bad)
    if hit.size:
        i = hit[0]
        raise InputError(f"got {x[i]:g}", file=source, row=rows[i], column=column, expected=expected)
    return math.isnan(lo)


#: bounds of the values a model accepts (see :func:`check_scale` and :func:`check_span`)
YI_MAX = 1e30
VI_MIN, VI_MAX = 1e-30, 1e60
VI_SPAN = 1e8
SCALE_WHY = "beyond it the weights 1/vi, squares and sums overflow or lose all precision in double precision"


def check_scale(y, v, *, ycol, vcol, rows, source, sei: bool = False) -> None:
    """Refuse effect sizes and variances whose arithmetic would overflow or lose all precision.

    Accepted: ``|yi| <= 1e30``, ``1e-30 <= vi <= 1e60`` (standard errors ``1e-15 <= sei <= 1e30``). A
    subnormal variance (below 2.2e-308) is refused by the lower bound; a subnormal effect size is harmless
    (it enters sums and products as the 0 it nearly is).

    Why these bounds: double precision overflows above 1.8e308 and turns subnormal below 2.2e-308 (IEEE
    754). The models form weights ``w = 1/(vi + tau2)``, their squares and cubes (REML information,
    Knapp-Hartung, Egger's test), ``w * yi^2`` and ``(w * yi)^2`` (Q, residuals, influence), and sums of
    these over k studies. Within the bounds every such term is at most ``1e30^4 = 1e120`` (``w^4``,
    ``vi^4 <= 1e240``) and at least ``1e-240``, so sums over even 10^9 studies stay 10^60 away from
    overflow and underflow. Real data sit far inside: effect sizes on standardised, log or correlation
    scales are below 100 in size, raw mean differences below 1e10, and a sampling variance of 1e-30
    would need some 10^30 participants.
    """
    kind = "standard error" if sei else "sampling variance"
    low, high = (math.sqrt(VI_MIN), math.sqrt(VI_MAX)) if sei else (VI_MIN, VI_MAX)
    check_range(v, column=vcol, rows=rows, source=source, low=low, high=high,
                expected=f"a {kind} between {low:g} and {high:g} ({SCALE_WHY})")
    check_range(y, column=ycol, rows=rows, source=source, low=-YI_MAX, high=YI_MAX,
                expected=f"a finite effect size with |yi| <= {YI_MAX:g} ({SCALE_WHY})")


def check_span(v, *, column, rows, source) -> None:
    """Refuse sampling variances more than :data:`VI_SPAN` (1e8) times apart within one analysis.

    Double precision keeps about 16 digits. REML's information ``tr(PP) = sum(w^2) - 2 sum(w^3)/sum(w) +
    (sum(w^2)/sum(w))^2`` and ``tr(P) = sum(w) - sum(w^2)/sum(w)`` cancel their leading terms when one
    weight ``w = 1/vi`` dominates, leaving a relative error of about 1e-16 times the squared weight ratio:
    with variances 1e10 apart they come out 0 (random data show it; 1e8 apart they do not). Real variances
    span a few orders of magnitude (samples of 10 to 10^6 participants give 10^5); beyond eight, rows are
    most likely in different units.
    """
    if v.size == 0:
        return
    lo, hi = float(np.fmin.reduce(v)), float(np.fmax.reduce(v))  # NaN (missing) ignored
    if not hi > VI_SPAN * lo:
        return
    with np.errstate(invalid="ignore"):
        i, j = int(np.nanargmin(v)), int(np.nanargmax(v))
    where = format_rows([rows[i]])
    raise InputError(f"the sampling variances span {hi / lo:.1e} times, from {lo:g} ({where}) "
                     f"to {hi:g}", file=source, row=rows[j], column=column,
                     expected=f"variances within a factor of {VI_SPAN:g} of each other (beyond it the "
                              "smaller weights are lost to rounding; check the units of these rows)")


def warn_dropped(rows, what: str, stacklevel: int = 4) -> None:
    rows = list(rows)
    if rows:
        n = len(rows)
        warnings.warn(f"{n} {'study' if n == 1 else 'studies'} with {what} omitted ({format_rows(rows)})",
                      DroppedRowsWarning, stacklevel=stacklevel)


@dataclass(frozen=True)
class EffectData:
    """Clean inputs of a meta-analytic model: the boundary's output, trusted by ``models``.

    yi, vi : float64 arrays of shape (k,), finite, vi > 0.
    X : float64 array of shape (k, p), intercept first (without moderators the read-only column of ones
        of :func:`intercept`).
    names : coefficient names, length p ("intrcpt" first, as metafor).
    rows : labels of the k studies in the user's terms (file lines, index labels or positions).
    slab : study labels for printing, length k (the ``rows`` labels when no slab was given).
    dropped : labels of rows left out for missing values.
    """

    yi: np.ndarray
    vi: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    rows: np.ndarray
    slab: np.ndarray
    source: str | None
    dropped: tuple = ()
    frame: object = None  # the kept rows of the input table (for subgroups); None for bare arrays
    index: np.ndarray | None = None  # 0-based positions of the kept rows in the input; None: all, in order

    def positions(self) -> np.ndarray:
        """0-based positions of the kept rows in the input: ``index``, or 0, ..., k - 1 when it is None."""
        return np.arange(self.yi.shape[0]) if self.index is None else self.index


def effect_data(data=None, *, yi="yi", vi="vi", sei=None, mods=None, slab=None) -> EffectData:
    """Validate effect sizes, variances and moderators once; drop incomplete rows with a warning.

    ``vi`` may be replaced by ``sei`` (standard errors, > 0). ``mods`` is a formula string
    (``"~ ablat + C(alloc)"``), evaluated with formulaic in R's treatment coding, or an array of
    shape (k,) or (k, q) of moderator values (an intercept is added).
    """
    source = source_of(data)
    y, ycol = numeric(data, yi, name="yi")
    k0 = y.shape[0]
    if k0 == 0:
        raise InputError("no studies", file=source, expected="at least one row with yi and vi")
    rows = row_labels(data, k0)
    if sei is not None:
        s, scol = numeric(data, sei, name="sei", n=k0)
        v_missing = check_range(s, column=scol or "sei", rows=rows, source=source, low=0, low_open=True,
                                expected="a standard error > 0")
        check_scale(y, s, ycol=ycol or "yi", vcol=scol or "sei", rows=rows, source=source, sei=True)
        np.square(s, out=s)
        v, vcol = s, scol or "sei"
    else:
        v, vcol = numeric(data, vi, name="vi", n=k0)
        v_missing = check_range(v, column=vcol or "vi", rows=rows, source=source, low=0, low_open=True,
                                expected="a sampling variance > 0")
        check_scale(y, v, ycol=ycol or "yi", vcol=vcol or "vi", rows=rows, source=source)
    check_span(v, column=vcol or "vi", rows=rows, source=source)
    y_missing = check_range(y, column=ycol or "yi", rows=rows, source=source, expected="a finite effect size")
    if y_missing or v_missing:
        keep = ~(np.isnan(y) | np.isnan(v))
    else:  # every row complete: no mask of k booleans
        keep = None
    what = "missing yi or " + ("sei" if sei is not None else "vi")
    if slab is None:
        labels = rows  # the row labels themselves: no per-row string conversion on a million rows
    elif isinstance(slab, str):
        require_column(data, slab, role="slab")
        labels = np.asarray([str(x) for x in data[slab]], dtype=object)
    else:
        labels = np.asarray([str(x) for x in slab], dtype=object)
    dropped = [] if keep is None else list(rows[~keep])
    if mods is None:
        names = ("intrcpt",)
        warn_dropped(dropped, what)
    else:
        keep = np.ones(k0, dtype=bool) if keep is None else keep
        X, names, mods_ok = design_matrix(data, mods, rows=rows, source=source, keep=keep)
        warn_dropped(dropped, what)
        warn_dropped(list(rows[keep & ~mods_ok]), "a missing moderator")
        keep = keep & mods_ok
    if keep is not None and keep.all():
        keep = None
    if keep is not None and not keep.any():
        raise InputError("no study has both yi and vi", file=source, expected="at least one complete row")
    index = None if keep is None else np.flatnonzero(keep)  # None: every row kept, in order
    sel = slice(None) if keep is None else index  # no copies of a million complete rows
    k = k0 if index is None else index.shape[0]
    # without moderators X is the intercept column: one 1.0 repeated k times, a read-only view
    X = intercept(k) if mods is None else X[sel]
    frame = None
    if data is not None and hasattr(data, "iloc"):
        frame = data if keep is None else data.iloc[index]
    return EffectData(yi=y[sel], vi=v[sel], X=X, names=tuple(names), rows=rows[sel], slab=labels[sel],
                      source=source, dropped=tuple(dropped), frame=frame, index=index)


def intercept(k: int) -> np.ndarray:
    """The design matrix of a model without moderators, shape (k, 1): a column of ones that stores one
    number (``np.broadcast_to``, read-only), so a million studies cost no array of a million ones."""
    return np.broadcast_to(np.ones((1, 1)), (k, 1))


def group_codes(data, arg, *, name: str, n: int) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Resolve a grouping column (cluster / effect IDs) to integer codes; returns (codes, levels, column).

    ``arg`` is a column name of ``data`` or an array of length ``n``. Labels are compared as given
    (numbers as numbers, text stripped of surrounding blanks); missing values get code -1, for the
    caller to drop with a warning. ``levels[code]`` is the label of each code.
    """
    if isinstance(arg, str):
        values, column = _column(data, arg, name=name), arg
    else:
        values, column = np.asarray(arg), None
        if values.ndim != 1 or values.shape[0] != n:
            raise InputError(f"{name} has shape {values.shape} but the data have {n} rows",
                             expected="one label per study")
    if values.dtype.kind in "biuf":
        labels = values.astype(np.float64)
        missing = np.isnan(labels)
    else:
        labels = np.char.strip(values.astype(str))  # None, NaN and pandas' NA print as below
        missing = np.isin(labels, [*MISSING, "None", "<NA>"])
    codes = np.full(labels.shape[0], -1, dtype=np.int64)
    levels, inverse = np.unique(labels[~missing], return_inverse=True)
    codes[~missing] = inverse
    return codes, levels, column
