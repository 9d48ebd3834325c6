"""Figures of the report: forest, contour-enhanced funnel and variance pie plots.

Each plotting function takes result objects (:mod:`commonfactors.results`) and returns a
:class:`matplotlib.figure.Figure` built without pyplot (no global figure registry, no GUI backend; the
figures render through Agg). Colours come from seaborn's colour-blind palette (Waskom, 2021, J. Open
Source Softw. 6(60), 3021; the "colorblind" palette), and sizes are chosen for print: a 7.5-inch wide
figure with 9-point text reads as printed on an A4 or letter page.

:func:`save` writes a figure as PNG (for pages) and SVG (for print) deterministically: the same input
gives byte-identical files (no dates or software versions in the metadata, a fixed ``svg.hashsalt``, a
fixed resolution).
"""

from __future__ import annotations

import functools
import math
import os
import textwrap
from pathlib import Path

import numpy as np

from .._distributions import norm_ppf
from .._io_write import atomic_path

#: Resolution of the PNG files (pixels per inch).
DPI = 150
#: Width of a figure that spans the text of a printed page, in inches.
WIDTH = 7.5
#: Studies above which a forest plot drops its study labels and sorts the studies by effect size.
MAX_LABELLED = 60

#: matplotlib settings used while a figure is built and saved (fonts shipped with matplotlib only).
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "commonfactors",
    "svg.fonttype": "path",
    "path.simplify": False,
}

_GREY = "#8c8c8c"
_PALE = "#d9d9d9"


