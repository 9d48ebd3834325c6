"""Reading user files into tables whose rows remember where they came from.


``read_table(path)`` returns a pandas DataFrame whose **index is the row number a user sees**:
the file line number for text files (header = line 1, so the first data row is line 2), the sheet
row for Excel, and the record number + 1 for formats without lines (SPSS, Stata, R, Parquet, JSON),
so that "row 5" is the fifth row of a spreadsheet view with the header as row 1.
``attrs["source"]`` is the path. Every later error can then name the row the user sees.

``read_raw(path)`` is the light path the command line uses for CSV/TSV: the same table as a
:class:`RawTable` of strings, without importing pandas, so ``commonfactors pool file.csv`` starts fast.
On CSV/TSV both give the same values and raise the same errors. No statistics happen here.

Delimited text is sniffed: ``,`` ``;`` tab or ``|`` (a decimal comma with the last three), else fields
separated by runs of spaces or tabs, as R's ``write.table(df, "studies.txt")`` writes them (quoted
strings with ``\\"`` for an inner quote, ``NA`` for missing, with or without row names or quotes) and
R's ``read.table(header = TRUE)`` reads them. Row names (R's ``write.csv``: a first column without a
name; R's ``write.table``: a header one name short) are left out.

Each format's library is imported only when that format is read: openpyxl (.xlsx), pyreadstat
(.sav, .dta), pyreadr (.rds, .RData), pyarrow (.parquet); CSV and JSON need only the standard library
(and pandas for the DataFrame).
"""

from __future__ import annotations

import os

from ..errors import InputError
from ._columnar import _read_json, _read_parquet
from ._common import _SUPPORTED, MISSING, ROW_NAMES_NOTE, _existing
from ._excel import XLSX_LIMITS, _read_excel
from ._rdata import _read_r
from ._readstat import _read_readstat
from ._text import FAST_CSV_BYTES, SHORT_HEADER_NOTE, RawTable, _read_delimited_fast, read_raw
from ._whitespace import WHITESPACE

__all__ = ["FAST_CSV_BYTES", "FORMATS", "MISSING", "ROW_NAMES_NOTE", "SHORT_HEADER_NOTE", "WHITESPACE",
           "XLSX_LIMITS", "RawTable", "read_raw", "read_table"]


#: file suffix -> format read by read_table
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".dat": "csv",
    ".xlsx": "excel", ".xlsm": "excel",
    ".sav": "spss", ".zsav": "spss", ".dta": "stata",
    ".rds": "r", ".rdata": "r", ".rda": "r",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json",
}


def read_table(path, *, table: str | int | None = None):
    """Read a user file into a DataFrame indexed by the row number a user sees.

    Parameters
    ----------
    path : str or path-like
        A .csv/.tsv/.txt/.dat (comma, semicolon, tab, pipe or whitespace-delimited, as R's
        ``write.table`` writes; see :func:`read_raw` for what is sniffed), .xlsx, .sav, .dta, .rds/.RData,
        .parquet or .json file (records ``[{"yi": .., "vi": ..}, ...]`` or columns ``{"yi": [..], ...}``).
    table : str or int, optional
        The sheet of an Excel workbook, by name or number (1 is the first tab; default: the first visible
        sheet; hidden ones are read only when named) or the object of an .RData file (default: its only
        data frame).

    Returns
    -------
    pandas.DataFrame
        One row per data row, with the file's column names. The index is the file line (text; header =
        line 1), the sheet row (Excel), or the record number + 1 (other formats). ``attrs["source"]`` is
        the path; ``attrs["notes"]`` lists what the reader did that a user should know (value labels read
        as categories, the sheet read).

    Raises
    ------
    InputError
        The file is not a readable regular file (permission denied, a directory, a pipe or a device),
        cannot be read as its suffix says, or its header is unusable (empty, repeated or merged column
        names, two header rows); a JSON object repeats a key or nests too deeply; an R file holds no data
        frame; a workbook exceeds :data:`XLSX_LIMITS`. The message names the file, row and column.

    Warns
    -----
    CommonFactorsWarning
        SPSS / Stata value labels were turned into categories (the message lists the columns); a
        reading library warned (pyreadstat, pyreadr, openpyxl, pyarrow: its message, on one line).

    Examples
    --------
    A European spreadsheet export (semicolons, decimal commas) with a blank line; rows keep their lines:

    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "studies.csv"
    >>> _ = path.write_text("study;yi;vi\\nSmith 2001;0,12;0,031\\n\\nJones 2004;0,35;0,045\\n")
    >>> read_table(path)
            study    yi     vi
    2  Smith 2001  0.12  0.031
    4  Jones 2004  0.35  0.045

    R's ``write.table(df, "studies.txt")``: spaces between fields, quoted strings, row names first:

    >>> path = path.with_name("studies.txt")
    >>> _ = path.write_text('"study" "yi" "vi"\\n"1" "Smith 2001" 0.12 0.031\\n"2" "Jones 2004" NA 0.045\\n')
    >>> read_table(path)
            study    yi     vi
    2  Smith 2001  0.12  0.031
    3  Jones 2004   NaN  0.045
    """
    path = _existing(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        if path.suffix.lower() == ".xls":
            raise InputError("is an old Excel (.xls) workbook", file=path,
                             expected="an .xlsx workbook or a CSV file (save it as one from Excel)")
        raise InputError(f"has an unknown suffix {path.suffix!r}", file=path, expected=f"one of {_SUPPORTED}")
    if table is not None and fmt not in ("excel", "r"):
        raise InputError(f"table={table!r} was given, but a {fmt} file holds one table", file=path,
                         expected="table= only for Excel sheets and .RData objects")
    if fmt == "csv":
        df = _read_delimited_fast(path) if path.stat().st_size > FAST_CSV_BYTES else read_raw(path).to_frame()
    elif fmt in ("excel", "r"):
        df = _read_excel(path, table) if fmt == "excel" else _read_r(path, table)
    elif fmt in ("spss", "stata"):
        df = _read_readstat(path, fmt)
    else:
        df = _read_parquet(path) if fmt == "parquet" else _read_json(path)
    df.attrs["source"] = os.fspath(path)
    df.attrs.setdefault("notes", [])
    return df
