"""Report pages on the scale readers expect: the headline estimate, its confidence and prediction intervals
back-transformed to the measure's natural scale (r for Fisher's z, ratios for log ratios, proportions for
logit proportions) in the settings table and the headline sentence, the forest plot's axis on that scale;
pages of treatment arms that say their pooled number is not a treatment effect; forest plots of nested
effect sizes with one row per study, in labelled pages where there are many.

Reference numbers: metafor 3.8-1's ``predict(res, transf=)`` (and clubSandwich 0.5.8 for the three-level
model's CR2 inference), tests/reference/report_natural.R; the same univariate models as
tests/reference/natural.R.
"""

import math

import numpy as np
import pytest

from commonfactors import datasets
from commonfactors._transforms import back_transform
from commonfactors.report import content, figures, render
from reference import load

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")

# predict(rma(yi, vi), transf = exp / transf.ztor); three-level: predict(robust(rma.mv(yi, vi,
# random = ~ 1 | study/es), cluster = study, clubSandwich = TRUE), transf = ...)
REFERENCE = load("report_natural")
NATURAL = load("natural")  # tests/reference/natural.R: molloy2014's model, predict(res, transf = transf.ztor)
KEYS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")


def _block(dataset: str):
    data = content._shipped(dataset)
    block, res = content.model(data, key=dataset, title="t", note=content.nesting_note(data))
    return data, block, res


def _values(d: dict) -> list[float]:
    return [d[k] for k in KEYS]


def _interval(lo, hi, digits=4):
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


@pytest.mark.parametrize("dataset, ref_key, transf, scale", [
    ("bcg", "bcg_rr", "exp", "risk ratio"),
    ("molloy2014", "molloy2014_zcor", "ztor", "r"),
])
def test_univariate_headline_on_the_natural_scale_is_metafors_predict(dataset, ref_key, transf, scale):
    ref = REFERENCE[ref_key]
    data = content._shipped(dataset)
    _, res = content.model(data, key=dataset, title="t")
    head = content.headline(data, res, None)
    # the page's numbers are _transforms applied to the fitted model ...
    model = [res.estimate, res.ci_low, res.ci_high, res.pi_low, res.pi_high]
    np.testing.assert_array_equal(_values(head["natural"]), back_transform(transf, model))
    assert head["natural"]["scale"] == scale and head["natural"]["transf"] == transf
    # ... and metafor's predict(res, transf=) of the same model
    np.testing.assert_allclose(_values(head), _values(ref["model"]), rtol=1e-7)
    np.testing.assert_allclose(_values(head["natural"]), _values(ref["natural"]), rtol=1e-7)


def test_molloy_r_agrees_with_the_natural_scale_reference_of_the_command_line():
    data = content._shipped("molloy2014")
    _, res = content.model(data, key="molloy2014", title="t")
    head = content.headline(data, res, None)
    np.testing.assert_allclose(_values(head["natural"]), _values(NATURAL["molloy2014_ztor"]), rtol=1e-7)


def test_the_page_prints_the_natural_scale_in_its_settings_and_headline():
    ref = REFERENCE["bcg_rr"]["natural"]
    _, block, _ = _block("bcg")
    settings = dict(block["settings"])
    assert settings["On the risk ratio scale (exp)"] == (
        f"{ref['estimate']:.4f} {_interval(ref['ci_low'], ref['ci_high'])}; "
        f"prediction interval {_interval(ref['pi_low'], ref['pi_high'])}")
    assert block["headline"] == (
        f"Pooled risk ratio: {ref['estimate']:.2f} (95% CI {ref['ci_low']:.2f} to {ref['ci_high']:.2f}; "
        f"95% prediction interval {ref['pi_low']:.2f} to {ref['pi_high']:.2f}).")
    molloy = REFERENCE["molloy2014_zcor"]["natural"]
    _, block, _ = _block("molloy2014")
    assert block["headline"].startswith(
        f"Pooled r: {molloy['estimate']:.3f} (95% CI {molloy['ci_low']:.3f} to {molloy['ci_high']:.3f}; ")


