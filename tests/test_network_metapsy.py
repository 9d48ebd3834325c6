"""A network of the shipped Metapsy depression database (therapy and control types as nodes) against metafor.

The arm-level table tests/data/network_metapsy_arms.csv is made from the shipped dataset
``metapsy_depression_psyctr`` by :func:`metapsy_arms` below (``python tests/test_network_metapsy.py``
rewrites it; the test checks it is what the rule gives) and fitted by tests/reference/network.R with metafor's
rma.mv: 420 trials, 12 treatments, multi-arm trials with Gleser & Olkin covariances. The rule:

1. rows with post-test means, SDs and ns (``outcome_type == "msd"``);
2. lower is better on every scale: a row whose raw difference mean_arm1 - mean_arm2 has the sign of the stored
   ``.g`` (which is positive when psychotherapy is better) is on a scale where higher is better, and its
   means are negated;
3. each row gives two arms, named by ``multi_arm1``/``multi_arm2`` (else by their condition); an arm found in
   several rows of a trial and instrument is taken once (its first row);
4. one instrument per trial: the one with the most arms, the first in the file among equals;
5. arms of the same type (condition) within a trial are combined into one (Higgins, Li & Deeks, Cochrane
   Handbook, version 6.4, section 6.5.2.10: n-weighted mean, the SD of the combined group);
6. nodes are the database's conditions: the psychotherapy types (cbt, bat, pst, ipt, dyn, 3rd, lrt, sup,
   other psy) and the control types (cau, wl, other ctr); care as usual is the reference.

Tolerances as tests/test_network.py (RTOL 1e-6 relative, ATOL 1e-7).
"""

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from reference import load  # noqa: E402

ARMS = HERE / "data" / "network_metapsy_arms.csv"
ACTIVE = ["cbt", "bat", "pst", "ipt", "dyn", "3rd", "lrt", "sup"]
RTOL, ATOL = 1e-6, 1e-7


def metapsy_arms() -> pd.DataFrame:
    """The arm-level network of the Metapsy depression database by the rule of this module's docstring."""
    import commonfactors as cf

    d = cf.load_dataset("metapsy_depression_psyctr")
    m = d[d["outcome_type"] == "msd"]
    flip = np.where(np.sign(m["mean_arm1"] - m["mean_arm2"]) == np.sign(m[".g"]), -1.0, 1.0)
    sides = []
    for side in ("1", "2"):
        sides.append(pd.DataFrame({
            "study": m["study"].to_numpy(), "instrument": m["instrument"].to_numpy(),
            "trt": m[f"condition_arm{side}"].to_numpy(),
            "arm": m[f"multi_arm{side}"].fillna(m[f"condition_arm{side}"]).to_numpy(),
            "mean": flip * m[f"mean_arm{side}"].to_numpy(), "sd": m[f"sd_arm{side}"].to_numpy(),
            "n": m[f"n_arm{side}"].to_numpy(), "order": np.arange(len(m)) * 2 + int(side)}))
    arms = pd.concat(sides).sort_values("order", kind="stable")
    arms = arms.drop_duplicates(["study", "instrument", "arm"])
    size = arms.groupby(["study", "instrument"], sort=False)["arm"].nunique().reset_index(name="arms")
    best = size.sort_values("arms", ascending=False, kind="stable").drop_duplicates("study")
    arms = arms.merge(best[["study", "instrument"]], on=["study", "instrument"], sort=False)
    rows = []
    for (study, trt), g in arms.groupby(["study", "trt"], sort=False):
        n = float(g["n"].sum())
        mean = float((g["n"] * g["mean"]).sum() / n)
        ss = float(((g["n"] - 1) * g["sd"] ** 2 + g["n"] * (g["mean"] - mean) ** 2).sum())
        rows.append({"study": study, "trt": trt, "mean": mean, "sd": math.sqrt(ss / (n - 1)), "n": n})
    return pd.DataFrame(rows)


def test_arm_table_is_the_rule_applied_to_the_shipped_database():
    pd.testing.assert_frame_equal(pd.read_csv(ARMS), metapsy_arms(), rtol=1e-14, check_dtype=False)


@pytest.fixture(scope="module")
def fit():
    from commonfactors.models.network import network_meta_analysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return network_meta_analysis(pd.read_csv(ARMS), study="study", treatment="trt", mean="mean", sd="sd",
                                     n="n", measure="SMD", reference="cau", active=ACTIVE)


def test_metapsy_network_matches_metafor(fit):
    ref = load("network")["metapsy"]
    by = {e["treatment"]: e for e in fit.effects}
    for field in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
        np.testing.assert_allclose([by[t][field] for t in ref["treatments"][1:]], ref[field], rtol=RTOL,
                                   atol=ATOL, err_msg=field)
    np.testing.assert_allclose(fit.tau2, ref["tau2"], rtol=RTOL)
    np.testing.assert_allclose(fit.loglik, ref["loglik"], rtol=RTOL)
    ps = {r["treatment"]: r["pscore"] for r in fit.pscore}
    np.testing.assert_allclose([ps[t] for t in ref["treatments"]], ref["pscore"], rtol=RTOL, atol=ATOL)
    inc = fit.inconsistency
    assert inc["df"] == ref["inconsistency"]["df"] and inc["n_designs"] == ref["inconsistency"]["n_designs"]
    for field in ("q", "tau2", "q_within", "q_between"):
        np.testing.assert_allclose(inc[field], ref["inconsistency"][field], rtol=1e-5, err_msg=field)
    for field in ("q", "pval", "tau2_technique", "tau2_technique_ci"):
        np.testing.assert_allclose(fit.dodo[field], ref["dodo"][field], rtol=RTOL, atol=ATOL, err_msg=field)
    assert fit.k == 420 and len(fit.treatments) == 12


if __name__ == "__main__":  # python tests/test_network_metapsy.py: rewrite the arm table
    metapsy_arms().to_csv(ARMS, index=False, float_format="%.17g")
