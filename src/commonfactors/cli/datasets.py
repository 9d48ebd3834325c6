"""``commonfactors datasets list | show ID | cite ID | export ID --out FILE``: the shipped data catalogue.

``list``, ``show`` and ``cite`` read only ``data/datapackage.json`` (no pandas import), so they start
faster than ``python -c "import pandas"``.
"""

from __future__ import annotations

import click

from .. import datasets as catalogue_module
from ._common import refuse_input_as_output, source_file
from ._output import emit, format_option


@click.group()
def datasets():
    """The curated datasets shipped in data/ (sources, licences, citations, schemas)."""


@datasets.command("list")
@format_option()
def list_(fmt):
    """List the datasets: id, k (studies), rows, measure, licence, title."""
    records = catalogue_module.catalogue()
    header = ["id", "k", "rows", "measure", "licence", "title"]
    emit(fmt=fmt, as_dict=lambda: {"datasets": records},
         as_records=lambda: [{h: r[h] for h in header} for r in records],
         as_text=lambda: _table(header, [[r[h] for h in header] for r in records], numeric={"k", "rows"}))


def _table(header: list[str], rows: list[list], numeric: set[str]) -> str:
    """Columns padded to their widths, ``numeric`` ones right-aligned; a missing value is blank."""
    cells = [["" if v is None else str(v) for v in r] for r in rows]
    widths = [max(len(c) for c in col) for col in zip(header, *cells, strict=True)]
    return "\n".join("  ".join(c.rjust(w) if h in numeric else c.ljust(w)
                               for h, c, w in zip(header, r, widths, strict=True)).rstrip()
                     for r in [header, *cells])


@datasets.command("show")
@click.argument("id")
@format_option(help="text: metadata, schema and first rows; json: all of it; csv: the column schema.")
def show(id, fmt):
    """Show a dataset's source, licence, citation, quirks, column schema and first rows."""
    info = catalogue_module.describe(id)
    emit(info, fmt, as_records=lambda: [
        {"name": f["name"], "type": f["type"], "unit": f.get("unit", ""),
         "required": bool(f.get("constraints", {}).get("required")),
         "constraints": catalogue_module.describe_constraints(f), "description": f.get("description", "")}
        for f in info.fields])


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
