"""Figures of the report (``commonfactors.report.figures``): what they draw, and deterministic files.

The BCG example (Colditz et al., 1994; metadat's dat.bcg, shipped as dataset ``bcg``) is drawn and the
drawn numbers are compared with metafor 3.8-1 on the same data (tests/reference/report.R; R calls beside
the numbers).
"""

import math
import zlib

import numpy as np
import pytest

import commonfactors as cf
from commonfactors.report import figures
from reference import load
from tolerances import IDENTITY_RTOL, METAFOR_RTOL

pytestmark = pytest.mark.filterwarnings("ignore::commonfactors.CommonFactorsWarning")

# metafor 3.8-1, tests/reference/report.R:
#   dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
#   res <- rma(yi, vi, data=dat)
REFERENCE = load("report")
BCG = REFERENCE["bcg_reml"]
# c(res$b, res$ci.lb, res$ci.ub, predict(res)$pi.lb, predict(res)$pi.ub)
BCG_REML = {name: BCG[name] for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")}
BCG_WEIGHTS = BCG["weights"]  # weights(res), percent
BCG_K0, BCG_SIDE = BCG["trimfill"]["k0"], BCG["trimfill"]["side"]  # trimfill(res)$k0, trimfill(res)$side
# qnorm(1 - c(.10, .05, .01) / 2)
Z_CONTOURS = dict(zip(REFERENCE["z_contours"]["p"], REFERENCE["z_contours"]["z"], strict=True))


@pytest.fixture(scope="module")
def bcg():
    data = cf.load_dataset("bcg")
    es = cf.effect_sizes(data, "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    slab = [f"{a}, {y}" for a, y in zip(data["author"], data["year"], strict=True)]
    return cf.meta_analysis(es, slab=slab)


def _texts(fig):
    return [t for t in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
            if t.get_text().strip()]


def test_forest_draws_metafor_numbers(bcg):
    fig = figures.forest(bcg, xlabel="log risk ratio")
    ax, tax, wax = fig.axes
    diamond = ax.patches[0].get_xy()[:, 0]
    rtol = METAFOR_RTOL["rma"]
    assert min(diamond) == pytest.approx(BCG_REML["ci_low"], rel=rtol)
    assert max(diamond) == pytest.approx(BCG_REML["ci_high"], rel=rtol)
    assert np.median(diamond) == pytest.approx(BCG_REML["estimate"], rel=rtol)
    segments = [s for c in ax.collections if hasattr(c, "get_segments") for s in c.get_segments()]
    pi_rows = [s for s in segments if np.allclose(s[:, 1], s[0, 1]) and s[0, 1] < 0]  # below the diamond
    assert len(pi_rows) == 1
    assert sorted(pi_rows[0][:, 0]) == pytest.approx([BCG_REML["pi_low"], BCG_REML["pi_high"]], rel=rtol)
    # one square per study, at yi, larger for heavier studies; CIs yi +- 1.96 sqrt(vi)
    squares = next(c for c in ax.collections if c.get_offsets().shape[0] == bcg.k)
    assert list(np.asarray(squares.get_offsets())[:, 0]) == pytest.approx(bcg.yi, rel=IDENTITY_RTOL)
    order = np.argsort(bcg.weights)
    assert np.all(np.diff(squares.get_sizes()[order]) >= 0)
    rows = [s for s in segments if s[0, 1] > 0]
    half = Z_CONTOURS[0.05] * np.sqrt(bcg.vi)
    assert [s[0, 0] for s in rows] == pytest.approx(bcg.yi - half, rel=1e-9)
    assert [s[1, 0] for s in rows] == pytest.approx(bcg.yi + half, rel=1e-9)
    # the printed weights are metafor's, to the printed decimal
    printed = [t.get_text() for t in wax.texts if t.get_text().endswith("%") and t.get_text() != "100%"]
    assert printed == [f"{w:.1f}%" for w in BCG_WEIGHTS]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "Aronson, 1948" and labels[-2].startswith("Random-effects model (REML), k = 13")
    assert labels[-1] == "95% prediction interval"


def test_forest_without_labels_for_many_studies():
    rng = np.random.default_rng(3)
    k = figures.MAX_LABELLED + 40
    vi = rng.uniform(0.01, 0.2, k)
    res = cf.meta_analysis(yi=rng.normal(0.3, 0.3, k), vi=vi)
    fig = figures.forest(res)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][0].startswith("Random-effects model")
    squares = next(c for c in ax.collections if c.get_offsets().shape[0] == k)
    assert np.all(np.diff(np.asarray(squares.get_offsets())[:, 0]) >= 0)  # sorted by effect size
    assert f"{k} studies sorted by effect size" in ax.get_xlabel()


def test_forest_of_a_meta_regression_has_no_prediction_interval(bcg):
    data = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    res = cf.meta_analysis(data, mods="~ ablat")
    labels = [t.get_text() for t in figures.forest(res).axes[0].get_yticklabels()]
    assert labels[-1].startswith("Intercept of the meta-regression")
    assert not any("prediction" in lab for lab in labels)


def test_funnel_points_contours_and_trim_and_fill(bcg):
    tf = cf.trim_and_fill(yi=bcg.yi, vi=bcg.vi)
    assert (tf.k0, tf.side) == (BCG_K0, BCG_SIDE)
    fig = figures.funnel(bcg, trim_fill=tf, xlabel="log risk ratio")
    ax = fig.axes[0]
    by_label = {c.get_label(): c for c in ax.collections}
    points = np.asarray(by_label["studies"].get_offsets())
    assert list(points[:, 0]) == pytest.approx(bcg.yi, rel=IDENTITY_RTOL)
    assert list(points[:, 1]) == pytest.approx(np.sqrt(bcg.vi), rel=IDENTITY_RTOL)
    assert by_label[f"imputed by trim and fill (k0 = {BCG_K0})"].get_offsets().shape == (BCG_K0, 2)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:4] == ["p > 0.1", "0.05 < p \u2264 0.1", "0.01 < p \u2264 0.05", "p \u2264 0.01"]
    se_top = ax.get_ylim()[0]
    for label, p in (("0.05 < p \u2264 0.1", 0.10), ("0.01 < p \u2264 0.05", 0.05), ("p \u2264 0.01", 0.01)):
        xs = by_label[label].get_paths()[0].vertices
        inner = np.min(np.abs(xs[np.isclose(xs[:, 1], se_top), 0]))
        assert inner == pytest.approx(Z_CONTOURS[p] * se_top, rel=1e-9)
    assert ax.yaxis_inverted()


