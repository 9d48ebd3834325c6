"""``commonfactors pie``: each factor's share of outcome variance, with Monte Carlo intervals."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import click

from ..errors import InputError
from ._output import caught_warnings, emit, format_option


def read_correlation_csv(path: str):
    """A square CSV correlation matrix: names in the header row (after a first cell that is ignored) and in
    the first column. Returns a DataFrame of the cells as text (validated by ``check_correlation_matrix``).
    More factors than a dominance analysis takes, or more rows than the header names, are refused as they
    are read; rows are the file's line numbers."""
    import pandas as pd

    try:
        header, names, cells = _square_rows(path)
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text ({e.reason})", file=path, expected="a UTF-8 CSV file") from None
    if not names:
        raise InputError(
            "fewer than two lines",
            file=path,
            expected="a header row of names and one row per variable, the outcome's named 'outcome'",
        )
    frame = pd.DataFrame(cells, index=names, columns=header, dtype=object)
    frame.attrs["source"] = path
    return frame


def _square_rows(path: str) -> tuple[list[str], list[str], list[list[str]]]:
    """The header's names, each row's name and its cells, read one line at a time (blank lines skipped)."""
    from ..factors.dominance import check_factor_count

    header, names, cells = None, [], []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        for r in reader:
            if not any(c.strip() for c in r):
                continue
            if header is None:
                header = [c.strip() for c in r[1:]]
                check_factor_count(len(header) - 1, path)  # one of the columns is the outcome
                continue
            if len(r) != len(header) + 1:
                raise InputError(
                    f"{len(r)} cells",
                    file=path,
                    row=reader.line_num,
                    expected=f"{len(header) + 1} (a name, then one value per column)",
                )
            if len(names) == len(header):
                raise InputError(
                    f"more rows than the {len(header)} variables of the header",
                    file=path,
                    row=reader.line_num,
                    expected="one row per variable (a square matrix)",
                )
            names.append(r[0].strip())
            cells.append(r[1:])
    return header or [], names, cells


#: columns that mark the long per-study format of --correlations (one row per study and correlation)
LONG_COLUMNS = ("study", "var1", "var2")


def is_long_format(path: str) -> bool:
    """Whether a --correlations file is the long per-study format: its header names ``study``, ``var1``
    and ``var2`` (any case). Files other than CSV/TSV/TXT are always read as the long format (the square
    matrix is a CSV)."""
    if Path(path).suffix.lower() not in (".csv", ".tsv", ".txt"):
        return True
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = next((line for line in fh if line.strip()), "")
    for sep in (",", ";", "\t", "|"):
        cells = {c.strip().strip('"').strip().lower() for c in header.split(sep)}
        if set(LONG_COLUMNS) <= cells:
            return True
    return False


def read_long_correlations(path: str, method: str):
    """Pool a long per-study file (study, var1, var2, r or ri, n or ni) by GLS."""
    from .. import io
    from ..factors.corpool import pool_correlation_matrices

    frame = io.read_table(path)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    pick = {k: cols.get(k, k) for k in LONG_COLUMNS}
    ri = cols.get("r", cols.get("ri", "r"))
    ni = cols.get("n", cols.get("ni", "n"))
    return pool_correlation_matrices(
        frame, study=pick["study"], var1=pick["var1"], var2=pick["var2"], ri=ri, ni=ni, method=method
    )


def read_therapist_icc(path: str):
    """The therapist slice's data for ``--therapist-icc FILE``: a JSON file is one practice's fitted model
    (``commonfactors therapists ... --format json``), read as a dict; any other file a table of studies
    (columns ``icc``, ``n_therapists``, ``n_clients`` and optionally ``study``), pooled by
    :func:`~commonfactors.factors.therapist_icc.pool_therapist_iccs`."""
    if Path(path).suffix.lower() == ".json":
        try:
            with open(path, encoding="utf-8-sig") as fh:
                fit = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"not a JSON file ({str(e).splitlines()[0]})", file=path,
                             expected="the JSON of 'commonfactors therapists ... --format json'") from None
        if not isinstance(fit, dict):
            raise InputError(f"a JSON {type(fit).__name__}", file=path,
                             expected="an object with icc, n_therapists and n_clients")
        return fit
    from .. import io
    from ..factors.therapist_icc import pool_therapist_iccs

    frame = io.read_table(path)
    study = "study" if "study" in [str(c) for c in frame.columns] else None
    return pool_therapist_iccs(frame, study=study)


