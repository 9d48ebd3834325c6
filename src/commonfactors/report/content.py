"""What each page of the report shows: data prepared, models fitted and pages' content built from them.

Everything here calls the public API (``effect_sizes``, ``meta_analysis``, ``bias_tests``, ``funnel_data``,
``influence``, ``baujat``, ``cumulative``, ``additive_pie``, ``element_estimates``) and returns plain content
for the templates: strings, numbers, rows of tables, and the figures and whole tables a page shows as
:class:`~commonfactors.report.render.Drawing` and :class:`~commonfactors.report.render.Table` (the data to
draw them from), which :func:`~commonfactors.report.render.draw` turns into files and links. Nothing here
draws. The models of the shipped datasets are fitted and their figures drawn in worker processes
(:class:`Jobs`); the order of the work does not change the output.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .._format import fmt, fmt_p
from ..errors import InputError
from .render import Drawing, Table, Writer, cumulative_rule, draw, forest_rule, markup, page_caption, preload

# ------------------------------------------------------------------------------------------------------
# page vocabulary and number formatting

#: The factors' page titles and one-line descriptions, in the order of the pie.
FACTOR_PAGES = {
    "relationship": (
        "Alliance and relationship",
        "The therapeutic alliance and the other elements of the therapy relationship: empathy, "
        "positive regard, congruence, goal consensus, collaboration, repair of ruptures, feedback.",
    ),
    "client": (
        "Client",
        "What clients bring: readiness to change, expectations, preferences, severity, social support.",
    ),
    "technique": (
        "Technique",
        "The treatment method: differences between bona fide treatments, specific "
        "ingredients, adherence and competence, and the total effect of treatment.",
    ),
    "therapist": (
        "Therapist",
        "Therapist effects: the share of outcome variance that lies between therapists.",
    ),
    "expectancy": ("Expectancy", "Expectancy, credibility and placebo-type effects."),
}

#: Columns tried, in order, for study labels of a shipped or user dataset.
LABEL_COLUMNS = ("slab", "study", "authors", "author", "trial", "id")

#: Column by which a dataset's studies are added in the cumulative meta-analysis, when the data have it.
YEAR_COLUMN = "year"

#: Rows above which a table of studies on a page is cut to :data:`TABLE_ROWS` rows; the whole table is then
#: written to a CSV file in ``tables/`` and linked from the page, so a page of 10,000 studies stays small.
TABLE_ROWS = 60

#: escalc's measures of a single group (a proportion, a mean, the change within one group): pooled, they give
#: the average of the groups, never a comparison of treatments (metafor's escalc documentation: "outcome
#: measures for individual groups" and "outcome measures for change or matched pairs").
ONE_GROUP = frozenset({"PR", "PLO", "PLN", "PAS", "PFT", "MN", "SMCC", "SMCR"})

#: Rows up to which a page's forest plot is drawn as labelled figures of ``figures.MAX_LABELLED`` rows each
#: (two figures at most); beyond, one unlabelled figure of all rows sorted by effect size, whose caption
#: names the command that draws any page of it. Each labelled figure takes about a second to draw (the
#: unlabelled one a third of that): all 1,191 rows of the shipped datasets with more than 60 in pages would
#: double the site's build time; 120 rows add 10%.
PAGED_ROWS = 120

#: Columns tried, in order, for the treatment of each arm when the rows are treatment arms.
ARM_COLUMNS = ("trt", "treatment", "arm")

#: Names of control conditions (lower case, "_" and "-" as spaces): the reference of a network of arms is
#: the one of these in the most trials, else the treatment in the most trials.
CONTROL_NAMES = frozenset({"no contact", "no treatment", "wait list", "waitlist", "waiting list", "placebo",
                           "pill placebo", "tau", "usual care", "care as usual", "cau", "control"})

#: One-group measures of proportions: arms with event counts (``xi``) and sizes (``ni``), from which a
#: network meta-analysis of odds ratios compares the treatments.
PROPORTIONS = frozenset({"PR", "PLO", "PLN", "PAS", "PFT"})


def number(x, digits: int = 4) -> str:
    """``x`` with ``digits`` decimals as a page shows it: "NA" when missing, and never "-0.00" (a negative
    number that rounds to zero is shown as 0.00, as R prints it)."""
    text = fmt(x, digits)
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _num(x, digits: int = 4) -> str:
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    return number(x, digits)


def _digits(tolerance) -> int:
    """Decimals to show a reproduction row with: one more than its tolerance implies (0.005 -> 3)."""
    if tolerance == 0:
        return 0
    if not isinstance(tolerance, (int, float)) or tolerance <= 0:
        return 4
    return max(2, min(6, int(math.ceil(-math.log10(2 * tolerance))) + 1))


def _interval(lo, hi, digits: int = 2, scale: float = 1.0) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "NA"
    return f"[{number(scale * lo, digits)}, {number(scale * hi, digits)}]"


def slug(text: str) -> str:
    """``text`` as an HTML anchor or file-name part: lower case, other than letters and digits "-"."""
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-")


def study_labels(frame) -> list[str]:
    """Study labels from the first label-like column (``LABEL_COLUMNS``), with the year appended when
    there is a ``year`` column and the label does not contain it; "study 1", "study 2", ... otherwise."""
    import pandas as pd

    for col in LABEL_COLUMNS:
        if col in frame.columns:
            values = frame[col]
            numeric = pd.api.types.is_numeric_dtype(values)
            labels = [f"{col} {v}" if numeric else str(v) for v in values]
            if not numeric and "year" in frame.columns and pd.api.types.is_integer_dtype(frame["year"]):
                labels = [
                    lab if str(y) in lab else f"{lab}, {y}"
                    for lab, y in zip(labels, frame["year"], strict=True)
                ]
            return labels
    return [f"study {i + 1}" for i in range(len(frame))]


# ------------------------------------------------------------------------------------------------------
# one model on one dataset: fit, bias tests, and the dict a template shows (its figures as Drawings)


@dataclass
class Data:
    """Effect sizes of one dataset, ready to pool, and what the page says about where they came from."""

    frame: object
    yi: str
    vi: str | None
    sei: str | None
    measure: str | None
    effect_text: str
    labels: list[str]
    info: dict = field(default_factory=dict)
    #: the column naming each row's study when the rows are effect sizes nested in studies, else None
    cluster: str | None = None
    #: the escalc arguments the effect sizes were computed with (``{"xi": "xi", "ni": "ni"}``), if any
    columns: dict = field(default_factory=dict)

    @property
    def one_group(self) -> bool:
        """Whether each row is one group's value (a proportion, a mean, a change), not a comparison."""
        return str(self.measure).upper() in ONE_GROUP

    @property
    def arms(self) -> bool:
        """Whether the rows are treatment arms nested in studies: one-group values, several per study."""
        return self.one_group and self.cluster is not None


