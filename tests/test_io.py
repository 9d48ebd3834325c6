"""Unit tests of commonfactors.io: what each loader reads, the row numbers it reports, and the agreement
of read_table's fast CSV path with read_raw (same values, same errors). The bad-file corpus is in
tests/test_io_bad_files.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import in_a_process, in_process
from commonfactors import _checks, io
from commonfactors.errors import CommonFactorsWarning, InputError
from reference import load
from tolerances import METAFOR_RTOL

BAD = Path(__file__).parent / "data" / "bad"


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return p


def both(path):
    """read_table's frame and read_raw's, for files read by both."""
    return io.read_table(path), io.read_raw(path).to_frame()


# -- RawTable and the light path ------------------------------------------------------------------------


def test_raw_table_interface(tmp_path):
    p = write(tmp_path, "a.csv", "study,yi,vi\nA,0.1,0.01\nB,NA,0.02\n")
    t = io.read_raw(p)
    assert t.columns == ["study", "yi", "vi"]
    assert list(t.index) == [2, 3]
    assert t.attrs == {"source": str(p), "notes": []}
    assert len(t) == 2
    assert list(t["yi"]) == ["0.1", "NA"] and t["yi"].dtype == object
    f = t.to_frame()
    assert f["yi"].dtype == np.float64 and np.isnan(f["yi"].iloc[1])
    assert list(f.index) == [2, 3] and f.attrs["source"] == str(p)


def test_to_frame_types_columns_as_pandas_does(tmp_path):
    p = write(tmp_path, "a.csv", "n,x,label,empty\n10,1.5,A,\n12,NA,NA,\n")
    df = io.read_raw(p).to_frame()
    assert df["n"].dtype == np.int64 and list(df["n"]) == [10, 12]
    assert df["x"].dtype == np.float64
    assert df["label"].iloc[0] == "A" and pd.isna(df["label"].iloc[1])
    assert df["empty"].dtype == np.float64 and df["empty"].isna().all()
    pd.testing.assert_frame_equal(df, io._read_delimited_fast(p))


def test_light_path_imports_no_pandas_and_no_format_libraries(tmp_path):
    p = write(tmp_path, "a.csv", "yi,vi\n0.1,0.01\n")
    code = (
        "import sys; from commonfactors import io; t = io.read_raw(sys.argv[1]); "
        "heavy = ('pandas', 'openpyxl', 'pyreadstat', 'pyreadr', 'pyarrow', 'scipy'); "
        "bad = [m for m in heavy if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(p)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- line numbers ---------------------------------------------------------------------------------------


def test_rows_are_file_lines_through_quoted_newlines_and_blank_lines(tmp_path):
    text = '\n\nstudy,yi,vi\n"A\nsecond line\nthird",0.1,0.01\n\n"B ""quoted""",0.2,0.02\r\nC,0.3,-1\n'
    p = write(tmp_path, "a.csv", text)
    for df in both(p):
        assert list(df.index) == [4, 8, 9]
        assert df["study"].iloc[0] == "A\nsecond line\nthird" and df["study"].iloc[1] == 'B "quoted"'
    with pytest.raises(
        InputError, match=r"a\.csv, row 9, column 'vi': got -1; expected a sampling variance > 0"
    ):
        _checks.effect_data(io.read_raw(p), yi="yi", vi="vi")


def test_old_mac_line_endings(tmp_path):
    p = write(tmp_path, "a.csv", "yi,vi\r0.1,0.01\r0.2,0.02\r")
    for df in both(p):
        assert list(df.index) == [2, 3] and list(df["vi"]) == [0.01, 0.02]


def test_ragged_row_is_named_by_its_line(tmp_path):
    p = write(tmp_path, "a.csv", 'yi,vi,note\n0.1,0.01,"two\nlines"\n0.2,0.02\n')
    for reader in (io.read_raw, io.read_table):
        with pytest.raises(InputError, match=r"row 4: has 2 fields but the header has 3"):
            reader(p)


