"""``commonfactors pool FILE_OR_DATASET --yi COL (--vi COL | --sei COL) ...``: pooled effects.

Common-, random- and mixed-effects models and subgroups through :func:`commonfactors.meta_analysis`;
with ``--cluster`` a three-level model through ``commonfactors.models.multilevel``. The JSON output is
the contract of DESIGN.md. On the default path (a CSV file, ``--format json``) this imports only numpy,
click and the package: no pandas, scipy or formulaic (``--mods`` needs formulaic).
"""

from __future__ import annotations

import csv
import io
import math
import warnings

import click

from ._common import FORMATS_TABLE, echo_json, level_option, method_option, read_input, test_option


def _csv(records: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = list(records[0]) if records else []
    writer.writerow(header)
    for r in records:
        writer.writerow(["NA" if isinstance(r[h], float) and math.isnan(r[h]) else r[h] for h in header])
    return buf.getvalue()


@click.command()
@click.argument("file_or_dataset")
@click.option("--yi", default="yi", show_default=True, help="Column of effect sizes.")
@click.option("--vi", default=None, help="Column of sampling variances [default: vi].")
@click.option("--sei", default=None, help="Column of standard errors (instead of --vi).")
@method_option(weighted=True,
               help="Estimator of tau2; FE/EE/CE for a common-effect model; GENQ needs --weights.")
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
@click.option("--format", "fmt", type=FORMATS_TABLE, default="text", show_default=True)
def pool(file_or_dataset, yi, vi, sei, method, test, mods, by, weights, level, slab, cluster, within, robust,
         fmt):
    """Pool effect sizes: common/random-effects model, meta-regression (--mods), subgroups (--by),
    or a three-level model (--cluster)."""
    if vi is not None and sei is not None:
        raise click.UsageError("give either --vi or --sei, not both")
    if cluster is None and (within is not None or robust is not None):
        raise click.UsageError("--within and --robust need --cluster")
    if cluster is not None and by is not None:
        raise click.UsageError("--by cannot be combined with --cluster")
    if cluster is not None and weights is not None:
        raise click.UsageError("--weights cannot be combined with --cluster")
    if sei is None and vi is None:
        vi = "vi"
    data = read_input(file_or_dataset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
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
    for w in caught:
        click.echo(f"warning: {w.message}", err=True)
    if fmt == "json":
        echo_json(res.to_dict())
    elif fmt == "csv":
        click.echo(_csv(res.records()), nl=False)
    else:
        click.echo(str(res.summary()))
