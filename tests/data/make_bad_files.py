"""Write the bad-file corpus of tests/data/bad/ (run from anywhere: ``python tests/data/make_bad_files.py``).

Each file is a way user data goes wrong (or looks wrong but is fine) when it reaches ``commonfactors``;
tests/test_io_bad_files.py holds the expected outcome of each. Binary files are made reproducible
(fixed timestamps inside .xlsx, .sav and .dta), so running this script again rewrites the same bytes
with the same library versions. The "200 MB CSV" case is not here: tests/test_io_bad_files.py makes it
on the fly in a temporary directory (``write_large_csv``), so it is never committed.
"""

from __future__ import annotations

import datetime
import gzip
import io
import re
import struct
import sys
import zipfile
from pathlib import Path

BAD = Path(__file__).resolve().parent / "bad"

# Six studies, as a therapist-alliance meta-analysis might list them (made-up numbers).
STUDY = ["Anderson 2001", "Baldwin 2007", "Castonguay 1996", "Duff 2013", "Eames 2000", "Falkenström 2016"]
YI = ["0.12", "0.35", "-0.05", "0.48", "0.22", "0.30"]
VI = ["0.031", "0.045", "0.027", "0.060", "0.038", "0.052"]


def _rows(delim=",", decimal=".", study=STUDY, yi=YI, vi=VI, header=("study", "yi", "vi"), eol="\n"):
    out = [delim.join(header)]
    for s, y, v in zip(study, yi, vi, strict=True):
        out.append(delim.join([s, y.replace(".", decimal), v.replace(".", decimal)]))
    return eol.join(out) + eol


def _write_table():
    """The six studies as R's ``write.table(df, file)`` writes them (R 4.2: sep " ", quote = TRUE,
    row.names = TRUE, so the header names one field fewer than the rows hold)."""
    out = ['"study" "yi" "vi"']
    for i, (s, y, v) in enumerate(zip(STUDY, YI, VI, strict=True), start=1):
        out.append(f'"{i}" "{s}" {y} {v}')
    return "\n".join(out) + "\n"


def _replace(values, i, new):
    values = list(values)
    values[i] = new
    return values


