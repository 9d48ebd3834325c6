"""The data of a network meta-analysis: arm-level or contrast-level rows checked once, turned into each
trial's contrasts against one of its arms with their within-trial covariance matrix.

Arm-level data (one row per trial arm) give each trial's contrasts "treatment t vs the base arm b" with the
escalc formulas of :mod:`commonfactors.effects.measures`; the base arm is the reference treatment when the
trial has it, else the trial's first arm in the file. Contrasts of a multi-arm trial share the base arm, so
their covariance is the variance of the base arm's part of the contrast:

- log odds ratio: 1/a_b + 1/c_b (events and non-events of the base arm, after ``add``);
- log risk ratio: 1/a_b - 1/n_b;  risk difference: p_b (1 - p_b) / n_b;
- mean difference: sd_b^2 / n_b;
- standardized mean difference (Hedges' g of each pair, as escalc): 1/n_b + g_t g_u / (2 N), N the trial's
  total sample size (Gleser, L. J., & Olkin, I. (2009). Stochastically dependent effect sizes. In Cooper,
  Hedges & Valentine (Eds.), The Handbook of Research Synthesis and Meta-Analysis (2nd ed.), ch. 19,
  eq. 19.19; metafor's documented analysis of ``dat.gleser2009``).

These are the matrices of metafor's documented network analyses (``dat.hasselblad1998``, ``dat.senn2013``,
``dat.gleser2009``). Zero cells: ``add`` goes to every cell of every arm of a trial that has a zero cell
(``to="only0"``), of every trial (``"all"``), of every trial when any has a zero cell (``"if0all"``), or to
none (``"none"``): a trial's arms are corrected together, so its contrasts share one base arm.

Contrast-level data (one row per comparison: study, treat1, treat2, yi = treat1 vs treat2, vi) take a
two-arm trial's row as it is. A multi-arm trial must give every pair of its arms; the variances of its
contrasts are split into arm parts s by least squares (v_jk = s_j + s_k, exact with three arms), the
covariance of two contrasts with the same base arm being s_b (Rücker, G. (2012). Network meta-analysis,
electrical networks and graph theory. Res. Synth. Methods, 3(4), 312-324), and its effects must be
consistent within the trial (y_jk = y_jb - y_kb).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._checks import (
    as_table,
    format_rows,
    group_codes,
    label,
    numeric,
    require_column,
    row_labels,
    source_of,
)
from ..errors import DroppedRowsWarning, InputError

#: arm-level measures and the arm columns they need
ARM_MEASURES = {"OR": ("events", "n"), "RR": ("events", "n"), "RD": ("events", "n"),
                "MD": ("mean", "sd", "n"), "SMD": ("mean", "sd", "n")}
TO = ("only0", "all", "if0all", "none")


@dataclass(frozen=True)
class Contrasts:
    """The trials' contrasts, grouped by their number ``d`` of contrasts (arms - 1).

    ``treatments`` are the labels (index = code); ``studies`` the trial labels in order; for each d in
    ``groups``: ``study`` (m,) trial indices, ``y`` (m, d), ``V`` (m, d, d), ``treat`` (m, d) the treatment
    of each contrast, ``base`` (m,) the base arm's treatment. ``arms`` (trial index, treatment, n) for the
    network graph (n NaN for contrast-level data)."""

    treatments: tuple[str, ...]
    studies: tuple[str, ...]
    groups: dict
    arms: tuple
    n_rows: int






def prepare(data, *, study, treatment, events, n, mean, sd, yi, vi, treat1, treat2, measure, add, to, notes):
    """Check the table once and return its :class:`Contrasts` and the measure."""
    frame = as_table(data, rows="trial arm or contrast")
    source = source_of(frame)
    k0 = len(frame)
    if k0 == 0:
        raise InputError("the table has no rows", file=source, expected="one row per trial arm or contrast")
    contrast_level = yi is not None or vi is not None or treat1 is not None or treat2 is not None
    if contrast_level:
        given = [name for name, v in (("treatment", treatment), ("events", events), ("n", n), ("mean", mean),
                                      ("sd", sd)) if v is not None]
        if given or None in (yi, vi, treat1, treat2):
            raise InputError("contrast-level data need yi, vi, treat1 and treat2 (and study), and no arm "
                             f"columns (got {', '.join(given) or 'an incomplete set'})",
                             expected="yi=, vi=, treat1=, treat2= or arm-level columns, not both")
        for name, col in (("study", study), ("yi", yi), ("vi", vi), ("treat1", treat1), ("treat2", treat2)):
            _column_name(frame, name, col)
        return _contrast_level(frame, source, study, yi, vi, treat1, treat2, notes), measure
    if measure is None:
        raise InputError("no measure was given", expected="measure= one of " + ", ".join(ARM_MEASURES))
    m = str(measure).upper()
    if m not in ARM_MEASURES:
        raise InputError(f"measure={measure!r}", expected="one of " + ", ".join(ARM_MEASURES) +
                         " for arm-level data")
    if to not in TO:
        raise InputError(f"to={to!r}", expected="one of " + ", ".join(map(repr, TO)))
    if isinstance(add, bool) or not isinstance(add, (int, float)) or not math.isfinite(add) or add < 0:
        raise InputError(f"add={add!r}", expected="a number >= 0")
    cols = {"events": events, "n": n, "mean": mean, "sd": sd}
    need = ARM_MEASURES[m]
    missing = [c for c in need if cols[c] is None]
    extra = [c for c in cols if c not in need and cols[c] is not None]
    if missing or extra:
        what = f"needs {', '.join(missing)}" if missing else f"takes no {', '.join(extra)}"
        raise InputError(f"measure {m} {what}", expected=f"the columns {', '.join(need)} of each arm")
    for name, col in (("study", study), ("treatment", treatment), *((c, cols[c]) for c in need)):
        _column_name(frame, name, col)
    return _arm_level(frame, source, m, study, treatment, {c: cols[c] for c in need}, add, to, notes), m


def _column_name(frame, name, col):
    if col is None:
        raise InputError(f"no {name} column was given", expected=f"{name}= the name of the {name} column")
    if not isinstance(col, str):
        raise InputError(f"{name}={col!r}", expected=f"the name of the {name} column")
    require_column(frame, col, role=name)


def _codes(frame, col, name, k):
    codes, levels, _ = group_codes(frame, col, name=name, n=k)
    return codes, [str(label(v)) for v in levels]


def _arm_level(frame, source, m, study, treatment, cols, add, to, notes):
    k = len(frame)
    rows = row_labels(frame, k)
    s_codes, s_levels = _codes(frame, study, "study", k)
    t_codes, t_levels = _codes(frame, treatment, "treatment", k)
    values = {}
    miss = (s_codes < 0) | (t_codes < 0)
    for c, col in cols.items():
        x, _ = numeric(frame, col, name=c)
        bad = np.flatnonzero(np.isinf(x))
        if bad.size:
            raise InputError(f"got {x[bad[0]]}", file=source, row=rows[bad[0]], column=col,
                             expected="a finite number")
        values[c] = x
        miss |= np.isnan(x)
    _check_arm_values(values, cols, rows, source)
    if miss.any():
        notes.add(f"{int(miss.sum())} arm{'s' if miss.sum() > 1 else ''} with a missing value omitted "
                  f"({format_rows(rows[miss])})", DroppedRowsWarning)
    use = np.flatnonzero(~miss)
    trials = _trials(use, s_codes, t_codes, s_levels, t_levels, rows, source, study, treatment)
    # the base arm of each trial is chosen later, once the reference is known
    return _ArmTable(m, trials, values, t_codes, t_levels, s_levels, add, to, rows, source)


def _check_arm_values(values, cols, rows, source):
    """Counts and sizes as escalc accepts them (not necessarily whole: imputed counts are fractional)."""

    def first_bad(mask, col, expected):
        bad = np.flatnonzero(mask)
        if bad.size:
            i = bad[0]
            raise InputError(f"got {values[col][i]:g}", file=source, row=rows[i], column=cols[col],
                             expected=expected)

    with np.errstate(invalid="ignore"):
        n = values["n"]
        first_bad(n <= 0, "n", "a number of participants > 0")
        if "events" in values:
            e = values["events"]
            first_bad(e < 0, "events", "a number of events >= 0")
            bad = np.flatnonzero(e > n)
            if bad.size:
                i = bad[0]
                raise InputError(f"{e[i]:g} events among {n[i]:g} participants", file=source, row=rows[i],
                                 column=cols["events"], expected="events <= n")
        if "sd" in values:
            first_bad(values["sd"] <= 0, "sd", "a standard deviation > 0")
            first_bad(n <= 1, "n", "more than 1 participant in an arm with a mean and SD")


def _by_trial(use, s_codes) -> list[np.ndarray]:
    """The rows ``use`` grouped by trial: an index array per trial, by trial code, rows in file order."""
    if use.size == 0:
        return []
    order = use[np.argsort(s_codes[use], kind="stable")]
    sc = s_codes[order]
    return np.split(order, np.flatnonzero(sc[1:] != sc[:-1]) + 1)


def _trials(use, s_codes, t_codes, s_levels, t_levels, rows, source, study, treatment):
    """Rows of each trial in file order: a list of (trial code, row indices); a treatment twice in a trial,
    or a trial with a single arm, is an InputError."""
    trials = []
    for idx in _by_trial(use, s_codes):
        study_label = s_levels[s_codes[idx[0]]]
        tc = t_codes[idx]
        if np.unique(tc).shape[0] < tc.shape[0]:
            u, first, counts = np.unique(tc, return_index=True, return_counts=True)
            t = u[counts > 1][0]
            both = idx[tc == t]
            raise InputError(f"study {study_label!r} has two arms of treatment {t_levels[t]!r} "
                             f"({format_rows(rows[both])})", file=source, row=rows[both[1]], column=treatment,
                             expected="one row per arm and distinct treatments within a trial (combine arms "
                                      "of the same treatment first)")
        if idx.shape[0] < 2:
            raise InputError(f"study {study_label!r} has a single arm ({t_levels[tc[0]]!r})", file=source,
                             row=rows[idx[0]], column=study,
                             expected="trials comparing two treatments or more")
        trials.append((int(s_codes[idx[0]]), idx))
    if not trials:
        raise InputError("no trial has complete data", file=source, expected="one row per trial arm")
    return trials


class _ArmTable:
    """Arm-level trials waiting for the reference treatment, which decides each trial's base arm."""

    def __init__(self, measure, trials, values, t_codes, t_levels, s_levels, add, to, rows, source):
        self.measure, self.trials, self.values, self.t_codes = measure, trials, values, t_codes
        self.source = source
        self.t_levels, self.s_levels, self.add, self.to, self.rows = t_levels, s_levels, add, to, rows

    def contrasts(self, ref: int) -> Contrasts:
        from ..effects.measures import MEASURES

        m, v = self.measure, self.values
        binary = "events" in v
        if binary:
            e, n = v["events"], v["n"]
            zero = (e == 0) | (e == n)
            trial_zero = np.array([bool(zero[idx].any()) for _, idx in self.trials])
            if self.to == "all":
                adds = np.ones(len(self.trials), bool)
            elif self.to == "if0all":
                adds = np.full(len(self.trials), bool(trial_zero.any()))
            elif self.to == "only0":
                adds = trial_zero
            else:
                adds = np.zeros(len(self.trials), bool)
        per_d: dict[int, list] = {}
        arms = []
        for i, (s, idx) in enumerate(self.trials):
            tc = self.t_codes[idx]
            b = int(np.flatnonzero(tc == ref)[0]) if (tc == ref).any() else 0
            others = [j for j in range(idx.shape[0]) if j != b]
            ib, io = idx[b], idx[others]
            if binary:
                extra = self.add if adds[i] else 0.0
                a, c = e[idx] + extra, n[idx] - e[idx] + extra  # this trial's arms
                fn = MEASURES[m].function
                with np.errstate(divide="ignore", invalid="ignore"):
                    y, var = fn(a[others], c[others], np.full(len(others), a[b]), np.full(len(others), c[b]))
                    ab, cb = a[b], c[b]
                    if m == "OR":
                        cov = 1.0 / ab + 1.0 / cb
                    elif m == "RR":
                        cov = 1.0 / ab - 1.0 / (ab + cb)
                    else:
                        pb = ab / (ab + cb)
                        cov = pb * (1.0 - pb) / (ab + cb)
                V = np.full((io.shape[0], io.shape[0]), cov)
            else:
                mu, sd, nn = v["mean"], v["sd"], v["n"]
                fn = MEASURES[m].function
                k_o = io.shape[0]
                y, var = fn(mu[io], sd[io], nn[io], np.full(k_o, mu[ib]), np.full(k_o, sd[ib]),
                            np.full(k_o, nn[ib]))
                if m == "MD":
                    V = np.full((io.shape[0], io.shape[0]), sd[ib] ** 2 / nn[ib])
                else:  # Gleser & Olkin (2009), eq. 19.19
                    V = 1.0 / nn[ib] + np.outer(y, y) / (2.0 * nn[idx].sum())
            V = np.array(V, dtype=float)
            V[np.diag_indices_from(V)] = var
            if not (np.all(np.isfinite(y)) and np.all(np.isfinite(V)) and np.all(np.diag(V) > 0)):
                raise InputError(f"study {self.s_levels[s]!r}: the {m} of its arms is undefined"
                                 + (" (zero cells without add)" if binary else ""), file=self.source,
                                 row=self.rows[idx[0]],
                                 expected="add > 0 (to='only0') for trials with a zero cell" if binary
                                 else "arms whose effect and sampling variance are defined")
            per_d.setdefault(y.shape[0], []).append((i, y, V, tc[others], tc[b]))
            arms += [(i, int(tc[j]), float(v["n"][idx[j]])) for j in range(idx.shape[0])]
        return Contrasts(tuple(self.t_levels), tuple(self.s_levels[s] for s, _ in self.trials),
                         _stack(per_d), tuple(arms), sum(idx.shape[0] for _, idx in self.trials))


