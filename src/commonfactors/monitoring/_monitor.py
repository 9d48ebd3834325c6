"""``monitor()``: routine outcome monitoring of session-by-session scores (see the package docstring)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import _checks
from ..errors import CommonFactorsWarning, DroppedRowsWarning, InputError
from ..models._notes import Notes
from . import rci, trajectories
from .instruments import GIVEN, Instrument
from .instruments import instrument as make_instrument

#: what the text, the JSON and the docs say about the expected curves
CURVES_NOTE = ("Expected curves are fitted from these data (score ~ intake * log(session) + "
               "(1 + log(session) | client), REML); they are not the proprietary OQ-Analyst or Better "
               "Outcomes Now algorithms. Each bound is conditional on intake and the client's earlier "
               "scores and includes the fixed effects' sampling variance.")


def _as_table(data):
    if isinstance(data, Mapping) and not hasattr(data, "columns"):
        import pandas as pd

        return pd.DataFrame(dict(data))
    return data


def _labels(levels: np.ndarray) -> list:
    """The user's label of each code, as Python values (numbers written as integers when whole)."""
    out = []
    for lv in levels:
        v = lv.item() if hasattr(lv, "item") else lv
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append(v)
    return out


def monitor(data, client: str, session: str, score: str, therapist: str | None = None,
            instrument: str | Instrument | None = None, higher_is_better: bool | None = None,
            reliability: float | None = None, sd: float | None = None, rc_change: float | None = None,
            cutoff=None, functional_mean: float | None = None, functional_sd: float | None = None,
            early_session: int = 4, alpha: float = 0.10, critical: float = rci.CRITICAL):
    """Routine outcome monitoring: reliable and clinically significant change per client (Jacobson & Truax
    1991), early response, and not-on-track flags against expected curves fitted from the data.

    Parameters
    ----------
    data : DataFrame or mapping of columns
        One row per client and session (long format).
    client, session, score : str
        Columns: client ID, session number (1 = the first session; any numbers >= 1, in order of time),
        and the instrument's score. Rows with a missing session or score are left out with a warning.
    therapist : str, optional
        Column of therapist IDs: adds counts per therapist. A client seen by two therapists is an error.
    instrument : {"ORS", "SRS", "OQ45", "PHQ9", "custom"} or Instrument, optional
        A preset (range, direction, cutoff, reliable-change value, each with its source and status; see
        :mod:`commonfactors.monitoring.instruments`); "custom" or None uses the values given here only.
    higher_is_better : bool, optional
        Direction of the scale (required for a custom instrument; overrides a preset's).
    reliability, sd : float, optional
        Reliable change by Jacobson & Truax: S_diff = sqrt(2) sd sqrt(1 - reliability). Without ``sd``,
        the SD of the intake scores in these data is used (J&T's pretest SD of the sample).
    rc_change : float, optional
        The reliable-change value in score points (overrides the preset's).
    cutoff : float or {"a", "b", "c"}, optional
        Clinical cutoff (overrides the preset's); "a" = intake mean -/+ 2 intake SD of these data, "b" and
        "c" from the functional norms (``functional_mean``, ``functional_sd``) and the intake scores as the
        clinical sample. With functional norms and no cutoff, "c".
    early_session : int
        Early response by rule: a reliable improvement from intake at a session <= ``early_session`` (4, as
        Beard & Delgadillo 2019 found most studies define it).
    alpha : float
        Not-on-track: a score worse than the one-sided (1 - alpha) prediction bound (0.10).
    critical : float
        Critical value of the reliable change index (1.96).

    Returns
    -------
    MonitorResult
        ``clients`` (one row per client: client, therapist, n_sessions, first_session, last_session, intake,
        last, change, rc, reliable_change, category, clinical_at_intake, early_responder, early_residual,
        flagged, first_flagged_session), ``sessions`` (one row per score after intake: client, session,
        score, expected, sd, bound, off_track, deteriorated, flag), category counts, flag and early-response
        rates, per-therapist counts, the fitted curves.

    Raises
    ------
    InputError
        A missing column, a value that is not a number, a score outside the instrument's range, a session
        number below 1, a duplicate (client, session), a client under two therapists, bad parameters.
    """
    from ..results.monitoring import MonitorResult

    ins = make_instrument(instrument, higher_is_better=higher_is_better,
                          rc_change=None if (sd is not None or reliability is not None) else rc_change,
                          cutoff=cutoff if isinstance(cutoff, (int, float)) else None)
    if ins.higher_is_better.value is None:
        raise InputError("the scale's direction is unknown", expected="higher_is_better=True or False")
    hib = bool(ins.higher_is_better.value)
    early_session = _whole(early_session, "early_session", "a session number >= 2")
    alpha = float(alpha)
    if not 0.0 < alpha < 0.5:
        raise InputError(f"alpha is {alpha:g}", expected="a one-sided error rate in (0, 0.5), such as 0.10")

    data = _as_table(data)
    source = _checks.source_of(data)
    for col, role in ((client, "client"), (session, "session"), (score, "score"),
                      *(((therapist, "therapist"),) if therapist is not None else ())):
        _checks.require_column(data, col, role=role)
    y, _ = _checks.numeric(data, score, name="score")
    n0 = y.shape[0]
    if n0 == 0:
        raise InputError("no rows", file=source, expected="one row per client and session")
    rows = _checks.row_labels(data, n0)
    s, _ = _checks.numeric(data, session, name="session", n=n0)
    ccodes, clevels, _ = _checks.group_codes(data, client, name="client", n=n0)
    _checks.check_range(s, column=session, rows=rows, source=source, low=1.0,
                        expected="a session number >= 1 (the first session is 1)")
    low, high = ins.low.value, ins.high.value
    _checks.check_range(y, column=score, rows=rows, source=source,
                        low=None if math.isinf(low) else low, high=None if math.isinf(high) else high,
                        expected=f"a score in [{low:g}, {high:g}] ({ins.name})" if ins.name != "custom"
                        else "a finite score")
    notes = Notes()
    missing = np.isnan(y) | np.isnan(s) | (ccodes < 0)
    if therapist is not None:
        tcodes, tlevels, _ = _checks.group_codes(data, therapist, name="therapist", n=n0)
        missing |= tcodes < 0
    if missing.any():
        dropped = list(rows[missing])
        notes.add(f"{len(dropped)} row{'s' if len(dropped) > 1 else ''} with a missing client, "
                  f"{'therapist, ' if therapist is not None else ''}session or score omitted "
                  f"({_checks.format_rows(dropped)})", DroppedRowsWarning)
    keep = np.flatnonzero(~missing)
    if keep.size == 0:
        raise InputError("no row has a client, session and score", file=source,
                         expected="at least one complete row")
    order = keep[np.lexsort((s[keep], ccodes[keep]))]
    c, ss, yy = ccodes[order], s[order], y[order]
    dup = np.flatnonzero((c[1:] == c[:-1]) & (ss[1:] == ss[:-1]))
    if dup.size:
        i = dup[0]
        first, second = sorted((order[i], order[i + 1]))
        raise InputError(f"client {_labels(clevels[[c[i]]])[0]!r} has a second score for session "
                         f"{ss[i]:g} (the first is at {_checks.format_rows([rows[first]])})", file=source,
                         row=rows[second], column=session, expected="one row per client and session")
    tc = None
    if therapist is not None:
        tc = tcodes[order]
        two = np.flatnonzero((c[1:] == c[:-1]) & (tc[1:] != tc[:-1]))
        if two.size:
            i = two[0]
            name = _labels(clevels[[c[i]]])[0]
            ta, tb = _labels(tlevels[[tc[i], tc[i + 1]]])
            raise InputError(f"client {name!r} is seen by therapist {ta!r} and by therapist {tb!r}",
                             file=source, row=rows[order[i + 1]], column=therapist,
                             expected="one therapist per client")

    # clients: contiguous blocks of the sorted rows
    starts = np.concatenate(([0], np.flatnonzero(c[1:] != c[:-1]) + 1))
    sizes = np.diff(np.concatenate((starts, [c.shape[0]])))
    ends = starts + sizes - 1
    client_of_row = np.repeat(np.arange(starts.shape[0]), sizes)
    intake_of_row = yy[starts][client_of_row]
    intake_session = ss[starts]
    m = starts.shape[0]

    # reliable-change parameters: from sd and reliability (sd defaults to the intake SD), or in points
    rc_info = {"critical": float(critical)}
    multi = sizes >= 2
    if reliability is not None and rc_change is not None:
        raise InputError("both rc_change and reliability were given",
                         expected="either the reliable-change value in points (rc_change) or reliability "
                                  "and sd")
    if reliability is not None:
        if sd is None:
            if m < 2:
                raise InputError("the intake SD needs at least two clients", expected="sd= the pretest SD")
            sd_used = float(np.std(yy[starts], ddof=1))
            sd_source = "the SD of the intake scores in these data"
        else:
            sd_used, sd_source = float(sd), "given"
        se, s_diff, threshold = rci.rc_parameters(sd=sd_used, reliability=reliability, critical=critical)
        rc_info.update(method="Jacobson-Truax", sd=sd_used, sd_source=sd_source,
                       reliability=float(reliability), se_measurement=se, s_diff=s_diff,
                       rc_change=threshold, source="given")
        rc_kw = {"sd": sd_used, "reliability": reliability}
    elif sd is not None:
        raise InputError("sd was given without reliability", expected="reliability with sd, or rc_change")
    else:
        value = ins.rc_change.value
        if value is None:
            what = "this instrument" if ins.name == "custom" else ins.name
            raise InputError(f"{what} has no reliable-change value",
                             expected="rc_change (score points), or reliability (and sd)")
        se, s_diff, threshold = rci.rc_parameters(rc_change=value, critical=critical)
        rc_info.update(method="points", rc_change=threshold, s_diff=s_diff, source=ins.rc_change.source,
                       status=ins.rc_change.status, checked=ins.rc_change.checked)
        rc_kw = {"rc_change": value}

    # the cutoff
    cut_value, cut_info = _cutoff(cutoff, ins, yy[starts], hib, functional_mean, functional_sd)

    # per client: intake -> last
    last = yy[ends]
    change = rci.reliable_change(yy[starts], last, critical=critical, higher_is_better=hib, **rc_kw)
    cats = rci.categories(yy[starts], last, change, cut_value, clinical_at_cutoff=ins.clinical_at_cutoff)
    cats = np.where(multi, cats, None)
    clin = np.full(m, None)
    if cut_value is not None:
        clin = rci.clinical(yy[starts], cut_value, higher_is_better=hib,
                            clinical_at_cutoff=ins.clinical_at_cutoff)

    # per score after intake: reliable deterioration from intake, prediction bound
    post = np.ones(c.shape[0], dtype=bool)
    post[starts] = False
    pidx = np.flatnonzero(post)
    step = rci.reliable_change(intake_of_row[pidx], yy[pidx], critical=critical, higher_is_better=hib,
                               **rc_kw)
    step_dir = np.atleast_1d(np.asarray(step.direction, dtype=object))
    deteriorated = step_dir == rci.DETERIORATED
    improved = step_dir == rci.IMPROVED
    model, why = _curve_model(intake_of_row[pidx], ss[pidx], yy[pidx], client_of_row[pidx], notes)
    if model is not None:
        pred = trajectories.predict(model, intake_of_row[pidx], ss[pidx], yy[pidx], client_of_row[pidx],
                                    alpha=alpha, higher_is_better=hib)
        expected, psd, bound, off, population = (pred.expected, pred.sd, pred.bound, pred.off_track,
                                                 pred.population)
    else:
        notes.add(f"expected curves not fitted ({why}); not-on-track flags from reliable deterioration only",
                  CommonFactorsWarning)
        nan = np.full(pidx.shape[0], np.nan)
        expected, psd, bound, population = nan, nan, nan, nan
        off = np.zeros(pidx.shape[0], dtype=bool)
    flag = off | deteriorated

    # per client: flags, early response
    pc = client_of_row[pidx]
    flagged = np.zeros(m, dtype=bool)
    np.logical_or.at(flagged, pc, flag)
    first_flag = np.full(m, np.inf)
    np.minimum.at(first_flag, pc[flag], ss[pidx][flag])
    first_flag[np.isinf(first_flag)] = np.nan
    early_rows = ss[pidx] <= early_session
    assessed = np.zeros(m, dtype=bool)
    np.logical_or.at(assessed, pc, early_rows)
    responder = np.zeros(m, dtype=bool)
    np.logical_or.at(responder, pc, early_rows & improved)
    sign = 1.0 if hib else -1.0
    early_resid = np.full(m, np.nan)
    latest = np.full(m, -1)
    er = np.flatnonzero(early_rows)
    np.maximum.at(latest, pc[er], er)  # rows are in session order within a client: the latest early score
    has = latest >= 0
    early_resid[has] = sign * (yy[pidx][latest[has]] - population[latest[has]])

    cl = _labels(clevels)
    client_labels = [cl[k] for k in c[starts]]
    th_labels = None
    if tc is not None:
        tl = _labels(tlevels)
        th_labels = [tl[k] for k in tc[starts]]
    def masked(values, keep):  # floats where ``keep``, None elsewhere and for NaN
        return [v if k and v == v else None for v, k in zip(np.asarray(values, float).tolist(), keep.tolist(),
                                                            strict=True)]

    def flags(values, keep):
        return [bool(v) if k else None
                for v, k in zip(np.asarray(values).tolist(), keep.tolist(), strict=True)]

    integral = bool(np.all(ss == np.round(ss)))  # session numbers written as integers when all are

    def whole(v):
        return int(v) if integral else v

    def as_session(values):
        return values.astype(np.int64).tolist() if integral else values.tolist()

    everyone = np.ones(m, dtype=bool)
    columns = {
        "client": client_labels, "therapist": th_labels, "n_sessions": sizes.tolist(),
        "first_session": as_session(intake_session), "last_session": as_session(ss[ends]),
        "intake": yy[starts].tolist(), "last": masked(last, multi),
        "change": masked(np.atleast_1d(change.change), multi), "rc": masked(np.atleast_1d(change.rc), multi),
        "reliable_change": [str(v) if k else None for v, k in zip(np.atleast_1d(change.direction).tolist(),
                                                                  multi.tolist(), strict=True)],
        "category": cats.tolist(),
        "clinical_at_intake": flags(clin, np.array([v is not None for v in clin.tolist()])),
        "early_responder": flags(responder, assessed), "early_residual": masked(early_resid, assessed),
        "flagged": flags(flagged, multi),
        "first_flagged_session": [None if v is None else whole(v) for v in masked(first_flag, everyone)],
    }
    columns = {k: v for k, v in columns.items() if v is not None}
    client_of_post = client_of_row[pidx]
    post_all = np.ones(pidx.shape[0], dtype=bool)
    sessions = _columns({
        "client": [client_labels[j] for j in client_of_post.tolist()],
        "therapist": None if th_labels is None else [th_labels[j] for j in client_of_post.tolist()],
        "session": as_session(ss[pidx]), "score": yy[pidx].tolist(), "expected": masked(expected, post_all),
        "sd": masked(psd, post_all), "bound": masked(bound, post_all),
        "off_track": flags(off, post_all & (model is not None)), "deteriorated": deteriorated.tolist(),
        "flag": flag.tolist()})
    single = [client_labels[j] for j in np.flatnonzero(~multi)]
    if single:
        notes.add(f"{len(single)} client{'s' if len(single) > 1 else ''} with one session: no change "
                  "category (categories need two sessions)", DroppedRowsWarning)
    counts = {k: int(np.sum(cats[multi] == k)) for k in _category_names(cut_value)}
    n_multi = int(multi.sum())
    flag_summary = {
        "n_clients": n_multi, "n_flagged": int(flagged[multi].sum()),
        "rate": float(flagged[multi].mean()) if n_multi else None,
        "flagged_outcomes": {k: int(np.sum(cats[multi & flagged] == k)) for k in counts},
        "not_flagged_outcomes": {k: int(np.sum(cats[multi & ~flagged] == k)) for k in counts},
        "n_scores": int(pidx.shape[0]), "n_scores_flagged": int(flag.sum()),
        "n_off_track": int(off.sum()), "n_deteriorated": int(deteriorated.sum()),
    }
    n_assessed = int(assessed.sum())
    early = {"session": early_session, "n_assessed": n_assessed,
             "n_responders": int(responder[assessed].sum()),
             "rate": float(responder[assessed].mean()) if n_assessed else None,
             "mean_residual": (float(np.nanmean(early_resid[assessed]))
                               if n_assessed and model is not None else None)}
    therapists = None
    if tc is not None:
        therapists = _per_therapist(_records(columns), counts)
    return MonitorResult(
        instrument=ins.to_dict(), higher_is_better=hib, reliable_change=rc_info, cutoff=cut_info,
        n_clients=m, n_rows=int(c.shape[0]), n_single_session=len(single), single_session=tuple(single),
        counts=counts, early=early, flags=flag_summary, alpha=alpha,
        client_table=columns, session_table=sessions,
        therapists=None if therapists is None else tuple(therapists),
        curves=None if model is None else model.to_dict(), curves_note=CURVES_NOTE, warnings=notes())