def therapist_slice(path: str):
    """The therapist Component of the additive pie from ``--therapist-icc FILE``."""
    from ..factors.therapist_icc import therapist_component

    return therapist_component(read_therapist_icc(path), source=path)


def technique_slice(path: str):
    """The technique Component of the additive pie from ``--technique-network FILE``: the JSON of
    ``commonfactors network ... --measure SMD --active A,B,C --format json``."""
    from ..factors.technique_network import technique_component

    expected = "the JSON of 'commonfactors network ... --measure SMD --active A,B,C --format json'"
    try:
        with open(path, encoding="utf-8-sig") as fh:
            fit = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"not a JSON file ({str(e).splitlines()[0]})", file=path,
                         expected=expected) from None
    if not isinstance(fit, dict):
        raise InputError(f"a JSON {type(fit).__name__}", file=path, expected=expected)
    return technique_component(fit, source=path)


def parse_assumed(text: str) -> list[float]:
    """'0,0.1,0.2' -> [0.0, 0.1, 0.2] (each checked in (-1, 1) by dominance_sensitivity)."""
    out = []
    for cell in text.split(","):
        try:
            out.append(float(cell))
        except ValueError:
            raise InputError(
                f"--sensitivity: got {cell.strip()!r}",
                expected='comma-separated assumed correlations, e.g. "0,0.1,0.2,0.3"',
            ) from None
    return out


