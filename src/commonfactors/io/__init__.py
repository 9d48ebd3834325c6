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

import codecs
import contextlib
import csv
import io
import os
import re
import stat
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import CommonFactorsWarning, InputError

#: Strings read as missing values (R's and spreadsheets' usual spellings), matched exactly.
MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", ".", "-", "#N/A"})

#: file suffix -> format read by read_table
FORMATS = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".dat": "csv",
    ".xlsx": "excel", ".xlsm": "excel",
    ".sav": "spss", ".zsav": "spss", ".dta": "stata",
    ".rds": "r", ".rdata": "r", ".rda": "r",
    ".parquet": "parquet", ".pq": "parquet",
    ".json": "json",
}
_SUPPORTED = ("CSV/TSV (.csv .tsv .txt), Excel (.xlsx), SPSS (.sav), Stata (.dta), R (.rds .RData), "
              "Parquet or JSON")

#: delimiters tried, in order of preference when several fit equally well
_DELIMITERS = (",", ";", "\t", "|")
#: the delimiter recorded for R's ``read.table(sep = "")`` layout, which ``write.table`` writes: fields
#: separated by runs of spaces and tabs, sniffed only when none of :data:`_DELIMITERS` splits the header
WHITESPACE = " "
_WS_FIELDS = re.compile(r"[^ \t]+")
#: one field of a whitespace-delimited line: quoted (R's escape: \" is a quote, any other backslash stays),
#: unquoted (quotes inside it are kept), a quote that is not closed on this line, or the end of the line
_WS_TOKEN = re.compile(r'[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^ \t"][^ \t]*)|(")|\Z)', re.S)
#: the same alternatives for a whole line at once (quoted, unquoted, an unclosed quote)
_WS_LINE = re.compile(r'"((?:[^"\\]|\\.)*)"|([^ \t"][^ \t]*)|(")', re.S)
_LONE_QUOTE = ("", "", '"')  # what _WS_LINE.findall gives for a quote that the line does not close
_LINE_BREAK = re.compile(r"\r\n?|\n")
_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 50
_SNIFF_CHARS = 1 << 14  # plenty for the header and 50 records
#: above this size read_table parses CSV with pandas' C reader (then checks it against these rules)
FAST_CSV_BYTES = 1 << 20

_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", re.ASCII)
_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_COMMA_NUMBER = re.compile(r"\s*[+-]?(\d+,?\d*|,\d+)([eE][+-]?\d+)?\s*", re.ASCII)
_COMMA_DECIMAL = re.compile(r"\s*[+-]?\d*,\d+([eE][+-]?\d+)?\s*", re.ASCII)
_INFINITY = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_DOT_DECIMAL = re.compile(r"\s*[+-]?\d*\.\d+([eE][+-]?\d+)?\s*", re.ASCII)


class RawTable:
    """A table of strings read from a delimited file, with file line numbers as its index.

    It quacks like the part of a DataFrame that ``_checks`` uses: ``columns``, ``index``, ``attrs``,
    ``len()`` and ``table[name]`` (an object array of strings); ``to_frame()`` gives the DataFrame
    ``read_table`` returns for the same file.
    """

    def __init__(self, columns: list[str], cells: dict[str, list[str]], lines: np.ndarray, source: str,
                 notes: tuple[str, ...] = ()):
        self.columns = list(columns)
        self._cells = cells
        self.index = lines
        self.attrs = {"source": source, "notes": list(notes)}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self._cells[name], dtype=object)

    def to_frame(self):
        """The same table as a pandas DataFrame, typed as pandas types a CSV column.

        A column whose non-missing cells are all integers (and has no missing cell) is int64, one whose
        cells all parse as numbers is float64 (missing spellings in :data:`MISSING` are NaN), any
        other column keeps its text, with missing spellings as NaN.
        """
        import pandas as pd

        df = pd.DataFrame({c: _column_values(self._cells[c]) for c in self.columns},
                          index=pd.Index(self.index, dtype=np.int64))
        df.attrs["source"] = self.attrs["source"]
        df.attrs["notes"] = list(self.attrs["notes"])
        return df


def _column_values(values: list[str]):
    if values and all(_INTEGER.fullmatch(v) for v in values):
        ints = [int(v) for v in values]
        if all(-(2**63) <= i < 2**63 for i in ints):
            return np.asarray(ints, dtype=np.int64)
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        if v in MISSING:
            out[i] = np.nan
        elif _NUMBER.fullmatch(v) or v.strip().lower() in _INFINITY:
            out[i] = float(v)
        else:
            return [None if s in MISSING else s for s in values]
    return out


# ---------------------------------------------------------------------------------------------------
# Delimited text: encoding, dialect, header (shared by read_raw and read_table's fast path)


@dataclass(frozen=True)
class _Dialect:
    encoding: str
    delimiter: str
    decimal: str


def _not_text(head: bytes, path: Path) -> None:
    """Refuse binary files given a text suffix (an Excel workbook saved as .csv, say)."""
    if head.startswith(b"PK\x03\x04"):
        raise InputError("is a zip archive (an Excel .xlsx workbook?), not a delimited text file", file=path,
                         expected="a CSV/TSV text file; give an Excel workbook the suffix .xlsx")
    if b"\x00" in head[:8192] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError("is a binary file (it contains NUL bytes), not a delimited text file", file=path,
                         expected=f"a CSV/TSV text file; the formats read are {_SUPPORTED}")