def _effects(frame, *, yi="yi", vi=None, sei=None, measure=None, columns=None) -> tuple[object, dict]:
    """``frame`` with effect sizes: computed with ``effect_sizes`` when ``measure`` and escalc ``columns``
    are given, else read from the ``yi`` and ``vi`` (or ``sei``) columns."""
    import commonfactors as cf

    if columns:
        out = cf.effect_sizes(frame, measure, **columns)
        text = f"{measure} computed from " + ", ".join(f"{a} = {c}" for a, c in columns.items())
        return out, {"yi": "yi", "vi": "vi", "sei": None, "text": text}
    vi = vi if (vi is not None or sei is not None) else "vi"
    text = f"effect sizes in column {yi}, " + (f"standard errors in {sei}" if sei else f"variances in {vi}")
    if measure:
        text = f"{measure}: {text}"
    return frame, {"yi": yi, "vi": vi, "sei": sei, "text": text}


def file_measure(frame) -> str | None:
    """The measure that effect sizes read from a file carry: its ``measure`` column when it holds one value
    (as ``commonfactors effects`` writes it), else the frame's metadata (``effect_sizes``' ``attrs``); None
    when that is not one of escalc's measures."""
    from ..effects import MEASURES

    measure = frame.attrs.get("measure")
    if "measure" in [str(c) for c in frame.columns]:
        values = {str(m) for m in frame["measure"] if m is not None and str(m) not in ("", "nan", "NA")}
        measure = values.pop() if len(values) == 1 else None
    return str(measure).upper() if measure is not None and str(measure).upper() in MEASURES else None


def prepare(frame, *, yi="yi", vi=None, sei=None, measure=None, columns=None, slab=None) -> Data:
    """``frame``'s effect sizes (:func:`_effects`) and study labels, ready to pool; without ``measure`` and
    escalc ``columns``, the measure the file carries (:func:`file_measure`), which gives the natural
    scale."""
    if measure is None and not columns:
        measure = file_measure(frame)
    out, spec = _effects(frame, yi=yi, vi=vi, sei=sei, measure=measure, columns=columns)
    if slab is not None:
        if slab not in frame.columns:
            raise InputError("no such column", column=slab, expected="a column of study labels")
        labels = [str(v) for v in frame[slab]]
    else:
        labels = study_labels(frame)
    return Data(
        frame=out,
        yi=spec["yi"],
        vi=spec["vi"],
        sei=spec["sei"],
        measure=measure,
        effect_text=spec["text"],
        labels=labels,
        columns=dict(columns or {}),
    )


def _xlabel(measure: str | None) -> str:
    from ..effects import MEASURES

    if measure in MEASURES:
        return MEASURES[measure].description
    return "effect size (yi)"


def model(
    data: Data,
    *,
    key: str,
    title: str,
    method: str = "REML",
    test: str = "z",
    level: float = 95,
    note: str = "",
) -> tuple[dict, object]:
    """Fit and test for funnel asymmetry: what ``model_block`` shows (its forest and funnel plots as
    :class:`Drawing`), and the fitted model.

    The headline (:func:`headline`) is the three-level model when the rows are nested in studies, else the
    model itself, on the model's scale and, when the measure has one, on its natural scale (r for Fisher's
    z, ratios for log ratios, proportions for transformed proportions), as metafor's
    ``predict(res, transf=)``; the forest, funnel and cumulative plots then have their axes on that scale."""
    import dataclasses

    import numpy as np

    import commonfactors as cf

    labels = np.asarray(_labels(data))
    with warnings.catch_warnings(record=True):  # kept in each result's ``warnings`` and shown on the page
        warnings.simplefilter("always")
        res = cf.meta_analysis(
            data.frame,
            yi=data.yi,
            vi=data.vi,
            sei=data.sei,
            slab=labels,
            method=method,
            test=test,
            level=level,
        )
        nested = _three_level(data, method=method, test=test, level=level) if data.cluster else None
        bias = cf.bias_tests(
            data.frame, yi=data.yi, vi=data.vi, sei=data.sei, slab=labels,
            method=_bias_method(res), test=test, level=level, cluster=data.cluster,
        )
    funnel = cf.funnel_data(yi=res.yi, vi=res.vi, slab=res.slab, method=_bias_method(res))
    if res.common_effect:  # the pseudo confidence region around the model's own estimate
        funnel = dataclasses.replace(funnel, estimate=res.estimate)
    xlabel = _xlabel(data.measure)
    head = headline(data, res, nested)
    axis = _axis(head)
    share = 100 * res.weights / res.weights.sum()
    shown = slice(0, TABLE_ROWS if res.k > TABLE_ROWS else res.k)  # the first rows, in file order
    studies = [
        (str(int(r)), str(s), number(y, 4), number(v, 4), number(w, 2))
        for r, s, y, v, w in zip(res.rows[shown], res.slab[shown], res.yi[shown], res.vi[shown],
                                 share[shown], strict=True)
    ]
    studies_file = None
    if res.k > TABLE_ROWS:
        import pandas as pd

        studies_file = Table(pd.DataFrame({"line": res.rows, "study": [str(s) for s in res.slab],
                                           "yi": res.yi, "vi": res.vi, "weight": share}), f"{key}-studies")
    settings = [("Effect sizes", data.effect_text), ("Measure", xlabel)]
    if nested is not None:
        settings += _three_level_settings(nested, data.cluster, head, arms=data.arms)
    else:
        settings += [
            ("Model", "common-effect" if res.common_effect else f"random effects, tau\u00b2 by {res.method}"),
            ("Test and level", f"{res.test} test, {res.level:g}% intervals"),
            ("Studies used (k)", str(res.k)),
            (
                "Pooled estimate",
                f"{number(res.estimate, 4)} {_interval(res.ci_low, res.ci_high, 4)}, p {_p_text(res.pval)} "
                f"({xlabel})",
            ),
        ]
        if not res.common_effect:
            settings.append(("Prediction interval", _interval(res.pi_low, res.pi_high, 4)))
    if head["natural"] is not None:
        settings.append(natural_setting(head))
    if data.one_group and not data.arms:
        note = " ".join(filter(None, (note, one_group_note(data))))
    forests, rule = forest_drawings(data, res, key=key, xlabel=xlabel, axis=axis)
    network = network_block(data, level=level) if data.arms else None
    return {
        "key": key,
        "title": title,
        "note": note,
        "headline": head["text"],
        "settings": settings,
        "level": f"{res.level:g}",
        "summary_html": markup((res if nested is None else nested).summary().as_html()),
        "independent_html": None if nested is None else markup(res.summary().as_html()),
        "bias_html": markup(bias.summary().as_html()),
        "forest": forests[0]["figure"],
        "forest_pages": forests[1:],
        "funnel": Drawing("funnel", f"{key}-funnel", (funnel,),
                          {"trim_fill": bias.trim_and_fill, **_axis_options(xlabel, axis)}),
        "studies": studies,
        "k": res.k,
        "studies_file": studies_file,
        "forest_rule": rule,
        "axis": axis,
        "network": network,
        "sensitivity": None,
    }, res


