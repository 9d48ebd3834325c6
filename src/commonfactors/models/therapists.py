"""Therapist effects: how much of the variance in clients' outcomes lies between therapists.

The model (Wampold & Brown, 2005, J. Consult. Clin. Psychol. 73(5), 914-923; Baldwin & Imel, 2013, in
Bergin and Garfield's Handbook of Psychotherapy and Behavior Change, 6th ed.) for client i of therapist j
is the random-intercept linear mixed model

    y_ij = x_ij' beta + u_j + e_ij,   u_j ~ N(0, var_therapist),   e_ij ~ N(0, var_residual),

x_ij holding an intercept, the client's baseline score and other covariates, fitted by REML (or ML) as
lme4's ``lmer(outcome ~ baseline + ... + (1 | therapist))`` fits it (:mod:`._lmm`). With sites (clinics),
therapists are nested in sites, ``+ (1 | site)`` (Firth, Saxon, Stiles & Barkham, 2019, J. Consult. Clin.
Psychol. 87, 345), or sites enter as fixed effects.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import numpy as np

from .. import _checks
from .._checks import (
    MISSING,
    as_table,
    design_matrix,
    format_rows,
    group_codes,
    label,
    numeric,
    require_column,
    row_labels,
    source_of,
)
from ..errors import BoundaryWarning, ConvergenceWarning, DroppedRowsWarning, InputError
from ..results.therapists import COEF_COLUMNS, RANEF_COLUMNS, TherapistResult
from . import _inference as inference
from . import _lmm
from ._notes import Notes
from ._options import check_choice, normalize_level

Method = Literal["REML", "ML"]
CiMethod = Literal["profile", "bootstrap"]
SiteEffect = Literal["random", "fixed"]
#: values generated per block of the parametric bootstrap (replicates x clients), to bound memory
_BOOT_BLOCK = 2_000_000


def therapist_effects(data, outcome: str, therapist: str, client: str | None = None,
                      baseline: str | None = None, mods=None, site: str | None = None,
                      site_effect: SiteEffect = "random", session: str | None = None, method: Method = "REML",
                      ci: CiMethod = "profile", level: float = 95, n_boot: int = 1000,
                      seed: int | None = None) -> TherapistResult:
    """Therapist effects: variance components, the ICC with its interval, fixed effects and each therapist's
    empirical Bayes effect, from a random-intercept linear mixed model fitted as lme4 fits it.

    Parameters
    ----------
    data : DataFrame (or a mapping of column names to values). One row per client, or with ``session`` one
        row per client and session.
    outcome, therapist : column names: the outcome score, the therapist's label.
    client : column of the client's label (needed with ``session``; without it each row is a client; with it
        a client must appear once and under one therapist).
    baseline : column of the intake score, a fixed effect (without ``session``). With ``session`` the first
        session's ``outcome`` score is the baseline and the last one the outcome; clients with a single
        session are dropped and counted (``dropped``); the baseline's coefficient is named "baseline".
    mods : further fixed effects, a formula such as ``"~ age + C(dx)"`` (R's treatment coding, the first level
        in sorted order as reference; see the README on formulas).
    site, site_effect : column of the site (clinic). "random": therapists nested in sites, each with a random
        intercept (``(1 | site) + (1 | therapist)``); "fixed": sites as fixed effects (treatment coding).
    method : "REML" (default) or "ML".
    ci : the ICC's interval: "profile" (profile likelihood) or "bootstrap" (parametric, percentile).
    level : confidence level in percent (95; 0.95 and 0.05 mean the same, as in metafor).
    n_boot, seed : bootstrap replicates and the seed of numpy's default generator (reproducible with a seed).

    Returns
    -------
    TherapistResult
        icc, ci_low, ci_high, var_therapist, var_residual, var_site (None without random sites), icc_site,
        n_therapists, n_clients, dropped, singular, coefficients (term, estimate, se, stat, pval, ci_low,
        ci_high), ranef (therapist, n, eb, se, ci_low, ci_high, flag), n_flagged, expected_flagged, reml_crit
        (lme4's REMLcrit, or deviance for ML), loglik.

    Raises
    ------
    InputError
        A missing column; a value that is not a number (naming its row and column); a client under two
        therapists; a client twice in client-level data; a session twice for a client; a therapist in two
        sites (random sites); fewer than two therapists, or no therapist with two clients; collinear fixed
        effects; a bad option.

    Warns
    -----
    BoundaryWarning
        A variance component estimated at zero (``singular``): the ICC is then 0, never an error.
    DroppedRowsWarning
        Rows with a missing value, and clients with a single session, left out (named).

    Notes
    -----
    ICC = var_therapist / (var_therapist + var_residual): the share of the variance left after the fixed
    effects (lme4's VarCorr ratio; performance::icc's adjusted ICC). With random sites the therapist share
    var_therapist / (var_therapist + var_site + var_residual) is ``icc`` and the site share ``icc_site``.

    The profile interval is {theta : d(theta) - d(theta_hat) <= chi2_1(level)} for the REML criterion (ML:
    deviance) d profiled over beta and the residual variance, theta = sd_therapist / sd_residual, mapped
    through theta^2 / (1 + theta^2), which is the ICC and monotone in theta (Venzon & Moolgavkar, 1988, Appl.
    Stat. 37(1), 87-94; lme4's profile() does the same for the standard deviations); its lower end is 0 when
    d(0) - d(theta_hat) <= chi2_1(level). With random sites the share psi is profiled, the criterion
    minimised over the site's theta for each psi. The bootstrap simulates ``n_boot`` data sets from the
    fitted model (lme4's ``bootMer`` with ``type = "parametric"``), refits each by the same closed form and
    takes the percentiles of the ICCs.

    Fixed effects: GLS estimates with the covariance sigma^2 (X'H^{-1}X)^{-1} (lme4's ``vcov``); their tests
    and intervals are Wald z (normal) tests (lme4 prints t values without p-values; lmerTest's Satterthwaite
    t tests give slightly wider intervals with few therapists).

    Empirical Bayes effects (Henderson's BLUPs; lme4's ``ranef(condVar = TRUE)``): u_j = var_therapist n_j /
    (var_therapist n_j + var_residual) * mean residual of therapist j, with conditional variance
    (1 / var_therapist + n_j / var_residual)^{-1} (with random sites, the nested model's counterparts). The
    interval u_j -+ z * sqrt(conditional variance) ignores the uncertainty of the estimated fixed effects and
    variances; a therapist is flagged +1 (above) or -1 (below) when it excludes 0. ``expected_flagged`` =
    (1 - level/100) * n_therapists therapists would be flagged by chance if none differed.

    Examples
    --------
    The shipped synthetic practice (one row per client and session; 50 therapists, generated with ICC 0.05):

    >>> import warnings
    >>> import commonfactors as cf
    >>> data = cf.load_dataset("synthetic_practice")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # 15 clients with a single session omitted
    ...     res = cf.therapist_effects(data, outcome="score", therapist="therapist", client="client",
    ...                                session="session")
    >>> print(f"ICC {res.icc:.4f} [{res.ci_low:.4f}, {res.ci_high:.4f}]", res.n_clients, res.dropped)
    ICC 0.0520 [0.0208, 0.1009] 985 15
    >>> res.coefficients.term.tolist(), res.n_flagged, res.expected_flagged
    (['(Intercept)', 'baseline'], 5, 2.5)

    References
    ----------
    Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models using lme4.
    Journal of Statistical Software, 67(1), 1-48.
    """
    notes = Notes()
    reml, ci, site_effect, level, n_boot = _options(method, ci, site_effect, level, n_boot, seed)
    frame = as_table(data, rows="client or session")
    prep = _prepare(frame, outcome=outcome, therapist=therapist, client=client, baseline=baseline,
                    mods=mods, site=site, site_effect=site_effect, session=session, notes=notes)
    X, y, g, site_of, names = prep["X"], prep["y"], prep["g"], prep["site_of"], prep["names"]
    st = _lmm.sums(X, y, g, site_of)
    fitted = _lmm.fit(st, reml=reml)
    ev = fitted.ev
    theta_t, theta_s = (float(v) for v in fitted.theta[0])
    tau_t, tau_s = theta_t * theta_t, theta_s * theta_s
    sigma2 = float(ev.sigma2[0])
    sited = site_of is not None
    total = 1.0 + tau_t + tau_s
    icc = tau_t / total
    singular = theta_t < _lmm.SINGULAR_TOL or (sited and theta_s < _lmm.SINGULAR_TOL)
    if theta_t < _lmm.SINGULAR_TOL:
        notes.add(f"the {therapist} variance is estimated at {sigma2 * tau_t:.3g} (a singular fit): the "
                  "outcomes vary no more between therapists than chance allows", BoundaryWarning)
    if sited and theta_s < _lmm.SINGULAR_TOL:
        notes.add(f"the {site} variance is estimated at {sigma2 * tau_s:.3g} (a singular fit)",
                  BoundaryWarning)
    if not bool(fitted.converged[0]):
        notes.add("the variance ratio reached the end of the searched range (1e4)", ConvergenceWarning)
    crit = float(ev.crit[0])
    if ci == "profile":
        q = inference.critical(level) ** 2  # chi2_1's level quantile: the square of the normal's
        if sited:
            ci_low, ci_high = _lmm.profile_share(st, reml=reml, psi_hat=icc, crit_hat=crit, q=q)
        else:
            lo, hi = _lmm.profile_theta_t(st, reml=reml, theta_hat=theta_t, crit_hat=crit, q=q)
            ci_low = lo * lo / (1.0 + lo * lo)
            ci_high = 1.0 if math.isinf(hi) else hi * hi / (1.0 + hi * hi)
    else:
        ci_low, ci_high = _bootstrap(X, g, site_of, ev.beta[0], tau_t, tau_s, sigma2, reml=reml,
                                     n_boot=n_boot, seed=seed, level=level)
    coefficients = _coefficients(names, ev.beta[0], sigma2 * np.linalg.inv(ev.M[0]), level)
    ranef = _ranef(prep["labels"], st, ev, tau_t, sigma2, level)
    n_flagged = int(np.count_nonzero(ranef["flag"].to_numpy()))
    m = st.m
    return TherapistResult(
        icc=icc, ci_low=float(ci_low), ci_high=float(ci_high), var_therapist=sigma2 * tau_t,
        var_residual=sigma2, var_site=sigma2 * tau_s if sited else None,
        icc_site=tau_s / total if sited else None, n_therapists=m, n_clients=st.nobs,
        n_sites=st.n_sites if sited else None, dropped=prep["dropped"], singular=bool(singular),
        converged=bool(fitted.converged[0]), method="REML" if reml else "ML", ci_method=ci, level=level,
        site_effect=site_effect if site is not None else None, coefficients=coefficients, ranef=ranef,
        n_flagged=n_flagged, expected_flagged=(100.0 - level) / 100.0 * m, reml_crit=crit, loglik=-crit / 2.0,
        theta=(theta_t, theta_s) if sited else (theta_t,), outcome=outcome, therapist=therapist,
        formula=_formula(outcome, therapist, baseline if session is None else "baseline", mods, site,
                         site_effect), site=site,
        n_boot=n_boot if ci == "bootstrap" else None, warnings=notes())


def _formula(outcome, therapist, baseline, mods, site, site_effect) -> str:
    """The model as lme4's formula, for the printed summary."""
    fixed = [baseline] if baseline is not None else []
    if isinstance(mods, str):
        fixed.append(mods.strip().lstrip("~").strip())
    elif mods is not None:
        fixed.append("mods")
    if site is not None and site_effect == "fixed":
        fixed.append(site)
    random = [f"(1 | {site})"] if site is not None and site_effect == "random" else []
    return f"{outcome} ~ {' + '.join([*(fixed or ['1']), *random, f'(1 | {therapist})'])}"


def _options(method, ci, site_effect, level, n_boot, seed):
    m = method.upper() if isinstance(method, str) else method
    check_choice("method", m, get_args(Method))
    check_choice("ci", ci, get_args(CiMethod))
    check_choice("site_effect", site_effect, get_args(SiteEffect))
    lv = normalize_level(level)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 10:
        raise InputError(f"n_boot={n_boot!r}", expected="a whole number of bootstrap replicates >= 10")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
        raise InputError(f"seed={seed!r}", expected="a whole number >= 0, or None")
    return m == "REML", ci, site_effect, lv, int(n_boot)






def _prepare(frame, *, outcome, therapist, client, baseline, mods, site, site_effect, session, notes):
    """Validate the table once and return the model's arrays: X (n, p), y (n,), g (n,) therapist codes,
    site_of (m,) site code of each therapist (random sites) or None, the coefficient names, the therapist
    labels and the number of clients dropped."""
    source = source_of(frame)
    n0 = len(frame)
    if n0 == 0:
        raise InputError("the table has no rows", file=source, expected="one row per client or session")
    for name, col in (("outcome", outcome), ("therapist", therapist), ("client", client),
                      ("baseline", baseline), ("site", site), ("session", session)):
        if col is not None:
            if not isinstance(col, str):
                raise InputError(f"{name}={col!r}", expected=f"the name of the {name} column")
            require_column(frame, col, role=name)
    rows = row_labels(frame, n0)
    y, _ = numeric(frame, outcome, name="outcome")
    _checks.check_range(y, column=outcome, rows=rows, source=source, expected="a finite outcome score")
    t_codes, t_levels, _ = _codes(frame, therapist, name="therapist", n=n0)
    missing = np.isnan(y) | (t_codes < 0)
    c_codes = c_levels = None
    if client is not None:
        c_codes, c_levels, _ = _codes(frame, client, name="client", n=n0, sort=session is not None)
        missing |= c_codes < 0
    s_codes = s_levels = None
    if site is not None:
        s_codes, s_levels, _ = _codes(frame, site, name="site", n=n0)
        missing |= s_codes < 0
    b = None
    if baseline is not None:
        if session is not None:
            raise InputError(f"baseline={baseline!r} with session={session!r}",
                             expected="no baseline column with session=: the first session's score is the "
                                      "baseline")
        b, _ = numeric(frame, baseline, name="baseline")
        _checks.check_range(b, column=baseline, rows=rows, source=source, expected="a finite baseline score")
        missing |= np.isnan(b)
    dropped = 0
    if missing.all():
        named = ", ".join(repr(c) for c in (outcome, therapist, client, baseline, site, session)
                          if c is not None)
        raise InputError(f"every row has a missing value in one of {named}", file=source,
                         expected="rows with the outcome, the therapist and the other columns named")
    if session is not None:
        if client is None:
            raise InputError(f"session={session!r} without client=", expected="client= the column naming "
                             "each client, whose first and last sessions are compared")
        sess, _ = numeric(frame, session, name="session")
        _checks.check_range(sess, column=session, rows=rows, source=source,
                            expected="a finite session number")
        missing |= np.isnan(sess)
        _warn_missing(rows[missing], "row", "with a missing value omitted", notes)
        use = np.flatnonzero(~missing)
        _one_therapist(use, c_codes, c_levels, t_codes, t_levels, rows, source, client, therapist)
        order = use[np.lexsort((sess[use], c_codes[use]))]
        same = (c_codes[order][1:] == c_codes[order][:-1])
        dup = np.flatnonzero(same & (sess[order][1:] == sess[order][:-1]))
        if dup.size:
            i, j = order[dup[0]], order[dup[0] + 1]
            raise InputError(f"client {label(c_levels[c_codes[j]])!r} has session {label(sess[j])!r} twice "
                             f"(also {format_rows([rows[i]])})", file=source, row=rows[j], column=session,
                             expected="one row per client and session")
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        ends = np.concatenate((starts[1:], [order.shape[0]])) - 1
        single = starts == ends
        if single.any():
            dropped = int(single.sum())
            shown = [str(label(c_levels[c_codes[order[s]]])) for s in starts[single]]
            notes.add(f"{dropped} client{'s' if dropped > 1 else ''} with a single session omitted "
                      f"({', '.join(shown[:10])}{' and more' if dropped > 10 else ''})", DroppedRowsWarning)
        first, last = order[starts[~single]], order[ends[~single]]
        b, y_c, keep_idx = y[first], y[last], first
        baseline_name = "baseline"
    else:
        _warn_missing(rows[missing], "row", "with a missing value omitted", notes)
        dropped = int(missing.sum())
        keep_idx = np.flatnonzero(~missing)
        if client is not None and keep_idx.size and np.bincount(c_codes[keep_idx]).max() > 1:  # twice
            _one_therapist(keep_idx, c_codes, c_levels, t_codes, t_levels, rows, source, client, therapist)
            cc = c_codes[keep_idx]
            order = keep_idx[np.argsort(cc, kind="stable")]
            twice = np.flatnonzero(c_codes[order][1:] == c_codes[order][:-1])
            if twice.size:
                i, j = order[twice[0]], order[twice[0] + 1]
                raise InputError(f"client {label(c_levels[c_codes[j]])!r} appears twice (also "
                                 f"{format_rows([rows[i]])})", file=source, row=rows[j], column=client,
                                 expected="one row per client (or session= for one row per client and "
                                          "session)")
        y_c = y[keep_idx]
        b = None if b is None else b[keep_idx]
        baseline_name = baseline
    k = keep_idx.shape[0]
    crow = rows[keep_idx]
    columns, names = [np.ones(k)], ["(Intercept)"]
    if b is not None:
        columns.append(b)
        names.append(baseline_name)
    ok = np.ones(k, dtype=bool)
    if mods is not None:
        sub = frame.iloc[keep_idx]
        M, mnames, ok = design_matrix(sub, mods, rows=crow, source=source, keep=np.ones(k, dtype=bool))
        columns += [M[:, j] for j in range(1, M.shape[1])]
        names += list(mnames[1:])
        if not ok.all():
            _warn_missing(crow[~ok], "client", "with a missing moderator omitted", notes)
            dropped += int((~ok).sum())
    sel = np.flatnonzero(ok)
    X = np.column_stack(columns)[sel]
    y_c, keep_idx, crow = y_c[sel], keep_idx[sel], crow[sel]
    g_raw = t_codes[keep_idx]
    site_of = None
    if site is not None:
        s_raw = s_codes[keep_idx]
        if site_effect == "fixed":
            used, s_new = np.unique(s_raw, return_inverse=True)
            for lv in range(1, used.shape[0]):
                X = np.column_stack((X, (s_new == lv).astype(float)))
                names.append(f"{site}{label(s_levels[used[lv]])}")
    used_t, g = np.unique(g_raw, return_inverse=True)
    m, n = used_t.shape[0], y_c.shape[0]
    if site is not None and site_effect == "random":
        _, s_new = np.unique(s_raw, return_inverse=True)
        site_of = np.full(m, -1)
        site_of[g] = s_new
        clash = np.flatnonzero(site_of[g] != s_new)
        if clash.size:
            i = clash[0]
            raise InputError(f"therapist {label(t_levels[g_raw[i]])!r} works in two sites", file=source,
                             row=crow[i], column=site, expected="therapists nested in sites (site_effect="
                             "'fixed' allows a therapist in several sites)")
        if site_of.max() < 1:
            raise InputError("all therapists are in one site", file=source, column=site,
                             expected="two sites or more for a site variance")
    if n == 0:
        raise InputError(f"no client is left to fit ({dropped} dropped)", file=source,
                         expected="clients with an outcome"
                                  + (" and two sessions or more" if session is not None else ""))
    if m < 2:
        raise InputError(f"{n} clients of {m} therapist", file=source, column=therapist,
                         expected="clients of two therapists or more")
    if n <= m:
        raise InputError(f"each of the {m} therapists has a single client", file=source, column=therapist,
                         expected="more clients than therapists (the therapist and residual variances cannot "
                                  "be told apart otherwise)")
    if n <= X.shape[1]:
        raise InputError(f"{X.shape[1]} fixed effects ({', '.join(names)}) for {n} clients", file=source,
                         expected="more clients than fixed effects")
    _check_design(X, y_c, g, crow, names, outcome, therapist, source)
    return {"X": X, "y": y_c, "g": g, "site_of": site_of, "names": names,
            "labels": [label(v) for v in t_levels[used_t]], "dropped": dropped}


#: the largest outcome or fixed-effect value accepted: squares and sums of 10^9 of them stay far from overflow
VALUE_MAX = 1e100
#: R^2 above 1 - DEGENERATE: collinear fixed effects, or an outcome they fit exactly (no residual variance)
DEGENERATE = 1e-10


def _check_design(X, y, g, rows, names, outcome, therapist, source):
    """Values whose squares cannot overflow; fixed effects that are not collinear (each covariate's R^2 on
    the others below 1 - 1e-10); an outcome that varies beyond what the fixed effects explain, overall and
    within therapists (else the residual variance is 0 and the criterion has no minimum).

    Cross-products of centred columns, by ``einsum``: no threaded BLAS call over the n rows."""
    for values, term in ((y, None), *((X[:, j], names[j]) for j in range(1, X.shape[1]))):
        big = np.flatnonzero(np.abs(values) > VALUE_MAX)
        if big.size:
            what = "" if term is None else f" (fixed effect {term!r})"
            raise InputError(f"got {values[big[0]]:g}{what}", file=source, row=rows[big[0]],
                             column=outcome if term is None else None,
                             expected=f"values within -+{VALUE_MAX:g} (beyond it their squares overflow)")
    centred = y - y.mean()
    ss = float(np.einsum("i,i->", centred, centred))
    if ss == 0.0:
        raise InputError(f"every client's {outcome!r} is {y[0]:g}", file=source, column=outcome,
                         expected="an outcome that varies between clients")
    if X.shape[1] == 1:
        rss = ss
    else:
        Xc = X[:, 1:] - X[:, 1:].mean(axis=0)
        C = np.einsum("ij,ik->jk", Xc, Xc)
        d = np.sqrt(np.diag(C))
        if (d == 0).any() or np.linalg.eigvalsh(C / np.outer(d, d))[0] < DEGENERATE:
            raise InputError(f"the fixed effects are collinear ({', '.join(names)})", file=source,
                             expected="fixed effects that vary and are not linear combinations of each other")
        rhs = np.einsum("ij,i->j", Xc, centred)
        rss = ss - float(rhs @ np.linalg.solve(C, rhs))
    if rss <= DEGENERATE * ss:
        raise InputError(f"the fixed effects ({', '.join(names)}) fit {outcome!r} exactly", file=source,
                         column=outcome, expected="an outcome with residual variation (is the outcome a copy "
                                                  "or a linear function of a covariate?)")
    counts = np.bincount(g).astype(float)

    def within(a):  # deviations from the therapist's mean
        return a - (np.bincount(g, weights=a) / counts)[g]

    yw = within(y)
    rw = float(np.einsum("i,i->", yw, yw))
    if X.shape[1] > 1:
        Xw = np.column_stack([within(X[:, j]) for j in range(1, X.shape[1])])
        rhs = np.einsum("ij,i->j", Xw, yw)
        rw -= float(rhs @ np.linalg.lstsq(np.einsum("ij,ik->jk", Xw, Xw), rhs, rcond=None)[0])
    if rw <= DEGENERATE * ss:
        raise InputError(f"{outcome!r} does not vary within therapists beyond what the fixed effects "
                         "explain", file=source, column=therapist,
                         expected="clients of the same therapist with different outcomes (a residual "
                                  "variance above 0)")


def _codes(frame, column: str, *, name: str, n: int, sort: bool = True):
    """:func:`commonfactors._checks.group_codes` (codes 0..k-1 of the labels in sorted order, -1 for a
    missing label; the levels; the column), by hashing (pandas' factorize) for a text column of a DataFrame:
    the same labels (each value's text, stripped; the missing spellings), without sorting n strings.
    ``sort=False`` numbers the labels in order of appearance (enough to compare them)."""
    series = frame[column] if hasattr(frame, "iloc") else None
    if series is None or series.dtype.kind in "biuf":
        return group_codes(frame, column, name=name, n=n)
    import pandas as pd

    text = series.astype(str).str.strip()
    missing = text.isin([*MISSING, "None", "<NA>"]).to_numpy()
    codes, levels = pd.factorize(text.where(~missing, None), sort=sort, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(levels, dtype=object), column


def _one_therapist(idx, c_codes, c_levels, t_codes, t_levels, rows, source, client, therapist):
    """Each client is under one therapist: else an InputError naming the client and both rows."""
    order = idx[np.lexsort((t_codes[idx], c_codes[idx]))]
    c, t = c_codes[order], t_codes[order]
    clash = np.flatnonzero((c[1:] == c[:-1]) & (t[1:] != t[:-1]))
    if clash.size:
        i, j = order[clash[0]], order[clash[0] + 1]
        raise InputError(f"client {label(c_levels[c_codes[j]])!r} is under therapist "
                         f"{label(t_levels[t_codes[j]])!r} here and {label(t_levels[t_codes[i]])!r} in "
                         f"{format_rows([rows[i]])}", file=source, row=rows[j], column=therapist,
                         expected="each client under one therapist")


def _warn_missing(labels, noun: str, what: str, notes: Notes) -> None:
    labels = list(labels)
    if labels:
        n = len(labels)
        notes.add(f"{n} {noun}{'s' if n > 1 else ''} {what} ({format_rows(labels)})", DroppedRowsWarning)


def _coefficients(names, beta, vcov, level):
    import pandas as pd

    se = np.sqrt(np.diag(vcov))
    stat, pval, _, low, high = inference.wald(beta, se, level=level)
    return pd.DataFrame({"term": list(names), "estimate": beta, "se": se, "stat": stat, "pval": pval,
                         "ci_low": low, "ci_high": high}, columns=list(COEF_COLUMNS))


def _ranef(labels, st: _lmm.Sums, ev: _lmm.Evaluation, tau_t: float, sigma2: float, level: float):
    """Empirical Bayes effects u_j = tau_t 1_j'H^{-1}(y - X beta) and their conditional variances
    sigma2 tau_t (1 - tau_t 1_j'H^{-1}1_j) (lme4's ``ranef(condVar = TRUE)``)."""
    import pandas as pd

    n, d = st.n, ev.d[0]
    eb = tau_t * ev.resid_t[0]
    h11 = n / d
    if ev.e is not None:
        h11 = h11 - ev.e[0][st.site] * (n / d) ** 2
    condvar = np.maximum(sigma2 * tau_t * (1.0 - tau_t * h11), 0.0)
    se = np.sqrt(condvar)
    z = inference.critical(level)
    low, high = eb - z * se, eb + z * se
    flag = np.where(low > 0, 1, np.where(high < 0, -1, 0))
    return pd.DataFrame({"therapist": labels, "n": n.astype(int), "eb": eb, "se": se, "ci_low": low,
                         "ci_high": high, "flag": flag}, columns=list(RANEF_COLUMNS))


def _bootstrap(X, g, site_of, beta, tau_t, tau_s, sigma2, *, reml, n_boot, seed, level):
    """Percentile interval of the ICC from ``n_boot`` data sets simulated from the fitted model, each refitted
    by the closed form, in blocks of replicates (all of a block at once)."""
    rng = np.random.default_rng(seed)
    n, m = g.shape[0], int(g.max()) + 1
    mu = np.einsum("ij,j->i", X, beta)
    sd_t, sd_s, sd = math.sqrt(sigma2 * tau_t), math.sqrt(sigma2 * tau_s), math.sqrt(sigma2)
    block = max(1, min(n_boot, _BOOT_BLOCK // n))
    iccs = []
    for start in range(0, n_boot, block):
        b = min(block, n_boot - start)
        Y = mu[:, None] + (rng.standard_normal((m, b)) * sd_t)[g] + rng.standard_normal((n, b)) * sd
        if site_of is not None:
            Y += (rng.standard_normal((int(site_of.max()) + 1, b)) * sd_s)[site_of[g]]
        fitted = _lmm.fit(_lmm.sums(X, Y, g, site_of), reml=reml, lanes=b)
        tt, ts = fitted.theta[:, 0] ** 2, fitted.theta[:, 1] ** 2
        iccs.append(tt / (1.0 + tt + ts))
    alpha = 1.0 - level / 100.0
    low, high = np.quantile(np.concatenate(iccs), [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)
