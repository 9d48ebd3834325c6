"""The contract every result class keeps (results/__init__.py; STYLE.md section 7, as scikit-learn's
check_estimator): frozen, ``summary()`` returns a Summary (never prints), ``__repr__`` is its text,
``to_frame()`` a DataFrame, ``to_dict()`` plain JSON (NaN -> None) with the command line's keys.

Each result class adds a factory to RESULTS (name -> callable returning an instance).
"""

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary

YI = [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339, 0.446, -0.017]
VI = [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.533, 0.071]
GROUP = ["a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a"]
FRAME = pd.DataFrame({"yi": YI, "vi": VI, "g": GROUP, "x": np.arange(13.0)})

RESULTS = {
    "MetaResult": lambda: cf.meta_analysis(yi=YI, vi=VI),
    "MetaResult_FE": lambda: cf.meta_analysis(yi=YI, vi=VI, method="FE"),
    "MetaResult_mods": lambda: cf.meta_analysis(FRAME, mods="~ x + g", test="knha"),
    "SubgroupResult": lambda: cf.meta_analysis(FRAME, by="g"),
}

#: the JSON keys of DESIGN.md's `pool` contract
POOL_KEYS = {"k", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2",
             "se_tau2", "tau2_ci", "i2", "i2_ci", "h2", "h2_ci", "q", "q_df", "q_pval", "method", "test",
             "warnings"}
MODS_KEYS = {"coefficients", "qm", "qm_df", "qm_pval", "r2", "qe", "qe_pval"}
EXPECTED_KEYS = {
    "MetaResult": POOL_KEYS,
    "MetaResult_FE": POOL_KEYS,
    "MetaResult_mods": POOL_KEYS | MODS_KEYS,
    "SubgroupResult": {"by", "subgroups", "q_between", "q_between_df", "q_between_pval", "method", "test",
                       "warnings"},
}


def _plain_json(x):
    if isinstance(x, dict):
        return all(isinstance(k, str) and _plain_json(v) for k, v in x.items())
    if isinstance(x, list):
        return all(_plain_json(v) for v in x)
    if isinstance(x, float):
        return math.isfinite(x)
    return x is None or isinstance(x, (str, int, bool))


@pytest.fixture(params=sorted(RESULTS), scope="module")
def named_result(request):
    return request.param, RESULTS[request.param]()


def test_frozen(named_result):
    _, res = named_result
    assert dataclasses.is_dataclass(res)
    field = dataclasses.fields(res)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(res, field, None)


def test_summary_returns_a_summary_and_repr_is_its_text(named_result, capsys):
    _, res = named_result
    s = res.summary()
    assert isinstance(s, Summary) and capsys.readouterr().out == ""
    assert repr(res) == str(s) and str(s).strip()
    assert s.as_html().startswith("<pre")


def test_to_dict_is_plain_json_with_the_contract_keys(named_result):
    name, res = named_result
    d = res.to_dict()
    assert _plain_json(d)
    assert set(d) == EXPECTED_KEYS[name]
    assert json.loads(json.dumps(d, allow_nan=False)) == d


def test_to_frame_is_a_dataframe(named_result):
    _, res = named_result
    frame = res.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 1
    if hasattr(res, "records"):  # the pandas-free rows the command line writes as CSV
        assert frame.columns.tolist() == list(res.records()[0])