def headline(data: Data, res, nested) -> dict:
    """The page's one headline estimate: the three-level model's (CR2 inference) when ``nested`` is given,
    else the model ``res``'s; its confidence and prediction intervals on the model's scale, the same
    back-transformed to the measure's natural scale (``natural``, from
    :func:`commonfactors._transforms.natural`; None when the measure has none), and the sentence a page
    shows (``text``).

    The three-level model's prediction interval is metafor's ``predict()`` of ``rma.mv`` under
    ``robust(clubSandwich = TRUE)``: pred +- t(df) sqrt(SE^2 + sigma2_between + sigma2_within), with the
    CR2 standard error and Satterthwaite degrees of freedom (Pustejovsky & Tipton, 2018) and the sum of the
    variance components (the interval for the true effect of a new effect size in a new study)."""
    from .._distributions import t_ppf
    from .._transforms import natural

    if nested is None:
        values = (res.estimate, res.ci_low, res.ci_high, res.pi_low, res.pi_high)
        level = res.level
    else:
        first = nested.robust.coefficients[0]
        level = nested.level
        half = float(t_ppf(1 - (1 - level / 100) / 2, first.df)) * math.sqrt(first.se**2 + sum(nested.sigma2))
        values = (first.estimate, first.ci_low, first.ci_high, first.estimate - half, first.estimate + half)
    out = dict(zip(("estimate", "ci_low", "ci_high", "pi_low", "pi_high"), map(float, values), strict=True))
    ni = None
    if "ni" in [str(c) for c in data.frame.columns]:  # the sample sizes Miller's inverse double arcsine takes
        ni = [float(x) for x in data.frame["ni"]]
    out["natural"] = natural("auto", data.measure, *values, ni=ni)
    out["level"] = level
    out["text"] = _headline_text(data, out, nested)
    return out


#: decimals of a headline number on each natural scale (two for ratios and standardised differences)
_HEADLINE_DIGITS = {"r": 3, "proportion": 3}


def _headline_text(data: Data, head: dict, nested) -> str:
    """``Pooled risk ratio 0.49 (95% CI 0.34 to 0.70; 95% prediction interval 0.15 to 1.55), ...``: the
    headline on the natural scale when there is one, else on the model's scale."""
    shown = head["natural"] or head
    name = _what(data)
    digits = _HEADLINE_DIGITS.get(name, 2)
    level = f"{head['level']:g}%"

    def num(x):
        return number(x, digits)

    parts = f"{level} CI {num(shown['ci_low'])} to {num(shown['ci_high'])}"
    if math.isfinite(shown["pi_low"]) and math.isfinite(shown["pi_high"]):
        parts += f"; {level} prediction interval {num(shown['pi_low'])} to {num(shown['pi_high'])}"
    value = f"{num(shown['estimate'])} ({parts})"
    if data.arms:
        return (f"Average {name} across the {nested.k} arms of {nested.n_clusters} studies: {value}. A "
                "description of the arms, treatment and control arms alike: not a treatment effect.")
    if data.one_group:
        return f"Average {name} across the groups: {value}. Not a comparison of treatments."
    if nested is not None:
        return (f"Pooled {name}, three-level model of {nested.k} effect sizes from {nested.n_clusters} "
                f"studies: {value}.")
    return f"Pooled {name}: {value}."


def natural_setting(head: dict) -> tuple[str, str]:
    """The settings row of the headline on its natural scale: estimate [CI]; prediction interval."""
    nat = head["natural"]
    text = f"{number(nat['estimate'], 4)} {_interval(nat['ci_low'], nat['ci_high'], 4)}"
    if math.isfinite(nat["pi_low"]) and math.isfinite(nat["pi_high"]):
        text += f"; prediction interval {_interval(nat['pi_low'], nat['pi_high'], 4)}"
    return (f"On the {nat['scale']} scale ({nat['transf']})", text)


def _axis(head: dict) -> tuple[str, str] | None:
    """(transformation, scale) of the figures' effect-size axes: the headline's natural scale when a forest
    plot's axis can take it, else None (the model's scale)."""
    from .figures import FOREST_TRANSFORMS

    nat = head["natural"]
    return (nat["transf"], nat["scale"]) if nat is not None and nat["transf"] in FOREST_TRANSFORMS else None


def _axis_options(xlabel: str, axis) -> dict:
    """A figure's effect-size axis: its label, and on the natural scale ``axis`` (transformation, scale
    name) when there is one (the axis label then names the scale)."""
    if axis is None:
        return {"xlabel": xlabel}
    return {"xlabel": f"{xlabel} (axis: {axis[1]})", "transf": axis[0]}


def arm_column(frame) -> str | None:
    """The column naming each arm's treatment (the first of :data:`ARM_COLUMNS` present), or None."""
    columns = {str(c).lower(): str(c) for c in frame.columns}
    return next((columns[c] for c in ARM_COLUMNS if c in columns), None)


def arm_labels(data: Data) -> list[str]:
    """The labels of treatment arms: the study's label and the arm's treatment ("Hall, 1984: self_help")."""
    column = arm_column(data.frame)
    if column is None:
        return list(data.labels)
    return [f"{lab}: {t}" for lab, t in zip(data.labels, data.frame[column], strict=True)]


