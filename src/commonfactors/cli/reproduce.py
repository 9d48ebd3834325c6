"""``commonfactors reproduce [ID ...] [--all] [--format text|json|csv]``: published numbers, recomputed.

Runs the analysis scripts of ``analyses/`` through :mod:`commonfactors.reproduce` and prints one row per
published number: published, reproduced, difference, tolerance and verdict (text), every field (json:
``{"analyses", "counts", "rows", "warnings"}``), or the flat table (csv, ``model`` split into ``model_*``,
missing values NA).
"""

from __future__ import annotations

import click

from ._output import caught_warnings, emit, format_option


@click.command()
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "run_all", is_flag=True, help="Run every analysis in analyses/.")
@format_option(aliases=("table",),
               help="text (table is an alias), json (every field) or csv (one row per number).")
def reproduce(ids, run_all, fmt):
    """Recompute published estimates from the shipped datasets and say whether they came back.

    Each ID is an analysis script in analyses/ (e.g. molloy2014); --all runs them all. Verdicts:
    reproduced (within the tolerance, normally half a unit of the published rounding), differs,
    not checked (the published number was not seen), not reproducible from shipped data.
    """
    from .. import reproduce as engine

    if run_all and ids:
        raise click.UsageError("give analysis IDs or --all, not both")
    if not run_all and not ids:
        raise click.UsageError(f"give analysis IDs or --all; analyses: {', '.join(engine.analysis_ids())}")
    with caught_warnings() as notes:
        res = engine.run_all() if run_all else engine.run(ids)
    emit(res, fmt, notes=notes)
