"""Reading user files into tables whose rows remember their file line numbers.

``read_table(path)`` returns a pandas DataFrame whose **index is the file line number** of each row
(the header is line 1, so the first data row is line 2) and whose ``attrs["source"]`` is the path.
Every later error can then name the row a user sees in an editor.

``read_raw(path)`` is the light path the command line uses for CSV/TSV: the same table as a
:class:`RawTable` (strings, no pandas import), so ``commonfactors pool file.csv`` starts fast.
No statistics happen here.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from .errors import InputError

#: Strings read as missing values (R's and spreadsheets' usual spellings).
MISSING = frozenset({"", "NA", "N/A", "NaN", "nan", "NULL", "null", ".", "-", "#N/A"})


class RawTable:
    """A table of strings read from a delimited file, with file line numbers as its index.

    It quacks like the part of a DataFrame that ``_checks`` uses: ``columns``, ``index``, ``attrs``,
    ``len()`` and ``table[name]`` (an object array of strings).
    """

    def __init__(self, columns: list[str], cells: dict[str, list[str]], lines: np.ndarray, source: str):
        self.columns = list(columns)
        self._cells = cells
        self.index = lines
        self.attrs = {"source": source}

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, name: str) -> np.ndarray:
        return np.asarray(self._cells[name], dtype=object)

    def to_frame(self):
        """The same table as a pandas DataFrame (numbers parsed where a whole column parses)."""
        import pandas as pd

        df = pd.DataFrame({c: _maybe_numeric(self._cells[c]) for c in self.columns}, index=self.index)
        df.index.name = None
        df.attrs["source"] = self.attrs["source"]
        return df


def _maybe_numeric(values: list[str]):
    out = []
    for v in values:
        s = v.strip()
        if s in MISSING:
            out.append(np.nan)
            continue
        try:
            out.append(float(s))
        except ValueError:
            return [None if v.strip() in MISSING else v for v in values]
    return np.asarray(out, dtype=float)


def _open_text(path: Path):
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError("the file is empty", file=path, expected="a header row and at least one data row")
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any byte string")  # pragma: no cover


def read_raw(path) -> RawTable:
    """Read a CSV or TSV file (delimiter sniffed among ``, ; \\t``) into a :class:`RawTable`."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", file=path, expected="a readable file or a dataset ID")
    text = _open_text(path)
    first = text.split("\n", 1)[0]
    delim = max([",", ";", "\t"], key=first.count)
    if path.suffix.lower() == ".tsv":
        delim = "\t"
    rows = list(csv.reader(text.splitlines(), delimiter=delim))
    header_line = next((i for i, r in enumerate(rows) if any(c.strip() for c in r)), None)
    header = [c.strip() for c in rows[header_line]]
    if any(not h for h in header):
        raise InputError(f"column {header.index('') + 1} has an empty name", file=path, row=header_line + 1,
                         expected="a header row naming every column")
    seen = set()
    for h in header:
        if h in seen:
            raise InputError(f"column name {h!r} appears twice in the header", file=path, row=header_line + 1,
                             expected="unique column names")
        seen.add(h)
    cells: dict[str, list[str]] = {h: [] for h in header}
    lines = []
    for i, r in enumerate(rows[header_line + 1:], start=header_line + 2):
        if not any(c.strip() for c in r):
            continue  # blank line
        if len(r) != len(header):
            raise InputError(f"has {len(r)} fields but the header has {len(header)}", file=path, row=i,
                             expected=f"{len(header)} fields separated by {delim!r}")
        for h, c in zip(header, r):
            cells[h].append(c)
        lines.append(i)
    if not lines:
        raise InputError("the file has a header but no data rows", file=path, expected="at least one data row")
    return RawTable(header, cells, np.asarray(lines), os.fspath(path))


def read_table(path):
    """Read a user file into a DataFrame indexed by file line number (``attrs["source"]`` = path)."""
    return read_raw(path).to_frame()
