"""fit_many (models/batch.py) and BatchResult (results/batch.py).

Golden values: metafor 3.8-1 (tests/conformance/cases.json, the `rma` kind), with all nine datasets
stacked into one (m, k) array padded with NaN, so every row is checked inside one vectorised fit.
"""

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors.errors import ConvergenceWarning, DroppedRowsWarning, InputError, SmallKWarning
from commonfactors.models import batch
from commonfactors.models._options import TESTS
from commonfactors.results.batch import ARRAY_FIELDS, BatchResult
from conformance_cases import HERE, load_cases
from reference import load
from tolerances import (
    ATOL_FLOOR,
    IDENTITY_RTOL,
    METAFOR_RTOL,
    ORACLE_RTOL,
    agrees,
    assert_agrees,
    printed,
    rtol_for,
)

CASES = load_cases("rma")
INPUTS = sorted({c["input"] for c in CASES})
SPECS = sorted({(c["spec"]["method"], c["spec"]["test"]) for c in CASES})


def _stack(inputs):
    frames = [pd.read_csv(HERE / i) for i in inputs]
    kmax = max(len(f) for f in frames)
    yi = np.full((len(frames), kmax), np.nan)
    vi = np.full((len(frames), kmax), np.nan)
    for r, f in enumerate(frames):
        yi[r, : len(f)] = f["yi"]
        vi[r, : len(f)] = f["vi"]
    return yi, vi


YI, VI = _stack(INPUTS)


@pytest.mark.parametrize("spec", SPECS, ids=[f"{m}_{t}" for m, t in SPECS])
def test_stacked_datasets_match_metafor(spec):
    """Every rma case of this method and test, as one row of a single fit_many call."""
    method, test = spec
    res = cf.fit_many(YI, VI, method=method, test=test)
    got = res.to_dict()
    cases = [c for c in CASES if (c["spec"]["method"], c["spec"]["test"]) == spec]
    assert len(cases) == len(INPUTS)
    compared = 0
    for case in cases:
        row = INPUTS.index(case["input"])
        for field, expected in case["expected"].items():
            if field not in got:  # the Q-profile intervals (tau2_ci, i2_ci, h2_ci) are not batch outputs
                assert field.endswith("_ci"), field
                continue
            assert_agrees(got[field][row], expected, rtol=rtol_for("rma", field),
                          what=f"{case['id']} {field}")
            compared += 1
    assert compared == len(cases) * 16
    assert res.converged.all()
    assert res.warnings == ()


def test_rows_in_any_order_with_empty_and_single_study_rows():
    """Shuffled rows and extra padding give the same numbers as the metafor cases; k = 0 and 1 rows too."""
    order = [4, 0, 8, 2, 6, 1, 7, 3, 5]
    pad = np.full((len(order), 5), np.nan)
    yi = np.vstack([np.hstack([YI[order], pad]), np.full(YI.shape[1] + 5, np.nan)])
    vi = np.vstack([np.hstack([VI[order], pad]), np.full(VI.shape[1] + 5, np.nan)])
    yi[-1, 3], vi[-1, 3] = 0.5, 0.1
    yi = np.vstack([yi, np.full(yi.shape[1], np.nan)])
    vi = np.vstack([vi, np.full(vi.shape[1], np.nan)])
    with pytest.warns(SmallKWarning) as record:
        res = cf.fit_many(yi, vi, method="REML", test="knha")
    cases = {c["input"]: c for c in CASES if c["spec"] == {"method": "REML", "test": "knha"}}
    for row, r0 in enumerate(order):
        expected = cases[INPUTS[r0]]["expected"]
        for field in ARRAY_FIELDS[:-1]:
            assert_agrees(getattr(res, field)[row], expected[field], rtol=rtol_for("rma", field), what=field)
    messages = [str(w.message) for w in record]
    assert messages == [
        "1 meta-analysis with a single study: tau2 fixed at 0; test 'z' instead of 'knha' (row 9)",
        "1 meta-analysis without any study: results are NaN (row 10)"]
    assert res.warnings == tuple(messages)