@functools.lru_cache(maxsize=1)
def palette() -> tuple[tuple[float, float, float], ...]:
    """seaborn's ten-colour colour-blind-safe palette, as RGB triples in 0-1."""
    import seaborn

    return tuple(tuple(float(v) for v in c) for c in seaborn.color_palette("colorblind"))


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _styled(fn):
    """Run ``fn`` with :data:`STYLE` in effect (the settings are read when artists are created)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


def _short(label, width: int = 38) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _fmt(x: float, digits: int = 2) -> str:
    return "NA" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


# ------------------------------------------------------------------------------------------------------
# forest plot


@_styled
def forest(result, *, xlabel: str = "effect size", title: str | None = None, digits: int = 2):
    """A forest plot: each study's effect with its confidence interval, the pooled diamond and the
    prediction interval.

    Parameters
    ----------
    result : commonfactors.results.MetaResult
        A fitted model (``meta_analysis``). Its ``yi``, ``vi``, ``slab`` and ``weights`` give the rows.
    xlabel : str
        Label of the effect-size axis (the measure and its scale).
    title : str, optional
        Figure title.
    digits : int
        Decimals of the printed estimates.

    Returns
    -------
    matplotlib.figure.Figure
        Studies in data order (sorted by effect size when there are more than :data:`MAX_LABELLED`, and
        then without labels); each a square whose side grows with the square root of the study's weight in
        the model (``weights``, 1 / (vi + tau2); side = s (1/4 + 3/4 sqrt(w / max w)), so that the area
        follows the weight and the lightest studies stay visible) with the ``level`` % Wald interval
        yi +- z sqrt(vi), z the standard normal quantile; the pooled
        estimate as a diamond spanning its confidence interval (the intercept's, for a meta-regression,
        whose prediction interval is not drawn); the prediction interval (Riley, Higgins & Deeks, 2011,
        BMJ 342:d549) as a bar below it. Printed to the right: estimate [CI] and weight (%).

    Examples
    --------
    >>> import commonfactors as cf
    >>> from commonfactors.report import figures
    >>> res = cf.meta_analysis(yi=[0.10, 0.30, 0.35, 0.65], vi=[0.010, 0.020, 0.015, 0.040])
    >>> fig = figures.forest(res, xlabel="standardised mean difference")
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()][-2:]
    ['Random-effects model (REML), k = 4', '95% prediction interval']

    References
    ----------
    Lewis, S., & Clarke, M. (2001). Forest plots: trying to see the wood and the trees. BMJ, 322(7300),
    1479-1480 (squares sized by weight, diamond for the pooled estimate).
    """
    yi = np.asarray(result.yi, dtype=float)
    vi = np.asarray(result.vi, dtype=float)
    w = np.asarray(result.weights, dtype=float)
    slab = [str(s) for s in result.slab]
    k = yi.shape[0]
    z = float(norm_ppf(1 - (1 - result.level / 100) / 2))
    lo, hi = yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)
    labelled = k <= MAX_LABELLED
    order = np.arange(k) if labelled else np.argsort(yi, kind="stable")
    share = 100 * w / w.sum()

    row_h = 0.2 if labelled else max(0.012, 6.0 / k)
    fig = _figure(WIDTH, min(11.0, 1.9 + row_h * k))
    grid = fig.add_gridspec(1, 3, width_ratios=[2.5, 1.15, 0.4], wspace=0.0)
    ax = fig.add_subplot(grid[0, 0])
    tax = fig.add_subplot(grid[0, 1], sharey=ax)
    wax = fig.add_subplot(grid[0, 2], sharey=ax)
    for t in (tax, wax):
        t.axis("off")
        t.set_xlim(0.0, 1.0)
    # first study on top; the diamond sits at 0 and the prediction interval at -u, one summary row of
    # height u below the studies (u grows with k when the studies are too many to label)
    u = 1.0 if labelled else k / 40
    ypos = np.arange(k, 0, -1) + 1.5 * u
    colour = palette()[0]
    side = (0.25 + 0.75 * np.sqrt(w / w.max())) * (7.0 if labelled else 3.0)  # square side in points
    ax.hlines(ypos, lo[order], hi[order], color="black", linewidth=0.8 if labelled else 0.4)
    ax.scatter(yi[order], ypos, s=side[order] ** 2, marker="s", color=colour, linewidths=0, zorder=3)

    dia = 0.0
    est, c_lo, c_hi = result.estimate, result.ci_low, result.ci_high
    ax.fill([c_lo, est, c_hi, est], [dia, dia + 0.45 * u, dia, dia - 0.45 * u], color="black", zorder=3)
    has_pi = not result.has_mods and math.isfinite(result.pi_low) and math.isfinite(result.pi_high)
    if has_pi:
        ax.errorbar(
            [est],
            [-u],
            xerr=[[est - result.pi_low], [result.pi_high - est]],
            fmt="none",
            ecolor=_GREY,
            elinewidth=2.0,
            capsize=4,
        )
    ax.axvline(0.0, color=_GREY, linestyle=":", linewidth=0.8)
    ax.axvline(est, color=_GREY, linestyle="--", linewidth=0.6)

    model = "Common-effect model" if result.common_effect else f"Random-effects model ({result.method})"
    if result.has_mods:
        model = f"Intercept of the meta-regression ({result.method})"
    ticks, names = [dia], [f"{model}, k = {k}"]
    if has_pi:
        ticks.append(-u)
        names.append(f"{result.level:g}% prediction interval")
    if labelled:
        ticks = [*ypos, *ticks]
        names = [_short(slab[i]) for i in order] + names
    ax.set_yticks(ticks, names)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-1.8 * u if has_pi else -u, k + 1.5 * u + 0.7)

    # text columns to the right: an axes of their own, sharing the rows
    head = k + 1.5 * u + 0.4
    tax.text(
        0.0, head, f"Estimate [{result.level:g}% CI]", ha="left", va="bottom", fontweight="bold", fontsize=8
    )
    wax.text(1.0, head, "Weight", ha="right", va="bottom", fontweight="bold", fontsize=8)
    if labelled:
        for y, i in zip(ypos, order, strict=True):
            tax.text(
                0.0,
                y,
                f"{_fmt(yi[i], digits)} [{_fmt(lo[i], digits)}, {_fmt(hi[i], digits)}]",
                ha="left",
                va="center",
                fontsize=8,
            )
            wax.text(1.0, y, f"{share[i]:.1f}%", ha="right", va="center", fontsize=8)
    tax.text(
        0.0,
        dia,
        f"{_fmt(est, digits)} [{_fmt(c_lo, digits)}, {_fmt(c_hi, digits)}]",
        ha="left",
        va="center",
        fontsize=8,
        fontweight="bold",
    )
    wax.text(1.0, dia, "100%", ha="right", va="center", fontsize=8, fontweight="bold")
    if has_pi:
        tax.text(
            0.0,
            -u,
            f"[{_fmt(result.pi_low, digits)}, {_fmt(result.pi_high, digits)}]",
            ha="left",
            va="center",
            fontsize=8,
            color="#555555",
        )
    heterogeneity = (
        ""
        if result.common_effect
        else (f"tau\u00b2 = {_fmt(result.tau2, 3)}, I\u00b2 = {_fmt(result.i2, 1)}%, ")
    )
    order_note = "" if labelled else f"; {k} studies sorted by effect size"
    ax.set_xlabel(f"{xlabel}\n({heterogeneity}Q({result.q_df}) = {_fmt(result.q, 2)}{order_note})")
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


# ------------------------------------------------------------------------------------------------------
# funnel plot


@_styled
def funnel(
    result,
    contours: bool = True,
    *,
    trim_fill=None,
    xlabel: str = "effect size",
    title: str | None = None,
    levels=(0.10, 0.05, 0.01),
):
    """A funnel plot of effect sizes against their standard errors, contour-enhanced by default.

    Parameters
    ----------
    result : commonfactors.results.MetaResult or commonfactors.results.FunnelData
        A fitted model (its points, and its funnel data computed with ``commonfactors.funnel_data`` and
        the model's tau2 estimator), or the funnel data itself.
    contours : bool
        Shade the regions where a study is significant at the two-sided levels ``levels``
        (Peters et al., 2008), centred on 0. Without contours, the pseudo confidence region
        estimate +- 1.96 se is drawn instead.
    trim_fill : commonfactors.results.TrimFillResult, optional
        Draw the studies imputed by trim and fill as open circles.
    xlabel, title : str
        Axis label (the measure and its scale) and figure title.
    levels : tuple of float
        Two-sided significance levels of the contours.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R., & Rushton, L. (2008). Contour-enhanced
    meta-analysis funnel plots help distinguish publication bias from other causes of asymmetry. Journal of
    Clinical Epidemiology, 61(10), 991-996. doi:10.1016/j.jclinepi.2007.11.010
    Sterne, J. A. C., & Egger, M. (2001). Funnel plots for detecting bias in meta-analysis. Journal of
    Clinical Epidemiology, 54(10), 1046-1055 (standard error on a reversed vertical axis).
    """
    from ..results.bias import FunnelData

    if isinstance(result, FunnelData):
        fd = result
    else:
        from ..models.bias import funnel_data

        method = "REML" if result.common_effect else result.method
        fd = funnel_data(yi=result.yi, vi=result.vi, slab=result.slab, method=method, levels=levels)
        if result.common_effect:
            fd = FunnelData(
                yi=fd.yi,
                sei=fd.sei,
                slab=fd.slab,
                estimate=result.estimate,
                se_max=fd.se_max,
                levels=fd.levels,
                z=fd.z,
            )
    sei = np.asarray(fd.sei, dtype=float)
    yi = np.asarray(fd.yi, dtype=float)
    se_top = fd.se_max * 1.05
    if trim_fill is not None and trim_fill.k0 > 0:
        se_top = max(se_top, float(np.sqrt(np.max(trim_fill.vi))) * 1.05)

    fig = _figure(WIDTH * 0.8, 4.6)
    ax = fig.add_subplot()
    se_line = np.array([0.0, se_top])
    handles = []
    if contours:
        greys = ["#e6e6e6", "#bdbdbd", "#8c8c8c"]
        ax.fill_between(
            [], [], [], facecolor="white", edgecolor=_GREY, linewidth=0.5, label=f"p > {max(fd.levels):g}"
        )
        pairs = sorted(zip(fd.levels, fd.z, strict=True), reverse=True)  # widest level (.10) first
        zs = [z for _, z in pairs]
        edges = [*zs, None]
        for j, (p, zl) in enumerate(pairs):
            zh = edges[j + 1]
            label = f"{pairs[j + 1][0]:g} < p \u2264 {p:g}" if zh is not None else f"p \u2264 {p:g}"
            colour = greys[min(j, len(greys) - 1)]
            outer = se_line * (zh if zh is not None else 1e3)  # beyond the last contour: to the edge
            for sign in (-1, 1):
                ax.fill_betweenx(
                    se_line,
                    sign * zl * se_line,
                    sign * outer,
                    color=colour,
                    linewidth=0,
                    label=label if sign == 1 else None,
                )
            handles.append(label)
        ax.axvline(0.0, color=_GREY, linewidth=0.6)
    z95 = float(norm_ppf(0.975))
    ax.plot(
        [fd.estimate - z95 * se_top, fd.estimate, fd.estimate + z95 * se_top],
        [se_top, 0.0, se_top],
        color="black",
        linestyle="--",
        linewidth=0.8,
        label="pooled estimate \u00b1 1.96 se",
    )
    ax.axvline(fd.estimate, color="black", linewidth=0.8)
    colour = palette()[0]
    ax.scatter(
        yi,
        sei,
        s=22 if yi.shape[0] <= 200 else 8,
        color=colour,
        edgecolors="black",
        linewidths=0.4,
        zorder=4,
        label="studies",
    )
    if trim_fill is not None and trim_fill.k0 > 0:
        filled = np.asarray(trim_fill.filled, dtype=bool)
        ax.scatter(
            np.asarray(trim_fill.yi)[filled],
            np.sqrt(np.asarray(trim_fill.vi)[filled]),
            s=22,
            facecolors="white",
            edgecolors="black",
            linewidths=0.8,
            zorder=4,
            label=f"imputed by trim and fill (k0 = {trim_fill.k0})",
        )
    ax.set_ylim(se_top, 0.0)
    spread = max(np.max(np.abs(yi - fd.estimate)), z95 * se_top) * 1.1
    centre = fd.estimate if not contours else 0.5 * fd.estimate
    half = spread + abs(fd.estimate - centre)
    ax.set_xlim(centre - half, centre + half)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("standard error")
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        frameon=False,
        title="two-sided significance" if contours else None,
        title_fontsize=8,
    )
    if title:
        ax.set_title(title, loc="left")
    return fig


# ------------------------------------------------------------------------------------------------------
# published and pooled estimates of a factor

#: axis label of each metric of ``commonfactors.results.ElementEstimate``
METRIC_LABELS = {
    "r": "correlation with outcome (r)",
    "d": "standardised mean difference (d or g)",
    "icc": "share of variance between therapists (ICC)",
}


@_styled
def estimates(element_results, *, title: str | None = None):
    """A forest-style plot of the estimates linked to the elements of one factor.

    Parameters
    ----------
    element_results : sequence of commonfactors.results.ElementResult
        The elements' estimates (``commonfactors.factors.taxonomy.element_estimates``).

    Returns
    -------
    matplotlib.figure.Figure or None
        One panel per metric (r, d, ICC): each estimate as a point with its 95% confidence interval
        where one was published or computed, filled for estimates checked against their source (or pooled
        here from shipped data) and open otherwise, labelled "element: estimate (source, year)". None when
        no estimate is numeric on one of these metrics.
    """
    rows = {m: [] for m in METRIC_LABELS}
    for res in element_results:
        for e in res.estimates:
            if e.metric in rows and math.isfinite(e.estimate):
                rows[e.metric].append((res.element, e))
    panels = [(m, r) for m, r in rows.items() if r]
    if not panels:
        return None
    n = sum(len(r) for _, r in panels)
    fig = _figure(WIDTH, 0.9 + 0.24 * n + 0.75 * len(panels))
    grid = fig.add_gridspec(len(panels), 1, height_ratios=[len(r) + 2.2 for _, r in panels])
    pal = palette()
    for j, (metric, items) in enumerate(panels):
        ax = fig.add_subplot(grid[j, 0])
        ys = np.arange(len(items))[::-1]
        labels = []
        for y, (element, e) in zip(ys, items, strict=True):
            checked = e.origin == "pooled" or e.verified == "yes"
            colour = pal[2] if e.origin == "pooled" else pal[0]
            if math.isfinite(e.ci_low) and math.isfinite(e.ci_high):
                ax.hlines(y, e.ci_low, e.ci_high, color="black", linewidth=0.9)
            ax.plot(
                e.estimate,
                y,
                marker="D" if e.origin == "pooled" else "o",
                markersize=5.5,
                color=colour if checked else "white",
                markeredgecolor=colour,
                markeredgewidth=1.2,
                linestyle="none",
            )
            who = "pooled here" if e.origin == "pooled" else _short(e.source.split(",")[0], 22)
            year = f", {e.year}" if e.year else ""
            labels.append(_short(f"{element}: {e.label}", 46) + f" ({who}{year})")
        ax.set_yticks(ys, labels, fontsize=7.5)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.7, len(items) - 0.3)
        ax.axvline(0.0, color=_GREY, linestyle=":", linewidth=0.8)
        ax.set_xlabel(METRIC_LABELS[metric])
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


# ------------------------------------------------------------------------------------------------------
# variance pies

#: keywords (in order) that colour a published pie's category like one of our factors
_FACTOR_WORDS = (
    ("unexplained", ("unexplained", "error")),
    ("expectancy", ("expectancy", "placebo", "hope")),
    ("therapist", ("therapist",)),
    ("client", ("client", "patient", "extratherapeutic", "extra-therapeutic")),
    ("technique", ("technique", "treatment", "model", "specific ingredient", "adherence", "competence")),
    (
        "relationship",
        (
            "relationship",
            "alliance",
            "empathy",
            "regard",
            "congruence",
            "goal",
            "collaboration",
            "common factor",
            "non-specific",
        ),
    ),
)


def factor_colours(factors) -> dict[str, tuple]:
    """Colour of each factor name (palette order), and grey for "unexplained"."""
    pal = palette()
    out = {f: pal[i % len(pal)] for i, f in enumerate(factors)}
    out["unexplained"] = (0.85, 0.85, 0.85)
    return out


def _category_colour(category: str, colours: dict, fallback):
    text = category.lower()
    if text.startswith("specific factors"):
        return colours.get("technique", fallback)
    for factor, words in _FACTOR_WORDS:
        if factor in colours and any(word in text for word in words):
            return colours[factor]
    return fallback


def _pie_axes(ax, shares, colours, *, start=90):
    ax.pie(
        shares,
        colors=colours,
        startangle=start,
        counterclock=False,
        wedgeprops={"linewidth": 0.8, "edgecolor": "white"},
    )
    ax.set_aspect("equal")


@_styled
def pie(pie_result, published=None, *, title: str | None = None):
    """Our variance pie with its intervals, beside the published pies.

    Parameters
    ----------
    pie_result : commonfactors.results.PieResult
        Each factor's share of outcome variance with its Monte Carlo interval (``additive_pie`` or
        ``dominance_pie``).
    published : pandas.DataFrame, optional
        The published pies, one row per slice (``commonfactors.published_pies()``: ``source``, ``year``,
        ``category``, ``share``, ``share_text``, ``scale``, ``verified``). One small pie per source, with
        its slices in the colour of the factor they name; what a source leaves unassigned is drawn as a
        grey "not assigned" slice, and a slice published only as text ("<1") is listed but not drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Top: our pie (factors and the unexplained rest) and each share with its interval as a dot and
        whisker (percent of outcome variance). Below: the published pies, titled with source, year, what
        the shares are shares of, and whether the numbers were checked against the source.
    """
    comps = list(pie_result.components)
    factors = [c.factor for c in comps]
    colours = factor_colours(factors)
    groups = []
    if published is not None and len(published):
        for (source, year), g in published.groupby(["source", "year"], sort=False):
            groups.append(_published_legend(source, int(year), g, colours))
    # each row of published pies is as tall as its longer legend (LINE inches per line of text)
    heights = [
        max(2.2, 0.3 + _LINE * max(sum(len(w) for w in grp["lines"]) for grp in groups[i : i + 2]))
        for i in range(0, len(groups), 2)
    ]
    fig = _figure(WIDTH, 3.3 + sum(heights))
    grid = fig.add_gridspec(1 + len(heights), 4, height_ratios=[3.3, *heights])

    ax = fig.add_subplot(grid[0, 0:2])
    shares = [max(c.share, 0.0) for c in comps] + [max(pie_result.unexplained.share, 0.0)]
    _pie_axes(ax, shares, [colours[f] for f in factors] + [colours["unexplained"]])
    level = f"{pie_result.level:g}%"
    method = {"additive": "additive: each factor's r\u00b2", "dominance": "dominance weights of R\u00b2"}
    ax.set_title(
        f"This analysis\n({method.get(pie_result.method, pie_result.method)})",
        fontsize=9,
        fontweight="bold",
        loc="left",
    )

    bx = fig.add_subplot(grid[0, 2:4])
    names = [*factors, "all factors", "unexplained"]
    vals = [*(c.share for c in comps), pie_result.r2.share, pie_result.unexplained.share]
    los = [*(c.ci_low for c in comps), pie_result.r2.ci_low, pie_result.unexplained.ci_low]
    his = [*(c.ci_high for c in comps), pie_result.r2.ci_high, pie_result.unexplained.ci_high]
    ys = np.arange(len(names))[::-1]
    for y, name, v, lo, hi in zip(ys, names, vals, los, his, strict=True):
        c = colours.get(name, (0.3, 0.3, 0.3))
        if math.isfinite(lo) and math.isfinite(hi):
            bx.hlines(y, 100 * lo, 100 * hi, color="black", linewidth=1.0)
        bx.plot(100 * v, y, marker="o", color=c, markeredgecolor="black", markersize=6, linestyle="none")
        bx.text(
            1.0,
            y,
            f"{100 * v:.1f} ({_fmt(100 * lo, 1)}\u2013{_fmt(100 * hi, 1)})",
            transform=bx.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=7.5,
        )
    bx.set_yticks(ys, names)
    bx.tick_params(axis="y", length=0)
    bx.set_xscale("symlog", linthresh=1.0)
    bx.set_xlim(0, 100)
    bx.set_xticks([0, 1, 2, 5, 10, 20, 50, 100], ["0", "1", "2", "5", "10", "20", "50", "100"])
    bx.set_xlabel(f"% of outcome variance ({level} interval)")
    bx.grid(axis="x", color="#eeeeee", linewidth=0.6)
    bx.set_axisbelow(True)

    for j, grp in enumerate(groups):
        row, col = 1 + j // 2, 2 * (j % 2)
        pax = fig.add_subplot(grid[row, col])
        lax = fig.add_subplot(grid[row, col + 1])
        lax.axis("off")
        vals, cols = grp["vals"], grp["cols"]
        draw_vals, draw_cols = list(vals), list(cols)
        if grp["rest"] > 1e-9:
            draw_vals.append(grp["rest"])
            draw_cols.append("white")
        _pie_axes(pax, [max(v, 0.0) for v in draw_vals], draw_cols)
        for wedge in pax.patches[len(vals) :]:
            wedge.set_edgecolor(_GREY)
            wedge.set_hatch("///")
        step = _LINE / heights[row - 1]  # one line of text, in axes fraction
        y = 1.0
        for i, text in enumerate(grp["lines"]):
            if i >= 2 and i - 2 < len(vals) and vals[i - 2] > 0:
                lax.add_patch(_swatch(lax, y, cols[i - 2], step))
            lax.text(
                0.1 if i >= 2 else 0.0,
                y,
                "\n".join(text),
                transform=lax.transAxes,
                ha="left",
                va="top",
                fontsize=6.8,
                color="#555555" if i == 1 else "black",
                fontweight="bold" if i == 0 else None,
                linespacing=1.15,
            )
            y -= step * len(text)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold")
    return fig


#: height of one line of 6.8-point legend text with its spacing, in inches
_LINE = 0.125


def _published_legend(source: str, year: int, g, colours) -> dict:
    """Slices, colours and legend lines (title, what the shares are of, one line per slice) of one
    published pie."""
    cats = list(g["category"])
    vals = [float(s) if s == s else 0.0 for s in g["share"]]
    cols = [_category_colour(c, colours, palette()[7]) for c in cats]
    rest = 1.0 - sum(vals)
    author = _short(source.split("(")[0].strip().rstrip(","), 34)
    checked = set(g["verified"])
    flag = (
        "checked" if checked == {"yes"} else "secondary source" if "yes" not in checked else "partly checked"
    )
    lines = [f"{author} ({year})", f"share of {g['scale'].iloc[0]}; {flag}"]
    lines += [
        f"{t}%  " + textwrap.shorten(c, 44, placeholder="\u2026")
        for c, t in zip(cats, g["share_text"], strict=True)
    ]
    if rest > 1e-9:
        lines.append(f"{100 * rest:.3g}%  not assigned (hatched)")
    wrapped = [textwrap.wrap(line, 30 if i >= 2 else 34) for i, line in enumerate(lines)]
    return {"vals": vals, "cols": cols, "rest": rest, "lines": wrapped}


def _swatch(ax, y, colour, height):
    from matplotlib.patches import Rectangle

    return Rectangle(
        (0.0, y - 0.9 * height),
        0.07,
        0.75 * height,
        transform=ax.transAxes,
        facecolor=colour,
        edgecolor=_GREY,
        linewidth=0.4,
        clip_on=False,  # no clip path: its SVG id would hash the axes box, which may differ in the last bit
    )


# ------------------------------------------------------------------------------------------------------
# saving


def save(fig, path, *, formats=("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``, deterministically and atomically.

    The PNG has no "Software" entry and the SVG no date or creator, and SVG element IDs come from a fixed
    hash salt, so the same figure gives byte-identical files on every run. Each file is written to a
    temporary name and moved into place (``commonfactors._io_write``).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.
    """
    import matplotlib

    path = Path(path)
    written = []
    meta = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    }
    with matplotlib.rc_context(STYLE):
        for i, fmt in enumerate(formats):
            if i == 1:  # the first format's layout holds for the others: no layout engine, no pre-draw
                fig.set_layout_engine(None)
            target = path.with_suffix(f".{fmt}")
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format=fmt, dpi=DPI, metadata=meta.get(fmt), facecolor="white")
            os.chmod(target, 0o644)  # readable when served (mkstemp creates files for the owner only)
            written.append(target)
    return written