@click.command()
@click.option(
    "--method",
    type=click.Choice(["additive", "dominance"]),
    default=None,
    help="additive: each factor's own r^2, summed (as published pies); dominance: general dominance "
    "weights of R2 from --correlations (no double counting). Default: dominance when "
    "--correlations or --sensitivity is given, else additive.",
)
@click.option(
    "--correlations",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Either a square CSV correlation matrix (names in the header row and first column; the outcome's "
    "row and column named 'outcome'; give --n), or a long per-study file with columns study, var1, var2, "
    "r, n (one row per study and reported correlation), pooled by GLS (see --pool-method).",
)
@click.option(
    "--n", "n", type=float, default=None, help="(Harmonic mean) sample size a square matrix rests on."
)
@click.option(
    "--pool-method",
    type=click.Choice(["FE", "REML"]),
    default=None,
    help="How a long per-study file is pooled: FE (one common correlation matrix; default) or REML "
    "(random effects, one between-study variance per correlation).",
)
@click.option(
    "--sensitivity",
    default=None,
    metavar="VALUES",
    help='Assumed common correlations among the factors, e.g. "0,0.1,0.2,0.3,0.4,0.5": prints the '
    "dominance shares at each (the factors' correlations with the outcome come from --correlations, "
    "or else from the shipped estimates).",
)
@click.option(
    "--draws",
    type=int,
    default=10000,
    show_default=True,
    help="Monte Carlo draws. Draws whose results would not fit in 2 GiB (or half the machine's memory) are "
    "refused before any work; so are dominance pies of more than 20 factors, or of more than 2^31 subset "
    "R2 (draws x 2^factors).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same numbers).")
@click.option("--level", type=float, default=95, show_default=True, help="Interval level in percent.")
@click.option(
    "--therapist-icc",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The therapist slice from data instead of the published estimate: a table of studies (columns "
    "icc, n_therapists, n_clients, optionally study; pooled with Donner's sampling variances) or the JSON "
    "of 'commonfactors therapists ... --format json' (one practice's fitted ICC). Additive pie only.",
)
@click.option(
    "--technique-network",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="The technique slice from data instead of the published estimate: the JSON of 'commonfactors "
    "network ... --measure SMD --active A,B,C --format json' (the between-technique variance of the "
    "Dodo-bird test as a share of the outcome variance, drawn from its Q-profile confidence distribution). "
    "Additive pie only.",
)
@click.option("--workers", type=int, default=0, show_default=True,
              help="0 or 1: draw in this process; N >= 2: on a local Dask cluster of N worker processes "
              "(the same numbers either way).")
@click.option("--scheduler", default=None, metavar="ADDR",
              help="Draw on a running Dask cluster: its scheduler's address, tcp://HOST:PORT.")
@format_option()
def pie(method, correlations, n, pool_method, sensitivity, draws, seed, level, therapist_icc,
        technique_network, workers, scheduler, fmt):
    """Each factor's share of outcome variance with Monte Carlo intervals."""
    from ..factors import pie as _pie

    method = method or ("dominance" if correlations or sensitivity is not None else "additive")
    long = correlations is not None and is_long_format(correlations)
    with caught_warnings() as notes:
        for opt, value in (("--therapist-icc", therapist_icc), ("--technique-network", technique_network)):
            if value is not None and method != "additive":
                raise InputError(f"{opt} applies to the additive pie",
                                 expected="--method additive (the default without --correlations)")
        if method == "additive":
            if correlations or n is not None or pool_method or sensitivity is not None:
                raise InputError(
                    "--correlations, --n, --pool-method and --sensitivity apply to --method dominance",
                    expected="--method dominance --correlations FILE --n N",
                )
            therapist = None if therapist_icc is None else therapist_slice(therapist_icc)
            technique = None if technique_network is None else technique_slice(technique_network)
            res = _pie.additive_pie(draws=draws, seed=seed, level=level, therapist=therapist,
                                    technique=technique, workers=workers, scheduler=scheduler)
        elif sensitivity is not None:
            rho = parse_assumed(sensitivity)
            if pool_method and not long:
                raise InputError(
                    "--pool-method applies to a long per-study --correlations file",
                    file=correlations,
                    expected="columns study, var1, var2, r, n",
                )
            if correlations is None:
                res = _pie.dominance_sensitivity(None, rho)
            else:
                pooled = None
                if long:
                    pooled = read_long_correlations(correlations, pool_method or "FE")
                    rxy = dict(zip(pooled.names[:-1], pooled.matrix[:-1, -1], strict=True))
                else:
                    from ..factors.dominance import check_correlation_matrix

                    cm = check_correlation_matrix(read_correlation_csv(correlations))
                    rxy = dict(zip(cm.names, cm.rxy, strict=True))
                sources = {k: (f"r from {correlations}",) for k in rxy}
                res = _pie.dominance_sensitivity(rxy, rho, sources=sources)
                if pooled is not None:  # the stage-1 caveats (heterogeneity) hold for these r too
                    res = dataclasses.replace(res, warnings=pooled.warnings + res.warnings)
        else:
            if not correlations:
                raise InputError(
                    "--method dominance needs a correlation matrix", expected="--correlations FILE --n N"
                )
            if long:
                if n is not None:
                    raise InputError(
                        "--n does not apply to a long per-study file",
                        file=correlations,
                        expected="the sample sizes in its column n",
                    )
                pooled = read_long_correlations(correlations, pool_method or "FE")
                res = _pie.dominance_pie(pooled, draws=draws, seed=seed, level=level, workers=workers,
                                         scheduler=scheduler)
            else:
                if pool_method:
                    raise InputError(
                        "--pool-method applies to a long per-study --correlations file",
                        file=correlations,
                        expected="columns study, var1, var2, r, n",
                    )
                if n is None:
                    raise InputError(
                        "--correlations needs --n", expected="--n N, the (harmonic mean) sample size"
                    )
                res = _pie.dominance_pie(read_correlation_csv(correlations), n=n, draws=draws, seed=seed,
                                         level=level, workers=workers, scheduler=scheduler)
    emit(res, fmt, notes=notes)
