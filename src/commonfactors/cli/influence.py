"""``commonfactors influence FILE_OR_DATASET --yi COL --vi COL``: leave-one-out case diagnostics.

``--format json`` prints per-study lists ``leave1out_estimate, leave1out_tau2, rstudent, cooks_d, dffits, hat,
weight`` (DESIGN.md) plus ``leave1out_q, cov_ratio, influential, dfbetas, slab, k, method, warnings``;
``--format csv`` one row per study; ``--format text`` metafor's table.
"""

from __future__ import annotations

import warnings

import click

from ..errors import CommonFactorsWarning
from ._common import (
    FORMATS_TABLE,
    dependence_warning,
    echo_json,
    effect_columns,
    effect_inputs,
    method_option,
    read_input,
    test_option,
)


@click.command()
@effect_columns
@click.option("--mods", default=None, metavar="FORMULA", help='Moderators, e.g. "~ ablat + C(alloc)".')
@method_option()
@test_option
@click.option("--format", "fmt", type=FORMATS_TABLE, default="text", show_default=True)
def influence(file_or_dataset, yi, vi, sei, slab, mods, method, test, fmt):
    """Leave-one-out diagnostics: rstudent, DFFITS, Cook's distance, covariance ratio, hat values, weights."""
    from ..models.influence import influence as run

    data, yi, vi, sei, _ = effect_inputs(read_input(file_or_dataset), yi, vi, sei, None)
    dependence = dependence_warning(data, slab, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CommonFactorsWarning)  # kept in the result, printed below
        res = run(data, yi=yi, vi=None if sei else vi, sei=sei, slab=slab, mods=mods, method=method,
                  test=test)
    if dependence:
        click.echo(f"warning: {dependence}", err=True)
    if fmt == "json":
        out = res.to_dict()
        out["warnings"] = [*out["warnings"], *([dependence] if dependence else [])]
        echo_json(out)
    elif fmt == "csv":
        click.echo(res.to_frame().to_csv(index=False, na_rep="NA", lineterminator="\n"), nl=False)
        for w in res.warnings:
            click.echo(f"warning: {w}", err=True)
    else:
        click.echo(str(res.summary()))