def test_funnel_without_contours_draws_the_pseudo_confidence_region(bcg):
    ax = figures.funnel(bcg, contours=False).axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["pooled estimate \u00b1 1.96 se", "studies"]
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("pooled estimate"))
    x, y = line.get_data()
    assert x[1] == pytest.approx(BCG_REML["estimate"], rel=METAFOR_RTOL["rma"])
    assert (x[2] - x[1]) / y[2] == pytest.approx(Z_CONTOURS[0.05], rel=1e-12)


def test_pie_colours_are_seaborn_colour_blind_and_intervals_printed():
    import seaborn

    pie = cf.additive_pie()
    published = cf.published_pies()
    fig = figures.pie(pie, published)
    wedges = fig.axes[0].patches
    expected = seaborn.color_palette("colorblind")
    for i, c in enumerate(pie.components):
        assert wedges[i].get_facecolor()[:3] == pytest.approx(expected[i])
        assert c.factor in [t.get_text() for t in fig.axes[1].get_yticklabels()]
    texts = [t.get_text() for t in fig.axes[1].texts]
    c = pie.components[0]
    assert f"{100 * c.share:.1f} ({100 * c.ci_low:.1f}\u2013{100 * c.ci_high:.1f})" in texts
    sources = published.groupby(["source", "year"], sort=False).ngroups
    assert len(fig.axes) == 2 + 2 * sources  # our pie, its intervals, and a pie + legend per source
    titles = [t.get_text() for ax in fig.axes[3::2] for t in ax.texts[:1]]
    assert {"Lambert (1992)", "Asay & Lambert (1999)", "Laska et al. (2014)"} <= set(titles)


