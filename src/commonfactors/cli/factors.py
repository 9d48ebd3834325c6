"""``commonfactors factors list | show ELEMENT|FACTOR``: the factors, their elements and each element's
estimates."""

from __future__ import annotations

import click

from ._output import caught_warnings, emit, format_option

#: ``--format``: table is an alias of text
_format_option = format_option(aliases=("table",), help="table is an alias of text.")


@click.group()
def factors():
    """The factors of psychotherapy outcome, their elements and each element's pooled estimates."""


@factors.command("list")
@_format_option
def list_(fmt):
    """List the factors and their elements."""
    from ..factors.taxonomy import list_elements

    _echo_elements(list_elements(), fmt)


def _echo_elements(df, fmt, **extra) -> None:
    emit(fmt=fmt, as_dict=lambda: {**extra, "elements": df.to_dict(orient="records")},
         as_records=lambda: df, as_text=lambda: _elements_text(df))


def _elements_text(df) -> str:
    header = ["factor", "element", "estimates", "pooled from", "in pie", "description"]
    rows = [
        [
            r.factor,
            r.element,
            str(r.n_estimates),
            r.pooled_from or "-",
            "yes" if r.in_pie else "",
            r.description,
        ]
        for r in df.itertuples()
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=False)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
                     for r in [header, *rows])


@factors.command("show")
@click.argument("element")
@_format_option
def show(element, fmt):
    """Every estimate of ELEMENT: metric, estimate, k, N, CI, PI, I2, share of variance and source.

    A factor's name (relationship, client, technique, therapist, expectancy) lists its elements."""
    from ..factors.taxonomy import FACTORS, element_estimates, list_elements

    factor = element.strip().lower()
    if factor in FACTORS:
        df = list_elements()
        _echo_elements(df[df["factor"] == factor].reset_index(drop=True), fmt, factor=factor)
        if fmt == "text":
            click.echo(f"\n'{factor}' is a factor; show the estimates of one element with "
                       f"'commonfactors factors show ELEMENT'.", err=True)
        return
    with caught_warnings() as notes:
        res = element_estimates(element)
    emit(res, fmt, notes=notes)
