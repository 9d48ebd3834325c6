"""``commonfactors pool FILE_OR_DATASET --yi COL (--vi COL | --sei COL) ...``: pooled effects.

Common-, random- and mixed-effects models and subgroups through :func:`commonfactors.meta_analysis`;
with ``--cluster`` a three-level model through ``commonfactors.models.multilevel``; with ``--method MH``
or ``PETO`` 2x2 tables (``--ai --bi --ci --di`` or ``--ai --ci --n1i --n2i``) pooled by
``commonfactors.models.binary``. The JSON output is the contract of DESIGN.md. On the default path (a CSV
file, ``--format json``) this imports only numpy, click and the package: no pandas, scipy or formulaic
(``--mods`` needs formulaic).
"""

from __future__ import annotations

from typing import get_args

import click

from ..models._options import BINARY_METHODS, Method
from ._common import (
    dependence_warning,
    effect_inputs,
    level_option,
    natural_block,
    natural_text,
    read_input,
    sheet_option,
    test_option,
    transf_option,
)
from ._output import caught_warnings, emit, format_option

#: the 2x2 table's columns, as metafor's escalc names them
_CELLS = ("ai", "bi", "ci", "di", "n1i", "n2i")


@click.command()
@click.argument("file_or_dataset")
@click.option("--yi", default=None, help="Column of effect sizes [default: yi, or a shipped dataset's own].")
@click.option("--vi", default=None, help="Column of sampling variances [default: vi].")
@click.option("--sei", default=None, help="Column of standard errors (instead of --vi).")
@click.option("--method", type=click.Choice(get_args(Method) + BINARY_METHODS, case_sensitive=False),
              default="REML", show_default=True,
              help="Estimator of tau2; FE/EE/CE for a common-effect model; GENQ needs --weights; MH "
                   "(Mantel-Haenszel) or PETO (Peto's odds ratio) pool 2x2 tables given by --ai ... --di.")
@click.option("--measure", default=None, metavar="MEASURE",
              help="The effect-size measure of --yi (ZCOR, OR, RR, PLO, SMD, ...), for the natural scale "
                   "[default: the file's 'measure' column, or a shipped dataset's measure]; with --method "
                   "MH: OR (the default), RR or RD.")
@transf_option
@click.option("--ai", default=None, metavar="COLUMN", help="2x2 tables: events in group 1 (MH, PETO).")
@click.option("--bi", default=None, metavar="COLUMN", help="2x2 tables: non-events in group 1.")
@click.option("--ci", default=None, metavar="COLUMN", help="2x2 tables: events in group 2.")
@click.option("--di", default=None, metavar="COLUMN", help="2x2 tables: non-events in group 2.")
@click.option("--n1i", default=None, metavar="COLUMN", help="2x2 tables: size of group 1 (instead of --bi).")
@click.option("--n2i", default=None, metavar="COLUMN", help="2x2 tables: size of group 2 (instead of --di).")
@test_option
@click.option("--mods", default=None, help='Moderators as an R-style formula, e.g. "~ ablat + C(alloc)".')
@click.option("--by", default=None,
              help="Column defining subgroups: one model (with --mods, one meta-regression) per level, and "
                   "the test of their differences.")
@click.option("--weights", default=None, help="Column of study weights (> 0), with --method GENQ.")
@level_option
@click.option("--slab", default=None, help="Column of study labels.")
@click.option("--cluster", default=None, help="Column of cluster IDs: a three-level model.")
@click.option("--within", default=None, help="Column of effect IDs within clusters (with --cluster).")
@click.option("--robust", type=click.Choice(["cr2"], case_sensitive=False), default=None,
              help="Cluster-robust inference (with --cluster).")
