"""``commonfactors therapists FILE --therapist COL --outcome COL ...``: therapist effects.

How much of the outcome variance lies between therapists (the ICC of a random-intercept model, REML, with
a profile-likelihood or parametric-bootstrap interval) and each therapist's empirical Bayes effect through
:func:`commonfactors.therapist_effects`; with ``--time``, how therapists' outcomes change with experience
(a random slope per therapist) through :func:`commonfactors.therapist_development`. ``--plot FILE`` draws
the caterpillar plot (``commonfactors.report.figures.caterpillar``). Text prints the model's summary and
how many therapists' intervals exclude 0 beside the number expected by chance; JSON the result's
``to_dict()``; CSV one row per therapist.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import InputError
from ._common import level_option, read_input, refuse_input_as_output, sheet_option, source_file
from ._output import caught_warnings, emit, format_option

#: the figure formats of ``--plot``, by suffix
SUFFIXES = ("png", "svg", "pdf")


def _alias(name: str, target: str):
    """A hidden option ``name``: another spelling of ``target`` (the field's other vocabulary)."""
    return click.option(name, f"{name.lstrip('-')}_alias", default=None, hidden=True, metavar="COLUMN",
                        help=f"Same as {target}.")


@click.command()
@click.argument("file")
@click.option("--therapist", default=None, metavar="COLUMN", help="Column of therapist IDs (required).")
@click.option("--outcome", default=None, metavar="COLUMN",
              help="Column of the outcome score (required): post-treatment, or with --session the score of "
                   "each visit (the last one is the outcome).")
@click.option("--client", default=None, metavar="COLUMN",
              help="Column of client IDs (needed with --session; else checked to be one row per client).")
@click.option("--baseline", default=None, metavar="COLUMN",
              help="Column of the intake score, adjusted for as a fixed effect (with --session: the first "
                   "visit's score, without this option).")
@click.option("--mods", default=None, metavar="FORMULA",
              help='More fixed effects as an R-style formula, e.g. "~ age + C(diagnosis)".')
@click.option("--site", default=None, metavar="COLUMN",
              help="Column of sites (clinics) that therapists work in: a third level.")
@click.option("--site-effect", type=click.Choice(["random", "fixed"], case_sensitive=False), default=None,
              help="Sites as a random effect (therapists nested in sites; the default with --site) or as "
                   "fixed effects.")
@click.option("--method", type=click.Choice(["REML", "ML"], case_sensitive=False), default="REML",
              show_default=True, help="Estimation of the variance components.")
@click.option("--ci", "ci_method", type=click.Choice(["profile", "bootstrap"], case_sensitive=False),
              default="profile", show_default=True,
              help="Interval of the ICC: profile likelihood, or a parametric bootstrap (percentile).")
@click.option("--n-boot", type=click.IntRange(min=10), default=1000, show_default=True, metavar="N",
              help="Bootstrap replicates (with --ci bootstrap).")
@click.option("--seed", type=int, default=None, metavar="N", help="Seed of the bootstrap (reproducible).")
@level_option
@click.option("--time", default=None, metavar="COLUMN",
              help="Column of the therapist's experience when the client was seen (e.g. years): a random "
                   "slope per therapist, how outcomes change with experience.")
@click.option("--session", default=None, metavar="COLUMN",
              help="Column numbering each client's visits: the file is long, one row per client and "
                   "visit; baseline = first visit's score, outcome = last; clients seen once are dropped "
                   "and counted.")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False), metavar="FILE",
              help="Write the caterpillar plot of the therapist effects to FILE (.png, .svg or .pdf).")
@_alias("--patient", "--client")
@_alias("--pre", "--baseline")
@_alias("--post", "--outcome")
@sheet_option
@format_option()
def therapists(file, therapist, outcome, client, baseline, mods, site, site_effect, method, ci_method, n_boot,
               seed, level, time, session, plot_path, patient_alias, pre_alias, post_alias, fmt):
    """Therapist effects: the share of outcome variance between therapists (ICC with its interval), each
    therapist's effect with its interval, and (--time) change with experience.

    \b
    Examples:
      commonfactors therapists clients.csv --client client --therapist therapist --outcome post --baseline pre
      commonfactors therapists clients.csv --therapist therapist --outcome post --baseline pre --site clinic
      commonfactors therapists visits.csv --client id --therapist therapist --outcome score --session visit
      commonfactors therapists clients.csv --therapist therapist --outcome post --baseline pre --time years
      commonfactors therapists clients.csv --therapist therapist --outcome post --plot caterpillar.png
    """
    client = _one_of("--client", client, "--patient", patient_alias)
    baseline = _one_of("--baseline", baseline, "--pre", pre_alias)
    outcome = _one_of("--outcome", outcome, "--post", post_alias)
    missing = [name for name, value in (("--therapist", therapist), ("--outcome", outcome)) if value is None]
    if missing:
        raise click.UsageError(f"missing option {' and '.join(missing)} (the column of "
                               f"{'therapist IDs' if missing[0] == '--therapist' else 'outcome scores'})")
    _check_combinations(client, baseline, site, site_effect, ci_method, n_boot, seed, time, session)
    plot_file = _plot_target(plot_path, file)
    data = read_input(file, light=mods is None)
    with caught_warnings() as notes:
        if time is not None:
            from ..models.development import therapist_development

            res = therapist_development(data, outcome=outcome, therapist=therapist, time=time, client=client,
                                        baseline=baseline, mods=mods, method=method.upper(), level=level)
        else:
            from ..models.therapists import therapist_effects

            res = therapist_effects(data, outcome=outcome, therapist=therapist, client=client,
                                    baseline=baseline, mods=mods, site=site,
                                    site_effect=(site_effect or "random").lower(), session=session,
                                    method=method.upper(), ci=ci_method.lower(), level=level, n_boot=n_boot,
                                    seed=seed)
        if plot_file is not None:
            _write_plot(res, plot_file)
    emit(res, fmt, notes=notes, as_records=lambda: _records(res), as_text=lambda: _text(res))


