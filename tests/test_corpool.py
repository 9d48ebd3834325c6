"""Stage-1 GLS pooling of correlation matrices (factors/corpool.py): against metafor 3.8-1 (rcalc + rma.mv
on the stacked correlations), identities, validation at the boundary, the result contract, and the
dominance pie drawn from the pooled matrix's covariance.

Reference data: DATA below (6 studies; s2 reports only alliance-outcome, s4 lacks alliance-outcome).
The pinned numbers are metafor 3.8-1's (R 4.2.2), written by tests/reference/corpool.R from the same data:
``rcalc(r ~ var1 + var2 | study, ni = n)`` on the stacked correlations (unreported pairs filled with the
pair's n-weighted mean, for V only), then ``rma.mv(yi, V, mods = ~ var1.var2 - 1)`` (FE_STUDY) and with
``random = ~ var1.var2 | study, struct = "DIAG"`` (REML_STUDY, ``rel.tol = 1e-10``).

REML_BOUNDARY: DATA with the empathy-outcome correlations made nearly equal (BOUNDARY below), so that
their tau2 is at 0; metafor's default optimiser works on log(tau2) and stops near 1e-11, so the pinned
fit is the one that reaches the boundary (Nelder-Mead, ``reltol = 1e-14``: a higher restricted
log-likelihood, 11.727816029015).

For FE_MEAN (v_from = "mean") the same, with V from the pairs' weighted mean correlations.
"""

import dataclasses
import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import ConvergenceWarning, DroppedRowsWarning, InputError
from commonfactors.factors.corpool import CorrelationPoolWarning, olkin_siotani, pool_correlation_matrices
from commonfactors.factors.dominance import general_dominance
from commonfactors.factors.pie import PieWarning, dominance_pie
from reference import load
from tolerances import ALGEBRA_RTOL, ATOL_FLOOR, CORPOOL_RTOL, IDENTITY_RTOL, METAFOR_RTOL, ORACLE_RTOL

DATA = pd.DataFrame(
    [
        ("s1", "alliance", "outcome", 0.30, 120),
        ("s1", "empathy", "outcome", 0.25, 120),
        ("s1", "alliance", "empathy", 0.40, 120),
        ("s2", "alliance", "outcome", 0.20, 80),
        ("s3", "alliance", "outcome", 0.35, 150),
        ("s3", "empathy", "outcome", 0.10, 150),
        ("s3", "alliance", "empathy", 0.55, 150),
        ("s4", "empathy", "outcome", 0.32, 60),
        ("s4", "alliance", "empathy", 0.30, 60),
        ("s5", "alliance", "outcome", 0.15, 200),
        ("s5", "empathy", "outcome", 0.22, 200),
        ("s5", "alliance", "empathy", 0.45, 200),
        ("s6", "alliance", "outcome", 0.42, 45),
        ("s6", "empathy", "outcome", 0.38, 45),
        ("s6", "alliance", "empathy", 0.60, 45),
    ],
    columns=["study", "var1", "var2", "r", "n"],
)
PAIRS = [("alliance", "empathy"), ("alliance", "outcome"), ("empathy", "outcome")]
BOUNDARY = DATA.copy()
BOUNDARY.loc[BOUNDARY["var1"].eq("empathy") & BOUNDARY["var2"].eq("outcome"), "r"] = [
    0.25,
    0.24,
    0.26,
    0.25,
    0.23,
]

# metafor 3.8-1, tests/reference/corpool.R (see the module docstring); pairs in the order of PAIRS
PINNED = load("corpool")
REFERENCE = {case: PINNED[case] for case in ("FE_STUDY", "FE_MEAN", "REML_STUDY", "REML_BOUNDARY")}
SPECS = {
    "FE_STUDY": {"method": "FE", "v_from": "study"},
    "FE_MEAN": {"method": "FE", "v_from": "mean"},
    "REML_STUDY": {"method": "REML", "v_from": "study"},
    "REML_BOUNDARY": {"method": "REML", "v_from": "study", "data": BOUNDARY},
}


def _pool(data=DATA, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CorrelationPoolWarning)
        return pool_correlation_matrices(data, **kw)


def test_reference_cases_cannot_shrink():
    assert sorted(REFERENCE) == sorted(SPECS) == ["FE_MEAN", "FE_STUDY", "REML_BOUNDARY", "REML_STUDY"]


