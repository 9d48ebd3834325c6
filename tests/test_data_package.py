"""data/ as a Frictionless Data Package: every file described, every file valid against its own schema,
every published estimate cited with a verification flag, and the documented quirks of the Metapsy files true.

Sources of the quirk checks: data/metapsy_depression_psyctr.md and data/metapsy_total_response.md
("Checks run on this file"); metafor's escalc documentation for its defaults (SMD vtype "LS";
add = 1/2, to = "only0").
"""

from __future__ import annotations

import json
import math
import re
import shutil

import numpy as np
import pytest

from commonfactors import datasets
from commonfactors.datasets import DATA_DIR, dataset_ids, load_dataset, validate

PACKAGE = json.loads((DATA_DIR / "datapackage.json").read_text(encoding="utf-8"))
RESOURCES = {r["name"]: r for r in PACKAGE["resources"]}
STUDY_IDS = [i for i, r in RESOURCES.items() if not r["path"].startswith("published/")]
METADAT = ["assink2016", "bcg", "dorn2007", "hasselblad1998", "landenberger2005", "lopez2019", "molloy2014"]
METAPSY = ["metapsy_depression_psyctr", "metapsy_ptsd_psyctr", "metapsy_total_response"]
VERIFIED = re.compile(r"^(yes|secondary|UNVERIFIED)( \(.+\))?$")  # labels of data/published/README.md


def test_every_csv_in_data_has_exactly_one_resource():
    files = sorted(p.relative_to(DATA_DIR).as_posix() for p in DATA_DIR.rglob("*.csv"))
    described = sorted(r["path"] for r in PACKAGE["resources"])
    assert files == described
    assert sorted(STUDY_IDS) == sorted(METADAT + METAPSY)  # the catalogue cannot silently shrink


@pytest.mark.parametrize("rid", list(RESOURCES))
def test_resource_has_provenance(rid):
    r = RESOURCES[rid]
    for key in ("title", "path", "sources", "licenses", "citation", "snapshot", "schema", "provenance"):
        assert r.get(key), f"{rid}: {key} missing"
    assert isinstance(r["quirks"], list)
    assert (DATA_DIR / r["provenance"].split(" ")[0]).exists()
    assert r["snapshot"].get("date") and r["snapshot"].get("version")
    expected_licence = {"ODC-By-1.0"} if rid in METAPSY else {"GPL-2.0-or-later"}
    assert {lic["name"] for lic in r["licenses"]} == expected_licence
    for f in r["schema"]["fields"]:
        assert f["type"] in ("integer", "number", "string") and f["description"], f["name"]


@pytest.mark.parametrize("rid", STUDY_IDS)
def test_study_dataset_cites_a_doi_and_names_its_effect_columns(rid):
    r = RESOURCES[rid]
    assert re.fullmatch(r"10\.\d{4,9}/\S+", r["citation"]["doi"])
    names = {f["name"] for f in r["schema"]["fields"]}
    for role, col in {**r["effect"], **r.get("raw_effect", {})}.items():
        if role not in ("measure", "note"):
            assert col in names, f"{rid}: {role} -> {col!r} is not a column"


@pytest.mark.parametrize("rid", list(RESOURCES))
def test_file_validates_against_its_own_schema(rid):
    assert validate(rid) == []


@pytest.mark.parametrize("rid", STUDY_IDS)
def test_k_and_rows_match_the_file(rid):
    r = RESOURCES[rid]
    df = load_dataset(rid)
    assert len(df) == r["rows"]
    if r["k_counts"].startswith("distinct values of"):
        column = r["k_counts"].split("'")[1]
        assert df[column].nunique() == r["k"]
    else:
        assert r["k"] == len(df)


# --- the validator finds what it should (a corrupted copy of bcg) ------------------------------------


@pytest.fixture
def corrupt_bcg(tmp_path, monkeypatch):
    shutil.copy(DATA_DIR / "datapackage.json", tmp_path / "datapackage.json")
    text = (DATA_DIR / "bcg.csv").read_text(encoding="utf-8")

    def write(old, new):
        assert old in text
        (tmp_path / "bcg.csv").write_text(text.replace(old, new, 1), encoding="utf-8")
        monkeypatch.setattr(datasets, "DATA_DIR", tmp_path)
        return validate("bcg")

    return write