def _encodings(head: bytes) -> tuple[str, ...]:
    """Encodings to try, in order: the one a BOM declares, else UTF-8, Windows-1252, Latin-1."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16",)
    return ("utf-8-sig", "cp1252", "latin-1")


def _decode(raw: bytes) -> tuple[str, str]:
    for enc in _encodings(raw[:4]):
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


def _is_blank(record: list[str]) -> bool:
    """An empty or whitespace-only line (a row of empty fields is a row, not a blank line)."""
    return not record or (len(record) == 1 and not record[0].strip())


class _UnclosedQuote(Exception):
    """A quoted field of a whitespace-delimited file that no later quote closes."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _whitespace_records(text: str):
    """Records of R's ``read.table(sep = "")`` layout: (first line, last line, fields); blank lines give [].

    Fields are separated by runs of spaces and tabs, leading and trailing ones ignored. A field that
    starts with ``"`` runs to the next quote not escaped by a backslash and may span lines; inside it
    ``\\"`` is a quote and any other backslash is kept with the character after it, and its closing
    quote ends the field. A quote inside an unquoted field is part of it. These are the rules of R's
    ``scan()`` (R Core Team, *R Data Import/Export*, section 2.1; ``?scan``, argument ``quote``), which
    ``read.table`` uses on the output of ``write.table(qmethod = "escape")``, checked with R 4.2.

    Raises
    ------
    _UnclosedQuote
        A quote opens a field that no later quote closes (the line it opens on).
    """
    lines = _LINE_BREAK.split(text) if "\r" in text else text.split("\n")
    n = len(lines)
    i = 0
    while i < n:
        line, start = lines[i], i + 1
        if '"' not in line:
            yield start, start, _WS_FIELDS.findall(line)
            i += 1
            continue
        found = _WS_LINE.findall(line)
        if _LONE_QUOTE not in found:  # every quote is closed on this line
            yield start, start, [plain or (quoted.replace('\\"', '"') if "\\" in quoted else quoted)
                                 for quoted, plain, _ in found]
            i += 1
            continue
        fields: list[str] = []
        pos = 0
        while True:
            m = _WS_TOKEN.match(line, pos)
            if m.group(1) is not None:
                fields.append(m.group(1).replace('\\"', '"'))
            elif m.group(2) is not None:
                fields.append(m.group(2))
            elif m.group(3) is not None:  # the quote is closed on a later line, if any: join up to it
                j = next((j for j in range(i + 1, n) if '"' in lines[j]), None)
                if j is None:
                    raise _UnclosedQuote(start)
                line = "\n".join([line, *lines[i + 1: j + 1]])
                i = j
                continue
            else:
                break
            pos = m.end()
        yield start, i + 1, fields
        i += 1


def _sample_records(text: str, delimiter: str) -> list[list[str]]:
    if delimiter == WHITESPACE:
        out = []
        try:
            for _, _, rec in _whitespace_records(text):
                if rec:
                    out.append(rec)
                    if len(out) >= _SNIFF_RECORDS:
                        break
        except _UnclosedQuote:
            pass  # judged by what was read before it
        return out
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out = []
    try:
        for rec in reader:
            if not _is_blank(rec):
                out.append(rec)
                if len(out) >= _SNIFF_RECORDS:
                    break
    except csv.Error:
        pass  # an unclosed quote in the sample: judged by what was read before it
    return out


def _sniff(head_text: str, suffix: str, encoding: str) -> _Dialect:
    """Delimiter: the candidate that splits the header into most fields and every sampled line alike.

    When none of ``, ; \\t |`` splits the header, runs of spaces and tabs (:data:`WHITESPACE`, R's
    ``write.table`` layout) are the delimiter if they split both the header and the first data line
    into two or more fields (a one-column file keeps its spaces: ``effect size`` over ``0.12``).

    Decimal comma: the delimiter is not a comma and the sampled cells hold numbers written ``0,25``
    but none written ``0.25``.
    """
    head_text = head_text[:_SNIFF_CHARS]
    if head_text.count("\n") > 1 and not head_text.endswith("\n"):
        head_text = head_text[: head_text.rfind("\n") + 1]  # drop a partial last line of the sample
    if suffix == ".tsv":
        delimiter = "\t"
        sample = _sample_records(head_text, delimiter)
    else:
        best = None
        for rank, d in enumerate(_DELIMITERS):
            sample = _sample_records(head_text, d)
            if not sample:
                continue
            width = len(sample[0])
            agree = sum(len(r) == width for r in sample) / len(sample)
            score = (width > 1, agree, width, -rank)
            if best is None or score > best[0]:
                best = (score, d, sample)
        delimiter, sample = (",", []) if best is None else best[1:]
        if best is None or not best[0][0]:
            spaced = _sample_records(head_text, WHITESPACE)
            if spaced and len(spaced[0]) > 1 and (len(spaced) == 1 or len(spaced[1]) > 1):
                delimiter, sample = WHITESPACE, spaced
    decimal = "."
    if delimiter != ",":
        cells = [c for r in sample[1:] for c in r]
        commas = any(_COMMA_DECIMAL.fullmatch(c) for c in cells)
        if commas and not any(_DOT_DECIMAL.fullmatch(c) for c in cells):
            decimal = ","
    return _Dialect(encoding=encoding, delimiter=delimiter, decimal=decimal)


#: why a first column without a name is left out (R's write.csv and pandas' to_csv write row names so)
ROW_NAMES_NOTE = "the first column has no name: read as row names (as R's write.csv writes them) and left out"
#: why the first field of each row is left out when the header is one name short (R's write.table)
SHORT_HEADER_NOTE = ("the header has one name fewer than the rows have fields: the first field of each row "
                     "read as its row name (as R's write.table writes them) and left out")


def _row_names_first(header: list[str], first_row: list[str], delimiter: str) -> bool:
    """The header names one field fewer than the first data row holds: rows start with a row name, as
    R's ``read.table(header = TRUE)`` decides (R Core Team, ``?read.table``, argument ``row.names``).

    Not when the extra field is an empty last field (a trailing delimiter, as some programs write):
    that would shift every value one column to the left.
    """
    if header[0] == "" or len(first_row) != len(header) + 1:
        return False
    return delimiter == WHITESPACE or bool(first_row[-1].strip())


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


def _ambiguous_decimal(value: str, *, path, line, column) -> InputError:
    return InputError(f"got {value.strip()!r} in a file that writes numbers with a decimal comma", file=path,
                      row=line, column=column,
                      expected="every number written with a decimal comma "
                               "(a '.' could be a thousands separator)")


