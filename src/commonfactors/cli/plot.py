"""``commonfactors plot forest|funnel|baujat|cumulative|pie FILE_OR_DATASET --out FIG``: one figure of the
report, from the command line. The format follows the suffix of --out (png, svg or pdf)."""

from __future__ import annotations

import warnings
from pathlib import Path

import click

from ..errors import CommonFactorsWarning, InputError
from ._common import (
    effect_inputs,
    level_option,
    method_option,
    read_input,
    refuse_input_as_output,
    sheet_option,
    source_file,
    test_option,
)

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
@sheet_option
@method_option()
@test_option
@level_option
@click.option("--seed", type=int, default=1, show_default=True, help="pie: the Monte Carlo seed.")
def plot(kind, file_or_dataset, out_path, yi, vi, sei, slab, measure, order, method, test, level, seed):
    """Draw a forest, funnel, Baujat, cumulative forest or variance-pie figure (as the report draws it).

    \\b
    Examples:
      commonfactors plot forest molloy2014 --out forest.png
      commonfactors plot funnel bcg_es.csv --out funnel.svg
      commonfactors plot cumulative bcg_es.csv --order year --out cumulative.pdf
      commonfactors plot pie --out pie.png
    """
    import commonfactors as cf

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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CommonFactorsWarning)
            fig = figures.pie(cf.additive_pie(seed=seed), cf.published_pies())
    else:
        if file_or_dataset is None:
            raise click.UsageError(f"plot {kind} needs FILE_OR_DATASET")
        refuse_input_as_output(out_path, source_file(file_or_dataset))
        data, yi, vi, sei, measure = effect_inputs(read_input(file_or_dataset, light=False), yi, vi, sei,
                                                   measure)
        labels = slab if slab is not None else study_labels(data)  # as the report labels the studies
        columns = {"yi": yi, "vi": None if sei else vi, "sei": sei, "slab": labels}
        xlabel = _xlabel(measure)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CommonFactorsWarning)
            if kind == "cumulative":
                cum = cf.cumulative(data, **columns, order=order, method=method, test=test, level=level)
                fig = figures.cumulative_forest(cum, xlabel=xlabel, order_label=order, level=level)
            else:
                res = cf.meta_analysis(data, **columns, method=method, test=test, level=level)
                if kind == "forest":
                    fig = figures.forest(res, xlabel=xlabel)
                elif kind == "funnel":
                    fig = figures.funnel(res, trim_fill=cf.trim_and_fill(res), xlabel=xlabel)
                else:
                    fig = figures.baujat(res)
    figures.save(fig, path, formats=(suffix,), public=False)
    click.echo(str(path))


def _xlabel(measure: str | None) -> str:
    """The axis label: the measure's description, as the report labels it."""
    from ..effects import MEASURES

    known = measure is not None and measure.upper() in MEASURES
    return MEASURES[measure.upper()].description if known else "effect size (yi)"
