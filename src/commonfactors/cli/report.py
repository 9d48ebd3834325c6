"""``commonfactors report FILE_OR_DATASET --out DIR`` and ``commonfactors report-all --out DIR``.

``report`` writes one report page (``DIR/index.html`` with its figures and a copy of the data) for a
user's file or a shipped dataset; ``report-all`` builds the whole report site (``make reports``). Both
write into a temporary folder and move it into place, so an error leaves no partial output.
"""

from __future__ import annotations

import click

from ..effects.measures import ARGUMENTS
from ._common import (
    level_option,
    method_option,
    read_input,
    refuse_folder_holding_input,
    sheet_option,
    source_file,
    test_option,
)


def _column_options(fn):
    for arg in reversed(ARGUMENTS):
        fn = click.option(
            f"--{arg}",
            arg,
            metavar="COLUMN",
            default=None,
            help=f"with --measure: column holding escalc's {arg}",
        )(fn)
    return fn


@click.command()
@click.argument("file_or_dataset")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: new, empty, or a previous report (replaced atomically; other folders are refused).",
)
@click.option("--yi", default=None, help="Column of effect sizes [default: yi].")
@click.option("--vi", default=None, help="Column of sampling variances [default: vi].")
@click.option("--sei", default=None, help="Column of standard errors (instead of --vi).")
@click.option("--measure", default=None, help="Compute effect sizes with this escalc measure (SMD, RR, ...).")
@_column_options
@sheet_option
@method_option(help="Estimator of tau2; FE/EE/CE for a common-effect model.")
@test_option
@level_option
@click.option("--slab", default=None, help="Column of study labels.")
@click.option("--title", default=None, help="Page title.")
@click.option("--quiet", is_flag=True, help="No progress counter.")
def report(
    file_or_dataset, out_dir, yi, vi, sei, measure, method, test, level, slab, title, quiet, **columns
):
    """Write a report page for one dataset: data, model, summary, forest and funnel plots, bias tests.

    Effect sizes come from --yi with --vi or --sei, or are computed with --measure and escalc's column
    arguments (--ai COLUMN ...). A shipped dataset's ID without either uses the dataset's own effect
    sizes, citation and provenance.
    """
    from pathlib import Path

    from .. import datasets
    from ..report.site import build_report

    given = {a: c for a, c in columns.items() if c is not None}
    if vi is not None and sei is not None:
        raise click.UsageError("give either --vi or --sei, not both")
    if given and measure is None:
        raise click.UsageError(f"--{next(iter(given))} needs --measure")
    if measure is not None and (yi or vi or sei):
        raise click.UsageError("give either --measure with its columns, or --yi with --vi/--sei")
    if measure is not None and not given:
        raise click.UsageError(f"--measure {measure} needs its columns (e.g. --ai COLUMN ...)")
    shipped = not Path(file_or_dataset).exists() and file_or_dataset in datasets.dataset_ids()
    refuse_folder_holding_input(out_dir, source_file(file_or_dataset))
    data = read_input(file_or_dataset, light=False)
    options = {"measure": measure, "columns": given or None, "yi": yi or "yi", "vi": vi, "sei": sei}
    if shipped and measure is None and yi is None and vi is None and sei is None:
        effect = dict(datasets.describe(file_or_dataset).effect)
        if not effect:
            raise click.UsageError(f"dataset {file_or_dataset!r} holds no study-level effect sizes")
        measure = effect.pop("measure")
        options = (
            {"measure": measure, "yi": effect["yi"], "vi": effect.get("vi"), "sei": effect.get("sei")}
            if "yi" in effect
            else {"measure": measure, "columns": effect}
        )
    try:
        out = build_report(
            data,
            out_dir,
            method=method.upper(),
            test=test.lower(),
            level=level,
            slab=slab,
            title=title,
            source=None if shipped else file_or_dataset,
            dataset=file_or_dataset if shipped else None,
            progress=not quiet,
            **options,
        )
    except ValueError as e:
        if type(e) is not ValueError:  # InputError: reported by the command group
            raise
        raise click.UsageError(str(e)) from None
    click.echo(str(Path(out) / "index.html"))


@click.command("report-all")
@click.option(
    "--out",
    "out_dir",
    default="reports",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Output folder of the site: new, empty, or a previous site (replaced atomically; its README.md is "
    "kept; other folders are refused).",
)
@click.option("--quiet", is_flag=True, help="No progress counter.")
def report_all(out_dir, quiet):
    """Run every analysis in analyses/ and build the report site (what `make reports` runs)."""
    from pathlib import Path

    from ..report.site import build_site

    out = build_site(out_dir, progress=not quiet)
    click.echo(str(Path(out) / "index.html"))