# -- dialects and encodings ----------------------------------------------------------------------------


@pytest.mark.parametrize("delim", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delim):
    p = write(
        tmp_path,
        "a.txt",
        delim.join(["study", "yi", "vi"]) + "\n" + delim.join(["A, B", "0.1", "0.01"]) + "\n",
    )
    if delim == ",":
        p.write_text('study,yi,vi\n"A, B",0.1,0.01\n')
    for df in both(p):
        assert list(df.columns) == ["study", "yi", "vi"] and df["study"].iloc[0] == "A, B"


def test_tsv_suffix_means_tab(tmp_path):
    p = write(tmp_path, "a.tsv", "study;x\tyi\tvi\nA;1\t0.1\t0.01\n")
    for df in both(p):
        assert list(df.columns) == ["study;x", "yi", "vi"]


def test_one_column_file(tmp_path):
    p = write(tmp_path, "a.csv", "yi\n0.1\n\n0.2\n")
    for df in both(p):
        assert list(df.columns) == ["yi"] and list(df.index) == [2, 4]


def test_decimal_comma(tmp_path):
    p = write(tmp_path, "a.csv", "yi;vi;n\n0,12;0,031;20\n-0,5;1,5e-2;31\n")
    for df in both(p):
        assert (
            list(df["yi"]) == [0.12, -0.5] and list(df["vi"]) == [0.031, 0.015] and list(df["n"]) == [20, 31]
        )


def test_decimal_point_file_with_a_comma_number_reports_the_cell(tmp_path):
    p = write(tmp_path, "a.csv", "yi;vi\n0.12;0.031\n0,5;0.02\n")
    with pytest.raises(InputError, match=r"row 3, column 'yi': got '0,5'; expected a number"):
        _checks.effect_data(io.read_raw(p), yi="yi", vi="vi")


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("utf-8", "Müller–Sánchez"),
        ("utf-8-sig", "Müller"),
        ("latin-1", "Müller"),
        ("cp1252", "Müller–Sánchez"),
        ("utf-16", "Müller–Sánchez"),
    ],
)
def test_encodings(tmp_path, encoding, name):
    p = write(tmp_path, "a.csv", f"study,yi,vi\n{name},0.1,0.01\n".encode(encoding))
    for df in both(p):
        assert list(df.columns) == ["study", "yi", "vi"] and df["study"].iloc[0] == name


def test_missing_spellings(tmp_path):
    spellings = sorted(io.MISSING - {""})
    p = write(tmp_path, "a.csv", "yi,vi\n" + "".join(f"{s},0.01\n" for s in spellings) + "0.5,0.02\n")
    for df in both(p):
        assert df["yi"].dtype == np.float64 and df["yi"].isna().sum() == len(spellings)


# -- the fast path agrees with read_raw -----------------------------------------------------------------


def _same(path):
    """read_raw(path).to_frame() and the fast path give equal frames, or the same error."""
    try:
        expected = io.read_raw(path).to_frame()
    except InputError as e:
        with pytest.raises(InputError) as err:
            io._read_delimited_fast(path)
        assert str(err.value) == str(e)
        return None
    got = io._read_delimited_fast(path)
    pd.testing.assert_frame_equal(got, expected)
    return got


@pytest.mark.parametrize("name", sorted(p.name for p in BAD.iterdir() if p.suffix in (".csv", ".txt")))
def test_fast_path_agrees_on_the_corpus(name):
    _same(BAD / name)