def text_files() -> dict[str, bytes]:
    """name -> bytes of the delimited-text cases."""
    utf8 = lambda s: s.encode("utf-8")  # noqa: E731
    files = {
        # a header split by commas but rows split by semicolons: row 2 has one field
        "wrong_delimiter.csv": utf8("study,yi,vi\n" + _rows(";").split("\n", 1)[1]),
        # European Excel export: semicolons, decimal commas, CRLF (loads)
        "semicolon_decimal_comma.csv": utf8(_rows(";", ",", eol="\r\n")),
        "tab_delimited.csv": utf8(_rows("\t")),
        "pipe_delimited.txt": utf8(_rows("|")),
        # Latin-1 bytes (0xF6 for o-umlaut): loads, names intact
        "latin1.csv": _rows().encode("latin-1"),
        "utf8_bom.csv": b"\xef\xbb\xbf" + utf8(_rows()),
        # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated
        "utf16_unicode_text.txt": _rows("\t").encode("utf-16"),
        "text_in_numeric.csv": utf8(_rows(vi=_replace(VI, 2, "0.02 (approx.)"))),
        "empty.csv": b"",
        "whitespace_only.csv": b"\n   \n\t\n",
        "header_only.csv": utf8("study,yi,vi\n"),
        "duplicate_columns.csv": utf8(
            "study,yi,vi,yi\nAnderson 2001,0.12,0.031,0.14\nBaldwin 2007,0.35,0.045,0.33\n"
        ),
        "empty_column_name.csv": utf8(_rows(header=("study", "", "vi"))),
        "negative_variance.csv": utf8(_rows(vi=_replace(VI, 3, "-0.02"))),
        "zero_variance.csv": utf8(_rows(vi=_replace(VI, 1, "0"))),
        "infinite_effect.csv": utf8(_rows(yi=_replace(YI, 4, "Inf"))),
        # quoted study labels running over two lines: rows are named by the line they start on
        "quoted_newlines.csv": utf8(
            'study,yi,vi\n"Anderson 2001",0.12,0.031\n"Baldwin 2007\n(pilot)",0.35,0.045\n'
            '"Castonguay, 1996",-0.05,0.027\n"Duff 2013\nsite ""B""",0.48,-0.01\n'
        ),
        "quoted_newlines_ok.csv": utf8(
            'study,yi,vi\n"Anderson 2001",0.12,0.031\n"Baldwin 2007\n(pilot)",0.35,0.045\n'
            '"Castonguay, 1996",-0.05,0.027\n'
        ),
        "blank_lines_text_value.csv": utf8(
            "\nstudy,yi,vi\nAnderson 2001,0.12,0.031\n\nBaldwin 2007,0.35,0.045\n\n"
            "Castonguay 1996,n.r.,0.027\n"
        ),
        "ragged_row.csv": utf8(
            "study,yi,vi\nAnderson 2001,0.12,0.031\nBaldwin 2007,0.35,0.045\nCastonguay 1996,0.027\n"
        ),
        "unclosed_quote.csv": utf8(
            'study,yi,vi\nAnderson 2001,0.12,0.031\n"Baldwin 2007,0.35,0.045\nCastonguay 1996,-0.05,0.027\n'
        ),
        "no_header.csv": utf8("0.12,0.031\n0.35,0.045\n-0.05,0.027\n"),
        "misnamed_columns.csv": utf8(_rows(header=("study", "g", "var_g"))),
        # decimal commas for 60 rows (the sniffed sample), then a number with a point
        "decimal_comma_then_point.csv": utf8(
            "study;yi;vi\n"
            + "".join(f"S{i};0,{10 + i};0,0{40 + i % 50}\n" for i in range(60))
            + "S60;0,20;1.234\n"
        ),
        # an .xlsx workbook given a .csv name
        "xlsx_saved_as.csv": _zip_bytes(),
        "binary_junk.csv": bytes(range(256)) * 4,
        "missing_values.csv": utf8(_rows(yi=_replace(YI, 1, "NA"), vi=_replace(VI, 3, ""))),
        "all_missing.csv": utf8(_rows(yi=["NA"] * 6)),
        "crlf_spaces.csv": utf8(
            " study , yi , vi \r\n"
            + "".join(f"{s}, {y} ,{v} \r\n" for s, y, v in zip(STUDY, YI, VI, strict=True))
        ),
        "unknown_suffix.xyz": utf8(_rows()),
        # R's write.csv(df) without row.names = FALSE: a nameless first column of row names (loads)
        "r_write_csv_row_names.csv": utf8(
            '"","study","yi","vi"\n'
            + "".join(
                f'"{i}","{s}",{y},{v}\n'
                for i, (s, y, v) in enumerate(zip(STUDY, YI, VI, strict=True), start=1)
            )
        ),
        "old_excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
        # R's write.table(df, file) (loads): fields split by spaces, strings quoted, and a row name first
        # in each row, so the header has one field fewer than the rows
        "r_write_table_row_names.txt": utf8(_write_table()),
        # the same with the value of vi missing in the third row: 3 fields where the others have 4
        "ragged_whitespace.txt": utf8(_write_table().replace(" -0.05 0.027\n", " -0.05\n")),
        # write.table(df, file, quote = FALSE): the labels' spaces split them into two fields
        "r_write_table_unquoted_spaces.txt": utf8(_write_table().replace('"', "")),
        # a label whose closing quote is lost, on the last row
        "whitespace_unclosed_quote.txt": utf8(_write_table().replace('2016" ', "2016 ")),
        # measure-specific inputs (commonfactors effects)
        "sd_zero.csv": utf8(
            "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,10.2,4.1,20,12.5,4.4,21\nB,9.8,0,15,11.0,0,15\n"
            "C,11.1,3.9,30,12.0,4.0,28\n"
        ),
        "n_one.csv": utf8(
            "study,m1i,sd1i,n1i,m2i,sd2i,n2i\nA,10.2,4.1,20,12.5,4.4,21\nB,9.8,3.5,15,11.0,3.7,15\n"
            "C,11.1,3.9,1,12.0,4.0,28\n"
        ),
        "counts_above_n.csv": utf8(
            "study,ai,n1i,ci,n2i\nA,4,20,9,21\nB,6,30,11,29\nC,3,12,7,12\nD,12,10,5,10\n"
        ),
        "r_above_one.csv": utf8("study,ri,ni\nA,0.25,40\nB,1.2,55\nC,0.31,60\n"),
        # types that are not numbers: R's logical, a date, digit separators (Python's float() reads 1_000)
        "logical_effect.csv": utf8(_rows(yi=_replace(YI, 2, "TRUE"))),
        "date_effect.csv": utf8(_rows(yi=_replace(YI, 1, "2016-03-01"))),
        "underscore_number.csv": utf8(_rows(yi=_replace(YI, 3, "1_000"))),
        "thousands_separator.csv": utf8(_rows(yi=_replace(YI, 1, '"1,250"'))),
        # decimal commas with a point as thousands separator: 1.250,5
        "thousands_decimal_comma.csv": utf8(_rows(";", ",").replace("0,48;", "1.250,5;")),
        # values whose arithmetic overflows double precision
        "effect_1e308.csv": utf8(_rows(yi=_replace(YI, 2, "1e308"))),
        "variance_1e308.csv": utf8(_rows(vi=_replace(VI, 4, "1e308"))),
        "variance_subnormal.csv": utf8(_rows(vi=_replace(VI, 0, "1e-320"))),
    }
    return files


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("[Content_Types].xml", date_time=(2020, 1, 1, 0, 0, 0))
        z.writestr(info, "<Types/>")
    return buf.getvalue()


