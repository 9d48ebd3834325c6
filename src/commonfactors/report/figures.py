"""Figures of the report: forest, contour-enhanced funnel, variance pie, Baujat and cumulative forest plots,
and the caterpillar plot of therapist effects.

Each plotting function takes result objects (:mod:`commonfactors.results`) and returns a
:class:`matplotlib.figure.Figure` built without pyplot (no global figure registry, no GUI backend; the
figures render through Agg). Colours come from seaborn's colour-blind palette (Waskom, 2021, J. Open
Source Softw. 6(60), 3021; the "colorblind" palette), and sizes are chosen for print: a 7.5-inch wide
figure with 9-point text reads as printed on an A4 or letter page.

:func:`save` writes a figure as PNG (for pages) and SVG (for print) deterministically: the same input
gives byte-identical files (no dates or software versions in the metadata, a fixed ``svg.hashsalt``, a
fixed resolution).

Text from data (study labels, titles, axis labels, order values) is drawn as typed: every label, title
and note has ``parse_math=False``, so ``Smith $5 vs $10`` keeps its dollars and ``\\frac{1}{`` is not
read as mathtext. Figures stay bounded at any number of studies k: a forest plot labels at most
:data:`MAX_LABELLED` rows, a Baujat plot at most :data:`BAUJAT_LABELS` points, and above
:data:`VECTOR_STUDIES` studies the SVG embeds the layer of study markers as an image.
"""

from __future__ import annotations

import functools
import math
import os
import sys
import textwrap
from pathlib import Path

import numpy as np

from .._distributions import norm_ppf
from .._io_write import atomic_path
from .._plotting import register
from .._transforms import back_transform
from ..errors import InputError

#: Resolution of the PNG files (pixels per inch).
DPI = 150
#: Width of a figure that spans the text of a printed page, in inches.
WIDTH = 7.5
#: Studies above which the report's forest plot drops its study labels and sorts the studies by effect size.
MAX_LABELLED = 60
#: Studies up to which a forest plot drawn from Python or the command line labels every study, in a figure
#: that grows :data:`TALL_ROW` inches a study beyond :data:`MAX_LABELLED` (500 studies: an 82-inch PNG).
LABEL_LIMIT = 500
TALL_ROW = 0.16
#: Rows of a page of a forest plot drawn with ``commonfactors plot forest --page N``.
PAGE_ROWS = 50
#: The back-transformations a forest plot's axis accepts (``transf=``): monotone, and of one value each.
FOREST_TRANSFORMS = ("exp", "ztor", "ilogit", "iarcsin")
#: Studies up to which the SVG files draw every study as a vector shape; above it, the layer of study
#: markers is embedded in the SVG as an image at :data:`DPI` (a 10,000-study forest plot: 0.1 MB instead of
#: 3 MB, written four times faster). The PNG files are the same either way.
VECTOR_STUDIES = 1000

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
    """A new figure: a plain matplotlib Figure (nothing global, nothing shown), or, inside IPython or
    Jupyter, one made through pyplot, so that the notebook shows it below the cell as any other plot."""
    if _interactive():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(width, height), dpi=DPI, layout="constrained")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _interactive() -> bool:
    """Whether an IPython shell or Jupyter kernel is running (where figures are expected to show)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and getattr(ipython, "get_ipython", lambda: None)() is not None


def _own_axes(ax, width: float, height: float):
    """(figure, Axes): ``ax`` and its figure, or a new ``width`` x ``height`` inch figure with one Axes."""
    if ax is not None:
        return ax.figure, ax
    fig = _figure(width, height)
    return fig, fig.add_subplot()


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


def _short_middle(label, width: int = 38) -> str:
    """A row label of at most ``width`` characters: longer ones keep their start and their last
    characters (where a year or a number often tells two rows apart) around an ellipsis; the page that
    shows the figure gives the full labels in its table."""
    text = str(label)
    if len(text) <= width:
        return text
    tail = max(4, width // 3)
    return text[: width - 1 - tail].rstrip() + "\u2026" + text[-tail:].lstrip()


def _value_text(value) -> str:
    """An order value as printed: whole numbers without decimals (1948.0 -> "1948")."""
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _fmt(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals; "NA" when missing; never "-0.00" (a negative that rounds to 0)."""
    if x is None or not math.isfinite(x):
        return "NA"
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


# ------------------------------------------------------------------------------------------------------
# forest plot


