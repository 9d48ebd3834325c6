"""``commonfactors factors list | show ELEMENT|FACTOR``: the factors, their elements and each element's
estimates."""

from __future__ import annotations

import click

from ._common import echo_json

_FORMATS = click.Choice(["table", "text", "json"])


@click.group()
def factors():
    """The factors of psychotherapy outcome, their elements and each element's pooled estimates."""


@factors.command("list")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True, help="text is table.")
def list_(fmt):
    """List the factors and their elements."""
    from ..factors.taxonomy import list_elements

    _echo_elements(list_elements(), fmt)


def _echo_elements(df, fmt, **extra) -> None:
    if fmt == "json":
        echo_json({**extra, "elements": df.to_dict(orient="records")})
        return
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
    for r in [header, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())


@factors.command("show")
@click.argument("element")
@click.option("--format", "fmt", type=_FORMATS, default="table", show_default=True, help="text is table.")
def show(element, fmt):
    """Every estimate of ELEMENT: metric, estimate, k, N, CI, PI, I2, share of variance and source.

    A factor's name (relationship, client, technique, therapist, expectancy) lists its elements."""
    from ..factors.taxonomy import FACTORS, element_estimates, list_elements

    factor = element.strip().lower()
    if factor in FACTORS:
        df = list_elements()
        _echo_elements(df[df["factor"] == factor].reset_index(drop=True), fmt, factor=factor)
        if fmt != "json":
            click.echo(f"\n'{factor}' is a factor; show the estimates of one element with "
                       f"'commonfactors factors show ELEMENT'.", err=True)
        return
    res = element_estimates(element)
    if fmt == "json":
        echo_json(res.to_dict())
    else:
        click.echo(str(res.summary()))