def test_pie_labels_every_slice_and_no_label_is_cut_or_overlaps():
    pie = cf.additive_pie()
    fig = figures.pie(pie, cf.published_pies())
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    labels = [t for t in fig.axes[0].texts if t.get_gid() == "slice-label"]
    assert len(labels) == len(pie.components) + 1  # every factor and the unexplained rest
    technique = next(c for c in pie.components if c.factor == "technique")
    assert technique.share < 0.001  # the thin slice the label must keep readable
    assert f"technique {100 * technique.share:.2f}%" in [t.get_text() for t in labels]
    renderer = canvas.get_renderer()
    page = fig.bbox
    boxes = [t.get_window_extent(renderer) for t in labels]
    for box in boxes:
        assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two slice labels overlap"
    for ax in fig.axes:  # no text of the figure drawn beyond its edges (nothing cut)
        for t in ax.texts:
            box = t.get_window_extent(renderer)
            assert box.x0 >= page.x0 - 0.5 and box.x1 <= page.x1 + 0.5, t.get_text()


def test_every_published_legend_entry_has_a_swatch_and_elements_their_own_colour():
    published = cf.published_pies()
    fig = figures.pie(cf.additive_pie(), published)
    groups = list(published.groupby(["source", "year"], sort=False))
    for j, ((_source, _year), g) in enumerate(groups):
        lax = fig.axes[3 + 2 * j]
        entries = [t for t in lax.texts if (t.get_gid() or "").startswith("entry-")]
        swatches = {p.get_gid(): p for p in lax.patches}
        rest = 1.0 - g["share"].fillna(0).sum() > 1e-9
        assert len(entries) == len(g) + rest  # each slice, and the unassigned rest
        for t in entries:
            assert "swatch-" + t.get_gid()[len("entry-"):] in swatches, t.get_text()
        colours = [swatches[f"swatch-{j}-{i}"].get_facecolor() for i in range(len(g))]
        assert len(set(colours)) == len(colours), f"two elements of {_source} share a colour"
    laska = next(j for j, ((s, _), _) in enumerate(groups) if s.startswith("Laska"))
    text = " ".join(t.get_text() for t in fig.axes[3 + 2 * laska].texts)
    assert "<1%" in text and "not assigned (hatched)" in text


def test_estimates_plot_and_none_without_numbers():
    from commonfactors.factors.taxonomy import element_estimates

    res = element_estimates("therapist-effects", pooled=False)
    fig = figures.estimates([res])
    assert fig.axes[0].get_xlabel() == figures.METRIC_LABELS["icc"]
    assert len(fig.axes[0].get_yticklabels()) == sum(math.isfinite(e.estimate) for e in res.estimates)
    assert figures.estimates([element_estimates("severity", pooled=False)]) is None


def test_figures_are_readable_at_print_size(bcg):
    pie = figures.pie(cf.additive_pie(), cf.published_pies())
    for fig in (figures.forest(bcg), figures.funnel(bcg), pie):
        assert fig.get_size_inches()[0] <= figures.WIDTH
        assert min(t.get_fontsize() for t in _texts(fig)) >= 6.5


def _png_text_chunks(data: bytes) -> list[bytes]:
    out, pos = [], 8
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            out.append(data[pos + 8:pos + 8 + n])
        assert zlib.crc32(data[pos + 4:pos + 8 + n]) == int.from_bytes(data[pos + 8 + n:pos + 12 + n], "big")
        pos += 12 + n
    return out


