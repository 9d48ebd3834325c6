"""``commonfactors simulate-practice``: write a synthetic practice (clients of therapists, scored at every
session) with a known therapist ICC to a CSV file, and say what is true of it.

``commonfactors simulate``: a simulation study of meta-analytic estimators over a grid of conditions, in this
process or on Dask, its table written to a CSV or Parquet file."""

from __future__ import annotations

import click

from ._output import emit, format_option

#: ``--years`` without a value: clients start over the therapists' first 10 years of experience
DEFAULT_YEARS = 10.0


@click.command("simulate-practice")
@click.option("--therapists", "n_therapists", type=int, default=50, show_default=True, help="Therapists.")
@click.option("--clients", "n_clients", type=int, default=20, show_default=True,
              help="Clients per therapist.")
@click.option("--icc", type=float, default=0.05, show_default=True,
              help="Therapists' share of the post-treatment variance left after adjusting for the intake "
                   "score (completers; see the Python docstring of simulate_practice).")
@click.option("--sessions", "n_sessions", type=int, default=8, show_default=True,
              help="Planned sessions per client (session 1 is intake).")
@click.option("--sites", type=int, default=None,
              help="Number of sites; therapists are assigned to them in turn.")
@click.option("--site-icc", type=float, default=0.0, show_default=True,
              help="Sites' share of the same variance (needs --sites).")
@click.option("--dropout", type=float, default=0.0, show_default=True,
              help="Probability that a client stops before the last planned session (at a session drawn "
                   "uniformly from 1 to sessions - 1).")
@click.option("--years", type=float, default=None, is_flag=False, flag_value=DEFAULT_YEARS,
              help=f"Add a column 'years': the therapist's years of experience when the client starts, "
                   f"uniform on [0, Y] (--years alone: {DEFAULT_YEARS:g}).")
@click.option("--years-slope", type=float, default=0.0, show_default=True,
              help="Average change in a therapist's effect per year of experience (needs --years).")
@click.option("--slope-sd", type=float, default=0.0, show_default=True,
              help="SD of the therapists' own change per year of experience (needs --years).")
