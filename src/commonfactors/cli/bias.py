"""``commonfactors bias FILE_OR_DATASET --yi COL --vi COL``: funnel asymmetry and publication bias.

``--format json`` prints the DESIGN.md object: ``egger {stat, pval, limit_estimate}``, ``egger_classical
{stat, pval, df}``, ``begg {tau, pval}``, ``trim_and_fill {k0, estimate, se, tau2, side}``, ``fail_safe_n
{fsnum}``, ``pet {estimate, se}``, ``peese {estimate, se}``, ``selection_3psm {estimate, se, tau2, delta,
lrt, lrt_pval}``, plus ``k``, ``method``, ``direction`` (the favourable one) and ``warnings``; with
``--cluster`` also ``egger_clustered {stat, pval, df, limit_estimate}``; ``--format text`` the summary
table; ``--format csv`` the rows of the result's table (``BiasResult.to_frame``).
"""

from __future__ import annotations

import click

from ._common import (
    dependence_warning,
    effect_columns,
    effect_inputs,
    method_option,
    natural_text,
    read_input,
    transf_option,
)
from ._output import caught_warnings, emit, format_option


@click.command()
@effect_columns
@method_option(help="Estimator of tau2 for the models (Egger, trim and fill, PET-PEESE).")
@click.option("--estimator", type=click.Choice(["L0", "R0"]), default="L0", show_default=True,
              help="Trim-and-fill estimator of the number of missing studies.")
@click.option("--direction", type=click.Choice(["lower", "higher"], case_sensitive=False), default=None,
              help="Which effects are favourable (lower on symptom scales): the selection model's one-sided "
                   "p-values and trim and fill's side [default: higher for the selection model and trim and "
                   "fill's side from Egger's test, as metafor].")
@click.option("--cluster", default=None, metavar="COLUMN",
              help="Column of study IDs when effect sizes are nested: adds Egger's test as a three-level "
                   "meta-regression on the standard errors with CR2 inference.")
@click.option("--measure", default=None, metavar="MEASURE",
              help="The effect-size measure of --yi, for the natural scale of the adjusted estimates "
                   "[default: the file's 'measure' column, or a shipped dataset's measure].")
@transf_option
@format_option()
def bias(file_or_dataset, yi, vi, sei, slab, method, estimator, direction, cluster, measure, transf, fmt):
    """Egger, Begg, trim and fill, fail-safe N, PET-PEESE and the 3PSM selection model (metafor defaults)."""
    from ..models.bias import bias_tests

    with caught_warnings() as notes:
        data, yi, vi, sei, measure = effect_inputs(read_input(file_or_dataset), yi, vi, sei, measure)
        res = bias_tests(data, yi=yi, vi=None if sei else vi, sei=sei, slab=slab, method=method,
                         estimator=estimator, direction=None if direction is None else direction.lower(),
                         cluster=cluster)
    dependence = dependence_warning(data, slab, cluster)
    blocks = _natural(res, measure, transf.lower())

    def as_dict():
        out = res.to_dict()
        for key, block in blocks.items():
            if out.get(key) is not None:
                out[key]["natural"] = block
        return out

    def as_text():
        text = str(res.summary())
        labels = {"trim_and_fill": "trim and fill", "selection_3psm": "selection model"}
        shown = [(labels[k], b) for k, b in blocks.items()]
        return text + ("\n\n" + natural_text(shown) if shown else "")

    emit(res, fmt, notes=[*notes, *([dependence] if dependence else [])], as_dict=as_dict, as_text=as_text)


def _natural(res, measure, transf) -> dict:
    """The bias-adjusted estimates of trim and fill and the selection model with their confidence intervals,
    back-transformed (:func:`commonfactors._transforms.natural`; no prediction interval)."""
    from .._transforms import natural

    fits = {"trim_and_fill": res.trim_and_fill, "selection_3psm": res.selection_3psm}
    blocks = {key: natural(transf, measure, f.estimate, f.ci_low, f.ci_high) for key, f in fits.items()
              if f is not None}
    return {key: b for key, b in blocks.items() if b is not None}