def test_save_is_byte_identical_for_the_same_input(bcg, tmp_path):
    tf = cf.trim_and_fill(yi=bcg.yi, vi=bcg.vi)
    pie = cf.additive_pie()
    for run in ("a", "b"):
        for name, fig in (("forest", figures.forest(bcg)), ("funnel", figures.funnel(bcg, trim_fill=tf)),
                          ("pie", figures.pie(pie, cf.published_pies()))):
            written = figures.save(fig, tmp_path / run / name)
            assert [p.suffix for p in written] == [".png", ".svg"]
    for name in ("forest", "funnel", "pie"):
        for suffix in (".png", ".svg"):
            a = (tmp_path / "a" / name).with_suffix(suffix)
            b = (tmp_path / "b" / name).with_suffix(suffix)
            assert a.read_bytes() == b.read_bytes(), f"{name}{suffix} differs between two builds"
            assert a.stat().st_mode & 0o777 == 0o644
        png = (tmp_path / "a" / name).with_suffix(".png").read_bytes()
        assert not any(c.startswith((b"Software", b"Creation Time")) for c in _png_text_chunks(png))
        svg = (tmp_path / "a" / name).with_suffix(".svg").read_text()
        assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert not list(tmp_path.glob("*/.*.tmp"))  # atomic writes leave no temporary files


# ---------------------------------------------------------------------------------------------------
# Baujat and cumulative forest plots

BCG_BAUJAT_X, BCG_BAUJAT_Y = BCG["baujat"]["x"], BCG["baujat"]["y"]  # b <- baujat(res); b$x; b$y
# cu <- cumul(res, order=dat$year); cu$slab; cu$estimate; cu$ci.lb; cu$ci.ub
BCG_CUMUL_ORDER = BCG["cumul"]["order"]
BCG_CUMUL = {name: BCG["cumul"][name] for name in ("estimate", "ci_low", "ci_high")}
# dat <- escalc(measure="OR", ai=n.ctrl.rec, bi=n.ctrl.non, ci=n.cbt.rec, di=n.cbt.non,
#               data=dat.landenberger2005)
# which(influence(rma(yi, vi, data=dat))$is.infl); then, run to convergence,
# b <- baujat(rma(yi, vi, data=dat, control=list(threshold=1e-12, maxiter=1000))) at the flagged row.
# With metafor's default REML threshold (1e-5) the refit without study 54 stops early (tau2 0.0335724 instead
# of 0.0335695) and b$y[54] is 3.15147145256232 (1.2e-4 relative); converged, it agrees with ours to 1e-11.
LANDENBERGER = REFERENCE["landenberger2005_or_reml"]
LANDENBERGER_FLAGGED = {"row": LANDENBERGER["influential"][0], "slab": LANDENBERGER["slab"][0],
                        "x": LANDENBERGER["baujat_x"], "y": LANDENBERGER["baujat_y"]}


@pytest.fixture(scope="module")
def bcg_data():
    data = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    data["label"] = [f"{a}, {y}" for a, y in zip(data["author"], data["year"], strict=True)]
    return data


def test_baujat_draws_metafor_values(bcg, bcg_data):
    rtol = METAFOR_RTOL["influence"]
    for source in (bcg, cf.baujat(bcg_data, slab="label")):  # from the fitted model or from baujat()
        ax = figures.baujat(source).axes[0]
        points = np.asarray(ax.collections[0].get_offsets())
        assert list(points[:, 0]) == pytest.approx(BCG_BAUJAT_X, rel=rtol)
        assert list(points[:, 1]) == pytest.approx(BCG_BAUJAT_Y, rel=rtol)
        labels = {t.get_text() for t in ax.texts}
        assert labels == set(bcg.slab)  # k = 13: every study labelled
        assert ax.get_xlim()[0] == 0.0 and ax.get_ylim()[0] == 0.0
        assert ax.get_title(loc="left") == "k = 13, tau\u00b2 estimator: REML"