def test_forest_funnel_and_cumulative_axes_on_the_natural_scale():
    _, block, res = _block("bcg")
    forest = block["forest"]
    assert forest.options["transf"] == "exp" and forest.options["xlabel"].endswith("(axis: risk ratio)")
    fig = figures.forest(*forest.data, **forest.options)
    ticks = [float(t.get_text()) for t in fig.axes[0].get_xticklabels()]
    np.testing.assert_allclose(np.log(ticks), fig.axes[0].get_xticks())  # ratios placed on the log axis
    estimate = [t.get_text() for t in fig.axes[1].texts if t.get_fontweight() == "bold"][-1]
    assert estimate == "{:.2f} [{:.2f}, {:.2f}]".format(*np.exp([res.estimate, res.ci_low, res.ci_high]))
    data = content._shipped("bcg")
    cumulative = content._cumulative(data, res, key="bcg", xlabel="log risk ratio", axis=block["axis"])
    assert cumulative["cumulative"]["figure"].options["transf"] == "exp"
    assert block["funnel"].options["transf"] == "exp"
    assert block["funnel"].options["xlabel"] == "log risk ratio (axis: risk ratio)"


def test_smd_pages_stay_on_the_model_scale():
    data, block, res = _block("assink2016")
    assert block["axis"] is None and "transf" not in block["forest"].options
    assert not any(name.startswith("On the ") for name, _ in block["settings"])
    assert block["headline"].startswith("Pooled standardized mean difference (Hedges' g), three-level model")


@pytest.mark.parametrize("dataset, transf", [("metapsy_total_response", "exp"), ("hasselblad1998", "ilogit"),
                                             ("assink2016", None), ("lopez2019", None)])
def test_three_level_headline_and_its_prediction_interval_are_metafors(dataset, transf):
    ref = REFERENCE[dataset]
    data = content._shipped(dataset)
    nested = content._three_level(data, method="REML", test="z", level=95)
    _, res = content.model(data, key=dataset, title="t")
    head = content.headline(data, res, nested)
    assert (nested.k, nested.n_clusters) == (ref["k"], ref["n_clusters"])
    # REML to rel.tol 1e-10 in R: the CR2 estimates agree to ~1e-7 relative (test_report_nested.py)
    np.testing.assert_allclose(_values(head), _values(ref["model"]), rtol=1e-5)
    if transf is None:
        assert head["natural"] is None
        return
    np.testing.assert_allclose(_values(head["natural"]), _values(ref["natural"]), rtol=1e-5)
    np.testing.assert_array_equal(_values(head["natural"]), back_transform(transf, _values(head)))


def test_three_level_page_shows_the_prediction_interval_and_the_natural_scale():
    ref = REFERENCE["metapsy_total_response"]
    _, block, _ = _block("metapsy_total_response")
    settings = dict(block["settings"])
    assert settings["Prediction interval"] == _interval(ref["model"]["pi_low"], ref["model"]["pi_high"])
    nat = ref["natural"]
    assert settings["On the risk ratio scale (exp)"] == (
        f"{nat['estimate']:.4f} {_interval(nat['ci_low'], nat['ci_high'])}; "
        f"prediction interval {_interval(nat['pi_low'], nat['pi_high'])}")
    assert block["headline"] == (
        "Pooled risk ratio, three-level model of 569 effect sizes from 437 studies: "
        f"{nat['estimate']:.2f} (95% CI {nat['ci_low']:.2f} to {nat['ci_high']:.2f}; "
        f"95% prediction interval {nat['pi_low']:.2f} to {nat['pi_high']:.2f}).")


# ---------------------------------------------------------------------------------------------------
# treatment arms: the pooled number is an average of arms, not a treatment effect


def test_arm_level_page_says_what_the_rows_and_the_pooled_number_are():
    ref = REFERENCE["hasselblad1998"]["natural"]
    data, block, res = _block("hasselblad1998")
    assert data.arms and data.cluster == "study"
    note = block["note"]
    for phrase in ("50 rows from 24 studies, one row per treatment arm", "not a comparison of treatments",
                   "the average proportion across the arms", "not a treatment effect",
                   "needs a contrast-based analysis", "network meta-analysis"):
        assert phrase in note, phrase
    assert block["headline"] == (
        f"Average proportion across the 50 arms of 24 studies: {ref['estimate']:.3f} (95% CI "
        f"{ref['ci_low']:.3f} to {ref['ci_high']:.3f}; 95% prediction interval {ref['pi_low']:.3f} to "
        f"{ref['pi_high']:.3f}). A description of the arms, treatment and control arms alike: not a "
        "treatment effect.")
    settings = dict(block["settings"])
    assert settings["Arms (k) and studies"] == "50 arms from 24 studies"
    assert "Average over arms" in settings and "Pooled estimate" not in settings
    assert "treatment arms nested in studies" in settings["Model"]
    # one forest row per arm, labelled with its treatment (the arms of a study are not averaged)
    assert "cluster" not in block["forest"].options and res.k == 50
    assert "one row per arm, labelled with its treatment (column trt)" in block["note"]
    frame = data.frame
    assert list(res.slab[:2]) == [f"study 1: {frame['trt'].iloc[0]}", f"study 1: {frame['trt'].iloc[1]}"]


