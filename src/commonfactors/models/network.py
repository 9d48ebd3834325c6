"""Network meta-analysis: every treatment compared with every other at once, from arm-level or contrast-level
data, and the Dodo-bird test of whether active treatments differ.

The model is the contrast-based consistency model with one heterogeneity variance (:mod:`._network_fit`),
metafor's ``rma.mv(yi, V, mods = ~ B + C + ... - 1, random = ~ comp | study, rho = 1/2)``; the data and
within-trial covariances are :mod:`._network_data`'s.
"""

from __future__ import annotations

import difflib
import functools
import math
from typing import Literal, get_args

import numpy as np

from .. import _distributions as dist
from ..errors import BoundaryWarning, ConvergenceWarning, InputError
from ..results.network import NetworkResult
from . import _inference as inference
from . import _network_contrib, _network_data, _network_fit
from ._notes import Notes
from ._options import check_choice, normalize_level

NetworkMethod = Literal["REML", "ML", "FE"]
SmallValues = Literal["good", "bad"]


def network_meta_analysis(data, study: str = "study", treatment: str | None = None, *, events=None, n=None,
                          mean=None, sd=None, yi=None, vi=None, treat1=None, treat2=None, measure=None,
                          reference=None, method: NetworkMethod = "REML", active=None, add: float = 0.5,
                          to: str = "only0", level: float = 95, small_values: SmallValues = "good",
                          n_sim: int = 10_000, seed: int = 1, node_split: bool = False,
                          contributions: bool = False) -> NetworkResult:
    """Contrast-based network meta-analysis with multi-arm trials, P-scores, the design-by-treatment
    inconsistency test and, with ``active``, the Dodo-bird test.

    Parameters
    ----------
    data : DataFrame (or a mapping of column names to columns).
        Arm level: one row per trial arm (``study``, ``treatment`` and ``events``/``n`` or ``mean``/``sd``/
        ``n``). Contrast level: one row per comparison (``study``, ``treat1``, ``treat2``, ``yi`` the effect
        of treat1 vs treat2, ``vi``); a multi-arm trial gives every pair of its arms.
    measure : {"OR", "RR", "RD", "MD", "SMD"} for arm-level data (log odds ratio, log risk ratio, risk
        difference, mean difference, Hedges' g; escalc's formulas); ignored for contrast-level data.
    reference : the treatment every other is compared with (default: the first in sorted order).
    method : "REML" (default), "ML", or "FE" (common effect, tau2 = 0).
    active : the bona fide treatments of the Dodo-bird test (two or more).
    add, to : zero-cell correction of binary arms, by trial (see :mod:`._network_data`).
    level : confidence level in percent.
    small_values : "good" when a smaller effect is better (e.g. a symptom score), "bad" when larger is better
        (e.g. an odds ratio of recovery); decides the direction of the rankings.
    n_sim, seed : draws and seed of the simulated ranks (SUCRA) and the seed of Wampold's random signs.
    node_split : also split each comparison with direct and indirect evidence (one more fit per comparison).
    contributions : also compute the percent contribution of each design to each network estimate
        (``NetworkResult.contributions()``; :mod:`._network_contrib`): one flow decomposition per pair of
        treatments, about 0.5 s for 12 treatments and 420 trials, 15 s for 30 treatments and 2,000 trials.

    Returns
    -------
    NetworkResult
        ``effects`` (each treatment vs the reference: estimate, se, ci, prediction interval), ``league``
        (every pair), ``vcov``, ``pscore`` and ``sucra``, ``tau2``, ``inconsistency``, ``dodo``.

    Raises
    ------
    InputError
        A missing column or bad value (naming its row), a trial with one arm or with a treatment twice, a
        disconnected network (naming its parts), an unknown reference or active treatment, a bad option.

    Notes
    -----
    Effects and their covariance are the model's GLS estimates, Wald intervals; prediction intervals
    estimate -+ z sqrt(se^2 + tau2) (metafor's ``predict``). League table: estimate_jk = beta_j - beta_k with
    variance v_jj + v_kk - 2 v_jk.

    P-scores (Rücker, G., & Schwarzer, G. (2015). Ranking treatments in frequentist network meta-analysis
    works without resampling methods. BMC Med. Res. Methodol., 15, 58, eq. 3): P_j = mean over k != j of
    Phi((beta_j - beta_k) / se_jk) when larger is better (``small_values="bad"``), of
    Phi((beta_k - beta_j) / se_jk) when smaller is better. SUCRA (Salanti, G., Ades, A. E., & Ioannidis,
    J. P. A. (2011). J. Clin. Epidemiol., 64(2), 163-171): (T - mean rank) / (T - 1) over ``n_sim`` draws
    from the estimates' normal distribution; P-scores are its limit.

    Inconsistency (Higgins, J. P. T., et al. (2012). Consistency and inconsistency in network
    meta-analysis: concepts and models for multi-arm studies. Res. Synth. Methods, 3(2), 98-110): the
    design-by-treatment interaction model gives each design (the set of treatments of a trial) its own
    effects; ``q`` is the Wald statistic of the consistency restrictions, b' I b - (A' I b)' (A' I A)^{-1}
    (A' I b), b the design model's effects, I its information matrix, A the map from consistency to design
    effects, with df = (sum over designs of arms - 1) - (T - 1), its tau2 estimated under the design model
    (the same method). ``q_total`` = ``q_within`` + ``q_between``: Cochran's Q of the common-effect
    consistency model split into heterogeneity within designs and inconsistency between designs (netmeta's
    ``decomp.design``).

    Node splitting (``node_split=True``; Dias, S., Welton, N. J., Caldwell, D. M., & Ades, A. E. (2010).
    Checking consistency in mixed treatment comparison meta-analysis. Stat. Med., 29(7-8), 932-944): for each
    pair (a, b) compared in some trial and connected through others as well, the model gets one more
    coefficient delta, added to arm a in the trials that have both a and b (Dias et al.'s parameterisation
    for multi-arm trials, arm a shifted), tau2 estimated again. ``indirect`` = beta_a - beta_b of that model,
    ``direct`` = indirect + delta, ``difference`` = delta with its Wald z test. Pairs without indirect
    evidence (the extra coefficient not identified) are left out.

    Contributions (``contributions=True``; Papakonstantinou, T., et al. (2018). Estimating the contribution of
    studies in network meta-analysis: paths, flows and streams. F1000Research, 7, 610): each row of the hat
    matrix, from the designs' direct estimates to the network estimate of a pair, is a flow through the
    network, decomposed into streams along its shortest paths; each design's percent share of each estimate
    (:mod:`._network_contrib`).

    Dodo-bird test (with ``active``): the Wald test that the a active treatments' effects are equal,
    q = (L beta)' (L S L')^{-1} (L beta), L the a - 1 differences from the first, S their covariance
    (df = a - 1). ``tau2_technique``: the variance of the active treatments' true effects around their mean
    (theta_j = mu + delta_j, delta_j ~ N(0, tau2_technique)), the generalised method-of-moments (Paule-Mandel)
    root of Q(tau2) = a - 1, Q(tau2) = (L beta)' (L (S + tau2 I) L')^{-1} (L beta) (Q(0) is the Wald
    statistic), and its Q-profile interval, the roots of Q(tau2) = chi2 quantiles at (1 -+ level) / 2
    (Paule, R. C., & Mandel, J. (1982). J. Res. Natl. Bur. Stand., 87(5), 377-385; Viechtbauer, W. (2007).
    Confidence intervals for the amount of heterogeneity in meta-analysis. Stat. Med., 26(1), 37-52).
    With standardized mean differences (effects in units of the outcome's within-group SD, whose variance is
    1) ``share`` = tau2_technique / (1 + tau2_technique), with its interval mapped the same way: the share
    of the outcome variance owed to which active technique a client receives (the technique slice of the
    variance pie, as Wampold & Imel (2015), The Great Psychotherapy Debate, 2nd ed., ch. 5, convert
    between-treatment effects to variance explained); None for other measures.
    Wampold's test (Wampold, B. E., Mondin, G. W., Moody, M., Stich, F., Benson, K., & Ahn, H. (1997). A
    meta-analysis of outcome studies comparing bona fide psychotherapies: Empirically, "all must have
    prizes." Psychol. Bull., 122(3), 203-215): every within-trial comparison of two active treatments,
    its sign chosen at random (``seed``), Cochran's Q of homogeneity around the weighted mean (df = k - 1).

    Examples
    --------
    metafor's documented contrast-based analysis of dat.hasselblad1998 (log odds ratios of smoking
    cessation, 1/2 added to every cell):

    >>> import commonfactors as cf
    >>> res = cf.network_meta_analysis(cf.load_dataset("hasselblad1998"), study="study", treatment="trt",
    ...                                events="xi", n="ni", measure="OR", add=0.5, to="all",
    ...                                reference="no_contact", small_values="bad",
    ...                                active=["ind_counseling", "grp_counseling", "self_help"])
    >>> round(res.tau2, 4), [(e["treatment"], round(e["estimate"], 4)) for e in res.effects]
    (0.4324, [('grp_counseling', 0.8438), ('ind_counseling', 0.6864), ('self_help', 0.3888)])
    >>> round(res.inconsistency["q"], 3), res.inconsistency["df"], round(res.dodo["pval"], 3)
    (5.161, 7, 0.496)
    """
    notes = Notes()
    method = method.upper() if isinstance(method, str) else method
    check_choice("method", method, get_args(NetworkMethod))
    check_choice("small_values", small_values, get_args(SmallValues))
    level = normalize_level(level)
    if isinstance(n_sim, bool) or not isinstance(n_sim, (int, np.integer)) or n_sim < 100:
        raise InputError(f"n_sim={n_sim!r}", expected="a whole number of simulated rankings >= 100")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed={seed!r}", expected="a whole number >= 0")
    table, measure = _network_data.prepare(data, study=study, treatment=treatment, events=events, n=n,
                                           mean=mean, sd=sd, yi=yi, vi=vi, treat1=treat1, treat2=treat2,
                                           measure=measure, add=add, to=to, notes=notes)
    labels = list(table.t_levels)
    ref = _treatment_code(reference, labels, "reference") if reference is not None else None
    con = table.contrasts(-1 if ref is None else ref)
    used = sorted({t for _, t, _ in con.arms})
    if ref is None:
        ref = used[0]
        con = table.contrasts(ref)
    elif ref not in used:
        raise InputError(f"reference={reference!r} is in no trial with complete data",
                         expected="a treatment of the network: "
                         + ", ".join(map(repr, (labels[t] for t in used))))
    _connected(con, used, labels)
    names = [labels[t] for t in used]
    T = len(used)
    col = {t: j for j, t in enumerate(used)}  # position among all treatments
    others = [t for t in used if t != ref]
    pcol = {t: j for j, t in enumerate(others)}
    P = T - 1
    blocks = _blocks(con.groups, lambda tr: pcol.get(tr, -1), P)
    n_contrasts = sum(b[0].size for b in blocks)
    if method != "FE" and n_contrasts <= P:
        what = (f"{n_contrasts} contrast{'s' if n_contrasts > 1 else ''} for {P} treatment "
                f"effect{'s' if P > 1 else ''}")
        notes.add(f"{what} leave no information on tau2: fitted as a common-effect model (method FE)",
                  BoundaryWarning)
        method = "FE"
    res = _network_fit.fit(blocks, P, method)
    if not res.converged:
        notes.add("the REML/ML iterations did not converge", ConvergenceWarning)
    if method != "FE" and res.tau2 < 1e-10:
        notes.add("tau2 is estimated at 0 (the boundary): the random-effects model equals the common-effect "
                  "model", BoundaryWarning)
    # effects of every treatment against the reference (reference: 0), and their covariance
    beta = np.zeros(T)
    vc = np.zeros((T, T))
    idx = np.array([col[t] for t in others])
    beta[idx] = res.beta
    vc[np.ix_(idx, idx)] = res.vcov
    z = inference.critical(level)
    tau2 = res.tau2
    se = np.sqrt(np.diag(res.vcov))
    stat, pval, _, lo, hi = inference.wald(res.beta, se, level=level)
    pi = z * np.sqrt(se**2 + tau2)
    effects = [{"treatment": labels[t], "estimate": float(res.beta[j]), "se": float(se[j]),
                "stat": float(stat[j]), "pval": float(pval[j]), "ci_low": float(lo[j]),
                "ci_high": float(hi[j]),
                "pi_low": float(res.beta[j] - pi[j]), "pi_high": float(res.beta[j] + pi[j])}
               for j, t in enumerate(others)]
    league = _league(names, beta, vc, tau2, level)
    pscore = _pscores(names, beta, vc, small_values)
    sucra = _sucra(names, beta, vc, small_values, n_sim, seed)
    inconsistency = _inconsistency(con, used, ref, pcol, P, blocks, res, method, notes)
    splits = None
    if node_split:
        splits = tuple(_node_split(con, names, used, pcol, blocks, P, method, beta, vc, level, notes))
    dodo = None
    if active is not None:
        dodo = _dodo(active, labels, used, col, beta, vc, con, level, seed, measure)
    designs = _designs(con, labels)
    contrib = None
    if contributions:
        design_of = {i: ":".join(labels[t] for t in sorted(ts)) for i, ts in _trial_treatments(con).items()}
        K = _network_contrib.design_weights(con.groups, col, design_of, tau2, T)
        contrib = tuple(_network_contrib.contributions(K, names, col[ref]))
    n_arm = {}
    for _, t, nn in con.arms:
        n_arm[t] = n_arm.get(t, 0.0) + nn
    edges = {}
    for t_list in _trial_treatments(con).values():
        for a in range(len(t_list)):
            for b in range(a + 1, len(t_list)):
                key = tuple(sorted((col[t_list[a]], col[t_list[b]])))
                edges[key] = edges.get(key, 0) + 1
    graph = {"nodes": [{"treatment": labels[t], "n": n_arm[t] if not math.isnan(n_arm[t]) else None,
                        "k": sum(1 for _, tt, _ in con.arms if tt == t)} for t in used],
             "edges": [{"treat1": names[a], "treat2": names[b], "k": kk}
                       for (a, b), kk in sorted(edges.items())]}
    return NetworkResult(
        reference=labels[ref], method=method, measure=measure, level=level, tau2=tau2,
        k=len(con.studies), n_contrasts=res.n, treatments=tuple(names), effects=tuple(effects),
        league=tuple(league), vcov=tuple(tuple(float(x) for x in row) for row in vc), pscore=tuple(pscore),
        sucra=tuple(sucra), small_values=small_values, inconsistency=inconsistency, dodo=dodo,
        loglik=res.loglik, qe=res.qe, converged=res.converged, designs=tuple(designs), graph=graph,
        n_sim=n_sim, seed=seed, node_split=splits, design_contributions=contrib, warnings=notes())