def test_baujat_marks_the_studies_metafor_flags():
    data = cf.effect_sizes(cf.load_dataset("landenberger2005"), "OR", ai="n.ctrl.rec", bi="n.ctrl.non",
                           ci="n.cbt.rec", di="n.cbt.non")
    infl = cf.influence(data, slab="study")
    assert list(np.flatnonzero(infl.influential) + 1) == [LANDENBERGER_FLAGGED["row"]]
    fig = figures.baujat(cf.baujat(data, slab="study"), influential=infl.influential)
    ax = fig.axes[0]
    diamonds = next(c for c in ax.collections if c.get_label().startswith("influential"))
    (x, y), = np.asarray(diamonds.get_offsets())
    rtol = METAFOR_RTOL["influence"]
    assert (x, y) == (pytest.approx(LANDENBERGER_FLAGGED["x"], rel=rtol),
                      pytest.approx(LANDENBERGER_FLAGGED["y"], rel=rtol))
    labels = [t.get_text() for t in ax.texts]
    assert labels[0] == LANDENBERGER_FLAGGED["slab"]  # flagged studies are labelled first
    assert len(labels) <= figures.BAUJAT_LABELS
    assert ax.get_title(loc="left").endswith(f"{len(labels)} of 58 studies labelled")
    frame = ax.get_window_extent()
    for t in ax.texts:  # inside the axes, none covering another
        box = t.get_window_extent()
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
    boxes = [t.get_window_extent() for t in ax.texts]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_baujat_of_a_meta_regression_needs_its_moderators(bcg_data):
    res = cf.meta_analysis(bcg_data, mods="~ ablat")
    with pytest.raises(ValueError, match="needs its moderators"):
        figures.baujat(res)


def test_cumulative_forest_draws_metafor_numbers(bcg_data):
    cum = cf.cumulative(bcg_data, order="year", slab="label")
    fig = figures.cumulative_forest(cum, xlabel="log risk ratio", order_label="year")
    ax, tax = fig.axes
    rtol = METAFOR_RTOL["influence"]  # refits on subsets: metafor's REML stops at 1e-5 (2.5e-6 off here)
    points = np.asarray(ax.collections[1].get_offsets())
    assert list(points[:, 0]) == pytest.approx(BCG_CUMUL["estimate"], rel=rtol)
    assert np.all(np.diff(points[:, 1]) < 0)  # first study on top
    segments = ax.collections[0].get_segments()
    assert [s[0, 0] for s in segments] == pytest.approx(BCG_CUMUL["ci_low"], rel=rtol)
    assert [s[1, 0] for s in segments] == pytest.approx(BCG_CUMUL["ci_high"], rel=rtol)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = [bcg_data["label"].iloc[i - 1] for i in BCG_CUMUL_ORDER]
    assert labels == [f"+ {s}" for s in expected]  # the year is in the label already: not repeated
    assert tax.texts[0].get_text() == "-0.89 [-2.01, 0.23]"
    assert ax.get_xlabel() == ("cumulative estimate: log risk ratio\n"
                               "(studies added in order of year; tau\u00b2 by REML)")


def test_cumulative_forest_of_many_studies_is_a_band_with_year_ticks():
    rng = np.random.default_rng(5)
    k = figures.MAX_LABELLED + 40
    years = np.sort(rng.integers(1980, 2020, k))
    cum = cf.cumulative(yi=rng.normal(0.3, 0.3, k), vi=rng.uniform(0.01, 0.2, k), order=years.astype(float))
    ax = figures.cumulative_forest(cum, order_label="year").axes[0]
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == pytest.approx(cum.estimate, rel=IDENTITY_RTOL)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks[0] == f"{years[0]} (k = 1)" and 2 <= len(ticks) <= 21
    steps = [int(t.split("k = ")[1].rstrip(")")) for t in ticks]
    assert all(b - a >= k / 20 for a, b in zip(steps, steps[1:], strict=False))


