"""Result of network_meta_analysis(): each treatment against the reference, every pair (league table), the
rankings, the inconsistency tests and the Dodo-bird test."""

from __future__ import annotations

from dataclasses import dataclass

from .._format import Summary, fmt, fmt_p, jsonable, table
from .._plotting import draw
from ._table import Printable, frame, pval_eq

#: the columns of ``effects`` (and of ``to_frame()``) and of ``league``
EFFECT_COLUMNS = ("treatment", "estimate", "se", "stat", "pval", "ci_low", "ci_high", "pi_low", "pi_high")
CONTRIBUTION_COLUMNS = ("treat1", "treat2", "comparison", "design", "percent")
LEAGUE_COLUMNS = ("treat1", "treat2", "estimate", "se", "pval", "ci_low", "ci_high", "pi_low", "pi_high")


@dataclass(frozen=True, repr=False)
class NetworkResult(Printable):
    """Result of network_meta_analysis(). Field names are the command line's JSON keys; nothing is rounded.

    ``effects``: one dict per treatment other than the ``reference`` (treatment, estimate, se, stat, pval,
    ci_low, ci_high, pi_low, pi_high), on the scale of ``measure`` (log scale for OR and RR). ``league``:
    every pair, ``estimate`` = treat1 vs treat2. ``vcov``: the covariance of the effects of ``treatments``
    against the reference (its row and column zero). ``pscore``: P-scores; ``sucra``: SUCRA, mean rank and the
    probability of being best from ``n_sim`` draws (``seed``); ``small_values`` says which direction is
    better. ``tau2``: the heterogeneity variance shared by all comparisons (0 for "FE"). ``k``: trials;
    ``n_contrasts``: contrasts (arms - 1 per trial). ``inconsistency``: the design-by-treatment test (``q``,
    ``df``, ``pval``, ``tau2`` of the design model) and Q total / within / between designs. ``dodo``: with
    active treatments, the Wald test of their equality (``q``, ``df``, ``pval``), ``tau2_technique`` with
    ``tau2_technique_ci`` and Wampold's randomly signed homogeneity test. ``graph``: nodes (participants
    ``n``, arms ``k``) and edges (trials ``k``) of the network. ``design_contributions`` (JSON
    ``contributions``): with ``contributions=True``, each design's percent share of each network estimate.
    """

    reference: str
    method: str
    measure: str | None
    level: float
    tau2: float
    k: int
    n_contrasts: int
    treatments: tuple
    effects: tuple
    league: tuple
    vcov: tuple
    pscore: tuple
    sucra: tuple
    small_values: str
    inconsistency: dict
    dodo: dict | None
    loglik: float
    qe: float
    converged: bool
    designs: tuple
    graph: dict
    n_sim: int
    seed: int
    node_split: tuple | None = None
    design_contributions: tuple | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {"reference": self.reference, "method": self.method, "measure": self.measure,
               "level": self.level, "tau2": self.tau2, "k": self.k, "n_contrasts": self.n_contrasts,
               "treatments": list(self.treatments), "effects": list(self.effects),
               "league": list(self.league),
               "vcov": [list(r) for r in self.vcov], "pscore": list(self.pscore), "sucra": list(self.sucra),
               "small_values": self.small_values, "inconsistency": self.inconsistency, "dodo": self.dodo,
               "loglik": self.loglik, "qe": self.qe, "converged": self.converged,
               "designs": list(self.designs),
               "graph": self.graph, "n_sim": self.n_sim, "seed": self.seed,
               "node_split": None if self.node_split is None else list(self.node_split),
               "contributions": (None if self.design_contributions is None
                                 else list(self.design_contributions)),
               "warnings": list(self.warnings)}
        return jsonable(out)

    def to_frame(self):
        """One row per treatment other than the reference: EFFECT_COLUMNS plus pscore and sucra."""
        ps = {r["treatment"]: r["pscore"] for r in self.pscore}
        su = {r["treatment"]: r["sucra"] for r in self.sucra}
        rows = [{**e, "pscore": ps[e["treatment"]], "sucra": su[e["treatment"]]} for e in self.effects]
        return frame(rows, (*EFFECT_COLUMNS, "pscore", "sucra"))

    def contributions(self):
        """The percent contribution of each design to each network estimate (CONTRIBUTION_COLUMNS: treat1 vs
        treat2, the design, percent; each comparison's percents add up to 100), as fitted with
        ``contributions=True`` (Papakonstantinou et al. 2018, the streams of the hat matrix's flow)."""
        if self.design_contributions is None:
            raise ValueError("the contributions were not computed: fit with network_meta_analysis(..., "
                             "contributions=True)")
        return frame(list(self.design_contributions), CONTRIBUTION_COLUMNS)

    def league_frame(self):
        """The league table, one row per pair (LEAGUE_COLUMNS)."""
        return frame(list(self.league), LEAGUE_COLUMNS)

    def plot_graph(self, ax=None, **options):
        """The network graph (nodes sized by participants, edges by trials); returns the matplotlib Axes."""
        return draw("network_graph", self, ax=ax, **options)

    def plot_forest(self, ax=None, **options):
        """Each treatment vs the reference with its confidence and prediction intervals; returns the Axes."""
        return draw("network_forest", self, ax=ax, **options)

    def summary(self) -> Summary:
        fit = {"REML": "Random-Effects Network Model (REML)", "ML": "Random-Effects Network Model (ML)",
               "FE": "Common-Effect Network Model"}[self.method]
        lv = f"{self.level:g}%"
        lines = [f"{fit}: {self.k} trials, {self.n_contrasts} contrasts, {len(self.treatments)} treatments"
                 + (f", measure {self.measure}" if self.measure else ""), ""]
        if self.method != "FE":
            lines += [f"tau^2 (shared by all comparisons, rho = 1/2): {fmt(self.tau2)} "
                      f"(tau = {fmt(self.tau2 ** 0.5)})", ""]
        inc = self.inconsistency
        lines.append(f"Test for heterogeneity: Q(df = {inc['df_total']}) = {fmt(inc['q_total'])}, "
                     f"p-val {pval_eq(inc['pval_total']) if inc['pval_total'] is not None else 'NA'}")
        if inc["q"] is not None:
            lines.append(f"Design-by-treatment inconsistency: Q(df = {inc['df']}) = {fmt(inc['q'])}, "
                         f"p-val {pval_eq(inc['pval'])}  (within designs Q = {fmt(inc['q_within'])}, "
                         f"between designs Q = {fmt(inc['q_between'])})")
        else:
            lines.append("Design-by-treatment inconsistency: not testable (no loop of different designs)")
        if self.node_split:
            rows = [[f"{r['treat1']} vs {r['treat2']}", str(r["k_direct"]), fmt(r["direct"]),
                     fmt(r["indirect"]), fmt(r["network"]), fmt(r["difference"]), fmt(r["difference_se"]),
                     fmt_p(r["pval"])]
                    for r in self.node_split]
            lines += ["", "Node splitting (direct vs indirect evidence):",
                      table(["", "k", "direct", "indirect", "network", "diff", "se", "pval"], rows)]
        elif self.node_split is not None:
            lines += ["", "Node splitting: no comparison has both direct and indirect evidence"]
        if self.design_contributions:
            designs = sorted({r["design"] for r in self.design_contributions})
            comps = list(dict.fromkeys(r["comparison"] for r in self.design_contributions))
            pct = {(r["comparison"], r["design"]): r["percent"] for r in self.design_contributions}
            rows = [[d] + [f"{pct[(c, d)]:.1f}" if (c, d) in pct else "." for c in comps] for d in designs]
            lines += ["", "Contribution of each design to each network estimate (percent; columns:"]
            lines += [f"  {j + 1} = {c}" for j, c in enumerate(comps)]
            lines += ["):", table(["design"] + [str(j + 1) for j in range(len(comps))], rows)]
        ps = {r["treatment"]: r["pscore"] for r in self.pscore}
        su = {r["treatment"]: r["sucra"] for r in self.sucra}
        body = [[e["treatment"], fmt(e["estimate"]), fmt(e["se"]), fmt(e["stat"]), fmt_p(e["pval"]),
                 fmt(e["ci_low"]), fmt(e["ci_high"]), fmt(e["pi_low"]), fmt(e["pi_high"])]
                for e in self.effects]
        lines += ["", f"Treatments vs {self.reference} ({lv} confidence and prediction intervals):",
                  table(["", "estimate", "se", "zval", "pval", "ci.lb", "ci.ub", "pi.lb", "pi.ub"], body)]
        better = "smaller" if self.small_values == "good" else "larger"
        rank = sorted(self.treatments, key=lambda t: -ps[t])
        lines += ["", f"Rankings ({better} values are better; SUCRA from {self.n_sim} draws):",
                  table(["", "P-score", "SUCRA"], [[t, fmt(ps[t]), fmt(su[t])] for t in rank])]
        if self.dodo is not None:
            d = self.dodo
            lo, hi = d["tau2_technique_ci"]
            lines += ["", f"Dodo-bird test ({', '.join(d['active'])} equal): Q(df = {d['df']}) = "
                          f"{fmt(d['q'])}, p-val {pval_eq(d['pval'])}",
                      f"Between-technique variance: {fmt(d['tau2_technique'])}, {lv} CI "
                      f"[{fmt(lo)}, {fmt(hi)}]"]
            if d.get("share") is not None:
                lines.append(f"Share of the outcome variance owed to technique: {fmt(d['share'])}, {lv} CI "
                             f"[{fmt(d['share_ci'][0])}, {fmt(d['share_ci'][1])}]")
            w = d["wampold"]
            if w["q"] is not None:
                lines.append(f"Wampold et al. (1997), {w['k']} head-to-head comparisons with random signs "
                             f"(seed {w['seed']}): Q(df = {w['df']}) = {fmt(w['q'])}, "
                             f"p-val {pval_eq(w['pval'])}")
        return Summary("\n".join(lines), notes=self.warnings)