@pytest.mark.parametrize("case", sorted(REFERENCE))
def test_matches_metafor_rma_mv_on_rcalc(case):
    res = _pool(**SPECS[case])
    exp, rtol = REFERENCE[case], CORPOOL_RTOL[SPECS[case]["method"]]
    assert [(p.var1, p.var2) for p in res.pairs] == PAIRS
    assert res.names == ("alliance", "empathy", "outcome")
    for field, expected in exp.items():  # every pinned field
        if field == "r":
            got = [p.r for p in res.pairs]
        elif field == "tau2":
            got = [p.tau2 for p in res.pairs]
        else:
            got = getattr(res, field)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=ATOL_FLOOR, err_msg=field)
    se = np.sqrt(np.diag(exp["vcov"]))
    z = 1.959963984540054
    np.testing.assert_allclose([p.se for p in res.pairs], se, rtol=rtol)
    np.testing.assert_allclose([p.ci_low for p in res.pairs], np.array(exp["r"]) - z * se, rtol=rtol)
    np.testing.assert_allclose([p.ci_high for p in res.pairs], np.array(exp["r"]) + z * se, rtol=rtol)
    assert res.q_df == 12 and res.k == 6 and res.n == 655
    assert [p.k for p in res.pairs] == [5, 5, 5]
    assert [p.n for p in res.pairs] == [575, 595, 575]
    if case.startswith("FE"):
        assert all(math.isnan(p.tau2) for p in res.pairs)


def test_olkin_siotani_matches_rcalc_for_one_study():
    # d <- data.frame(study = 1, var1 = c("a", "a", "e"), var2 = c("e", "y", "y"), ri = c(.3, .28, .2),
    #                 ni = 100)
    # rcalc(ri ~ var1 + var2 | study, ni = ni, data = d)$V         # metafor 3.8-1, tests/reference/corpool.R
    expected = PINNED["olkin_siotani_one_study"]
    R = np.array([[1, 0.3, 0.28], [0.3, 1, 0.2], [0.28, 0.2, 1]])
    got = olkin_siotani(R, [(0, 1), (0, 2), (1, 2)]) / 99
    np.testing.assert_allclose(got, expected, rtol=METAFOR_RTOL["effect_size"])
    # the diagonal is the variance of a raw correlation, (1 - r^2)^2 (Borenstein 2009, eq. 12.27)
    np.testing.assert_allclose(
        np.diag(got) * 99, (1 - np.array([0.3, 0.28, 0.2]) ** 2) ** 2, rtol=IDENTITY_RTOL
    )


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_one_complete_study_gives_back_its_own_matrix(method):
    one = DATA[DATA["study"] == "s1"]
    res = _pool(one, method=method)
    assert [p.r for p in res.pairs] == pytest.approx([0.40, 0.30, 0.25], rel=IDENTITY_RTOL)
    assert res.q_df == 0 and res.q == pytest.approx(0, abs=1e-24) and math.isnan(res.q_pval)
    R = res.matrix
    np.testing.assert_allclose(olkin_siotani(R, [(0, 1), (0, 2), (1, 2)]) / 119, res.vcov, rtol=IDENTITY_RTOL)
    if method == "REML":  # every tau2 rests on one study: fixed at 0, with a warning
        assert [p.tau2 for p in res.pairs] == [0, 0, 0]
        assert any("single study" in w for w in res.warnings)


def test_a_single_correlation_is_the_inverse_variance_weighted_mean():
    r, n = np.array([0.30, 0.20, 0.35, 0.15, 0.42]), np.array([120, 80, 150, 200, 45])
    data = pd.DataFrame({"study": list("abcde"), "var1": "alliance", "var2": "outcome", "r": r, "n": n})
    res = _pool(data)
    vi = (1 - r**2) ** 2 / (n - 1)
    w = 1 / vi
    assert res.pairs[0].r == pytest.approx(np.sum(w * r) / np.sum(w), rel=IDENTITY_RTOL)
    assert res.pairs[0].se == pytest.approx(np.sqrt(1 / np.sum(w)), rel=IDENTITY_RTOL)
    fe = cf.meta_analysis(yi=r, vi=vi, method="FE")  # the univariate engine: same model
    assert res.q == pytest.approx(fe.q, rel=IDENTITY_RTOL) and res.q_df == fe.q_df
    assert res.q_pval == pytest.approx(fe.q_pval, rel=ALGEBRA_RTOL)
    reml = _pool(data, method="REML")
    uni = cf.meta_analysis(yi=r, vi=vi, method="REML")
    assert reml.pairs[0].tau2 == pytest.approx(uni.tau2, rel=ORACLE_RTOL)
    assert reml.pairs[0].r == pytest.approx(uni.estimate, rel=ORACLE_RTOL)
    assert reml.pairs[0].se == pytest.approx(uni.se, rel=ORACLE_RTOL)


