"""Delimited text: encodings, the sniffed dialect, :func:`read_raw` and read_table's pandas fast path."""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ._common import (
    _NUMBER,
    _SUPPORTED,
    MISSING,
    ROW_NAMES_NOTE,
    _check_header,
    _empty_error,
    _existing,
    _no_rows_error,
    _read_bytes,
)
from ._whitespace import WHITESPACE, _UnclosedQuote, _whitespace_records

#: delimiters tried, in order of preference when several fit equally well
_DELIMITERS = (",", ";", "\t", "|")

_SNIFF_BYTES = 1 << 16
_SNIFF_RECORDS = 50
_SNIFF_CHARS = 1 << 14  # plenty for the header and 50 records
#: above this size read_table parses CSV with pandas' C reader (then checks it against these rules)
FAST_CSV_BYTES = 1 << 20

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


def _is_blank(record: list[str], spaced: bool = False) -> bool:
    """An empty or whitespace-only line (a row of empty fields is a row, not a blank line); in R's
    whitespace-delimited layout (``spaced``), a line without fields."""
    return not record or (not spaced and len(record) == 1 and not record[0].strip())


def _csv_reader(text: str, delimiter: str):
    """The csv module's reader over ``text``. Its field limit (131,072 characters by default) is raised to
    the length of ``text``, which no field can exceed: a long abstract in a column is data, and the text
    is already in memory. The limit is process-wide and only ever raised."""
    if len(text) >= csv.field_size_limit():
        csv.field_size_limit(len(text) + 1)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _records(text: str, delimiter: str):
    """(first line, last line, fields) of each record, blank lines included: R's ``read.table`` layout for
    :data:`WHITESPACE`, else the csv module's reader."""
    if delimiter == WHITESPACE:
        yield from _whitespace_records(text)
        return
    reader = _csv_reader(text, delimiter)
    end = 0
    for rec in reader:
        start, end = end + 1, reader.line_num
        yield start, end, rec


def _sample_records(text: str, delimiter: str, n: int = _SNIFF_RECORDS) -> list[tuple[int, list[str]]]:
    """The first ``n`` records of a sample that are not blank: (the line each ends on, its fields). A quote
    the sample does not close ends it: the sample is judged by what was read before it."""
    out = []
    try:
        for _, end, rec in _records(text, delimiter):
            if not _is_blank(rec, delimiter == WHITESPACE):
                out.append((end, rec))
                if len(out) == n:
                    break
    except (csv.Error, _UnclosedQuote):
        pass
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
        sample = [rec for _, rec in _sample_records(head_text, delimiter)]
    else:
        best = None
        for rank, d in enumerate(_DELIMITERS):
            sample = [rec for _, rec in _sample_records(head_text, d)]
            if not sample:
                continue
            width = len(sample[0])
            agree = sum(len(r) == width for r in sample) / len(sample)
            score = (width > 1, agree, width, -rank)
            if best is None or score > best[0]:
                best = (score, d, sample)
        delimiter, sample = (",", []) if best is None else best[1:]
        if best is None or not best[0][0]:
            spaced = [rec for _, rec in _sample_records(head_text, WHITESPACE)]
            if spaced and len(spaced[0]) > 1 and (len(spaced) == 1 or len(spaced[1]) > 1):
                delimiter, sample = WHITESPACE, spaced
    decimal = "."
    if delimiter != ",":
        cells = [c for r in sample[1:] for c in r]
        commas = any(_COMMA_DECIMAL.fullmatch(c) for c in cells)
        if commas and not any(_DOT_DECIMAL.fullmatch(c) for c in cells):
            decimal = ","
    return _Dialect(encoding=encoding, delimiter=delimiter, decimal=decimal)


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
    header = None
    cells: dict[str, list[str]] = {}
    columns: list[list[str]] = []
    lines: list[int] = []
    end = 0  # the line the previous record ended on
    comma = dialect.decimal == ","
    short_header = False
    try:
        for start, end, rec in _records(text, dialect.delimiter):
            if _is_blank(rec, spaced):
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


def _decimal_commas(rec: list[str], header: list[str], *, path, line) -> list[str]:
    out = []
    for h, c in zip(header, rec, strict=True):
        if _COMMA_NUMBER.fullmatch(c):
            c = c.replace(",", ".")
        elif _DOT_DECIMAL.fullmatch(c):
            raise InputError(f"got {c.strip()!r} in a file that writes numbers with a decimal comma",
                             file=path, row=line, column=h,
                             expected="every number written with a decimal comma (a '.' could be a thousands "
                                      "separator)")
        out.append(c)
    return out


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
    found = _sample_records(head_text, delimiter, 2)
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
        recs = list(_csv_reader(chunk, dialect.delimiter))
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
