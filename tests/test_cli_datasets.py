"""`commonfactors datasets list | show | cite | export` (DESIGN.md: every command has --format text, plus
json and csv where the output is a table; user errors exit 2 in one line)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from commonfactors.cli import main
from commonfactors.datasets import DATA_DIR, catalogue, cite, dataset_ids


def run(*args):
    return CliRunner().invoke(main, ["datasets", *args])


def test_list_text():
    res = run("list")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["id", "k", "rows", "measure", "licence", "title"]
    assert len(lines) == 1 + len(dataset_ids())
    assert lines[1].split()[:5] == ["bcg", "13", "13", "RR", "GPL-2.0-or-later"]


def test_list_json_and_csv_agree_with_the_catalogue():
    res = run("list", "--format", "json")
    assert res.exit_code == 0
    assert json.loads(res.stdout) == {"datasets": catalogue()}
    res = run("list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["id"] for r in rows] == dataset_ids()
    dep = next(r for r in rows if r["id"] == "metapsy_depression_psyctr")
    assert (dep["k"], dep["rows"], dep["measure"], dep["licence"]) == ("480", "900", "SMD", "ODC-By-1.0")


def test_show_text_json_csv():
    res = run("show", "lopez2019")
    assert res.exit_code == 0
    assert "76 studies, 172 rows, 23 columns" in res.stdout and "First 5 rows" in res.stdout
    assert "Andersson (2005)" in res.stdout
    res = run("show", "lopez2019", "--format", "json")
    d = json.loads(res.stdout)
    assert d["id"] == "lopez2019" and d["k"] == 76 and len(d["fields"]) == 23 and len(d["head"]) == 5
    res = run("show", "lopez2019", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert rows[0]["name"] == "study" and len(rows) == 23
    assert rows[4] == {"name": "diff", "type": "number", "unit": "", "required": "True",
                       "constraints": "required", "description": "standardized mean change"}


@pytest.mark.parametrize("style", ["bibtex", "apa"])
def test_cite(style):
    res = run("cite", "molloy2014", "--format", style)
    assert res.exit_code == 0
    assert res.stdout == cite("molloy2014", style=style) + "\n"


def test_cite_default_is_bibtex():
    assert run("cite", "bcg").stdout.startswith("@article{Colditz1994,")


def test_export_csv_equals_source(tmp_path):
    out = tmp_path / "bcg.csv"
    res = run("export", "bcg", "--out", str(out))
    assert res.exit_code == 0
    assert out.read_bytes() == (DATA_DIR / "bcg.csv").read_bytes()
    assert res.stderr.strip() == f"wrote {out}"


@pytest.mark.parametrize("args", [("show", "bcgg"), ("cite", "bcgg"), ("export", "bcgg", "--out", "OUT")])
def test_bad_id_exits_2_in_one_line(args, tmp_path):
    args = [str(tmp_path / "x.csv") if a == "OUT" else a for a in args]
    res = run(*args)
    assert res.exit_code == 2
    assert res.stderr.strip() == ("Error: no dataset 'bcgg' (did you mean 'bcg'?); expected a dataset ID: "
                                  + ", ".join(dataset_ids()))
    assert "Traceback" not in res.output and res.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_export_bad_extension_exits_2_and_writes_nothing(tmp_path):
    res = run("export", "bcg", "--out", str(tmp_path / "bcg.xlsx"))
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert "expected an output file ending in .csv or .parquet" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_format_is_a_usage_error():
    res = run("cite", "bcg", "--format", "mla")
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_pool_style_commands_accept_a_dataset_id():
    # cli._common.read_input: a non-path argument is a dataset ID
    from commonfactors.cli._common import read_input

    assert read_input("bcg").attrs["dataset"] == "bcg"


def test_list_does_not_import_pandas():
    # the catalogue needs only the JSON descriptor: `datasets list` must start faster than `import pandas`
    code = ("import sys\nfrom commonfactors.cli import main\n"
            "try:\n    main(['datasets', 'list'])\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write(str('pandas' in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "False"
    assert out.stdout.splitlines()[1].startswith("bcg")


def test_datasets_list_starts_without_numpy():
    """The catalogue is read from its descriptor: listing it loads no array library (a fast cold start)."""
    import subprocess
    import sys

    code = ("import sys\nfrom commonfactors.cli import main\ntry:\n    main(['datasets', 'list'])\n"
            "except SystemExit:\n    pass\nprint('numpy' in sys.modules, file=sys.stderr)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stderr.strip().splitlines()[-1] == "False"