def _field_count_error(n: int, width: int, delimiter: str, *, path, line, short_header: bool = False
                       ) -> InputError:
    """``width`` fields per row were expected; with ``short_header``, a row name and ``width - 1`` values."""
    what = f"has {n} field{'s' if n != 1 else ''} but "
    what += (f"the rows before it have {width} (a row name and the header's {width - 1} columns)"
             if short_header else f"the header has {width}")
    expected = f"{width} fields separated by {delimiter!r}"
    if delimiter == WHITESPACE:
        expected = f"{width} fields separated by spaces or tabs"
        if n > width:
            expected += ', with text that holds spaces quoted ("Smith 2001"), as write.table() writes it'
    return InputError(what, file=path, row=line, expected=expected)


#: how quotes are written: (whitespace-delimited, R's write.table) -> the expected text of errors
_QUOTING = {False: 'fields quoted as "..." with inner quotes doubled ("")',
            True: 'fields quoted as "..." with inner quotes written \\" (as R\'s write.table writes them)'}


def _open_quote_error(n: int, width: int, start: int, end: int, path, *, spaced: bool = False) -> InputError:
    fields = f"{n} field{'s' if n != 1 else ''}"
    return InputError(f"has {fields} but the header has {width}: a quoted field opened on "
                      f"this row runs to line {end}, so its closing quote is probably missing", file=path,
                      row=start, expected=_QUOTING[spaced])


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


def read_raw(path) -> RawTable:
    """Read a CSV or TSV file into a :class:`RawTable` of strings (no pandas), rows labelled by line.

    The encoding is UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or else
    Windows-1252 / Latin-1. The delimiter is sniffed among ``, ; \\t |`` (``.tsv`` is always tab-separated),
    and a decimal comma is recognised when the delimiter is not a comma; its numbers are stored with
    a decimal point. Quoted fields may hold delimiters, quotes (doubled) and newlines: each row is
    labelled by the line on which it starts. Blank lines are skipped.

    When none of those delimiters splits the header, fields separated by runs of spaces or tabs are
    read as R's ``read.table(header = TRUE)`` reads them: the layout of R's ``write.table(df, file)``
    with or without ``row.names`` and ``quote``. Quoted fields there may hold spaces and newlines, and
    write an inner quote as ``\\"`` (R's ``qmethod = "escape"``); ``NA`` is missing.

    Row names: a header whose first name is empty (R's ``write.csv``), or a header with one name fewer
    than the first data row has fields (R's ``write.table``, any delimiter), means the first field of
    each row is a row name; it is left out, and ``attrs["notes"]`` says so.

    Raises
    ------
    InputError
        The file is missing, empty, binary, has no data row, an empty or repeated column name, a
        header of numbers only, a row with a different number of fields than the header, an unclosed
        quote, or (with decimal commas) a number written with a decimal point.
    """
    path = _existing(path)
    raw = _read_bytes(path)
    if not raw.strip():
        raise _empty_error(path)
    _not_text(raw[:_SNIFF_BYTES], path)
    text, encoding = _decode(raw)
    if not text.strip():
        raise _empty_error(path)
    dialect = _sniff(text[:_SNIFF_BYTES], path.suffix.lower(), encoding)
    spaced = dialect.delimiter == WHITESPACE
    records = _whitespace_records(text) if spaced else _csv_records(text, dialect.delimiter)
    header = None
    cells: dict[str, list[str]] = {}
    columns: list[list[str]] = []
    lines: list[int] = []
    end = 0  # the line the previous record ended on
    comma = dialect.decimal == ","
    short_header = False
    try:
        for start, end, rec in records:
            if (not rec) if spaced else _is_blank(rec):
                continue
            if header is None:
                header = _check_header(rec, path=path, line=start)
                skip = int(header[0] == "")  # row names: checked for their count, then left out
                continue
            if not lines and _row_names_first(header, rec, dialect.delimiter):
                header, skip, short_header = ["", *header], 1, True
            if not columns:
                cells = {h: [] for h in header[skip:]}
                columns = [cells[h] for h in header[skip:]]
            if len(rec) != len(header):
                if end > start:  # a quoted field ran over several lines: most likely an unclosed quote
                    raise _open_quote_error(len(rec), len(header), start, end, path, spaced=spaced)
                raise _field_count_error(len(rec), len(header), dialect.delimiter, path=path, line=start,
                                         short_header=short_header)
            rec = rec[skip:]
            if comma:
                rec = _decimal_commas(rec, header[skip:], path=path, line=start)
            for col, c in zip(columns, rec, strict=True):
                col.append(c)
            lines.append(start)
    except csv.Error as e:
        raise InputError(f"cannot be parsed as delimited text ({e}); a quote opened on or after this row is "
                         "never closed", file=path, row=end + 1,
                         expected='fields quoted as "..." with inner quotes doubled') from None
    except _UnclosedQuote as e:
        raise InputError("a quoted field opened on this row is never closed", file=path, row=e.line,
                         expected=_QUOTING[True]) from None
    if header is None:
        raise _empty_error(path)
    if not lines:
        raise _no_rows_error(path)
    notes = (SHORT_HEADER_NOTE,) if short_header else (ROW_NAMES_NOTE,) if skip else ()
    return RawTable(header[skip:], cells, np.asarray(lines, dtype=np.int64), os.fspath(path), notes=notes)


