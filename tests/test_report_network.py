"""The network pages of the report site (``commonfactors.report.network``): hasselblad1998 and the Metapsy
depression network.

Each page is built once into a temporary folder; its text is read back and its numbers compared with the
library's fit of the same network (:func:`commonfactors.network_meta_analysis` on the shipped analysis's data,
checked against metafor 3.8-1's rma.mv in tests/test_network.py and tests/test_network_metapsy.py).
"""

import math
import re
import sys
import warnings
from pathlib import Path

import pytest

import commonfactors as cf
from commonfactors.report import network, render
from commonfactors.reproduce import ANALYSES_DIR
from page_text import PageText

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")


def _build(root: Path, key: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    page = network.job(str(root), key)
    network.write(render.Writer(root), page, [("index.html", "Overview")])
    return root / network.NETWORKS[key][1]


def _analysis(name):
    sys.path.insert(0, str(ANALYSES_DIR))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ANALYSES_DIR))


@pytest.fixture(scope="module")
def hasselblad(tmp_path_factory):
    path = _build(tmp_path_factory.mktemp("hasselblad"), "hasselblad1998")
    res = cf.network_meta_analysis(cf.load_dataset("hasselblad1998"), study="study", treatment="trt",
                                   events="xi", n="ni", measure="OR", add=0.5, to="all",
                                   reference="no_contact", small_values="bad", node_split=True,
                                   active=["ind_counseling", "grp_counseling", "self_help"])
    return path, PageText(path.read_text(encoding="utf-8")), res


@pytest.fixture(scope="module")
def metapsy(tmp_path_factory):
    path = _build(tmp_path_factory.mktemp("metapsy"), "metapsy")
    mod = _analysis("metapsy_depression_network")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mod.fit(contributions=False)
    return path, PageText(path.read_text(encoding="utf-8")), res


def _ci(lo, hi, digits=2, tf=lambda x: x):
    return f"[{tf(lo):.{digits}f}, {tf(hi):.{digits}f}]"


def test_hasselblad_effects_on_the_odds_ratio_scale(hasselblad):
    _, page, res = hasselblad
    for e in res.effects:
        row = (f"{e['treatment']} {math.exp(e['estimate']):.2f} "
               f"{_ci(e['ci_low'], e['ci_high'], tf=math.exp)} "
               f"{_ci(e['pi_low'], e['pi_high'], tf=math.exp)} {e['estimate']:.4f} ({e['se']:.4f})")
        assert row in page.text
    assert f"tau² = {res.tau2:.4f} (tau = {math.sqrt(res.tau2):.4f})" in page.text


def test_hasselblad_league_rankings_inconsistency_and_dodo(hasselblad):
    _, page, res = hasselblad
    # the league cell of group counselling (row) against no contact (column)
    pair = next(r for r in res.league if {r["treat1"], r["treat2"]} == {"grp_counseling", "no_contact"})
    sign = 1 if pair["treat1"] == "grp_counseling" else -1
    lo, hi = sorted((sign * pair["ci_low"], sign * pair["ci_high"]))
    assert f"{math.exp(sign * pair['estimate']):.2f} {_ci(lo, hi, tf=math.exp)}" in page.text
    sucra = {s["treatment"]: s for s in res.sucra}
    for p in res.pscore:
        s = sucra[p["treatment"]]
        assert (f"{p['treatment']} {p['pscore']:.3f} {s['sucra']:.3f} {s['mean_rank']:.2f} {s['p_best']:.3f}"
                in page.text)
    i = res.inconsistency
    assert f"{i['n_designs']} designs: Q({i['df']}) = {i['q']:.2f}, p = {i['pval']:.4f}" in page.text
    assert f"between designs Q({i['df_between']}) = {i['q_between']:.2f}" in page.text
    d = res.dodo
    assert f"Q({d['df']}) = {d['q']:.2f}, p = {d['pval']:.4f}" in page.text
    w = d["wampold"]
    assert f"Q({w['df']}) = {w['q']:.2f}, p = {w['pval']:.4f}" in page.text
    split = [s for s in res.node_split if s["k_direct"] and math.isfinite(s["indirect"])]
    assert f"for the {len(split)} comparisons with both" in page.text
    for s in split:
        assert (f"{s['treat1']} vs {s['treat2']} {s['k_direct']} {s['direct']:.4f} "
                f"{_ci(s['direct_ci_low'], s['direct_ci_high'], 4)}") in page.text


