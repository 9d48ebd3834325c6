"""Reproduce published estimates from the shipped datasets: the engine of ``commonfactors reproduce``.

Each reproduced publication is one small script in ``analyses/`` (at the repository root, next to
``data/``) exposing ``reproduce() -> list[dict]``; :func:`row` builds its rows and decides the verdict
from the numbers, so no script states "reproduced" by hand. This module finds the scripts, runs them
and gathers their rows into a :class:`commonfactors.results.reproduce.ReproduceResult`.

Public functions
----------------
:func:`run_all`
    Run every analysis; the report site builds its reproduction table from this.
:func:`run`
    Run the analyses with the given IDs (script names without ``.py``).
:func:`analysis_ids`
    The IDs of the available analyses.
:func:`row`
    Build one result row (used by the scripts).

Verdicts (``commonfactors.results.reproduce.VERDICTS``): ``"reproduced"`` when
``|reproduced - published| <= tolerance`` (normally half a unit in the last published digit),
``"differs"`` otherwise, ``"not checked"`` when the published number was not seen (the reproduced value
is still given, for whoever checks it), and ``"not reproducible from shipped data"`` when no shipped
dataset holds the data behind a published number (``why`` says what is missing).
"""

from __future__ import annotations

import difflib
import importlib.util
import math
import warnings

from ._paths import shipped_dir
from .errors import InputError
from .results.reproduce import MODEL_FIELDS, VERDICTS, ReproduceResult

#: ``<repository>/analyses`` in a source tree, ``commonfactors/_analyses`` once installed (as ``DATA_DIR``).
ANALYSES_DIR = shipped_dir("analyses")

#: relative slack on the tolerance, so that a difference of exactly half a unit is not lost to binary rounding
_SLACK = 1e-9


def printed(decimals: int) -> float:
    """Tolerance for a number printed with ``decimals`` decimals: half a unit in the last digit."""
    return 0.5 * 10.0**-decimals


def row(
    id: str,
    *,
    publication: str,
    dataset: str | None,
    quantity: str,
    model: dict,
    published,
    reproduced,
    tolerance: float | None,
    citation: str,
    verified: str,
    why: str = "",
    reproducible: bool = True,
) -> dict:
    """One row of the reproduction table, with ``difference`` and ``verdict`` computed from the numbers.

    Parameters
    ----------
    id : str
        ``<analysis>:<quantity>``, unique in the table.
    publication : str
        Short reference ("van Houwelingen et al. (2002)").
    dataset : str or None
        The shipped dataset the number is recomputed from.
    quantity : str
        What was published, with its scale ("pooled odds ratio, common-effect model").
    model : dict
        ``measure``, ``estimator``, ``test`` and ``subset`` of the reproduction.
    published : float, str or None
        The number as printed; None when it was not seen (verdict "not checked"); text when the
        publication printed a range or a phrase rather than a number.
    reproduced : float or None
        The recomputed number, unrounded.
    tolerance : float or None
        Absolute tolerance, normally :func:`printed` of the published decimals.
    citation : str
        Full reference with page or table, and where the number was seen.
    verified : str
        "yes", "secondary", "UNVERIFIED" or "not checked" (see ``ReproduceResult``).
    why : str
        The reason for the verdict and any caveat.
    reproducible : bool
        False when no shipped dataset holds the data: the verdict is then
        "not reproducible from shipped data" whatever the numbers.

    Returns
    -------
    dict
        The keys of ``commonfactors.results.reproduce.ROW_FIELDS``.
    """
    missing = [f for f in MODEL_FIELDS if f not in model]
    if missing:
        raise ValueError(f"row {id!r}: model lacks {', '.join(missing)}")
    numeric = isinstance(published, (int, float)) and not isinstance(published, bool)
    difference = None
    if not reproducible:
        verdict = VERDICTS[3]
    elif published is None or not numeric:
        verdict = VERDICTS[2]
    elif reproduced is None or not math.isfinite(reproduced):
        raise ValueError(f"row {id!r}: a published number needs a reproduced number (or reproducible=False)")
    else:
        difference = float(reproduced) - float(published)
        within = abs(difference) <= tolerance * (1.0 + _SLACK) + 1e-15
        verdict = VERDICTS[0] if within else VERDICTS[1]
    return {
        "id": id,
        "publication": publication,
        "dataset": dataset,
        "quantity": quantity,
        "model": {f: model[f] for f in MODEL_FIELDS},
        "published": published,
        "reproduced": None if reproduced is None else float(reproduced),
        "difference": difference,
        "tolerance": tolerance,
        "verdict": verdict,
        "why": why,
        "citation": citation,
        "verified": verified,
    }