def _csv_records(text: str, delimiter: str):
    """Records of the csv module's reader: (first line, last line, fields)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    for rec in reader:
        start, end = end + 1, reader.line_num
        yield start, end, rec


def _decimal_commas(rec: list[str], header: list[str], *, path, line) -> list[str]:
    out = []
    for h, c in zip(header, rec, strict=True):
        if _COMMA_NUMBER.fullmatch(c):
            c = c.replace(",", ".")
        elif _DOT_DECIMAL.fullmatch(c):
            raise _ambiguous_decimal(c, path=path, line=line, column=h)
        out.append(c)
    return out


# ---------------------------------------------------------------------------------------------------
# read_table


def read_table(path, *, table: str | None = None):
    """Read a user file into a DataFrame indexed by the row number a user sees.

    Parameters
    ----------
    path : str or path-like
        A .csv/.tsv/.txt/.dat (comma, semicolon, tab, pipe or whitespace-delimited, as R's
        ``write.table`` writes; see :func:`read_raw` for what is sniffed), .xlsx, .sav, .dta, .rds/.RData,
        .parquet or .json file (records ``[{"yi": .., "vi": ..}, ...]`` or columns ``{"yi": [..], ...}``).
    table : str, optional
        The sheet of an Excel workbook (default: the first visible sheet; hidden ones are read only when
        named) or the object of an .RData file (default: its only data frame).

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
        if path.stat().st_size > FAST_CSV_BYTES:
            df = _read_delimited_fast(path)
        else:
            df = read_raw(path).to_frame()
    elif fmt == "excel":
        df = _read_excel(path, table)
    elif fmt in ("spss", "stata"):
        df = _read_readstat(path, fmt)
    elif fmt == "r":
        df = _read_r(path, table)
    elif fmt == "parquet":
        df = _read_parquet(path)
    else:
        df = _read_json(path)
    df.attrs["source"] = os.fspath(path)
    df.attrs.setdefault("notes", [])
    return df


def _record_index(n: int):
    """Rows of a format without lines, numbered as a spreadsheet view shows them (header = row 1)."""
    import pandas as pd

    return pd.Index(np.arange(2, n + 2, dtype=np.int64))


def _read_delimited_fast(path: Path):
    """CSV through pandas' C reader, for large files; returns exactly what ``read_raw(path).to_frame()``
    would, or defers to it whenever the file departs from the simple case (ragged rows, quoted
    newlines, ambiguous decimals, parser errors), so values and errors are the same on both paths.
    """
    import mmap

    import pandas as pd

    with open(path, "rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        return read_raw(path).to_frame()
    _not_text(head, path)
    encodings = _encodings(head)
    if encodings == ("utf-16",) or re.search(rb"\r(?!\n)", head):
        return read_raw(path).to_frame()  # the byte scans below assume ASCII-compatible text split by \n
    dialect = None
    for enc in encodings:
        try:
            head_text = codecs.getincrementaldecoder(enc)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        dialect = _sniff(head_text, path.suffix.lower(), enc)
        break
    if dialect.delimiter == WHITESPACE:  # R's write.table layout: quoting pandas does not read as R does
        return read_raw(path).to_frame()
    lines_before, header, first_row = _header_record(head_text, dialect.delimiter)
    if header is None or first_row is None:  # not within the sample: an odd file, read the careful way
        return read_raw(path).to_frame()
    header = _check_header(header, path=path, line=lines_before)
    short_header = _row_names_first(header, first_row, dialect.delimiter)
    if short_header:
        header = ["", *header]
    if len(first_row) != len(header):  # pandas would silently drop what the first row holds beyond the names
        return read_raw(path).to_frame()
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        df = _parse_with_pandas(path, header, lines_before, dialect)
        if df is None or df.empty:
            return read_raw(path).to_frame()
        buf = np.frombuffer(mm, dtype=np.uint8)
        try:
            lines = _record_lines(buf, len(df), lines_before, quoted=mm.find(b'"') >= 0)
            if lines is None or not _rows_well_formed(df, lines, buf, dialect, len(header)):
                return read_raw(path).to_frame()
        finally:
            del buf
    df.index = pd.RangeIndex(lines.start, lines.stop) if isinstance(lines, range) else pd.Index(lines)
    if header[0] == "":
        df = df.drop(columns="")
        df.attrs["notes"] = [SHORT_HEADER_NOTE if short_header else ROW_NAMES_NOTE]
    if dialect.decimal == "," and _numbers_in_text(df):
        return read_raw(path).to_frame()
    return df


def _header_record(head_text: str, delimiter: str):
    """(line the header record ends on, its fields, the first data record's fields); None for what the
    sample does not hold complete."""
    reader = csv.reader(io.StringIO(head_text, newline=""), delimiter=delimiter)
    found = []
    try:
        for rec in reader:
            if not _is_blank(rec):
                found.append((reader.line_num, rec))
                if len(found) == 2:
                    break
    except csv.Error:
        pass
    if not found:
        return 0, None, None
    return found[0][0], found[0][1], found[1][1] if len(found) == 2 else None


def _parse_with_pandas(path, header, lines_before, dialect):
    """The data rows as pandas reads them, or None where read_raw must decide (a byte the sniffed
    encoding cannot decode, a row pandas cannot split, TRUE/FALSE read as booleans)."""
    import pandas as pd

    try:
        # a column typed differently in two chunks is text, which _checks reads: no warning needed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            df = pd.read_csv(path, sep=dialect.delimiter, decimal=dialect.decimal, encoding=dialect.encoding,
                             header=None, names=header, index_col=False, skiprows=lines_before,
                             skip_blank_lines=False, na_values=sorted(MISSING), keep_default_na=False,
                             quotechar='"', doublequote=True, engine="c")
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError):
        return None
    if any(df[c].dtype == bool for c in df.columns):
        return None
    return df


def _count_newlines(buf: np.ndarray, block: int = 1 << 20) -> int:
    """The number of newline bytes in ``buf``, a block at a time: the comparison's temporary stays in
    cache (twice as fast as one ``buf == 10`` over a 50 MB file, and no 50 MB temporary)."""
    return sum(int(np.count_nonzero(buf[i:i + block] == 10)) for i in range(0, buf.size, block))