@register("forest", labels=LABEL_LIMIT)
@_styled
def forest(result, *, xlabel: str = "effect size", title: str | None = None, digits: int = 2, ax=None,
           transf: str | None = None, cluster=None, labels: int = MAX_LABELLED, rows: slice | None = None):
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
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes (the printed columns go into two Axes to its right, inside its figure); by
        default a figure of its own.
    transf : str, optional
        A back-transformation of :mod:`commonfactors._transforms` ("exp", "ztor", "ilogit", "iarcsin"): the
        axis is labelled and the estimates printed on the natural scale, the intervals kept symmetric on the
        model's scale (metafor's ``forest(res, atransf=exp)``).
    cluster : array_like, optional
        The study of each effect size (one per row of the model): one row per study, its effect the
        inverse-variance average of the study's effect sizes, sum(yi / vi) / sum(1 / vi), with variance
        1 / sum(1 / vi), as metafor's ``aggregate(dat, cluster = study, rho = 0)``; its weight the sum of
        its effect sizes' weights in the model. The axis label states the rule.
    labels : int
        Rows up to which every row is labelled (a taller figure; by default :data:`MAX_LABELLED`, the
        page height of the report; :data:`LABEL_LIMIT` from ``plot_forest`` and the command line).
    rows : slice, optional
        The rows drawn, counted after ``cluster`` (a page: ``slice(50, 100)`` draws rows 51 to 100), with
        the weights, the square sizes and the pooled estimate of the whole model; the axis label says which.

    Returns
    -------
    matplotlib.figure.Figure
        Studies in data order (sorted by effect size when there are more than ``labels``, and
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
    n_effects = yi.shape[0]
    if cluster is not None:
        yi, vi, w, slab = _aggregate(yi, vi, w, cluster)
    total, w_max = yi.shape[0], w.max()
    share = 100 * w / w.sum()
    if rows is not None:
        shown = np.arange(total)[rows]
        if shown.size == 0:
            raise InputError(f"rows {rows.start}:{rows.stop} select none of the {total} rows",
                             expected=f"a slice within 0:{total}")
        yi, vi, w, share, slab = yi[shown], vi[shown], w[shown], share[shown], [slab[i] for i in shown]
    k = yi.shape[0]
    back = _back(transf)
    z = float(norm_ppf(1 - (1 - result.level / 100) / 2))
    lo, hi = yi - z * np.sqrt(vi), yi + z * np.sqrt(vi)
    labelled = k <= labels
    order = np.arange(k) if labelled else np.argsort(yi, kind="stable")

    row_h = 0.2 if labelled else max(0.012, 6.0 / k)
    if ax is None:
        height = min(11.0, 1.9 + row_h * k) if k <= MAX_LABELLED or not labelled else 1.9 + TALL_ROW * k
        fig = _figure(WIDTH, height)
        grid = fig.add_gridspec(1, 3, width_ratios=[2.5, 1.15, 0.4], wspace=0.0)
        ax = fig.add_subplot(grid[0, 0])
        tax = fig.add_subplot(grid[0, 1], sharey=ax)
        wax = fig.add_subplot(grid[0, 2], sharey=ax)
    else:  # the columns beside the given Axes, in the same proportions
        fig = ax.figure
        tax = ax.inset_axes([1.0, 0.0, 1.15 / 2.5, 1.0], sharey=ax)
        wax = ax.inset_axes([1.0 + 1.15 / 2.5, 0.0, 0.4 / 2.5, 1.0], sharey=ax)
    for t in (tax, wax):
        t.axis("off")
        t.set_xlim(0.0, 1.0)
    # first study on top; the diamond sits at 0 and the prediction interval at -u, one summary row of
    # height u below the studies (u grows with k when the studies are too many to label)
    u = 1.0 if labelled else k / 40
    ypos = np.arange(k, 0, -1) + 1.5 * u
    colour = palette()[0]
    side = (0.25 + 0.75 * np.sqrt(w / w_max)) * (7.0 if labelled else 3.0)  # square side in points
    raster = k > VECTOR_STUDIES
    ax.hlines(ypos, lo[order], hi[order], color="black", linewidth=0.8 if labelled else 0.4,
              rasterized=raster)
    ax.scatter(yi[order], ypos, s=side[order] ** 2, marker="s", color=colour, linewidths=0, zorder=3,
               rasterized=raster)

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
    ticks, names = [dia], [f"{model}, k = {n_effects}"]
    if has_pi:
        ticks.append(-u)
        names.append(f"{result.level:g}% prediction interval")
    if labelled:
        ticks = [*ypos, *ticks]
        names = [_short_middle(slab[i]) for i in order] + names
    ax.set_yticks(ticks, names, parse_math=False)  # study labels are text: '$', '\\' drawn as typed
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(-1.8 * u if has_pi else -u, k + 1.5 * u + 0.7)

    # text columns to the right: an axes of their own, sharing the rows
    head = k + 1.5 * u + 0.4
    tax.text(
        0.0, head, f"Estimate [{result.level:g}% CI]", ha="left", va="bottom", fontweight="bold", fontsize=8,
        parse_math=False,
    )
    wax.text(1.0, head, "Weight", ha="right", va="bottom", fontweight="bold", fontsize=8, parse_math=False)
    if labelled:
        for y, i in zip(ypos, order, strict=True):
            tax.text(
                0.0,
                y,
                f"{_fmt(back(yi[i]), digits)} [{_fmt(back(lo[i]), digits)}, {_fmt(back(hi[i]), digits)}]",
                ha="left",
                va="center",
                fontsize=8,
                parse_math=False,
            )
            wax.text(1.0, y, f"{share[i]:.1f}%", ha="right", va="center", fontsize=8, parse_math=False)
    tax.text(
        0.0,
        dia,
        f"{_fmt(back(est), digits)} [{_fmt(back(c_lo), digits)}, {_fmt(back(c_hi), digits)}]",
        ha="left",
        va="center",
        fontsize=8,
        fontweight="bold",
        parse_math=False,
    )
    wax.text(1.0, dia, "100%", ha="right", va="center", fontsize=8, fontweight="bold", parse_math=False)
    if has_pi:
        tax.text(
            0.0,
            -u,
            f"[{_fmt(back(result.pi_low), digits)}, {_fmt(back(result.pi_high), digits)}]",
            ha="left",
            va="center",
            fontsize=8,
            color="#555555",
            parse_math=False,
        )
    heterogeneity = (
        ""
        if result.common_effect
        else (f"tau\u00b2 = {_fmt(result.tau2, 3)}, I\u00b2 = {_fmt(result.i2, 1)}%, ")
    )
    order_note = "" if labelled else f"; {k} studies sorted by effect size"
    if rows is not None:
        order_note += f"; rows {shown[0] + 1} to {shown[-1] + 1} of {total}"
    if cluster is not None:
        order_note += (f")\n(one row per study, {n_effects} effect sizes in {k} studies: the "
                       "inverse-variance average of a study's effect sizes")
    ax.set_xlabel(f"{xlabel}\n({heterogeneity}Q({result.q_df}) = {_fmt(result.q, 2)}{order_note})",
                  parse_math=False)
    if transf is not None:
        _natural_ticks(ax, transf)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


#: the inverse of each back-transformation: a natural-scale value's place on the model's axis
_FORWARD = {"exp": np.log, "ztor": np.arctanh, "ilogit": lambda p: np.log(p / (1.0 - p)),
            "iarcsin": lambda p: np.arcsin(np.sqrt(p))}


def _natural_ticks(ax, transf: str) -> None:
    """Ticks of the x axis at round values of the natural scale (1, 2, 5 times a power of ten for "exp";
    matplotlib's round steps otherwise), placed on the model's scale (metafor's ``atransf``)."""
    from matplotlib.ticker import LogLocator, MaxNLocator

    left, right = ax.get_xlim()
    lo, hi = (float(back_transform(transf, x)) for x in (left, right))
    locator = LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)) if transf == "exp" else MaxNLocator(6)
    values = np.array([v for v in locator.tick_values(lo, hi) if lo <= v <= hi])
    values = values[np.isfinite(_FORWARD[transf](values))] if values.size else values
    ax.set_xticks(_FORWARD[transf](values), [f"{v:g}" for v in values])
    ax.set_xlim(left, right)


def _back(transf: str | None):
    """The back-transformation ``transf`` of a number (the identity for None)."""
    if transf is None:
        return float
    if transf not in FOREST_TRANSFORMS:
        raise InputError(f"transf is {transf!r}", expected=f"one of {', '.join(FOREST_TRANSFORMS)}")
    return lambda x: float(back_transform(transf, x))


