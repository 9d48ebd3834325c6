"""A network of the shipped Metapsy depression database (therapy and control types as nodes) against metafor.

The arm-level table tests/data/network_metapsy_arms.csv is made from the shipped dataset
``metapsy_depression_psyctr`` by the rule of the shipped analysis ``analyses/metapsy_depression_network.py``
(its ``arms()``; ``python tests/test_network_metapsy.py`` rewrites the table; the test checks it is what the
rule gives) and fitted by tests/reference/network.R with metafor's rma.mv: 420 trials, 12 treatments,
multi-arm trials with Gleser & Olkin covariances. The rule is stated, numbered, in the analysis's
docstring (and on its report page).

Tolerances as tests/test_network.py (RTOL 1e-6 relative, ATOL 1e-7).
"""

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


def _analysis():
    """The shipped analysis ``analyses/metapsy_depression_network.py``, which holds the rule."""
    import importlib.util

    from commonfactors.reproduce import ANALYSES_DIR

    spec = importlib.util.spec_from_file_location("metapsy_depression_network",
                                                  ANALYSES_DIR / "metapsy_depression_network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metapsy_arms() -> pd.DataFrame:
    """The arm-level network of the Metapsy depression database by the rule (the shipped analysis's)."""
    return _analysis().arms()


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


def test_shipped_analysis_fits_the_same_network(fit):
    """``analyses/metapsy_depression_network.py`` fits this network: same effects, same Dodo-bird test."""
    shipped = _analysis().fit(contributions=False)
    assert shipped.treatments == fit.treatments and shipped.k == fit.k
    np.testing.assert_allclose([e["estimate"] for e in shipped.effects], [e["estimate"] for e in fit.effects],
                               rtol=1e-12)
    assert shipped.dodo["tau2_technique"] == pytest.approx(fit.dodo["tau2_technique"], rel=1e-12, abs=1e-15)
    rows = {r["id"].split(":")[1]: r for r in _analysis().reproduce()}
    assert rows["technique_share"]["reproduced"] == pytest.approx(fit.dodo["share"], rel=1e-12, abs=1e-15)
    assert all(r["verdict"] == "not checked" and r["published"] is None for r in rows.values())


if __name__ == "__main__":  # python tests/test_network_metapsy.py: rewrite the arm table
    metapsy_arms().to_csv(ARMS, index=False, float_format="%.17g")
