"""``commonfactors convert FROM TO VALUE...``: one effect-size metric into another, with its variance."""

from __future__ import annotations

import math

import click

from ..errors import InputError
from ._output import caught_warnings, emit, format_option

SOURCES = ("d", "r", "logor", "t", "f", "p")
TARGETS = ("d", "g", "r", "logor", "nnt")
_NAMES = {"d": "d", "g": "g", "r": "r", "logor": "log OR", "t": "t", "f": "F", "p": "p", "nnt": "NNT"}


def _needs_groups(what: str, n1i, n2i) -> None:
    if n1i is None or n2i is None:
        raise InputError(f"{what} needs the group sizes", expected="--n1i N and --n2i N")


def _to_d(source, values, vi, *, ni, n1i, n2i, sign):
    """(d, vi of d or None) from ``values`` on the ``source`` metric."""
    from ..effects import conversions as cv

    if source == "d":
        return values, vi
    if source == "r":
        return cv.r_to_d(values, vi, ni=ni, n1i=n1i, n2i=n2i)
    if source == "logor":
        return cv.logor_to_d(values, vi)
    _needs_groups(f"d from {_NAMES[source]}", n1i, n2i)
    if source == "t":
        return cv.d_from_t(values, n1i, n2i)
    if source == "f":
        return cv.d_from_f(values, n1i, n2i, sign=sign)
    return cv.d_from_p(values, n1i, n2i, sign=sign)


def _from_d(target, d, vi, *, n1i, n2i, cer):
    """(value, vi or None) on the ``target`` metric from d."""
    from ..effects import conversions as cv
    from ..effects.nnt import nnt_from_d

    if target == "d":
        return d, vi
    if target == "r":
        return cv.d_to_r(d, vi, n1i=n1i, n2i=n2i)
    if target == "logor":
        return cv.d_to_logor(d, vi)
    if target == "g":
        _needs_groups("Hedges' g", n1i, n2i)
        return cv.d_to_g(d, n1i, n2i)
    return nnt_from_d(d, cer=cer), None


@click.command(context_settings={"ignore_unknown_options": True})  # negative VALUEs are not options
@click.argument("source", metavar="FROM", type=click.Choice(SOURCES, case_sensitive=False))
@click.argument("target", metavar="TO", type=click.Choice(TARGETS, case_sensitive=False))
@click.argument("values", metavar="VALUE...", nargs=-1, required=True, type=float)
@click.option("--vi", "vi", multiple=True, type=float, metavar="V",
              help="Sampling variance of each VALUE (give it once per VALUE), carried to the new metric.")
@click.option("--ni", type=float, metavar="N", help="Sample size (a correlation's).")
@click.option("--n1i", type=float, metavar="N", help="Size of group 1 (treatment).")
@click.option("--n2i", type=float, metavar="N", help="Size of group 2 (control).")
@click.option("--sign", type=click.Choice(["+1", "-1"]), default="+1", show_default=True,
              help="The direction of an F or p value (they carry none): -1 when group 2 did better.")
@click.option("--cer", type=float, metavar="P",
              help="Control event rate for the NNT (Furukawa & Leucht); without it, Kraemer & Kupfer's NNT.")
@format_option()
def convert(source, target, values, vi, ni, n1i, n2i, sign, cer, fmt):
    """Convert effect sizes: FROM d, r, logor, t, f or p; TO d, g (Hedges'), r, logor or nnt.

    \b
    Examples:
      commonfactors convert d r 0.5 --n1i 50 --n2i 50
      commonfactors convert t g 2.5 --n1i 30 --n2i 30
      commonfactors convert d nnt 0.5 --cer 0.2

    d <-> r <-> log OR follow Borenstein et al. (2009, ch. 7); d from t, F and p, Lipsey & Wilson (2001);
    g = J(n1 + n2 - 2) d (Hedges, 1981); the NNT, Kraemer & Kupfer (2006) or, with --cer, Furukawa &
    Leucht (2011). Variances are carried when --vi (or the group sizes) are given.
    """
    import numpy as np

    source, target = source.lower(), target.lower()
    if vi and len(vi) != len(values):
        raise InputError(f"{len(vi)} --vi for {len(values)} values", expected="one --vi per VALUE, or none")
    if cer is not None and target != "nnt":
        raise InputError("--cer was given", expected="--cer only with TO nnt")
    x = np.asarray(values, dtype=float)
    with caught_warnings() as notes:
        d, vd = _to_d(source, x, np.asarray(vi, dtype=float) if vi else None, ni=ni, n1i=n1i, n2i=n2i,
                      sign=float(sign))
        y, vy = _from_d(target, d, vd, n1i=n1i, n2i=n2i, cer=cer)
    rows = [{"input": float(a), "estimate": float(b), "vi": None if vy is None else float(c)}
            for a, b, c in zip(x, np.atleast_1d(y), np.atleast_1d(vy) if vy is not None else x, strict=True)]
    method = None
    if target == "nnt":
        method = "Furukawa & Leucht (2011)" if cer is not None else "Kraemer & Kupfer (2006)"

    def as_text() -> str:
        lines = []
        for r in rows:
            line = f"{_NAMES[source]} = {r['input']:g} -> {_NAMES[target]} = {_text(r['estimate'])}"
            if r["vi"] is not None:
                line += f" (vi = {r['vi']:.4f})"
            lines.append(line)
        if method:
            lines.append(f"NNT by {method}; a negative NNT is a number needed to harm.")
        return "\n".join(lines)

    emit(fmt=fmt, notes=notes,
         as_dict=lambda: {"from": source, "to": target, "method": method,
                          "rows": [{k: (None if v is not None and math.isinf(v) else v) for k, v in r.items()}
                                   for r in rows]},
         as_records=lambda: [{"from": source, "input": r["input"], "to": target, "estimate": r["estimate"],
                              "vi": r["vi"]} for r in rows],
         as_text=as_text)


def _text(v: float) -> str:
    return ("Inf" if v > 0 else "-Inf") if math.isinf(v) else f"{v:.4f}"