@click.option("--seed", type=int, default=None, help="Random seed (same seed, same practice).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="CSV file to write (atomically): client, therapist, [site], session, score, [years].")
@format_option(help="What is printed about the file written: text, json or csv (the true values).")
def simulate_practice(n_therapists, n_clients, icc, n_sessions, sites, site_icc, dropout, years, years_slope,
                      slope_sd, seed, out_path, fmt):
    """Write a SYNTHETIC practice with a known therapist ICC to a CSV file (made-up clients, for checking
    analyses; not data of real clients)."""
    from .._io_write import write_atomic
    from ..simulate import simulate_practice as simulate
    from ._output import csv_text

    frame = simulate(n_therapists, n_clients, icc, n_sessions, sites=sites, site_icc=site_icc,
                     slope_sd=slope_sd, years=years, years_slope=years_slope, dropout=dropout, seed=seed)
    write_atomic(out_path, csv_text(frame))
    truth = {k: v for k, v in frame.attrs["truth"].items() if k != "therapists"}
    record = {"synthetic": True, "file": str(out_path), "rows": len(frame), **truth,
              "parameters": frame.attrs["parameters"]}
    emit(fmt=fmt, as_dict=lambda: record,
         as_records=lambda: [{k: v for k, v in record.items() if k != "parameters"}
                             | {f"parameter_{k}": v for k, v in frame.attrs["parameters"].items()
                                if k != "scale"}],
         as_text=lambda: _text(frame, out_path))


def _text(frame, out_path) -> str:
    p, t = frame.attrs["parameters"], frame.attrs["truth"]
    seed = (f"seed {p['seed']}" if p["seed"] is not None
            else "no seed (fresh randomness: give --seed to repeat it)")
    where = f" in {p['sites']} sites" if p["sites"] else ""
    lines = [
        f"Wrote {out_path}: SYNTHETIC data, not real clients ({seed}).",
        f"{len(frame)} rows: {t['n_clients']} clients of {p['n_therapists']} therapists{where}, "
        f"{p['n_sessions']} sessions planned, {t['n_dropped_out']} of them stopped early.",
        "",
        "True values (post-treatment score given the intake score, completers):",
        f"  icc            {t['icc']:.4f}   therapists' share",
    ]
    if p["sites"]:
        lines.append(f"  site_icc       {t['site_icc']:.4f}   sites' share")
        lines.append(f"  var_site       {t['var_site']:.4f}")
    lines += [f"  var_therapist  {t['var_therapist']:.4f}",
              f"  var_residual   {t['var_residual']:.4f}"]
    if p["years"] is not None:
        lines += [f"  years_slope    {t['years_slope']:.4f}   per year of experience",
                  f"  var_slope      {t['var_slope']:.4f}   therapists' slopes"]
    if t["share_clipped"] > 0:
        lines.append(f"{100 * t['share_clipped']:.2f}% of scores were set to a bound of the 0-40 scale.")
    return "\n".join(lines)


def _list(ctx, param, value):
    """A comma-separated option as a list of its non-empty items."""
    if value is None:
        return None
    items = [v.strip() for v in str(value).split(",")]
    if not all(items):
        raise click.BadParameter(f"{value!r} has an empty item", ctx=ctx, param=param)
    return items


def _list_option(name, default, help):
    return click.option(name, default=default, show_default=True, callback=_list, help=help)


@click.command("simulate")
@_list_option("--k", "5,20", "Studies per meta-analysis (comma-separated values; the grid is the product of "
                             "every list).")
@_list_option("--tau2", "0,0.1", "Between-study variances of the true effects.")
@_list_option("--effect", "0", "True mean effects (0: the rejection rate is the type I error rate).")
@_list_option("--sizes", "20-200", "Total sample size of each study: N, or LO-HI for uniform whole numbers.")
@_list_option("--metric", "SMD", "Effect size generated: SMD (Hedges' g of two normal groups) or ZCOR "
                                 "(Fisher's z).")
@_list_option("--bias", "none", "Publication bias: none, or step (p < .025 one-sided always published, "
                                "other studies with probability --weight).")
@click.option("--weight", type=float, default=0.5, show_default=True,
              help="Publication probability of a study with p >= .025 under --bias step.")
@click.option("--reps", type=int, default=1000, show_default=True, help="Replications per condition.")
@_list_option("--method", "DL,REML",
              "tau2 estimators (as fit_many: REML, ML, DL, HE, HS, SJ, EB, PM, PMM, FE).")
@_list_option("--test", "z,knha", "Tests and intervals: z, t, knha (Knapp-Hartung).")
@click.option("--level", type=float, default=95, show_default=True, help="Confidence level (percent).")
@click.option("--seed", type=int, default=None,
              help="Random seed (same seed, same table; without it a fresh seed is drawn and printed).")
@click.option("--workers", type=int, default=0, show_default=True,
              help="0 or 1: run here; N >= 2: a local Dask cluster of N worker processes.")
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler (tcp://HOST:PORT).")
@click.option("--block", type=int, default=None,
              help="Replications per block, the unit of work a worker fits at once (default 2000; blocks are "
                   "part of the random streams, so keep it to repeat a table).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), required=True,
              help="The table (.csv or .parquet), written atomically; finished conditions are kept in "
                   "OUT.parts/ until it is, so the same command resumes a killed run.")
@format_option(help="What is printed: text (the table), json or csv.")
def simulate(k, tau2, effect, sizes, metric, bias, weight, reps, method, test, level, seed, workers,
             scheduler, block, out_path, fmt):
    """Run a simulation study of meta-analytic estimators (bias, RMSE, coverage, power, CI width with Monte
    Carlo SEs) over a grid of conditions, and write its table to --out."""
    from ..simulate.study import BLOCK, simulation_study
    from ._output import caught_warnings

    with caught_warnings() as notes:
        result = simulation_study(k=k, tau2=tau2, effect=effect, sizes=sizes, metric=metric, selection=bias,
                                  weight=weight, reps=reps, method=method, test=test, level=level, seed=seed,
                                  workers=workers, scheduler=scheduler,
                                  block=BLOCK if block is None else block, out=out_path)
    emit(result, fmt, notes=notes,
         as_text=lambda: f"{result.summary()}\n\nWrote {out_path} ({len(result.rows)} rows).")