def _stack(per_d):
    groups = {}
    for d, items in sorted(per_d.items()):
        groups[d] = {"study": np.array([it[0] for it in items]), "y": np.array([it[1] for it in items]),
                     "V": np.array([it[2] for it in items]), "treat": np.array([it[3] for it in items]),
                     "base": np.array([it[4] for it in items])}
    return groups


class _ContrastTable:
    """Contrast-level trials waiting for the reference treatment."""

    def __init__(self, trials, y, v, t1, t2, t_levels, s_levels, rows, source):
        self.trials, self.y, self.v, self.t1, self.t2 = trials, y, v, t1, t2
        self.t_levels, self.s_levels, self.rows, self.source = t_levels, s_levels, rows, source

    def contrasts(self, ref: int) -> Contrasts:
        per_d: dict[int, list] = {}
        arms = []
        for i, (s, idx) in enumerate(self.trials):
            t1, t2, y, v = self.t1[idx], self.t2[idx], self.y[idx], self.v[idx]
            tr = list(dict.fromkeys(np.column_stack((t1, t2)).ravel().tolist()))  # arms, in order of rows
            p = len(tr)
            name = self.s_levels[s]
            if idx.shape[0] != p * (p - 1) // 2:
                raise InputError(f"study {name!r} compares {p} treatments in {idx.shape[0]} rows",
                                 file=self.source, row=self.rows[idx[0]],
                                 expected=f"every pair of its {p} arms once ({p * (p - 1) // 2} rows) for a "
                                          "multi-arm trial (their covariances come from all pairs), or "
                                          "arm-level data")
            pos = {t: j for j, t in enumerate(tr)}
            b = pos[ref] if ref in pos else 0
            if p == 2:
                s_arm = None
            else:  # arm variances: v_jk = s_j + s_k, least squares (Rücker 2012)
                B = np.zeros((idx.shape[0], p))
                B[np.arange(idx.shape[0]), [pos[t] for t in t1]] = 1.0
                B[np.arange(idx.shape[0]), [pos[t] for t in t2]] = 1.0
                s_arm = np.linalg.lstsq(B, v, rcond=None)[0]
            # effect of each arm vs the base arm from the rows
            eff = np.full(p, np.nan)
            var = np.full(p, np.nan)
            eff[b] = 0.0
            for a1, a2, yy, vv in zip(t1, t2, y, v, strict=True):
                j1, j2 = pos[a1], pos[a2]
                if j2 == b:
                    eff[j1], var[j1] = yy, vv
                elif j1 == b:
                    eff[j2], var[j2] = -yy, vv
            for a1, a2, yy in zip(t1, t2, y, strict=True):
                j1, j2 = pos[a1], pos[a2]
                if b not in (j1, j2) and abs((eff[j1] - eff[j2]) - yy) > 1e-6 * (1.0 + abs(yy)):
                    raise InputError(f"study {name!r}: the effect of {self.t_levels[a1]!r} vs "
                                     f"{self.t_levels[a2]!r} is {yy:g}, but its contrasts against "
                                     f"{self.t_levels[tr[b]]!r} give {eff[j1] - eff[j2]:g}",
                                     file=self.source, row=self.rows[idx[0]],
                                     expected="effects of a multi-arm trial that are consistent "
                                              "(y_AC = y_AB + y_BC)")
            others = [j for j in range(p) if j != b]
            d = len(others)
            V = np.full((d, d), 0.0 if s_arm is None else s_arm[b])
            V[np.diag_indices(d)] = var[others]
            if d > 1 and np.linalg.eigvalsh(V)[0] <= 0:
                raise InputError(f"study {name!r}: the variances of its contrasts cannot come from arms of "
                                 "positive variance", file=self.source, row=self.rows[idx[0]],
                                 expected="vi of every pair of arms, v_jk = s_j + s_k with s > 0")
            per_d.setdefault(d, []).append((i, eff[others], V, np.array([tr[j] for j in others]), tr[b]))
            arms += [(i, int(t), math.nan) for t in tr]
        return Contrasts(tuple(self.t_levels), tuple(self.s_levels[s] for s, _ in self.trials),
                         _stack(per_d), tuple(arms), int(sum(idx.shape[0] for _, idx in self.trials)))


