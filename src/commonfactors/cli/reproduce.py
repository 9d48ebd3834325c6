"""``commonfactors reproduce [ID ...] [--all] [--format table|json|csv]``: published numbers, recomputed.

Runs the analysis scripts of ``analyses/`` through :mod:`commonfactors.reproduce` and prints one row per
published number: published, reproduced, difference, tolerance and verdict (table), every field (json:
``{"analyses", "counts", "rows", "warnings"}``), or the flat table (csv, ``model`` split into ``model_*``).
"""

from __future__ import annotations

import csv
import io

import click

from ._common import echo_json


def _csv(records: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = list(records[0]) if records else []
    writer.writerow(header)
    writer.writerows([["" if r[h] is None else r[h] for h in header] for r in records])
    return buf.getvalue()


@click.command()
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "run_all", is_flag=True, help="Run every analysis in analyses/.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "text", "json", "csv"]),
    default="table",
    show_default=True,
    help="table (text is an alias), json (every field) or csv (one row per number).",
)
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
    res = engine.run_all() if run_all else engine.run(ids)
    if fmt == "json":
        echo_json(res.to_dict())
    elif fmt == "csv":
        click.echo(_csv(res.records()), nl=False)
    else:
        click.echo(str(res.summary()))
