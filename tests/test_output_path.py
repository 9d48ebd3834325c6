"""One output path for every command: ``--format text`` by default, JSON with its ``warnings`` list, CSV
with ``NA`` for missing values (as R's ``write.csv``), each warning once on stderr in every format.

Every command and subcommand that prints a result is run in each format (``commonfactors.cli._output``).
"""

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from commonfactors.cli import main

#: a 2x2 file: a missing count (row 3) and a study without events in both groups (row 4, with --drop00)
TABLES = "ai,bi,ci,di\n1,10,2,10\n,5,3,8\n0,10,0,10\n"
#: effect sizes with a missing yi (row 4) and a missing vi (row 6)
EFFECTS = "yi,vi\n0.1,0.01\n0.3,0.02\n,0.03\n0.5,0.01\n0.2,\n0.4,0.05\n"

_MH = ["--method", "MH", "--ai", "tpos", "--bi", "tneg", "--ci", "cpos", "--di", "cneg"]
_OR = ["--measure", "OR", "--ai", "ai", "--bi", "bi", "--ci", "ci", "--di", "di", "--drop00"]

#: id -> (arguments, whether it warns, whether its CSV holds a missing value); "{tables}" and
#: "{effects}" are the files above
COMMANDS = {
    "pool": (["pool", "{effects}"], True, False),
    "pool-nested": (["pool", "assink2016"], True, False),
    "pool-mh": (["pool", "bcg", *_MH], False, True),
    "effects": (["effects", "{tables}", *_OR], True, True),
    "bias": (["bias", "bcg"], True, True),
    "influence": (["influence", "{effects}"], True, False),
    "reproduce": (["reproduce", "assink2016"], False, True),
    "factors-list": (["factors", "list"], False, False),
    "factors-show": (["factors", "show", "alliance"], False, True),
    "pie": (["pie", "--draws", "200"], True, True),
    "datasets-list": (["datasets", "list"], False, True),
    "datasets-show": (["datasets", "show", "bcg"], False, False),
    "convert": (["convert", "d", "nnt", "0", "0.5"], False, True),
    "monitor": (["monitor", str(Path(__file__).parent / "data" / "monitoring_ors.csv"), "--client", "client",
                 "--session", "session", "--score", "ors", "--instrument", "ORS"], True, True),
    "therapists": (["therapists", "synthetic_practice", "--client", "client", "--therapist", "therapist",
                    "--outcome", "score", "--session", "session"], True, False),
    "network": (["network", "hasselblad1998", "--study", "study", "--treatment", "trt", "--events", "xi",
                 "--n", "ni", "--measure", "OR", "--reference", "no_contact"], False, False),
}
FORMATS = ("text", "json", "csv")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("output")
    (folder / "tables.csv").write_text(TABLES)
    (folder / "effects.csv").write_text(EFFECTS)
    return {"tables": str(folder / "tables.csv"), "effects": str(folder / "effects.csv")}


def run(files, command, *extra):
    args = [a.format(**files) for a in COMMANDS[command][0]] + list(extra)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return res


def warning_lines(res) -> list[str]:
    lines = res.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in lines), res.stderr
    return [line.removeprefix("warning: ") for line in lines]


@pytest.mark.parametrize("command", COMMANDS)
def test_text_is_the_default(files, command):
    default, text = run(files, command), run(files, command, "--format", "text")
    assert default.stdout == text.stdout and default.stdout.strip()
    assert not default.stdout.lstrip().startswith("{")


@pytest.mark.parametrize("command", COMMANDS)
def test_json_warnings_are_the_ones_on_stderr(files, command):
    res = run(files, command, "--format", "json")
    data = json.loads(res.stdout)
    printed = warning_lines(res)
    assert data.get("warnings", []) == printed
    assert bool(printed) == COMMANDS[command][1]


@pytest.mark.parametrize("command", COMMANDS)
def test_csv_writes_missing_values_as_NA(files, command):
    res = run(files, command, "--format", "csv")
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)
    cells = {c for r in rows[1:] for c in r}
    assert not cells & {"nan", "NaN", "None", "<NA>", "null", "inf", "-inf"}
    assert ("NA" in cells) == COMMANDS[command][2]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", [c for c, (_, warns, _) in COMMANDS.items() if warns])
def test_warnings_are_printed_once_on_stderr_in_every_format(files, command, fmt):
    printed = warning_lines(run(files, command, "--format", fmt))
    assert printed and len(printed) == len(set(printed))
    assert printed == warning_lines(run(files, command, "--format", "json"))


def test_table_is_an_alias_of_text(files):
    for command in ("reproduce", "factors-list", "factors-show"):
        assert run(files, command, "--format", "table").stdout == run(files, command).stdout


def test_infinities_are_written_as_R_writes_them(files):
    # d = 0 has no finite NNT: Inf in the CSV (read.csv reads it back), null in the JSON
    rows = list(csv.DictReader(io.StringIO(run(files, "convert", "--format", "csv").stdout)))
    assert rows[0]["estimate"] == "Inf" and rows[0]["vi"] == "NA"
    assert json.loads(run(files, "convert", "--format", "json").stdout)["rows"][0]["estimate"] is None