def _records(columns: dict) -> list[dict]:
    """One dict per row from equal-length column lists; a column that is None is left out."""
    names = [k for k, v in columns.items() if v is not None]
    return [dict(zip(names, row, strict=True)) for row in zip(*(columns[k] for k in names), strict=True)]


def _columns(columns: dict) -> dict:
    """The columns that are not None."""
    return {k: v for k, v in columns.items() if v is not None}


def _f(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _whole(x, name, expected) -> int:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(f"{name} is {x!r}", expected=expected) from None
    if not (math.isfinite(v) and v == int(v) and v >= 2):
        raise InputError(f"{name} is {v:g}", expected=expected)
    return int(v)


def _category_names(cut) -> tuple[str, ...]:
    if cut is None:
        return (rci.IMPROVED, rci.UNCHANGED, rci.DETERIORATED)
    return rci.CATEGORIES


def _cutoff(cutoff, ins: Instrument, intake: np.ndarray, hib: bool, functional_mean, functional_sd):
    """(value or None, description) of the clinical cutoff used."""
    info = {"clinical_at_cutoff": ins.clinical_at_cutoff}
    if cutoff is None and functional_mean is not None:
        cutoff = "c"
    if isinstance(cutoff, str):
        kind = cutoff.lower()
        if kind not in ("a", "b", "c"):
            raise InputError(f"cutoff is {cutoff!r}",
                             expected="a number, or 'a', 'b' or 'c' (Jacobson & Truax)")
        if intake.shape[0] < 2:
            raise InputError("Jacobson & Truax's cutoffs need the intake SD of at least two clients",
                             expected="a numeric cutoff")
        m1, s1 = float(np.mean(intake)), float(np.std(intake, ddof=1))
        cuts = rci.clinical_cutoffs(m1, s1, functional_mean, functional_sd, higher_is_better=hib)
        value = getattr(cuts, kind)
        if value is None:
            raise InputError(f"cutoff {kind!r} needs the functional population's norms",
                             expected="functional_mean and functional_sd (--functional-mean, "
                                      "--functional-sd)")
        info.update(value=float(value), kind=kind, clinical_mean=m1, clinical_sd=s1,
                    functional_mean=None if functional_mean is None else float(functional_mean),
                    functional_sd=None if functional_sd is None else float(functional_sd),
                    source=f"Jacobson & Truax (1991) cutoff {kind}: the intake scores of these data as the "
                           "clinical sample" + ("" if kind == "a" else ", the functional norms given"),
                    status="from data")
        return float(value), info
    if cutoff is not None:
        info.update(value=float(cutoff), kind="given", source="given", status=GIVEN)
        return float(cutoff), info
    if ins.cutoff.value is None:
        info.update(value=None, kind=None, source="none: categories without recovery", status=None)
        return None, info
    info.update(value=float(ins.cutoff.value), kind="instrument", source=ins.cutoff.source,
                status=ins.cutoff.status, checked=ins.cutoff.checked)
    return float(ins.cutoff.value), info


def _curve_model(intake, session, score, client, notes: Notes):
    """The fitted expected-change model, or (None, why) when the data cannot identify it."""
    codes, cl = np.unique(client, return_inverse=True)
    per = np.bincount(cl)
    if np.unique(session).shape[0] < 2:
        return None, "the scores after intake are all at one session"
    if np.sum(per >= 2) < 2:
        return None, "fewer than two clients with two scores after intake"
    if np.unique(intake).shape[0] < 2:
        return None, "every client has the same intake score"
    if score.shape[0] < 8:
        return None, "fewer than 8 scores after intake"
    model = notes.run("expected curves", trajectories.fit_curves, intake, session, score, cl)
    return model, None


def _per_therapist(clients: list[dict], counts: dict) -> list[dict]:
    out: dict = {}
    for r in clients:
        t = out.setdefault(r["therapist"], {"therapist": r["therapist"], "n_clients": 0, "n_categorised": 0,
                                            **dict.fromkeys(counts, 0), "n_flagged": 0,
                                            "n_early_responders": 0, "n_early_assessed": 0})
        t["n_clients"] += 1
        if r["category"] is not None:
            t["n_categorised"] += 1
            t[r["category"]] += 1
        t["n_flagged"] += bool(r["flagged"])
        if r["early_responder"] is not None:
            t["n_early_assessed"] += 1
            t["n_early_responders"] += r["early_responder"]
    return [out[k] for k in sorted(out, key=lambda v: (str(type(v)), v))]
