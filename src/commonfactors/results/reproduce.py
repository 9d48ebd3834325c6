"""Result of ``commonfactors reproduce``: :class:`ReproduceResult`, one row per published number.

Each row compares a number printed in a publication with the number recomputed from a shipped dataset
(``analyses/`` scripts, run by :func:`commonfactors.reproduce.run_all`). Frozen and unrounded; digits are
applied only by ``summary()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._format import Summary, fmt, jsonable, table
from ._table import Printable

#: The verdicts a row can carry, in the order the summary counts them.
VERDICTS = ("reproduced", "differs", "not checked", "not reproducible from shipped data")

#: Keys of a row, in order (``model`` is a dict with ``measure, estimator, test, subset``).
ROW_FIELDS = (
    "id",
    "publication",
    "dataset",
    "quantity",
    "model",
    "published",
    "reproduced",
    "difference",
    "tolerance",
    "verdict",
    "why",
    "citation",
    "verified",
)
MODEL_FIELDS = ("measure", "estimator", "test", "subset")

#: Columns of :meth:`ReproduceResult.to_frame` and of the CSV output: ``model`` is flattened.
COLUMNS = tuple(
    c for f in ROW_FIELDS for c in ((f"model_{m}" for m in MODEL_FIELDS) if f == "model" else (f,))
)


def _flat(row: dict) -> dict:
    out = {k: v for k, v in row.items() if k != "model"}
    out.update({f"model_{f}": (row.get("model") or {}).get(f) for f in MODEL_FIELDS})
    return {c: out.get(c) for c in COLUMNS}


def _num(x, digits: int) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if isinstance(x, float) and math.isnan(x):
        return "NA"
    return fmt(x, digits)


def _digits(row: dict) -> int:
    """Decimals to print a row with: one more than its tolerance implies (0.0005 -> 4)."""
    tol = row.get("tolerance")
    if tol == 0:
        return 0
    if not isinstance(tol, (int, float)) or tol <= 0:
        return 4
    return max(2, min(6, int(math.ceil(-math.log10(2 * tol))) + 1))


@dataclass(frozen=True, eq=False, repr=False)
class ReproduceResult(Printable):
    """Published numbers next to their reproduction from shipped data.

    ``rows`` are dicts with the keys of :data:`ROW_FIELDS`: ``id`` (``<analysis>:<quantity>``),
    ``publication`` (short reference), ``dataset`` (shipped dataset ID, or None), ``quantity`` (what was
    published, with its scale), ``model`` (``measure``, ``estimator``, ``test``, ``subset``),
    ``published`` (the number as printed, or the printed text when it is not a number; None when the
    number was not seen), ``reproduced`` (unrounded; None when it cannot be computed), ``difference``
    (reproduced - published), ``tolerance`` (absolute; normally half a unit of the published rounding),
    ``verdict`` (one of :data:`VERDICTS`), ``why`` (the reason for the verdict, and known caveats),
    ``citation`` (full reference with page or table, and where the number was seen) and ``verified``
    (``"yes"``: seen in the publication or its abstract; ``"secondary"``: seen quoted elsewhere;
    ``"UNVERIFIED"``/``"not checked"``: not seen). ``analyses`` lists the analysis scripts that ran.
    """

    rows: tuple[dict, ...]
    analyses: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def counts(self) -> dict:
        """Number of rows per verdict (every verdict present, zeros included)."""
        return {v: sum(r["verdict"] == v for r in self.rows) for v in VERDICTS}

    def records(self) -> list[dict]:
        """The rows of :meth:`to_frame` as flat dicts (``model`` split into ``model_*``), without pandas."""
        return [_flat(r) for r in self.rows]

    def to_frame(self):
        """One row per published number; columns :data:`COLUMNS`."""
        import pandas as pd

        return pd.DataFrame(self.records(), columns=list(COLUMNS))

    def to_dict(self) -> dict:
        """``{"analyses": [...], "counts": {verdict: n}, "rows": [...], "warnings": [...]}``, NaN as None."""
        return jsonable(
            {
                "analyses": list(self.analyses),
                "counts": self.counts,
                "rows": [{k: r.get(k) for k in ROW_FIELDS} for r in self.rows],
                "warnings": list(self.warnings),
            }
        )

    def summary(self) -> Summary:
        """A table of id, published, reproduced, difference, tolerance and verdict, then the counts."""
        header = ["id", "published", "reproduced", "difference", "tolerance", "verdict"]
        body = []
        for r in self.rows:
            d = _digits(r)
            published = r["published"]
            if isinstance(published, str) and len(published) > 24:
                published = published[:23] + "~"
            body.append(
                [
                    r["id"],
                    _num(published, d),
                    _num(r["reproduced"], d),
                    _num(r["difference"], d),
                    _num(r["tolerance"], d + 1),
                    r["verdict"],
                ]
            )
        counts = ", ".join(f"{n} {v}" for v, n in self.counts.items())
        text = (
            f"Reproduction of published estimates ({len(self.rows)} numbers from "
            f"{len(self.analyses)} analyses)\n\n" + table(header, body) + f"\n\nVerdicts: {counts}"
        )
        return Summary(text, notes=self.warnings)