def _record_lines(buf: np.ndarray, n_rows: int, lines_before: int, *, quoted: bool):
    """The line on which each of the ``n_rows`` data records starts (a ``range`` when they are
    consecutive lines), or None if that cannot be told.

    Without quotes every line is a record, and so it is when pandas found as many records as there are
    lines. Otherwise a newline inside a quoted field does not end a record: a newline is quoted when an
    odd number of quote characters precede it (RFC 4180 quoting, where an inner quote is doubled and
    so keeps the parity).
    """
    simple = range(lines_before + 1, lines_before + 1 + n_rows)
    if not quoted:
        return simple
    n_lines = _count_newlines(buf) + int(buf.size > 0 and buf[-1] != 10)
    if n_lines - lines_before == n_rows:  # as many records as lines: no quoted field holds a newline
        return simple
    quotes = np.flatnonzero(buf == 34)
    if quotes.size % 2:
        return None
    newlines = np.flatnonzero(buf == 10)
    ends = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)  # indices of record-ending newlines
    starts = np.concatenate([[1], ends + 2])  # line on which each record starts
    if buf.size and buf[-1] == 10:
        starts = starts[:-1]  # nothing after the final newline
    starts = starts[starts > lines_before]
    if starts.size != n_rows:
        return None
    return starts.astype(np.int64)


def _rows_well_formed(df, lines: np.ndarray, buf: np.ndarray, dialect: _Dialect, width: int) -> bool:
    """Check the rows pandas may have filled in silently: a short or blank line reads as missing cells.

    Only rows whose last cell is missing (or, with one column, whose cell is blank) can be short or
    blank; their lines are re-read with the csv module. Returns False when one of them is blank or has
    the wrong number of fields: read_raw then skips the blank lines (and types the columns without
    them) or raises about the ragged row.
    """
    last = df.iloc[:, -1]
    suspect = np.isnan(last.to_numpy()) if last.dtype == np.float64 else last.isna().to_numpy()
    if width == 1 and last.dtype.kind not in "biuf":
        suspect |= last.astype(str).str.strip().eq("").to_numpy()
    if not suspect.any():
        return True
    newlines = np.flatnonzero(buf == 10)
    line_start = np.concatenate([[0], newlines + 1])
    line_end = np.concatenate([newlines, [buf.size]])
    for i in np.flatnonzero(suspect):
        first = lines[i] - 1  # 0-based index of the line the record starts on
        last_line = lines[i + 1] - 2 if i + 1 < len(lines) else len(line_end) - 1
        chunk = buf[line_start[first]: line_end[last_line]].tobytes().decode(dialect.encoding, "replace")
        recs = list(csv.reader(io.StringIO(chunk, newline=""), delimiter=dialect.delimiter))
        if not recs or _is_blank(recs[0]) or len(recs[0]) != width:
            return False
    return True


def _numbers_in_text(df) -> bool:
    """A text column of a decimal-comma file holds a number pandas left as text: written with a decimal
    point (``1.234``, an error), or with a decimal comma in a column that also holds text (read_raw
    converts those cell by cell, so that an error names the cell that is not a number)."""
    either = f"(?:{_DOT_DECIMAL.pattern})|(?:{_COMMA_DECIMAL.pattern})"
    for c in df.columns:
        col = df[c]
        if col.dtype.kind not in "biuf":
            if col.dropna().astype(str).str.fullmatch(either, flags=re.ASCII).any():
                return True
    return False


# ---------------------------------------------------------------------------------------------------
# Excel


#: Limits on an .xlsx workbook, generous for real data, checked before openpyxl parses it so that an archive
#: built to expand (a "zip bomb") is refused at once: the total uncompressed size of its parts (openpyxl
#: parses some 5 MB of sheet XML a second, so 200 MB already takes it 40 s), the compression ratio of any
#: part above 1 MB (sheets of real data compress 5 to 15 times; deflate reaches about 1000 on repeated
#: text), the number of parts, and a sheet's rows, columns (16,384 is Excel's own limit) and cells (200 MB of
#: XML holds at most some 6 million), and the cells its merged ranges cover (openpyxl creates each one, some
#: 200,000 a second; real sheets merge a label over a few rows).
XLSX_LIMITS = {"bytes": 200_000_000, "ratio": 100, "members": 10_000, "rows": 1_000_000, "columns": 16_384,
               "cells": 10_000_000, "merged": 100_000}
_RATIO_FROM_BYTES = 1_000_000
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]*)(\d*)(?::([A-Z]*)(\d*))?\"")
_MERGED = re.compile(rb"<(?:\w+:)?mergeCell\s+ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")


def _too_large(path, what: str, found: int, limit: int, kind: str) -> InputError:
    return InputError(f"{what} {found:,} {kind}; the limit is {limit:,}", file=path,
                      expected="a workbook within the limits, refused unread beyond them (save large "
                               "data as CSV)")


def _check_xlsx_bounds(path: Path) -> None:
    """Refuse a workbook beyond :data:`XLSX_LIMITS` from its zip directory and the ``<dimension>`` each
    sheet declares, before openpyxl parses it. zipfile never inflates a part beyond the size the
    directory declares (a larger part fails its CRC check), so the declared sizes bound the work."""
    try:
        with zipfile.ZipFile(path) as z:
            parts = z.infolist()
            if len(parts) > XLSX_LIMITS["members"]:
                raise _too_large(path, "the workbook holds", len(parts), XLSX_LIMITS["members"], "parts")
            total = sum(p.file_size for p in parts)
            if total > XLSX_LIMITS["bytes"]:
                raise _too_large(path, "the workbook's parts expand to", total, XLSX_LIMITS["bytes"], "bytes")
            for p in parts:
                if p.file_size > _RATIO_FROM_BYTES and p.file_size > XLSX_LIMITS["ratio"] * p.compress_size:
                    ratio = p.file_size // max(p.compress_size, 1)
                    raise _too_large(path, f"part {p.filename} expands from {p.compress_size:,} to "
                                           f"{p.file_size:,} bytes:", ratio, XLSX_LIMITS["ratio"], "times")
            for p in parts:
                if p.filename.startswith("xl/worksheets/") and p.filename.endswith(".xml"):
                    _check_sheet_part(path, z, p)
    except InputError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise _library_error(path, "an Excel .xlsx", e) from None