def analysis_ids() -> list[str]:
    """The IDs of the analyses in ``analyses/`` (script names without ``.py``), sorted."""
    if not ANALYSES_DIR.is_dir():
        raise InputError(
            "the analyses are not installed",
            file=ANALYSES_DIR,
            expected="the analyses/ folder next to src/ in a clone, or commonfactors/_analyses in an "
            "installed wheel (reinstall commonfactors: pip install .)",
        )
    return sorted(p.stem for p in ANALYSES_DIR.glob("*.py") if not p.name.startswith("_"))


def _load(id: str):
    path = ANALYSES_DIR / f"{id}.py"
    spec = importlib.util.spec_from_file_location(f"commonfactors_analyses.{id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_ids(ids) -> list[str]:
    known = analysis_ids()
    for i in ids:
        if i not in known:
            close = difflib.get_close_matches(str(i), known, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"no analysis {i!r}{hint}", expected=f"an analysis ID: {', '.join(known)}")
    return list(dict.fromkeys(ids))


def run(ids) -> ReproduceResult:
    """Run the analyses named in ``ids`` (in the given order) and gather their rows.

    Raises
    ------
    InputError
        An ID is not an analysis in ``analyses/`` (the message lists the IDs, with a close match).
    ValueError
        An analysis returned two rows with the same ``id`` or a row without a known verdict (a bug).
    """
    ids = _check_ids(list(ids))
    rows, notes = [], []
    for i in ids:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = _load(i).reproduce()
        notes += [f"{i}: {c.message}" for c in caught]
        rows += out
    seen = set()
    for r in rows:
        if r["id"] in seen:
            raise ValueError(f"duplicate row id {r['id']!r}")
        if r.get("verdict") not in VERDICTS:
            raise ValueError(f"row {r['id']!r} has no known verdict: {r.get('verdict')!r}")
        seen.add(r["id"])
    return ReproduceResult(rows=tuple(rows), analyses=tuple(ids), warnings=tuple(dict.fromkeys(notes)))


def run_all() -> ReproduceResult:
    """Run every analysis in ``analyses/`` and return the whole reproduction table.

    This is the function the report site calls to build its reproduction table: one row per published
    number (see :class:`commonfactors.results.reproduce.ReproduceResult` for the columns), covering the
    metafor-documented analyses of the shipped metadat datasets, the Metapsy databases, and every
    published estimate of ``data/published/estimates.csv`` (most of them "not reproducible from shipped
    data", with the reason). Warnings raised by the models (e.g. dropped rows) are collected, prefixed
    with the analysis ID, in ``warnings``.

    Examples
    --------
    >>> from commonfactors.reproduce import run_all
    >>> res = run_all()
    >>> sorted(res.counts) == sorted(["reproduced", "differs", "not checked",
    ...                               "not reproducible from shipped data"])
    True
    """
    return run(analysis_ids())


def main(reproduce) -> None:
    """Print the rows of one analysis script as a table (``python analyses/<id>.py``)."""
    rows = reproduce()
    print(
        ReproduceResult(rows=tuple(rows), analyses=(rows[0]["id"].split(":")[0],) if rows else ()).summary()
    )