def _treatment_code(value, labels, what):
    text = str(int(value)) if isinstance(value, float) and float(value).is_integer() else str(value)
    if text in labels:
        return labels.index(text)
    close = difflib.get_close_matches(text, labels, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(f"{what} {text!r} is not a treatment of the network{hint}",
                     expected="one of " + ", ".join(map(repr, labels)))


def _trial_treatments(con):
    out = {}
    for i, t, _ in con.arms:
        out.setdefault(i, []).append(t)
    return out


def _connected(con, used, labels):
    parent = {t: t for t in used}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for ts in _trial_treatments(con).values():
        for t in ts[1:]:
            parent[find(t)] = find(ts[0])
    parts = {}
    for t in used:
        parts.setdefault(find(t), []).append(labels[t])
    if len(parts) > 1:
        ordered = sorted(parts.values(), key=lambda p: (-len(p), p))
        shown = "; ".join("{" + ", ".join(p) + "}" for p in ordered)
        raise InputError(f"the network is disconnected: {len(parts)} parts share no trial ({shown})",
                         expected="a connected network: each treatment linked to the others through trials")


def _blocks(groups, column, p):
    """(y, V, X) per group of trials with d contrasts; ``column(t)`` the column of treatment t (-1: none)."""
    blocks = []
    for d, g in groups.items():
        m = g["y"].shape[0]
        X = np.zeros((m, d, p))
        cols_t = np.vectorize(column, otypes=[int])(g["treat"]) if m else np.zeros((0, d), int)
        cols_b = np.vectorize(column, otypes=[int])(g["base"]) if m else np.zeros(0, int)
        mi, di = np.nonzero(cols_t >= 0)
        X[mi, di, cols_t[mi, di]] += 1.0
        has_b = np.flatnonzero(cols_b >= 0)
        for j in range(d):
            X[has_b, j, cols_b[has_b]] -= 1.0
        blocks.append((g["y"], g["V"], X))
    return blocks


def _league(names, beta, vc, tau2, level):
    T = len(names)
    z = inference.critical(level)
    out = []
    for a in range(T):
        for b in range(a + 1, T):
            est = beta[a] - beta[b]
            var = vc[a, a] + vc[b, b] - 2.0 * vc[a, b]
            se = math.sqrt(max(var, 0.0))
            p = inference.two_sided_p(est / se) if se > 0 else math.nan
            half = z * math.sqrt(se * se + tau2)
            out.append({"treat1": names[a], "treat2": names[b], "estimate": float(est), "se": se,
                        "pval": float(p), "ci_low": float(est - z * se), "ci_high": float(est + z * se),
                        "pi_low": float(est - half), "pi_high": float(est + half)})
    return out


def _pscores(names, beta, vc, small_values):
    T = len(names)
    sign = -1.0 if small_values == "good" else 1.0
    d = beta[:, None] - beta[None, :]
    var = np.diag(vc)[:, None] + np.diag(vc)[None, :] - 2.0 * vc
    with np.errstate(divide="ignore", invalid="ignore"):
        zz = sign * d / np.sqrt(var)
    zz[np.eye(T, dtype=bool)] = 0.0
    phi = np.asarray(dist.norm_cdf(zz), dtype=float)
    phi[np.eye(T, dtype=bool)] = 0.0
    p = phi.sum(axis=1) / (T - 1)
    return [{"treatment": names[j], "pscore": float(p[j])} for j in range(T)]


def _sucra(names, beta, vc, small_values, n_sim, seed):
    T = len(names)
    rng = np.random.default_rng(seed)
    w, U = np.linalg.eigh(vc)
    L = U * np.sqrt(np.clip(w, 0.0, None))
    draws = beta + rng.standard_normal((n_sim, T)) @ L.T
    if small_values == "bad":
        draws = -draws
    ranks = draws.argsort(axis=1).argsort(axis=1) + 1  # 1 = best (smallest after the flip)
    mean_rank = ranks.mean(axis=0)
    best = (ranks == 1).mean(axis=0)
    return [{"treatment": names[j], "sucra": float((T - mean_rank[j]) / (T - 1)),
             "mean_rank": float(mean_rank[j]), "p_best": float(best[j])} for j in range(T)]


def _designs(con, labels):
    counts = {}
    for ts in _trial_treatments(con).values():
        key = ":".join(labels[t] for t in sorted(ts))
        counts[key] = counts.get(key, 0) + 1
    return [{"design": k, "k": v} for k, v in sorted(counts.items())]


def _inconsistency(con, used, ref, pcol, P, blocks, res, method, notes):
    """The design-by-treatment interaction test (Higgins et al. 2012) and the Q decomposition."""
    trial_t = _trial_treatments(con)
    order = {t: j for j, t in enumerate(used)}
    design_of = {i: tuple(sorted(ts, key=order.get)) for i, ts in trial_t.items()}
    designs = sorted(set(design_of.values()))
    dcol = {}
    A_rows = []
    for D in designs:
        base = ref if ref in D else D[0]
        for t in D:
            if t == base:
                continue
            dcol[(D, t)] = len(dcol)
            row = np.zeros(P)
            if t != ref:
                row[pcol[t]] += 1.0
            if base != ref:
                row[pcol[base]] -= 1.0
            A_rows.append(row)
    Q = len(dcol)
    df = Q - P
    out = {"q": None, "df": df, "pval": None, "tau2": None, "n_designs": len(designs),
           "q_total": float(res.qe), "df_total": res.n - P, "pval_total": None,
           "q_within": None, "df_within": res.n - Q, "pval_within": None,
           "q_between": None, "df_between": df, "pval_between": None}
    if res.n - P > 0:
        out["pval_total"] = float(dist.chi2_sf(res.qe, res.n - P))
    if df <= 0:
        return out  # no loop of different designs: nothing to test
    A = np.array(A_rows)
    base_of = {D: (ref if ref in D else D[0]) for D in designs}
    # the design model: each design's own effects, a group of at most (arms - 1) coefficients
    gix = {D: j for j, D in enumerate(designs)}
    qmax = max(len(D) for D in designs) - 1
    free = np.zeros((len(designs), qmax), dtype=bool)
    local = {}
    for D in designs:
        others_d = [t for t in D if t != base_of[D]]
        free[gix[D], :len(others_d)] = True
        local.update({(D, t): j for j, t in enumerate(others_d)})
    dblocks = []
    for d, g in con.groups.items():
        y, V = g["y"], g["V"]
        m = y.shape[0]
        X = np.zeros((m, d, qmax))
        gr = np.zeros(m, dtype=np.int64)
        for r in range(m):
            D = design_of[int(g["study"][r])]
            gr[r] = gix[D]
            b = int(g["base"][r])
            for j in range(d):
                t = int(g["treat"][r, j])
                if t != base_of[D]:
                    X[r, j, local[(D, t)]] += 1.0
                if b != base_of[D]:
                    X[r, j, local[(D, b)]] -= 1.0
        dblocks.append((y, V, X, gr))
    fit_design = functools.partial(_network_fit.fit, dblocks, Q, ng=len(designs), free=free)
    dres = notes.run("the design-by-treatment model", fit_design, method)
    if not dres.converged:
        notes.add("the REML/ML iterations of the design-by-treatment model did not converge",
                  ConvergenceWarning)
    info = dres.info
    b = dres.beta
    Ib = info @ b
    AIb = A.T @ Ib
    q = float(b @ Ib - AIb @ np.linalg.solve(A.T @ info @ A, AIb))
    q = max(q, 0.0)
    out.update(q=q, pval=float(dist.chi2_sf(q, df)), tau2=float(dres.tau2))
    fe_within = dres.qe if method == "FE" else fit_design("FE").qe
    out.update(q_within=float(fe_within), q_between=float(res.qe - fe_within))
    if res.n - Q > 0:
        out["pval_within"] = float(dist.chi2_sf(fe_within, res.n - Q))
    out["pval_between"] = float(dist.chi2_sf(max(res.qe - fe_within, 0.0), df))
    return out


def _node_split(con, names, used, pcol, blocks, P, method, beta, vc, level, notes):
    """Dias et al. (2010) node splitting, one model per pair with direct and indirect evidence."""
    col = {t: j for j, t in enumerate(used)}
    trial_t = {i: set(ts) for i, ts in _trial_treatments(con).items()}
    X_all = np.concatenate([X.reshape(-1, P) for _, _, X in blocks])
    pairs = sorted({tuple(sorted((col[a], col[b]))) for ts in _trial_treatments(con).values()
                    for i, a in enumerate(ts) for b in ts[i + 1:]})
    z = inference.critical(level)
    out = []
    for ia, ib in pairs:
        ta, tb = used[ia], used[ib]
        extra = []
        for _, g in con.groups.items():
            has = np.array([{ta, tb} <= trial_t[int(s)] for s in g["study"]])
            e = (g["treat"] == ta).astype(float) - (g["base"] == ta).astype(float)[:, None]
            extra.append(e * has[:, None])
        x_new = np.concatenate([e.ravel() for e in extra])
        if np.linalg.matrix_rank(np.column_stack((X_all, x_new))) <= P:
            continue  # no indirect evidence: delta is not identified
        aug = [(y, V, np.concatenate((X, e[:, :, None]), axis=2))
               for (y, V, X), e in zip(blocks, extra, strict=True)]
        fit = notes.run(f"the split of {names[ia]} vs {names[ib]}", _network_fit.fit, aug, P + 1, method)
        if not fit.converged:
            notes.add(f"the REML/ML iterations of the split of {names[ia]} vs {names[ib]} did not converge",
                      ConvergenceWarning)
        ind = np.zeros(P + 1)
        if ta in pcol:
            ind[pcol[ta]] += 1.0
        if tb in pcol:
            ind[pcol[tb]] -= 1.0
        dirv = ind.copy()
        dirv[P] = 1.0
        est_i, est_d, diff = float(ind @ fit.beta), float(dirv @ fit.beta), float(fit.beta[P])
        se_i = math.sqrt(float(ind @ fit.vcov @ ind))
        se_d = math.sqrt(float(dirv @ fit.vcov @ dirv))
        se_diff = math.sqrt(float(fit.vcov[P, P]))
        net = float(beta[ia] - beta[ib])
        se_net = math.sqrt(max(float(vc[ia, ia] + vc[ib, ib] - 2.0 * vc[ia, ib]), 0.0))
        out.append({"treat1": names[ia], "treat2": names[ib],
                    "k_direct": sum(1 for ts in trial_t.values() if {ta, tb} <= ts),
                    "network": net, "network_se": se_net,
                    "direct": est_d, "direct_se": se_d, "direct_ci_low": est_d - z * se_d,
                    "direct_ci_high": est_d + z * se_d,
                    "indirect": est_i, "indirect_se": se_i, "indirect_ci_low": est_i - z * se_i,
                    "indirect_ci_high": est_i + z * se_i,
                    "difference": diff, "difference_se": se_diff, "stat": diff / se_diff,
                    "pval": float(inference.two_sided_p(diff / se_diff)), "tau2": fit.tau2})
    return out


def _dodo(active, labels, used, col, beta, vc, con, level, seed, measure):
    if isinstance(active, str):
        active = [a.strip() for a in active.split(",") if a.strip()]
    codes = []
    for a in active:
        c = _treatment_code(a, labels, "active treatment")
        if c not in col:
            raise InputError(f"active treatment {labels[c]!r} is in no trial with complete data",
                             expected="treatments of the network")
        if c not in codes:
            codes.append(c)
    a = len(codes)
    if a < 2:
        raise InputError(f"active={list(active)!r} names {a} treatment",
                         expected="two active treatments or more")
    j = np.array([col[c] for c in codes])
    theta = beta[j]
    S = vc[np.ix_(j, j)]
    L = np.hstack([-np.ones((a - 1, 1)), np.eye(a - 1)])
    Lt = L @ theta
    LSL = L @ S @ L.T
    LL = L @ L.T

    def qfun(t2):
        return float(Lt @ np.linalg.solve(LSL + t2 * LL, Lt))

    q0 = qfun(0.0)
    df = a - 1
    pval = float(dist.chi2_sf(q0, df))
    alpha = 1.0 - level / 100.0
    tau2_hat = _root(qfun, df, q0)
    ci_low = _root(qfun, float(dist.chi2_ppf(1.0 - alpha / 2.0, df)), q0)
    ci_high = _root(qfun, float(dist.chi2_ppf(alpha / 2.0, df)), q0)
    share = share_ci = None
    if measure == "SMD":  # effects in units of the within-group SD: technique's share of the outcome variance
        share = tau2_hat / (1.0 + tau2_hat)
        share_ci = [ci_low / (1.0 + ci_low), 1.0 if math.isinf(ci_high) else ci_high / (1.0 + ci_high)]
    return {"active": [labels[c] for c in codes], "q": q0, "df": df, "pval": pval, "tau2_technique": tau2_hat,
            "tau2_technique_ci": [ci_low, ci_high], "share": share, "share_ci": share_ci,
            "wampold": _wampold(codes, con, labels, seed)}


def _root(qfun, target, q0):
    """The tau2 >= 0 where the decreasing Q(tau2) equals ``target`` (0 when Q(0) <= target)."""
    if q0 <= target:
        return 0.0
    hi = 1.0
    while qfun(hi) > target:
        hi *= 4.0
        if hi > 1e12:
            return math.inf
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if qfun(mid) > target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def _wampold(codes, con, labels, seed):
    """Wampold et al. (1997): within-trial comparisons of two active treatments, random signs, Cochran's Q."""
    act = set(codes)
    ds, vs = [], []
    for d, g in con.groups.items():
        for r in range(g["y"].shape[0]):
            y = np.concatenate(([0.0], g["y"][r]))
            tr = np.concatenate(([g["base"][r]], g["treat"][r])).astype(int)
            V = np.zeros((d + 1, d + 1))
            V[1:, 1:] = g["V"][r]
            for p in range(d + 1):
                for q in range(p + 1, d + 1):
                    if tr[p] in act and tr[q] in act:
                        ds.append(y[q] - y[p])
                        vs.append(V[q, q] + V[p, p] - 2.0 * V[p, q])
    k = len(ds)
    if k < 2:
        return {"k": k, "q": None, "df": None, "pval": None, "mean_abs": None, "seed": seed}
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=k)
    d = np.array(ds) * signs
    w = 1.0 / np.array(vs)
    mean = float(np.sum(w * d) / w.sum())
    q = float(np.sum(w * (d - mean) ** 2))
    return {"k": k, "q": q, "df": k - 1, "pval": float(dist.chi2_sf(q, k - 1)),
            "mean": mean, "mean_abs": float(np.sum(w * np.abs(d)) / w.sum()), "seed": seed}