def _cell_ref(letters: bytes, digits: bytes) -> tuple[int, int]:
    """(row, column) of a cell reference such as ``XFD1048576``."""
    column = 0
    for ch in letters:
        column = column * 26 + ch - 64
    return int(digits or 0), column


def _check_sheet_part(path, z: zipfile.ZipFile, part: zipfile.ZipInfo) -> None:
    """The used range a sheet declares (``<dimension ref="A1:C7"/>``) and the cells its merged ranges
    cover (openpyxl creates every covered cell), against the limits; the part is read a block at a time."""
    tail, merged, first = b"", 0, True
    with z.open(part) as fh:
        while block := fh.read(1 << 20):
            text = tail + block
            if first:
                m = _DIMENSION.search(text)
                if m is not None:
                    end = (m.group(3), m.group(4)) if m.group(3) is not None else (m.group(1), m.group(2))
                    _check_extent(path, f"sheet part {part.filename} declares", *_cell_ref(*end))
                first = False
            for m in _MERGED.finditer(text):
                if m.end() > len(tail):  # not counted with the previous block
                    (r1, c1), (r2, c2) = _cell_ref(m.group(1), m.group(2)), _cell_ref(m.group(3), m.group(4))
                    merged += (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1)
            if merged > XLSX_LIMITS["merged"]:
                raise _too_large(path, f"sheet part {part.filename} merges", merged, XLSX_LIMITS["merged"],
                                 "cells")
            tail = text[-256:]


def _check_extent(path, what: str, rows: int, columns: int, filled_rows: int | None = None) -> None:
    """Rows, columns and cells (``filled_rows`` of ``columns``, else the whole range) within the limits."""
    if rows > XLSX_LIMITS["rows"]:
        raise _too_large(path, what, rows, XLSX_LIMITS["rows"], "rows")
    if columns > XLSX_LIMITS["columns"]:
        raise _too_large(path, what, columns, XLSX_LIMITS["columns"], "columns")
    n = rows if filled_rows is None else filled_rows
    if n * columns > XLSX_LIMITS["cells"]:
        raise _too_large(path, f"{what} {n:,} rows x {columns:,} columns =", n * columns,
                         XLSX_LIMITS["cells"], "cells")


def _sheet_grid(ws, path) -> dict[int, list]:
    """Sheet row -> its values (as wide as the widest row), for the rows that hold cells, built from the
    cells the sheet holds: openpyxl's ``iter_rows`` creates every cell of the used range (one stray cell
    at XFD1048576 would mean 17 billion), so its ``_cells`` store is read instead."""
    cells = ws._cells  # {(row, column): Cell} of the cells the sheet holds
    rows = {r for r, _ in cells}
    width = max((c for _, c in cells), default=0)
    _check_extent(path, f"sheet {ws.title!r} spans", max(rows, default=0), width, filled_rows=len(rows))
    grid = {r: [None] * width for r in sorted(rows)}
    for (r, c), cell in cells.items():
        grid[r][c - 1] = cell.value
    return grid


def _pick_sheet(wb, sheet: str | None, path):
    """The named sheet, or the first visible one; hidden and very hidden sheets are skipped (their cells
    are not what the workbook shows). Returns (sheet, note)."""
    sheets = {ws.title: ws for ws in wb.worksheets}
    hidden = [t for t, ws in sheets.items() if ws.sheet_state != "visible"]
    shown = f" (hidden: {', '.join(map(repr, hidden))})" if hidden else ""
    if sheet is not None:
        if sheet not in sheets:
            raise InputError(f"has no sheet {sheet!r}", file=path,
                             expected=f"one of the sheets {', '.join(map(repr, sheets))}{shown}")
        ws = sheets[sheet]
    else:
        visible = [ws for ws in sheets.values() if ws.sheet_state == "visible"]
        if not visible:
            raise InputError(f"has no visible sheet{shown}", file=path,
                             expected="a visible sheet holding the table, or table= naming a hidden one")
        ws = visible[0]
    if len(sheets) == 1:
        return ws, None
    note = f"read sheet {ws.title!r} of {len(sheets)}"
    return ws, note + (f"; hidden sheets not read: {', '.join(map(repr, hidden))}" if sheet is None and hidden
                       else "")


def _read_excel(path: Path, sheet: str | None):
    """The first visible (or the named) sheet of an .xlsx workbook; rows labelled by their sheet row.

    The header is the first non-empty row. Merged cells in the header rows, and a second row of text
    right under the header above numeric data, are reported as errors rather than guessed at. Cells
    merged in the data (a study label spanning its rows) take the merged cell's value, as the sheet
    shows it, and ``attrs["notes"]`` says so. A workbook beyond :data:`XLSX_LIMITS` is refused before
    it is parsed, and a sheet whose cells span more than those limits before its cells are read.
    """
    import openpyxl
    import pandas as pd

    _check_xlsx_bounds(path)
    try:
        with _collected_warnings() as caught:  # openpyxl warns of features it drops (data validation, ...)
            wb = openpyxl.load_workbook(path, data_only=True)
    except Exception as e:  # openpyxl raises zipfile / KeyError / InvalidFileException for bad files
        raise _library_error(path, "an Excel .xlsx", e) from None
    _reissue(path, caught)
    ws, sheet_note = _pick_sheet(wb, sheet, path)
    grid = _sheet_grid(ws, path)
    _unsaved_formulas(path, ws.title, grid)
    rows = [(n, v) for n, v in grid.items() if any(_present(x) for x in v)]
    if not rows:
        raise _empty_error(path)
    header_row = rows[0][0]
    _merged_header(ws, header_row, path)
    notes = [] if sheet_note is None else [sheet_note]
    for rng in ws.merged_cells.ranges:  # in the data: every covered cell shows the top-left value
        value = grid[rng.min_row][rng.min_col - 1]
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col - 1, rng.max_col):
                grid[r][c] = value
        notes.append(f"merged cells {rng.coord} read as {value!r} in each of their rows")
    first = min(i for _, v in rows for i, x in enumerate(v) if _present(x))  # empty columns on the left
    width = max(i + 1 for _, v in rows for i, x in enumerate(v) if _present(x)) - first
    rows = [(n, (v[first:] + [None] * width)[:width]) for n, v in rows]
    names = _check_header(["" if x is None else str(x) for x in rows[0][1]], path=path, line=header_row)
    data = rows[1:]
    if not data:
        raise _no_rows_error(path)
    _second_header(data, names, header_row, path)
    if names[0] == "":
        notes.append(ROW_NAMES_NOTE.replace("R's write.csv", "pandas' to_excel"))
    columns = {h: [_cell(v[j]) for _, v in data] for j, h in enumerate(names) if h}
    df = pd.DataFrame({h: pd.Series(vals, dtype=_value_dtype(vals)) for h, vals in columns.items()})
    df.index = pd.Index([n for n, _ in data], dtype=np.int64)
    df.attrs["notes"] = notes
    df.attrs["sheet"] = ws.title
    return df


