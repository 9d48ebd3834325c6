"""The one output path of the command line: a result rendered as text, JSON or CSV, its warnings on stderr.

Every command takes ``--format text|json|csv`` (text, metafor-like, the default) and ends with
:func:`emit`:

- ``text``: the result's ``summary()``;
- ``json``: one object, the result's ``to_dict()`` (DESIGN.md's keys), its ``warnings`` list holding the
  result's warnings and those caught while computing, each once;
- ``csv``: one row per record (``records()``, else the rows of ``to_frame()``), missing values written
  ``NA`` and infinities ``Inf``/``-Inf``, as R's ``write.csv`` writes them and ``read.csv`` reads them;
- warnings: each printed once on stderr as ``warning: <message>``, in every format.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import warnings

import click

from .._format import jsonable

#: the formats of every command
FORMATS = ("text", "json", "csv")


def format_option(*, aliases: tuple[str, ...] = (), help: str | None = None):
    """``--format text|json|csv``, text by default; ``aliases`` are other names of text."""

    def to_text(ctx, param, value):
        return "text" if value in aliases else value

    return click.option("--format", "fmt", type=click.Choice(FORMATS + aliases), default="text",
                        show_default=True, callback=to_text, help=help)


@contextlib.contextmanager
def caught_warnings():
    """Record every warning raised inside the block; the yielded list holds their messages afterwards.

    When the block fails, the warnings recorded so far are printed (:func:`print_warnings`) before the
    error goes on to the command group."""
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield notes
        except BaseException:
            print_warnings(_messages(caught))
            raise
    notes.extend(_messages(caught))


def _messages(caught) -> list[str]:
    return [" ".join(str(w.message).splitlines()) for w in caught]


def emit(result=None, fmt: str = "text", *, notes=(), as_dict=None, as_records=None, as_text=None) -> None:
    """Print ``result`` in ``fmt`` on stdout and its warnings on stderr, one line each, each once.

    ``result`` is a result object (``summary()``, ``to_dict()``, ``records()`` or ``to_frame()``,
    ``warnings``), or None when the three renderings are given. ``notes`` are warnings found while
    computing (:func:`caught_warnings`, the dependence warning). ``as_dict``, ``as_records`` and
    ``as_text`` are functions without arguments that replace the result's own rendering in one format;
    only the one of ``fmt`` is called.
    """
    data = None
    if fmt == "json":
        data = dict(as_dict() if as_dict is not None else result.to_dict())
    found = print_warnings([*getattr(result, "warnings", ()), *(data or {}).get("warnings", ()), *notes])
    if fmt == "json":
        if "warnings" in data or found:
            data["warnings"] = found
        click.echo(json.dumps(jsonable(data), indent=None, allow_nan=False))  # NaN, inf: null
    elif fmt == "csv":
        rows = as_records() if as_records is not None else _records(result)
        click.echo(csv_text(rows), nl=False)
    else:
        click.echo(as_text() if as_text is not None else str(result.summary()))


def print_warnings(notes) -> list[str]:
    """Print each of ``notes`` once on stderr as ``warning: <message>``; return them, each once."""
    found = list(dict.fromkeys(notes))
    for note in found:
        click.echo(f"warning: {note}", err=True)
    return found


def _records(result):
    records = getattr(result, "records", None)
    return records() if records is not None else result.to_frame()


def csv_text(rows) -> str:
    """CSV of ``rows`` (dicts with the same keys, or a DataFrame): a header, then one line per row;
    ``NA`` for None, NaN and pandas' NA, ``Inf``/``-Inf`` for infinities, whole numbers without a decimal
    point (R's ``write.csv``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if isinstance(rows, list):
        header = list(rows[0]) if rows else []
        writer.writerow(header)
        writer.writerows([_cell(r[h]) for h in header] for r in rows)
        return buf.getvalue()
    writer.writerow([str(c) for c in rows.columns])
    writer.writerows([_cell(v) for v in r] for r in rows.itertuples(index=False, name=None))
    return buf.getvalue()


def _cell(v):
    if v is None:
        return "NA"
    if isinstance(v, float):
        if math.isnan(v):
            return "NA"
        if math.isinf(v):
            return "Inf" if v > 0 else "-Inf"
        return int(v) if v.is_integer() and abs(v) < 1e15 else v  # 295, not 295.0 (as R writes it)
    if type(v).__name__ == "NAType":  # pandas.NA, without importing pandas
        return "NA"
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):  # a numpy scalar
        return _cell(v.item())
    return v
