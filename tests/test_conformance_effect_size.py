"""escalc effect sizes against metafor 3.8-1 on the same data (tests/conformance/cases.json, kind
effect_size): yi and vi of every case, within 1e-8 relative, through the Python API and the CLI.

Missing inputs are NA in metafor and NaN (Python) / null (JSON) here; the loader maps R's "NA" to None.
"""

import json
import subprocess
import sys
import warnings

import pytest
from click.testing import CliRunner

import commonfactors as cf
from commonfactors.cli import main
from commonfactors.errors import DroppedRowsWarning
from commonfactors.io import read_table
from conformance_cases import CASE_COUNTS, input_path, load_cases
from tolerances import ATOL_FLOOR, assert_agrees, rtol_for

CASES = load_cases("effect_size")


def test_every_effect_size_case_is_present():
    assert len(CASES) == CASE_COUNTS["effect_size"]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_effect_sizes_match_metafor(case):
    spec = case["spec"]
    n_missing = sum(v is None for v in case["expected"]["yi"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cf.effect_sizes(read_table(input_path(case)), spec["measure"], **spec["columns"])
    dropped = [w for w in caught if issubclass(w.category, DroppedRowsWarning)]
    assert len(dropped) == (1 if n_missing else 0)  # missing rows are named once, never silently
    if n_missing:
        assert f"{n_missing} studies with missing inputs: yi/vi set to NA" in str(dropped[0].message)
    assert out.attrs["measure"] == spec["measure"]
    for field, expected in case["expected"].items():  # yi and vi, every study
        assert_agrees(
            out[field].tolist(),
            expected,
            rtol=rtol_for("effect_size", field),
            atol=ATOL_FLOOR,
            what=f"{case['id']} {field}",
        )


CLI_CASES = [
    c for c in CASES if c["id"] in ("es_bcg_RR", "es_linde2005_RR", "es_prepost_a_SMCR", "es_molloy2014_UCOR")
]


#: each CLI case runs in-process (click's CliRunner); the first also as a real process
IN_A_PROCESS = ("es_bcg_RR",)


@pytest.mark.parametrize(
    "case, process",
    [(c, False) for c in CLI_CASES] + [(c, True) for c in CLI_CASES if c["id"] in IN_A_PROCESS],
    ids=[c["id"] for c in CLI_CASES] + [f"{i}-process" for i in IN_A_PROCESS],
)
def test_cli_json_matches_metafor(case, process):
    spec = case["spec"]
    args = ["effects", str(input_path(case)), "--measure", spec["measure"], "--format", "json"]
    for arg, col in spec["columns"].items():
        args += [f"--{arg}", col]
    if process:
        proc = subprocess.run([sys.executable, "-m", "commonfactors.cli", *args], capture_output=True,
                              text=True, timeout=120)
        code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    else:
        res = CliRunner().invoke(main, args)
        code, stdout, stderr = res.exit_code, res.stdout, res.stderr
    assert code == 0, stderr
    got = json.loads(stdout)
    assert got["measure"] == spec["measure"]
    for field, expected in case["expected"].items():
        assert_agrees(
            got[field],
            expected,
            rtol=rtol_for("effect_size", field),
            atol=ATOL_FLOOR,
            what=f"{case['id']} {field}",
        )
        assert [v is None for v in got[field]] == [v is None for v in expected]  # NA <-> null, in place
