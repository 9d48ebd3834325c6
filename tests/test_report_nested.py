"""Report pages of shipped datasets whose rows are effect sizes nested in studies (more rows than studies):
the headline estimate is the three-level model with CR2 cluster-robust inference, Egger's test is also run
as a three-level meta-regression, and the page says which results treat the rows as independent.
Reference numbers: metafor 3.8-1 and clubSandwich 0.5.8, tests/reference/report_nested.R."""

import re

import numpy as np
import pytest
from scipy import stats

from commonfactors.report import content
from reference import load

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")

# m <- rma.mv(yi, vi, random = ~ 1 | study/es); robust(m, cluster = study, clubSandwich = TRUE)
# e <- robust(rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | study/es), cluster = study,
#             clubSandwich = TRUE)
REFERENCE = load("report_nested")
NESTED = ("assink2016", "metapsy_ptsd_psyctr")


@pytest.mark.parametrize("dataset", NESTED)
def test_the_headline_is_the_three_level_model_with_cr2(dataset):
    ref = REFERENCE[dataset]
    data = content._shipped(dataset)
    assert data.cluster == "study"
    nested = content._three_level(data, method="REML", test="z", level=95)
    first = nested.robust.coefficients[0]
    assert (nested.k, nested.n_clusters) == (ref["k"], ref["n_clusters"])
    got = [first.estimate, first.se, first.df, first.pval, first.ci_low, first.ci_high, *nested.sigma2]
    want = [ref["estimate"], ref["se"], ref["df"], ref["pval"], ref["ci_low"], ref["ci_high"], *ref["sigma2"]]
    np.testing.assert_allclose(got, want, rtol=1e-5)  # REML to rel.tol 1e-10: agrees to ~1e-7 relative

    block, _ = content.model(data, key=dataset, title="t", note=content.nesting_note(data))
    settings = dict(block["settings"])
    k = f"{ref['k']} effect sizes from {ref['n_clusters']} studies"
    assert settings["Effect sizes (k) and studies"] == k
    assert settings["Pooled estimate"].startswith(
        f"{ref['estimate']:.4f} [{ref['ci_low']:.4f}, {ref['ci_high']:.4f}], t({ref['df']:.2f})")
    assert "three-level" in settings["Model"] and "CR2" in settings["Model"]
    # metafor's predict() of the robust three-level model: pred +- t(df) sqrt(se^2 + sum(sigma2))
    half = stats.t.ppf(0.975, ref["df"]) * np.sqrt(ref["se"] ** 2 + sum(ref["sigma2"]))
    assert settings["Prediction interval"] == f"[{ref['estimate'] - half:.4f}, {ref['estimate'] + half:.4f}]"
    assert "Multivariate Meta-Analysis Model" in block["summary_html"]
    assert "Random-Effects Model" in block["independent_html"]  # the model of the figures, labelled
    assert block["headline"].startswith(
        f"Pooled standardized mean difference (Hedges' g), three-level model of {k}: {ref['estimate']:.2f} "
        f"(95% CI {ref['ci_low']:.2f} to ")
    assert "not independent" in block["note"] and "three-level model" in block["note"]
    assert "the other bias tests assume independent effect sizes" in block["note"]


@pytest.mark.parametrize("dataset", NESTED)
def test_egger_is_run_as_a_three_level_meta_regression(dataset):
    ref = REFERENCE[dataset]["egger"]
    block, _ = content.model(content._shipped(dataset), key=dataset, title="t")
    text = re.sub(r"<[^>]+>", " ", str(block["bias_html"]))
    line = re.search(r"Egger \(three-level, CR2\)\s+t\(([\d.]+)\) = ([-\d.]+)\s+([\d.]+|&lt;\.0001)", text)
    assert line is not None
    assert float(line.group(1)) == pytest.approx(ref["df"], abs=0.005)  # printed to 2 decimals
    assert float(line.group(2)) == pytest.approx(ref["stat"], abs=5e-5)  # printed to 4 decimals
    assert "only the three-level Egger test accounts for it" in text


def test_datasets_of_one_effect_per_study_keep_the_univariate_model():
    data = content._shipped("bcg")
    assert data.cluster is None and content.nesting_note(data) == ""
    block, _ = content.model(data, key="bcg", title="t")
    assert block["independent_html"] is None and "Prediction interval" in dict(block["settings"])


def test_only_a_study_column_with_k_values_is_the_cluster():
    import pandas as pd

    frame = pd.DataFrame({"study": [1, 1, 2], "yi": [0.1, 0.2, 0.3]})
    assert content.study_column(frame, {"k": 2, "rows": 3}) == "study"
    assert content.study_column(frame, {"k": 3, "rows": 3}) is None  # one effect per study
    assert content.study_column(frame, {"k": 1, "rows": 3}) is None  # the column does not count the studies