def _one_of(name: str, value, alias_name: str, alias):
    """The column given by an option or by its hidden alias; both given is a usage error."""
    if value is not None and alias is not None:
        raise click.UsageError(f"give {name} or {alias_name}, not both (they are the same option)")
    return value if value is not None else alias


def _check_combinations(client, baseline, site, site_effect, ci_method, n_boot, seed, time, session) -> None:
    """Options that do not go together, refused before the file is read."""
    ctx = click.get_current_context()
    given = {name: ctx.get_parameter_source(name).name != "DEFAULT" for name in ("n_boot", "ci_method")}
    if site_effect is not None and site is None:
        raise click.UsageError("--site-effect needs --site")
    if session is not None and client is None:
        raise click.UsageError("--session needs --client (the column of client IDs)")
    if session is not None and baseline is not None:
        raise click.UsageError("with --session the baseline is each client's first score: "
                               "leave out --baseline")
    if ci_method.lower() != "bootstrap" and (given["n_boot"] or seed is not None):
        raise click.UsageError("--n-boot and --seed are options of --ci bootstrap")
    if time is not None:
        if session is not None:
            raise click.UsageError("--time needs one row per client (--outcome and --baseline columns), "
                                   "not one row per visit: leave out --session")
        others = [name for name, value in (("--site", site), ("--ci", given["ci_method"] or None))
                  if value is not None]
        if others:
            raise click.UsageError(f"{' and '.join(others)} cannot be combined with --time (the development "
                                   "model has one random intercept and slope per therapist, no sites, and "
                                   "no ICC)")


def _plot_target(plot_path, file) -> Path | None:
    """The --plot file, checked before anything is computed: a known suffix, not the input file."""
    if plot_path is None:
        return None
    path = Path(plot_path)
    if path.suffix.lower().lstrip(".") not in SUFFIXES:
        raise InputError(f"has the suffix {path.suffix!r}", file=plot_path,
                         expected="a .png, .svg or .pdf file")
    refuse_input_as_output(plot_path, source_file(file))
    return path


def _write_plot(res, path: Path) -> None:
    """Draw the caterpillar plot of ``res`` and write it atomically (``figures.save``), in the format of the
    file's suffix."""
    from .._plotting import draw
    from ..report import figures

    ax = draw("caterpillar", res)  # a development model's: each therapist's slope
    figures.save(ax.figure, path, formats=(path.suffix.lower().lstrip("."),), public=False)


def _records(res) -> list[dict]:
    """CSV: one row per therapist (the ``ranef`` table; a development model's ``slopes``)."""
    table = res.slopes if hasattr(res, "slopes") else res.ranef
    return [dict(zip(table.columns, row, strict=True)) for row in table.itertuples(index=False, name=None)]


def _text(res) -> str:
    """The summary, its count of flagged therapists said as "k therapists' intervals exclude 0; about x
    expected by chance at the L% level" (in place of the summary's own line on them, else added)."""
    text = str(res.summary())
    if not hasattr(res, "n_flagged"):  # a development model: its summary as it is
        return text
    line = flag_line(res.n_flagged, res.expected_flagged, res.level)
    if line in text:
        return text
    lines = text.splitlines()
    own = [i for i, s in enumerate(lines) if s.startswith("Therapists whose ")]
    if own:
        lines[own[-1]] = line
        return "\n".join(lines)
    return f"{text}\n\n{line}"


def flag_line(n_flagged: int, expected: float, level: float) -> str:
    """"k therapists' intervals exclude 0; about x expected by chance at the L% level"."""
    shown = f"{expected:.1f}" if expected < 10 else f"{expected:.0f}"
    who = ("1 therapist's interval excludes" if n_flagged == 1
           else f"{n_flagged} therapists' intervals exclude")
    return f"{who} 0; about {shown} expected by chance at the {level:g}% level"
