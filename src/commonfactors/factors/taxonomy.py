"""The factors of psychotherapy outcome and their elements, each linked to its pooled estimates.

Five factors (issue 5; Wampold 2015; Norcross & Lambert 2011, 2019): the **relationship** (alliance,
empathy, positive regard, congruence, goal consensus, collaboration, repairing ruptures, feedback),
the **client** (expectations, preferences, readiness, severity, social support), **technique**
(treatment differences, specific ingredients, adherence, competence, and the total treatment effect
for reference), the **therapist** (therapist effects) and **expectancy** (credibility, placebo).

An element's estimates are, first, any pooled here by the engine from a shipped study-level
dataset (``origin="pooled"``, with the model used), then the published pooled estimates of
``data/published/estimates.csv`` (``origin="published"``, with citation and the checking label:
yes / secondary / UNVERIFIED). Nothing is guessed: an element without a shipped estimate has none.

References
----------
Wampold, B. E. (2015). How important are the common factors in psychotherapy? An update. *World
Psychiatry*, 14(3), 270-277. doi:10.1002/wps.20238 (common factors vs specific factors: treatment
differences, specific ingredients, adherence, competence).
Norcross, J. C., & Lambert, M. J. (2018). Psychotherapy relationships that work III. *Psychotherapy*,
55(4), 303-315. doi:10.1037/pst0000193 (the relationship elements of the task force).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._paths import shipped_dir
from ..errors import InputError
from ..results.factors import ElementEstimate, ElementResult
from . import convert

#: The five factors, in the order the pie shows them.
FACTORS: tuple[str, ...] = ("relationship", "client", "technique", "therapist", "expectancy")

_DATA = shipped_dir("data")


@dataclass(frozen=True)
class PooledSpec:
    """How an element is pooled from a shipped study-level dataset.

    ``dataset`` is the dataset ID (a CSV in ``data/``); ``yi``/``sei`` its effect and standard error
    columns; ``group`` the columns that identify one comparison (several outcomes of one comparison
    are averaged first); ``n`` the columns summed for the sample size of each comparison; ``label``
    and ``metric`` describe the estimate.
    """

    dataset: str
    yi: str
    sei: str
    group: tuple[str, ...]
    n: tuple[str, ...]
    label: str
    metric: str
    method: str = "REML"


@dataclass(frozen=True)
class Element:
    """One element of a factor.

    ``published`` lists (factor, subfactor) keys of rows of ``estimates.csv``, the preferred row
    first (the pie uses the first estimate that converts to a share of variance); ``pooled`` says how
    to pool it from a shipped dataset, when one exists; ``in_pie`` marks the element standing for
    its factor in the default additive pie.
    """

    name: str
    factor: str
    description: str
    published: tuple[tuple[str, str], ...] = ()
    pooled: PooledSpec | None = None
    in_pie: bool = False


_METAPSY_DEPRESSION = PooledSpec(
    dataset="metapsy_depression_psyctr",
    yi=".g",
    sei=".g_se",
    group=("study", "condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2"),
    n=("n_arm1", "n_arm2"),
    label="psychotherapy vs control, adult depression (Metapsy depression-psyctr, one effect per comparison)",
    metric="d",
)

ELEMENTS: tuple[Element, ...] = (
    Element(
        "alliance",
        "relationship",
        "The therapeutic alliance (bond, agreement on goals and tasks) and outcome.",
        (
            ("alliance", "individual adult (face-to-face)"),
            ("alliance", "internet-based psychotherapy"),
            ("alliance", "individual adult (2011 task force)"),
            ("alliance", "individual adult (2000)"),
            ("alliance", "individual adult (2000), as % of outcome variance"),
            ("alliance", "individual adult (2002), as % of outcome variance"),
            ("alliance", "child & adolescent (prospective)"),
            ("alliance", "couple & family therapy"),
            ("alliance", "couple & family: split alliance"),
            ("alliance", "group cohesion"),
            ("alliance", "group cohesion (2011 task force)"),
        ),
        in_pie=True,
    ),
    Element(
        "empathy",
        "relationship",
        "Therapist empathy and outcome.",
        (("relationship", "empathy"), ("relationship", "empathy (2011 task force)")),
    ),
    Element(
        "positive-regard",
        "relationship",
        "Positive regard / affirmation and outcome.",
        (
            ("relationship", "positive regard/affirmation"),
            ("relationship", "positive regard/affirmation (multilevel model)"),
        ),
    ),
    Element(
        "congruence",
        "relationship",
        "Congruence / genuineness and outcome.",
        (
            ("relationship", "congruence/genuineness"),
            ("relationship", "congruence/genuineness (2011 task force)"),
        ),
    ),
    Element(
        "goal-consensus",
        "relationship",
        "Patient-therapist agreement on goals and outcome.",
        (("relationship", "goal consensus"), ("relationship", "goal consensus (2011 task force)")),
    ),
    Element(
        "collaboration",
        "relationship",
        "Patient-therapist collaboration and outcome.",
        (
            ("relationship", "collaboration (patient-therapist)"),
            ("relationship", "collaboration (therapist)"),
            ("relationship", "collaboration (2011 task force)"),
        ),
    ),
    Element(
        "repairing-ruptures",
        "relationship",
        "Repair of alliance ruptures and outcome.",
        (
            ("alliance", "rupture repair episodes vs outcome"),
            ("alliance", "rupture-resolution training/supervision"),
            ("alliance", "rupture repair (2011 task force)"),
        ),
    ),
    Element(
        "feedback",
        "relationship",
        "Routine outcome monitoring and progress feedback vs none.",
        (
            ("feedback/ROM", "progress feedback vs control (all)"),
            ("feedback/ROM", "progress feedback, not-on-track cases"),
            ("feedback/ROM", "progress feedback, dropout"),
            ("feedback/ROM", "PCOMS vs TAU (general symptoms)"),
            ("feedback/ROM", "ROM overall (review of 11 meta-analyses)"),
            ("feedback/ROM", "OQ-System & PCOMS (task force)"),
            ("feedback/ROM", "OQ-45 quality-assurance system mega-analysis"),
        ),
    ),
    Element(
        "readiness",
        "client",
        "Client readiness to change (stage of change) and outcome.",
        (("client", "stage of change (readiness) -> outcome"), ("client", "stage of change (2011)")),
        in_pie=True,
    ),
    Element(
        "expectations",
        "client",
        "Client outcome expectations and outcome.",
        (
            ("expectancy", "outcome expectation -> outcome"),
            ("expectancy", "outcome expectation (2011 task force)"),
        ),
    ),
    Element(
        "preferences",
        "client",
        "Accommodating client preferences vs not.",
        (
            ("expectancy/client", "preference accommodation: outcome"),
            ("expectancy/client", "preference accommodation: fewer dropouts"),
            ("expectancy/client", "preference accommodation (2011)"),
        ),
    ),
    Element("severity", "client", "Baseline severity and outcome."),
    Element("social-support", "client", "Social support and outcome."),
    Element(
        "treatment-differences",
        "technique",
        "Differences between bona fide treatments.",
        (
            ("technique", "CBT vs other psychotherapies (depression)"),
            ("technique", "bona fide treatment differences (upper bound)"),
            ("technique", "active vs active treatment comparisons (17 meta-analyses)"),
            ("technique", "active vs active comparisons, corrected for researcher allegiance"),
            ("technique", "NDST vs other psychotherapies (depression)"),
        ),
        in_pie=True,
    ),
    Element(
        "specific-ingredients",
        "technique",
        "Specific ingredients: component (dismantling / additive) studies.",
        (
            ("technique", "additive component studies (post)"),
            ("technique", "additive component studies (follow-up)"),
            ("technique", "component/dismantling studies"),
            ("technique", "specific treatment vs common-factor control"),
        ),
    ),
    Element(
        "adherence",
        "technique",
        "Therapist adherence to the treatment protocol and outcome.",
        (("therapist", "adherence -> outcome"),),
    ),
    Element(
        "competence",
        "technique",
        "Therapist competence in the treatment and outcome.",
        (("therapist", "competence -> outcome"),),
    ),
    Element(
        "treatment-effect",
        "technique",
        "Total effect of psychotherapy vs control (common and specific components together); a reference, "
        "not a slice of the pie.",
        (
            ("total treatment effect", "CBT vs control (depression)"),
            ("total treatment effect", "psychotherapy vs control, adult depression (unadjusted)"),
            ("total treatment effect", "psychotherapy vs control, adult depression (bias-adjusted)"),
            ("total treatment effect", "full treatment vs no treatment (same 80 studies)"),
        ),
        pooled=_METAPSY_DEPRESSION,
    ),
    Element(
        "therapist-effects",
        "therapist",
        "Share of outcome variance between therapists (ICC).",
        (
            ("therapist", "therapist effects, managed care (severity-adjusted)"),
            ("therapist", "therapist effects (meta-analysis)"),
            ("therapist", "therapist effects: all studies since 2013"),
            ("therapist", "therapist effects: RCTs"),
            ("therapist", "therapist effects: practice-based"),
            ("therapist", "therapist effects: efficacy trials"),
            ("therapist", "therapist effects: naturalistic settings"),
            ("therapist", "therapist effects at average severity (practice, CORE-OM)"),
            ("therapist", "therapist effects after case mix (PHQ-9)"),
            ("therapist", "therapist effects: null three-level model (clinics, therapists, patients)"),
            ("therapist", "therapist effects: three-level model with covariates"),
            ("therapist", "therapist effects (28 clinics)"),
            ("therapist", "clinic effects: null three-level model (clinics, therapists, patients)"),
            ("therapist", "clinic effects: three-level model with covariates"),
            ("therapist", "clinic effects (28 clinics)"),
        ),
        in_pie=True,
    ),
    Element(
        "credibility",
        "expectancy",
        "Early treatment credibility and outcome.",
        (("expectancy", "treatment credibility -> outcome"),),
        in_pie=True,
    ),
    Element(
        "placebo",
        "expectancy",
        "Common-factor (placebo-type) control vs no treatment.",
        (("expectancy", "common-factor (placebo-type) control vs no treatment"),),
    ),
)


def element(name: str) -> Element:
    """The element called ``name`` (case, spaces and underscores are ignored: "Goal consensus" works).

    Raises
    ------
    InputError
        No such element; the message suggests the closest names.
    """
    key = re.sub(r"[\s_]+", "-", name.strip().lower())
    for e in ELEMENTS:
        if e.name == key:
            return e
    import difflib

    names = [e.name for e in ELEMENTS]
    candidates = names + list(FACTORS)  # a factor's name is a valid `factors show` argument too
    close = [n for n in candidates if n.startswith(key) or key.startswith(n)] or difflib.get_close_matches(
        key, candidates, n=3)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    raise InputError(f"no element {name!r}{hint}", expected="one of " + ", ".join(names) +
                     "; or a factor: " + ", ".join(FACTORS))


def list_elements():
    """The taxonomy as a tidy table.

    Returns
    -------
    pandas.DataFrame
        One row per element: ``factor``, ``element``, ``description``, ``n_estimates`` (published rows
        linked, plus 1 when the element is pooled from a shipped dataset), ``pooled_from`` (dataset ID
        or ""), ``in_pie`` (whether it stands for its factor in the default additive pie).
    """
    import pandas as pd

    rows = [
        {
            "factor": e.factor,
            "element": e.name,
            "description": e.description,
            "n_estimates": len(_published_rows(e)) + (e.pooled is not None),
            "pooled_from": e.pooled.dataset if e.pooled else "",
            "in_pie": e.in_pie,
        }
        for e in ELEMENTS
    ]
    return pd.DataFrame(rows)


def element_estimates(name: str, *, pooled: bool = True) -> ElementResult:
    """All estimates of one element: pooled from shipped data first, then the published ones.

    Parameters
    ----------
    name : str
        An element of :data:`ELEMENTS` (see :func:`list_elements`).
    pooled : bool
        Pool from a shipped study-level dataset where the element has one (default); ``False`` returns
        the published rows only (no model is fitted).

    Returns
    -------
    ElementResult
        ``estimates``: tuple of :class:`ElementEstimate` (metric, estimate, k, N, CI, PI, I2, share of
        variance, source, origin, checking label).
    """
    e = element(name)
    ests = []
    if pooled and e.pooled is not None:
        ests.append(_pool(e))
    ests.extend(_published_estimate(e, row) for row in _published_rows(e))
    return ElementResult(element=e.name, factor=e.factor, description=e.description, estimates=tuple(ests))


def pie_elements() -> tuple[Element, ...]:
    """The element standing for each factor in the default additive pie, in :data:`FACTORS` order."""
    return tuple(next(e for e in ELEMENTS if e.factor == f and e.in_pie) for f in FACTORS)


# ----------------------------------------------------------------------------------------------------------
# published estimates


def published_path(name: str) -> Path:
    """Path of a table in ``data/published/`` (``estimates.csv``, ``pies.csv``)."""
    return _DATA / "published" / name


@lru_cache(maxsize=4)
def _read_published(name: str) -> tuple[dict, ...]:
    with open(published_path(name), newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def _published_rows(e: Element) -> list[dict]:
    rows = _read_published("estimates.csv")
    return [r for key in e.published for r in rows if (r["factor"], r["subfactor"]) == key]


_LEADING = re.compile(r"^\s*[~>]?\s*(-?\d+(?:\.\d+)?)")


def _leading_number(text: str) -> float:
    m = _LEADING.match(text or "")
    return float(m.group(1)) if m else math.nan


def _leading_int(text: str) -> int | None:
    x = _leading_number(text)
    return None if math.isnan(x) else int(x)


def _metric(es_type: str, factor: str) -> str:
    t = es_type.strip()
    head = t.split(" ")[0]
    if head == "r":
        return "r"
    if head in ("d", "g"):
        return "d"
    if head == "pct_variance":
        return "icc" if factor == "therapist" else "share"
    return t


def _published_estimate(e: Element, row: dict) -> ElementEstimate:
    metric = _metric(row["es_type"], row["factor"])
    est = _leading_number(row["estimate"])
    is_range = "range" in row["ci_low"] or "range" in row["ci_high"]
    lo, hi = (
        (math.nan, math.nan)
        if is_range
        else (_leading_number(row["ci_low"]), _leading_number(row["ci_high"]))
    )
    if metric in ("icc", "share"):  # published as percentages
        est, lo, hi = est / 100, lo / 100, hi / 100
    notes = []
    if row["es_type"].strip() not in ("r", "d", "g", "pct_variance"):
        notes.append(f"published as {row['es_type'].strip()}")
    if is_range:
        notes.append(f"range {row['ci_low']} to {row['ci_high']}, not a confidence interval")
    if math.isnan(est) and row["estimate"].strip():
        notes.append(f"estimate as published: {row['estimate'].strip()}")
    k_text, n_text = row["k"].strip(), row["n_patients"].strip()
    k, n = _leading_int(k_text), _leading_int(n_text)
    return ElementEstimate(
        element=e.name,
        factor=e.factor,
        label=row["subfactor"],
        metric=metric,
        estimate=est,
        share=share_of_variance(metric, est),
        k=k,
        n=n,
        ci_low=lo,
        ci_high=hi,
        pi_low=math.nan,
        pi_high=math.nan,
        i2=_leading_number(row["i2"]),
        source=row["source"],
        year=_leading_int(row["year"]),
        origin="published",
        verified=row["verified"],
        where_seen=row["where_seen"],
        k_text="" if k_text == str(k) else k_text,
        n_text="" if n_text == str(n) else n_text,
        note="; ".join(notes),
    )


def share_of_variance(metric: str, estimate: float) -> float:
    """An estimate's proportion of outcome variance: r^2 for r; r^2 with r = d / sqrt(d^2 + 4) for d;
    an ICC or a published share as is; NaN for other metrics (see :mod:`commonfactors.factors.convert`)."""
    if metric == "r":
        return float(convert.r_to_share(estimate))
    if metric == "d":
        return float(convert.d_to_share(estimate))
    if metric in ("icc", "share"):
        return float(convert.icc_to_share(estimate))
    return math.nan


# ----------------------------------------------------------------------------------------------------------
# pooled from shipped data


@lru_cache(maxsize=8)
def _pool(e: Element) -> ElementEstimate:
    """Pool an element from its shipped dataset with the univariate random-effects engine.

    Outcomes of one comparison are averaged first, with the standard error of the average taken as the
    mean of their standard errors: the composite of Borenstein et al. (2009, ch. 24, eq. 24.5) when the
    outcomes correlate perfectly, a conservative choice when the correlation is unknown.
    """
    from ..datasets import load_dataset
    from ..models.univariate import meta_analysis

    spec = e.pooled
    data = load_dataset(spec.dataset)
    g = data.groupby(list(spec.group), sort=False, dropna=False)
    agg = g.agg(
        yi=(spec.yi, "mean"), sei=(spec.sei, "mean"), n1=(spec.n[0], "first"), n2=(spec.n[1], "first")
    )
    res = meta_analysis(agg, yi="yi", sei="sei", method=spec.method).to_dict()
    n_known = agg[["n1", "n2"]].notna().all(axis=1)
    n = int(np.round((agg.loc[n_known, "n1"] + agg.loc[n_known, "n2"]).sum()))
    note = (
        f"{int(data['study'].nunique())} studies; N sums both arms of the {int(n_known.sum())} comparisons "
        "reporting them (a control arm shared by several comparisons counts once per comparison)"
    )
    return ElementEstimate(
        element=e.name,
        factor=e.factor,
        label=spec.label,
        metric=spec.metric,
        estimate=res["estimate"],
        share=share_of_variance(spec.metric, res["estimate"]),
        k=res["k"],
        n=n,
        ci_low=res["ci_low"],
        ci_high=res["ci_high"],
        pi_low=res["pi_low"],
        pi_high=res["pi_high"],
        i2=res["i2"],
        source=f"pooled here from shipped dataset {spec.dataset!r} (data/{spec.dataset}.md)",
        year=None,
        origin="pooled",
        verified="computed",
        where_seen=f"data/{spec.dataset}.csv",
        model=f"random effects, {spec.method}, z test, one effect per comparison",
        note=note,
    )