def forest_drawings(data: Data, res, *, key: str, xlabel: str, axis) -> tuple[list[dict], str]:
    """The forest plot of a page, ``{"figure": Drawing, "caption": page's own caption}`` per figure, and
    the sentence the first figure's caption adds.

    Effect sizes nested in studies are drawn one row per study (``figures.forest``'s ``cluster``: the
    inverse-variance average of the study's effect sizes, metafor's ``aggregate(rho = 0)``), labelled with
    the study's first label; treatment arms one row per arm. Up to ``figures.MAX_LABELLED`` rows: one
    figure; up to :data:`PAGED_ROWS`: pages of ``figures.MAX_LABELLED`` labelled rows each, in file order
    (each with the whole model's weights and pooled estimate); more: one figure of all rows sorted by effect
    size, unlabelled (the table and its CSV file list them; ``commonfactors plot forest --page`` draws any
    page of it)."""
    from .figures import MAX_LABELLED

    options = _axis_options(xlabel, axis)
    n, unit = res.k, "arm" if data.arms else "study"
    if data.cluster is not None and not data.arms:
        studies = [str(c) for c in data.frame.loc[res.rows, data.cluster]]
        first: dict[str, str] = {}
        for study, label in zip(studies, res.slab, strict=True):
            first.setdefault(study, str(label))
        options["cluster"] = [first[s] for s in studies]  # each effect size carries its study's label
        n = len(first)
    clustered = "cluster" in options
    if n <= MAX_LABELLED or n > PAGED_ROWS:
        drawing = {"figure": Drawing("forest", f"{key}-forest", (res,), options), "caption": ""}
        command = None
        if n > MAX_LABELLED and _is_shipped(data.info.get("id")):
            command = (f"commonfactors plot forest {data.info['id']}"
                       + (f" --cluster {data.cluster}" if clustered else "") + " --page 2 --out forest-2.png")
        return [drawing], forest_rule(n, res.k, clustered=clustered, unit=unit, command=command)
    pages = -(-n // MAX_LABELLED)
    drawings = [
        {"figure": Drawing("forest", f"{key}-forest" + ("" if i == 0 else f"-{i + 1}"), (res,),
                           {**options, "rows": slice(i * MAX_LABELLED, (i + 1) * MAX_LABELLED)}),
         "caption": page_caption(i, pages, n, unit)}
        for i in range(pages)
    ]
    return drawings, forest_rule(n, res.k, clustered=clustered, pages=pages, unit=unit)


def network_reference(frame, study: str, treatment: str) -> str:
    """The reference treatment of a network of arms: the control condition (:data:`CONTROL_NAMES`) in the
    most trials, else the treatment in the most trials (ties: the first in sorted order)."""
    trials = frame.groupby(treatment)[study].nunique()
    names = sorted(trials.index, key=lambda t: (-int(trials[t]), str(t)))
    controls = [t for t in names if str(t).lower().replace("_", " ").replace("-", " ") in CONTROL_NAMES]
    return str((controls or names)[0])


def _column_text(data: Data, column: str) -> str:
    """``column x`` with the description a shipped dataset's descriptor gives it: ``column xi (number of
    individuals abstinent)``."""
    fields = data.frame.attrs.get("schema") or []
    description = next((f.get("description") for f in fields if f.get("name") == column), None)
    return f"column {column}" + (f" ({description})" if description else "")


def _network_possible(data: Data) -> bool:
    """Whether the rows are arms of trials with event counts and sizes and a treatment column."""
    return (str(data.measure).upper() in PROPORTIONS and data.cluster is not None and "xi" in data.columns
            and "ni" in data.columns and arm_column(data.frame) is not None)


def network_block(data: Data, level: float = 95) -> dict | None:
    """What treatment arms with event counts can say about the treatments: the contrast-based
    random-effects network meta-analysis of the arms within each trial (``network_meta_analysis``: log odds
    ratios of each treatment against :func:`network_reference`, REML, one tau2 for every comparison, the
    contrasts of a multi-arm trial correlated; Salanti, 2012, Res. Synth. Methods 3(2), 80-97), 1/2 added
    to every cell of every arm (metafor's example for ``dat.hasselblad1998``), each odds ratio and its
    confidence and prediction intervals as metafor's ``predict(transf = exp)``. None when the rows are not
    arms with counts (``xi`` and ``ni``) and a treatment column; ``{"skipped": why}`` when the network cannot
    be fitted (a trial with one arm or a treatment twice, a disconnected network)."""
    import commonfactors as cf

    from .._transforms import back_transform

    if not _network_possible(data):
        return None
    column = arm_column(data.frame)
    events, n = data.columns["xi"], data.columns["ni"]
    reference = network_reference(data.frame, data.cluster, column)
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            net = cf.network_meta_analysis(data.frame, study=data.cluster, treatment=column, events=events,
                                           n=n, measure="OR", reference=reference, add=0.5, to="all",
                                           level=level, n_sim=100)
    except InputError as e:
        return {"skipped": f"No network meta-analysis of these arms: {e}"}
    rows = [{"treatment": reference, "ratio": "1 (reference)", "ci": "", "pi": "", "log": "", "p": ""}]
    for e in net.effects:
        odds = back_transform("exp", [e[k] for k in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")])
        rows.append({"treatment": str(e["treatment"]), "ratio": number(odds[0], 2),
                     "ci": _interval(odds[1], odds[2], 2), "pi": _interval(odds[3], odds[4], 2),
                     "log": f"{number(e['estimate'], 4)} ({number(e['se'], 4)})", "p": fmt_p(e["pval"])})
    inc = net.inconsistency
    return {
        "skipped": None,
        "text": (f"Contrast-based random-effects network meta-analysis of the {net.k} trials "
                 f"({net.n_contrasts} contrasts, {len(net.treatments)} treatments; REML, tau\u00b2 = "
                 f"{number(net.tau2, 4)} shared by all comparisons, the contrasts of a multi-arm trial "
                 f"correlated with rho = 1/2): the odds ratio of the events of {_column_text(data, events)} "
                 f"for each treatment against {reference} (the control condition in the most trials, else "
                 "the treatment in the most trials), with 1/2 added to every cell of every arm. These are "
                 "the treatment effects the arms can give. Design-by-treatment inconsistency: "
                 f"Q({inc['df']}) = {number(inc['q'], 2)}, p {_p_text(inc['pval'])}."),
        "level": f"{net.level:g}",
        "rows": rows,
        "reference": reference,
        "result": net,
    }


def _is_shipped(id) -> bool:
    """Whether ``id`` names a shipped dataset (which the command line reads by its name)."""
    from ..datasets import catalogue

    return id is not None and any(c["id"] == id for c in catalogue())


def _three_level(data: Data, *, method: str, test: str, level: float):
    """The three-level model of effect sizes nested in studies (metafor's
    ``rma.mv(yi, vi, random = ~ 1 | study/es)``) with CR2 cluster-robust inference and Satterthwaite degrees
    of freedom (Pustejovsky & Tipton, 2018; clubSandwich's ``coef_test(vcov = "CR2")``): REML unless the
    page's estimator is ML, the only two the three-level model has."""
    import commonfactors as cf

    return cf.multilevel_meta_analysis(
        data.frame, yi=data.yi, vi=data.vi, sei=data.sei, cluster=data.cluster,
        method="ML" if method.upper() == "ML" else "REML", test="z" if test == "z" else "t", level=level,
        robust="cr2",
    )


def _three_level_settings(nested, cluster: str, head: dict, arms: bool = False) -> list[tuple[str, str]]:
    """The settings rows of a three-level model: its structure, its size, its CR2 pooled estimate and the
    prediction interval of :func:`headline`; for treatment arms, named as arms and their average."""
    first = nested.robust.coefficients[0]
    between, within = nested.sigma2
    rows, unit = ("treatment arms", "arms") if arms else ("effect sizes", "effect sizes")
    return [
        ("Model", f"three-level: {rows} nested in studies (column {cluster}), variances by "
                  f"{nested.method}; CR2 cluster-robust inference"),
        ("Test and level", f"t test with Satterthwaite df, {nested.level:g}% intervals"),
        (f"{unit.capitalize()} (k) and studies", f"{nested.k} {unit} from {nested.n_clusters} studies"),
        ("Average over arms" if arms else "Pooled estimate",
         f"{number(first.estimate, 4)} {_interval(first.ci_low, first.ci_high, 4)}, "
         f"t({number(first.df, 2)}) = {number(first.stat, 4)}, p {_p_text(first.pval)}"),
        ("Prediction interval", _interval(head["pi_low"], head["pi_high"], 4)),
        (f"Variance between studies, {'between arms ' if arms else ''}within studies",
         f"{number(between, 4)}, {number(within, 4)}"),
    ]


def model_section(w: Writer, data: Data, *, key: str, title: str, method: str = "REML", test: str = "z",
                  level: float = 95, note: str = "", sensitivity: bool = False) -> dict:
    """What ``model_block`` shows with its figures drawn (:func:`model`, then
    :func:`~commonfactors.report.render.draw`); with ``sensitivity``, then also what ``sensitivity_block``
    shows (:func:`_sensitivity` and :func:`_cumulative`, each then drawn). Each figure is drawn before the
    next fits run, which then reuse the memory the drawing released (a 10,000-study report takes about 10%
    more CPU time when all fits come first)."""
    block, res = model(data, key=key, title=title, method=method, test=test, level=level, note=note)
    out = draw(w, block)
    if sensitivity:
        xlabel = _xlabel(data.measure)
        out["sensitivity"] = draw(w, _sensitivity(data, res, key=key))
        out["sensitivity"].update(draw(w, _cumulative(data, res, key=key, xlabel=xlabel, axis=block["axis"])))
    return out


def _common(data: Data, res) -> dict:
    """The arguments of the sensitivity analyses: the data and the model options of ``res``."""
    import numpy as np

    return dict(yi=data.yi, vi=data.vi, sei=data.sei, slab=np.asarray(_labels(data)), method=res.method)


def _labels(data: Data) -> list[str]:
    """The rows' labels on the page: study labels, with each arm's treatment when the rows are arms."""
    return arm_labels(data) if data.arms else list(data.labels)


def _sensitivity(data: Data, res, *, key: str) -> dict:
    """Influence diagnostics and the Baujat plot, with the model options of ``res``."""
    import commonfactors as cf

    common = _common(data, res)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        infl = cf.influence(data.frame, test=res.test, level=res.level, **common)
        bj = cf.baujat(data.frame, **common)
    shown = _most_influential(infl)
    rows = [
        {
            "line": str(int(res.rows[i])),
            "study": str(infl.slab[i]),
            "cells": [number(c[i], 4) for c in (infl.rstudent, infl.dffits, infl.cooks_d, infl.cov_ratio,
                                             infl.hat, infl.weight, infl.leave1out_estimate)],
            "flag": bool(infl.influential[i]),
        }
        for i in shown
    ]
    influence_file = None
    if shown.shape[0] < infl.k:
        frame = infl.to_frame()
        frame.insert(0, "line", res.rows)
        influence_file = Table(frame, f"{key}-influence")
    return {
        "baujat": Drawing("baujat", f"{key}-baujat", (bj,), {"influential": infl.influential}),
        "influence": rows,
        "k": infl.k,
        "influence_file": influence_file,
        "flagged": [str(s) for s, flag in zip(infl.slab, infl.influential, strict=True) if flag],
        "warnings": list(dict.fromkeys((*infl.warnings, *bj.warnings))),
    }


def _cumulative(data: Data, res, *, key: str, xlabel: str, axis=None) -> dict:
    """The cumulative meta-analysis by :data:`YEAR_COLUMN` with the model options of ``res``: ``cumulative``
    is None when the data have no such column, or when a study has no year (``cumulative_note`` says so).
    ``axis`` (transformation, scale name): the figure's axis on that scale."""
    import commonfactors as cf

    out = {"cumulative": None, "cumulative_note": ""}
    if YEAR_COLUMN not in data.frame.columns:
        return out
    try:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            cum = cf.cumulative(data.frame, order=YEAR_COLUMN, test=res.test, level=res.level,
                                **_common(data, res))
    except InputError as e:  # a study without a year
        out["cumulative_note"] = f"No cumulative meta-analysis by {YEAR_COLUMN}: {e}"
        return out
    options = {**_axis_options(xlabel, axis), "order_label": YEAR_COLUMN, "level": res.level}
    figure = Drawing("cumulative_forest", f"{key}-cumulative", (cum,), options)
    out["cumulative"] = {"figure": figure, "column": YEAR_COLUMN, "rule": cumulative_rule(cum.k)}
    return out


def _most_influential(infl):
    """Positions of the influence table's rows: every study when there are at most :data:`TABLE_ROWS`, in
    file order; otherwise the :data:`TABLE_ROWS` flagged by metafor's rules first, then those with the
    largest Cook's distance (ties in file order)."""
    import numpy as np

    if infl.k <= TABLE_ROWS:
        return np.arange(infl.k)
    cooks = np.nan_to_num(np.asarray(infl.cooks_d, dtype=float), nan=-np.inf)
    order = np.lexsort((-cooks, ~np.asarray(infl.influential, dtype=bool)))  # last key sorts first
    return order[:TABLE_ROWS]


def _p_text(p: float) -> str:
    text = fmt_p(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def _bias_method(res) -> str:
    return "REML" if res.common_effect else res.method


# ------------------------------------------------------------------------------------------------------
# the shipped datasets


def dataset_data(info) -> dict:
    """What the page says about a shipped dataset (from its catalogue entry)."""
    from ..datasets import format_citation

    doi = info.citation.get("doi")
    citation = format_citation(info.citation, "apa")
    link = f"https://doi.org/{doi}" if doi else None
    if link and citation.rstrip(".").endswith(link):  # shown as a link instead of plain text
        citation = citation.rstrip(".")[: -len(link)].rstrip()
    return {
        "id": info.id,
        "title": info.title,
        "citation": citation,
        "doi": link,
        "licence": info.licence,
        "snapshot": " ".join(str(info.snapshot.get(k, "")) for k in ("version", "date")).strip(),
        "sources": [s.get("title", "") + (f" ({s['path']})" if s.get("path") else "") for s in info.sources],
        "quirks": list(info.quirks),
        "rows": info.rows,
        "k": info.k,
        "file": None,
        "file_name": info.path,
        "provenance": None,
        "provenance_name": info.provenance,
    }


def copy_dataset(w: Writer, id: str, info: dict) -> None:
    """Copy a shipped dataset's file and provenance file into the site's ``data/`` and link them in
    ``info``."""
    from ..datasets import DATA_DIR, describe

    entry = describe(id)
    path = Path(entry.path)  # relative to the repository: data/<file>
    relative = path.relative_to("data") if path.parts[0] == "data" else path
    info["file"] = w.copy(DATA_DIR / relative, relative.as_posix())
    provenance = entry.provenance.split(" (")[0]  # "published/README.md (section A)" names a file and a part
    if provenance and (DATA_DIR / provenance).is_file():
        info["provenance"] = w.copy(DATA_DIR / provenance, provenance)


def _shipped(id: str) -> Data:
    """The dataset ``id`` with effect sizes as its catalogue entry describes them."""
    import commonfactors as cf
    from commonfactors import datasets

    info = datasets.describe(id)
    effect = dict(info.effect)
    measure = effect.pop("measure")
    frame = cf.load_dataset(id)
    if "yi" in effect:
        data = prepare(frame, yi=effect["yi"], vi=effect.get("vi"), sei=effect.get("sei"), measure=measure)
    else:
        data = prepare(frame, measure=measure, columns=effect)
    data.info = dataset_data(info)
    data.cluster = study_column(frame, data.info)
    return data


def study_column(frame, info: dict) -> str | None:
    """The column naming each row's study when a shipped dataset has more rows than studies (the
    descriptor's ``rows`` > ``k``, ``k`` counting the distinct values of a ``study`` column), else None."""
    k, rows = info.get("k"), info.get("rows")
    if k is None or rows is None or rows <= k:
        return None
    for col in frame.columns:
        if str(col).lower() == "study" and frame[col].nunique() == k:
            return str(col)
    return None


def nesting_note(data: Data) -> str:
    """How the page handles several rows per study: the headline is the three-level model; what still
    treats each row on its own says so. Rows that are treatment arms (:attr:`Data.arms`) are said to be
    arms, their average not a treatment effect."""
    if data.cluster is None:
        return ""
    if data.arms:
        return arms_note(data)
    k, rows = data.info.get("k"), data.info.get("rows")
    return (
        f"The file has {rows} effect sizes from {k} studies (several per study), which are not independent. "
        f"The pooled estimate is a three-level model (effect sizes nested in studies, column "
        f"{data.cluster}) with CR2 cluster-robust inference. Egger's test is also run as a three-level "
        "meta-regression with CR2 inference; the other bias tests assume independent effect sizes. The "
        "forest plot shows one row per study: the inverse-variance average of its effect sizes (metafor's "
        "aggregate() with rho = 0), weighted by the sum of their weights in the random-effects model that "
        "treats the effect sizes as independent, whose pooled estimate is the diamond (its results under "
        "\"Pooled as independent\"). The funnel plot, the table of effect sizes and the influence "
        "diagnostics show each effect size on its own, with that model: a description of the rows, not the "
        "estimate."
    )


#: short names of one-group measures without a natural scale of their own, as a sentence uses them
_ONE_GROUP_NAMES = {"SMCC": "standardised mean change", "SMCR": "standardised mean change", "MN": "mean",
                    "PR": "proportion"}


def _what(data: Data) -> str:
    """What one row's value is, in words: the measure's natural scale, else a one-group measure's short
    name, else the measure's description."""
    from .._transforms import natural_scale

    scale = natural_scale(data.measure)
    if scale is not None:
        return scale[1]
    return _ONE_GROUP_NAMES.get(str(data.measure).upper()) or _xlabel(data.measure)


def arms_note(data: Data) -> str:
    """What a page of treatment arms nested in studies says its rows and its pooled number are."""
    k, rows = data.info.get("k"), data.info.get("rows")
    column = arm_column(data.frame)
    what = _what(data)
    labelled = ""
    if column:
        labelled = (f", labelled with its treatment (column {column})" if len(data.frame) <= PAGED_ROWS else
                    f" (the table of arms names each arm's treatment, column {column})")
    network = ("given below from the arms' event counts" if _network_possible(data) else
               "which this page does not fit: it needs the arms' counts, or their means and standard "
               "deviations, or the contrasts themselves")
    return (
        f"The file has {rows} rows from {k} studies, one row per treatment arm: each row is one group's "
        f"{what} ({_xlabel(data.measure)}), in treatment and control arms alike, not a comparison of "
        f"treatments. The pooled number is the average {what} across the arms, from a three-level model "
        f"(arms nested in studies, column {data.cluster}) with CR2 cluster-robust inference: a description "
        "of the arms, not a treatment effect. Comparing treatments needs a contrast-based analysis of the "
        "arms within each study (a network meta-analysis, e.g. of each treatment against a common "
        f"comparator), {network}. The forest plot shows one row per arm{labelled}. The "
        "funnel plot and the bias tests describe the arms' values and say nothing about publication bias of "
        "a treatment effect; they, the table of arms and the influence diagnostics treat each arm on its "
        "own, with the random-effects model that treats the arms as independent (under \"Pooled as "
        "independent\")."
    )


def one_group_note(data: Data) -> str:
    """What a page of one-group values (a proportion, a mean, a change in one group), one per study, says
    its pooled number is."""
    what = _what(data)
    return (f"Each row is one group's {what} ({_xlabel(data.measure)}): the pooled number is the average "
            f"{what} across the groups, not a comparison of treatments, which needs a contrast between "
            "groups (e.g. a log odds ratio or a standardised mean difference).")


# ------------------------------------------------------------------------------------------------------
# the whole site: reproduction rows, the variance pie, the factors, and the model jobs


def analysis_title(id: str) -> tuple[str, str]:
    """The docstring of ``analyses/<id>.py`` and its first line (the publication it reproduces)."""
    from ..reproduce import ANALYSES_DIR

    doc = ast.get_docstring(ast.parse((ANALYSES_DIR / f"{id}.py").read_text(encoding="utf-8"))) or id
    return doc, doc.strip().split("\n")[0].rstrip(".").replace("``", "")  # reST literals in the title


def verdict_counts(rows) -> list[tuple[str, int]]:
    """How many reproduction rows have each verdict, in the order of ``VERDICTS``."""
    from ..results.reproduce import VERDICTS

    return [(v, sum(r["verdict"] == v for r in rows)) for v in VERDICTS]


def _model_text(model: dict) -> str:
    return "; ".join(f"{k} {v}" for k, v in model.items() if v not in (None, ""))


def _sort_value(x) -> str:
    """A table cell's sort key (``data-sort``): the unrounded number, "" when there is none."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return repr(float(x))
    return ""


def row(r: dict, dataset_pages: dict) -> dict:
    """A reproduction row as the table shows it, to the digits its tolerance implies, with the unrounded
    numbers to sort by (``sort``) and the citation's short label (``cite``; the full reference is the
    page's footnote)."""
    from .figures import short_citation

    d = _digits(r["tolerance"])
    analysis = r["id"].split(":")[0]
    return {
        "anchor": slug(r["id"]),
        "page": f"analysis-{analysis}.html#{slug(r['id'])}",
        "publication": r["publication"],
        "quantity": r["quantity"],
        "dataset": r["dataset"],
        "dataset_page": dataset_pages.get(r["dataset"]),
        "published": _num(r["published"], max(d - 1, 0)),  # as printed
        "published_text": isinstance(r["published"], str),  # a finding in words, not a number
        "reproduced": _num(r["reproduced"], d),
        "difference": _num(r["difference"], d),
        "tolerance": _num(r["tolerance"], d + 1),
        "sort": {k: _sort_value(r[k]) for k in ("published", "reproduced", "difference", "tolerance")},
        "verdict": r["verdict"],
        "verdict_class": slug(r["verdict"]),
        "verified": r["verified"],
        "citation": r["citation"],
        "cite": short_citation(r["citation"], _year(r["citation"])),
        "why": r["why"],
        "model": _model_text(r["model"]),
    }


def _year(citation: str) -> str | None:
    import re

    found = re.search(r"\((\d{4})[a-z]?\)", str(citation))
    return found.group(1) if found else None


#: reproduction rows the index lists as the largest differences
LARGEST = 5


def reproduction_context(repro, dataset_pages: dict, estimates_file: str) -> dict:
    """The reproduction table (every row, :func:`row`) with its counts per verdict, and the index's
    summary of it: the :data:`LARGEST` rows that differ most from the published number, relative to it
    (``|difference| / |published|``, in percent)."""
    rows = [row(r, dataset_pages) for r in repro.rows]
    scored = []
    for r, shown in zip(repro.rows, rows, strict=True):
        diff, pub = r["difference"], r["published"]
        if r["verdict"] == "differs" and isinstance(diff, (int, float)) and isinstance(pub, (int, float)):
            rel = abs(diff) / abs(pub) if pub else math.inf
            scored.append((-rel, len(scored), {**shown, "relative": f"{number(100 * rel, 2)}%"}))
    largest = [item for _, _, item in sorted(scored, key=lambda t: (t[0], t[1]))[:LARGEST]]
    return {
        "rows": rows,
        "total": len(rows),
        "counts": verdict_counts(repro.rows),
        "largest": largest,
        "differs": sum(r["verdict"] == "differs" for r in repro.rows),
        "warnings": list(repro.warnings),
        "estimates_file": estimates_file,
    }


def pie_context(w: Writer, estimates_file: str) -> dict:
    """The variance pie beside the published pies (its figure a :class:`Drawing`), and its slices."""
    import commonfactors as cf

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        pie = cf.additive_pie()
    published = cf.published_pies()
    pies_file = w.copy(Path(data_dir(), "published", "pies.csv"), "published/pies.csv")

    def share(s):
        return {"share": number(100 * s.share, 2), "interval": _interval(s.ci_low, s.ci_high, 2, 100)}

    slices = [
        {
            "title": FACTOR_PAGES[c.factor][0],
            "page": f"factor-{c.factor}.html",
            "element": c.element,
            "sources": "; ".join(c.sources),
            **share(c),
        }
        for c in pie.components
    ]
    return {
        "level": f"{pie.level:g}",
        "method": f"additive pie, {pie.draws} draws, seed {pie.seed}",
        "figure": Drawing("pie", "variance-pie", (pie, published)),
        "slices": slices,
        "r2": share(pie.r2),
        "unexplained": share(pie.unexplained),
        "warnings": list(pie.warnings),
        "result": pie,
        "published": _pie_references(published),
        "published_file": pies_file,
        "published_file_name": "data/published/pies.csv",
        "estimates_file": estimates_file,
    }


def _pie_references(published) -> list[dict]:
    """The published pies' short labels (as the figure titles them) and full references."""
    from .figures import short_citation

    out = []
    for (source, year), _g in published.groupby(["source", "year"], sort=False):
        out.append({"label": short_citation(source, int(year)), "reference": str(source)})
    return out


def data_dir() -> Path:
    """The shipped ``data/`` folder."""
    from ..datasets import DATA_DIR

    return DATA_DIR


def factor_context(factor: str, pie: dict, dataset_pages: dict) -> dict:
    """A factor's page: its elements' estimates (their figure a :class:`Drawing`) and the pie's slice."""
    from ..factors.taxonomy import ELEMENTS, element_estimates

    title, blurb = FACTOR_PAGES[factor]
    elements = [e for e in ELEMENTS if e.factor == factor]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        results = [element_estimates(e.name) for e in elements]
    pooled = sorted({e.pooled.dataset for e in elements if e.pooled is not None})
    rows_by_element = []
    for e, res in zip(elements, results, strict=True):
        rows = []
        for est in res.estimates:
            page = dataset_pages.get(e.pooled.dataset) if est.origin == "pooled" and e.pooled else None
            rows.append(
                {
                    "label": est.label,
                    "metric": est.metric,
                    "estimate": number(est.estimate, 3),
                    "k": est.k_text or ("NA" if est.k is None else str(est.k)),
                    "n": est.n_text or ("NA" if est.n is None else str(est.n)),
                    "ci": _interval(est.ci_low, est.ci_high, 3),
                    "ci_missing": _no_interval(est),
                    "ci_short": _no_interval(est).split(":")[0].replace("no interval", "none published"),
                    "pi": _interval(est.pi_low, est.pi_high, 3),
                    "i2": number(est.i2, 1),
                    "share": number(100 * est.share, 2),
                    "checked": "pooled here" if est.origin == "pooled" else est.verified,
                    "source": est.source,
                    "year": est.year or "",
                    "page": page,
                    "where": f"model: {est.model}" if est.model else f"seen: {est.where_seen}",
                }
            )
        rows_by_element.append({"name": e.name, "description": e.description, "rows": rows})
    slice_ = next((s for s in pie["slices"] if s["page"] == f"factor-{factor}.html"), None)
    return {
        "title": title,
        "blurb": blurb,
        "slice": slice_,
        "level": pie["level"],
        "figure": Drawing("estimates", f"factor-{factor}-estimates", (results,)),
        "elements": rows_by_element,
        "estimates_file": pie["estimates_file"],
        "pooled": [{"id": p, "page": dataset_pages.get(p, "index.html")} for p in pooled],
    }


def _no_interval(est) -> str:
    """Why an element's estimate has no confidence interval ("" when it has one)."""
    if math.isfinite(est.ci_low) and math.isfinite(est.ci_high):
        return ""
    if not math.isfinite(est.estimate):
        return "no number: the source gives the estimate only in words"
    if est.origin == "pooled":
        return "no interval: the model did not give one"
    return f"no interval: none is published in the source as seen ({est.where_seen})"


#: what a model job returns when the data cannot be refitted as the analysis names it
NOT_REDRAWN = "not redrawn"


def _measure_token(text) -> str:
    """The escalc measure an analysis row names ("ZCOR (back-transformed to r)" -> "ZCOR")."""
    return str(text or "").split(" ")[0].strip()


def plan(rows: list[dict], shipped_measures: dict[str, str]) -> dict[str, list[tuple[str, str, str]]]:
    """For each dataset of an analysis, the (measure, estimator, test) specs its rows name, in order."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for r in rows:
        d = r["dataset"]
        if d in shipped_measures:
            model = r["model"]
            measure = _measure_token(model.get("measure")) or shipped_measures[d]
            spec = (measure, str(model.get("estimator") or "REML"), str(model.get("test") or "z"))
            out.setdefault(d, [])
            if spec not in out[d]:
                out[d].append(spec)
    return out


def other_models_note(specs: list[tuple[str, str, str]]) -> str:
    """What an analysis page says of the models its rows name besides the one it shows (the headline)."""
    if not specs:
        return ""
    named = "; ".join(f"{m}, {e}, {t} test" for m, e, t in specs)
    return (f"The analysis also fits {len(specs)} other model{'s' if len(specs) > 1 else ''} on these data "
            f"({named}); their numbers are in the table above, not drawn here, so that the page has one "
            "headline number.")


def _spec_key(d: str, spec: tuple[str, str, str]) -> str:
    return "-".join(slug(x) for x in (d, *spec))


def _model_job(root: str, d: str, spec: tuple[str, str, str], sensitivity: bool = False):
    """Fit one model on a shipped dataset and draw its figures from the results (:func:`model_section`), in
    a worker process; with ``sensitivity``, also its influence diagnostics, Baujat plot and cumulative
    meta-analysis.

    Returns the ``model_block`` dict with the figures' links, or :data:`NOT_REDRAWN` when the dataset's
    effect-size columns do not give ``spec``'s measure, or the estimator is not one of ``meta_analysis``'s.
    """
    from ..datasets import describe

    measure, method, test = spec
    base = data = _shipped(d)
    if measure != data.measure:
        effect = dict(describe(d).effect)
        effect.pop("measure")
        if "yi" in effect:
            return NOT_REDRAWN
        try:
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                data = prepare(base.frame, measure=measure, columns=effect)
            data.info, data.cluster = base.info, base.cluster
        except InputError:  # the measure needs other columns (e.g. one arm's counts)
            return NOT_REDRAWN
    import commonfactors as cf

    if method.upper() not in cf.METHODS:  # e.g. a three-level model's "REML (three-level)"
        return NOT_REDRAWN
    title = f"Random-effects model ({measure}, {method}, {test} test)"
    if data.arms:
        title = (f"Average over treatment arms, not a treatment effect ({measure}, three-level: arms nested "
                 f"in studies, {'ML' if method.upper() == 'ML' else 'REML'}, CR2 t tests)")
    elif data.cluster is not None:
        title = f"Three-level model ({measure}, {'ML' if method.upper() == 'ML' else 'REML'}, CR2 t tests)"
    elif method in ("FE", "EE", "CE"):
        title = f"Common-effect model ({measure}, {test} test)"
    try:
        return model_section(Writer(Path(root), with_env=False), data, key=_spec_key(d, spec), title=title,
                             method=method, test=test, note=nesting_note(data), sensitivity=sensitivity)
    except ValueError as e:
        if isinstance(e, InputError):
            raise
        return NOT_REDRAWN


def pool(workers: int):
    """A process pool for the model jobs (fork: the workers inherit the imported modules), or None.
    The workers ignore SIGINT (:func:`_worker_signals`)."""
    import concurrent.futures
    import multiprocessing

    if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    import commonfactors as cf

    preload()  # what drawing needs, imported once here and inherited by the workers
    cf.bias_tests  # noqa: B018  (the lazy export imports the models)
    return concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                                  initializer=_worker_signals)


def _worker_signals() -> None:
    """In a worker: Ctrl-C (sent to the whole process group) is left to the parent, which cancels the
    jobs and reports it once; SIGTERM ends the worker (not the parent's handler, inherited by fork)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Jobs:
    """Model jobs, in worker processes when a pool is given, else run when their result is asked for."""

    def __init__(self, root: Path, pool):
        self.root, self.pool, self.futures, self.sensitivity = str(root), pool, {}, {}

    def submit(self, d: str, spec: tuple[str, str, str], sensitivity: bool = False) -> None:
        """Queue a model job; the first submission of ``(d, spec)`` decides whether it has ``sensitivity``."""
        if (d, spec) not in self.futures:
            self.sensitivity[(d, spec)] = sensitivity
            self.futures[(d, spec)] = (
                self.pool.submit(_model_job, self.root, d, spec, sensitivity) if self.pool else None
            )

    def result(self, d: str, spec: tuple[str, str, str]):
        self.submit(d, spec)
        future = self.futures[(d, spec)]
        if future is None:
            job = _model_job(self.root, d, spec, self.sensitivity[(d, spec)])
            future = self.futures[(d, spec)] = _Done(job)
        return future.result()


@dataclass
class _Done:
    value: object

    def result(self):
        return self.value


def not_redrawn_note(spec: tuple[str, str, str]) -> str:
    """Why the dataset's default model stands in for the model ``spec`` of an analysis."""
    measure, method, test = spec
    return (
        f"The analysis pools {measure} with estimator {method!r} and a {test} test, which cannot be refitted "
        "from the dataset's effect-size columns as a univariate model (another measure's columns, or a "
        "multilevel model); its numbers are in the table above. Shown here: the dataset's default model, "
        "as on the dataset page."
    )
