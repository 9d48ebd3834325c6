"""``commonfactors network``: the JSON equals metafor's fits (tests/reference/network.R, RTOL 1e-6 as in
tests/test_network.py), CSV and text, the figures, and one-line errors with exit 2."""

import csv
import io
import json

import numpy as np
import pytest

from cli_run import in_a_process, in_process
from reference import HERE, load

REF = load("network")
DATA = HERE.parent / "data"
HB = DATA / "network_hasselblad1998.csv"
MD = DATA / "network_md.csv"
RTOL, ATOL = 1e-6, 1e-7
HB_ARGS = [HB, "--study", "study", "--treatment", "trt", "--events", "xi", "--n", "ni", "--measure", "OR",
           "--add", "0.5", "--to", "all", "--reference", "no_contact", "--small-values", "bad"]
MD_ARGS = [MD, "--treatment", "trt", "--mean", "mean", "--sd", "sd", "--n", "n", "--measure", "MD",
           "--reference", "A"]


@pytest.mark.parametrize("method", ["REML", "ML", "FE"])
def test_json_matches_metafor(method):
    res = in_process("network", *HB_ARGS, "--method", method, "--active",
                     "ind_counseling,grp_counseling,self_help", "--format", "json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    ref = REF["hasselblad"][method]
    by = {e["treatment"]: e for e in d["effects"]}
    for field in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose([by[t][field] for t in ref["treatments"][1:]], ref[field], rtol=RTOL,
                                   atol=ATOL, err_msg=field)
    np.testing.assert_allclose(d["tau2"], ref["tau2"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(d["inconsistency"]["q"], ref["inconsistency"]["q"], rtol=RTOL)
    assert d["inconsistency"]["df"] == ref["inconsistency"]["df"]
    np.testing.assert_allclose(d["dodo"]["q"], ref["dodo"]["q"], rtol=RTOL)
    np.testing.assert_allclose(d["dodo"]["tau2_technique_ci"], ref["dodo"]["tau2_technique_ci"], rtol=RTOL,
                               atol=ATOL)
    assert d["reference"] == "no_contact" and d["method"] == method and d["k"] == 24
    assert len(d["league"]) == 6 and len(d["pscore"]) == 4


def test_csv_effects_and_league():
    res = in_process("network", *MD_ARGS, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    ref = REF["synthetic_md"]["REML"]
    assert [r["treatment"] for r in rows] == ref["treatments"][1:]
    np.testing.assert_allclose([float(r["estimate"]) for r in rows], ref["estimate"], rtol=RTOL)
    league = list(csv.DictReader(io.StringIO(in_process("network", *MD_ARGS, "--format", "csv",
                                                        "--league").stdout)))
    assert len(league) == 10 and set(league[0]) >= {"treat1", "treat2", "estimate", "se", "ci_low", "ci_high"}


def test_text_summary():
    res = in_process("network", *HB_ARGS, "--active", "ind_counseling,grp_counseling,self_help")
    assert res.returncode == 0
    for fragment in ("Random-Effects Network Model (REML): 24 trials", "Design-by-treatment inconsistency",
                     "Dodo-bird test", "Wampold et al. (1997)", "P-score"):
        assert fragment in res.stdout


@pytest.mark.parametrize("plot", ["graph", "forest", "league"])
def test_plots_are_written(plot, tmp_path):
    out = tmp_path / f"{plot}.png"
    res = in_process("network", *HB_ARGS, "--plot", plot, "--out", out, "--format", "json")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_contrast_level_file(tmp_path):
    rows = ["study,t1,t2,yi,vi", "1,B,A,0.5,0.04", "2,C,A,0.8,0.05", "3,C,B,0.2,0.06", "4,B,A,0.4,0.05"]
    f = tmp_path / "contrasts.csv"
    f.write_text("\n".join(rows) + "\n")
    res = in_process("network", f, "--yi", "yi", "--vi", "vi", "--treat1", "t1", "--treat2", "t2",
                     "--reference", "A", "--method", "FE", "--format", "json")
    d = json.loads(res.stdout)
    # a common-effect network of two-arm trials: generalised least squares by hand
    X = np.array([[1, 0], [0, 1], [-1, 1], [1, 0]], float)
    W = np.diag(1 / np.array([0.04, 0.05, 0.06, 0.05]))
    y = np.array([0.5, 0.8, 0.2, 0.4])
    beta = np.linalg.solve(X.T @ W @ X, X.T @ W @ y)
    np.testing.assert_allclose([e["estimate"] for e in d["effects"]], beta, rtol=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--reference", "Z"], "reference 'Z' is not a treatment of the network"),
    (["--reference", "A", "--active", "B,Q"], "active treatment 'Q' is not a treatment"),
    (["--reference", "A", "--measure", "OR"], "measure OR needs events; expected the columns events, n"),
])
def test_bad_arguments_one_line(args, message):
    base = [a for a in MD_ARGS if a not in ("--reference", "A")]
    if "--measure" in args:
        base = base[:base.index("--measure")] + base[base.index("--measure") + 2:]
    res = in_process("network", *base, *args)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and message in res.stderr, res.stderr


def test_disconnected_network_in_a_shell(tmp_path):
    f = tmp_path / "arms.csv"
    f.write_text("study,trt,m,s,n\n1,A,1,2,20\n1,B,2,2,20\n2,C,1,2,20\n2,D,2,2,20\n3,A,1,2,20\n3,B,1.5,2,20\n")
    res = in_a_process("network", f, "--treatment", "trt", "--mean", "m", "--sd", "s", "--n", "n",
                       "--measure", "MD")
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        "Error: the network is disconnected: 2 parts share no trial ({A, B}; {C, D}); expected a connected "
        "network: each treatment linked to the others through trials"]


def test_node_split_json():
    d = json.loads(in_process("network", *HB_ARGS, "--node-split", "--format", "json").stdout)
    ref = REF["hasselblad_node_split"]
    assert len(d["node_split"]) == len(ref) == 6
    np.testing.assert_allclose([r["difference"] for r in d["node_split"]], [r["difference"] for r in ref],
                               rtol=1e-5)
    assert "Node splitting" in in_process("network", *HB_ARGS, "--node-split").stdout


def test_usage_errors():
    res = in_process("network", HB, "--treatment", "trt", "--events", "xi", "--n", "ni")
    assert res.returncode == 2 and "--measure" in res.stderr
    res = in_process("network", HB, "--yi", "xi", "--vi", "ni")
    assert res.returncode == 2 and "--treat1, --treat2" in res.stderr
    res = in_process("network", *HB_ARGS, "--plot", "graph")
    assert res.returncode == 2 and "--plot and --out go together" in res.stderr