def test_arms_of_a_measure_without_a_natural_scale():
    data = content._shipped("lopez2019")
    block, _ = content.model(data, key="lopez", title="t", note=content.nesting_note(data))
    assert "172 rows from 76 studies, one row per treatment arm" in block["note"]
    assert "standardised mean change" in block["note"] and "not a treatment effect" in block["note"]
    assert dict(block["settings"])["Arms (k) and studies"] == "172 arms from 76 studies"
    assert block["axis"] is None  # a standardised mean change has no other scale
    # 172 arms, one row each (not averaged per study): one figure sorted by effect size, and the command that
    # draws labelled pages of it
    assert "cluster" not in block["forest"].options and block["forest_pages"] == []
    assert "one row per arm (the table of arms names each arm's treatment, column treatment)" in block["note"]
    assert block["forest_rule"] == render.forest_rule(
        172, 172, unit="arm", command="commonfactors plot forest lopez2019 --page 2 --out forest-2.png")
    assert "all 172 arms are drawn, one thin row each" in block["forest_rule"]


def test_a_one_group_measure_without_nesting_is_an_average_of_groups():
    import pandas as pd

    frame = pd.DataFrame({"study": ["a", "b", "c", "d"], "xi": [3, 10, 4, 8], "ni": [30, 50, 40, 45]})
    data = content.prepare(frame, measure="PLO", columns={"xi": "xi", "ni": "ni"})
    block, res = content.model(data, key="p", title="t")
    assert not data.arms and data.one_group
    assert "the pooled number is the average proportion across the groups" in block["note"]
    assert block["headline"].startswith("Average proportion across the groups: ")
    head = content.headline(data, res, None)
    assert head["natural"]["estimate"] == pytest.approx(1 / (1 + math.exp(-res.estimate)), rel=1e-15)


# ---------------------------------------------------------------------------------------------------
# forest plots of nested effect sizes: one row per study


def _studies_in_order(dataset: str) -> list[str]:
    frame = content._shipped(dataset).frame
    return list(dict.fromkeys(str(s) for s in frame["study"]))


def test_nested_forest_has_one_labelled_row_per_study():
    data, block, res = _block("assink2016")
    options = block["forest"].options
    assert len(set(options["cluster"])) == datasets.describe("assink2016").k == 17
    fig = figures.forest(*block["forest"].data, **options)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[:-2] == [f"study {s}" for s in _studies_in_order("assink2016")]
    assert "One row per study: the 100 effect sizes of 17 studies" in block["forest_rule"]


def test_nested_forest_pages_cover_every_study_once():
    data, block, res = _block("metapsy_ptsd_psyctr")
    pages = [block["forest"], *(p["figure"] for p in block["forest_pages"])]
    assert len(pages) == 2  # 102 studies, 60 to a figure
    assert [p.options["rows"] for p in pages] == [slice(0, 60), slice(60, 120)]
    assert block["forest_pages"][0]["caption"] == (
        "Forest plot, figure 2 of 2: studies 61 to 102 of 102, in file order.")
    assert "The 102 studies are drawn 60 to a figure, in file order, on 2 figures" in block["forest_rule"]
    rows = []
    for page in pages:
        fig = figures.forest(*page.data, **page.options)
        rows += [t.get_text() for t in fig.axes[0].get_yticklabels()][:-2]
    assert len(rows) == datasets.describe("metapsy_ptsd_psyctr").k == 102
    assert rows == [figures._short(s) for s in dict.fromkeys(map(str, res.slab))]