@sheet_option
@format_option()
def pool(file_or_dataset, yi, vi, sei, method, measure, transf, ai, bi, ci, di, n1i, n2i, test, mods, by,
         weights, level, slab, cluster, within, robust, fmt):
    """Pool effect sizes: common/random-effects model, meta-regression (--mods), subgroups (--by),
    a three-level model (--cluster), or 2x2 tables by Mantel-Haenszel or Peto (--method MH|PETO)."""
    cells = dict(zip(_CELLS, (ai, bi, ci, di, n1i, n2i), strict=True))
    if method.upper() in BINARY_METHODS:
        others = {"--vi": vi, "--sei": sei, "--mods": mods, "--by": by, "--weights": weights,
                  "--cluster": cluster, "--within": within, "--robust": robust}
        _pool_tables(file_or_dataset, method.upper(), measure, cells, test, level, slab, others, fmt)
        return
    given = [f"--{name}" for name, column in cells.items() if column is not None]
    if given:
        raise click.UsageError(f"{', '.join(given)}: 2x2 tables are pooled by --method MH "
                               "or PETO (for other models compute effect sizes with 'commonfactors effects')")
    if vi is not None and sei is not None:
        raise click.UsageError("give either --vi or --sei, not both")
    if cluster is None and (within is not None or robust is not None):
        raise click.UsageError("--within and --robust need --cluster")
    if cluster is not None and by is not None:
        raise click.UsageError("--by cannot be combined with --cluster")
    if cluster is not None and weights is not None:
        raise click.UsageError("--weights cannot be combined with --cluster")
    with caught_warnings() as notes:
        data, yi, vi, sei, measure = effect_inputs(read_input(file_or_dataset), yi, vi, sei, measure)
        if cluster is not None:
            from ..models.multilevel import multilevel_meta_analysis

            res = multilevel_meta_analysis(data, yi=yi, vi=vi, sei=sei, cluster=cluster, within=within,
                                           mods=mods, method=method, test=test, level=level, robust=robust)
        else:
            from ..models.univariate import meta_analysis

            try:
                res = meta_analysis(data, yi=yi, vi=vi, sei=sei, mods=mods, by=by, slab=slab, method=method,
                                    test=test, level=level, weights=weights)
            except ValueError as e:
                if type(e) is not ValueError:  # InputError: reported by the command group
                    raise
                raise click.UsageError(str(e)) from None
    dependence = dependence_warning(data, slab, cluster)
    natural = _natural(res, measure, transf, data)

    def as_dict() -> dict:
        out = res.to_dict()
        if measure is not None:
            out["measure"] = measure
        if natural["natural"] is not None:
            out["natural"] = natural["natural"]
        if natural["subgroups_natural"] is not None:
            for group, block in zip(out["subgroups"], natural["subgroups_natural"], strict=True):
                group["natural"] = block
        return out

    def as_records() -> list[dict]:
        records = res.records()
        if natural["natural"] is not None:
            return [{**r, **{f"natural_{k}": v for k, v in natural["natural"].items()}} for r in records]
        if natural["subgroups_natural"] is not None:
            return [{**r, **{f"natural_{k}": v for k, v in (b or {}).items()}}
                    for r, b in zip(records, natural["subgroups_natural"], strict=True)]
        return records

    def as_text() -> str:
        blocks = [("", natural["natural"])] if natural["natural"] is not None else []
        if natural["subgroups_natural"] is not None:
            blocks = [(str(r["level"]), b) for r, b in zip(res.records(), natural["subgroups_natural"],
                                                          strict=True) if b is not None]
        return str(res.summary()) + ("\n\n" + natural_text(blocks) if blocks else "")

    emit(res, fmt, notes=[*notes, *([dependence] if dependence else [])], as_dict=as_dict,
         as_records=as_records, as_text=as_text)


def _natural(res, measure, transf, data) -> dict:
    """The back-transformed pooled estimate ("natural") of a model without moderators, or of each subgroup
    ("subgroups_natural"); None where the scale stays the model's (or with moderators)."""
    if hasattr(res, "levels"):
        blocks = [natural_block(g, measure, transf, data) if len(g.coefficients) == 1 else None
                  for g in res.results]
        return {"natural": None, "subgroups_natural": blocks if any(b is not None for b in blocks) else None}
    if len(getattr(res, "coefficients", ())) > 1:
        return {"natural": None, "subgroups_natural": None}
    return {"natural": natural_block(res, measure, transf, data), "subgroups_natural": None}


def _pool_tables(file_or_dataset, method, measure, cells, test, level, slab, others, fmt):
    """``--method MH|PETO``: 2x2 tables pooled by Mantel-Haenszel or Peto (commonfactors.models.binary)."""
    clash = [name for name, value in others.items() if value is not None]
    if test.lower() != "z":
        clash.append("--test")
    if clash:
        raise click.UsageError(f"{', '.join(clash)} cannot be combined with --method {method} "
                               "(a common-effect model of 2x2 tables with a z test)")
    if method == "PETO" and measure is not None and measure.upper() != "OR":
        raise click.UsageError(f"--method PETO pools odds ratios, not --measure {measure.upper()}")
    if measure is not None and measure.upper() not in ("OR", "RR", "RD"):
        raise click.UsageError(f"--method {method} pools OR, RR or RD, not --measure {measure}")
    if cells["ai"] is None or cells["ci"] is None or not (
            (cells["bi"] is not None and cells["di"] is not None)
            or (cells["n1i"] is not None and cells["n2i"] is not None)):
        raise click.UsageError(f"--method {method} needs the 2x2 tables: --ai, --bi, --ci and --di, or --ai, "
                               "--ci, --n1i and --n2i (columns of counts)")
    if cells["bi"] is not None and cells["di"] is not None:
        cells = {**cells, "n1i": None, "n2i": None}
    from ..models.binary import mantel_haenszel, peto

    with caught_warnings() as notes:
        data = read_input(file_or_dataset)
        if method == "MH":
            res = mantel_haenszel(data, **cells, measure=measure or "OR", level=level, slab=slab)
        else:
            res = peto(data, **cells, level=level, slab=slab)
    emit(res, fmt, notes=notes)
