"""Small-study effects: trim and fill R0 against metafor 3.8-1 run here, oracles (exact Kendall
distribution by enumeration, the classical Egger regression, the tie-corrected normal approximation), a
simulation with known truth and publication bias, degenerate inputs, and the result contract.
"""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import commonfactors as cf
from commonfactors._format import Summary
from commonfactors.errors import BoundaryWarning, InputError, SmallKWarning
from conformance_cases import input_path, load_cases
from reference import load
from tolerances import IDENTITY_RTOL, assert_agrees, rtol_for

RTOL = rtol_for("bias", "")
BIAS_KEYS = {"egger", "egger_classical", "begg", "trim_and_fill", "fail_safe_n", "pet", "peese",
             "selection_3psm"}


def conformance_data(name):
    case = next(c for c in load_cases("bias") if c["id"] == f"bias_{name}")
    return cf.read_table(input_path(case))


# metafor 3.8-1, tests/reference/bias.R: trimfill(rma(...), estimator="R0") on model_<name>.csv
# (metafor's trimfill refits with its default threshold 1e-5: agreement to ~5e-6, within 1e-5)
TRIMFILL_R0 = {name: tuple(r[f] for f in ("k0", "side", "estimate", "se", "tau2"))
               for name, r in load("bias")["trimfill_r0"].items()}


@pytest.mark.parametrize("name", sorted(TRIMFILL_R0))
def test_trim_and_fill_r0_matches_metafor(name):
    k0, side, estimate, se, tau2 = TRIMFILL_R0[name]
    res = cf.trim_and_fill(conformance_data(name), estimator="R0")
    assert (res.k0, res.side, res.estimator) == (k0, side, "R0")
    for field, value in (("estimate", estimate), ("se", se), ("tau2", tau2)):
        assert_agrees(getattr(res, field), value, rtol=RTOL, what=field)
    assert res.filled.sum() == k0 and res.yi.shape[0] == res.fit.k


def test_trim_and_fill_fills_mirror_images_and_respects_a_given_side():
    res = cf.trim_and_fill(conformance_data("hackshaw1998"))
    observed, filled = res.yi[~res.filled], res.yi[res.filled]
    # the filled studies mirror the k0 largest effects around the trimmed estimate
    largest = np.sort(observed)[-res.k0:]
    center = (filled + largest) / 2
    assert np.ptp(center) < 1e-12
    right = cf.trim_and_fill(conformance_data("hackshaw1998"), side="right")
    assert right.side == "right"


def test_egger_classical_is_the_regression_of_the_standard_normal_deviate_on_precision():
    # Egger et al. (1997): OLS of y_i / se_i on 1 / se_i; the intercept's t test is the asymmetry test
    d = conformance_data("linde2005_RR")
    y, se = d.yi.to_numpy(), np.sqrt(d.vi.to_numpy())
    Z = np.column_stack([np.ones_like(y), 1 / se])
    coef, *_ = np.linalg.lstsq(Z, y / se, rcond=None)
    resid = y / se - Z @ coef
    s2 = resid @ resid / (len(y) - 2)
    t0 = coef[0] / math.sqrt(s2 * np.linalg.inv(Z.T @ Z)[0, 0])
    res = cf.egger_test(d, model="lm")
    assert res.df == len(y) - 2
    assert_agrees(res.stat, t0, rtol=1e-10, what="t")
    assert_agrees(res.limit_estimate, coef[1], rtol=1e-10, what="slope of Egger = limit estimate")


def test_pet_is_the_egger_limit_estimate():
    d = conformance_data("linde2005_RR")
    assert cf.pet_peese(d).pet.estimate == pytest.approx(cf.egger_test(d).limit_estimate, rel=IDENTITY_RTOL)


def _brute_kendall_pval(x, y):
    """Two-sided exact p-value by enumerating all permutations of y."""
    def s(yy):
        return sum(np.sign(x[i] - x[j]) * np.sign(yy[i] - yy[j]) for i in range(len(x)) for j in range(i))
    s0 = s(y)
    null = [s(np.asarray(p)) for p in itertools.permutations(y)]
    lower = np.mean([v <= s0 for v in null])
    upper = np.mean([v >= s0 for v in null])
    return min(1.0, 2 * min(lower, upper))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_kendall_pvalue_equals_enumeration(seed):
    from commonfactors.models.bias import _kendall_exact_pval, _kendall_s

    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=7), rng.normal(size=7)
    expected = _brute_kendall_pval(x, y)
    assert _kendall_exact_pval(_kendall_s(x, y), 7) == pytest.approx(expected, rel=IDENTITY_RTOL)