def test_pairs_may_be_given_in_either_order_and_nfun_sets_a_studys_common_n():
    flipped = DATA.copy()
    flipped[["var1", "var2"]] = flipped[["var2", "var1"]].to_numpy()
    a, b = _pool(), _pool(flipped)
    assert b.names == ("alliance", "empathy", "outcome")  # the outcome last, factors in order of appearance
    assert [p.r for p in b.pairs] == pytest.approx([p.r for p in a.pairs], rel=IDENTITY_RTOL)
    uneven = DATA.copy()
    uneven.loc[0, "n"] = 100  # s1: n = 100, 120, 120
    for nfun, n1 in (("min", 100), ("harmonic", 3 / (1 / 100 + 2 / 120)), ("mean", 340 / 3)):
        res = _pool(uneven, nfun=nfun)
        assert res.n == pytest.approx(655 - 120 + n1, rel=IDENTITY_RTOL)


def test_fixed_effects_warns_when_homogeneity_is_rejected():
    with pytest.warns(CorrelationPoolWarning, match=r"rejects one common correlation matrix \(Q = 24.24"):
        res = pool_correlation_matrices(DATA)
    assert "consider random effects (method='REML'" in res.warnings[0]
    assert "Warnings:" in str(res.summary())


def test_reml_warns_when_it_does_not_converge(monkeypatch):
    import commonfactors.factors.corpool as corpool

    monkeypatch.setattr(corpool, "REML_MAXITER", 1)
    with pytest.warns(ConvergenceWarning, match="REML did not converge in 1 Fisher scoring"):
        pool_correlation_matrices(DATA, method="REML")


def _frame(tmp_path, text):
    path = tmp_path / "long.csv"
    path.write_text(text)
    return cf.read_table(path), str(path)


