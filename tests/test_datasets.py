"""commonfactors.datasets: the catalogue read from data/datapackage.json (list, describe, load, cite, export).

Expected values are the shipped files themselves (data/*.csv) and their descriptor; the bcg counts are
those of Colditz et al. (1994) as in metafor's dat.bcg (metadat 1.2-0).
"""

from __future__ import annotations

import csv
import doctest
import json
import re

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors import datasets
from commonfactors.cli._common import read_input
from commonfactors.datasets import DATA_DIR, cite, dataset_ids, describe, export, list_datasets, load_dataset
from commonfactors.errors import InputError

IDS = dataset_ids()


def test_public_api_exports():
    assert cf.load_dataset is load_dataset and cf.list_datasets is list_datasets


def test_docstring_examples_run():
    assert doctest.testmod(datasets).failed == 0


def test_list_datasets_is_a_tidy_table():
    table = list_datasets()
    assert list(table.columns) == ["id", "title", "k", "rows", "measure", "licence"]
    assert table["id"].tolist() == IDS
    bcg = table.set_index("id").loc["bcg"]
    assert (bcg["k"], bcg["rows"], bcg["measure"], bcg["licence"]) == (13, 13, "RR", "GPL-2.0-or-later")
    dep = table.set_index("id").loc["metapsy_depression_psyctr"]
    assert (dep["k"], dep["rows"], dep["measure"], dep["licence"]) == (480, 900, "SMD", "ODC-By-1.0")
    assert pd.isna(table.set_index("id").loc["published_estimates", "k"])


@pytest.mark.parametrize("rid", IDS)
def test_load_dataset_types_index_and_attrs(rid):
    df = load_dataset(rid)
    schema = df.attrs["schema"]
    assert list(df.columns) == [f["name"] for f in schema]
    for f in schema:
        kind = df[f["name"]].dtype.kind
        assert kind == {"integer": "i" if f.get("constraints", {}).get("required") else "f",
                        "number": "f"}.get(f["type"], kind), f["name"]
        if f["type"] == "string":
            assert not pd.api.types.is_numeric_dtype(df[f["name"]]), f["name"]
    for key in ("source", "dataset", "title", "citation", "licence", "schema"):
        assert df.attrs[key]
    assert df.attrs["dataset"] == rid
    # the index is the file line on which each record starts (header = line 1), even where quoted
    # fields hold line breaks (the Metapsy files)
    lines = (DATA_DIR / df.attrs["source"].split("/data/")[-1]).read_text(encoding="utf-8").split("\n")
    assert df.index.is_monotonic_increasing and df.index[0] == 2
    first = df.columns[0]
    for line, value in zip(df.index, df[first], strict=True):
        cell = next(csv.reader([lines[line - 1]]))[0]
        assert cell == str(value), (line, value)


def test_metapsy_record_lines_skip_embedded_line_breaks():
    df = load_dataset("metapsy_depression_psyctr")
    assert len(df) == 900 and df.index[-1] > 901  # 941 physical lines for 901 records
    assert np.all(np.diff(df.index) >= 1)


def test_bcg_values():
    bcg = load_dataset("bcg")
    assert bcg.loc[2, ["tpos", "tneg", "cpos", "cneg"]].tolist() == [4, 119, 11, 128]  # Aronson 1948
    assert bcg.attrs["doi"] == "10.1001/jama.1994.03510330076038"


def test_ptsd_inf_is_read_as_infinity():
    ptsd = load_dataset("metapsy_ptsd_psyctr")
    assert np.isinf(ptsd["logRR"]).any()


@pytest.mark.parametrize("bad, suggestion", [("bcgg", "bcg"), ("lopez2091", "lopez2019"),
                                             ("metapsy_depression", "metapsy_depression_psyctr")])
def test_unknown_id_lists_ids_and_suggests(bad, suggestion):
    for call in (load_dataset, describe, cite, lambda i: export(i, "x.csv")):
        with pytest.raises(InputError, match=rf"no dataset '{bad}' \(did you mean '{suggestion}'\?\); "
                                             r"expected a dataset ID: bcg, assink2016"):
            call(bad)