def _aggregate(yi, vi, w, cluster):
    """One row per study of ``cluster`` (in order of first appearance): the inverse-variance average of its
    effect sizes and its variance, sum(yi / vi) / sum(1 / vi) and 1 / sum(1 / vi) (metafor's
    ``aggregate.escalc`` with ``rho = 0``: independent sampling errors within a study), and the sum of the
    effect sizes' model weights ``w``."""
    cluster = np.asarray(cluster, dtype=object)
    if cluster.shape != yi.shape:
        raise InputError(f"cluster has {cluster.shape[0] if cluster.ndim else 1} values for {yi.shape[0]} "
                         "effect sizes", expected="one study label per effect size")
    names, first, index = np.unique(cluster.astype(str), return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")  # study -> its row, data order
    row = rank[index.ravel()]
    m = names.shape[0]
    inv = np.bincount(row, weights=1.0 / vi, minlength=m)
    y = np.bincount(row, weights=yi / vi, minlength=m) / inv
    studies = [str(c) for c in cluster[first[np.argsort(rank)]]]
    return y, 1.0 / inv, np.bincount(row, weights=w, minlength=m), studies


# ------------------------------------------------------------------------------------------------------
# funnel plot


@register("funnel")
@_styled
def funnel(
    result,
    contours: bool = True,
    *,
    ax=None,
    trim_fill=None,
    xlabel: str = "effect size",
    title: str | None = None,
    levels=(0.10, 0.05, 0.01),
    transf: str | None = None,
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
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes; by default a figure of its own.
    trim_fill : commonfactors.results.TrimFillResult, optional
        Draw the studies imputed by trim and fill as open circles.
    xlabel, title : str
        Axis label (the measure and its scale) and figure title.
    levels : tuple of float
        Two-sided significance levels of the contours.
    transf : str, optional
        As :func:`forest`: the axis labelled on the natural scale (metafor's ``funnel(res, atransf=exp)``);
        the points stay on the model's scale, where the funnel is symmetric.

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

    fig, ax = _own_axes(ax, WIDTH * 0.8, 4.6)
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
        rasterized=yi.shape[0] > VECTOR_STUDIES,
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
    if transf is not None:
        _back(transf)  # an unknown transformation refused before ticks are placed
        _natural_ticks(ax, transf)
    ax.set_xlabel(xlabel, parse_math=False)
    ax.set_ylabel("standard error")
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(1.01, 0.0),
        frameon=False,
        title="two-sided significance" if contours else None,
        title_fontsize=8,
    )
    if title:
        ax.set_title(title, loc="left", parse_math=False)
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
            labels.append(_short_middle(f"{element}: {e.label}", 46) + f" ({who}{year})")
        ax.set_yticks(ys, labels, fontsize=7.5, parse_math=False)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(-0.7, len(items) - 0.3)
        ax.axvline(0.0, color=_GREY, linestyle=":", linewidth=0.8)
        ax.set_xlabel(METRIC_LABELS[metric])
        ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
    _estimates_legend(fig, pal)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


def _estimates_legend(fig, pal) -> None:
    """The legend of :func:`estimates` below its panels: what the markers and lines mean, and that a point
    without a line has no published interval."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", color=pal[0], linestyle="none", markersize=5.5),
        Line2D([], [], marker="o", color="white", markeredgecolor=pal[0], markeredgewidth=1.2,
               linestyle="none", markersize=5.5),
        Line2D([], [], marker="D", color=pal[2], linestyle="none", markersize=5.5),
        Line2D([], [], color="black", linewidth=0.9),
    ]
    labels = ["published, checked", "published, not checked", "pooled here",
              "95% CI (a point alone: none published)"]
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7.5, frameon=False)


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


def _pie_axes(ax, shares, colours, *, start=90, counterclock=False):
    ax.pie(
        shares,
        colors=colours,
        startangle=start,
        counterclock=counterclock,
        wedgeprops={"linewidth": 0.8, "edgecolor": "white"},
    )
    ax.set_aspect("equal")


def short_citation(source: str, year=None) -> str:
    """A reference's short label as cited in the text (APA): "Lambert (1992)", "Asay & Lambert (1999)",
    "Laska et al. (2014)"; the authors are the "Surname, I. I." pairs before the year."""
    import re

    head = re.split(r"\(\d{4}", str(source), maxsplit=1)[0]
    names = re.findall(r"((?:(?:van|von|de|der|den|del|da|di|le|la) )*[A-Z][\w'\u2019-]*), (?:[A-Z]\.[ -]?)+",
                       head)
    if not names:
        names = [head.split(",")[0].strip() or str(source)]
    label = names[0] if len(names) == 1 else (
        f"{names[0]} & {names[1]}" if len(names) == 2 else f"{names[0]} et al.")
    return label if year is None else f"{label} ({year})"


def _shade(colour, i: int, n: int):
    """The ``i``-th of ``n`` shades of ``colour`` (the colour itself first, then lighter ones), so that
    slices naming the same factor stay apart."""
    if n <= 1 or i == 0:
        return tuple(colour)
    t = 0.7 * i / (n - 1)
    return tuple(float(c + (1.0 - c) * t) for c in colour)


def _pct(share: float) -> str:
    """A share (0-1) as a percent label: two significant digits below 1% (0.09%), one decimal above."""
    p = 100.0 * share
    if not math.isfinite(p):
        return "NA"
    if abs(p) < 1:
        return _fmt(p, 2) + "%"
    return f"{p:.1f}%"


def _slice_labels(ax, wedges, labels, *, radius=1.0, gap=0.2, inside=0.15):
    """Label every wedge of a pie: a slice of at least ``inside`` of the pie inside it, every other one
    beside it with a leader line from the wedge's edge. Labels beside the pie are spread vertically at
    least ``gap`` apart (data units; a line of 7.5-point text), so that a thin slice's label (0.09%) stays
    readable next to its neighbours'."""
    total = sum(w.theta2 - w.theta1 for w in wedges) or 1.0
    sides = {1: [], -1: []}
    for wedge, text in zip(wedges, labels, strict=True):
        angle = math.radians((wedge.theta1 + wedge.theta2) / 2.0)
        x, y = radius * math.cos(angle), radius * math.sin(angle)
        if (wedge.theta2 - wedge.theta1) / total >= inside:
            ax.text(0.55 * x, 0.55 * y, text, ha="center", va="center", fontsize=7.5, parse_math=False,
                    gid="slice-label")
            continue
        sides[1 if x >= 0 else -1].append([y, x, text])
    for side, items in sides.items():
        items.sort(key=lambda item: -item[0])
        placed = []
        for y, _x, _t in items:
            target = min(1.15 * y, 1.25)
            if placed and placed[-1] - target < gap:
                target = placed[-1] - gap
            placed.append(target)
        for (y, x, text), ly in zip(items, placed, strict=True):
            lx = side * 1.3
            ax.plot([x, side * 1.12, lx - side * 0.04], [y, ly, ly], color=_GREY, linewidth=0.6,
                    clip_on=False, solid_capstyle="butt")
            ax.text(lx, ly, text, ha="left" if side > 0 else "right", va="center", fontsize=7.5,
                    parse_math=False, clip_on=False, gid="slice-label")


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
        ``category``, ``share``, ``share_text``, ``scale``, ``verified``). One small pie per source, titled
        with its short citation (:func:`short_citation`; the full reference is on the page), its slices in
        the colour of the factor they name, slices naming the same factor in shades of that colour
        (:func:`_shade`); what a source leaves unassigned is drawn as a hatched "not assigned" slice, and a
        slice published only as text ("<1") is listed with its swatch but not drawn.

    Returns
    -------
    matplotlib.figure.Figure
        Top: our pie (factors and the unexplained rest), every slice labelled beside it with its share and a
        leader line (:func:`_slice_labels`), and each share with its interval as a dot and whisker (percent
        of outcome variance). Below: the published pies, each legend entry with its swatch.
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
    _pie_axes(ax, shares, [colours[f] for f in factors] + [colours["unexplained"]], counterclock=True)
    _slice_labels(ax, ax.patches[: len(shares)],
                  [f"{f} {_pct(s)}" for f, s in zip([*factors, "unexplained"], shares, strict=True)])
    ax.set_xlim(-2.45, 1.1)  # the factors' slices (counter-clockwise from the top) are labelled on the left
    ax.set_ylim(-1.15, 1.4)
    level = f"{pie_result.level:g}%"
    method = {"additive": "additive: each factor's r\u00b2", "dominance": "dominance weights of R\u00b2"}
    ax.set_title(
        f"This analysis\n({method.get(pie_result.method, pie_result.method)})",
        fontsize=9,
        fontweight="bold",
        loc="left",
        parse_math=False,
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
            1.04,
            y,
            f"{_pct(v)[:-1]} ({_pct(lo)[:-1]}\u2013{_pct(hi)[:-1]})",
            transform=bx.get_yaxis_transform(),
            ha="left",
            va="center",
            fontsize=7.5,
            parse_math=False,
        )
    bx.set_yticks(ys, names, parse_math=False)
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
            entry = i - 2  # legend entries follow the title and the scale
            if entry >= 0:
                hatched = entry >= len(vals)
                swatch = _swatch(lax, y, "white" if hatched else cols[entry], step,
                                 hatch="///" if hatched else None)
                swatch.set_gid(f"swatch-{j}-{entry}")
                lax.add_patch(swatch)
            artist = lax.text(
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
                parse_math=False,
            )
            if entry >= 0:
                artist.set_gid(f"entry-{j}-{entry}")
            y -= step * len(text)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


#: height of one line of 6.8-point legend text with its spacing, in inches
_LINE = 0.125


def _published_legend(source: str, year: int, g, colours) -> dict:
    """Slices, colours and legend lines (short citation, what the shares are of, one line per slice, and
    the unassigned rest) of one published pie. Slices naming the same factor get shades of its colour."""
    cats = list(g["category"])
    vals = [float(s) if s == s else 0.0 for s in g["share"]]
    base = [_category_colour(c, colours, palette()[7]) for c in cats]
    counts = {b: base.count(b) for b in base}
    seen: dict = {}
    cols = []
    for b in base:
        cols.append(_shade(b, seen.get(b, 0), counts[b]))
        seen[b] = seen.get(b, 0) + 1
    rest = 1.0 - sum(vals)
    checked = set(g["verified"])
    flag = (
        "checked" if checked == {"yes"} else "secondary source" if "yes" not in checked else "partly checked"
    )
    lines = [short_citation(source, year), f"share of {g['scale'].iloc[0]}; {flag}"]
    lines += [
        f"{t}%  {c}" + ("" if v > 0 else " (not drawn)")
        for c, t, v in zip(cats, g["share_text"], vals, strict=True)
    ]
    if rest > 1e-9:
        lines.append(f"{100 * rest:.3g}%  not assigned (hatched)")
    wrapped = [textwrap.wrap(line, 30 if i >= 2 else 34) for i, line in enumerate(lines)]
    return {"vals": vals, "cols": cols, "rest": rest, "lines": wrapped}


def _swatch(ax, y, colour, height, hatch=None):
    from matplotlib.patches import Rectangle

    return Rectangle(
        (0.0, y - 0.9 * height),
        0.07,
        0.75 * height,
        transform=ax.transAxes,
        facecolor=colour,
        edgecolor=_GREY,
        hatch=hatch,
        linewidth=0.4,
        clip_on=False,  # no clip path: its SVG id would hash the axes box, which may differ in the last bit
    )


# ------------------------------------------------------------------------------------------------------
# influence and sensitivity: Baujat plot, cumulative forest plot

#: Studies up to which a Baujat plot labels every point; above it, only the flagged studies and the
#: :data:`BAUJAT_LABELS` studies farthest out on either axis are labelled.
BAUJAT_ALL_LABELS = 30
BAUJAT_LABELS = 8
#: Most prominent studies whose labels a Baujat plot of more than :data:`BAUJAT_ALL_LABELS` studies tries to
#: place (the work stays bounded at any k, even where no label fits).
BAUJAT_TRIED = 100


@register("baujat")
@_styled
def baujat(result_or_data, *, ax=None, influential=None, title: str | None = None):
    """A Baujat plot: each study's contribution to the heterogeneity (x) against its influence on the
    pooled estimate (y).

    Parameters
    ----------
    result_or_data : commonfactors.results.BaujatResult or commonfactors.results.MetaResult
        The plot's data (``commonfactors.baujat``), or a model without moderators (``meta_analysis``),
        whose ``yi``, ``vi``, ``slab`` and tau2 estimator give them.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes; by default a figure of its own (the labels are placed once its layout is
        fixed: a given Axes' figure keeps its layout from then on).
    influential : array_like of bool, optional
        Studies to mark (one per study, in the same order), e.g. ``commonfactors.influence(...).influential``
        (metafor's rules); drawn as red diamonds, and labelled first.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One point per study at x_i = (y_i - b)^2 / (v_i + tau2), the squared Pearson residual (for a
        common-effect model, the study's contribution to Cochran's Q), and y_i = (b - b_(-i))^2 /
        Var(b_(-i)), the squared change of the pooled estimate when the study is left out, standardised by
        the variance of the estimate without it (metafor's ``baujat``). Every study is labelled when there are
        at most :data:`BAUJAT_ALL_LABELS`; otherwise at most :data:`BAUJAT_LABELS`, the flagged ones first and
        then those farthest out, as far as their labels fit without covering each other (tried for the
        :data:`BAUJAT_TRIED` most prominent; the title says how many).

    Raises
    ------
    ValueError
        ``result_or_data`` is a meta-regression (pass ``commonfactors.baujat(..., mods=...)`` instead).

    References
    ----------
    Baujat, B., Mahé, C., Pignon, J.-P., & Hill, C. (2002). A graphical method for exploring heterogeneity in
    meta-analyses: application to a meta-analysis of 65 trials. Statistics in Medicine, 21(18), 2641-2652
    (Figure 1: contribution to the overall heterogeneity statistic against influence on the overall result).
    """
    from ..results.influence import BaujatResult

    data = result_or_data
    if not isinstance(data, BaujatResult):
        if data.has_mods:
            raise ValueError("a Baujat plot of a meta-regression needs its moderators: pass "
                             "commonfactors.baujat(data, mods=...) instead of the fitted model")
        import commonfactors as cf

        data = cf.baujat(yi=data.yi, vi=data.vi, slab=data.slab, method=data.method)
    x = np.asarray(data.x, dtype=float)
    y = np.asarray(data.y, dtype=float)
    slab = [str(s) for s in data.slab]
    k = x.shape[0]
    flagged = np.zeros(k, dtype=bool) if influential is None else np.asarray(influential, dtype=bool)
    if flagged.shape != (k,):
        raise ValueError(f"influential has {flagged.shape[0]} values for {k} studies")

    fig, ax = _own_axes(ax, WIDTH * 0.8, 4.6)
    pal = palette()
    ax.scatter(x[~flagged], y[~flagged], s=24 if k <= 200 else 10, color=pal[0], edgecolors="black",
               linewidths=0.4, zorder=3, label="studies", rasterized=k > VECTOR_STUDIES)
    if flagged.any():
        ax.scatter(x[flagged], y[flagged], s=40, marker="D", color=pal[3], edgecolors="black", linewidths=0.5,
                   zorder=4, label="influential (metafor's rules)")
    finite = np.isfinite(x) & np.isfinite(y)
    x_top = max(1.0, float(np.max(x[finite])) if finite.any() else 1.0) * 1.18
    y_top = max(1e-3, float(np.max(y[finite])) if finite.any() else 1.0) * 1.12
    ax.set_xlim(0.0, x_top)
    ax.set_ylim(0.0, y_top)
    common = data.method in ("FE", "EE", "CE")
    ax.set_xlabel("contribution to heterogeneity: " + ("share of Cochran's Q" if common else
                                                        "squared Pearson residual"))
    ax.set_ylabel("influence on the pooled estimate")
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    if flagged.any():
        ax.legend(loc="upper left", frameon=False)
    heading = ax.set_title(f"k = {k}, tau\u00b2 estimator: {data.method}", loc="left", fontsize=8,
                           color="#555555", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    # labels last, once the layout is fixed: most prominent first (flagged studies, then by the larger of
    # the two coordinates as a fraction of its axis)
    label_all = k <= BAUJAT_ALL_LABELS
    prominence = np.where(finite, np.maximum(x / x_top, y / y_top), -1.0) + 2.0 * flagged
    candidates = [i for i in np.argsort(-prominence, kind="stable") if finite[i]]
    if not label_all:
        candidates = candidates[:BAUJAT_TRIED]
    n_labels = _place_labels(fig, ax, [(x[i], y[i], _short(slab[i], 26), label_all) for i in candidates],
                             limit=k if label_all else BAUJAT_LABELS)
    if n_labels < k:
        heading.set_text(f"{heading.get_text()}; {n_labels} of {k} studies labelled")
    return fig


#: label offsets tried in turn (points from the point, and the label's alignment): right, left, centred
#: above and below, then one line farther out
_OFFSETS = ((4, 3, "left"), (4, -10, "left"), (-4, 3, "right"), (-4, -10, "right"), (0, 6, "center"),
            (0, -14, "center"), (8, 11, "left"), (8, -18, "left"), (-8, 11, "right"), (-8, -18, "right"))


def _place_labels(fig, ax, points, *, limit: int) -> int:
    """Label points (x, y, text, must) in the order given, each at the first offset of :data:`_OFFSETS`
    where it stays inside the axes and covers no earlier label and no point; a label without such a place
    is dropped
    unless ``must`` (then it takes the first offset inside the axes). Labels beyond ``limit`` are drawn
    only when ``must``. One layout pass fixes the axes first, so the text extents are the final ones.

    Returns the number of labels drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()  # the figure is saved through Agg at the same dpi
    fig.draw_without_rendering()
    fig.set_layout_engine(None)  # the labels stay inside the axes: the layout does not change
    frame = ax.get_window_extent(renderer)
    dots = ax.transData.transform([(x, y) for x, y, _, _ in points]) if points else np.empty((0, 2))
    placed = []
    for x, y, text, must in points:
        if len(placed) >= limit and not must:
            continue
        fallback = None
        for dx, dy, ha in _OFFSETS:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, fontsize=7,
                                color="#333333", parse_math=False)
            box = label.get_window_extent(renderer)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            free = not any(box.overlaps(other) for other in placed) and not np.any(
                (dots[:, 0] > box.x0 - 3) & (dots[:, 0] < box.x1 + 3) & (dots[:, 1] > box.y0 - 3)
                & (dots[:, 1] < box.y1 + 3))
            if inside and free:
                break
            label.remove()
            if inside and fallback is None:
                fallback = (dx, dy, ha)
        else:
            if not must:
                continue
            dx, dy, ha = fallback or _OFFSETS[0]
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, fontsize=7,
                                color="#333333", parse_math=False)
            box = label.get_window_extent(renderer)
        placed.append(box)
    return len(placed)


@register("cumulative")
@_styled
def cumulative_forest(result, *, xlabel: str = "effect size", order_label: str | None = None,
                      level: float = 95, title: str | None = None, digits: int = 2, ax=None,
                      transf: str | None = None):
    """A cumulative forest plot: the pooled estimate and its confidence interval as the studies are added
    one at a time (metafor's ``forest(cumul(...))``).

    Parameters
    ----------
    result : commonfactors.results.CumulativeResult
        The cumulative meta-analysis (``commonfactors.cumulative``, e.g. with ``order="year"``).
    order_label : str, optional
        What the studies are ordered by (a column name such as "year"), shown under the axis.
    level : float
        Confidence level (percent) the cumulative analysis was run at, for the column heading (a
        ``CumulativeResult`` does not record it).
    xlabel, title, digits, ax
        As :func:`forest`: the effect-size axis label, the figure title, decimals of the printed estimates,
        an Axes to draw into (the printed column goes into an Axes to its right).
    transf : str, optional
        As :func:`forest`: the printed estimates back-transformed and the axis labelled on the natural
        scale (metafor's ``forest(cumul(res), transf=exp)``).

    Returns
    -------
    matplotlib.figure.Figure
        Row j (top to bottom) is the model of the first j studies: its estimate (a circle) and confidence
        interval, labelled "+ study added (order value)", with estimate [CI] printed to the right; the
        dashed line marks the estimate with all studies. With more than :data:`MAX_LABELLED` steps the
        intervals become a shaded band around the line of estimates, and
        the axis marks the order values (e.g. years) instead of the studies.

    References
    ----------
    Lau, J., Antman, E. M., Jimenez-Silva, J., Kupelnick, B., Mosteller, F., & Chalmers, T. C. (1992).
    Cumulative meta-analysis of therapeutic trials for myocardial infarction. New England Journal of
    Medicine, 327(4), 248-254 (Figure 1: cumulative estimates with their intervals, by year).
    """
    back = _back(transf)
    est = np.asarray(result.estimate, dtype=float)
    lo = np.asarray(result.ci_low, dtype=float)
    hi = np.asarray(result.ci_high, dtype=float)
    slab = [str(s) for s in result.slab]
    values = [_value_text(v) for v in result.order_value]
    k = est.shape[0]
    labelled = k <= MAX_LABELLED
    ypos = np.arange(k, 0, -1, dtype=float)
    colour = palette()[0]

    if ax is None:
        fig = _figure(WIDTH, min(11.0, 1.6 + (0.2 * k if labelled else 4.0)))
        grid = fig.add_gridspec(1, 2, width_ratios=[2.5, 1.15], wspace=0.0)
        ax = fig.add_subplot(grid[0, 0])
        tax = fig.add_subplot(grid[0, 1], sharey=ax)
    else:
        fig = ax.figure
        tax = ax.inset_axes([1.0, 0.0, 1.15 / 2.5, 1.0], sharey=ax)
    tax.axis("off")
    tax.set_xlim(0.0, 1.0)
    if labelled:
        ax.hlines(ypos, lo, hi, color="black", linewidth=0.8)
        ax.scatter(est, ypos, s=22, marker="o", color=colour, edgecolors="black", linewidths=0.4, zorder=3)
        names = [f"+ {_short(s)}" + ("" if v in s or order_label is None else f" ({v})")
                 for s, v in zip(slab, values, strict=True)]
        ax.set_yticks(ypos, names, parse_math=False)
        for y, e, a, b in zip(ypos, est, lo, hi, strict=True):
            tax.text(0.0, y, f"{_fmt(back(e), digits)} [{_fmt(back(a), digits)}, {_fmt(back(b), digits)}]",
                     ha="left",
                     va="center", fontsize=8, parse_math=False)
        tax.text(0.0, k + 0.6, f"Estimate [{level:g}% CI]", ha="left", va="bottom",
                 fontweight="bold", fontsize=8, parse_math=False)
    else:
        ax.fill_betweenx(ypos, lo, hi, color=colour, alpha=0.3, linewidth=0, label="confidence interval")
        ax.plot(est, ypos, color=colour, linewidth=1.0, label="cumulative estimate")
        # a tick where an order value first appears, at least k / 20 steps below the previous tick
        ticks = []
        for j in range(k):
            if (j == 0 or values[j] != values[j - 1]) and (not ticks or j - ticks[-1] >= k / 20):
                ticks.append(j)
        ax.set_yticks(ypos[ticks], [f"{values[j]} (k = {j + 1})" for j in ticks], parse_math=False)
        tax.text(0.0, ypos[-1], f"all k = {k}:\n{_fmt(back(est[-1]), digits)} [{_fmt(back(lo[-1]), digits)}, "
                 f"{_fmt(back(hi[-1]), digits)}]", ha="left", va="center", fontsize=8, fontweight="bold",
                 parse_math=False)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.set_ylim(0.3, k + 1.2 if labelled else k + 0.5)
    ax.axvline(0.0, color=_GREY, linestyle=":", linewidth=0.8)
    ax.axvline(est[-1], color=_GREY, linestyle="--", linewidth=0.6)
    if transf is not None:
        _natural_ticks(ax, transf)
    order = f"studies added in order of {order_label}" if order_label else "studies added in data order"
    model = "common-effect model" if result.method in ("FE", "EE", "CE") else f"tau\u00b2 by {result.method}"
    ax.set_xlabel(f"cumulative estimate: {xlabel}\n({order}; {model})", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


# ------------------------------------------------------------------------------------------------------
# caterpillar plot of therapist effects

#: Therapists up to which every row of a caterpillar plot is labelled with its therapist and n; above it about
#: this many rows are labelled, evenly spaced in rank, the first and last always.
CATERPILLAR_LABELS = 60


def _caterpillar_rows(result) -> dict:
    """The columns a caterpillar plot draws: from a TherapistResult's ``ranef`` table (or such a table
    itself), or from a DevelopmentResult's ``slopes`` (each therapist's slope, fixed + random)."""
    slopes = getattr(result, "slopes", None)
    if slopes is not None:
        table, effect = slopes, "slope"
    else:
        table, effect = getattr(result, "ranef", result), "eb"
    columns = table.columns if hasattr(table, "columns") else table.keys()
    missing = [c for c in ("therapist", "n", effect, "ci_low", "ci_high") if c not in columns]
    if missing:
        raise ValueError(f"a caterpillar plot needs the columns therapist, n, {effect}, ci_low and ci_high "
                         f"of the therapist effects; missing: {', '.join(missing)}")
    eb = np.asarray(table[effect], dtype=float)
    lo = np.asarray(table["ci_low"], dtype=float)
    hi = np.asarray(table["ci_high"], dtype=float)
    flag = (np.asarray(table["flag"], dtype=int) if "flag" in columns
            else np.where(lo > 0, 1, np.where(hi < 0, -1, 0)))
    level = float(getattr(result, "level", 95.0))
    m = eb.shape[0]
    n_flagged = int(getattr(result, "n_flagged", int(np.count_nonzero(flag))))
    expected = getattr(result, "expected_flagged", None)
    expected = (1 - level / 100) * m if expected is None else float(expected)
    return {"label": [str(t) for t in table["therapist"]], "n": np.asarray(table["n"], dtype=int), "eb": eb,
            "lo": lo, "hi": hi, "flag": flag, "level": level, "n_flagged": n_flagged, "expected": expected,
            "slopes": slopes is not None, "average": float(getattr(result, "slope", 0.0)),
            "outcome": getattr(result, "outcome", None), "time": getattr(result, "time", "time")}


@register("caterpillar")
@_styled
def caterpillar(result, *, ax=None, xlabel: str | None = None, title: str | None = None,
                labels: int = CATERPILLAR_LABELS):
    """A caterpillar plot: each therapist's empirical Bayes effect (or slope) with its interval, sorted.

    Parameters
    ----------
    result : commonfactors.results.TherapistResult, commonfactors.results.DevelopmentResult or DataFrame
        A fit of :func:`commonfactors.therapist_effects` (its ``ranef`` table, ``level``, ``n_flagged`` and
        ``expected_flagged``); a fit of :func:`commonfactors.therapist_development` (its ``slopes``: each
        therapist's slope with its prediction interval); or a table with the columns therapist, n, eb,
        ci_low, ci_high (and flag: -1, 0, +1; else read from the intervals), drawn at the 95% level.
    ax : matplotlib.axes.Axes, optional
        Draw into this Axes; by default a figure of its own, taller with more therapists up to
        :data:`CATERPILLAR_LABELS` rows, then of a fixed height.
    xlabel : str, optional
        Label of the effect axis (by default it names the result's outcome, and time for slopes).
    title : str, optional
        Figure title.
    labels : int
        Therapists up to which every row is labelled; above it about ``labels`` rows, evenly spaced in rank
        (the lowest and the highest always).

    Returns
    -------
    matplotlib.figure.Figure
        One row per therapist, the lowest at the bottom: the predicted effect u_j (a point) with its interval
        (a line), coloured when the interval excludes 0 (above or below the average therapist of the
        practice, adjusted for the model's fixed effects); a vertical line at 0; each labelled row reads
        "therapist (n = clients)". The heading gives how many intervals exclude 0 beside the number expected
        by chance alone, alpha * m: with no therapist effect at all, about that many would. For slopes, each
        therapist's change per unit of time (the average slope plus the therapist's own) with its
        prediction interval, the average slope as a second line, and the count of slopes whose interval
        excludes 0 (no number expected by chance: the average slope need not be 0).

    Notes
    -----
    The effects are empirical Bayes predictions, u_j = sigma_t^2 n_j / (sigma_t^2 n_j + sigma^2) * r_j (r_j
    the therapist's mean residual), with the conditional variance (1/sigma_t^2 + n_j/sigma^2)^-1 (lme4's
    ``ranef(condVar = TRUE)``): shrunk towards 0 the more, the fewer clients a therapist has, and not
    allowing for the uncertainty of the estimated variances.

    References
    ----------
    Adams, J. L., Mehrotra, A., Thomas, J. W., & McGlynn, E. A. (2010). Physician cost profiling:
    reliability and risk of misclassification. New England Journal of Medicine, 362(11), 1014-1021 (ranking
    providers by shrunken estimates and the misclassification of those with few cases).
    Goldstein, H., & Spiegelhalter, D. J. (1996). League tables and their limitations: statistical issues in
    comparisons of institutional performance. Journal of the Royal Statistical Society A, 159(3), 385-443
    (ranked institutions with intervals).
    """
    rows = _caterpillar_rows(result)
    eb, lo, hi, flag = rows["eb"], rows["lo"], rows["hi"], rows["flag"]
    m = eb.shape[0]
    order = np.lexsort((np.arange(m), eb))  # lowest first (bottom); ties in table order
    many = m > labels
    if ax is None:
        height = 1.6 + (0.17 * m if not many else 0.17 * labels + 0.6)
        fig, ax = _own_axes(None, WIDTH * 0.8, min(max(height, 2.4), 12.0))
    else:
        fig = ax.figure
    pal = palette()
    colours = {1: pal[2], -1: pal[3], 0: _GREY}
    names = {1: "above 0", -1: "below 0", 0: "interval includes 0"}
    ypos = np.arange(1, m + 1)
    raster = m > VECTOR_STUDIES
    for f in (0, -1, 1):
        sel = order[flag[order] == f]
        if sel.size == 0:
            continue
        y = ypos[flag[order] == f]
        ax.hlines(y, lo[sel], hi[sel], color=colours[f], linewidth=0.9 if not many else 0.45,
                  rasterized=raster, label=f"{names[f]} ({sel.size})")
        ax.scatter(eb[sel], y, s=14 if not many else 3, color="black" if f == 0 else colours[f], zorder=3,
                   linewidths=0, rasterized=raster)
    ax.axvline(0.0, color="black", linestyle="--", linewidth=0.8)
    shown = np.arange(m) if not many else np.unique(np.linspace(0, m - 1, labels).round().astype(int))
    ax.set_yticks(ypos[shown], [f"{_short(rows['label'][order[i]], 20)} (n = {rows['n'][order[i]]})"
                                for i in shown], parse_math=False)
    ax.tick_params(axis="y", length=0 if not many else 2, labelsize=7.5 if not many else 6.5)
    ax.set_ylim(0.3, m + 0.7)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    level, k, outcome = rows["level"], rows["n_flagged"], rows["outcome"]
    ranked = f"; {len(shown)} of {m} rows labelled" if many else ""
    if rows["slopes"]:
        ax.axvline(rows["average"], color=pal[0], linestyle=":", linewidth=1.0,
                   label=f"average slope ({rows['average']:.3g})")
        if xlabel is None:
            xlabel = f"change in {outcome or 'the outcome'} per unit of {rows['time']}"
        ax.set_xlabel(f"{xlabel}: each therapist's slope with {level:g}% prediction interval",
                      parse_math=False)
        flagged = "1 therapist's slope excludes" if k == 1 else f"{k} therapists' slopes exclude"
        heading = f"{m} therapists, sorted by slope{ranked}\n{flagged} 0 at the {level:g}% level"
    else:
        if xlabel is None:
            xlabel = f"therapist effect on {outcome}" if outcome else "therapist effect (outcome units)"
        ax.set_xlabel(f"{xlabel}: empirical Bayes prediction with {level:g}% interval", parse_math=False)
        flagged = "1 therapist's interval excludes" if k == 1 else f"{k} therapists' intervals exclude"
        heading = (f"{m} therapists, sorted by effect{ranked}\n{flagged} 0; about "
                   f"{_expected_text(rows['expected'])} expected by chance at the {level:g}% level")
        if getattr(result, "singular", False):
            heading += "\nsingular fit: the therapist variance is estimated at 0, so every effect is 0"
    ax.set_title(heading, loc="left", fontsize=8.5, color="#333333", parse_math=False)
    handles, texts = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], texts[::-1], loc="lower right", frameon=False, fontsize=7.5)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


def _expected_text(x: float) -> str:
    """The expected number of false flags as printed: one decimal below 10, whole numbers above."""
    return f"{x:.1f}" if x < 10 else f"{x:.0f}"


# ------------------------------------------------------------------------------------------------------
# saving


def save(fig, path, *, formats=("png", "svg"), public: bool = True) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``, deterministically and atomically;
    ``public`` files (a report site's) readable by all, others with the permissions of the user's umask.

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
            if public:
                os.chmod(target, 0o644)  # readable when served, whatever the umask
            written.append(target)
    return written


# ------------------------------------------------------------------------------------------------------
# network meta-analysis


def _network_scale(result):
    """(transform, reference value, axis word) of a network's effects; odds and risk ratios as ratios."""
    if getattr(result, "measure", None) in ("OR", "RR"):
        return np.exp, 1.0, {"OR": "odds ratio", "RR": "risk ratio"}[result.measure]
    word = {"RD": "risk difference", "MD": "mean difference", "SMD": "standardized mean difference"}
    return (lambda x: np.asarray(x, float)), 0.0, word.get(getattr(result, "measure", None), "effect")


@register("network_graph")
@_styled
def network_graph(result, *, ax=None, title: str | None = None):
    """The network graph: one node per treatment on a circle, its area proportional to the participants
    randomised to it (to its arms when the data are contrasts), one edge per pair compared head to head, its
    width proportional to the number of trials (printed on the edge).

    Parameters
    ----------
    result : commonfactors.results.NetworkResult
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    Salanti, G., Kavvoura, F. K., & Ioannidis, J. P. A. (2008). Exploring the geometry of treatment networks.
    Annals of Internal Medicine, 148(7), 544-553.
    """
    fig, ax = _own_axes(ax, WIDTH * 0.75, WIDTH * 0.75)
    nodes, edges = result.graph["nodes"], result.graph["edges"]
    names = [nd["treatment"] for nd in nodes]
    T = len(names)
    angle = np.pi / 2 - 2 * np.pi * np.arange(T) / T
    xy = {nm: (math.cos(a), math.sin(a)) for nm, a in zip(names, angle, strict=True)}
    pal = palette()
    kmax = max(e["k"] for e in edges)
    for e in edges:
        (x1, y1), (x2, y2) = xy[e["treat1"]], xy[e["treat2"]]
        ax.plot([x1, x2], [y1, y2], color=pal[0], alpha=0.7, linewidth=0.8 + 5.0 * e["k"] / kmax,
                solid_capstyle="round", zorder=1)
        if T <= 12:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(e["k"]), fontsize=7, ha="center", va="center",
                    color="#333333", zorder=4, parse_math=False,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
                          "alpha": 0.8})
    sizes = np.array([nd["n"] if nd["n"] is not None else nd["k"] for nd in nodes], float)
    area = 60.0 + 900.0 * sizes / sizes.max()
    ax.scatter([xy[nm][0] for nm in names], [xy[nm][1] for nm in names], s=area, color=pal[1],
               edgecolors="white", linewidths=1.0, zorder=3)
    for nm, a, nd in zip(names, angle, nodes, strict=True):
        c, s = math.cos(a), math.sin(a)
        who = f"n = {int(nd['n'])}" if nd["n"] is not None else f"{nd['k']} arms"
        ha = "left" if c > 0.3 else "right" if c < -0.3 else "center"
        r = 1.16 if ha != "center" else 1.27  # above and below a node, clear of its largest size
        ax.text(r * c, r * s, f"{_short(nm, 24)}\n({who})", ha=ha, va="center", fontsize=7.5,
                parse_math=False)
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{result.k} trials, {T} treatments: nodes by participants, edges by trials", loc="left",
                 fontsize=8.5, color="#333333", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


@register("network_forest")
@_styled
def network_forest(result, *, ax=None, title: str | None = None):
    """Each treatment against the reference: the estimate with its confidence interval (thick) and prediction
    interval (thin), sorted by estimate, odds and risk ratios on a log axis; the P-score beside each label.

    Parameters
    ----------
    result : commonfactors.results.NetworkResult
    ax : matplotlib.axes.Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    effects = sorted(result.effects, key=lambda e: e["estimate"])
    m = len(effects)
    fig, ax = _own_axes(ax, WIDTH * 0.8, min(1.4 + 0.3 * m, 12.0))
    tf, null, word = _network_scale(result)
    pal = palette()
    ps = {r["treatment"]: r["pscore"] for r in result.pscore}
    y = np.arange(m, 0, -1)
    est = tf([e["estimate"] for e in effects])
    ax.hlines(y, tf([e["pi_low"] for e in effects]), tf([e["pi_high"] for e in effects]), color=pal[0],
              linewidth=0.8)
    ax.hlines(y, tf([e["ci_low"] for e in effects]), tf([e["ci_high"] for e in effects]), color="black",
              linewidth=2.2)
    ax.scatter(est, y, marker="s", s=22, color="black", zorder=3)
    ax.axvline(null, color="black", linestyle="--", linewidth=0.8)
    if null == 1.0:
        from matplotlib.ticker import FuncFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    ax.set_yticks(y, [f"{_short(e['treatment'], 28)} (P = {ps[e['treatment']]:.2f})" for e in effects],
                  parse_math=False)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(0.4, m + 0.6)
    ax.set_xlabel(f"{word} vs {result.reference}", parse_math=False)
    better = "smaller" if result.small_values == "good" else "larger"
    ax.set_title(f"{result.method}, tau\u00b2 = {result.tau2:.3g}; {result.level:g}% confidence (thick) and "
                 f"prediction (thin) intervals;\nP-scores in brackets ({better} is better)",
                 loc="left", fontsize=8.5, color="#333333", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


@register("network_league")
@_styled
def network_league(result, *, ax=None, title: str | None = None, digits: int = 2):
    """The league table as a figure: treatments on the diagonal (best P-score first), below it the effect of
    the column's treatment against the row's with its confidence interval, ratios for odds and risk ratios.

    Parameters
    ----------
    result : commonfactors.results.NetworkResult
    ax : matplotlib.axes.Axes, optional
    title : str, optional
    digits : int
        Decimals of the printed effects.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ps = {r["treatment"]: r["pscore"] for r in result.pscore}
    names = sorted(result.treatments, key=lambda t: -ps[t])
    T = len(names)
    cell = max(0.9, min(1.3, 9.0 / T))
    fig, ax = _own_axes(ax, min(0.6 + cell * T, 14.0), min(0.6 + 0.55 * T, 14.0))
    tf, _, word = _network_scale(result)
    pairs = {(r["treat1"], r["treat2"]): r for r in result.league}
    pal = palette()
    for i, row in enumerate(names):
        for j, colname in enumerate(names):
            if i == j:
                ax.add_patch(_rectangle(j, -i, pal[1], 0.35))
                ax.text(j + 0.5, -i + 0.5, _short(row, 16), ha="center", va="center", fontsize=7,
                        fontweight="bold", parse_math=False)
            elif i > j:  # the column's treatment vs the row's
                r = pairs.get((colname, row))
                sign = 1.0
                if r is None:
                    r, sign = pairs[(row, colname)], -1.0
                lo, hi = sorted((sign * r["ci_low"], sign * r["ci_high"]))
                est = sign * r["estimate"]
                text = (f"{float(tf(est)):.{digits}f}\n({float(tf(lo)):.{digits}f} to "
                        f"{float(tf(hi)):.{digits}f})")
                excl = lo > 0 or hi < 0
                ax.add_patch(_rectangle(j, -i, pal[0] if excl else _PALE, 0.25 if excl else 0.4))
                ax.text(j + 0.5, -i + 0.5, text, ha="center", va="center", fontsize=6.5, parse_math=False)
    ax.set_xlim(0, T)
    ax.set_ylim(-T + 1, 1)
    ax.set_aspect("auto")
    ax.axis("off")
    ax.set_title(f"League table: {word} of the column's treatment vs the row's ({result.level:g}% CI);\n"
                 "shaded blue: the interval excludes no difference", loc="left", fontsize=8, color="#333333",
                 parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


def _rectangle(x, y, colour, alpha):
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.03, y + 0.03), 0.94, 0.94, facecolor=colour, alpha=alpha, edgecolor="none")


#: the reference line of a simulation measure: nominal coverage, no bias
_SIMULATION_REFERENCE = {"coverage": "level", "pi_coverage": "level", "bias": 0.0, "tau2_bias": 0.0}


@register("simulation")
@_styled
def simulation(result, *, ax=None, measure: str = "coverage", title: str | None = None):
    """A simulation study's ``measure`` (a column of its table: coverage by default, bias, rmse, rejection,
    ci_width, ...) for each condition, one series per method x test, each point with +-2 Monte Carlo SE
    (Morris, White & Crowther, 2019, recommend showing them); a dashed line at the nominal level for coverage
    and at 0 for bias.

    Parameters
    ----------
    result : commonfactors.results.SimulationResult
    ax : matplotlib.axes.Axes, optional
    measure : str
    title : str, optional
    """
    rows = list(result.rows)
    if not rows or measure not in rows[0] or f"{measure}_mcse" not in rows[0]:
        raise InputError(f"measure={measure!r} is not a measure of the simulation table",
                         expected="coverage, pi_coverage, bias, empse, rmse, rejection, ci_width, tau2_bias")
    conditions = sorted({r["condition"] for r in rows})
    series = list(dict.fromkeys((r["method"], r["test"]) for r in rows))
    fig, ax = _own_axes(ax, max(5.0, 0.55 * len(conditions) + 2.5), 3.6)
    pal = palette()
    width = 0.7 / len(series)
    for s, (method, test) in enumerate(series):
        own = {r["condition"]: r for r in rows if (r["method"], r["test"]) == (method, test)}
        x = np.array([i + (s - (len(series) - 1) / 2) * width for i in range(len(conditions))])
        y = np.array([own[c][measure] if own[c][measure] is not None else np.nan for c in conditions], float)
        e = np.array([own[c][f"{measure}_mcse"] if own[c][f"{measure}_mcse"] is not None else np.nan
                      for c in conditions], float)
        ax.errorbar(x, y, yerr=2 * e, fmt="o", ms=4, capsize=2, color=pal[s % len(pal)],
                    label=f"{method}, {test}")
    ref = _SIMULATION_REFERENCE.get(measure)
    if ref is not None:
        ax.axhline(result.level / 100 if ref == "level" else ref, color="#777777", lw=0.8, ls="--")
    labels = []
    for c in conditions:
        r = next(r for r in rows if r["condition"] == c)
        sel = "" if r["selection"] == "none" else f"\nstep {r['weight']:g}"
        labels.append(f"k={r['k']}\nτ²={r['tau2']:g}\nμ={r['effect']:g}{sel}")
    ax.set_xticks(range(len(conditions)), labels, fontsize=7)
    ax.set_ylabel(measure.replace("_", " "))
    ax.legend(fontsize=7, frameon=False, loc="best")
    ax.set_title(f"{measure.replace('_', ' ')} by condition (±2 Monte Carlo SE; {result.reps} replications)",
                 loc="left", fontsize=8, color="#333333", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


# ------------------------------------------------------------------------------------------------------
# therapist development and routine outcome monitoring


@register("benchmark")
@_styled
def benchmark(frame, *, ax=None, therapist: str = "the therapist", time: str = "time",
              outcome: str = "outcome", level: float = 95, title: str | None = None):
    """One therapist's outcomes over time against the practice's benchmark.

    Parameters
    ----------
    frame : DataFrame
        The table of :func:`commonfactors.therapist_benchmark` (time, n, observed, fitted, fitted_ci_low,
        fitted_ci_high, benchmark, benchmark_ci_low, benchmark_ci_high), at any times (for smooth lines ask
        it for a grid of times joined to the therapist's own).
    ax : matplotlib.axes.Axes, optional
    therapist, time, outcome : str
        Names for the legend and the axes.
    level : float
        The level of the intervals in the table (for the legend).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        The practice's line beta_0 + beta_1 t with its confidence band (grey), the therapist's line
        beta_0 + beta_1 t + u_0j + u_1j t with its prediction band (colour), both at the average case mix, and
        the therapist's mean observed outcome at each time adjusted to that case mix (points, area by the
        number of clients).

    References
    ----------
    Saxon, D., & Barkham, M. (2012). Patterns of therapist variability: therapist effects and the contribution
    of patient severity and risk. Journal of Consulting and Clinical Psychology, 80(4), 535-546 (therapists
    compared at average intake severity).
    Goldberg, S. B., et al. (2016). Do psychotherapists improve with time and experience? A longitudinal
    analysis of outcomes in a clinical setting. Journal of Counseling Psychology, 63(1), 1-11.
    """
    fig, ax = _own_axes(ax, WIDTH * 0.8, 3.6)
    t = np.asarray(frame["time"], dtype=float)
    order = np.argsort(t, kind="stable")
    t = t[order]

    def col(name):
        return np.asarray(frame[name], dtype=float)[order]

    pal = palette()
    ax.fill_between(t, col("benchmark_ci_low"), col("benchmark_ci_high"), color=_PALE, linewidth=0,
                    label=f"practice: {level:g}% confidence band")
    ax.plot(t, col("benchmark"), color="black", linewidth=1.2, label="practice benchmark")
    ax.fill_between(t, col("fitted_ci_low"), col("fitted_ci_high"), color=pal[0], alpha=0.18, linewidth=0,
                    label=f"{_short(therapist, 24)}: {level:g}% prediction band")
    ax.plot(t, col("fitted"), color=pal[0], linewidth=1.6, label=f"{_short(therapist, 24)}: fitted line")
    obs, n = col("observed"), col("n")
    seen = np.isfinite(obs) & (n > 0)
    if seen.any():
        ax.scatter(t[seen], obs[seen], s=10 + 12 * n[seen], color=pal[1], edgecolors="white", linewidths=0.5,
                   zorder=3, label=f"{_short(therapist, 24)}: clients' outcomes (adjusted)")
    ax.set_xlabel(f"{time}", parse_math=False)
    ax.set_ylabel(f"{outcome} at the average case mix", parse_math=False)
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False, fontsize=7.5)
    ax.set_title(f"{_short(therapist, 24)} against the practice, by {time}", loc="left", fontsize=8.5,
                 color="#333333", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig


@register("monitor_curves")
@_styled
def monitor_curves(result, *, ax=None, intakes=None, client=None, title: str | None = None):
    """Expected scores by session for several intake scores, and one client's scores against their bound.

    Parameters
    ----------
    result : commonfactors.results.MonitorResult
        A fit of :func:`commonfactors.monitor` (its ``curves``, ``client_table``, ``session_table``).
    ax : matplotlib.axes.Axes, optional
    intakes : sequence of float, optional
        Intake scores whose expected curves are drawn (default: the 10th, 30th, 50th, 70th and 90th
        percentiles of the clients' intake scores, rounded to the nearest whole point).
    client : str, optional
        A client whose scores are drawn with the bound of each (the one-sided prediction bound) and the
        scores flagged as not on track (default: the first client flagged, in the table's order; none when
        no client is flagged).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Lines: the fitted population curves b0 + b1 x + (b2 + b3 x) log(session) of the model
        ``score ~ intake * log(session) + (1 + log(session) | client)`` for intake x; the clinical cutoff
        (dashed), and the client's scores, bounds and flags.
    """
    fig, ax = _own_axes(ax, WIDTH, 3.8)
    beta = np.array([c["estimate"] for c in result.curves["coefficients"]], dtype=float)
    ct, st = result.client_table, result.session_table
    intake = np.asarray([x for x in ct["intake"] if x is not None], dtype=float)
    if intakes is None:
        intakes = np.unique(np.round(np.percentile(intake, [10, 30, 50, 70, 90])))
    sessions = np.asarray(st["session"], dtype=float)
    s = np.linspace(1.0, float(np.nanmax(sessions)), 60)
    pal = palette()
    shades = [pal[0]] * len(intakes)
    for i, x in enumerate(intakes):
        y = beta[0] + beta[1] * x + (beta[2] + beta[3] * x) * np.log(s)
        alpha = 0.35 + 0.65 * (i + 1) / len(intakes)
        ax.plot(s, y, color=shades[i], alpha=alpha, linewidth=1.3, label=f"expected, intake {x:g}")
    cut = (result.cutoff or {}).get("value")
    if cut is not None:
        ax.axhline(cut, color=_GREY, linestyle="--", linewidth=0.9, label=f"clinical cutoff {cut:g}")
    if client is None:
        flagged = [c for c, f in zip(ct["client"], ct["flagged"], strict=True) if f]
        client = flagged[0] if flagged else None
    if client is not None:
        rows = [i for i, c in enumerate(st["client"]) if c == client]
        ss = np.array([st["session"][i] for i in rows], dtype=float)
        sc = np.array([st["score"][i] for i in rows], dtype=float)
        bound = np.array([np.nan if st["bound"][i] is None else st["bound"][i] for i in rows], dtype=float)
        flag = np.array([bool(st["flag"][i]) for i in rows])
        ax.plot(ss, sc, color=pal[1], marker="o", markersize=3.5, linewidth=1.2,
                label=f"client {_short(client, 16)}: scores")
        ax.plot(ss, bound, color=pal[1], linestyle=":", linewidth=1.0,
                label=f"client {_short(client, 16)}: bound ({100 * (1 - result.alpha):g}%, one-sided)")
        if flag.any():
            ax.scatter(ss[flag], sc[flag], marker="X", s=46, color=pal[3], zorder=4,
                       label=f"client {_short(client, 16)}: not on track")
    word = "higher" if result.higher_is_better else "lower"
    ax.set_xlabel("session (1 = intake)")
    name = result.instrument.get("name", "score") if isinstance(result.instrument, dict) else "score"
    ax.set_ylabel(f"{name} score ({word} is better)", parse_math=False)
    ax.grid(color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7.5)
    n = result.curves.get("n_clients")
    ax.set_title(f"Expected change by intake score, fitted from these data ({n} clients)", loc="left",
                 fontsize=8.5, color="#333333", parse_math=False)
    if title:
        fig.suptitle(title, x=0.01, ha="left", fontsize=10, fontweight="bold", parse_math=False)
    return fig