def _big(tmp_path, header, row, n=60_000, insert=None, at=None):
    """A file of n rows (several of pandas' parsing chunks), with ``insert`` as line ``at`` + 1."""
    lines = [header] + [row(i) for i in range(n)]
    if insert is not None:
        lines.insert(at, insert)
    return write(tmp_path, "big.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "kind",
    [
        "plain",
        "quoted",
        "quoted_newline",
        "blank",
        "short",
        "long",
        "text",
        "decimal_comma",
        "comma_then_point",
        "boolean",
        "unclosed",
        "spaces",
        "row_names",
        "short_header",
        "short_header_ragged",
        "trailing_comma",
        "long_first",
        "whitespace",
    ],
)
def test_fast_path_agrees_on_large_files(tmp_path, kind, monkeypatch):
    row = lambda i: f"S{i},{(i % 200 - 100) / 250!r},{0.01 + (i % 37) / 1000!r},{i % 50 + 2}"  # noqa: E731
    header = "study,yi,vi,n"
    insert, at = None, None
    if kind == "quoted":
        row = lambda i: f'"Study, {i}",{i / 1000!r},0.02,"{i % 9 + 2}"'  # noqa: E731
    elif kind == "quoted_newline":
        insert, at = '"two\nlines",0.5,0.02,10', 30_000
    elif kind == "blank":
        insert, at = "", 25_000
    elif kind == "short":
        insert, at = "S,0.5,0.02", 35_000
    elif kind == "long":
        insert, at = "S,0.5,0.02,10,11", 35_000
    elif kind == "long_first":  # pandas alone would drop the fifth field of every row
        insert, at = "S,0.5,0.02,10,11", 1
    elif kind == "text":
        insert, at = "S,n.r.,0.02,10", 38_000
    elif kind == "decimal_comma":
        header, row = "yi;vi", (lambda i: f"0,{i % 97 + 1};0,0{i % 9 + 1}")  # noqa: E731
    elif kind == "comma_then_point":
        header, row = "yi;vi", (lambda i: f"0,{i % 97 + 1};0,0{i % 9 + 1}")  # noqa: E731
        insert, at = "0.5;0,02", 39_000
    elif kind == "boolean":
        header, row = "yi,vi,flag", (lambda i: f"0.{i % 9},0.02,{'TRUE' if i % 2 else 'FALSE'}")  # noqa: E731
    elif kind == "unclosed":
        insert, at = '"S,0.5,0.02,10', 20_000
    elif kind == "spaces":
        row = lambda i: f" S{i} , {i / 1000!r} ,0.02, 7 "  # noqa: E731
    elif kind == "row_names":
        header, row = '"","yi","vi"', (lambda i: f'"{i + 1}",0.{i % 9},0.02')  # noqa: E731
    elif kind in ("short_header", "short_header_ragged"):  # R's write.table(df, file, sep = ",")
        header, row = '"yi","vi"', (lambda i: f'"{i + 1}",0.{i % 9},0.02')  # noqa: E731
        if kind == "short_header_ragged":
            insert, at = "0.5,0.02", 41_000
    elif kind == "trailing_comma":  # one field more than the header, but empty: not a row name
        header, row = "yi,vi", (lambda i: f"0.{i % 9},0.02,")  # noqa: E731
    elif kind == "whitespace":  # R's write.table(df, file): read by read_raw on both paths
        header, row = '"study" "yi" "vi"', (lambda i: f'"{i + 1}" "S {i}" 0.{i % 9} 0.02')  # noqa: E731
    path = _big(tmp_path, header, row, insert=insert, at=at)
    df = _same(path)
    if kind in ("plain", "quoted", "spaces"):
        assert list(df.index[:3]) == [2, 3, 4] and df.index[-1] == 60_001
    if kind in ("short_header", "whitespace"):
        assert list(df.columns) == (["study"] if kind == "whitespace" else []) + ["yi", "vi"]
        assert df.index[-1] == 60_001 and df.attrs["notes"] == [io.SHORT_HEADER_NOTE]
    if kind in ("plain", "quoted", "quoted_newline", "text", "decimal_comma", "spaces", "row_names",
                "short_header"):
        # these are read by pandas itself, without deferring to read_raw
        monkeypatch.setattr(io._text, "read_raw",
                            lambda path: pytest.fail("the fast path deferred to read_raw"))
        pd.testing.assert_frame_equal(io._read_delimited_fast(path), df)


