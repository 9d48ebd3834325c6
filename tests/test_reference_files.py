"""tests/reference/conformance.json, recomputed from tests/conformance/inputs by
tests/reference/conformance.R, holds the numbers of tests/conformance/cases.json (metafor 3.8-1) within the
conformance tolerances; every script of tests/reference has its JSON, which names the script and the R and
package versions that wrote it."""

import json

import pytest

from conformance_cases import CASE_COUNTS, load_cases
from reference import HERE, load
from tolerances import agrees, atol_for, rtol_for

RECOMPUTED = {c["id"]: c for c in load("conformance")["cases"]}
#: metafor's names of the bias sections whose tolerance is looked up under the command line's name
TOLERANCE_NAME = {"selmodel_3psm": "selection_3psm"}
PINNED = [c for kind in CASE_COUNTS for c in load_cases(kind)]
SCRIPTS = sorted(p.stem for p in HERE.glob("*.R") if p.stem != "common")


def test_every_json_has_the_script_that_writes_it():
    scripts = {p.stem for p in HERE.glob("*.R")} - {"common"}
    assert {p.stem for p in HERE.glob("*.json")} == scripts


@pytest.mark.parametrize("topic", SCRIPTS)
def test_every_script_has_its_json_with_the_versions_used(topic):
    written = json.loads((HERE / f"{topic}.json").read_text())
    assert written["generator"] == f"tests/reference/{topic}.R"
    assert {"R", "jsonlite"} <= set(written["versions"])


def test_every_case_is_recomputed():
    assert sorted(RECOMPUTED) == sorted(c["id"] for c in PINNED)


@pytest.mark.parametrize("case", PINNED, ids=[c["id"] for c in PINNED])
def test_recomputed_numbers_agree_with_the_pinned_cases(case):
    recomputed = RECOMPUTED[case["id"]]
    assert recomputed["kind"] == case["kind"]
    for field, expected in case["expected"].items():
        got = recomputed["expected"][field]
        rtol = rtol_for(case["kind"], TOLERANCE_NAME.get(field, field))
        assert agrees(got, expected, rtol, atol_for(field)), (field, got, expected)