@pytest.mark.parametrize("old, new, message", [
    ('1,"Aronson",1948,4,', '1,"Aronson",1948,-4,',
     r"row 2, column 'tpos': got '-4'; expected an integer \(required, >= 0\)"),
    ('1,"Aronson",1948,4,', '1,"Aronson",1948,four,',
     r"row 2, column 'tpos': got 'four'; expected an integer"),
    ('1,"Aronson",1948,4,', '1,"Aronson",1948,,', r"row 2, column 'tpos': missing; expected an integer"),
    ('"random"\n2,', '"randomised"\n2,',
     r"row 2, column 'alloc': got 'randomised'; expected text \(required, one of"),
    ('\n2,"Ferguson', '\n1,"Ferguson', r"row 3, column 'trial': '1' repeats row 2; expected unique values"),
    ('"trial","author"', '"trial","authors"', r"row 1: header .*expected the schema's fields"),
    ('1,"Aronson",1948,4,119', '1,"Aronson",1948,4,119,7', r"row 2: 10 fields; expected 9"),
])
def test_validator_reports_file_row_and_column(corrupt_bcg, old, new, message):
    problems = corrupt_bcg(old, new)
    assert any(re.search(message, p) for p in problems), problems
    assert any("hash differs" in p for p in problems)
    assert all(p.startswith("data/bcg.csv") for p in problems)


# --- published estimates ---------------------------------------------------------------------------


def test_every_published_estimate_has_a_citation_and_a_verified_flag():
    est = load_dataset("published_estimates")
    assert len(est) == 106  # data/published/README.md: "estimates.csv (106 rows)"
    assert est["source"].str.len().min() >= 10
    assert est["verified"].map(lambda v: bool(VERIFIED.match(v))).all()
    status = est["verified"].str.extract(r"^(yes|secondary|UNVERIFIED)")[0]
    assert set(status) == {"yes", "secondary", "UNVERIFIED"}
    assert (status == "UNVERIFIED").sum() == 3  # README: "and 3 UNVERIFIED rows"


# --- the documented quirks of the Metapsy files hold ------------------------------------------------


def _j(m):
    return 1 - 3 / (4 * m - 1)  # Hedges (1981) approximation, with m = n1 + n2 - 2 as metapsyTools uses


def test_depression_g_se_uses_the_uncorrected_d_not_escalcs_default():
    d = load_dataset("metapsy_depression_psyctr")
    msd = d[d["outcome_type"] == "msd"]
    assert len(msd) == 810
    n1, n2, g = msd["n_arm1"].to_numpy(), msd["n_arm2"].to_numpy(), msd[".g"].to_numpy()
    dd = g / _j(n1 + n2 - 2)
    metapsy = np.sqrt((n1 + n2) / (n1 * n2) + dd**2 / (2 * (n1 + n2)))
    escalc_ls = np.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))  # metafor escalc SMD, vtype "LS"
    se = msd[".g_se"].to_numpy()
    assert np.sum(np.abs(se - metapsy) < 1e-6) == 805  # the .md: 805/810
    assert np.sum(np.abs(se - escalc_ls) < 1e-6) < 100  # only where g is ~0 do the two agree


def test_total_response_logrr_adds_half_to_every_cell():
    d = load_dataset("metapsy_total_response")
    a, n1, c, n2 = (d[k].to_numpy(float) for k in ("improved.ig", "n.ig", "improved.cg", "n.cg"))
    all_cells = np.log(((a + 0.5) / (n1 + 0.5)) / ((c + 0.5) / (n2 + 0.5)))
    assert np.sum(np.abs(d["logrr"].to_numpy() - all_cells) < 1e-5) == 561  # the .md: 561/569
    zero = (a == 0) | (c == 0) | (a == n1) | (c == n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # escalc's default: 1/2 added to tables with a zero cell only
        only0 = np.where(zero, all_cells, np.log((a / n1) / (c / n2)))
    differs = np.abs(d["logrr"].to_numpy() - only0) > 1e-5
    # every table without a zero cell differs from metafor's default rule, unless both arms respond alike
    assert differs[~zero & (a * n2 != c * n1)].all()
    assert not math.isnan(float(d["logrr"].sum()))


def test_every_id_is_listed_once():
    assert sorted(dataset_ids()) == sorted(RESOURCES)