def test_fast_path_reads_numbers_exactly(tmp_path):
    rng = np.random.default_rng(20261123)
    x = rng.standard_normal(80_000) * 10.0 ** rng.integers(-8, 8, 80_000)
    p = write(tmp_path, "x.csv", "yi,vi\n" + "".join(f"{a!r},{abs(a) + 1e-3!r}\n" for a in x.tolist()))
    df = io.read_table(p)
    np.testing.assert_array_equal(df["yi"].to_numpy(), x)
    assert list(df.index[[0, -1]]) == [2, 80_001]


# -- Excel ----------------------------------------------------------------------------------------------


def _xlsx(tmp_path, sheets, merged=()):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    for title, rng in merged:
        wb[title].merge_cells(rng)
    p = tmp_path / "book.xlsx"
    wb.save(p)
    return p


def test_excel_rows_are_sheet_rows_and_sheets_are_chosen(tmp_path):
    p = _xlsx(
        tmp_path,
        {
            "notes": [["made up"]],
            "data": [
                [None],
                [None],
                ["yi", "vi", "n"],
                [0.1, 0.01, 20],
                [None, None, None],
                ["NA", 0.02, 31],
            ],
        },
    )
    df = io.read_table(p, table="data")
    assert list(df.index) == [4, 6] and list(df.columns) == ["yi", "vi", "n"]
    assert df["n"].dtype == np.int64 and list(df["vi"]) == [0.01, 0.02] and np.isnan(df["yi"].iloc[1])
    assert df.attrs["sheet"] == "data" and df.attrs["notes"] == ["read sheet 'data' of 2"]
    with pytest.raises(InputError, match=r"book\.xlsx: the file has a header but no data rows"):
        io.read_table(p)  # the first sheet, by default
    with pytest.raises(InputError, match=r"has no sheet 'Data'; expected one of the sheets 'notes', 'data'"):
        io.read_table(p, table="Data")


def test_excel_merged_data_cells_take_their_value(tmp_path):
    p = _xlsx(tmp_path, {"s": [["study", "yi"], ["A", 0.1], [None, 0.2]]}, merged=[("s", "A2:A3")])
    df = io.read_table(p)
    assert list(df["study"]) == ["A", "A"]
    assert df.attrs["notes"] == ["merged cells A2:A3 read as 'A' in each of their rows"]


def test_excel_text_value_is_reported_at_its_sheet_row(tmp_path):
    p = _xlsx(tmp_path, {"s": [["yi", "vi"], [0.1, 0.01], [0.2, "0.02*"]]})
    with pytest.raises(InputError, match=r"book\.xlsx, row 3, column 'vi': got '0\.02\*'; expected a number"):
        _checks.effect_data(io.read_table(p), yi="yi", vi="vi")


# -- JSON, R, options -----------------------------------------------------------------------------------


