"""Workbooks whose first sheet is not the data, and text fields longer than the csv module's default limit."""

from __future__ import annotations

import json

import openpyxl
import pytest

from cli_run import in_process
from commonfactors import io
from commonfactors.errors import InputError

ROWS = [("study", "yi", "vi"), ("A", 0.1, 0.01), ("B", 0.3, 0.02), ("C", 0.2, 0.04)]


@pytest.fixture
def book(tmp_path):
    """A workbook as people send them: a README sheet first, the data second, an empty sheet last."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "README"
    for line in ("About this workbook", "Data are in the sheet 'data'.", "Effect sizes are Hedges' g."):
        ws.append([line])
    data = wb.create_sheet("data")
    for row in ROWS:
        data.append(row)
    wb.create_sheet("notes")
    path = tmp_path / "book.xlsx"
    wb.save(path)
    csv = tmp_path / "same.csv"
    csv.write_text("\n".join(",".join(map(str, r)) for r in ROWS) + "\n")
    return path, csv


def test_sheet_by_name_or_number(book):
    path, _ = book
    by_name, by_number = io.read_table(path, table="data"), io.read_table(path, table=2)
    assert list(by_name["yi"]) == [0.1, 0.3, 0.2] and by_number.equals(by_name)
    assert by_name.attrs["sheet"] == "data" and by_name.attrs["sheets"] == ("README", "data", "notes")
    assert io.read_table(path, table="2").equals(by_name)


def test_an_unknown_sheet_lists_the_sheets(book):
    with pytest.raises(InputError, match=r"has no sheet '4'.*'README', 'data', 'notes', or a number 1 to 3"):
        io.read_table(book[0], table="4")


def test_an_empty_sheet_names_the_others(book):
    expected = r"the file is empty.*in sheet 'notes'.*other sheets are 'README', 'data'.*--sheet"
    with pytest.raises(InputError, match=expected):
        io.read_table(book[0], table="notes")


def test_cli_sheet_option_reads_the_named_sheet_as_the_csv_reads_the_same_rows(book):
    path, csv = book
    for command in ("bias", "influence"):
        expected = json.loads(in_process(command, csv, "--format", "json").stdout)
        for sheet in ("data", "2"):
            got = in_process(command, path, "--sheet", sheet, "--format", "json")
            assert got.returncode == 0, got.stderr
            assert json.loads(got.stdout) == expected


def test_cli_without_sheet_names_the_sheet_read_and_the_others(book):
    res = in_process("pool", book[0])
    assert res.returncode == 2
    assert "of sheet 'README'; the workbook's other sheets are 'data', 'notes'" in res.stderr
    assert "--sheet" in res.stderr and res.stderr.count("\n") == 1


def test_cli_sheet_with_a_text_file_is_refused(book):
    res = in_process("bias", book[1], "--sheet", "2")
    assert res.returncode == 2 and "not an .xlsx workbook" in res.stderr


@pytest.mark.parametrize("length", [131_073, 1_000_000])
def test_fields_longer_than_the_csv_default_limit_load(tmp_path, length):
    """A long abstract in a column (the csv module's default field limit is 131,072 characters)."""
    path = tmp_path / "abstracts.csv"
    text = "x" * length
    path.write_text(f'study,yi,vi,abstract\nA,0.1,0.01,"{text}"\nB,0.3,0.02,{text}\nC,0.2,0.04,short\n')
    df = io.read_table(path)
    assert [len(a) for a in df["abstract"]] == [length, length, 5]
    assert in_process("pool", path, "--format", "json").returncode == 0