def _fixed_zip(raw: bytes) -> bytes:
    """The same zip archive with every entry dated 2020-01-01 (openpyxl stamps the current time)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            data = re.sub(
                rb"<dcterms:(created|modified)([^>]*)>[^<]*<", rb"<dcterms:\1\2>2020-01-01T00:00:00Z<", data
            )
            fixed = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(fixed, data)
    return buf.getvalue()


def _workbook(rows, merged=(), title="Studies", before=(), after=()) -> bytes:
    """One sheet of ``rows``; ``before`` and ``after`` are other sheets, (title, rows, state)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(list(r))
    for rng in merged:
        ws.merge_cells(rng)
    for i, (name, other, state) in enumerate([*before, *after]):
        sheet = wb.create_sheet(name, index=i if i < len(before) else None)
        for r in other:
            sheet.append(list(r))
        sheet.sheet_state = state
    wb.active = wb.worksheets.index(ws)
    wb.properties.created = wb.properties.modified = datetime.datetime(2020, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue())


def excel_files() -> dict[str, bytes]:
    data = [[s, float(y), float(v)] for s, y, v in zip(STUDY, YI, VI, strict=True)]
    files = {
        # "Treatment" spans two columns above "g" and "v": a two-row header with merged cells
        "merged_header.xlsx": _workbook(
            [["study", "Treatment", None], [None, "g", "v"], *data], merged=["B1:C1"]
        ),
        # two header rows without merged cells: names, then units
        "two_header_rows.xlsx": _workbook([["study", "yi", "vi"], ["", "Hedges g", "variance"], *data]),
        "excel_negative_variance.xlsx": _workbook(
            [["study", "yi", "vi"], *data[:2], [data[2][0], data[2][1], -0.02], *data[3:]]
        ),
        # a study label merged over its two outcome rows (loads: both rows get the label)
        "excel_merged_study_labels.xlsx": _workbook(
            [
                ["study", "outcome", "yi", "vi"],
                [STUDY[0], "BDI", 0.12, 0.031],
                [None, "HAMD", 0.18, 0.036],
                [STUDY[1], "BDI", 0.35, 0.045],
            ],
            merged=["A2:A3"],
        ),
    }
    files["corrupt.xlsx"] = files["excel_negative_variance.xlsx"][:300]
    files["excel_logical.xlsx"] = _workbook([["study", "yi", "vi"], *[[s, y > 0.2, v] for s, y, v in data]])
    files["excel_date.xlsx"] = _workbook(
        [["study", "yi", "vi"], *data[:3], [data[3][0], datetime.datetime(2016, 3, 1), data[3][2]], *data[4:]]
    )
    # an old sheet (hidden) first, a very hidden one last: the visible "Studies" sheet is read
    old = [["study", "yi", "vi"], *[[s, 9.0, 0.01] for s in STUDY]]
    files["hidden_first_sheet.xlsx"] = _workbook(
        [["study", "yi", "vi"], *data], before=[("Old", old, "hidden")], after=[("Secret", old, "veryHidden")]
    )
    files["only_hidden_sheets.xlsx"] = _hide_all(files["hidden_first_sheet.xlsx"])
    return files