def test_metapsy_dodo_block_with_the_published_estimate_and_the_rule(metapsy):
    _, page, res = metapsy
    d = res.dodo
    lo, hi = d["share_ci"]
    assert (f"Dodo-bird test among the 8 active treatments (cbt, bat, pst, ipt, dyn, 3rd, lrt, sup): "
            f"Q({d['df']}) = {d['q']:.2f}, p = {d['pval']:.4f}; share of the outcome variance owed to "
            f"technique {d['share']:.4f}, 95% CI [{lo:.4f}, {hi:.4f}]") in page.text
    t_lo, t_hi = d["tau2_technique_ci"]
    assert f"tau² technique = {d['tau2_technique']:.4f}, 95% CI [{t_lo:.4f}, {t_hi:.4f}]" in page.text
    # the published estimate beside it, and which one the pie uses (the pie's default technique slice)
    pie = cf.additive_pie(draws=200, seed=1)
    slice_ = next(s for s in pie.components if s.factor == "technique")
    assert f"d = {slice_.estimate:.2f} [0, 0.12] {slice_.share:.4f} yes" in page.text
    assert "uses the published estimate" in page.text
    # the rule that built the network, from the analysis's docstring
    assert "one instrument per trial: the one with the most arms" in page.text
    assert "arms of the same type (condition) within a trial are combined into one" in page.text
    assert f"{res.k} trials ({res.n_contrasts} contrasts) of {len(res.treatments)} treatments" in page.text


def test_metapsy_effects_against_care_as_usual(metapsy):
    _, page, res = metapsy
    for e in res.effects:
        assert (f"{e['treatment']} {e['estimate']:.2f} {_ci(e['ci_low'], e['ci_high'])} "
                f"{_ci(e['pi_low'], e['pi_high'])} {e['estimate']:.4f} ({e['se']:.4f})") in page.text
    assert f"Q({res.inconsistency['df']}) = {res.inconsistency['q']:.2f}" in page.text


def test_images_and_tables_load(hasselblad, metapsy):
    from PIL import Image

    for path, page, _ in (hasselblad, metapsy):
        assert len(page.images) == 2
        for img in page.images:
            with Image.open(path.parent / img["src"]) as im:
                im.verify()
            assert (path.parent / img["src"].replace(".png", ".svg")).is_file()
        tables = [link for link in page.links if link.startswith("tables/")]
        assert tables and all((path.parent / t).is_file() for t in tables)
        assert not re.search(r"-0\.0+(?![0-9])", page.text)
        assert "``" not in page.text and ":func:" not in page.text


def test_docstring_blocks():
    blocks = network.blocks("Intro ``x < 1`` and :func:`arms`.\n\n1. first\n   goes on;\n2. second")
    assert blocks[0] == {"kind": "p", "text": [("Intro ", False), ("x < 1", True), (" and ", False),
                                                 ("arms", True), (".", False)]}
    assert blocks[1]["kind"] == "ol" and len(blocks[1]["items"]) == 2
    assert network.segments_html(blocks[0]["text"]) == "Intro <code>x &lt; 1</code> and <code>arms</code>."


def test_page_builds_deterministically(hasselblad, tmp_path):
    path, _, _ = hasselblad
    again = _build(tmp_path / "again", "hasselblad1998")
    names = [path.name, *(p.relative_to(path.parent).as_posix() for p in (path.parent / "figures").iterdir()),
             *(p.relative_to(path.parent).as_posix() for p in (path.parent / "tables").iterdir())]
    for name in names:
        assert (again.parent / name).read_bytes() == (path.parent / name).read_bytes(), name
