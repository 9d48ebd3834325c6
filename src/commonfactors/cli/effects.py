"""``commonfactors effects FILE_OR_DATASET --measure M --<arg> COLUMN ...``: effect sizes as metafor's escalc.

``--format json`` prints ``{"measure", "yi": [...], "vi": [...], "warnings": [...]}`` (NA as null);
``--format csv`` writes the input table with ``yi`` and ``vi`` appended (to stdout, or atomically to
``--out FILE``); ``--format text`` prints a metafor-like table of the inputs used, ``yi`` and ``vi``.
"""

from __future__ import annotations

import click

from .. import _format
from ..effects import ARGUMENTS, MEASURES, effect_sizes
from ._common import read_input, refuse_input_as_output, source_file
from ._output import caught_warnings, csv_text, emit, format_option, print_warnings


def _measure_help() -> str:
    return "; ".join(f"{m.name}: {m.signature}" for m in MEASURES.values())


def _column_options(fn):
    for arg in reversed(ARGUMENTS):
        fn = click.option(
            f"--{arg}", arg, metavar="COLUMN", default=None, help=f"column holding escalc's {arg}"
        )(fn)
    return fn


def _cell(v) -> str:
    """An input value as written: integers without decimals, other numbers to 4 decimals."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else _format.fmt(v, 4)
    return _format.fmt(v) if v is None else str(v)


def _integers_as_written(frame):
    """Float columns holding only whole numbers (and NA) back to integers, so the CSV reads as the input."""
    import numpy as np

    frame = frame.copy()
    for c in frame.columns:
        x = frame[c]
        if c not in ("yi", "vi") and x.dtype.kind == "f":
            finite = x.dropna().to_numpy()
            if np.isfinite(finite).all() and (finite == np.round(finite)).all():
                frame[c] = x.astype("Int64")
    return frame


def _text(out, used: list[str]) -> str:
    header = ["row", *used, "yi", "vi"]
    rows = []
    for i, label in enumerate(out.index):
        cells = [str(label)] + [_cell(out[c].iloc[i]) for c in used]
        rows.append(cells + [_format.fmt(out["yi"].iloc[i], 4), _format.fmt(out["vi"].iloc[i], 4)])
    m = MEASURES[out.attrs["measure"]]
    title = f"Effect sizes: {m.name}, {m.description} (k = {len(out)})"
    return _format.Summary(f"{title}\n\n{_format.table(header, rows)}", notes=out.attrs["warnings"]).as_text()


@click.command()
@click.argument("file_or_dataset")
@click.option(
    "--measure",
    required=True,
    type=click.Choice(list(MEASURES), case_sensitive=False),
    help="The effect size measure. " + _measure_help(),
)
@_column_options
@click.option(
    "--add",
    type=float,
    default=0.5,
    show_default=True,
    help="Added to the counts (2x2 tables, IRR, PR/PLN/PLO).",
)
@click.option(
    "--to",
    "to",
    type=click.Choice(["only0", "all", "if0all", "none"]),
    default="only0",
    show_default=True,
    help="Which studies get --add: those with a zero cell, all, all if any, none.",
)
@click.option(
    "--drop00",
    is_flag=True,
    help="NA for 2x2 tables with no events (or only events) in both groups, and IRR with no events.",
)
@click.option(
    "--vtype",
    type=click.Choice(["LS", "UB"]),
    default="LS",
    show_default=True,
    help="The sampling variance: LS large-sample, UB unbiased (SMD).",
)
@format_option()
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="With --format csv: write the table to this file (atomically; not the input file), not stdout.",
)
def effects(file_or_dataset, measure, add, to, drop00, vtype, fmt, out_path, **columns):
    """Compute effect sizes yi and sampling variances vi (metafor's escalc definitions and defaults)."""
    if out_path is not None and fmt != "csv":
        raise click.UsageError("--out is used with --format csv")
    if out_path is not None:
        refuse_input_as_output(out_path, source_file(file_or_dataset))
    given = {a: c for a, c in columns.items() if c is not None}
    with caught_warnings() as notes:
        data = read_input(file_or_dataset, light=False)
        out = effect_sizes(data, measure, add=add, to=to, drop00=drop00, vtype=vtype, **given)
    table = _integers_as_written(out).assign(measure=out.attrs["measure"])  # read back by pool, bias ...
    if out_path is not None:
        from .._io_write import write_atomic

        write_atomic(out_path, csv_text(table))
        print_warnings([*out.attrs["warnings"], *notes])
        return
    emit(fmt=fmt, notes=[*out.attrs["warnings"], *notes],
         as_dict=lambda: _format.jsonable({"measure": out.attrs["measure"], "yi": out["yi"].to_numpy(),
                                           "vi": out["vi"].to_numpy(), "warnings": []}),
         as_records=lambda: table,
         as_text=lambda: _text(out, list(dict.fromkeys(given.values()))))
