"""``commonfactors plot forest|funnel|baujat|cumulative|pie FILE_OR_DATASET --out FIG``: one figure of the
report, from the command line, drawn as a result's ``plot_*`` method draws it (``commonfactors._plotting``).
The format follows the suffix of --out (png, svg or pdf)."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._common import (
    dependence_warning,
    effect_inputs,
    level_option,
    method_option,
    read_input,
    refuse_input_as_output,
    sheet_option,
    source_file,
    test_option,
    transf_option,
)
from ._output import caught_warnings, print_warnings

KINDS = ("forest", "funnel", "baujat", "cumulative", "pie")
SUFFIXES = ("png", "svg", "pdf")


@click.command()
@click.argument("kind", type=click.Choice(KINDS, case_sensitive=False))
@click.argument("file_or_dataset", required=False)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False),
              help="The figure file: .png, .svg or .pdf (written atomically; not the input file).")
@click.option("--yi", default=None, metavar="COLUMN",
              help="Effect sizes [default: yi, or a shipped dataset's own].")
@click.option("--vi", default=None, metavar="COLUMN", help="Sampling variances [default: vi].")
@click.option("--sei", default=None, metavar="COLUMN", help="Standard errors (instead of --vi).")
@click.option("--slab", default=None, metavar="COLUMN", help="Study labels.")
@click.option("--measure", default=None, metavar="MEASURE",
              help="The effect-size measure, for the axis label [default: the file's or dataset's].")
@click.option("--order", default=None, metavar="COLUMN", help="cumulative: the column to add studies by.")
@click.option("--cluster", default=None, metavar="COLUMN",
              help="forest: the study of each effect size; one row per study, the inverse-variance average "
                   "of its effect sizes (the axis label states the rule).")
@transf_option
@click.option("--page", type=click.IntRange(min=1), default=None, metavar="N",
              help="forest: draw only page N, 50 rows a page (numbered after --cluster), with the pooled "
                   "estimate of all.")
@sheet_option
@method_option()
@test_option
@level_option
@click.option("--seed", type=int, default=1, show_default=True, help="pie: the Monte Carlo seed.")
def plot(kind, file_or_dataset, out_path, yi, vi, sei, slab, measure, order, cluster, transf, page, method,
         test, level, seed):
    """Draw a forest, funnel, Baujat, cumulative forest or variance-pie figure (as the report draws it).

    \\b
    Examples:
      commonfactors plot forest molloy2014 --out forest.png
      commonfactors plot forest assink2016 --cluster study --out forest.svg
      commonfactors plot forest metapsy_depression_psyctr --page 2 --out forest-2.png
      commonfactors plot funnel bcg_es.csv --out funnel.svg
      commonfactors plot cumulative bcg_es.csv --order year --out cumulative.pdf
      commonfactors plot pie --out pie.png
    """
    from .._plotting import draw
    from ..factors.pie import additive_pie, published_pies
    from ..models.bias import trim_and_fill
    from ..models.influence import cumulative
    from ..models.univariate import meta_analysis
    from ..report import figures
    from ..report.content import study_labels

    kind, path = kind.lower(), Path(out_path)
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in SUFFIXES:
        raise InputError(f"has the suffix {path.suffix!r}", file=out_path,
                         expected="a .png, .svg or .pdf file")
    if kind == "pie":
        if file_or_dataset is not None:
            raise click.UsageError("plot pie draws the variance pie of the shipped estimates: no FILE")
        with caught_warnings() as notes:
            fig = figures.pie(additive_pie(seed=seed), published_pies())
    else:
        if file_or_dataset is None:
            raise click.UsageError(f"plot {kind} needs FILE_OR_DATASET")
        refuse_input_as_output(out_path, source_file(file_or_dataset))
        data, yi, vi, sei, measure = effect_inputs(read_input(file_or_dataset, light=False), yi, vi, sei,
                                                   measure)
        for name, value in (("--cluster", cluster), ("--page", page)):
            if value is not None and kind != "forest":
                raise click.UsageError(f"{name} is an option of plot forest only")
        if cluster is not None and cluster not in data.columns:
            raise InputError("no such column", column=cluster,
                             expected=f"one of {', '.join(map(str, data.columns))}")
        # as the report labels the studies; with --cluster, each effect size carries its study
        labels = cluster or (slab if slab is not None else study_labels(data))
        columns = {"yi": yi, "vi": None if sei else vi, "sei": sei, "slab": labels}
        xlabel = _xlabel(measure)
        axis = _axis_transf(transf, measure) if kind in ("forest", "funnel", "cumulative") else None
        natural = {} if axis is None else {"transf": axis[0], "xlabel": f"{xlabel} (axis: {axis[1]})"}
        with caught_warnings() as notes:
            if kind == "cumulative":
                cum = cumulative(data, **columns, order=order, method=method, test=test, level=level)
                ax = draw("cumulative", cum, **{"xlabel": xlabel, **natural}, order_label=order, level=level)
            else:
                res = meta_analysis(data, **columns, method=method, test=test, level=level)
                if kind == "forest":
                    ax = draw("forest", res, **{"xlabel": xlabel, **natural},
                              cluster=None if cluster is None else res.slab,
                              rows=None if page is None else _page(page, res, cluster is not None))
                elif kind == "funnel":
                    ax = draw("funnel", res, trim_fill=trim_and_fill(res), **{"xlabel": xlabel, **natural})
                else:
                    ax = draw("baujat", res)
        fig = ax.figure
    figures.save(fig, path, formats=(suffix,), public=False)
    if kind != "pie":
        notes.append(dependence_warning(data, slab, cluster))
    print_warnings([n for n in notes if n])
    click.echo(str(path))


def _xlabel(measure: str | None) -> str:
    """The axis label: the measure's description, as the report labels it."""
    from ..effects import MEASURES

    known = measure is not None and measure.upper() in MEASURES
    return MEASURES[measure.upper()].description if known else "effect size (yi)"


def _axis_transf(transf: str, measure: str | None) -> tuple[str, str] | None:
    """(transformation, scale name) of the effect-size axis of a forest, funnel or cumulative plot:
    ``--transf`` (auto: the measure's natural
    scale), or None for the model's scale. The double arcsine's inverse needs each study's sample size, so
    its axis stays on the model's scale unless asked for, which is refused."""
    from .._transforms import choose
    from ..report.figures import FOREST_TRANSFORMS

    chosen = choose(transf.lower(), measure)
    if chosen is None or (chosen[0] not in FOREST_TRANSFORMS and transf.lower() == "auto"):
        return None
    if chosen[0] not in FOREST_TRANSFORMS:
        names = ", ".join(FOREST_TRANSFORMS)
        raise InputError(f"--transf is {transf!r}",
                         expected=f"one of auto, none, {names} for a plot's axis")
    return chosen


def _page(page: int, res, clustered: bool) -> slice:
    """The rows of page ``page`` of a forest plot of ``res`` (one row per study when ``clustered``)."""
    from ..report.figures import PAGE_ROWS

    total = len(set(map(str, res.slab))) if clustered else res.k
    pages = -(-total // PAGE_ROWS)
    if page > pages:
        raise InputError(f"--page is {page}", expected=f"1 to {pages} ({total} rows, {PAGE_ROWS} a page)")
    return slice((page - 1) * PAGE_ROWS, page * PAGE_ROWS)