def test_rank_test_with_ties_uses_the_tie_corrected_normal_approximation():
    from scipy import stats

    yi = [0.1, 0.3, 0.3, 0.5, 0.2, 0.8, 0.4, 0.6]
    vi = [0.01, 0.02, 0.02, 0.03, 0.05, 0.05, 0.04, 0.06]
    res = cf.rank_test(yi=yi, vi=vi)
    w = 1 / np.asarray(vi)
    b = w @ yi / w.sum()
    ystar = (np.asarray(yi) - b) / np.sqrt(np.asarray(vi) - 1 / w.sum())
    ref = stats.kendalltau(ystar, vi, method="asymptotic")  # tau-b, variance of S with ties (Kendall 1970)
    assert not res.exact
    assert res.tau == pytest.approx(ref.statistic, rel=IDENTITY_RTOL)
    assert res.pval == pytest.approx(ref.pvalue, rel=1e-10)


def _simulate(seed, mu=0.2, tau2=0.02, k=120, keep_nonsignificant=0.15):
    """Studies with n in [20, 200) (v = 4/n, a standardised mean difference), published when significant
    (one-sided p < .025) and otherwise with probability ``keep_nonsignificant``."""
    rng = np.random.default_rng(seed)
    ys, vs = [], []
    while len(ys) < k:
        v = 4.0 / rng.integers(20, 200)
        y = rng.normal(mu + rng.normal(0.0, math.sqrt(tau2)), math.sqrt(v))
        if y / math.sqrt(v) > 1.959963984540054 or rng.random() < keep_nonsignificant:
            ys.append(y)
            vs.append(v)
    return np.array(ys), np.array(vs)


@pytest.mark.parametrize("seed", range(4))
def test_selection_model_and_pet_peese_recover_the_truth_under_publication_bias(seed):
    mu = 0.2
    y, v = _simulate(seed, mu=mu)
    naive = cf.meta_analysis(yi=y, vi=v)
    sel = cf.selection_model(yi=y, vi=v)
    pp = cf.pet_peese(yi=y, vi=v)
    assert naive.estimate - mu > 3 * naive.se                 # the naive estimate is clearly biased
    assert abs(sel.estimate - mu) < 2 * sel.se                 # the 3PSM recovers the truth ...
    assert abs(sel.estimate - mu) < abs(naive.estimate - mu)   # ... better than the naive estimate
    assert sel.delta[1] < 0.5 and sel.lrt_pval < 0.05          # and detects the selection
    assert abs(pp.pet.estimate - mu) < 2 * pp.pet.se
    assert abs(pp.pet.estimate - mu) < abs(naive.estimate - mu)
    assert abs(pp.peese.estimate - mu) < abs(naive.estimate - mu)


def test_bias_tests_to_dict_is_the_cli_contract():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        res = cf.bias_tests(conformance_data("hackshaw1998"))
    d = res.to_dict()
    assert set(d) == BIAS_KEYS | {"k", "method", "direction", "warnings"}
    assert set(d["egger"]) == {"stat", "pval", "limit_estimate"}
    assert set(d["egger_classical"]) == {"stat", "pval", "df"}
    assert set(d["begg"]) == {"tau", "pval"}
    assert set(d["trim_and_fill"]) == {"k0", "estimate", "se", "tau2", "side"}
    assert set(d["fail_safe_n"]) == {"fsnum"}
    assert set(d["pet"]) == set(d["peese"]) == {"estimate", "se"}
    assert set(d["selection_3psm"]) == {"estimate", "se", "tau2", "delta", "lrt", "lrt_pval"}
    assert d["k"] == 37 and d["method"] == "REML" and d["warnings"] == []
    frame = res.to_frame()
    assert frame.method.tolist()[0] == "egger" and frame.shape == (8, 5)


@pytest.mark.parametrize("fn", ["bias_tests", "egger_test", "rank_test", "trim_and_fill", "fail_safe_n",
                                "pet_peese", "selection_model", "funnel_data"])
