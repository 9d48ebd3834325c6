"""What every reader shares: the file check, the row-precise errors, the library warnings re-issued,
missing values and column types."""

from __future__ import annotations

import os
import re
import stat
import warnings
from pathlib import Path

import numpy as np

from ..errors import CommonFactorsWarning, InputError

#: Strings read as missing values (R's and spreadsheets' usual spellings), matched exactly.
MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", ".", "-", "#N/A"})

_SUPPORTED = ("CSV/TSV (.csv .tsv .txt), Excel (.xlsx), SPSS (.sav), Stata (.dta), R (.rds .RData), "
              "Parquet or JSON")


_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)


#: why a first column without a name is left out (R's write.csv and pandas' to_csv write row names so)
ROW_NAMES_NOTE = "the first column has no name: read as row names (as R's write.csv writes them) and left out"


def _check_header(header: list[str], *, path, line: int) -> list[str]:
    """The stripped column names; a nameless *first* column is allowed (row names), and stays ""."""
    names = [h.strip() for h in header]
    if "" in names[1:] or names == [""]:
        i = names.index("", 1) if "" in names[1:] else 0
        raise InputError(f"column {i + 1} has an empty name", file=path, row=line,
                         expected="a header row naming every column")
    seen = set()
    for h in names:
        if h in seen:
            raise InputError(f"column name {h!r} appears twice in the header", file=path, row=line,
                             expected="unique column names")
        seen.add(h)
    if all(_NUMBER.fullmatch(h) for h in names if h):
        raise InputError(f"the first row holds only numbers ({', '.join(names[:4])})", file=path, row=line,
                         expected="a header row naming the columns (for example yi, vi)")
    return names


def _empty_error(path) -> InputError:
    return InputError("the file is empty", file=path, expected="a header row and at least one data row")


def _no_rows_error(path) -> InputError:
    return InputError("the file has a header but no data rows", file=path, expected="at least one data row")


def _existing(path) -> Path:
    """``path`` as a regular file this process may read; anything else is an InputError naming it.

    A directory, a pipe (FIFO), a socket or a device is refused before it is opened (reading a pipe would
    wait for a writer forever); a file without read permission is refused by opening it.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError("no such file", file=path, expected="a readable file or a dataset ID") from None
    except OSError as e:
        raise _os_error(path, e) from None
    if stat.S_ISDIR(mode):
        raise InputError("is a directory", file=path, expected=f"a data file: {_SUPPORTED}")
    if not stat.S_ISREG(mode):
        kind = ("a pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
        raise InputError(f"is {kind}, not a regular file", file=path, expected=f"a data file: {_SUPPORTED}")
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise _os_error(path, e) from None
    return path


def _os_error(path, e: OSError) -> InputError:
    """A file the system refuses to read (permission denied, an I/O error) as one line naming it."""
    why = (e.strerror or type(e).__name__).lower()
    expected = ("a file this user may read (check its permissions)" if isinstance(e, PermissionError)
                else "a readable file")
    return InputError(f"cannot be read ({why})", file=path, expected=expected)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise _os_error(path, e) from None


def _library_error(path, what: str, e: Exception) -> InputError:
    """``what`` is the format with its article ("an SPSS .sav"); the library's message, without the path."""
    msg = re.sub(r"^Could not open [\w ]+ input source '[^']*': ", "", str(e))  # pyarrow names the path again
    msg = " ".join(msg.replace(f"'{os.fspath(path)}'", "the file").split()) or type(e).__name__
    return InputError(f"cannot be read as {what} file ({msg})", file=path,
                      expected=f"{what} file, complete and uncorrupted")


def _library_read(path, what: str, read):
    """``read()`` with the warnings it issues recorded (none printed), for :func:`_reissue`; any failure of
    the library is one InputError (:func:`_library_error`). Returns (its result, the warnings)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return read(), caught
    except Exception as e:  # each library's own errors: BadZipFile, ReadstatError, ArrowInvalid, ...
        raise _library_error(path, what, e) from None


def _reissue(path, caught) -> None:
    """The library's warnings about the data (UserWarning, RuntimeWarning; not its deprecation notices),
    each as one :class:`CommonFactorsWarning` line naming the file and pointing at the caller of
    ``read_table``, never at the library's source line."""
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            warnings.warn(f"{path}: {' '.join(str(w.message).split())}", CommonFactorsWarning, stacklevel=4)


def _numbered(df):
    """``df`` with its rows numbered as a spreadsheet view shows them (header = row 1), for formats without
    lines."""
    import pandas as pd

    df.index = pd.Index(np.arange(2, len(df) + 2, dtype=np.int64))
    return df


def _typed_frame(columns: dict[str, list], rows):
    """Values by column (Excel cells, JSON values) as a DataFrame indexed by ``rows``: a missing spelling
    (:data:`MISSING`) is None, and each column is typed by :func:`_value_dtype`."""
    import pandas as pd

    columns = {h: [None if isinstance(v, str) and v in MISSING else v for v in vals]
               for h, vals in columns.items()}
    df = pd.DataFrame({h: pd.Series(vals, dtype=_value_dtype(vals)) for h, vals in columns.items()})
    df.index = pd.Index(rows, dtype=np.int64)
    return df


def _value_dtype(vals):
    kinds = {type(v) for v in vals if v is not None}
    if int in kinds and any(not -(2**63) <= v < 2**63 for v in vals if type(v) is int):
        return object  # beyond int64 (JSON allows any digits): _checks says which value
    if kinds and kinds <= {int} and None not in vals:
        return np.int64
    if kinds <= {int, float}:
        return np.float64
    return None  # text or mixed: as pandas infers it