HEAD = "study,var1,var2,r,n\n"
GOOD = "s1,a,outcome,.3,100\ns1,b,outcome,.2,100\ns1,a,b,.4,100\ns2,a,outcome,.25,80\n"
BAD = {
    "r_out_of_range": (
        GOOD + "s2,b,outcome,1.2,80\n",
        r"row 6, column 'r': got 1.2; expected a correlation in \(-1, 1\)",
    ),
    "r_one": (GOOD + "s2,b,outcome,1,80\n", r"row 6, column 'r': got 1; expected a correlation in \(-1, 1\)"),
    "n_small": (GOOD + "s2,b,outcome,.1,3\n", r"row 6, column 'n': got 3; expected a sample size >= 4"),
    "n_missing": (GOOD + "s2,b,outcome,.1,\n", r"row 6, column 'n': got a missing value"),
    "pair_twice": (
        GOOD + "s1,outcome,a,.35,100\n",
        r"row 6, column 'var2': study 's1' lists the pair \('outcome', 'a'\) twice \(also row 2\)",
    ),
    "never_with_outcome": (
        GOOD + "s2,a,c,.3,80\n",
        r"row 6, column 'var2': 'c' is never correlated with 'outcome'",
    ),
    "no_outcome": ("s1,a,b,.3,100\n", r"no correlation involves 'outcome'"),
    "pair_never_reported": (
        "s1,a,outcome,.3,100\ns2,b,outcome,.2,80\n",
        r"no study reports the correlation of 'a' with 'b'",
    ),
    "self_pair": (GOOD + "s2,a,a,.3,80\n", r"row 6, column 'var2': 'a' is correlated with itself"),
    "text_r": (GOOD + "s2,b,outcome,high,80\n", r"row 6, column 'r': got 'high'"),
    "missing_study": (GOOD + ",b,outcome,.2,80\n", r"row 6, column 'study': missing"),
    "impossible_study": (
        "s1,a,outcome,.9,100\ns1,b,outcome,-.9,100\ns1,a,b,.9,100\n",
        r"row 2: the correlations of study 's1' cannot occur together",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_row_and_column(tmp_path, case):
    text, message = BAD[case]
    data, path = _frame(tmp_path, HEAD + text)
    with pytest.raises(InputError, match=message) as info:
        _pool(data)
    assert str(info.value).startswith(path) and "\n" not in str(info.value)


def test_missing_column_and_bad_options():
    with pytest.raises(InputError, match=r"no column 'r'.*the correlation column"):
        pool_correlation_matrices(DATA.rename(columns={"r": "ri"}))
    with pytest.raises(InputError, match="expected 'FE'"):
        pool_correlation_matrices(DATA, method="DL")
    with pytest.raises(InputError, match="expected 'study' or 'mean'"):
        pool_correlation_matrices(DATA, v_from="pooled")
    with pytest.raises(InputError, match="expected a pandas DataFrame"):
        pool_correlation_matrices([[1, 2]])


def test_rows_with_a_missing_correlation_are_dropped_with_a_warning(tmp_path):
    data, _ = _frame(tmp_path, HEAD + GOOD + "s2,b,outcome,NA,80\n")
    with pytest.warns(DroppedRowsWarning, match="1 study with a missing correlation omitted \\(row 6\\)"):
        res = pool_correlation_matrices(data)
    assert res.k == 2
    assert {(p.var1, p.var2): p.k for p in res.pairs} == {
        ("a", "b"): 1,
        ("a", "outcome"): 2,
        ("b", "outcome"): 1,
    }


def test_result_contract():
    res = _pool(method="REML")
    assert dataclasses.is_dataclass(res)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "FE"
    s = res.summary()
    assert isinstance(s, Summary) and repr(res) == str(s)
    assert "alliance - outcome" in str(s) and "Q(12) = 24.2351" in str(s) and "random effects" in str(s)
    d = res.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert set(d) == {
        "method",
        "k",
        "n",
        "names",
        "outcome",
        "correlations",
        "matrix",
        "vcov",
        "q",
        "q_df",
        "q_pval",
        "level",
        "v_from",
        "warnings",
    }
    assert set(d["correlations"][0]) == {"var1", "var2", "k", "n", "r", "se", "ci_low", "ci_high", "tau2"}
    assert np.allclose(d["vcov"], res.vcov) and np.allclose(d["matrix"], res.matrix)
    fe = _pool().to_dict()
    assert fe["correlations"][0]["tau2"] is None  # NaN -> None
    frame = res.to_frame()
    assert list(frame.columns) == ["var1", "var2", "k", "n", "r", "se", "ci_low", "ci_high", "tau2"]
    assert len(frame) == 3
    cf_frame = res.correlation_frame()
    assert list(cf_frame.index) == list(cf_frame.columns) == ["alliance", "empathy", "outcome"]


def test_dominance_pie_draws_from_the_pooled_covariance():
    pooled = _pool(method="REML")
    pie = dominance_pie(pooled, draws=4000, seed=2)
    gd = general_dominance(pooled.matrix)
    assert [c.share for c in pie.components] == pytest.approx(list(gd), rel=IDENTITY_RTOL)
    assert pie.r2.share == pytest.approx(sum(gd), rel=IDENTITY_RTOL)
    assert [c.estimate for c in pie.components] == pytest.approx([pooled.pairs[1].r, pooled.pairs[2].r])
    assert [c.se for c in pie.components] == pytest.approx([pooled.pairs[1].se, pooled.pairs[2].se])
    assert pie.pooled is pooled and pie.n is None
    for c in pie.components:
        assert c.ci_low < c.share < c.ci_high
        assert c.sources == ("pooled by GLS (REML) from 6 studies",)
    d = pie.to_dict()
    assert d["pooled_correlations"] == pooled.to_dict()
    assert "pooled by GLS (REML) from k = 6 studies" in str(pie.summary())
    assert dominance_pie(pooled, draws=4000, seed=2).to_dict() == d  # same seed, same numbers
    # the draws' R2 spread is that of the pooled correlations: a wider covariance gives a wider interval
    fe = dominance_pie(_pool(), draws=4000, seed=2)
    assert fe.r2.ci_high - fe.r2.ci_low < pie.r2.ci_high - pie.r2.ci_low
    with pytest.raises(InputError, match="n and se_z do not apply to a pooled correlation matrix"):
        dominance_pie(pooled, n=100, draws=500)


def test_dominance_pie_from_a_pooled_matrix_counts_rejected_draws():
    # two factors correlating .95 in two studies of 10: many drawn matrices are not positive definite
    rows = [
        (s, a, b, r, 10)
        for s in ("s1", "s2")
        for a, b, r in (("a", "b", 0.95), ("a", "outcome", 0.50), ("b", "outcome", 0.45))
    ]
    pooled = _pool(pd.DataFrame(rows, columns=["study", "var1", "var2", "r", "n"]))
    with pytest.warns(PieWarning, match="not positive definite and were redrawn"):
        pie = dominance_pie(pooled, draws=1000, seed=1)
    assert pie.rejected_draws > 0 and len(pie.components) == 2
