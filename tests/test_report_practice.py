"""The practice page of the report site (``commonfactors.report.practice``): therapist effects, development
and routine outcome monitoring in the shipped synthetic practice.

The page is built once into a temporary folder; its text is read back and every number compared with the
library's results fitted here on the same data (the fits themselves are checked against lme4/lmerTest in
tests/test_therapists*.py and tests/test_monitoring*.py). The truth the page states is checked against the
simulator: its arguments regenerate the shipped file.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.report import practice, render
from page_text import PageText

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")


def _build(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    page = practice.job(str(root))
    practice.write(render.Writer(root), page, [("index.html", "Overview")])
    return root / practice.PAGE


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = _build(tmp_path_factory.mktemp("practice"))
    return path, PageText(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fitted():
    d = cf.load_dataset("synthetic_practice")
    common = {"outcome": "score", "therapist": "therapist", "client": "client", "session": "session"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = cf.therapist_effects(d, **common)
        three = cf.therapist_effects(d, site="site", **common)
        mon = cf.monitor(d, client="client", session="session", score="score", therapist="therapist",
                         instrument="ORS")
        # one row per client with two or more sessions: the first and the last score
        g = d.sort_values(["client", "session"], kind="stable").groupby("client", sort=False)
        keep = (g.size() > 1).to_numpy()
        first, last = g.first(), g.last()
        clients = {"client": first.index.to_numpy()[keep], "therapist": first["therapist"].to_numpy()[keep],
                   "years": first["years"].to_numpy()[keep], "baseline": first["score"].to_numpy()[keep],
                   "score": last["score"].to_numpy()[keep]}
        dev = cf.therapist_development(clients, outcome="score", therapist="therapist", time="years",
                                       client="client", baseline="baseline")
    return {"two": two, "three": three, "monitor": mon, "development": dev, "n_clients": int(keep.sum())}


def test_the_page_says_the_data_are_synthetic_and_how_they_were_made(built):
    _, page = built
    assert "These are synthetic data, not real clients." in page.text
    assert practice.COMMAND in page.text
    assert "7655 scores of 1000 clients of 50 therapists in 5 sites" in page.text


def test_the_stated_truth_is_the_simulator_that_made_the_shipped_file():
    shipped = cf.load_dataset("synthetic_practice")
    again = cf.simulate_practice(**practice.GENERATOR)
    assert len(again) == len(shipped)
    np.testing.assert_array_equal(np.asarray(again["score"], float), shipped["score"].to_numpy(float))
    np.testing.assert_array_equal(np.asarray(again["years"], float), shipped["years"].to_numpy(float))


def test_icc_two_and_three_levels_are_the_fits(built, fitted):
    _, page = built
    two, three = fitted["two"], fitted["three"]
    assert (f"ICC (therapist) = {two.icc:.4f}, 95% CI [{two.ci_low:.4f}, {two.ci_high:.4f}] "
            "(profile likelihood); true value 0.07") in page.text
    assert f"{two.n_clients} clients of {two.n_therapists} therapists ({two.dropped} clients" in page.text
    for value in (three.icc, three.icc_site, three.var_therapist, three.var_site, three.var_residual,
                  two.var_therapist, two.var_residual):
        assert f"{value:.4f}" in page.text
    assert f"[{three.ci_low:.4f}, {three.ci_high:.4f}]" in page.text
    shares = f"therapists' share is {100 * three.icc:.2f}% and the sites' {100 * three.icc_site:.2f}%"
    assert shares in page.text
    # the estimates near the truth they are shown beside (a check of the page's claim, not of the model)
    assert two.ci_low < 0.07 < two.ci_high and three.ci_low < 0.05 < three.ci_high


def test_fixed_effects_and_the_caterpillar_count(built, fitted):
    _, page = built
    two = fitted["two"]
    for r in two.coefficients.to_dict("records"):
        assert f"{r['term']} {r['estimate']:.4f} {r['se']:.4f} {r['stat']:.3f}" in page.text
        assert f"[{r['ci_low']:.4f}, {r['ci_high']:.4f}]" in page.text
    flagged = f"{two.n_flagged} intervals exclude 0; about {two.expected_flagged:.1f} expected by chance"
    assert flagged in page.text


def test_development_slope_with_satterthwaite_df(built, fitted):
    _, page = built
    dev = fitted["development"]
    assert dev.n == fitted["n_clients"]
    assert (f"Change per year of experience = {dev.slope:.4f}, 95% CI [{dev.slope_ci_low:.4f}, "
            f"{dev.slope_ci_high:.4f}] (Satterthwaite df = {dev.slope_df:.2f}, p = {dev.slope_pval:.4f}); "
            "true value -0.10") in page.text
    assert f"slopes vary with SD {dev.sd_slope:.4f} (true value 0)" in page.text
    years = dev.coefficients.set_index("term").loc["years"]
    assert f"years {years['estimate']:.4f} {years['se']:.4f} {years['df']:.2f}" in page.text


def test_monitoring_categories_flags_and_instrument(built, fitted):
    _, page = built
    mon = fitted["monitor"]
    n = sum(mon.counts.values())
    for name, k in mon.counts.items():
        row = (f"{name} {k} {100 * k / n:.1f} {mon.flags['flagged_outcomes'][name]} "
               f"{mon.flags['not_flagged_outcomes'][name]}")
        assert row in page.text
    f = mon.flags
    assert (f"{f['n_flagged']} of {f['n_clients']} clients ({100 * f['rate']:.1f}%) were flagged as not on "
            "track") in page.text
    assert f"{f['n_scores_flagged']} of {f['n_scores']} scores after intake" in page.text
    e = mon.early
    assert f"{e['n_responders']} of {e['n_assessed']} ({100 * e['rate']:.1f}%) responded early" in page.text
    assert "clinical cutoff 25 secondary no" in page.text
    assert "reliable change (points) 5 secondary no" in page.text
    assert "not the proprietary OQ-Analyst or Better Outcomes Now algorithms" in page.text
    for c in mon.curves["coefficients"]:
        assert f"{c['name']} {c['estimate']:.4f} {c['se']:.4f}" in page.text


def test_published_therapist_numbers_with_their_checked_flags(built):
    _, page = built
    assert "Firth, Saxon, Stiles & Barkham" in page.text
    assert "clinic effects: null three-level model (clinics, therapists, patients) 8.2%" in page.text
    assert "UNVERIFIED" in page.text and "secondary" in page.text


def test_images_load_and_no_negative_zero(built):
    path, page = built
    assert len(page.images) == 3
    from PIL import Image

    for img in page.images:
        f = path.parent / img["src"]
        with Image.open(f) as im:
            im.verify()
        assert (path.parent / img["src"].replace(".png", ".svg")).is_file()
        assert int(img["width"]) > 0 and int(img["height"]) > 0
    assert not re.search(r"-0\.0+(?![0-9])", page.text)
    assert practice.num(-0.00001) == "0.0000" and practice.num(-0.5, 1) == "-0.5"


def test_page_builds_deterministically(built, tmp_path):
    path, _ = built
    again = _build(tmp_path / "again")
    for name in [practice.PAGE, *(p.relative_to(path.parent).as_posix()
                                  for p in (path.parent / "figures").iterdir())]:
        assert (again.parent / name).read_bytes() == (path.parent / name).read_bytes(), name


@pytest.mark.slow
def test_the_site_links_the_practice_and_network_pages(built_site):
    from commonfactors.report import site

    index = (built_site / "index.html").read_text(encoding="utf-8")
    for _, page, *_ in site.EXTRA_PAGES:
        assert f'href="{page}"' in index
        text = (built_site / page).read_text(encoding="utf-8")
        for _, other, *_ in site.EXTRA_PAGES:  # the navigation of every page
            assert f'href="{other}"' in text
        parsed = PageText(text)
        assert parsed.images and all((built_site / img["src"]).is_file() for img in parsed.images)
    published = PageText((built_site / practice.PAGE).read_text(encoding="utf-8"))
    assert (built_site / "data" / "published" / "estimates.csv").is_file()
    assert (built_site / "data" / "synthetic_practice.csv").is_file() and published.text


def test_the_new_figures_fit_their_page_and_every_legend_entry_has_a_swatch(fitted):
    from matplotlib.collections import Collection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from commonfactors.report import figures

    dev = fitted["development"]
    bench = cf.therapist_benchmark(dev, "T01", times=[0.0, 2.5, 5.0, 7.5, 10.0])
    drawn = {"benchmark": figures.benchmark(bench, therapist="therapist T01", time="years of experience"),
             "monitor_curves": figures.monitor_curves(fitted["monitor"])}
    for name, fig in drawn.items():
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        page = fig.bbox
        for ax in fig.axes:
            box = ax.get_tightbbox(renderer)
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, f"{name}: cut"
            assert page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, f"{name}: cut"
            legend = ax.get_legend()
            assert legend is not None, name
            assert len(legend.legend_handles) == len(legend.get_texts()) >= 4
            for h in legend.legend_handles:
                assert isinstance(h, (Patch, Line2D, Collection)), (name, h)
    # the monitoring figure's curves are the fitted model's: b0 + b1 x + (b2 + b3 x) log(session)
    ax = drawn["monitor_curves"].axes[0]
    b = [c["estimate"] for c in fitted["monitor"].curves["coefficients"]]
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("expected, intake"))
    x = float(line.get_label().split()[-1])
    s, y = line.get_data()
    np.testing.assert_allclose(y, b[0] + b[1] * x + (b[2] + b[3] * x) * np.log(s), rtol=1e-12)
    # the benchmark figure's lines are the table's
    ax = drawn["benchmark"].axes[0]
    practice_line = next(ln for ln in ax.get_lines() if ln.get_label() == "practice benchmark")
    np.testing.assert_allclose(practice_line.get_ydata(), bench["benchmark"].to_numpy(), rtol=1e-12)