def _hide_all(raw: bytes) -> bytes:
    """The same workbook with every sheet hidden (openpyxl refuses to save one so)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/workbook.xml":
                data = data.replace(b'state="visible"', b'state="hidden"')
            out.writestr(info, data)
    return buf.getvalue()


def _sav_fixed(raw: bytes) -> bytes:
    """Overwrite the creation date and time in an SPSS header (bytes 92-108: 9 + 8 characters)."""
    return raw[:92] + b"01 Jan 2000:00:00" + raw[109:]


def binary_files(tmp: Path) -> dict[str, bytes]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyreadr
    import pyreadstat

    frame = pd.DataFrame(
        {
            "study": STUDY,
            "yi": [float(y) for y in YI],
            "vi": [float(v) for v in VI],
            "format": [1.0, 2.0, 1.0, 1.0, 2.0, 2.0],
        }
    )
    labels = {"format": {1.0: "individual", 2.0: "group"}}
    out = {}
    pyreadstat.write_sav(frame, tmp / "a.sav", variable_value_labels=labels)
    out["value_labels.sav"] = _sav_fixed((tmp / "a.sav").read_bytes())
    neg = frame.assign(vi=[0.031, 0.045, -0.02, 0.060, 0.038, 0.052])
    pyreadstat.write_sav(neg, tmp / "b.sav")
    out["sav_negative_variance.sav"] = _sav_fixed((tmp / "b.sav").read_bytes())
    pyreadstat.write_dta(frame, tmp / "a.dta", variable_value_labels=labels)
    out["value_labels.dta"] = re.sub(
        rb"<timestamp>\x11.{17}</timestamp>",
        b"<timestamp>\x1101 Jan 2020 00:00</timestamp>",
        (tmp / "a.dta").read_bytes(),
    )
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp / "a.parquet")
    whole = (tmp / "a.parquet").read_bytes()
    out["ok.parquet"] = whole
    out["truncated.parquet"] = whole[: len(whole) // 2]
    pyreadr.write_rds(tmp / "a.rds", frame)
    out["frame.rds"] = (tmp / "a.rds").read_bytes()
    pyreadr.write_rdata(tmp / "a.RData", frame, df_name="alliance")
    one = (tmp / "a.RData").read_bytes()
    out["one_frame.RData"] = one
    out["records.json"] = frame.to_json(orient="records").encode()
    out["columns_unequal.json"] = b'{"yi": [0.12, 0.35, -0.05], "vi": [0.031, 0.045]}'
    logical = frame.assign(yi=[y > 0.2 for y in frame["yi"]])
    pq.write_table(pa.Table.from_pandas(logical, preserve_index=False), tmp / "l.parquet")
    out["logical.parquet"] = (tmp / "l.parquet").read_bytes()
    pyreadr.write_rds(tmp / "l.rds", logical)
    out["logical.rds"] = (tmp / "l.rds").read_bytes()
    out["logical.json"] = logical.to_json(orient="records").encode()
    out["duplicate_keys.json"] = b'[{"yi": 0.12, "vi": 0.031},\n {"yi": 0.35, "vi": 0.045, "yi": 0.5}]'
    out["nested_deep.json"] = b"[" * 5000 + b"]" * 5000
    out["rds_vector.rds"] = _rds(_r_doubles(YI))
    out["rds_list.rds"] = _rds(struct.pack(">ii", 19, 2) + _r_doubles(YI) + _r_doubles(VI))
    out["not_json.json"] = b'[{"yi": 0.12, "vi": 0.031},\n {"yi": 0.35 "vi": 0.045}]'
    return out


def _r_doubles(values) -> bytes:
    """An R numeric vector in R's serialization format (XDR; R Core Team, *R Internals*, section 1.8)."""
    return struct.pack(f">ii{len(values)}d", 14, len(values), *map(float, values))


def _rds(item: bytes) -> bytes:
    """An .rds file holding ``item``: gzip of "X\\n", format version 2, R 4.2.0, readable from R 2.3.0."""
    return gzip.compress(b"X\n" + struct.pack(">iii", 2, 0x040200, 0x020300) + item, mtime=0)


def all_files(tmp: Path) -> dict[str, bytes]:
    return {**text_files(), **excel_files(), **binary_files(tmp)}


def write_large_csv(path: Path, megabytes: int = 200) -> int:
    """A CSV of yi, vi with plain decimals, at least ``megabytes`` MB; returns its number of data rows.

    Row i (1-based) has yi = ((i * 7919) % 2001 - 1000) / 2000 and vi = 0.01 + (i % 97) / 1000,
    so a test can recompute any row.
    """
    import numpy as np

    rows_per_chunk = 200_000
    n = 0
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write("yi,vi\n")
        while fh.tell() < megabytes * 1_000_000:
            i = np.arange(n + 1, n + rows_per_chunk + 1)
            yi = ((i * 7919) % 2001 - 1000) / 2000
            vi = 0.01 + (i % 97) / 1000
            fh.write("\n".join(f"{a!r},{b!r}" for a, b in zip(yi.tolist(), vi.tolist(), strict=True)) + "\n")
            n += rows_per_chunk
    return n


def main(out: Path = BAD) -> None:
    import tempfile

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        files = all_files(Path(tmp))
    for name, data in sorted(files.items()):
        (out / name).write_bytes(data)
    print(f"wrote {len(files)} files to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else BAD)
