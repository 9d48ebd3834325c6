"""Result of pooling therapist ICCs across studies (:func:`commonfactors.factors.pool_therapist_iccs`)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import _format
from .._format import Summary, fmt
from ._table import Printable, frame

_STUDY_COLUMNS = ("study", "icc", "n_therapists", "n_clients", "vi", "weight")


@dataclass(frozen=True)
class IccStudy:
    """One study's therapist ICC (a proportion), its therapists and clients, the large-sample sampling
    variance ``vi`` of the ICC (Donner 1986) and its weight in the pooled estimate (percent)."""

    study: str
    icc: float
    n_therapists: float
    n_clients: float
    vi: float
    weight: float


@dataclass(frozen=True, repr=False)
class IccPoolResult(Printable):
    """Therapist ICCs pooled across studies by a random-effects model on the ICC scale.

    ``icc`` is the pooled ICC (a proportion) with ``se``, ``ci_low``/``ci_high`` and the prediction interval
    ``pi_low``/``pi_high`` at ``level`` percent; ``tau2``, ``i2`` (percent), ``q``, ``q_df``, ``q_pval`` the
    heterogeneity; ``studies`` the inputs with their sampling variances; ``meta`` the fitted model
    (:class:`~commonfactors.results.univariate.MetaResult`); ``source`` the file read, if any.
    """

    k: int
    icc: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    q: float
    q_df: int
    q_pval: float
    method: str
    level: float
    studies: tuple[IccStudy, ...]
    meta: object
    source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """How this ICC was obtained, in one line (what the pie and ``factors show`` print as its source)."""
        where = f" ({self.source})" if self.source else ""
        return (f"from data: pooled from {self.k} {'study' if self.k == 1 else 'studies'}{where}, random "
                f"effects ({self.method}) on the ICC scale, Donner (1986) sampling variances")

    def summary(self) -> Summary:
        rows = [[s.study, fmt(s.icc, 4), f"{s.n_therapists:g}", f"{s.n_clients:g}", f"{s.vi:.3e}",
                 fmt(s.weight, 2)] for s in self.studies]
        head = _format.table(["study", "icc", "therapists", "clients", "vi", "weight %"], rows)
        text = (f"Therapist ICCs pooled across studies (k = {self.k})\n"
                f"sampling variances: Donner (1986) large-sample variance of a one-way ICC\n\n{head}\n\n"
                f"{self.meta.summary().text}\n\npooled ICC: {fmt(self.icc, 4)} "
                f"[{fmt(self.ci_low, 4)}, {fmt(self.ci_high, 4)}] ({self.level:g}% CI); "
                f"prediction interval [{fmt(self.pi_low, 4)}, {fmt(self.pi_high, 4)}]")
        return Summary(text, notes=self.warnings)

    def to_frame(self):
        """One row per study: study, icc, n_therapists, n_clients, vi, weight (percent)."""
        return frame([{c: getattr(s, c) for c in _STUDY_COLUMNS} for s in self.studies], _STUDY_COLUMNS)

    def to_dict(self) -> dict:
        keys = ("k", "icc", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_df",
                "q_pval", "method", "level", "source")
        return _format.jsonable({**{k: getattr(self, k) for k in keys}, "origin": self.origin,
                                 "studies": [{c: getattr(s, c) for c in _STUDY_COLUMNS}
                                             for s in self.studies],
                                 "warnings": list(self.warnings)})