def test_unknown_id_without_close_match():
    with pytest.raises(InputError) as e:
        load_dataset("zzzz")
    assert "did you mean" not in str(e.value) and "metapsy_total_response" in str(e.value)
    assert "\n" not in str(e.value)


def test_read_input_falls_back_to_dataset_ids():
    df = read_input("lopez2019")
    assert df.attrs["dataset"] == "lopez2019" and len(df) == 172 and df.index[0] == 2
    with pytest.raises(InputError, match=r"did you mean 'lopez2019'"):
        read_input("lopez2091")


def test_describe():
    info = describe("metapsy_total_response")
    assert (info.k, info.rows, info.measure, info.licence) == (437, 569, "RR", "ODC-By-1.0")
    assert info.effect == {"measure": "RR", "yi": "logrr", "sei": "se.logrr"}
    assert len(info.head) == 5 and info.head[0]["study.es"] == "Abramowitz, 2009"
    text = str(info.summary())
    assert "0.5 to EVERY cell" in text and "Columns:" in text and "First 5 rows" in text
    assert repr(info) == text
    frame = info.to_frame()
    assert list(frame.columns) == ["name", "type", "unit", "required", "constraints", "description"]
    assert len(frame) == 19
    d = info.to_dict()
    assert json.loads(json.dumps(d)) == d and d["citation"]["doi"] == "10.5281/zenodo.8408317"


def test_depression_quirk_is_documented():
    info = describe("metapsy_depression_psyctr")
    assert any(".g_se is NOT metafor's escalc default" in q for q in info.quirks)
    assert info.raw_effect["m1i"] == "mean_arm1"


@pytest.mark.parametrize("rid", IDS)
def test_cite_bibtex_and_apa(rid):
    c = describe(rid).citation
    bib = cite(rid)
    assert re.match(r"@(article|misc|manual)\{[A-Za-z]+\d*,\n", bib) and bib.endswith("}")
    assert bib.count("{") == bib.count("}")
    apa = cite(rid, style="apa")
    assert "\n" not in apa and f"({c['year']})" in apa
    if c.get("doi"):
        assert f"doi = {{{c['doi']}}}" in bib and apa.endswith(f"https://doi.org/{c['doi']}")


def test_cite_bcg_exactly():
    # Colditz et al. (1994), JAMA 271(9), 698-702 (data/bcg.txt, Source)
    assert cite("bcg", style="apa") == (
        "Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E., Burdick, E., Fineberg, H. V., & "
        "Mosteller, F. (1994). Efficacy of BCG vaccine in the prevention of tuberculosis: "
        "Meta-analysis of the published literature. Journal of the American Medical Association, "
        "271(9), 698–702. "
        "https://doi.org/10.1001/jama.1994.03510330076038")
    assert "pages = {698--702}" in cite("bcg")


def test_cite_rejects_unknown_style():
    with pytest.raises(ValueError, match="'bibtex' or 'apa'"):
        cite("bcg", style="mla")


@pytest.mark.parametrize("rid", IDS)
def test_export_csv_is_byte_identical(rid, tmp_path):
    out = export(rid, tmp_path / "out.csv")
    assert out.read_bytes() == (DATA_DIR / describe(rid).path.removeprefix("data/")).read_bytes()


@pytest.mark.parametrize("rid", ["bcg", "lopez2019", "metapsy_depression_psyctr", "metapsy_ptsd_psyctr"])
def test_export_parquet_round_trips(rid, tmp_path):
    pytest.importorskip("pyarrow")
    out = export(rid, tmp_path / "out.parquet")
    back = pd.read_parquet(out)
    df = load_dataset(rid).reset_index(drop=True)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_export_bad_extension_writes_nothing(tmp_path):
    with pytest.raises(InputError, match=r"out\.xlsx: cannot tell the output format from '\.xlsx'; "
                                         r"expected an output file ending in \.csv or \.parquet"):
        export("bcg", tmp_path / "out.xlsx")
    assert list(tmp_path.iterdir()) == []
