"""network_meta_analysis() against metafor 3.8-1 (tests/reference/network.R writes metafor's fits to
tests/reference/network.json and the synthetic network to tests/data/network_md.csv).

Tolerances: RTOL = 1e-6 relative (ATOL = 1e-7 absolute, for values at or near 0) for estimates, standard
errors, tau2, intervals, log-likelihoods, Q statistics and P-scores. Both fits run to full convergence
(metafor's nlminb with rel.tol 1e-10, ours Fisher scoring to 1e-12) and agree to ~1e-8; the issue asks 1e-5.
SUCRA is a Monte Carlo estimate of the P-score (Rücker & Schwarzer 2015): within 0.01 with 20,000 draws
(its standard error is below 0.004).
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from commonfactors.errors import BoundaryWarning, InputError
from commonfactors.models.network import network_meta_analysis
from reference import HERE, load

REF = load("network")
MD = pd.read_csv(HERE.parent / "data" / "network_md.csv")
RTOL, ATOL = 1e-6, 1e-7
HB_ACTIVE = ["ind_counseling", "grp_counseling", "self_help"]
MD_ACTIVE = ["B", "C", "D"]


#: metadat's dat.hasselblad1998 (smoking cessation: 24 trials, events xi of ni per arm), written by network.R
HB = pd.read_csv(HERE.parent / "data" / "network_hasselblad1998.csv")


def fit_hb(method="REML", **kw):
    kw.setdefault("reference", "no_contact")
    kw.setdefault("small_values", "bad")
    return network_meta_analysis(HB, study="study", treatment="trt", events="xi", n="ni", measure="OR",
                                 add=0.5, to="all", method=method, **kw)


def fit_md(method="REML", measure="MD", **kw):
    return network_meta_analysis(MD, study="study", treatment="trt", mean="mean", sd="sd", n="n",
                                 measure=measure, reference="A", method=method, **kw)


def close(got, expected, what):
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(expected, float), rtol=RTOL, atol=ATOL,
                               err_msg=what)


def check_against(res, ref, *, dodo=True, loglik=True):
    names = ref["treatments"]
    assert list(res.treatments) == sorted(names)
    by = {e["treatment"]: e for e in res.effects}
    order = names[1:]
    for field in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
        close([by[t][field] for t in order], ref[field], field)
    close(res.tau2, ref["tau2"], "tau2")
    if loglik:
        close(res.loglik, ref["loglik"], "loglik")
    close(res.qe, ref["qe"], "QE")
    pos = [list(res.treatments).index(t) for t in names]
    vc = np.array(res.vcov)[np.ix_(pos, pos)][1:, 1:]
    close(vc, np.array(ref["vcov"]).reshape(vc.shape), "vcov")
    ps = {r["treatment"]: r["pscore"] for r in res.pscore}
    close([ps[t] for t in names], ref["pscore"], "P-scores")
    inc, rinc = res.inconsistency, ref["inconsistency"]
    assert inc["df"] == rinc["df"] and inc["n_designs"] == rinc["n_designs"]
    for field in ("q", "pval", "tau2", "q_within", "q_between"):
        close(inc[field], rinc[field], f"inconsistency {field}")
    if dodo:
        d, rd = res.dodo, ref["dodo"]
        assert d["active"] == rd["active"] and d["df"] == rd["df"]
        for field in ("q", "pval", "tau2_technique", "tau2_technique_ci"):
            close(d[field], rd[field], f"dodo {field}")
        close(d["q"], rd["q_formula"], "dodo q, the formula in R")


@pytest.mark.parametrize("method", ["REML", "ML", "FE"])
def test_hasselblad_matches_metafor(method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        res = fit_hb(method, active=HB_ACTIVE)
    check_against(res, REF["hasselblad"][method])
    assert res.k == 24 and res.n_contrasts == 26 and res.reference == "no_contact"


def test_another_reference_gives_the_league_table():
    res = fit_hb("REML")
    other = fit_hb("REML", reference="self_help")
    check_against(other, REF["hasselblad_self_help"], dodo=False)
    league = {(r["treat1"], r["treat2"]): r for r in res.league}
    ref = REF["hasselblad_self_help"]
    for t, est, se in zip(ref["treatments"][1:], ref["estimate"], ref["se"], strict=True):
        key = (t, "self_help") if (t, "self_help") in league else ("self_help", t)
        sign = 1 if key[0] == t else -1
        close(sign * league[key]["estimate"], est, f"league {key}")
        close(league[key]["se"], se, f"league se {key}")


@pytest.mark.parametrize("method", ["REML", "ML", "FE"])
def test_synthetic_mean_differences_with_three_arm_trials(method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BoundaryWarning)
        res = fit_md(method, active=MD_ACTIVE)
    check_against(res, REF["synthetic_md"][method])
    assert res.k == 28 and res.n_contrasts == 36


def test_synthetic_smd_gleser_olkin_covariance():
    res = fit_md("REML", measure="SMD", active=MD_ACTIVE)
    check_against(res, REF["synthetic_smd"])
    d = res.dodo  # the technique's share of the outcome variance (SD units): tau2 / (1 + tau2)
    close(d["share"], d["tau2_technique"] / (1 + d["tau2_technique"]), "share")
    close(d["share_ci"], [t / (1 + t) for t in d["tau2_technique_ci"]], "share interval")
    assert fit_md("REML", active=MD_ACTIVE).dodo["share"] is None  # raw mean differences: no share


def test_arm_order_does_not_matter():
    """The model does not depend on which arm of a trial is the base of its contrasts."""
    a = fit_md("REML")
    shuffled = MD.sample(frac=1.0, random_state=3).reset_index(drop=True)
    b = network_meta_analysis(shuffled, study="study", treatment="trt", mean="mean", sd="sd", n="n",
                              measure="MD", reference="A")
    close([e["estimate"] for e in b.effects], [e["estimate"] for e in a.effects], "estimates")
    close(b.tau2, a.tau2, "tau2")


def contrast_rows(data):
    """Every pair of arms of each trial as a contrast-level row (log odds ratio, add 1/2 to all cells)."""
    rows = []
    for s, g in data.groupby("study", sort=False):
        arms = list(g.itertuples())
        for i in range(len(arms)):
            for j in range(i + 1, len(arms)):
                a, b = arms[j], arms[i]
                ai, bi, ci, di = a.xi + .5, a.ni - a.xi + .5, b.xi + .5, b.ni - b.xi + .5
                rows.append({"study": s, "t1": a.trt, "t2": b.trt, "yi": math.log(ai * di / (bi * ci)),
                             "vi": 1 / ai + 1 / bi + 1 / ci + 1 / di})
    return pd.DataFrame(rows)


def test_contrast_level_input_matches_metafor():
    """The model, not its REML log-likelihood: metafor's includes log det(X'X) / 2, which depends on the
    base arm of each trial (here a trial without the reference takes another base arm)."""
    res = network_meta_analysis(contrast_rows(HB), study="study", yi="yi", vi="vi", treat1="t1", treat2="t2",
                                reference="no_contact", small_values="bad", active=HB_ACTIVE)
    check_against(res, REF["hasselblad"]["REML"], loglik=False)


def test_contrast_level_inconsistent_multi_arm_trial_is_refused():
    rows = contrast_rows(HB)
    i = rows.index[rows["study"] == 2][0]
    rows.loc[i, "yi"] += 0.5
    with pytest.raises(InputError, match="study '2'.*consistent"):
        network_meta_analysis(rows, study="study", yi="yi", vi="vi", treat1="t1", treat2="t2")


def test_sucra_within_monte_carlo_error_of_pscores():
    res = fit_hb("REML", n_sim=20_000, seed=7)
    ps = {r["treatment"]: r["pscore"] for r in res.pscore}
    for r in res.sucra:
        assert abs(r["sucra"] - ps[r["treatment"]]) < 0.01
    again = fit_hb("REML", n_sim=20_000, seed=7)
    assert again.sucra == res.sucra


def test_small_values_reverse_the_ranking():
    good = network_meta_analysis(HB, study="study", treatment="trt", events="xi", n="ni", measure="OR",
                                 add=0.5, to="all", reference="no_contact", small_values="good")
    bad = fit_hb("REML")
    g = {r["treatment"]: r["pscore"] for r in good.pscore}
    for r in bad.pscore:
        close(r["pscore"], 1 - g[r["treatment"]], "P-score reversed")


def test_wampold_comparisons_are_the_head_to_head_pairs():
    """k = every within-trial pair of active arms; the weighted mean of |d| does not depend on the signs."""
    res = fit_hb("REML", active=HB_ACTIVE)
    ds, ws = [], []
    for _, g in HB.groupby("study"):
        arms = [a for a in g.itertuples() if a.trt in HB_ACTIVE]
        for i in range(len(arms)):
            for j in range(i + 1, len(arms)):
                a, b = arms[i], arms[j]
                cells = (a.xi + .5, a.ni - a.xi + .5, b.xi + .5, b.ni - b.xi + .5)
                ds.append(abs(math.log(cells[0] * cells[3] / (cells[1] * cells[2]))))
                ws.append(1 / sum(1 / c for c in cells))
    w = res.dodo["wampold"]
    assert w["k"] == len(ds) == 8 and w["df"] == 7
    close(w["mean_abs"], np.dot(ws, ds) / sum(ws), "mean |d|")
    assert 0 <= w["pval"] <= 1
    assert fit_hb("REML", active=HB_ACTIVE).dodo["wampold"] == w  # seeded


def test_to_dict_keys_and_json():
    import json

    d = fit_hb("REML", active=HB_ACTIVE).to_dict()
    for key in ("reference", "method", "tau2", "k", "treatments", "effects", "league", "pscore",
                "inconsistency", "dodo", "warnings"):
        assert key in d
    assert set(d["effects"][0]) >= {"treatment", "estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"}
    assert len(d["league"]) == 6
    assert set(d["inconsistency"]) >= {"q", "df", "pval"}
    assert set(d["dodo"]) >= {"q", "df", "pval", "tau2_technique"}
    json.dumps(d, allow_nan=False)


# -- bad networks: one line, naming what is wrong ---------------------------------------------------------


def test_disconnected_network_names_its_parts():
    bad = pd.concat([HB, pd.DataFrame({"study": [99, 99], "trt": ["X", "Y"], "xi": [3, 4], "ni": [30, 30]})])
    with pytest.raises(InputError, match=r"disconnected: 2 parts .*\{X, Y\}") as e:
        network_meta_analysis(bad, study="study", treatment="trt", events="xi", n="ni", measure="OR")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("rows, message", [
    ([(99, "self_help", 3, 30)], "study '99' has a single arm"),
    ([(99, "self_help", 3, 30), (99, "self_help", 4, 30)], "two arms of treatment 'self_help'"),
    ([(99, "self_help", 31, 30), (99, "no_contact", 4, 30)], "31 events among 30"),
])
def test_bad_trials(rows, message):
    bad = pd.concat([HB, pd.DataFrame(rows, columns=["study", "trt", "xi", "ni"])], ignore_index=True)
    with pytest.raises(InputError, match=message):
        network_meta_analysis(bad, study="study", treatment="trt", events="xi", n="ni", measure="OR")


@pytest.mark.parametrize("kw, message", [
    ({"reference": "no_contacts"}, "reference 'no_contacts' is not a treatment.*did you mean 'no_contact'"),
    ({"active": ["self_help", "psychodynamic"]}, "active treatment 'psychodynamic' is not a treatment"),
    ({"active": ["self_help"]}, "two active treatments or more"),
    ({"method": "DL"}, "method='DL'"),
    ({"small_values": "up"}, "small_values='up'"),
])
def test_bad_options(kw, message):
    with pytest.raises(InputError, match=message):
        fit_hb(**kw)


def test_missing_measure_and_column():
    with pytest.raises(InputError, match="no measure"):
        network_meta_analysis(HB, study="study", treatment="trt", events="xi", n="ni")
    with pytest.raises(InputError, match="no column 'x'"):
        network_meta_analysis(HB, study="study", treatment="trt", events="x", n="ni", measure="OR")


# -- node splitting (Dias et al. 2010) against rma.mv with the extra coefficient ----------------------------
#: metafor's nlminb (rel.tol 1e-10) stops about 1e-6 relative from the REML optimum in these fits (at its tau2
#: the REML score is -1.4e-5, at ours -5e-13, and our log-likelihood is the higher): the issue's 1e-5
RTOL_SPLIT = 1e-5


@pytest.mark.parametrize("name, fit", [("hasselblad_node_split", lambda: fit_hb("REML", node_split=True)),
                                       ("synthetic_md_node_split", lambda: fit_md("REML", node_split=True))])
def test_node_split_matches_metafor(name, fit):
    res = fit()
    ref = REF[name]
    assert [(r["treat1"], r["treat2"]) for r in res.node_split] == [(r["treat1"], r["treat2"]) for r in ref]
    for got, exp in zip(res.node_split, ref, strict=True):
        assert got["k_direct"] == exp["k_direct"]
        for field in ("direct", "direct_se", "indirect", "indirect_se", "difference", "difference_se", "pval",
                      "tau2"):
            np.testing.assert_allclose(got[field], exp[field], rtol=RTOL_SPLIT, atol=1e-7,
                                       err_msg=f"{got['treat1']} vs {got['treat2']}: {field}")


def test_node_split_left_out_without_indirect_evidence():
    """A star network has no loop: no comparison can be split."""
    star = MD[MD["study"].isin(["S01", "S02", "S03"])]
    res = network_meta_analysis(star, study="study", treatment="trt", mean="mean", sd="sd", n="n",
                                measure="MD", reference="A", method="FE", node_split=True)
    assert res.node_split == ()
    assert res.inconsistency["q"] is None and res.inconsistency["df"] == 0


def test_no_information_on_tau2_fits_a_common_effect_model():
    one = pd.DataFrame({"study": [1, 1], "trt": ["A", "B"], "m": [1.0, 2.5], "s": [1.0, 2.0], "n": [20, 25]})
    with pytest.warns(BoundaryWarning, match="1 contrast for 1 treatment effect leave no information"):
        res = network_meta_analysis(one, study="study", treatment="trt", mean="m", sd="s", n="n",
                                    measure="MD")
    assert res.method == "FE" and res.tau2 == 0.0
    close(res.effects[0]["estimate"], 1.5, "B vs A")
    close(res.effects[0]["se"], math.sqrt(1 / 20 + 4 / 25), "se")


@pytest.mark.parametrize("frame, kw, message", [
    ({"e": [0, 0, 3, 5], "n": [20, 20, 30, 30]}, {"events": "e", "measure": "OR", "add": 0, "to": "none"},
     "study '1': the OR of its arms is undefined"),
    ({"m": [1.0, 2.0, 1.0, 1.2], "s": [1.0, 1.0, 1.0, 1.0], "n": [1, 1, 30, 30]},
     {"mean": "m", "sd": "s", "measure": "SMD"}, "column 'n': got 1; expected more than 1 participant"),
])
def test_undefined_arms(frame, kw, message):
    data = pd.DataFrame({"study": [1, 1, 2, 2], "trt": ["A", "B", "A", "B"], **frame})
    with pytest.raises(InputError, match=message):
        network_meta_analysis(data, study="study", treatment="trt", n="n", **kw)


def test_contrast_level_multi_arm_trial_needs_every_pair():
    rows = contrast_rows(HB)
    pair = (rows["t1"] == "grp_counseling") & (rows["t2"] == "ind_counseling")
    drop = rows.index[(rows["study"] == 2) & pair]
    with pytest.raises(InputError, match="study '2' compares 3 treatments in 2 rows.*every pair of its 3"):
        network_meta_analysis(rows.drop(drop), study="study", yi="yi", vi="vi", treat1="t1", treat2="t2")


def test_shipped_hasselblad_analysis_is_this_fit():
    """``analyses/hasselblad1998_network.py`` fits the shipped dataset with the model checked above."""
    import importlib.util

    from commonfactors.reproduce import ANALYSES_DIR

    spec = importlib.util.spec_from_file_location("hb_network", ANALYSES_DIR / "hasselblad1998_network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shipped = module.fit()
    check_against(shipped, REF["hasselblad"]["REML"])
    rows = {r["id"].split(":")[1]: r for r in module.reproduce()}
    by = {e["treatment"]: e for e in shipped.effects}
    grp = math.exp(by["grp_counseling"]["estimate"])
    assert rows["or_grp_counseling"]["reproduced"] == pytest.approx(grp, rel=1e-12)
    assert rows["dodo_q"]["reproduced"] == pytest.approx(REF["hasselblad"]["REML"]["dodo"]["q"], rel=RTOL)
    assert all(r["verdict"] == "not checked" for r in rows.values())
