"""Excel .xlsx workbooks, bounded before they are parsed."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from ..errors import InputError
from ._common import (
    _NUMBER,
    ROW_NAMES_NOTE,
    _check_header,
    _empty_error,
    _library_error,
    _library_read,
    _no_rows_error,
    _reissue,
    _typed_frame,
)

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


def _pick_sheet(wb, sheet, path):
    """The named sheet (a name, or a number: 1 is the first tab), or the first visible one; hidden and
    very hidden sheets are skipped (their cells are not what the workbook shows). Returns (sheet, note)."""
    sheets = {ws.title: ws for ws in wb.worksheets}
    hidden = [t for t, ws in sheets.items() if ws.sheet_state != "visible"]
    shown = f" (hidden: {', '.join(map(repr, hidden))})" if hidden else ""
    if sheet is not None:
        ws = sheets.get(str(sheet))
        number = str(sheet).strip()
        if ws is None and number.isdigit() and 1 <= int(number) <= len(sheets):
            ws = wb.worksheets[int(number) - 1]
        if ws is None:
            raise InputError(f"has no sheet {sheet!r}", file=path,
                             expected=f"one of the sheets {', '.join(map(repr, sheets))}{shown}, or a number "
                                      f"1 to {len(sheets)}")
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


def _no_data(error: InputError, ws, wb) -> InputError:
    """``error`` (an empty sheet, a header without rows) naming the sheet read and the workbook's others."""
    others = [t.title for t in wb.worksheets if t.title != ws.title]
    if not others:
        return error
    return InputError(error.problem, file=error.file,
                      expected=f"{error.expected} in sheet {ws.title!r}; the workbook's other sheets are "
                               f"{', '.join(map(repr, others))} (choose one with --sheet NAME or N, or "
                               "table= in Python)")


def _read_excel(path: Path, sheet):
    """The first visible (or the named) sheet of an .xlsx workbook; rows labelled by their sheet row.

    The header is the first non-empty row. Merged cells in the header rows, and a second row of text
    right under the header above numeric data, are reported as errors rather than guessed at. Cells
    merged in the data (a study label spanning its rows) take the merged cell's value, as the sheet
    shows it, and ``attrs["notes"]`` says so. A workbook beyond :data:`XLSX_LIMITS` is refused before
    it is parsed, and a sheet whose cells span more than those limits before its cells are read.
    """
    import openpyxl

    _check_xlsx_bounds(path)
    # openpyxl warns of features it drops (data validation, ...), and raises zipfile / KeyError /
    # InvalidFileException for bad files
    wb, caught = _library_read(path, "an Excel .xlsx", lambda: openpyxl.load_workbook(path, data_only=True))
    _reissue(path, caught)
    ws, sheet_note = _pick_sheet(wb, sheet, path)
    grid = _sheet_grid(ws, path)
    _unsaved_formulas(path, ws.title, grid)
    rows = [(n, v) for n, v in grid.items() if any(_present(x) for x in v)]
    if not rows:
        raise _no_data(_empty_error(path), ws, wb)
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
        raise _no_data(_no_rows_error(path), ws, wb)
    _second_header(data, names, header_row, path)
    if names[0] == "":
        notes.append(ROW_NAMES_NOTE.replace("R's write.csv", "pandas' to_excel"))
    df = _typed_frame({h: [v[j] for _, v in data] for j, h in enumerate(names) if h}, [n for n, _ in data])
    df.attrs["notes"] = notes
    df.attrs["sheet"] = ws.title
    df.attrs["sheets"] = tuple(t.title for t in wb.worksheets)
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