def test_every_result_keeps_the_contract(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        res = getattr(cf, fn)(conformance_data("molloy2014_ZCOR"))
    assert isinstance(res.summary(), Summary)
    assert repr(res) == str(res.summary())
    assert isinstance(res.to_frame(), pd.DataFrame)
    import json

    json.dumps(res.to_dict(), allow_nan=False)


def test_selection_model_warns_when_delta_is_at_its_bound():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.selection_model(conformance_data("bcg_RR"))
    assert {type(c.message) for c in caught} == {BoundaryWarning}
    assert "no study has a one-sided p-value in (0, 0.025]" in res.warnings[0]
    assert res.delta == (1.0, 100.0) and res.k_per_interval == (0, 13)
    assert "is at the bound of its range [0, 100]" in res.warnings[1]
    assert res.to_frame().k.tolist() == [0, 13]


def test_selection_model_less_is_greater_on_negated_effects():
    d = conformance_data("molloy2014_ZCOR")
    greater = cf.selection_model(d)
    less = cf.selection_model(yi=-d.yi, vi=d.vi, alternative="less")
    assert less.estimate == pytest.approx(-greater.estimate, rel=1e-6)
    assert less.lrt == pytest.approx(greater.lrt, rel=1e-6)


def test_fail_safe_n_is_zero_when_not_significant():
    res = cf.fail_safe_n(yi=[0.1, -0.05, 0.02], vi=[0.04, 0.05, 0.03])
    assert res.fsnum == 0 and res.pval > 0.05


def test_funnel_contours():
    d = conformance_data("molloy2014_ZCOR")
    res = cf.funnel_data(d)
    c05 = res.contour(0.05)
    assert c05["upper"][1] == pytest.approx(1.959963984540054 * res.se_max, rel=1e-12)
    assert res.se_max == pytest.approx(float(np.sqrt(d.vi).max()), rel=1e-15)
    assert res.estimate == pytest.approx(cf.meta_analysis(d).estimate, rel=1e-15)
    region = res.to_frame().p_region.to_numpy()
    z = np.abs(d.yi.to_numpy()) / np.sqrt(d.vi.to_numpy())
    assert ((region == 0.01) == (z >= 2.5758293035489)).all()
    assert [c["p"] for c in res.to_dict()["contours"]] == [0.10, 0.05, 0.01]


def test_fewer_than_three_studies_give_nan_egger_with_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = cf.bias_tests(yi=[0.3, 0.5], vi=[0.04, 0.05])
    messages = [str(c.message) for c in caught]
    assert any("Egger's regression test needs at least 3 studies" in m for m in messages)
    assert math.isnan(res.egger.stat) and math.isnan(res.egger_classical.stat)
    assert res.selection_3psm is None and res.to_dict()["selection_3psm"] is None
    assert set(messages) <= set(res.warnings)
    assert np.isfinite(res.trim_and_fill.estimate) and res.fail_safe_n.fsnum >= 0


def _nan_fields(d, prefix=""):
    for key, value in d.items():
        if isinstance(value, dict):
            yield from _nan_fields(value, f"{prefix}{key}.")
        elif value is None:
            yield prefix + key


SECTION_WARNING = {"egger": "Egger", "egger_classical": "Egger", "begg": "rank correlation",
                   "selection_3psm": "selection model", "pet": "PET", "peese": "PEESE"}


@pytest.mark.parametrize("yi, vi", [([0.2] * 6, [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]),
                                    ([0.1, 0.4, 0.3, 0.2, 0.5], [0.02] * 5),
                                    ([0.3, 0.5], [0.04, 0.05])])
def test_degenerate_data_never_give_nan_without_a_warning(yi, vi):
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        res = cf.bias_tests(yi=yi, vi=vi)
    for name in _nan_fields(res.to_dict()):
        section = name.split(".")[0]
        assert any(SECTION_WARNING[section] in w for w in res.warnings), (name, res.warnings)
    assert res.trim_and_fill.k0 >= 0 and np.isfinite(res.trim_and_fill.estimate)


def test_equal_variances_give_nan_egger_with_a_warning():
    with pytest.warns(SmallKWarning, match="same standard error"):
        res = cf.egger_test(yi=[0.1, 0.4, 0.3, 0.2], vi=[0.02] * 4)
    assert math.isnan(res.stat) and res.warnings


def test_bad_options_and_columns():
    d = conformance_data("molloy2014_ZCOR")
    with pytest.raises(ValueError, match="estimator='Q0' is not one of 'L0', 'R0'"):
        cf.trim_and_fill(d, estimator="Q0")
    with pytest.raises(ValueError, match="model='glm'"):
        cf.egger_test(d, model="glm")
    with pytest.raises(ValueError, match="steps"):
        cf.selection_model(d, steps=(1.5,))
    with pytest.raises(InputError, match="no column 'v'"):
        cf.bias_tests(d, vi="v")
    with pytest.raises(InputError, match="expected a sampling variance > 0"):
        cf.bias_tests(yi=[0.1, 0.2, 0.3], vi=[0.01, -0.02, 0.03])


def test_summary_lists_every_method_and_the_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        res = cf.bias_tests(conformance_data("bcg_RR"))
    text = str(res.summary())
    for label in ("Egger", "Begg", "Trim and fill (L0)", "Fail-safe N", "PET", "PEESE", "3PSM", "Warnings:"):
        assert label in text