def test_baujat_and_cumulative_files_are_byte_identical(bcg, bcg_data, tmp_path):
    cum = cf.cumulative(bcg_data, order="year", slab="label")
    for run in ("a", "b"):
        figures.save(figures.baujat(bcg), tmp_path / run / "baujat")
        figures.save(figures.cumulative_forest(cum, order_label="year"), tmp_path / run / "cumulative")
    for name in ("baujat.png", "baujat.svg", "cumulative.png", "cumulative.svg"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_report_figures_cut_no_text_and_every_legend_entry_has_a_handle(bcg):
    """The figures the site draws for a dataset and a factor: every text inside the figure (measured
    extents: nothing cut at an edge), and every legend entry drawn with its patch or line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from commonfactors.factors.taxonomy import ELEMENTS, element_estimates

    tf = cf.trim_and_fill(yi=bcg.yi, vi=bcg.vi)
    relationship = [element_estimates(e.name) for e in ELEMENTS if e.factor == "relationship"]
    drawn = {"forest": figures.forest(bcg, xlabel="log risk ratio"),
             "funnel": figures.funnel(cf.funnel_data(yi=bcg.yi, vi=bcg.vi), trim_fill=tf),
             "estimates": figures.estimates(relationship),
             "pie": figures.pie(cf.additive_pie(), cf.published_pies())}
    for name, fig in drawn.items():
        renderer = _drawn(fig)
        page = fig.bbox
        # each Axes with what it draws (tick labels in view, labels, titles, texts) and the figure's texts
        boxes = [(ax.get_tightbbox(renderer), f"axes {i}") for i, ax in enumerate(fig.axes)]
        boxes += [(t.get_window_extent(renderer), t.get_text()) for t in fig.texts if t.get_text()]
        for box, what in boxes:
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1, f"{name}: {what} cut"
            assert page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, f"{name}: {what} cut"
        for ax in fig.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            handles = legend.legend_handles
            assert len(handles) == len(legend.get_texts()), name
            for h in handles:
                assert isinstance(h, (Patch, Line2D)) or hasattr(h, "get_facecolor"), (name, h)
    assert any(ax.get_legend() for ax in drawn["funnel"].axes)  # the check above saw a legend


def test_estimates_without_interval_are_points_alone_with_the_reason_on_the_page():
    from commonfactors.factors.taxonomy import ELEMENTS, element_estimates
    from commonfactors.report import content

    results = [element_estimates(e.name) for e in ELEMENTS if e.factor == "relationship"]
    fig = figures.estimates(results)
    estimates = [e for r in results for e in r.estimates if e.metric in figures.METRIC_LABELS
                 and math.isfinite(e.estimate)]
    with_interval = [e for e in estimates if math.isfinite(e.ci_low) and math.isfinite(e.ci_high)]
    lines = sum(len(c.get_segments()) for ax in fig.axes for c in ax.collections
                if hasattr(c, "get_segments"))
    assert 0 < lines == len(with_interval) < len(estimates)
    for e in estimates:
        reason = content._no_interval(e)
        assert (reason == "") == (e in with_interval)
        if reason:
            assert reason.startswith("no interval: none is published in the source as seen") or \
                reason.startswith("no interval: the model")


def test_long_study_labels_are_shortened_by_a_rule_that_keeps_rows_apart_and_inside_the_figure(bcg):
    long = [f"{s} and a long description of the trial's population and setting, row {i}"
            for i, s in enumerate(bcg.slab)]
    res = cf.meta_analysis(yi=bcg.yi, vi=bcg.vi, slab=long)
    fig = figures.forest(res, xlabel="log risk ratio")
    renderer = _drawn(fig)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    shown = [lab for lab in labels if "\u2026" in lab]
    assert len(shown) == res.k and len(set(shown)) == res.k  # every row shortened, no two alike
    assert all(len(lab) <= 38 for lab in shown)
    for lab, full in zip(sorted(shown), sorted(long), strict=True):
        head, tail = lab.split("\u2026")
        assert full.startswith(head) and full.endswith(tail)
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        assert fig.bbox.x0 - 1 <= box.x0 and box.x1 <= fig.bbox.x1 + 1
