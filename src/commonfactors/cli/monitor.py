"""``commonfactors monitor FILE --client COL --session COL --score COL``: routine outcome monitoring.

Per client: intake, last score, change, reliable change index and Jacobson & Truax category, early response,
and whether a score was ever not on track (worse than the one-sided prediction bound of expected curves fitted
from the same data, or reliably worse than intake). ``--format text`` prints the instrument values used with
their sources and status, the category counts, early responders, flag rates and how flagged clients ended;
``--format json`` the whole result (``MonitorResult.to_dict``); ``--format csv`` the per-client table.
"""

from __future__ import annotations

import click

from ._common import read_input, sheet_option
from ._output import caught_warnings, emit, format_option

_INSTRUMENTS = ("ORS", "SRS", "OQ45", "PHQ9", "custom")


class _Cutoff(click.ParamType):
    """A number, or a, b or c (Jacobson & Truax's cutoffs)."""

    name = "NUMBER|a|b|c"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return value
        text = str(value).strip()
        if text.lower() in ("a", "b", "c"):
            return text.lower()
        try:
            return float(text)
        except ValueError:
            self.fail(f"{value!r} is not a number, nor a, b or c", param, ctx)


@click.command()
@click.argument("file_or_dataset", metavar="FILE")
@click.option("--client", required=True, metavar="COLUMN", help="Column of client IDs.")
@click.option("--session", required=True, metavar="COLUMN",
              help="Column of session numbers (1 = the first session; any numbers >= 1, in order of time).")
@click.option("--score", required=True, metavar="COLUMN", help="Column of the instrument's scores.")
@click.option("--therapist", default=None, metavar="COLUMN",
              help="Column of therapist IDs: adds counts per therapist.")
@click.option("--instrument", type=click.Choice(_INSTRUMENTS, case_sensitive=False), default="custom",
              show_default=True,
              help="A preset's range, direction, cutoff and reliable-change value (each shown with its "
                   "source and status; any of them can be overridden), or custom: the values given here.")
@click.option("--higher-is-better/--lower-is-better", "higher_is_better", default=None,
              help="Direction of the scale (required with --instrument custom).")
@click.option("--reliability", type=float, default=None,
              help="Reliability of the scale (test-retest where available): Jacobson & Truax's reliable "
                   "change with --sd.")
@click.option("--sd", type=float, default=None,
              help="Pretest SD for the reliable change [default with --reliability: the intake scores' SD].")
@click.option("--rc-change", type=float, default=None,
              help="Reliable change in score points (a change of at least this much is reliable).")
@click.option("--cutoff", type=_Cutoff(), default=None,
              help="Clinical cutoff: a number, or a/b/c, Jacobson & Truax's cutoffs from the intake scores "
                   "(b and c with --functional-mean and --functional-sd).")
@click.option("--functional-mean", type=float, default=None,
              help="Mean of a functional (non-clinical) norm group: cutoff c.")
@click.option("--functional-sd", type=float, default=None, help="SD of the functional norm group.")
@click.option("--early-session", type=int, default=4, show_default=True,
              help="Early responders: reliable improvement from intake by this session.")
@click.option("--alpha", type=float, default=0.10, show_default=True,
              help="Not on track: a score worse than the one-sided (1 - alpha) prediction bound.")
@sheet_option
@format_option()
def monitor(file_or_dataset, client, session, score, therapist, instrument, higher_is_better, reliability, sd,
            rc_change, cutoff, functional_mean, functional_sd, early_session, alpha, fmt):
    """Routine outcome monitoring: reliable and clinically significant change (Jacobson & Truax 1991), early
    response, and not-on-track flags against expected curves fitted from the data (not the proprietary
    OQ-Analyst or Better Outcomes Now algorithms)."""
    from ..monitoring import monitor as run

    with caught_warnings() as notes:
        data = read_input(file_or_dataset)
        res = run(data, client=client, session=session, score=score, therapist=therapist,
                  instrument=instrument, higher_is_better=higher_is_better, reliability=reliability, sd=sd,
                  rc_change=rc_change, cutoff=cutoff, functional_mean=functional_mean,
                  functional_sd=functional_sd, early_session=early_session, alpha=alpha)
    emit(res, fmt, notes=notes)
