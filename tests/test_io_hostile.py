"""Hostile and odd input: types that are not numbers, values beyond double precision's arithmetic, files
that cannot be read, library warnings, and Excel workbooks built to expand (zip bombs).

Each case goes through the Python API (``io.read_table`` / ``read_raw``, then ``_checks``) and, where the
contract is about the process, through ``commonfactors pool FILE --yi yi --vi vi`` in a real subprocess:
exit code 2, exactly one line on stderr naming the file (and row and column where there is one), no
traceback, the input file unchanged. Static files are in the bad-file corpus (tests/data/bad/, with their
expected messages in tests/test_io_bad_files.py); the files here are made on the fly.
"""

from __future__ import annotations

import ctypes
import datetime
import io as stdio
import json
import os
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors import _checks, io
from commonfactors.errors import CommonFactorsWarning, InputError

BAD = Path(__file__).parent / "data" / "bad"
STUDY = ["Anderson 2001", "Baldwin 2007", "Castonguay 1996", "Duff 2013", "Eames 2000", "Falkenström 2016"]
YI = [0.12, 0.35, -0.05, 0.48, 0.22, 0.30]
VI = [0.031, 0.045, 0.027, 0.060, 0.038, 0.052]


def run_cli(*args, timeout=120, preexec_fn=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "commonfactors.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec_fn, cwd=cwd)


def assert_one_line_error(proc, *fragments):
    """Exit 2, nothing on stdout, exactly one line on stderr holding every fragment, no traceback."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def write_csv(path: Path, yi, vi) -> Path:
    path.write_text("yi,vi\n" + "".join(f"{y},{v}\n" for y, v in zip(yi, vi, strict=True)))
    return path


# ---------------------------------------------------------------------------------------------------
# Hidden sheets


def test_hidden_first_sheet_is_skipped_and_pools_as_the_visible_rows(tmp_path):
    """The hidden sheet "Old" (yi = 9.0 everywhere) comes first; the visible "Studies" is read, and pools as
    the same six studies written to a CSV do."""
    path = BAD / "hidden_first_sheet.xlsx"
    df = io.read_table(path)
    assert df.attrs["sheet"] == "Studies"
    assert df.attrs["notes"] == ["read sheet 'Studies' of 3; hidden sheets not read: 'Old', 'Secret'"]
    assert list(df["yi"]) == YI
    assert list(io.read_table(path, table="Old")["yi"]) == [9.0] * 6  # named, a hidden sheet is read
    csv = write_csv(tmp_path / "studies.csv", YI, VI)
    from_csv = cf.meta_analysis(io.read_table(csv)).estimate
    assert cf.meta_analysis(df).estimate == pytest.approx(from_csv, rel=1e-12)
    xlsx_out = json.loads(run_cli("pool", path, "--yi", "yi", "--vi", "vi", "--format", "json").stdout)
    csv_out = json.loads(run_cli("pool", csv, "--yi", "yi", "--vi", "vi", "--format", "json").stdout)
    assert xlsx_out["estimate"] == pytest.approx(csv_out["estimate"], rel=1e-12)
    assert xlsx_out["k"] == 6


def test_a_missing_sheet_is_named_with_the_hidden_ones():
    with pytest.raises(InputError, match=r"has no sheet 'Data'; expected one of the sheets 'Old', 'Studies', "
                                         r"'Secret' \(hidden: 'Old', 'Secret'\)"):
        io.read_table(BAD / "hidden_first_sheet.xlsx", table="Data")


# ---------------------------------------------------------------------------------------------------
# Types: logical values, dates, digit separators


@pytest.mark.parametrize("values", [
    pd.Series([True, False, True]),
    pd.Series([True, None, False], dtype="boolean"),
    pd.Series([0.1, True, 0.3], dtype=object),
    pd.Series(np.array([True, False, True])),
], ids=["bool", "nullable-boolean", "object", "numpy-bool"])
def test_logical_values_are_not_numbers(values):
    data = pd.DataFrame({"yi": values.set_axis([2, 3, 4]), "vi": [0.01, 0.02, 0.03]}, index=[2, 3, 4])
    with pytest.raises(InputError, match=r"column 'yi': got True \(a logical value\); expected a number"):
        cf.meta_analysis(data)
    with pytest.raises(InputError, match=r"element 1, column 'yi': got True \(a logical value\)"):
        cf.meta_analysis(yi=np.array([True, False, True]), vi=[0.01, 0.02, 0.03])


def test_dates_are_not_numbers():
    dates = pd.to_datetime(["2016-03-01", "2016-04-01"])
    data = pd.DataFrame({"yi": dates, "vi": [0.01, 0.02]}, index=[2, 3])
    with pytest.raises(InputError, match=r"row 2, column .yi.: got 2016-03-01T00:00:00\S* \(a date or"):
        cf.meta_analysis(data)
    obj = pd.DataFrame({"yi": [0.1, datetime.date(2016, 3, 1)], "vi": [0.01, 0.02]}, index=[2, 3])
    with pytest.raises(InputError, match=r"row 3, column 'yi': got 2016-03-01 \(a date or time\)"):
        cf.meta_analysis(obj)


@pytest.mark.parametrize("text, why", [
    ("1_000", "a number written with a digit separator"),
    ("0.1_5", "a number written with a digit separator"),
    ("1,000", "a number written with a digit separator"),
    ("1.000,5", "a number written with a digit separator"),
    ("1'000", "a number written with a digit separator"),
    ("\u0661\u0662", ""),  # Arabic-Indic digits: float() reads 12
    ("\uff11\uff12", ""),  # fullwidth digits: float() reads 12
    ("false", "(a logical value)"),
    ("01/03/2016", "(a date)"),
])
def test_text_python_would_read_as_a_number_is_refused(text, why):
    assert_float_fails = pytest.raises(InputError, match=r"row 3, column 'yi': got ")
    with assert_float_fails as err:
        _checks.to_float(np.array(["0.1", text], dtype=object), column="yi", rows=[2, 3], source="a.csv")
    assert why in str(err.value)
    assert str(err.value).startswith("a.csv, row 3, column 'yi'")


def test_numbers_in_their_usual_spellings_still_read():
    cells = np.array([" 0.5 ", "-2", ".5", "1e-3", "+3E2", "Inf", "NA", "", None], dtype=object)
    got = _checks.to_float(cells, column="yi", rows=list(range(2, 11)), source=None)
    np.testing.assert_array_equal(got, [0.5, -2, 0.5, 1e-3, 300, np.inf, np.nan, np.nan, np.nan])


def test_json_integer_beyond_double_precision(tmp_path):
    path = tmp_path / "big.json"
    path.write_text('[{"yi": 0.1, "vi": 0.01}, {"yi": 1' + "0" * 400 + ', "vi": 0.02}]')
    with pytest.raises(InputError, match=r"big.json, row 3, column 'yi': got an integer of 401 digits"):
        cf.meta_analysis(io.read_table(path))


@pytest.mark.parametrize("name, message", [
    ("logical_effect.csv", "row 4, column 'yi': got 'TRUE' (a logical value)"),
    ("underscore_number.csv", "row 5, column 'yi': got '1_000', a number written with a digit separator"),
    ("duplicate_keys.json", "row 3, column 'yi': the key 'yi' appears twice in record 2"),
    ("nested_deep.json", "nests JSON arrays or objects too deeply to be read"),
    ("logical.parquet", "row 2, column 'yi': got False (a logical value)"),
    ("rds_list.rds", "holds an R list (or another object that is not a table), not a data frame"),
])
def test_type_errors_in_a_real_process(name, message):
    before = (BAD / name).read_bytes()
    assert_one_line_error(run_cli("pool", BAD / name, "--yi", "yi", "--vi", "vi"), str(BAD / name), message)
    assert (BAD / name).read_bytes() == before


# ---------------------------------------------------------------------------------------------------
# Values beyond double precision's arithmetic


@pytest.mark.parametrize("yi, vi, message", [
    (1e308, 0.02, "row 3, column 'yi': got 1e+308; expected a finite effect size with |yi| <= 1e+30"),
    (-1e31, 0.02, "row 3, column 'yi': got -1e+31; expected a finite effect size with |yi| <= 1e+30"),
    (0.2, 1e-320, "row 3, column 'vi': got 9.99989e-321; expected a sampling variance between 1e-30 and"),
    (0.2, 1e308, "row 3, column 'vi': got 1e+308; expected a sampling variance between 1e-30 and 1e+60"),
    (0.2, 1e-31, "row 3, column 'vi': got 1e-31; expected a sampling variance between 1e-30 and 1e+60"),
])
def test_values_whose_arithmetic_overflows_are_refused(tmp_path, yi, vi, message):
    path = write_csv(tmp_path / "x.csv", [0.1, yi, 0.3], [0.01, vi, 0.03])
    with pytest.raises(InputError) as err:
        cf.meta_analysis(io.read_table(path))
    assert message in str(err.value)


def test_standard_errors_are_bounded_as_their_squares():
    with pytest.raises(InputError, match=r"element 2, column 'sei': got 1e-16; expected a standard error "
                                         r"between 1e-15 and 1e\+30"):
        cf.meta_analysis(yi=[0.1, 0.2, 0.3], sei=[0.1, 1e-16, 0.2])


def test_variances_too_far_apart_are_refused():
    with pytest.raises(InputError, match=r"element 3, column 'vi': the sampling variances span 1.0e\+09 "
                                         r"times, from 0.01 \(element 1\) to 1e\+07; expected variances "
                                         r"within a factor of 1e\+08"):
        cf.meta_analysis(yi=[0.1, 0.2, 0.3], vi=[0.01, 0.02, 1e7])


def test_values_at_the_bounds_fit():
    """Effect sizes of 1e30 with variances of 1e60 (a consistent scale) and tiny ones fit, finite."""
    big = cf.meta_analysis(yi=[1e30, -1e30, 1e29, 2e29, 0.5], vi=[1e60, 1e60, 1e59, 1e58, 1e60])
    small = cf.meta_analysis(yi=[1e-20, -1e-20, 2e-20, 1e-21, 0], vi=[1e-30, 1e-30, 2e-30, 3e-30, 1e-30])
    for res in (big, small):
        assert np.isfinite([res.estimate, res.se, res.tau2]).all()


def test_no_exception_but_input_error_within_the_bounds():
    """Random effect sizes and variances within the bounds (|yi| <= 1e30, variances within 1e8 of each other
    in [1e-30, 1e60]): pooling, the bias tests and the influence diagnostics end in a result or an
    InputError, never in another exception."""
    rng = np.random.default_rng(20261205)
    for _ in range(12):
        k = int(rng.integers(3, 9))
        yi = rng.normal(size=k) * 10 ** rng.uniform(-15, 29) * 10 ** rng.uniform(-1, 1, size=k)
        low = rng.uniform(-30, 52)
        vi = 10 ** rng.uniform(low, low + 8, size=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CommonFactorsWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            for fit in (cf.meta_analysis, cf.bias_tests, cf.influence):
                try:
                    fit(yi=yi, vi=vi)
                except InputError:
                    pass


@pytest.mark.parametrize("command, name, row, column", [
    ("pool", "effect_1e308.csv", 4, "yi"), ("pool", "variance_subnormal.csv", 2, "vi"),
    ("pool", "variance_1e308.csv", 6, "vi"), ("bias", "variance_subnormal.csv", 2, "vi"),
    ("influence", "effect_1e308.csv", 4, "yi"),
])
def test_extreme_values_in_a_real_process(command, name, row, column):
    assert_one_line_error(run_cli(command, BAD / name, "--yi", "yi", "--vi", "vi"),
                          f"{BAD / name}, row {row}, column '{column}': got ")


# ---------------------------------------------------------------------------------------------------
# Files that cannot be read


def _without_read_permission():
    """For the child process: lose the right to read other users' files, as uid 65534 ("nobody") has none.

    Setting uid 65534 itself is used when this interpreter is reachable by others; where it lives under a
    folder only root may enter (pyenv in /root, mode 0700), the child stays root but drops the two
    capabilities that let root ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) from its
    bounding set before exec (prctl(PR_CAPBSET_DROP); capabilities(7)).
    """
    if _reachable_by_others(Path(sys.executable).resolve()):
        os.setgid(65534)
        os.setuid(65534)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _reachable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


@pytest.fixture
def open_dir(tmp_path):
    """A folder every user may enter (pytest's own are 0700, which would hide the file's own permission)."""
    import tempfile

    d = Path(tempfile.mkdtemp(dir="/tmp" if os.path.isdir("/tmp") else None))
    d.chmod(0o755)
    yield d
    for p in d.iterdir():
        p.chmod(0o644) if p.is_file() else None
        p.unlink()
    d.rmdir()


@pytest.mark.skipif(sys.platform != "linux", reason="permissions and capabilities as on Linux")
def test_permission_denied_in_a_real_process(open_dir):
    path = write_csv(open_dir / "locked.csv", YI, VI)
    path.chmod(0)
    preexec = _without_read_permission if os.geteuid() == 0 else None
    line = assert_one_line_error(run_cli("pool", path, "--yi", "yi", "--vi", "vi", preexec_fn=preexec,
                                         cwd=open_dir), str(path), "cannot be read (permission denied)")
    assert "check its permissions" in line
    path.chmod(0o644)
    assert path.read_text().startswith("yi,vi\n0.12,0.031\n")


def test_permission_denied_through_the_api(tmp_path, monkeypatch):
    """The same error from read_table and read_raw, the refusal simulated where root may read anything."""
    path = write_csv(tmp_path / "locked.csv", YI, VI)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(io._common, "open", refuse, raising=False)
    for reader in (io.read_table, io.read_raw):
        with pytest.raises(InputError, match=r"locked.csv: cannot be read \(permission denied\); expected a "
                                             r"file this user may read"):
            reader(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_directory_a_pipe_and_a_device_are_refused(tmp_path):
    folder = tmp_path / "studies.csv"
    folder.mkdir()
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    cases = [(folder, "is a directory"), (pipe, "is a pipe (FIFO), not a regular file")]
    if os.path.exists("/dev/null"):
        cases.append((Path("/dev/null"), "is a device, not a regular file"))
    for path, message in cases:
        for reader in (io.read_table, io.read_raw):
            with pytest.raises(InputError) as err:
                reader(path)
            assert str(err.value).startswith(f"{path}: {message}; expected a data file")
        # a reader that opened the pipe would wait for a writer forever: the timeout fails the test
        proc = run_cli("pool", path, "--yi", "yi", "--vi", "vi", timeout=60)
        assert_one_line_error(proc, str(path), message)


# ---------------------------------------------------------------------------------------------------
# Library warnings: one line each, never a library's source line


@pytest.mark.parametrize("name", ["value_labels.sav", "value_labels.dta"])
def test_value_labels_warn_in_one_line(name):
    proc = run_cli("pool", BAD / name, "--yi", "yi", "--vi", "vi", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{BAD / name}: value labels read as categories: 'format'" in lines[0]
    assert ".py" not in proc.stderr


def _workbook_without_named_styles(path: Path) -> Path:
    """A workbook whose stylesheet defines no named style, as some exporters write it: openpyxl warns."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["yi", "vi"])
    for y, v in zip(YI, VI, strict=True):
        ws.append([y, v])
    buf = stdio.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(buf)
    bare = (b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<cellXfs count="1"><xf numFmtId="0"/></cellXfs></styleSheet>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            out.writestr(info, bare if info.filename == "xl/styles.xml" else src.read(info.filename))
    return path


def test_a_library_warning_becomes_one_line_of_ours(tmp_path):
    path = _workbook_without_named_styles(tmp_path / "nostyles.xlsx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = io.read_table(path)
    assert list(df["yi"]) == YI
    assert [w.category for w in caught] == [CommonFactorsWarning]
    assert str(caught[0].message) == f"{path}: Workbook contains no default style, apply openpyxl's default"
    assert caught[0].filename == __file__  # points at the caller, not at openpyxl
    proc = run_cli("pool", path, "--yi", "yi", "--vi", "vi", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "no default style" in proc.stderr, proc.stderr
    assert "openpyxl/" not in proc.stderr


# ---------------------------------------------------------------------------------------------------
# Excel workbooks built to expand


SHEET_START = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               b'<dimension ref="%s"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>yi</t></is></c>'
               b'<c r="B1" t="inlineStr"><is><t>vi</t></is></c></row>')
SHEET_END = b"</sheetData></worksheet>"


def _bomb(path: Path, parts: dict) -> Path:
    """A real workbook whose parts are replaced: name -> (head, repeated block, repeats, tail), written
    through zipfile's deflate a block at a time (nothing large is held in memory)."""
    wb = openpyxl.Workbook()
    wb.active.append(["yi", "vi"])
    buf = stdio.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for info in src.infolist():
            if info.filename not in parts:
                out.writestr(info.filename, src.read(info.filename))
        for name, (head, block, repeats, tail) in parts.items():
            with out.open(name, "w") as fh:
                fh.write(head)
                for _ in range(repeats):
                    fh.write(block)
                fh.write(tail)
    return path


ROWS = b"<row><c><v>0.1</v></c><c><v>0.01</v></c></row>" * 1000
SHARED = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
          b"<si><t>", b"A" * 10_000, b"</t></si></sst>")
BOMBS = {
    # 46 MB of identical rows in 45 KB, under a <dimension> that claims three rows (the reported bomb's size)
    "rows-lying-dimension": ({"xl/worksheets/sheet1.xml": (SHEET_START % b"A1:B3", ROWS, 1000, SHEET_END)},
                             "part xl/worksheets/sheet1.xml expands from", "times; the limit is 100"),
    # one shared string of 5 MB in a few KB
    "shared-strings": ({"xl/sharedStrings.xml": (SHARED[0], SHARED[1], 500, SHARED[2])},
                       "part xl/sharedStrings.xml expands from", "times; the limit is 100"),
    # 240 parts of 900 KB of zeros: each below the size from which the ratio counts, the whole above the limit
    "total-size": ({f"xl/media/blank{i}.bin": (b"", bytes(900_000), 1, b"") for i in range(240)},
                   "the workbook's parts expand to 216,0", "bytes; the limit is 200,000,000"),
    # a sheet that declares the whole grid of Excel
    "declared-dimension": ({"xl/worksheets/sheet1.xml": (SHEET_START % b"A1:XFD1048576", b"", 0, SHEET_END)},
                           "sheet part xl/worksheets/sheet1.xml declares 1,048,576 rows",
                           "the limit is 1,000,000"),
    # a small sheet that declares A1:B2 but holds one cell at XFD1048576 (17 billion cells to iterate)
    "far-cell": ({"xl/worksheets/sheet1.xml": (
        SHEET_START % b"A1:B2" + b'<row r="2"><c r="A2"><v>0.1</v></c><c r="B2"><v>0.01</v></c></row>'
        b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', b"", 0, SHEET_END)},
        "sheet 'Sheet' spans 1,048,576 rows", "the limit is 1,000,000"),
    # a merged range of 163,820 cells (openpyxl would create every covered cell)
    "merged": ({"xl/worksheets/sheet1.xml": (
        SHEET_START % b"A1:B2", b"", 0,
        b'</sheetData><mergeCells count="1"><mergeCell ref="C1:XFD10"/></mergeCells></worksheet>')},
        "sheet part xl/worksheets/sheet1.xml merges 163,820 cells", "the limit is 100,000"),
}


@pytest.mark.parametrize("kind", list(BOMBS))
def test_workbooks_built_to_expand_are_refused(tmp_path, kind):
    parts, *fragments = BOMBS[kind]
    path = _bomb(tmp_path / f"{kind}.xlsx", parts)
    assert path.stat().st_size < 1_000_000
    with pytest.raises(InputError) as err:
        io.read_table(path)
    for f in fragments:
        assert f in str(err.value)
    before = path.read_bytes()
    # the timeout bounds the work: the reported 42 KB bomb ran past 60 s, the grid of far-cell for hours
    proc = run_cli("pool", path, "--yi", "yi", "--vi", "vi", timeout=10)
    assert_one_line_error(proc, str(path), *fragments)
    assert path.read_bytes() == before