def test_json_columns_and_records_agree(tmp_path):
    a = write(tmp_path, "a.json", '{"yi": [0.1, null, 0.3], "vi": [0.01, 0.02, "NA"]}')
    b = write(tmp_path, "b.json", '[{"yi": 0.1, "vi": 0.01}, {"vi": 0.02}, {"yi": 0.3, "vi": null}]')
    fa, fb = io.read_table(a), io.read_table(b)
    assert list(fa.index) == [2, 3, 4]
    pd.testing.assert_frame_equal(fa, fb)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"yi": 0.1}, [0.2]]', r"row 3: record 2 is a JSON list, not an object"),
        ('{"yi": [0.1, {"a": 1}]}', r"row 3, column 'yi': got a nested JSON dict"),
        ('"yi"', r"holds a JSON str that is neither records nor columns"),
        ("[]", r"the file has a header but no data rows"),
    ],
)
def test_json_errors(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        io.read_table(write(tmp_path, "a.json", text))


def test_rdata_with_several_frames_needs_table(tmp_path, monkeypatch):
    import pyreadr

    frames = {"alliance": pd.DataFrame({"yi": [0.1]}), "outcome": pd.DataFrame({"yi": [0.2, 0.3]})}
    monkeypatch.setattr(pyreadr, "read_r", lambda path: dict(frames))
    p = write(tmp_path, "two.RData", b"RDX3")
    with pytest.raises(
        InputError, match=r"holds 2 data frames \('alliance', 'outcome'\); expected table= naming"
    ):
        io.read_table(p)
    df = io.read_table(p, table="outcome")
    assert list(df.index) == [2, 3] and list(df["yi"]) == [0.2, 0.3]
    with pytest.raises(InputError, match=r"has no data frame 'x'"):
        io.read_table(p, table="x")


def test_options_and_missing_files(tmp_path):
    p = write(tmp_path, "a.csv", "yi,vi\n0.1,0.01\n")
    with pytest.raises(InputError, match=r"table='x' was given, but a csv file holds one table"):
        io.read_table(p, table="x")
    with pytest.raises(InputError, match=r"nothere\.csv: no such file"):
        io.read_table(tmp_path / "nothere.csv")
    with pytest.raises(InputError, match=r"is a directory"):
        io.read_raw(tmp_path)


def test_value_labels_are_kept_as_metadata():
    with pytest.warns(
        CommonFactorsWarning,
        match=r"value labels read as categories: 'format' \(1 = 'individual', 2 = 'group'\)",
    ):
        df = io.read_table(BAD / "value_labels.sav")
    assert isinstance(df["format"].dtype, pd.CategoricalDtype)
    assert df.attrs["notes"] == ["value labels read as categories: 'format' (1 = 'individual', 2 = 'group')"]


def test_row_names_column_is_left_out_and_said_so(tmp_path):
    p = write(tmp_path, "a.csv", '"","study","yi"\n"1","A",0.1\n"2","B",0.2\n')
    for df in both(p):
        assert list(df.columns) == ["study", "yi"]
        assert df.attrs["notes"] == [io.ROW_NAMES_NOTE]
    x = _xlsx(tmp_path, {"s": [[None, None, None], [None, None, "yi"], [None, 0, 0.1], [None, 1, 0.2]]})
    df = io.read_table(x)
    assert list(df.columns) == ["yi"] and list(df.index) == [3, 4]
    assert df.attrs["notes"] == [io.ROW_NAMES_NOTE.replace("R's write.csv", "pandas' to_excel")]
    with pytest.raises(InputError, match=r"row 1: column 2 has an empty name"):
        io.read_raw(write(tmp_path, "b.csv", "yi,,vi\n1,2,3\n"))


def test_excel_formula_without_saved_value_is_reported(tmp_path):
    p = _xlsx(tmp_path, {"s": [["yi", "vi"], [0.1, "=A2/10"], [0.2, 0.02]]})
    with pytest.raises(InputError, match=r"row 2: cell B2 holds the formula '=A2/10' but no saved value"):
        io.read_table(p)


@pytest.mark.parametrize("at", [10, 50_000])
def test_fast_path_latin1_bytes_early_or_late(tmp_path, at):
    """A Windows-1252 byte in the sniffed sample, or only far beyond it: the same table as read_raw."""
    lines = ["study,yi,vi"] + [f"S{i},0.{i % 9},0.02" for i in range(60_000)]
    lines[at] = "Müller–Sánchez,0.5,0.02"
    p = write(tmp_path, "a.csv", ("\n".join(lines) + "\n").encode("cp1252"))
    df = _same(p)
    assert df.loc[at + 1, "study"] == "Müller–Sánchez"


# -- R's write.table: whitespace-delimited, R's quoting, a header one name short ---------------------------

RWT = Path(__file__).parent / "data" / "r_write_table"
#: tests/data/r_write_table/make_r_write_table.R writes each file with the call beside it; the value of
#: R 4.2's read.table(file, header = TRUE) of each is in expected/<name>.csv, numbers with 17 significant
#: digits (sprintf("%.17g")), so that reading them gives R's doubles exactly:
#: > dat <- as.data.frame(escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
#: > dat$yi[3] <- NA; dat$vi[7] <- NA
#: > write.table(dat, "bcg_default.txt")                        # row names, quoted strings
#: > write.table(dat, "bcg_no_row_names.txt", row.names = FALSE)
#: > write.table(dat[, c("trial", "year", "tpos", "tneg", "cpos", "cneg", "ablat", "alloc", "yi", "vi")],
#: +             "bcg_no_quote.txt", quote = FALSE)
#: > write.table(dat, "bcg_tab.txt", sep = "\t")
#: > write.table(odd, "odd_labels.txt")   # labels with a space, an inner quote, a backslash, NA, padding
R_FILES = {
    "bcg_default": True,  # name -> written with row names
    "bcg_no_row_names": False,
    "bcg_no_quote": True,
    "bcg_tab": True,
    "odd_labels": True,
}


@pytest.mark.parametrize("name", sorted(R_FILES))
def test_r_write_table_reads_as_r_reads_it(name):
    """Same columns, values (doubles bit for bit, NA where R has NA) and text as R's read.table."""
    expected = io.read_table(RWT / "expected" / f"{name}.csv")
    for df in both(RWT / f"{name}.txt"):
        pd.testing.assert_frame_equal(df, expected, check_exact=True, check_like=False)
        assert df.attrs["notes"] == ([io.SHORT_HEADER_NOTE] if R_FILES[name] else [])


def test_r_write_table_labels():
    """Pinned: R's read.table of odd_labels.txt gives these labels (R's escape quoting: \\" is a quote,
    another backslash stays), yi and vi."""
    for df in both(RWT / "odd_labels.txt"):
        assert list(df.index) == [2, 3, 4, 5, 6]
        labels = ["Smith 2001", 'O"Brien 2004', "Lee\\Kim 2010", "  padded  "]
        assert list(df["study"].iloc[[0, 1, 2, 4]]) == labels
        assert pd.isna(df["study"].iloc[3])
        # > sprintf("%.17g", read.table("odd_labels.txt", header = TRUE)$yi)
        np.testing.assert_array_equal(df["yi"], [0.12, -0.35, 0.333333333333333, 2e-10, np.nan])
        np.testing.assert_array_equal(df["vi"], [0.031, 0.045, 0.027, 1e5, 0.052])


def test_r_write_table_pools_through_the_command_line():
    """``commonfactors pool bcg_default.txt --yi yi --vi vi``: R's write.table output, two NAs dropped."""
    res = in_process("pool", RWT / "bcg_default.txt", "--yi", "yi", "--vi", "vi", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    expected = load("io")["bcg_default"]  # metafor 3.8-1, tests/reference/io.R
    assert out["k"] == expected["k"]
    assert out["estimate"] == pytest.approx(expected["estimate"], rel=METAFOR_RTOL["rma"])
    assert out["tau2"] == pytest.approx(expected["tau2"], rel=METAFOR_RTOL["rma"])


def test_whitespace_bad_value_names_file_line_column_through_the_cli(tmp_path):
    text = (BAD / "r_write_table_row_names.txt").read_text(encoding="utf-8").replace(" 0.027\n", " -0.02\n")
    p = write(tmp_path, "studies.txt", text)
    with pytest.raises(InputError, match=r"studies\.txt, row 4, column 'vi': got -0\.02; expected a"):
        _checks.effect_data(io.read_raw(p), yi="yi", vi="vi")
    res = in_a_process("pool", p, "--yi", "yi", "--vi", "vi", "--format", "json")
    assert res.returncode == 2 and res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [res.stderr.strip()]
    assert "studies.txt, row 4, column 'vi': got -0.02; expected a sampling variance > 0" in res.stderr


# Each line checked against R 4.2: read.table(textConnection(text), header = TRUE, stringsAsFactors = FALSE)
@pytest.mark.parametrize(
    ("text", "rows", "cells"),
    [
        ('a b\nx"y" 1\n', [2], ['x"y"', 1]),  # a quote inside an unquoted field is kept
        ('a b\n"p q"r 2\n', [2], ["r", 2]),  # a closing quote ends the field: row name "p q"
        ('a b\n"t\\\\u" 5\n', [2], ["t\\\\u", 5]),  # "t\\u": both backslashes stay
        ('a b\n"m\\tn" 6\n', [2], ["m\\tn", 6]),  # "m\tn": no escape sequences but \"
        ('a b\n"a\\\\\\"b" 5\n', [2], ['a\\\\"b', 5]),  # "a\\\"b" -> a\\"b
        ('a b\n"NA" 4\n""  8\n', [2, 3], [None, 4]),  # quoted NA and "" are missing
        ('a b\n  "x"\t\t  8  \n\n\ty 9\n', [2, 4], ["x", 8]),  # runs of spaces and tabs, blank lines
        ('a b\n"two\nlines" 6\nz 7\r\n', [2, 4], ["two\nlines", 6]),  # a quoted newline; rows by line
        ('"a b" c\nx 8\n', [2], ["x", 8]),  # a quoted header name keeps its space (R: a.b)
    ],
)
def test_whitespace_fields_follow_r_scan(tmp_path, text, rows, cells):
    p = write(tmp_path, "a.txt", text)
    for df in both(p):
        assert list(df.index) == rows
        got = [None if pd.isna(v) else v for v in df.iloc[0]]
        assert got == cells


def test_whitespace_is_sniffed_only_when_no_delimiter_splits_the_header(tmp_path):
    one = write(tmp_path, "one.csv", "effect size\n0.12\n0.35\n")  # one column whose name has a space
    for df in both(one):
        assert list(df.columns) == ["effect size"] and list(df["effect size"]) == [0.12, 0.35]
    csv = write(tmp_path, "c.csv", "study,yi\nSmith 2001,0.1\nJones 2004,0.2\n")
    for df in both(csv):
        assert list(df.columns) == ["study", "yi"] and list(df["study"]) == ["Smith 2001", "Jones 2004"]


def test_short_header_means_row_names_for_any_delimiter(tmp_path):
    """R's write.table(df, file, sep = "\\t" or ","): the header names one field fewer than the rows hold."""
    for sep in ("\t", ",", ";"):
        p = write(tmp_path, "a.txt", f'"yi"{sep}"vi"\n"1"{sep}0.1{sep}0.01\n"2"{sep}0.2{sep}0.02\n')
        for df in both(p):
            assert list(df.columns) == ["yi", "vi"] and list(df["vi"]) == [0.01, 0.02]
            assert df.attrs["notes"] == [io.SHORT_HEADER_NOTE]
    trailing = write(tmp_path, "t.csv", "yi,vi\n0.1,0.01,\n0.2,0.02,\n")  # an empty extra field: no row name
    for reader in (io.read_raw, io.read_table):
        with pytest.raises(InputError, match=r"row 2: has 3 fields but the header has 2"):
            reader(trailing)


def test_write_table_with_decimal_comma(tmp_path):
    # > write.table(data.frame(study = c("A b", "C"), yi = c(0.12, -1.5), vi = c(0.031, 2)), "dec.txt",
    # +             dec = ",")   # R 4.2
    p = write(tmp_path, "dec.txt", '"study" "yi" "vi"\n"1" "A b" 0,12 0,031\n"2" "C" -1,5 2\n')
    for df in both(p):
        assert list(df["study"]) == ["A b", "C"]
        assert list(df["yi"]) == [0.12, -1.5] and list(df["vi"]) == [0.031, 2.0]


@pytest.mark.parametrize("n", [0, 1, 6, 7, 8, 1000])
def test_newlines_are_counted_across_blocks(n):
    """_count_newlines (the line count of quoted files) equals a direct count at and around block ends."""
    from commonfactors.io._text import _count_newlines

    buf = np.random.default_rng(n).integers(0, 20, n).astype(np.uint8)
    assert _count_newlines(buf, block=7) == _count_newlines(buf) == int(np.sum(buf == 10))
