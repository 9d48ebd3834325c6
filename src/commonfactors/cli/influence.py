"""``commonfactors influence FILE_OR_DATASET --yi COL --vi COL``: leave-one-out case diagnostics.

``--format json`` prints per-study lists ``leave1out_estimate, leave1out_tau2, rstudent, cooks_d, dffits, hat,
weight`` (DESIGN.md) plus ``leave1out_q, cov_ratio, influential, dfbetas, slab, k, method, warnings``;
``--format csv`` one row per study; ``--format text`` metafor's table.
"""

from __future__ import annotations

import click

from ._common import (
    dependence_warning,
    effect_columns,
    effect_inputs,
    method_option,
    read_input,
    test_option,
)
from ._output import caught_warnings, emit, format_option


@click.command()
@effect_columns
@click.option("--mods", default=None, metavar="FORMULA", help='Moderators, e.g. "~ ablat + C(alloc)".')
@method_option()
@test_option
@format_option()
def influence(file_or_dataset, yi, vi, sei, slab, mods, method, test, fmt):
    """Leave-one-out diagnostics: rstudent, DFFITS, Cook's distance, covariance ratio, hat values, weights."""
    from ..models.influence import influence as run

    with caught_warnings() as notes:
        data, yi, vi, sei, _ = effect_inputs(read_input(file_or_dataset), yi, vi, sei, None)
        res = run(data, yi=yi, vi=None if sei else vi, sei=sei, slab=slab, mods=mods, method=method,
                  test=test)
    dependence = dependence_warning(data, slab, None)
    emit(res, fmt, notes=[*notes, *([dependence] if dependence else [])])
