"""``commonfactors datasets list | show ID | cite ID | export ID --out FILE``: the shipped data catalogue.

``list``, ``show`` and ``cite`` read only ``data/datapackage.json`` (no pandas import), so they start
faster than ``python -c "import pandas"``.
"""

from __future__ import annotations

import csv
import io

import click

from .. import datasets as catalogue_module
from ._common import FORMATS_TABLE, echo_json, refuse_input_as_output, source_file


def _csv(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in r] for r in rows)
    return buf.getvalue()


@click.group()
def datasets():
    """The curated datasets shipped in data/ (sources, licences, citations, schemas)."""


@datasets.command("list")
@click.option("--format", "fmt", type=FORMATS_TABLE, default="text", show_default=True)
def list_(fmt):
    """List the datasets: id, k (studies), rows, measure, licence, title."""
    records = catalogue_module.catalogue()
    if fmt == "json":
        echo_json({"datasets": records})
        return
    header = ["id", "k", "rows", "measure", "licence", "title"]
    rows = [[r[h] for h in header] for r in records]
    if fmt == "csv":
        click.echo(_csv(header, rows), nl=False)
    else:
        cells = [["" if v is None else str(v) for v in r] for r in rows]
        widths = [max(len(c) for c in col) for col in zip(header, *cells, strict=True)]
        numeric = {"k", "rows"}
        for r in [header, *cells]:
            click.echo("  ".join(c.rjust(w) if h in numeric else c.ljust(w)
                                 for h, c, w in zip(header, r, widths, strict=True)).rstrip())


@datasets.command("show")
@click.argument("id")
@click.option("--format", "fmt", type=FORMATS_TABLE, default="text", show_default=True,
              help="text: metadata, schema and first rows; json: all of it; csv: the column schema.")
def show(id, fmt):
    """Show a dataset's source, licence, citation, quirks, column schema and first rows."""
    info = catalogue_module.describe(id)
    if fmt == "json":
        echo_json(info.to_dict())
    elif fmt == "csv":
        header = ["name", "type", "unit", "required", "constraints", "description"]
        rows = [[f["name"], f["type"], f.get("unit", ""), bool(f.get("constraints", {}).get("required")),
                 catalogue_module.describe_constraints(f), f.get("description", "")] for f in info.fields]
        click.echo(_csv(header, rows), nl=False)
    else:
        click.echo(str(info.summary()))


@datasets.command("cite")
@click.argument("id")
@click.option("--format", "style", type=click.Choice(["bibtex", "apa"]), default="bibtex", show_default=True)
def cite(id, style):
    """Print how to cite a dataset (BibTeX or APA)."""
    click.echo(catalogue_module.cite(id, style=style))


@datasets.command("export")
@click.argument("id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Output file; the format follows the extension: .csv (an exact copy) or .parquet.")
def export(id, out):
    """Write a dataset to a CSV or Parquet file (atomically: no partial file on error)."""
    refuse_input_as_output(out, source_file(id) if id in catalogue_module.dataset_ids() else None)
    path = catalogue_module.export(id, out)
    click.echo(f"wrote {path}", err=True)
