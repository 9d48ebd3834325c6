"""``commonfactors pie``: each factor's share of outcome variance, with Monte Carlo intervals."""

from __future__ import annotations

import csv
import warnings

import click

from ..errors import CommonFactorsWarning, InputError
from ._common import FORMATS, echo_json


def read_correlation_csv(path: str):
    """A square CSV correlation matrix: names in the header row (after a first cell that is ignored) and in
    the first column. Returns a DataFrame of the cells as text (validated by ``check_correlation_matrix``)."""
    import pandas as pd

    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise InputError(
            "fewer than two lines",
            file=path,
            expected="a header row of names and one row per variable, the outcome's named 'outcome'",
        )
    header = [c.strip() for c in rows[0][1:]]
    for line, r in enumerate(rows[1:], start=2):
        if len(r) != len(header) + 1:
            raise InputError(
                f"{len(r)} cells",
                file=path,
                row=line,
                expected=f"{len(header) + 1} (a name, then one value per column)",
            )
    frame = pd.DataFrame(
        [r[1:] for r in rows[1:]], index=[r[0].strip() for r in rows[1:]], columns=header, dtype=object
    )
    frame.attrs["source"] = path
    return frame


@click.command()
@click.option(
    "--method",
    type=click.Choice(["additive", "dominance"]),
    default=None,
    help="additive: each factor's own r^2, summed (as published pies); dominance: general dominance "
    "weights of R2 from --correlations (no double counting). Default: dominance when "
    "--correlations is given, else additive.",
)
@click.option(
    "--correlations",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Square CSV correlation matrix, names in the header row and first column; the outcome's "
    "row and column named 'outcome'.",
)
@click.option(
    "--n", "n", type=float, default=None, help="(Harmonic mean) sample size the correlations rest on."
)
@click.option("--draws", type=int, default=10000, show_default=True, help="Monte Carlo draws.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same numbers).")
@click.option("--level", type=float, default=95, show_default=True, help="Interval level in percent.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
def pie(method, correlations, n, draws, seed, level, fmt):
    """Each factor's share of outcome variance with Monte Carlo intervals (issue 5)."""
    from ..factors import pie as _pie

    method = method or ("dominance" if correlations else "additive")
    with warnings.catch_warnings():  # warnings are part of the result (summary footer / JSON "warnings")
        warnings.simplefilter("ignore", CommonFactorsWarning)
        if method == "additive":
            if correlations or n is not None:
                raise InputError(
                    "--correlations and --n apply to --method dominance",
                    expected="--method dominance --correlations FILE --n N",
                )
            res = _pie.additive_pie(draws=draws, seed=seed, level=level)
        else:
            if not correlations:
                raise InputError(
                    "--method dominance needs a correlation matrix", expected="--correlations FILE --n N"
                )
            if n is None:
                raise InputError(
                    "--correlations needs --n", expected="--n N, the (harmonic mean) sample size"
                )
            res = _pie.dominance_pie(
                read_correlation_csv(correlations), n=n, draws=draws, seed=seed, level=level
            )
    if fmt == "json":
        echo_json(res.to_dict())
    else:
        click.echo(str(res.summary()))