def _contrast_level(frame, source, study, yi, vi, treat1, treat2, notes):
    k = len(frame)
    rows = row_labels(frame, k)
    s_codes, s_levels = _codes(frame, study, "study", k)
    t1_raw, t1_lv = _codes(frame, treat1, "treat1", k)
    t2_raw, t2_lv = _codes(frame, treat2, "treat2", k)
    t_levels = sorted(set(t1_lv) | set(t2_lv), key=_sort_key)
    pos = {t: j for j, t in enumerate(t_levels)}
    map1 = np.array([pos[t] for t in t1_lv] + [-1])
    map2 = np.array([pos[t] for t in t2_lv] + [-1])
    t1, t2 = map1[t1_raw], map2[t2_raw]
    y, _ = numeric(frame, yi, name="yi")
    v, _ = numeric(frame, vi, name="vi")
    for x, col, exp in ((y, yi, "a finite effect size"), (v, vi, "a finite sampling variance > 0")):
        bad = np.flatnonzero(np.isinf(x))
        if bad.size:
            raise InputError(f"got {x[bad[0]]}", file=source, row=rows[bad[0]], column=col, expected=exp)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(v <= 0)
    if bad.size:
        raise InputError(f"got {v[bad[0]]:g}", file=source, row=rows[bad[0]], column=vi,
                         expected="a sampling variance > 0")
    same = np.flatnonzero((t1 == t2) & (t1 >= 0))
    if same.size:
        i = same[0]
        raise InputError(f"the row compares {t_levels[t1[i]]!r} with itself", file=source, row=rows[i],
                         column=treat2, expected="two different treatments in treat1 and treat2")
    miss = (s_codes < 0) | (t1 < 0) | (t2 < 0) | np.isnan(y) | np.isnan(v)
    if miss.any():
        notes.add(f"{int(miss.sum())} row{'s' if miss.sum() > 1 else ''} with a missing value omitted "
                  f"({format_rows(rows[miss])})", DroppedRowsWarning)
    use = np.flatnonzero(~miss)
    trials = []
    for idx in _by_trial(use, s_codes):
        pairs = {tuple(sorted((int(p), int(q)))) for p, q in zip(t1[idx], t2[idx], strict=True)}
        if len(pairs) < idx.shape[0]:
            raise InputError(f"study {s_levels[s_codes[idx[0]]]!r} compares the same two treatments twice "
                             f"({format_rows(rows[idx])})", file=source, row=rows[idx[-1]], column=study,
                             expected="each pair of a trial's arms once")
        trials.append((int(s_codes[idx[0]]), idx))
    if not trials:
        raise InputError("no contrast has complete data", file=source, expected="one row per comparison")
    return _ContrastTable(trials, y, v, t1, t2, t_levels, s_levels, rows, source)


def _sort_key(label: str):
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)