# metafor 3.8-1, tests/reference/batch.R: rma(yi=0.5, vi=0.1, method="REML", test="knha") and predict(.)
# ('Setting argument test="z" since k=1.'; pi.lb = ci.lb, pi.ub = ci.ub)
REFERENCE = load("batch")
SINGLE = {**REFERENCE["single_study_knha"], "converged": True}


@pytest.mark.parametrize("method", batch.METHODS)
def test_single_study_as_metafor(method):
    with pytest.warns(SmallKWarning, match="row 0"):
        got = cf.fit_many([[0.5, np.nan]], [[0.1, np.nan]], method=method, test="knha").to_dict()
    expected = dict(SINGLE)
    if method == "FE":  # metafor's predict() gives no prediction interval for a common-effect model
        expected.update(pi_low=None, pi_high=None)
    for field, value in expected.items():
        assert_agrees(got[field][0], value, rtol=METAFOR_RTOL["rma"], what=field)


def test_no_study_gives_nan():
    with pytest.warns(SmallKWarning) as record:
        res = cf.fit_many([[np.nan], [1.0], [np.nan]], [[np.nan], [0.5], [np.nan]], method="DL")
    assert [str(w.message) for w in record] == [
        "1 meta-analysis with a single study: tau2 fixed at 0 (row 1)",
        "2 meta-analyses without any study: results are NaN (rows 0, 2)"]
    for field in ARRAY_FIELDS:
        values = getattr(res, field)
        if field in ("k", "q_df"):
            assert values.tolist() == [0, 1, 0] if field == "k" else values.tolist() == [0, 0, 0]
        elif field == "converged":
            assert values.tolist() == [False, True, False]
        else:
            assert math.isnan(values[0]) and math.isnan(values[2]), field


# Reference numbers for test = "t" (no case in cases.json), metafor 3.8-1, tests/reference/batch.R:
#   d <- read.csv("tests/conformance/inputs/model_bcg_RR.csv")
#   r <- rma(yi, vi, data=d, method=M, test="t", level=90, control=list(threshold=1e-12, tol=1e-13))
#   predict(r)   # M in REML, PM, FE; estimate, se, stat, pval, ci, pi, tau2
T_TEST = REFERENCE["bcg_t_level90"]


@pytest.mark.parametrize("method", sorted(T_TEST))
def test_t_test_and_level_match_metafor(method):
    row = INPUTS.index("inputs/model_bcg_RR.csv")
    res = cf.fit_many(YI, VI, method=method, test="t", level=90).to_dict()
    names = ["estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"]
    for field in names:
        assert_agrees(res[field][row], T_TEST[method][field], rtol=METAFOR_RTOL["rma"], what=field)


def test_each_row_equals_its_own_fit():
    """Oracle: a row of a batch equals fit_many on that row alone (the batch shares no state across rows)."""
    for method in batch.METHODS:
        whole = cf.fit_many(YI, VI, method=method, test="knha")
        for r in range(YI.shape[0]):
            alone = cf.fit_many(YI[r], VI[r], method=method, test="knha")
            for field in ARRAY_FIELDS:
                got, expected = getattr(alone, field)[0], getattr(whole, field)[r]
                assert agrees(got, expected, IDENTITY_RTOL, ATOL_FLOOR), (method, r, field)


def test_pm_and_eb_are_the_same_estimator():
    """Identity: the EB fixed point is the Paule-Mandel equation (see batch._tau2_eb)."""
    pm, eb = cf.fit_many(YI, VI, method="PM"), cf.fit_many(YI, VI, method="EB")
    for field in ARRAY_FIELDS:
        np.testing.assert_allclose(getattr(pm, field), getattr(eb, field), rtol=IDENTITY_RTOL)


