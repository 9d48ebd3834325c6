"""The bad-file corpus (tests/data/bad/, written by tests/data/make_bad_files.py): one expected outcome each.

Every file goes through the Python API (``read_table`` and, for CSV/TSV, the command line's light
reader ``read_raw``, then the validation boundary ``_checks``) and through the command line
(``commonfactors pool FILE --yi yi --vi vi --format json``, or ``commonfactors effects FILE --measure ...``
for the measure-specific files). An error must give exit code 2, exactly one line on stderr, no
traceback and no output file; a file that loads must give the values written in the table below.

Reference estimates: metafor 3.8-1 (R 4.2.2), computed on the values the files hold by
tests/reference/io_bad_files.R.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from commonfactors import _checks, io
from commonfactors.cli import COMMANDS, main
from commonfactors.errors import CommonFactorsWarning, InputError
from reference import load
from tolerances import METAFOR_RTOL

BAD = Path(__file__).parent / "data" / "bad"
TEXT = (".csv", ".tsv", ".txt")

STUDY = ["Anderson 2001", "Baldwin 2007", "Castonguay 1996", "Duff 2013", "Eames 2000", "Falkenström 2016"]
YI = [0.12, 0.35, -0.05, 0.48, 0.22, 0.30]
VI = [0.031, 0.045, 0.027, 0.060, 0.038, 0.052]
ROWS6 = [2, 3, 4, 5, 6, 7]

# metafor 3.8-1, tests/reference/io_bad_files.R: rma(yi, vi, control = list(threshold = 1e-12,
# maxiter = 10000))$beta on the values the files hold
POOLED = load("io_bad_files")
EST6 = POOLED["six_studies"]  # tau2 = 0
EST4 = POOLED["rows_3_5_dropped"]  # missing_values.csv: rows 3, 5 dropped
EST3 = POOLED["three_studies"]  # tau2 = 0.00208
EST_MERGED = POOLED["merged_labels"]  # excel_merged_study_labels.xlsx


@dataclass(frozen=True)
class Fails:
    """The one-line error contains ``message``; exit code 2 on the command line."""

    message: str


@dataclass(frozen=True)
class Loads:
    """The file loads: rows (index), columns and values as given; ``pool`` uses ``k`` studies."""

    rows: list
    columns: list
    values: dict
    k: int | None = None
    estimate: float | None = None
    warns: str | None = None  # a CommonFactorsWarning (or subclass) whose message contains this


@dataclass(frozen=True)
class Case:
    file: str
    expect: Fails | Loads
    measure: list = field(default_factory=list)  # effects arguments; empty for pool
    bad_cell: tuple | None = None  # (column, row, value) of the measure-specific problem


POOLED6 = dict(columns=["study", "yi", "vi"], values={"study": STUDY, "yi": YI, "vi": VI}, k=6, estimate=EST6)

CASES = [
    # -- delimiters, decimals, encodings
    Case(
        "wrong_delimiter.csv",
        Fails("row 2: has 1 field but the header has 3; expected 3 fields separated by ','"),
    ),
    Case("semicolon_decimal_comma.csv", Loads(ROWS6, **POOLED6)),
    Case("tab_delimited.csv", Loads(ROWS6, **POOLED6)),
    Case("pipe_delimited.txt", Loads(ROWS6, **POOLED6)),
    Case("latin1.csv", Loads(ROWS6, **POOLED6)),
    Case("utf8_bom.csv", Loads(ROWS6, **POOLED6)),
    Case("utf16_unicode_text.txt", Loads(ROWS6, **POOLED6)),
    Case("crlf_spaces.csv", Loads(ROWS6, **POOLED6)),
    Case("r_write_csv_row_names.csv", Loads(ROWS6, **POOLED6)),
    # R's write.table(df, file): spaces between fields, quoted strings, a row name first (header one short)
    Case("r_write_table_row_names.txt", Loads(ROWS6, **POOLED6)),
    Case(
        "ragged_whitespace.txt",
        Fails(
            "row 4: has 3 fields but the rows before it have 4 (a row name and the header's 3 columns); "
            "expected 4 fields separated by spaces or tabs"
        ),
    ),
    Case(
        "r_write_table_unquoted_spaces.txt",
        Fails(
            "row 2: has 5 fields but the header has 3; expected 3 fields separated by spaces or tabs, "
            'with text that holds spaces quoted ("Smith 2001")'
        ),
    ),
    Case(
        "whitespace_unclosed_quote.txt",
        Fails("row 7: a quoted field opened on this row is never closed; expected fields quoted as"),
    ),
    Case(
        "decimal_comma_then_point.csv",
        Fails("row 62, column 'vi': got '1.234' in a file that writes numbers with a decimal comma"),
    ),
    # -- values
    Case("text_in_numeric.csv", Fails("row 4, column 'vi': got '0.02 (approx.)'; expected a number")),
    Case("negative_variance.csv", Fails("row 5, column 'vi': got -0.02; expected a sampling variance > 0")),
    Case("zero_variance.csv", Fails("row 3, column 'vi': got 0; expected a sampling variance > 0")),
    Case("infinite_effect.csv", Fails("row 6, column 'yi': got inf; expected a finite effect size")),
    Case(
        "missing_values.csv",
        Loads(
            ROWS6,
            columns=["study", "yi", "vi"],
            values={
                "yi": [0.12, np.nan, -0.05, 0.48, 0.22, 0.30],
                "vi": [0.031, 0.045, 0.027, np.nan, 0.038, 0.052],
            },
            k=4,
            estimate=EST4,
            warns="2 studies with missing yi or vi omitted (rows 3, 5)",
        ),
    ),
    Case("all_missing.csv", Fails("no study has both yi and vi")),
    Case(
        "misnamed_columns.csv",
        Fails("no column 'yi'; expected the yi column; the columns are 'study', 'g', 'var_g'"),
    ),
    # -- structure
    Case("empty.csv", Fails("the file is empty")),
    Case("whitespace_only.csv", Fails("the file is empty")),
    Case("header_only.csv", Fails("the file has a header but no data rows")),
    Case("duplicate_columns.csv", Fails("row 1: column name 'yi' appears twice in the header")),
    Case("empty_column_name.csv", Fails("row 1: column 2 has an empty name")),
    Case("no_header.csv", Fails("row 1: the first row holds only numbers (0.12, 0.031)")),
    Case("ragged_row.csv", Fails("row 4: has 2 fields but the header has 3")),
    Case(
        "unclosed_quote.csv",
        Fails(
            "row 3: has 1 field but the header has 3: a quoted field opened on this row "
            "runs to line 4, so its closing quote is probably missing"
        ),
    ),
    Case("quoted_newlines.csv", Fails("row 6, column 'vi': got -0.01; expected a sampling variance > 0")),
    Case(
        "quoted_newlines_ok.csv",
        Loads(
            [2, 3, 5],
            columns=["study", "yi", "vi"],
            values={
                "study": ["Anderson 2001", "Baldwin 2007\n(pilot)", "Castonguay, 1996"],
                "yi": YI[:3],
                "vi": VI[:3],
            },
            k=3,
            estimate=EST3,
        ),
    ),
    Case("blank_lines_text_value.csv", Fails("row 7, column 'yi': got 'n.r.'; expected a number")),
    Case(
        "xlsx_saved_as.csv", Fails("is a zip archive (an Excel .xlsx workbook?), not a delimited text file")
    ),
    Case("binary_junk.csv", Fails("is a binary file (it contains NUL bytes), not a delimited text file")),
    Case("unknown_suffix.xyz", Fails("has an unknown suffix '.xyz'")),
    Case("old_excel.xls", Fails("is an old Excel (.xls) workbook")),
    # -- Excel
    Case("merged_header.xlsx", Fails("row 1: cells B1:C1 are merged in the header (row 1)")),
    Case(
        "two_header_rows.xlsx",
        Fails(
            "row 2, column 'yi': row 2 holds only text ('Hedges g', 'variance') under "
            "the header, above numbers: the header spans rows 1-2"
        ),
    ),
    Case(
        "excel_negative_variance.xlsx",
        Fails("row 4, column 'vi': got -0.02; expected a sampling variance > 0"),
    ),
    Case(
        "excel_merged_study_labels.xlsx",
        Loads(
            [2, 3, 4],
            columns=["study", "outcome", "yi", "vi"],
            values={
                "study": [STUDY[0], STUDY[0], STUDY[1]],
                "outcome": ["BDI", "HAMD", "BDI"],
                "yi": [0.12, 0.18, 0.35],
                "vi": [0.031, 0.036, 0.045],
            },
            k=3,
            estimate=EST_MERGED,
        ),
    ),
    Case("corrupt.xlsx", Fails("cannot be read as an Excel .xlsx file (File is not a zip file)")),
    # -- SPSS, Stata, R, Parquet, JSON (rows: record number + 1)
    Case(
        "value_labels.sav",
        Loads(
            ROWS6,
            columns=["study", "yi", "vi", "format"],
            values={
                **POOLED6["values"],
                "format": ["individual", "group", "individual", "individual", "group", "group"],
            },
            k=6,
            estimate=EST6,
            warns="value labels read as categories: 'format' (1 = 'individual', 2 = 'group')",
        ),
    ),
    Case(
        "value_labels.dta",
        Loads(
            ROWS6,
            columns=["study", "yi", "vi", "format"],
            values={
                **POOLED6["values"],
                "format": ["individual", "group", "individual", "individual", "group", "group"],
            },
            k=6,
            estimate=EST6,
            warns="value labels read as categories: 'format'",
        ),
    ),
    Case(
        "sav_negative_variance.sav", Fails("row 4, column 'vi': got -0.02; expected a sampling variance > 0")
    ),
    Case(
        "truncated.parquet",
        Fails("cannot be read as a Parquet file (Parquet magic bytes not found in footer"),
    ),
    Case(
        "ok.parquet",
        Loads(ROWS6, columns=["study", "yi", "vi", "format"], values=POOLED6["values"], k=6, estimate=EST6),
    ),
    Case(
        "frame.rds",
        Loads(ROWS6, columns=["study", "yi", "vi", "format"], values=POOLED6["values"], k=6, estimate=EST6),
    ),
    Case(
        "one_frame.RData",
        Loads(ROWS6, columns=["study", "yi", "vi", "format"], values=POOLED6["values"], k=6, estimate=EST6),
    ),
    Case(
        "records.json",
        Loads(ROWS6, columns=["study", "yi", "vi", "format"], values=POOLED6["values"], k=6, estimate=EST6),
    ),
    Case("columns_unequal.json", Fails("the columns have different lengths ('yi': 3, 'vi': 2)")),
    Case("not_json.json", Fails("is not valid JSON: Expecting ',' delimiter at line 2, column 14")),
    # -- types that are not numbers, in every format
    Case("logical_effect.csv", Fails("row 4, column 'yi': got 'TRUE' (a logical value); expected a number")),
    Case("date_effect.csv", Fails("row 3, column 'yi': got '2016-03-01' (a date); expected a number")),
    Case(
        "underscore_number.csv",
        Fails("row 5, column 'yi': got '1_000', a number written with a digit separator; expected a number"),
    ),
    Case(
        "thousands_separator.csv",
        Fails("row 3, column 'yi': got '1,250', a number written with a digit separator; expected a number"),
    ),
    Case(
        "thousands_decimal_comma.csv",
        Fails("row 5, column 'yi': got '1.250,5', a number written with a digit separator"),
    ),
    Case("excel_logical.xlsx", Fails("row 2, column 'yi': got False (a logical value); expected a number")),
    Case("excel_date.xlsx", Fails("row 5, column 'yi': got 2016-03-01 00:00:00 (a date or time)")),
    Case("logical.parquet", Fails("row 2, column 'yi': got False (a logical value); expected a number")),
    Case("logical.rds", Fails("row 2, column 'yi': got False (a logical value); expected a number")),
    Case("logical.json", Fails("row 2, column 'yi': got False (a logical value); expected a number")),
    # -- values whose arithmetic overflows double precision
    Case(
        "effect_1e308.csv",
        Fails("row 4, column 'yi': got 1e+308; expected a finite effect size with |yi| <= 1e+30"),
    ),
    Case(
        "variance_1e308.csv",
        Fails("row 6, column 'vi': got 1e+308; expected a sampling variance between 1e-30 and 1e+60"),
    ),
    Case(
        "variance_subnormal.csv",
        Fails("row 2, column 'vi': got 9.99989e-321; expected a sampling variance between 1e-30 and 1e+60"),
    ),
    # -- hidden sheets, JSON keys and nesting, R objects that are not tables
    Case("hidden_first_sheet.xlsx", Loads(ROWS6, **POOLED6)),
    Case("only_hidden_sheets.xlsx", Fails("has no visible sheet (hidden: 'Old', 'Studies', 'Secret')")),
    Case("duplicate_keys.json", Fails("row 3, column 'yi': the key 'yi' appears twice in record 2")),
    Case("nested_deep.json", Fails("nests JSON arrays or objects too deeply to be read")),
    Case(
        "rds_vector.rds",
        Fails("holds an R vector of 6 numeric values, not a data frame; expected an R data frame"),
    ),
    Case("rds_list.rds", Fails("holds an R list (or another object that is not a table), not a data frame")),
    # -- measure-specific (commonfactors effects)
    Case(
        "sd_zero.csv",
        Fails("row 3, column 'sd1i': got 0"),
        bad_cell=("sd1i", 3, 0.0),
        measure=[
            "--measure",
            "SMD",
            "--m1i",
            "m1i",
            "--sd1i",
            "sd1i",
            "--n1i",
            "n1i",
            "--m2i",
            "m2i",
            "--sd2i",
            "sd2i",
            "--n2i",
            "n2i",
        ],
    ),
    Case(
        "n_one.csv",
        Fails("row 4, column 'n1i': got 1"),
        bad_cell=("n1i", 4, 1.0),
        measure=[
            "--measure",
            "SMD",
            "--m1i",
            "m1i",
            "--sd1i",
            "sd1i",
            "--n1i",
            "n1i",
            "--m2i",
            "m2i",
            "--sd2i",
            "sd2i",
            "--n2i",
            "n2i",
        ],
    ),
    Case(
        "counts_above_n.csv",
        Fails("row 5, column 'ai': got 12"),
        bad_cell=("ai", 5, 12.0),
        measure=["--measure", "OR", "--ai", "ai", "--n1i", "n1i", "--ci", "ci", "--n2i", "n2i"],
    ),
    Case(
        "r_above_one.csv",
        Fails("row 3, column 'ri': got 1.2"),
        bad_cell=("ri", 3, 1.2),
        measure=["--measure", "COR", "--ri", "ri", "--ni", "ni"],
    ),
]
IDS = [c.file for c in CASES]
POOL_CASES = [c for c in CASES if not c.measure]
MEASURE_CASES = [c for c in CASES if c.measure]


def test_the_corpus_is_complete():
    """Every committed file has an expected outcome, and every outcome a file (the table cannot shrink)."""
    assert sorted(p.name for p in BAD.iterdir()) == sorted(IDS)
    assert len(CASES) >= 25


def _readers(path: Path):
    """read_table, and read_raw too for delimited text (the command line's light path)."""
    yield "read_table", io.read_table
    if path.suffix.lower() in TEXT:
        yield "read_raw", io.read_raw


def _load_and_check(reader, path):
    """Read and validate as ``pool`` does; returns (table, EffectData)."""
    table = reader(path)
    return table, _checks.effect_data(table, yi="yi", vi="vi")


@pytest.mark.parametrize("case", POOL_CASES, ids=[c.file for c in POOL_CASES])
def test_api(case):
    path = BAD / case.file
    for name, reader in _readers(path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if isinstance(case.expect, Fails):
                with pytest.raises(InputError) as err:
                    _load_and_check(reader, path)
                text = str(err.value)
                assert case.expect.message in text, f"{name}: {text}"
                assert "\n" not in text and text.startswith(str(path)), f"{name}: {text}"
                continue
            table, data = _load_and_check(reader, path)
        exp = case.expect
        frame = table.to_frame() if name == "read_raw" else table
        assert list(frame.index) == exp.rows, name
        assert list(frame.columns) == exp.columns, name
        assert table.attrs["source"] == str(path)
        for col, values in exp.values.items():
            got = list(frame[col])
            if isinstance(values[0], float):
                np.testing.assert_array_equal(np.asarray(got, dtype=float), values, err_msg=f"{name}: {col}")
            else:
                assert [str(g) for g in got] == values, f"{name}: {col}"
        assert len(data.yi) == exp.k, name
        messages = [str(w.message) for w in caught if issubclass(w.category, CommonFactorsWarning)]
        if exp.warns:
            assert any(exp.warns in m for m in messages), (name, messages)
        else:
            assert messages == [], (name, messages)


@pytest.mark.parametrize("case", MEASURE_CASES, ids=[c.file for c in MEASURE_CASES])
def test_measure_inputs_through_checks(case):
    """The offending cell is read, as a number, at the row a user sees (both readers)."""
    path = BAD / case.file
    column, row, value = case.bad_cell
    for name, reader in _readers(path):
        table = reader(path)
        x, _ = _checks.numeric(table, column, name=column)
        rows = list(_checks.row_labels(table, len(x)))
        assert x[rows.index(row)] == value, name


@pytest.mark.parametrize("case", MEASURE_CASES, ids=[c.file for c in MEASURE_CASES])
def test_measure_inputs_through_effect_sizes(case):
    from commonfactors.effects import effect_sizes

    args = dict(zip(case.measure[2::2], case.measure[3::2], strict=True))
    args = {k.lstrip("-"): v for k, v in args.items()}
    path = BAD / case.file
    for name, reader in _readers(path):
        with pytest.raises(InputError) as err:
            effect_sizes(reader(path), case.measure[1], **args)
        assert case.expect.message in str(err.value), name


def _invoke(args, tmp_path, command):
    """Run the CLI in-process in an empty directory; with --out when the command has it."""
    from click.testing import CliRunner

    cmd = main.get_command(None, command)
    out = tmp_path / "result.json"
    has_out = any(p.name == "out" for p in cmd.params)
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path) as cwd:
        result = runner.invoke(main, [command, *args, *(["--out", str(out)] if has_out else [])])
        left = sorted(p.name for p in Path(cwd).iterdir())
    return result, out, has_out, left


def _assert_cli_error(result, out, left, message):
    assert isinstance(result.exception, SystemExit), f"uncaught {result.exception!r}"
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists() and left == [], "an output file was left behind"


@pytest.mark.parametrize("case", POOL_CASES, ids=[c.file for c in POOL_CASES])
def test_cli_pool(case, tmp_path):
    assert "pool" in COMMANDS
    result, out, has_out, left = _invoke(
        [str(BAD / case.file), "--yi", "yi", "--vi", "vi", "--format", "json"], tmp_path, "pool"
    )
    if isinstance(case.expect, Fails):
        _assert_cli_error(result, out, left, case.expect.message)
        return
    assert result.exit_code == 0, result.output
    payload = json.loads(out.read_text() if has_out else result.stdout)
    assert payload["k"] == case.expect.k
    assert payload["estimate"] == pytest.approx(case.expect.estimate, rel=METAFOR_RTOL["rma"])


@pytest.mark.parametrize("case", MEASURE_CASES, ids=[c.file for c in MEASURE_CASES])
def test_cli_effects(case, tmp_path):
    assert "effects" in COMMANDS
    result, out, _, left = _invoke(
        [str(BAD / case.file), *case.measure, "--format", "json"], tmp_path, "effects"
    )
    _assert_cli_error(result, out, left, case.expect.message)


@pytest.mark.parametrize("name", ["negative_variance.csv", "merged_header.xlsx"])
def test_cli_error_in_a_real_process(name):
    """End to end: a separate process prints one line on stderr, no traceback, and exits 2."""
    assert "pool" in COMMANDS
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "commonfactors.cli",
            "pool",
            str(BAD / name),
            "--yi",
            "yi",
            "--vi",
            "vi",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    case = next(c for c in CASES if c.file == name)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1 and case.expect.message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_generator_reproduces_the_corpus(tmp_path):
    """make_bad_files.py rewrites the committed text files byte for byte, and the binary ones to the same
    tables (their bytes can change with the writing libraries' versions); two runs agree byte for byte."""
    spec = importlib.util.spec_from_file_location(
        "make_bad_files", Path(__file__).parent / "data" / "make_bad_files.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    gen.main(tmp_path / "a")
    gen.main(tmp_path / "b")
    for p in sorted(BAD.iterdir()):
        a, b = tmp_path / "a" / p.name, tmp_path / "b" / p.name
        assert a.read_bytes() == b.read_bytes(), p.name
        if p.suffix in TEXT + (".json", ".xyz", ".xls"):
            assert a.read_bytes() == p.read_bytes(), p.name
        elif p.name in {c.file for c in CASES if isinstance(c.expect, Loads)}:
            assert io.read_table(a).equals(io.read_table(p)), p.name


@pytest.mark.slow
def test_200_mb_csv(tmp_path):
    """A 200 MB CSV (made here, never committed) loads through read_table's fast path with every line
    number right, and ``pool`` fits it."""
    spec = importlib.util.spec_from_file_location(
        "make_bad_files", Path(__file__).parent / "data" / "make_bad_files.py"
    )
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = tmp_path / "big.csv"
    n = gen.write_large_csv(path, megabytes=200)
    assert path.stat().st_size >= 200_000_000
    table = io.read_table(path)
    data = _checks.effect_data(table, yi="yi", vi="vi")
    i = np.arange(1, n + 1)
    assert len(data.yi) == n
    np.testing.assert_array_equal(data.rows, i + 1)
    np.testing.assert_array_equal(data.yi, ((i * 7919) % 2001 - 1000) / 2000)
    np.testing.assert_array_equal(data.vi, 0.01 + (i % 97) / 1000)
    result, out, has_out, _ = _invoke(
        [str(path), "--yi", "yi", "--vi", "vi", "--format", "json"], tmp_path, "pool"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text() if has_out else result.stdout)["k"] == n