def test_a_large_nested_forest_is_one_row_per_study_sorted_and_names_the_command():
    data, block, res = _block("metapsy_depression_psyctr")
    assert block["forest_pages"] == [] and res.k == 900
    options = block["forest"].options
    k = datasets.describe("metapsy_depression_psyctr").k
    assert len(set(options["cluster"])) == k == 480
    fig = figures.forest(*block["forest"].data, **options)
    from matplotlib.collections import PathCollection

    squares = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert len(squares) == 1 and len(squares[0].get_offsets()) == k  # one square per study
    assert "all 480 studies are drawn, one thin row each, sorted by effect size" in block["forest_rule"]
    assert ("commonfactors plot forest metapsy_depression_psyctr --cluster study --page 2 --out forest-2.png"
            in block["forest_rule"])


# the network of hasselblad1998's arms: metafor's rma.mv of the contrasts against no_contact (log odds
# ratios with 1/2 added to every cell, random = ~ comp | study, rho = 1/2, REML), tests/reference/network.R
NETWORK = load("network")["hasselblad"]["REML"]


def test_arms_with_counts_are_compared_by_a_network_meta_analysis():
    data = content._shipped("hasselblad1998")
    block, _ = content.model(data, key="h", title="t", note=content.nesting_note(data))
    net = block["network"]
    assert net["skipped"] is None and net["reference"] == "no_contact"  # the control in the most trials
    assert "given below from the arms' event counts" in block["note"]
    got = {e["treatment"]: e for e in net["result"].effects}
    rows = {r["treatment"]: r for r in net["rows"]}
    assert rows["no_contact"]["ratio"] == "1 (reference)"
    for i, t in enumerate(NETWORK["treatments"][1:]):
        want = [NETWORK[k][i] for k in KEYS]
        np.testing.assert_allclose([got[t][k] for k in KEYS], want, rtol=1e-5)
        odds = np.exp(want)
        assert rows[t]["ratio"] == f"{odds[0]:.2f}"
        assert rows[t]["ci"] == f"[{odds[1]:.2f}, {odds[2]:.2f}]"
        assert rows[t]["pi"] == f"[{odds[3]:.2f}, {odds[4]:.2f}]"
    assert f"tau\u00b2 = {NETWORK['tau2']:.4f}" in net["text"]
    assert "column xi (number of individuals abstinent)" in net["text"]


def test_arms_without_counts_say_what_a_comparison_needs():
    data = content._shipped("lopez2019")
    block, _ = content.model(data, key="l", title="t", note=content.nesting_note(data))
    assert block["network"] is None
    assert "which this page does not fit: it needs the arms' counts" in block["note"]


def test_the_network_reference_is_the_control_in_the_most_trials():
    import pandas as pd

    frame = pd.DataFrame({"study": [1, 1, 2, 2, 3, 3, 4, 4], "trt": ["CBT", "Wait list", "CBT", "Placebo",
                                                                     "CBT", "Wait list", "IPT", "Placebo"]})
    assert content.network_reference(frame, "study", "trt") == "Placebo"  # ties: sorted order
    frame.loc[7, "trt"] = "Wait list"
    assert content.network_reference(frame, "study", "trt") == "Wait list"
    no_control = frame.replace({"Wait list": "IPT", "Placebo": "PST"})
    assert content.network_reference(no_control, "study", "trt") == "CBT"  # no control: the most trials


def test_a_user_report_reads_the_measure_its_effect_sizes_carry(tmp_path):
    import commonfactors as cf
    from commonfactors.report import site

    ref = REFERENCE["bcg_rr"]["natural"]
    es = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    path = tmp_path / "bcg_es.csv"
    es.assign(measure="RR").to_csv(path, index=False)  # as `commonfactors effects` writes it
    site.build_report(cf.read_table(path), tmp_path / "out", source=path, progress=False)
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert (f"Pooled risk ratio: {ref['estimate']:.2f} (95% CI {ref['ci_low']:.2f} to {ref['ci_high']:.2f}; "
            f"95% prediction interval {ref['pi_low']:.2f} to {ref['pi_high']:.2f}).") in page
    assert content.file_measure(es) == "RR"  # effect_sizes' metadata
    assert content.file_measure(es.assign(measure="BDI")) is None  # not a measure
    assert content.file_measure(es.assign(measure=["RR"] * 12 + ["OR"])) is None  # more than one