def test_non_convergence_is_counted_and_named(monkeypatch):
    monkeypatch.setattr(batch, "MAXITER", 1)
    message = "9 meta-analyses did not converge (rows 0, 1, 2, 3, 4, 5, 6, 7, 8)"
    with pytest.warns(ConvergenceWarning, match=f"^{re.escape(message)}$"):
        res = cf.fit_many(YI, VI, method="REML")
    assert not res.converged.any()
    assert res.warnings == (message,)


def test_half_missing_studies_are_dropped_with_a_warning():
    yi = np.array([[0.1, 0.3, 0.5, 0.2], [0.2, np.nan, 0.9, 1.3]])
    vi = np.array([[0.01, 0.02, np.nan, 0.03], [0.02, 0.01, 0.03, 0.02]])
    with pytest.warns(DroppedRowsWarning, match=r"^2 studies with only one of yi and vi omitted \(rows 0, 1"):
        res = cf.fit_many(yi, vi, method="DL")
    assert res.k.tolist() == [3, 3]
    same = cf.fit_many([[0.1, 0.3, 0.2], [0.2, 0.9, 1.3]], [[0.01, 0.02, 0.03], [0.02, 0.03, 0.02]],
                       method="DL")
    np.testing.assert_allclose(res.tau2, same.tau2, rtol=IDENTITY_RTOL)


@pytest.mark.parametrize(("yi", "vi", "message"), [
    ([[0.1, 0.2]], [[0.1, -0.2]], r"^row 0, column 'vi': got -0\.2 for study 1; expected a sampling"),
    ([[0.1, 0.2], [0.1, 0.2]], [[0.1, 0.2], [0.0, 0.2]], r"^row 1, column 'vi': got 0 for study 0; expected"),
    ([[0.1, np.inf]], [[0.1, 0.2]], r"^row 0, column 'yi': got inf for study 1; expected a finite effect"),
    ([[0.1, 0.2]], [[0.1, 0.2, 0.3]], r"^yi has shape \(1, 2\) but vi has shape \(1, 3\); expected yi and"),
    ([[[0.1]]], [[[0.1]]], r"^column 'yi': yi has shape \(1, 1, 1\); expected an array of shape \(m, k\)"),
    ([["a", "b"]], [[0.1, 0.2]], r"^column 'yi': yi is not numeric; expected an array of numbers"),
    # the bounds a single fit applies (meta_analysis refuses the same values)
    ([[0.1, 0.2]], [[0.1, 1e-31]],
     r"^row 0, column 'vi': got 1e-31 for study 1; expected a sampling variance between 1e-30 and 1e\+60"),
    ([[0.1, 2e30]], [[0.1, 0.2]],
     r"^row 0, column 'yi': got 2e\+30 for study 1; expected a finite effect size with \|yi\| <= 1e\+30"),
    ([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], [[0.1, 0.2, 0.3], [1e-9, np.nan, 0.2]],
     r"^row 1, column 'vi': the sampling variances span 2\.0e\+08 times, from 1e-09 \(study 0\) to 0\.2 "
     r"\(study 2\); expected variances within a factor of 1e\+08"),
])
def test_bad_input_names_row_column_and_study(yi, vi, message):
    with pytest.raises(InputError, match=message):
        cf.fit_many(yi, vi)


@pytest.mark.parametrize(("option", "message"), [
    ({"method": "XYZ"}, r"method='XYZ' is not one of REML, ML, DL"),
    ({"test": "wald"}, r"test='wald' is not one of z, t, knha"),
    ({"level": 0.95 * 200}, r"level=190\.0 is not between 0 and 100"),
])
def test_bad_options_raise_value_error(option, message):
    with pytest.raises(ValueError, match=message):
        cf.fit_many(YI, VI, **option)


