"""Every published estimate in ``data/published/estimates.csv`` that no shipped dataset can reproduce.

The table (compiled for commonfactors; see ``data/published/README.md``) lists pooled estimates per factor
(alliance, empathy, therapist effects, technique, ...) with their source and a ``verified`` flag. None of
them is a pooled estimate over one of the shipped study-level datasets, so each becomes a row with the
verdict "not reproducible from shipped data" and the reason, and the reproduction table covers every
published estimate. The published value is the number as printed (or the printed text when it is a range
or a phrase), the tolerance half a unit of its last digit; ``verified`` is the table's own flag (``yes``,
``secondary`` or ``UNVERIFIED``) and the citation carries where the number was seen.

The rows that touch the Metapsy databases (Cuijpers et al. 2012, 2019, 2023; Plessen et al. 2023) are
also not reproducible: each paper used an earlier version of a living database, or another Metapsy
database, and its study list is not shipped. ``metapsy_depression`` pools the shipped snapshot instead.

Run alone: ``python analyses/published_estimates.py``.
"""

import re

import commonfactors as cf
from commonfactors.reproduce import main, printed, row

ID = "published_estimates"
_NUMBER = re.compile(r"^[+-]?(\d+)(?:\.(\d+))?$")

_METAPSY = {
    "Plessen": "a multiverse of 4,281 meta-analyses over the Metapsy depression database as of its search; "
    "it is a mean across meta-analyses, and that database version is not shipped",
    "World Psychiatry 22(1)": "uses the Metapsy CBT database (CBT vs control, other psychotherapies, "
    "pharmacotherapy and combined treatment), which is not shipped",
    "Epidemiol Psychiatr Sci": "uses an earlier version of the Metapsy depression database; the shipped "
    "snapshot (search 2024-01-01) holds later trials and the paper's study list is "
    "not shipped, so its subset cannot be rebuilt (metapsy_depression pools the "
    "snapshot instead)",
    "Clin Psychol Rev 32(4)": "31 trials of non-directive supportive therapy from an earlier version of the "
    "Metapsy depression database; the paper's study list is not shipped",
}
_KINDS = {
    "pct_variance": "a share of outcome variance estimated from patient- or therapist-level data, which is "
    "not shipped",
    "pct_of_improvement": "a partition of improvement computed from the paper's own subsets of trials, "
    "which are not shipped",
    "direction only": "no pooled number was published (only the direction of the effect)",
    "(ES not in abstract)": "no pooled number was seen (not in the abstract)",
    "qualitative": "a qualitative synthesis with no pooled number",
    "sessions": "a dose-response estimate from session-by-session patient data, which is not shipped",
    "pct_improved": "a dose-response estimate from session-by-session patient data, which is not shipped",
}


def _published(text: str):
    """The printed estimate as a number, with the tolerance of its rounding; text when not a number."""
    text = str(text).strip()
    if not text:
        return None, None
    m = _NUMBER.match(text)
    if m is None:
        return text, None
    return float(text), printed(len(m.group(2) or ""))


def _why(rec) -> str:
    for key, why in _METAPSY.items():
        if key in rec["source"]:
            return why
    for key, why in _KINDS.items():
        if str(rec["es_type"]).startswith(key):
            return why
    return (
        f"the study-level data of this meta-analysis (k = {rec['k']}) is not among the shipped datasets"
        if isinstance(rec["k"], str) and rec["k"].strip()
        else "the study-level data of this meta-analysis is not among the shipped datasets"
    )


def reproduce() -> list[dict]:
    table = cf.load_dataset("published_estimates")
    rows = []
    records = table.astype(object).where(table.notna(), "").to_dict("records")
    for line, rec in zip(table.index, records, strict=True):
        published, tolerance = _published(rec["estimate"])
        interval = ""
        if rec["ci_low"] != "" or rec["ci_high"] != "":
            interval = f"; interval as printed: {rec['ci_low']} to {rec['ci_high']}"
        rows.append(
            row(
                f"{ID}:line{line}",
                publication=rec["source"],
                dataset=None,
                quantity=f"{rec['factor']}: {rec['subfactor']} ({rec['es_type']}){interval}",
                model={
                    "measure": rec["es_type"],
                    "estimator": None,
                    "test": None,
                    "subset": f"k = {rec['k']}" if rec["k"] != "" else None,
                },
                published=published,
                reproduced=None,
                tolerance=tolerance,
                reproducible=False,
                citation=f"{rec['source']} ({rec['year']}); seen: {rec['where_seen']} "
                f"(data/published/estimates.csv, line {line})",
                verified=rec["verified"],
                why=_why(rec),
            )
        )
    return rows


if __name__ == "__main__":
    main(reproduce)
