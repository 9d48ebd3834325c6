"""Table cells as numbers: the one parser of numeric columns, shared by validation (:mod:`._checks`)
and the moderator design (:mod:`._design`).

A cell that is not a number raises InputError naming its row and saying what it looks like instead:
a logical value, a date, a number written with digit separators, or other text.
"""

from __future__ import annotations

import datetime
import decimal
import re

import numpy as np

from .errors import InputError

#: spellings of a missing value in a text column
MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", ".", "-", "#N/A"})
_LOGICAL = frozenset({"true", "false"})
#: a number written with thousands separators: 1,000 or 1.000,5 or 1'000 or 1 000
_THOUSANDS = re.compile(r"[+-]?\d{1,3}([,.' ]\d{3})+([.,]\d+)?", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?|\d{1,2}[/.]\d{1,2}[/.]\d{2,4}", re.ASCII)
_NUMBER_EXPECTED = "a number (or empty / NA for a missing value)"


def _not_a_number(v, *, column, row, source) -> InputError:
    """Why the cell ``v`` is not a number: a logical, a date, a number with separators, or other text."""
    if isinstance(v, (bool, np.bool_)):
        return InputError(f"got {v} (a logical value)", file=source, row=row, column=column,
                          expected=_NUMBER_EXPECTED)
    if isinstance(v, (datetime.date, datetime.time, np.datetime64, np.timedelta64, datetime.timedelta)):
        return InputError(f"got {v} (a date or time)", file=source, row=row, column=column,
                          expected=_NUMBER_EXPECTED)
    s = str(v).strip()
    if s.lower() in _LOGICAL:
        return InputError(f"got {s!r} (a logical value)", file=source, row=row, column=column,
                          expected=_NUMBER_EXPECTED)
    if "_" in s or _THOUSANDS.fullmatch(s):
        return InputError(f"got {s!r}, a number written with a digit separator", file=source, row=row,
                          column=column, expected="a number written without thousands separators or '_' "
                                                  "(1000, not 1,000, 1.000 or 1_000)")
    if _DATE.fullmatch(s):
        return InputError(f"got {s!r} (a date)", file=source, row=row, column=column,
                          expected=_NUMBER_EXPECTED)
    return InputError(f"got {s!r}", file=source, row=row, column=column, expected=_NUMBER_EXPECTED)


def to_float(values, *, column: str | None, rows, source) -> np.ndarray:
    """Convert one column to float64; missing spellings become NaN, anything else that is not a number raises
    InputError naming its row: text, logical values (``True``, ``TRUE``), dates, numbers written with
    thousands separators (``1,000``) or with ``_`` (``1_000``, which Python's ``float()`` would accept),
    and digits other than ASCII 0-9 (which ``float()`` would accept too).
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "iuf":
        return arr.astype(np.float64)
    if arr.dtype.kind in "bMm":
        raise _not_a_number(arr[0] if arr.dtype.kind != "b" else bool(arr[0]), column=column, row=rows[0],
                            source=source)
    out = np.empty(arr.shape[0], dtype=np.float64)
    for i, v in enumerate(arr):
        if v is None or type(v).__name__ == "NAType":  # pandas' NA of nullable columns
            out[i] = np.nan
            continue
        if (isinstance(v, (int, float, decimal.Decimal, np.integer, np.floating))
                and not isinstance(v, (bool, np.bool_))):
            try:
                out[i] = float(v)
            except OverflowError:  # a Python int beyond the range of a float (JSON allows any digits)
                raise InputError(f"got an integer of {len(str(abs(v)))} digits", file=source, row=rows[i],
                                 column=column, expected="a number within the range of double precision "
                                                         "(|x| < 1.8e308)") from None
            continue
        if not isinstance(v, str):
            raise _not_a_number(v, column=column, row=rows[i], source=source)
        s = v.strip()
        if s in MISSING:
            out[i] = np.nan
            continue
        try:
            out[i] = float(s)
        except ValueError:
            raise _not_a_number(s, column=column, row=rows[i], source=source) from None
        if "_" in s or not s.isascii():
            raise _not_a_number(s, column=column, row=rows[i], source=source)
    return out