def _unsaved_formulas(path, title: str, grid: dict) -> None:
    """A formula whose value was never saved (a workbook written by a script, never opened in a
    spreadsheet program) reads as empty: report it rather than let it pass for a missing value."""
    if not any(x is None for v in grid.values() for x in v):
        return
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        for r in wb[title].iter_rows():
            for c in r:
                if not (isinstance(c.value, str) and c.value.startswith("=")):
                    continue
                saved = grid.get(c.row, ())
                if c.column > len(saved) or saved[c.column - 1] is None:
                    cell = f"{get_column_letter(c.column)}{c.row}"
                    raise InputError(f"cell {cell} holds the formula {c.value!r} but no saved value",
                                     file=path, row=c.row, expected="computed values (open the workbook in "
                                                                    "Excel or LibreOffice and save it)")
    finally:
        wb.close()


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _present(x) -> bool:
    return x is not None and not (isinstance(x, str) and not x.strip())


def _cell(x):
    if isinstance(x, str) and x in MISSING:
        return None
    return x


def _value_dtype(vals):
    kinds = {type(v) for v in vals if v is not None}
    if int in kinds and any(not -(2**63) <= v < 2**63 for v in vals if type(v) is int):
        return object  # beyond int64 (JSON allows any digits): _checks says which value
    if kinds and kinds <= {int} and None not in vals:
        return np.int64
    if kinds <= {int, float}:
        return np.float64
    return None  # text or mixed: as pandas infers it


def _merged_header(ws, header_row: int, path) -> None:
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= header_row <= rng.max_row:
            rows = f"row {rng.min_row}" if rng.min_row == rng.max_row else f"rows {rng.min_row}-{rng.max_row}"
            raise InputError(f"cells {rng.coord} are merged in the header ({rows}): the header spans several "
                             "rows or merged cells", file=path, row=header_row,
                             expected="one header row with one name per column (unmerge the cells and "
                                      "combine the header rows into one)")


def _second_header(data, names, header_row, path) -> None:
    """A text-only row right under the header, above numbers in the same columns: a second header row."""
    n, first = data[0]
    texts = [j for j, x in enumerate(first) if _present(x)]
    if not texts or not all(isinstance(first[j], str) and not _NUMBER.fullmatch(first[j]) for j in texts):
        return
    numeric_below = [j for j in texts if any(_is_number(v[j]) for _, v in data[1:])]
    if numeric_below:
        j = numeric_below[0]
        shown = ", ".join(repr(first[i]) for i in texts[:4])
        raise InputError(f"row {n} holds only text ({shown}) under the "
                         f"header, above numbers: the header spans rows {header_row}-{n}", file=path, row=n,
                         column=names[j], expected="one header row with one name per column (combine the "
                                                   "header rows into one)")


# ---------------------------------------------------------------------------------------------------
# SPSS, Stata, R, Parquet, JSON


def _library_error(path, what: str, e: Exception) -> InputError:
    """``what`` is the format with its article ("an SPSS .sav"); the library's message, without the path."""
    msg = re.sub(r"^Could not open [\w ]+ input source '[^']*': ", "", str(e))  # pyarrow names the path again
    msg = " ".join(msg.replace(f"'{os.fspath(path)}'", "the file").split()) or type(e).__name__
    return InputError(f"cannot be read as {what} file ({msg})", file=path,
                      expected=f"{what} file, complete and uncorrupted")


def _read_readstat(path: Path, fmt: str):
    """SPSS .sav / Stata .dta via pyreadstat; value labels become categories, and a warning says so."""
    import pyreadstat

    if fmt == "spss":
        reader, what = pyreadstat.read_sav, "an SPSS .sav"
    else:
        reader, what = pyreadstat.read_dta, "a Stata .dta"
    try:
        with _collected_warnings() as caught:
            df, meta = reader(os.fspath(path), apply_value_formats=True, formats_as_category=True)
    except Exception as e:  # pyreadstat.ReadstatError and friends
        raise _library_error(path, what, e) from None
    _reissue(path, caught)
    labelled = [c for c in df.columns if c in (meta.variable_value_labels or {})]
    df.index = _record_index(len(df))
    notes = []
    if labelled:
        parts = []
        for c in labelled:
            lab = meta.variable_value_labels[c]
            shown = ", ".join(f"{_plain(k)} = {v!r}" for k, v in list(lab.items())[:4])
            parts.append(f"{c!r} ({shown}{', ...' if len(lab) > 4 else ''})")
        note = f"value labels read as categories: {'; '.join(parts)}"
        notes.append(note)
        warnings.warn(f"{path}: {note}", CommonFactorsWarning, stacklevel=3)
    df.attrs["notes"] = notes
    return df


def _plain(x):
    return int(x) if isinstance(x, float) and x.is_integer() else x


