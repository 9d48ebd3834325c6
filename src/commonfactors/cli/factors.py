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


def _echo_elements(df, fmt, pie_slice=None, **extra) -> None:
    more = {} if pie_slice is None else {"pie_slice": pie_slice}
    note = ("" if pie_slice is None
            else f"\n\n{extra.get('factor', 'therapist')} slice of the pie: {pie_slice['origin']}")
    emit(fmt=fmt, as_dict=lambda: {**extra, "elements": df.to_dict(orient="records"), **more},
         as_records=lambda: df, as_text=lambda: _elements_text(df) + note)


def _therapist_slice(therapist_icc) -> dict:
    """Where the pie's therapist slice comes from: the published estimate the default pie uses, or the data of
    ``--therapist-icc FILE``; with its share and the standard error of its draws (logit scale)."""
    if therapist_icc is not None:
        from .pie import therapist_slice

        c = therapist_slice(therapist_icc)
        origin = c.sources[0]
    else:
        from ..factors.pie import component_from_estimate
        from ..factors.taxonomy import element_estimates

        est = next(x for x in element_estimates("therapist-effects").estimates if x.metric == "icc")
        c = component_from_estimate(est)
        origin = "published estimate: " + c.sources[0]
    return {"origin": origin, "element": c.element, "metric": c.metric, "share": c.estimate, "se_logit": c.se}


def _technique_slice(technique_network) -> dict:
    """Where the pie's technique slice comes from: the published estimate the default pie uses, or the
    Dodo-bird test of the network of ``--technique-network FILE``; with its share (and, for the published
    estimate, the standard error of its draws on d's scale)."""
    if technique_network is not None:
        from .pie import technique_slice

        c = technique_slice(technique_network)
        return {"origin": c.sources[0], "element": c.element, "metric": c.metric, "share": c.estimate,
                "draws": c.se_basis}
    from ..factors.pie import _point_share, default_components

    c = next(c for c in default_components() if c.factor == "technique")  # the default pie's slice
    return {"origin": "published estimate: " + c.sources[0], "element": c.element, "metric": c.metric,
            "estimate": c.estimate, "share": _point_share(c), "draws": f"normal on d's scale, se {c.se:.4g}"}


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
@click.option("--therapist-icc", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With 'show therapist': the therapist slice from this file, as 'pie --therapist-icc' "
                   "takes it (a table of studies' ICCs, or the JSON of one practice's fit).")
@click.option("--technique-network", type=click.Path(exists=True, dir_okay=False), default=None,
              help="With 'show technique': the technique slice from this network's JSON, as "
                   "'pie --technique-network' takes it.")
@_format_option
def show(element, therapist_icc, technique_network, fmt):
    """Every estimate of ELEMENT: metric, estimate, k, N, CI, PI, I2, share of variance and source.

    A factor's name (relationship, client, technique, therapist, expectancy) lists its elements; for the
    therapist and the technique, also where the pie's slice comes from."""
    from ..errors import InputError
    from ..factors.taxonomy import FACTORS, element_estimates, list_elements

    factor = element.strip().lower()
    if therapist_icc is not None and factor != "therapist":
        raise InputError(f"--therapist-icc applies to 'factors show therapist', not {element!r}",
                         expected="commonfactors factors show therapist --therapist-icc FILE")
    if technique_network is not None and factor != "technique":
        raise InputError(f"--technique-network applies to 'factors show technique', not {element!r}",
                         expected="commonfactors factors show technique --technique-network FILE")
    if factor in FACTORS:
        df = list_elements()
        with caught_warnings() as notes:
            pie_slice = (_therapist_slice(therapist_icc) if factor == "therapist"
                         else _technique_slice(technique_network) if factor == "technique" else None)
        if notes:
            from ._output import print_warnings

            print_warnings(notes)
        _echo_elements(df[df["factor"] == factor].reset_index(drop=True), fmt, pie_slice, factor=factor)
        if fmt == "text":
            click.echo(f"\n'{factor}' is a factor; show the estimates of one element with "
                       f"'commonfactors factors show ELEMENT'.", err=True)
        return
    with caught_warnings() as notes:
        res = element_estimates(element)
    emit(res, fmt, notes=notes)