def test_result_contract():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = cf.fit_many(YI, VI, method="REML")
    assert isinstance(res, BatchResult) and len(res) == res.m == 9
    frame = res.to_frame()
    assert list(frame.columns) == list(ARRAY_FIELDS) and len(frame) == 9
    np.testing.assert_array_equal(frame["tau2"].to_numpy(), res.tau2)
    d = res.to_dict()
    assert list(d) == [*ARRAY_FIELDS, "method", "test", "level", "warnings"]
    assert d["method"] == "REML" and d["test"] == "z" and d["level"] == 95.0 and d["warnings"] == []
    assert all(len(d[f]) == 9 for f in ARRAY_FIELDS)
    assert isinstance(d["k"][0], int) and isinstance(d["converged"][0], bool)
    assert d["tau2"] == res.tau2.tolist()
    text = str(res.summary())
    assert text.startswith("9 meta-analyses (method: REML, test: z, level: 95%)")
    assert "studies per meta-analysis (k): min 9, median 19.0, max 71" in text
    assert "converged: 9 of 9" in text
    assert f"{np.median(res.tau2):.4f}" in text
    assert repr(res) == text
    with pytest.raises(ValueError):
        res.tau2[0] = 1.0  # read-only: the result is frozen


def test_nan_fields_become_none_in_json():
    res = cf.fit_many(YI, VI, method="FE")
    d = res.to_dict()
    assert d["pi_low"] == [None] * 9 and d["se_tau2"] == [None] * 9


# --- fit_many equals meta_analysis, row by row (oracle: the single-fit engine, models/univariate.py) ---

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

SINGLE_FIELDS = [f for f in ARRAY_FIELDS if f != "converged"]


@st.composite
def batches(draw):
    m = draw(st.integers(1, 4))
    k = draw(st.integers(2, 12))
    yi = draw(arrays(np.float64, (m, k), elements=st.floats(-3, 3, allow_subnormal=False)))
    vi = draw(arrays(np.float64, (m, k), elements=st.floats(0.001, 2, allow_subnormal=False)))
    sizes = draw(st.lists(st.integers(2, k), min_size=m, max_size=m))
    for r, size in enumerate(sizes):
        yi[r, size:] = vi[r, size:] = np.nan
        # equal effects make the knha variance 0 up to rounding (se 0 or 1e-17): no comparison to make
        assume(np.ptp(yi[r, :size]) > 1e-3)
    return yi, vi


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("method", batch.METHODS)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=batches())
def test_fit_many_equals_meta_analysis_row_by_row(method, test, data):
    yi, vi = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary and small-k warnings are the same on both sides
        res = cf.fit_many(yi, vi, method=method, test=test).to_dict()  # both sides as JSON: inf -> None
        for r in range(yi.shape[0]):
            keep = ~np.isnan(yi[r])
            single = cf.meta_analysis(yi=yi[r, keep], vi=vi[r, keep], method=method, test=test).to_dict()
            for field in SINGLE_FIELDS:
                got = res[field][r]
                expected = single[field]
                assert agrees(got, expected, ORACLE_RTOL, 1e-9), \
                    (method, test, r, field, got, expected)


def test_meta_analysis_converges_where_fisher_scoring_cycles():
    """Found by the property test above (hypothesis, REML, z): Fisher scoring cycles on this REML
    likelihood (metafor 3.8-1 stops with 'Fisher scoring algorithm did not converge'); both engines must
    reach its maximum, tau2 = 0.4894 (restricted log-likelihood -4.3312, against -4.4725 at the cycle's
    tau2 = 0.2703)."""
    yi = np.array([2.75, 2.75, 2.0, 1.0, 1.0, 1.0, 1.0])
    vi = np.array([0.125, 2.0, 1.5, 0.25, 2.0, 2.0, 2.0])
    many = cf.fit_many(yi[None, :], vi[None, :], method="REML")
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        single = cf.meta_analysis(yi=yi, vi=vi, method="REML").to_dict()
    assert many.converged[0] and single["tau2"] == pytest.approx(0.4894, abs=printed(4))
    for field in SINGLE_FIELDS:
        assert_agrees(many.to_dict()[field][0], single[field], rtol=ORACLE_RTOL, what=field)
