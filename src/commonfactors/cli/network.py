"""``commonfactors network FILE --study COL --treatment COL ...``: network meta-analysis.

Every treatment compared with every other at once through :func:`commonfactors.network_meta_analysis`, from
arm-level data (``--events``/``--n`` or ``--mean``/``--sd``/``--n``) or contrast-level data (``--yi``,
``--vi``, ``--treat1``, ``--treat2``); with ``--active`` the Dodo-bird test. Text prints the summary, JSON
the result's ``to_dict()``, CSV one row per treatment against the reference (``--league`` for every pair).
``--node-split`` adds the direct and indirect estimates of each comparison in a loop; ``--contributions`` the
percent contribution of each design to each network estimate (in CSV, one row per comparison and design).
``--plot graph|forest|league --out FILE`` draws the network graph, the forest plot of each treatment against
the reference, or the league table.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._common import level_option, read_input, refuse_input_as_output, sheet_option, source_file
from ._output import caught_warnings, emit, format_option

PLOTS = ("graph", "forest", "league")
SUFFIXES = ("png", "svg", "pdf")
MEASURES = ("OR", "RR", "RD", "MD", "SMD")


@click.command()
@click.argument("file")
@click.option("--study", default="study", show_default=True, metavar="COLUMN", help="Column of trial IDs.")
@click.option("--treatment", default=None, metavar="COLUMN",
              help="Arm-level data: column of each arm's treatment (one row per trial arm).")
@click.option("--events", default=None, metavar="COLUMN", help="Arm-level: events in the arm (OR, RR, RD).")
@click.option("--n", "n", default=None, metavar="COLUMN", help="Arm-level: participants in the arm.")
@click.option("--mean", default=None, metavar="COLUMN", help="Arm-level: the arm's mean (MD, SMD).")
@click.option("--sd", default=None, metavar="COLUMN", help="Arm-level: the arm's standard deviation.")
@click.option("--yi", default=None, metavar="COLUMN",
              help="Contrast-level data: column of effect sizes of --treat1 vs --treat2 (one row per "
                   "comparison; every pair of a multi-arm trial's arms).")
@click.option("--vi", default=None, metavar="COLUMN", help="Contrast-level: column of sampling variances.")
@click.option("--treat1", default=None, metavar="COLUMN", help="Contrast-level: the first treatment.")
@click.option("--treat2", default=None, metavar="COLUMN", help="Contrast-level: the second treatment.")
@click.option("--measure", type=click.Choice(MEASURES, case_sensitive=False), default=None,
              help="Effect-size measure of arm-level data (log odds ratio, log risk ratio, risk difference, "
                   "mean difference, Hedges' g).")
@click.option("--add", type=float, default=0.5, show_default=True,
              help="Added to the cells of binary arms (see --to).")
@click.option("--to", "to", type=click.Choice(["only0", "all", "if0all", "none"]), default="only0",
              show_default=True, help="Trials whose arms get --add: those with a zero cell, all, ...")
@click.option("--reference", default=None, metavar="NAME",
              help="The treatment every other is compared with [default: the first in sorted order].")
@click.option("--method", type=click.Choice(["REML", "ML", "FE"], case_sensitive=False), default="REML",
              show_default=True, help="Estimation of tau2; FE for a common-effect model.")
@click.option("--active", default=None, metavar="A,B,C",
              help="The active (bona fide) treatments of the Dodo-bird test, separated by commas.")
@click.option("--small-values", type=click.Choice(["good", "bad"]), default="good", show_default=True,
              help="Whether smaller effects are better (good) or worse (bad), for the rankings.")
@click.option("--n-sim", type=click.IntRange(min=100), default=10_000, show_default=True, metavar="N",
              help="Draws of the simulated rankings (SUCRA).")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Seed of the simulated rankings and of Wampold's random signs.")
@click.option("--node-split", is_flag=True,
              help="Split each comparison with direct and indirect evidence (Dias et al. 2010): one more fit "
                   "per comparison.")
@click.option("--contributions", is_flag=True,
              help="The percent contribution of each design to each network estimate (Papakonstantinou "
                   "et al. 2018); with --format csv, one row per comparison and design.")
@level_option
@click.option("--league", "league_csv", is_flag=True,
              help="With --format csv: every pair (the league table).")
@click.option("--plot", type=click.Choice(PLOTS), default=None,
              help="Draw the network graph, the forest plot against the reference, or the league table.")
@click.option("--out", "out", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="The figure file of --plot (.png, .svg or .pdf).")
@sheet_option
@format_option()
def network(file, study, treatment, events, n, mean, sd, yi, vi, treat1, treat2, measure, add, to, reference,
            method, active, small_values, n_sim, seed, node_split, contributions, level, league_csv, plot,
            out, fmt):
    """Network meta-analysis: all treatments compared at once (contrast-based, multi-arm trials, one tau2),
    league table, rankings, inconsistency and (--active) the Dodo-bird test.

    \b
    Examples:
      commonfactors network arms.csv --study study --treatment trt --events xi --n ni --measure OR \\
          --reference no_contact --small-values bad
      commonfactors network arms.csv --study study --treatment trt --mean m --sd sd --n n --measure SMD \\
          --reference waitlist --active CBT,IPT,PST --plot graph --out network.png
      commonfactors network contrasts.csv --study study --yi yi --vi vi --treat1 t1 --treat2 t2 \\
          --reference placebo
    """
    contrast = any(v is not None for v in (yi, vi, treat1, treat2))
    if contrast:
        missing = [o for o, v in (("--yi", yi), ("--vi", vi), ("--treat1", treat1), ("--treat2", treat2))
                   if v is None]
        if missing:
            raise click.UsageError(f"contrast-level data need {', '.join(missing)} as well")
        arm = [o for o, v in (("--treatment", treatment), ("--events", events), ("--n", n), ("--mean", mean),
                              ("--sd", sd)) if v is not None]
        if arm:
            raise click.UsageError(f"{', '.join(arm)} are options of arm-level data, not of --yi/--vi")
    else:
        if treatment is None:
            raise click.UsageError("missing option --treatment (arm-level data) or "
                                   "--yi/--vi/--treat1/--treat2 (contrast-level data)")
        if measure is None:
            raise click.UsageError("missing option --measure (OR, RR, RD, MD or SMD) for arm-level data")
    if (plot is None) != (out is None):
        raise click.UsageError("--plot and --out go together (--plot graph|forest|league --out FILE)")
    if league_csv and fmt != "csv":
        raise click.UsageError("--league is an option of --format csv")
    if league_csv and contributions:
        raise click.UsageError("--league and --contributions are two CSV tables: give one")
    target = _plot_target(out, file) if out is not None else None
    data = read_input(file)
    actives = None
    if active is not None:
        actives = [a.strip() for a in active.split(",") if a.strip()]
    from ..models.network import network_meta_analysis

    with caught_warnings() as notes:
        res = network_meta_analysis(data, study=study, treatment=treatment, events=events, n=n, mean=mean,
                                    sd=sd, yi=yi, vi=vi, treat1=treat1, treat2=treat2,
                                    measure=measure.upper() if measure else None, reference=reference,
                                    method=method.upper(), active=actives, add=add, to=to, level=level,
                                    small_values=small_values, n_sim=n_sim, seed=seed, node_split=node_split,
                                    contributions=contributions)
        if target is not None:
            _write_plot(res, plot, target)
    if league_csv:
        records = lambda: list(res.league)  # noqa: E731
    elif contributions:
        records = lambda: list(res.design_contributions)  # noqa: E731
    else:
        records = lambda: _records(res)  # noqa: E731
    emit(res, fmt, notes=notes, as_records=records)


def _records(res) -> list[dict]:
    table = res.to_frame()
    return [dict(zip(table.columns, row, strict=True)) for row in table.itertuples(index=False, name=None)]


def _plot_target(out, file) -> Path:
    path = Path(out)
    if path.suffix.lower().lstrip(".") not in SUFFIXES:
        raise InputError(f"has the suffix {path.suffix!r}", file=out, expected="a .png, .svg or .pdf file")
    refuse_input_as_output(out, source_file(file))
    return path


def _write_plot(res, plot: str, path: Path) -> None:
    from .._plotting import draw
    from ..report import figures

    ax = draw(f"network_{plot}", res)
    figures.save(ax.figure, path, formats=(path.suffix.lower().lstrip("."),), public=False)
