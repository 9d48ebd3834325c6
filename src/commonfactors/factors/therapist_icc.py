"""Therapist ICCs pooled across studies, and the therapist slice of the pie taken from data.

A therapist ICC (the share of outcome variance between therapists) is pooled like any effect size: each
study's ICC gets its large-sample sampling variance (Donner 1986, for a one-way random-effects ICC with g
therapists of m = N / g clients on average: :func:`commonfactors.factors.convert.var_icc`) and the ICCs
are combined by :func:`commonfactors.meta_analysis` (random effects, REML by default, as metafor's
``rma(yi, vi)``). :func:`therapist_component` turns a pooled ICC, or one practice's fitted ICC
(``therapist_effects`` or its JSON), into the therapist slice of :func:`commonfactors.additive_pie`.

Caveat: published therapist ICCs come from multilevel models adjusted for intake severity (and some from
three-level models with clinics); Donner's variance is that of the one-way ANOVA ICC with equal cluster
sizes, so it approximates their sampling variance (it ignores the covariates and unequal caseloads).

References
----------
Donner, A. (1986). A review of inference procedures for the intraclass correlation coefficient in the
one-way random effects model. *International Statistical Review*, 54(1), 67-82 (the large-sample
variance of Fisher 1925 and Smith 1956).
Smith, C. A. B. (1956). *Annals of Human Genetics*, 21, 363-373 (the large-sample standard error of the
intraclass correlation; as cited by Donner & Wells 1986, *Biometrics* 42(2), 401-412, PubMed 3741978).
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *J. Stat. Softw.*, 36(3).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping

import numpy as np

from .. import _checks
from ..errors import DroppedRowsWarning, InputError
from ..results.therapist_icc import IccPoolResult, IccStudy
from . import convert

#: Published therapist ICCs with their numbers of therapists and patients, one row per study (the model
#: adjusted for intake severity or covariates where a study reports several): keys of estimates.csv.
PUBLISHED_WITH_COUNTS: tuple[tuple[str, str], ...] = (
    ("therapist", "therapist effects, managed care (severity-adjusted)"),  # Wampold & Brown 2005
    ("therapist", "therapist effects at average severity (practice, CORE-OM)"),  # Saxon & Barkham 2012
    ("therapist", "therapist effects: three-level model with covariates"),  # Firth et al. 2019
    ("therapist", "therapist effects (28 clinics)"),  # Mahon, Minami & Brown 2023
)


def published_therapist_iccs():
    """The published therapist ICCs that come with their numbers of therapists and patients.

    Returns
    -------
    pandas.DataFrame
        One row per study (:data:`PUBLISHED_WITH_COUNTS`, from ``data/published/estimates.csv``): ``study``
        (first author and year), ``icc`` (a proportion), ``n_therapists``, ``n_clients``, ``verified`` (the
        table's checking label) and ``source`` (the citation).
    """
    import pandas as pd

    from .taxonomy import _leading_int, _leading_number, _read_published

    rows = _read_published("estimates.csv")
    out = []
    for key in PUBLISHED_WITH_COUNTS:
        r = next(r for r in rows if (r["factor"], r["subfactor"]) == key)
        out.append({
            "study": f"{r['source'].split(',')[0].split(' & ')[0].strip()} {r['year']}",
            "icc": _leading_number(r["estimate"]) / 100,  # published in percent
            "n_therapists": _leading_int(r["k"]),
            "n_clients": _leading_int(r["n_patients"]),
            "verified": r["verified"],
            "source": r["source"],
        })
    return pd.DataFrame(out)


def pool_therapist_iccs(
    data=None,
    *,
    icc="icc",
    n_therapists="n_therapists",
    n_clients="n_clients",
    study=None,
    percent: bool = False,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
) -> IccPoolResult:
    """Pool therapist ICCs across studies with their large-sample sampling variances.

    Parameters
    ----------
    data : pandas.DataFrame, optional
        One row per study. When given, ``icc``, ``n_therapists``, ``n_clients`` and ``study`` are column
        names; otherwise arrays of shape (k,).
    icc : str or array_like
        Each study's therapist ICC, a proportion in [0, 1) (in percent, [0, 100), with ``percent=True``).
    n_therapists, n_clients : str or array_like
        Therapists (g >= 2) and clients (N > g) each ICC rests on.
    study : str or array_like, optional
        Study labels (default: the rows).
    method, test, level
        As in :func:`commonfactors.meta_analysis` (random effects by REML, z test, 95% by default).

    Returns
    -------
    IccPoolResult
        ``icc`` (pooled), ``se``, ``ci_low``/``ci_high``, ``pi_low``/``pi_high``, ``tau2``, ``i2``, ``q``,
        ``q_pval``; ``studies`` with each ``vi`` and weight; ``meta`` the fitted model.

    Raises
    ------
    InputError
        A missing column, an ICC outside [0, 1), fewer than 2 therapists, or no more clients than
        therapists (row and column named); no study left.

    Warns
    -----
    DroppedRowsWarning
        Studies with a missing ICC or count, left out.

    Notes
    -----
    Sampling variance of study i's ICC (Donner 1986, eq. for the one-way ANOVA estimator; Fisher 1925,
    Smith 1956), with m_i = N_i / g_i clients per therapist:

        v_i = 2 (1 - rho_i)^2 (1 + (m_i - 1) rho_i)^2 / (m_i (m_i - 1) (g_i - 1))

    then rho_i ~ N(mu, v_i + tau2), fitted as metafor's ``rma(yi = rho, vi = v)``.

    Examples
    --------
    >>> from commonfactors.factors import pool_therapist_iccs, published_therapist_iccs
    >>> res = pool_therapist_iccs(published_therapist_iccs(), study="study")
    >>> res.k, round(res.icc, 4)
    (4, 0.049)
    """
    from ..models.univariate import meta_analysis

    source = _checks.source_of(data)
    values = {}
    for name, arg in (("icc", icc), ("n_therapists", n_therapists), ("n_clients", n_clients)):
        values[name] = _checks.numeric(data, arg, name=name, n=None)
    k0 = len(values["icc"][0])
    for name, (v, _) in values.items():
        if len(v) != k0:
            raise InputError(f"{name} has {len(v)} values but icc has {k0}", expected="one value per study")
    rows = _checks.row_labels(data, k0)
    rho, g, N = (values[n][0] for n in ("icc", "n_therapists", "n_clients"))
    top = 100.0 if percent else 1.0
    col = lambda name: values[name][1] or name  # noqa: E731
    unit = " (percent)" if percent else " (a proportion; percentages with percent=True)"
    _checks.check_range(rho, column=col("icc"), rows=rows, source=source, low=0.0, high=top, high_open=True,
                        expected=f"an ICC in [0, {top:g}){unit}")
    _checks.check_range(g, column=col("n_therapists"), rows=rows, source=source, low=2.0,
                        expected="a number of therapists >= 2")
    _checks.check_range(N, column=col("n_clients"), rows=rows, source=source, low=0.0, low_open=True,
                        expected="a number of clients > 0")
    keep = ~(np.isnan(rho) | np.isnan(g) | np.isnan(N))
    with np.errstate(invalid="ignore"):
        few = keep & (N <= g)
    if few.any():
        i = int(np.flatnonzero(few)[0])
        raise InputError(f"got {N[i]:g} clients of {g[i]:g} therapists", file=source, row=rows[i],
                         column=col("n_clients"), expected="more clients than therapists (an ICC needs "
                                                            "therapists with two or more clients)")
    notes = []
    if not keep.all():
        dropped = [rows[i] for i in np.flatnonzero(~keep)]
        msg = (f"{len(dropped)} {'study' if len(dropped) == 1 else 'studies'} with a missing ICC or count "
               f"omitted ({_checks.format_rows(dropped)})")
        warnings.warn(msg, DroppedRowsWarning, stacklevel=2)
        notes.append(msg)
    if not keep.any():
        raise InputError("no study with an ICC and its counts", file=source, expected="at least one")
    labels = _labels(data, study, rows, k0)[keep]
    rho, g, N = rho[keep] / top, g[keep], N[keep]
    vi = convert.var_icc(rho, g, N)
    meta = meta_analysis(yi=rho, vi=vi, slab=labels, method=method, test=test, level=level)
    w = np.asarray(meta.weights, dtype=float)
    weight = 100 * w / w.sum()
    studies = tuple(IccStudy(str(s), float(r), float(a), float(b), float(v), float(p))
                    for s, r, a, b, v, p in zip(labels, rho, g, N, vi, weight, strict=True))
    return IccPoolResult(k=meta.k, icc=meta.estimate, se=meta.se, ci_low=meta.ci_low, ci_high=meta.ci_high,
                         pi_low=meta.pi_low, pi_high=meta.pi_high, tau2=meta.tau2, i2=meta.i2, q=meta.q,
                         q_df=meta.q_df, q_pval=meta.q_pval, method=meta.method, level=meta.level,
                         studies=studies, meta=meta, source=source,
                         warnings=tuple(notes) + tuple(meta.warnings))


def _labels(data, study, rows, k: int) -> np.ndarray:
    if study is None:
        return np.asarray([str(r) for r in rows], dtype=object)
    if isinstance(study, str):
        if data is None:
            raise InputError(f"study={study!r} names a column, but no data was given",
                             expected="data= a DataFrame, or an array of labels")
        _checks.require_column(data, study, role="study")
        return np.asarray(data[study]).astype(str).astype(object)
    labels = np.asarray(study, dtype=object)
    if labels.shape != (k,):
        raise InputError(f"study has {labels.size} labels for {k} studies", expected="one label per study")
    return labels.astype(str).astype(object)


def therapist_component(fit, *, source: str | None = None):
    """The therapist slice of :func:`commonfactors.additive_pie` taken from data.

    Parameters
    ----------
    fit : IccPoolResult, TherapistResult or mapping
        ICCs pooled across studies (:func:`pool_therapist_iccs`), or one practice's fitted model
        (``commonfactors.therapist_effects``), or its JSON as a dict (keys ``icc``, ``ci_low``, ``ci_high``,
        ``level``, ``n_therapists``, ``n_clients``).
    source : str, optional
        The file the fit was read from, named in the slice's source.

    Returns
    -------
    Component
        Factor "therapist", metric "icc", with the standard error on the logit scale: for a pooled ICC, the
        delta method, se / (icc (1 - icc)); for a practice, from its interval when its lower end is above 0,
        else from Donner's variance with its numbers of therapists and clients. Its source says "from
        data: ...".

    Raises
    ------
    InputError
        An ICC of 0 (a singular fit: no share to draw on the logit scale) or not in (0, 1), or a mapping
        without the keys above.
    """
    from .pie import component

    if isinstance(fit, IccPoolResult):
        est = fit.icc
        _in_unit(est, "pooled ICC", source)
        se = fit.se / (est * (1 - est))  # delta method to the logit scale
        return component("therapist", "icc", est, se=se, sources=(fit.origin,), element="therapist-effects")
    d = fit.to_dict() if hasattr(fit, "to_dict") and not isinstance(fit, Mapping) else fit
    if not isinstance(d, Mapping):
        raise InputError(f"got a {type(fit).__name__}", file=source,
                         expected="a pooled ICC, a therapist_effects result or its JSON")
    missing = [k for k in ("icc", "n_therapists", "n_clients") if d.get(k) is None]
    if missing:
        raise InputError(f"no {', '.join(map(repr, missing))} in the fitted model", file=source,
                         expected="the JSON of 'commonfactors therapists ... --format json'")
    est = float(d["icc"])
    _in_unit(est, "fitted ICC", source, singular=bool(d.get("singular")) or est == 0)
    g, n = float(d["n_therapists"]), float(d["n_clients"])
    where = f" ({source})" if source else ""
    origin = f"from data: this practice's fitted ICC{where}, {g:g} therapists, {n:g} clients"
    lo, hi, level = d.get("ci_low"), d.get("ci_high"), float(d.get("level") or 95)
    if lo is not None and hi is not None and 0 < float(lo) < est < float(hi) < 1 and math.isclose(level, 95):
        kind = f", {d['ci_method']} interval" if d.get("ci_method") else ", its interval"
        return component("therapist", "icc", est, ci_low=float(lo), ci_high=float(hi),
                         sources=(origin + kind,), element="therapist-effects")
    if g < 2 or n <= g:
        raise InputError(f"{g:g} therapists and {n:g} clients", file=source,
                         expected="at least 2 therapists and more clients than therapists")
    return component("therapist", "icc", est, n=n, n_clusters=g, sources=(origin,),
                     element="therapist-effects")


def _in_unit(est: float, what: str, source, singular: bool = False) -> None:
    if singular or not 0 < est < 1:
        why = " (a singular fit: the model puts no variance between therapists)" if singular else ""
        raise InputError(f"the {what} is {est:g}{why}", file=source,
                         expected="an ICC in (0, 1) to draw the therapist slice from; leave the published "
                                  "estimate in place")