@contextlib.contextmanager
def _collected_warnings():
    """Record the warnings a reading library issues (none printed), for :func:`_reissue`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def _reissue(path, caught) -> None:
    """The library's warnings about the data (UserWarning, RuntimeWarning; not its deprecation notices),
    each as one :class:`CommonFactorsWarning` line naming the file and pointing at the caller of
    ``read_table``, never at the library's source line."""
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            warnings.warn(f"{path}: {' '.join(str(w.message).split())}", CommonFactorsWarning, stacklevel=4)


def _read_r(path: Path, name: str | None):
    """An .rds data frame, or a data frame in an .RData file (the only one, or the one named)."""
    import pyreadr

    try:
        with _collected_warnings() as caught:
            objects = pyreadr.read_r(os.fspath(path))
    except Exception as e:  # pyreadr.PyreadrError, LibrdataError
        raise _library_error(path, "an R .rds/.RData", e) from None
    frames = {k: v for k, v in objects.items() if hasattr(v, "columns") and list(v.columns) != [None]}
    if not frames:
        raise InputError(f"holds {_r_objects(objects, caught)}, not a data frame", file=path,
                         expected="an R data frame saved with saveRDS(df) or save(df, file = ...)")
    _reissue(path, caught)
    if name is not None:
        if name not in frames:
            raise InputError(f"has no data frame {name!r}", file=path,
                             expected=f"one of {', '.join(map(repr, frames))}")
        df = frames[name]
    elif len(frames) == 1:
        df = next(iter(frames.values()))
    else:
        raise InputError(f"holds {len(frames)} data frames ({', '.join(map(repr, frames))})", file=path,
                         expected="table= naming the one to read")
    df = df.reset_index(drop=True)
    df.index = _record_index(len(df))
    return df


_R_TYPES = {"f": "numeric", "i": "integer", "b": "logical"}


def _r_objects(objects: dict, caught) -> str:
    """What an R file without a data frame holds, in words: pyreadr turns a vector into a one-column table
    named None, and skips lists (with a warning)."""
    vectors = [f"{'an' if k is None else repr(k) + ', an'} R vector of {len(v)} "
               f"{_R_TYPES.get(v.dtypes.iloc[0].kind, 'character')} values" for k, v in objects.items()]
    if vectors:
        return " and ".join(vectors)
    if any("Lists" in str(w.message) for w in caught):
        return "an R list (or another object that is not a table)"
    return "no object pyreadr can read"


def _read_parquet(path: Path):
    import pyarrow.parquet as pq

    try:
        with _collected_warnings() as caught:
            df = pq.read_table(path).to_pandas()
    except Exception as e:  # pyarrow.ArrowInvalid (bad footer), OSError (truncated)
        raise _library_error(path, "a Parquet", e) from None
    _reissue(path, caught)
    df = df.reset_index(drop=True)
    df.index = _record_index(len(df))
    return df


_JSON_TABLE = "JSON records [{...}, ...] or columns {\"yi\": [...], ...}"


class _DuplicateKey(Exception):
    def __init__(self, key: str, number: int):
        super().__init__(key)
        self.key, self.number = key, number


class _UniqueKeys:
    """``object_pairs_hook`` for json.loads: a dict per JSON object, refusing a key given twice (the
    standard library keeps the last silently). Objects close in document order, so for records the
    n-th object is record n."""

    def __init__(self):
        self.count = 0

    def __call__(self, pairs):
        self.count += 1
        obj = dict(pairs)
        if len(obj) < len(pairs):
            seen = set()
            key = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise _DuplicateKey(key, self.count)
        return obj


def _read_json(path: Path):
    """Records ``[{"yi": 0.1, "vi": 0.02}, ...]`` or columns ``{"yi": [...], "vi": [...]}``."""
    import json

    import pandas as pd

    raw = _read_bytes(path)
    if not raw.strip():
        raise _empty_error(path)
    text, _ = _decode(raw)
    objects = _UniqueKeys()
    try:
        obj = json.loads(text, object_pairs_hook=objects)
    except json.JSONDecodeError as e:
        raise InputError(f"is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}", file=path,
                         expected=_JSON_TABLE) from None
    except RecursionError:
        raise InputError("nests JSON arrays or objects too deeply to be read", file=path,
                         expected=_JSON_TABLE + ", two levels deep") from None
    except _DuplicateKey as e:
        records = text.lstrip().startswith("[")
        raise InputError(f"the key {e.key!r} appears twice in " + (f"record {e.number}" if records
                                                                   else "an object"),
                         file=path, row=e.number + 1 if records else None, column=e.key,
                         expected="each key once per object") from None
    if isinstance(obj, list):
        columns: dict[str, list] = {}
        for i, rec in enumerate(obj):
            if not isinstance(rec, dict):
                raise InputError(f"record {i + 1} is a JSON {type(rec).__name__}, not an object", file=path,
                                 row=i + 2, expected="a list of objects, one per study")
            for k in rec:
                columns.setdefault(str(k), [None] * len(obj))
            for k, v in rec.items():
                columns[str(k)][i] = v
    elif isinstance(obj, dict) and obj and all(isinstance(v, list) for v in obj.values()):
        lengths = {k: len(v) for k, v in obj.items()}
        if len(set(lengths.values())) > 1:
            raise InputError("the columns have different lengths ("
                             + ", ".join(f"{k!r}: {n}" for k, n in lengths.items()) + ")", file=path,
                             expected="one value per study in every column")
        columns = {str(k): list(v) for k, v in obj.items()}
    else:
        raise InputError(f"holds a JSON {type(obj).__name__} that is neither records nor columns", file=path,
                         expected=_JSON_TABLE)
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        raise _no_rows_error(path)
    for k, vals in columns.items():
        for i, v in enumerate(vals):
            if isinstance(v, (dict, list)):
                raise InputError(f"got a nested JSON {type(v).__name__}", file=path, row=i + 2, column=k,
                                 expected="a number, text or null")
            if isinstance(v, str) and v in MISSING:
                vals[i] = None
    df = pd.DataFrame({k: pd.Series(v, dtype=_value_dtype(v)) for k, v in columns.items()})
    df.index = _record_index(n)
    return df
