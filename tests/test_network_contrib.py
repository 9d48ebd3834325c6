"""The contribution of each design to each network estimate (Papakonstantinou et al. 2018, F1000Research
7:610: the streams of the hat matrix's flow).

netmeta (whose ``netcontrib`` implements the method) is not installed beside metafor here, so the tests check
what must hold: each comparison's percents add up to 100; a comparison with direct evidence only gets 100%
from its design; names do not matter (relabelled treatments, same shares); and a triangle and a star computed
by hand from the hat matrix (tolerance 1e-9).
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from commonfactors.models.network import network_meta_analysis
from reference import HERE

HB = pd.read_csv(HERE.parent / "data" / "network_hasselblad1998.csv")


def fit_hb(data=HB, reference="no_contact", **kw):
    return network_meta_analysis(data, study="study", treatment="trt", events="xi", n="ni", measure="OR",
                                 add=0.5, to="all", reference=reference, contributions=True, **kw)


def pct(res):
    return {(r["treat1"], r["treat2"], r["design"]): r["percent"] for r in res.design_contributions}


def test_each_comparison_adds_up_to_100():
    df = fit_hb().contributions()
    assert list(df.columns) == ["treat1", "treat2", "comparison", "design", "percent"]
    sums = df.groupby("comparison")["percent"].sum()
    assert len(sums) == 6
    np.testing.assert_allclose(sums.to_numpy(), 100.0, rtol=1e-12)
    assert (df["percent"] > 0).all()


def test_metapsy_network_adds_up_to_100():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = network_meta_analysis(pd.read_csv(HERE.parent / "data" / "network_metapsy_arms.csv"),
                                    study="study", treatment="trt", mean="mean", sd="sd", n="n",
                                    measure="SMD", reference="cau", contributions=True)
    sums = res.contributions().groupby("comparison")["percent"].sum()
    assert len(sums) == 66
    np.testing.assert_allclose(sums.to_numpy(), 100.0, rtol=1e-10)


def triangle(method="FE"):
    v = {"B:A": 0.1, "C:A": 0.2, "C:B": 0.3}
    d = pd.DataFrame({"study": [1, 2, 3, 4], "t1": ["B", "C", "C", "B"], "t2": ["A", "A", "B", "A"],
                      "yi": [0.1, 0.5, 0.2, 0.9], "vi": [v["B:A"], v["C:A"], v["C:B"], 0.15]})
    return network_meta_analysis(d, study="study", yi="yi", vi="vi", treat1="t1", treat2="t2", reference="A",
                                 method=method, contributions=True)


@pytest.mark.parametrize("method", ["FE", "REML"])
def test_triangle_by_hand(method):
    """Trials A-B (two, v = 0.1 and 0.15), A-C (0.2), B-C (0.3): the estimate of A vs B takes the direct
    A-B evidence with weight p = w_AB / (w_AB + w_ind), w_AB the sum of 1/(v + tau2) of its trials and
    w_ind = 1 / (v_AC + v_BC + 2 tau2): one stream p along A-B, one of 1 - p along A-C-B, which gives each
    of its two edges (1 - p) / 2."""
    res = triangle(method)
    t2 = res.tau2
    if method == "REML":
        assert t2 > 0
    w_ab = 1 / (0.1 + t2) + 1 / (0.15 + t2)
    w_ac, w_bc = 1 / (0.2 + t2), 1 / (0.3 + t2)
    got = pct(res)
    for (a, b), direct, legs in ((("A", "B"), w_ab, (w_ac, w_bc)), (("A", "C"), w_ac, (w_ab, w_bc)),
                                 (("B", "C"), w_bc, (w_ab, w_ac))):
        w_ind = 1 / (1 / legs[0] + 1 / legs[1])
        p = direct / (direct + w_ind)
        design = ":".join(sorted((a, b)))
        np.testing.assert_allclose(got[(a, b, design)], 100 * p, rtol=1e-9)
        others = [d for d in ("A:B", "A:C", "B:C") if d != design]
        for d in others:
            np.testing.assert_allclose(got[(a, b, d)], 50 * (1 - p), rtol=1e-9)


def test_direct_evidence_only_gets_all_from_its_design():
    """A star (A-B, A-C, A-D, no loop) plus a three-arm trial E-F-A: each comparison with A has one path;
    B vs C runs through A, one stream of 1 over two edges (50% each)."""
    rows = []
    rng = np.random.default_rng(3)
    sid = 0
    for arms in (("A", "B"), ("A", "B"), ("A", "C"), ("A", "C"), ("A", "D"), ("A", "D"), ("A", "E", "F")):
        sid += 1
        for t in arms:
            rows.append({"study": sid, "trt": t, "mean": rng.normal(), "sd": 1 + rng.random(),
                         "n": int(rng.integers(20, 60))})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = network_meta_analysis(pd.DataFrame(rows), study="study", treatment="trt", mean="mean", sd="sd",
                                    n="n", measure="MD", reference="A", contributions=True)
    got = pct(res)
    for t in "BCD":
        assert got[("A", t, f"A:{t}")] == pytest.approx(100.0, abs=1e-9)
        assert sum(v for (a, b, _), v in got.items() if (a, b) == ("A", t)) == pytest.approx(100.0)
    assert got[("B", "C", "A:B")] == pytest.approx(50.0, abs=1e-9)
    assert got[("B", "C", "A:C")] == pytest.approx(50.0, abs=1e-9)
    # the three-arm trial is the only evidence on A, E and F: all of it
    for pair in (("A", "E"), ("A", "F"), ("E", "F")):
        assert got[(*pair, "A:E:F")] == pytest.approx(100.0, abs=1e-9)


def test_names_do_not_matter():
    """Relabelled treatments (their sorted order changed) give the same shares."""
    new = {"no_contact": "zz_none", "self_help": "aa_self", "ind_counseling": "mm_ind",
           "grp_counseling": "bb_grp"}
    a = pct(fit_hb())
    b = pct(fit_hb(HB.assign(trt=HB["trt"].map(new)), reference="zz_none"))

    def key(t1, t2, design):
        pair = tuple(sorted((new[t1], new[t2])))
        return (*pair, ":".join(sorted(new[t] for t in design.split(":"))))

    assert len(a) == len(b)
    for k, v in a.items():
        assert b[key(*k)] == pytest.approx(v, abs=1e-9)


def test_reference_does_not_matter():
    a, b = pct(fit_hb()), pct(fit_hb(reference="self_help"))
    assert a.keys() == b.keys()
    for k, v in a.items():
        assert b[k] == pytest.approx(v, rel=1e-6)


def test_not_computed_unless_asked():
    res = network_meta_analysis(HB, study="study", treatment="trt", events="xi", n="ni", measure="OR",
                                reference="no_contact")
    assert res.design_contributions is None and res.to_dict()["contributions"] is None
    with pytest.raises(ValueError, match="contributions=True"):
        res.contributions()


def test_command_line_csv_json_and_text():
    from commonfactors.cli import main

    path = str(HERE.parent / "data" / "network_hasselblad1998.csv")
    args = ["network", path, "--study", "study", "--treatment", "trt", "--events", "xi", "--n", "ni",
            "--measure", "OR", "--add", "0.5", "--to", "all", "--reference", "no_contact", "--contributions"]
    runner = CliRunner()
    out = runner.invoke(main, [*args, "--format", "csv"])
    assert out.exit_code == 0, out.output
    lines = out.output.strip().splitlines()
    assert lines[0] == "treat1,treat2,comparison,design,percent" and len(lines) == 1 + len(pct(fit_hb()))
    js = runner.invoke(main, [*args, "--format", "json"])
    data = json.loads(js.stdout)
    expected = pct(fit_hb())
    assert {(r["treat1"], r["treat2"], r["design"]): r["percent"] for r in data["contributions"]} == expected
    text = runner.invoke(main, args)
    assert "Contribution of each design" in text.output and "84.2" in text.output
    bad = runner.invoke(main, [*args, "--format", "csv", "--league"])
    assert bad.exit_code == 2


@pytest.mark.parametrize("method", ["REML", "FE"])
def test_flows_are_the_hat_matrix_of_the_fitted_model(method):
    """The edges' coefficients h (each design's direct estimate of each of its pairs) give back the network
    estimates: sum over designs and edges of h * (b_D[k] - b_D[j]) = beta_a - beta_b, b_D the design's own
    GLS estimates from its trials at the fitted tau2 (hasselblad1998, two three-arm trials; the network
    estimates are metafor's, tests/test_network.py)."""
    from commonfactors.models import _network_contrib, _network_data
    from commonfactors.models._notes import Notes

    res = fit_hb(method=method)
    table, _ = _network_data.prepare(HB, study="study", treatment="trt", events="xi", n="ni", mean=None,
                                     sd=None, yi=None, vi=None, treat1=None, treat2=None, measure="OR",
                                     add=0.5, to="all", notes=Notes())
    labels = list(table.t_levels)
    con = table.contrasts(labels.index("no_contact"))
    names = list(res.treatments)
    col = {labels.index(t): j for j, t in enumerate(names)}
    T = len(names)
    trial_t = {}
    for i, t, _ in con.arms:
        trial_t.setdefault(i, []).append(t)
    design_of = {i: ":".join(labels[t] for t in sorted(ts)) for i, ts in trial_t.items()}
    K = _network_contrib.design_weights(con.groups, col, design_of, res.tau2, T)
    # each design's direct estimates (potentials, up to a constant) from its own trials
    rhs = {}
    for d, g in con.groups.items():
        C = (np.eye(d) + np.ones((d, d))) / 2
        for r in range(g["y"].shape[0]):
            B = np.zeros((d, T))
            for j in range(d):
                B[j, col[int(g["treat"][r, j])]] += 1
                B[j, col[int(g["base"][r])]] -= 1
            W = np.linalg.inv(g["V"][r] + res.tau2 * C)
            lab = design_of[int(g["study"][r])]
            rhs[lab] = rhs.get(lab, 0) + B.T @ W @ g["y"][r]
    direct = {lab: np.linalg.pinv(K[lab]) @ rhs[lab] for lab in K}
    beta = dict.fromkeys(names, 0.0) | {e["treatment"]: e["estimate"] for e in res.effects}
    for a in range(T):
        for b in range(a + 1, T):
            labs, ej, ek, h = _network_contrib.hat_row(K, names.index("no_contact"), a, b)
            got = sum(float(h[i] @ (direct[lab][ek] - direct[lab][ej])) for i, lab in enumerate(labs))
            assert got == pytest.approx(beta[names[a]] - beta[names[b]], rel=1e-9, abs=1e-12)
            assert np.abs(h).sum() >= 1 - 1e-12  # a unit flow: at least 1 in total
