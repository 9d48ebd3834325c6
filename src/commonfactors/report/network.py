"""The network pages of the report site: the shipped network meta-analyses of ``hasselblad1998`` and of the
Metapsy depression database (``analyses/hasselblad1998_network.py``,
``analyses/metapsy_depression_network.py``).

:func:`context` fits a network through the public API (:func:`commonfactors.network_meta_analysis`, with the
data, options and active treatments of the shipped analysis, node splitting and the contributions of the
designs added) and returns what its page shows as plain data; :func:`job` draws its figures (in a worker
process when the site has a pool) and :func:`write` writes the page.

What a page shows: the network graph (Salanti, Kavvoura & Ioannidis 2008), each treatment against the
reference with confidence and prediction intervals, the league table of every pair, P-scores (Rücker &
Schwarzer 2015, BMC Med. Res. Methodol. 15, 58) and SUCRA with the mean rank and the probability of being
best from simulated ranks (Salanti, Ades & Ioannidis 2011, J. Clin. Epidemiol. 64(2), 163-171), the
design-by-treatment inconsistency test (Higgins et al. 2012, Res. Synth. Methods 3(2), 98-110) with Q split
within and between designs, node splitting (Dias et al. 2010, Stat. Med. 29(7-8), 932-944), the contribution
of each design to each estimate (Papakonstantinou et al. 2018, Res. Synth. Methods 9(3), 440-453), and the
Dodo-bird test among the active treatments with Wampold et al.'s (1997) test of head-to-head comparisons.
"""

from __future__ import annotations

import csv
import html
import importlib.util
import math
import re
import warnings
from pathlib import Path

from .._format import fmt_p
from .practice import interval, num
from .render import Drawing, Table

#: The network pages: key -> (analysis in ``analyses/``, page file, title in the navigation).
NETWORKS = {
    "hasselblad1998": ("hasselblad1998_network", "network-hasselblad1998.html",
                       "Network: smoking cessation (Hasselblad 1998)"),
    "metapsy": ("metapsy_depression_network", "network-metapsy-depression.html",
                "Network: depression psychotherapies (Metapsy)"),
}


def _analysis(name: str):
    """The shipped analysis module ``analyses/<name>.py``."""
    from ..reproduce import ANALYSES_DIR

    path = Path(ANALYSES_DIR) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"commonfactors_analyses.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fit(key: str):
    """The network of page ``key``: the shipped analysis's data, options and active treatments, with node
    splitting and the contributions of the designs."""
    import commonfactors as cf

    mod = _analysis(NETWORKS[key][0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cf.errors.DroppedRowsWarning)  # rows left out by the stated rule
        if key == "hasselblad1998":
            return cf.network_meta_analysis(cf.load_dataset(mod.DATASET), study="study", treatment="trt",
                                            events="xi", n="ni", measure="OR", add=0.5, to="all",
                                            reference="no_contact", small_values="bad", active=mod.ACTIVE,
                                            contributions=True, node_split=True)
        return cf.network_meta_analysis(mod.arms(), study="study", treatment="trt", mean="mean", sd="sd",
                                        n="n", measure="SMD", reference="cau", active=mod.ACTIVE,
                                        contributions=True, node_split=True)


# ------------------------------------------------------------------------------------------------------
# text of the analysis's docstring, as paragraphs and numbered lists of plain text and code

_INLINE = re.compile(r"``(.+?)``|:\w+:`~?([^`]+)`")


def _segments(text: str) -> list[tuple[str, bool]]:
    """``text`` as (text, is_code) pieces: reST literals and roles become code, the rest plain text."""
    out, at = [], 0
    text = " ".join(text.split())
    for m in _INLINE.finditer(text):
        if m.start() > at:
            out.append((text[at:m.start()], False))
        out.append((m.group(1) or m.group(2).split(".")[-1], True))
        at = m.end()
    if at < len(text):
        out.append((text[at:], False))
    return out


def blocks(doc: str) -> list[dict]:
    """A docstring as blocks: ``{"kind": "p", "text": segments}`` or ``{"kind": "ol", "items": [...]}``."""
    out = []
    for para in re.split(r"\n\s*\n", doc.strip()):
        lines = para.strip().split("\n")
        if re.match(r"\d+\.\s", lines[0]):
            items, current = [], []
            for line in lines:
                if re.match(r"\d+\.\s", line) and current:
                    items.append(current)
                    current = []
                current.append(re.sub(r"^\d+\.\s+", "", line.strip()))
            items.append(current)
            out.append({"kind": "ol", "items": [_segments(" ".join(i)) for i in items]})
        else:
            out.append({"kind": "p", "text": _segments(" ".join(line.strip() for line in lines))})
    return out


def segments_html(segments) -> str:
    """Segments as escaped HTML (code in ``<code>``)."""
    return "".join(f"<code>{html.escape(t)}</code>" if code else html.escape(t) for t, code in segments)


# ------------------------------------------------------------------------------------------------------
# the page's content


def _scale(res):
    """(transform, name of the scale, digits) of the displayed effects: ratios for OR and RR."""
    if res.measure in ("OR", "RR"):
        return math.exp, {"OR": "odds ratio", "RR": "risk ratio"}[res.measure], 2
    return (lambda x: x), {"SMD": "Hedges' g", "MD": "mean difference", "RD": "risk difference"}.get(
        res.measure, "effect"), 2


def _est(res, est, lo, hi) -> tuple[str, str]:
    tf, _, digits = _scale(res)
    return num(tf(est), digits), interval(tf(lo), tf(hi), digits)


def league(res) -> dict:
    """The league table: rows and columns the treatments in P-score order, the cell in row A and column B
    (below the diagonal) the effect of A against B with its confidence interval."""
    order = [p["treatment"] for p in sorted(res.pscore, key=lambda p: (-p["pscore"], p["treatment"]))]
    pairs = {}
    for r in res.league:
        pairs[(r["treat1"], r["treat2"])] = (r["estimate"], r["ci_low"], r["ci_high"])
        pairs[(r["treat2"], r["treat1"])] = (-r["estimate"], -r["ci_high"], -r["ci_low"])
    rows = []
    for i, a in enumerate(order):
        cells = []
        for j, b in enumerate(order):
            if j < i:
                e, lo, hi = pairs[(a, b)]
                est, ci = _est(res, e, lo, hi)
                cells.append({"kind": "pair", "estimate": est, "ci": ci, "title": f"{a} vs {b}"})
            elif j == i:
                cells.append({"kind": "name", "estimate": a, "ci": "", "title": a})
            else:
                cells.append({"kind": "empty", "estimate": "", "ci": "", "title": ""})
        rows.append(cells)
    return {"order": order, "rows": rows}


def _published_technique() -> dict:
    """The published technique estimate of the variance pie (its default component) and its row in
    ``data/published/estimates.csv``."""
    from ..datasets import DATA_DIR
    from ..factors.pie import default_components

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the other factors' notes, shown with the pie on the index
        comp = next(c for c in default_components() if c.factor == "technique")
    row = None
    with open(DATA_DIR / "published" / "estimates.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["factor"] == "technique" and r["source"].startswith(comp.sources[0].split(",")[0]) \
                    and r["estimate"] and float(r["estimate"]) == comp.estimate:
                row = r
                break
    d = comp.estimate
    share = d * d / (d * d + 4)  # r^2 with r = d / sqrt(d^2 + 4) (Borenstein et al. 2009, eq. 7.7)
    out = {"source": comp.sources[0], "metric": comp.metric, "estimate": num(comp.estimate, 2),
           "share": num(share, 4), "what": "", "ci": "", "verified": ""}
    if row is not None:
        out.update(what=row["subfactor"], verified=row["verified"],
                   ci=f"[{row['ci_low']}, {row['ci_high']}]" if row["ci_low"] and row["ci_high"] else "")
    return out


def context(key: str, res=None) -> dict:
    """What page ``key`` shows, from :func:`fit` (computed when not given)."""
    import commonfactors as cf

    name, page, title = NETWORKS[key]
    res = fit(key) if res is None else res
    mod = _analysis(name)
    citation = cf.load_dataset(mod.DATASET).attrs["citation"]
    tf, scale, digits = _scale(res)
    level = f"{res.level:g}"
    ps = {p["treatment"]: p["pscore"] for p in res.pscore}
    sucra = {s["treatment"]: s for s in res.sucra}
    effects = []
    for e in sorted(res.effects, key=lambda e: e["estimate"], reverse=res.small_values == "bad"):
        est, ci = _est(res, e["estimate"], e["ci_low"], e["ci_high"])
        effects.append({"treatment": e["treatment"], "estimate": est, "ci": ci,
                        "pi": interval(tf(e["pi_low"]), tf(e["pi_high"]), digits),
                        "raw": f"{num(e['estimate'])} ({num(e['se'])})", "p": fmt_p(e["pval"])})
    ranks = [{"treatment": t, "pscore": num(ps[t], 3), "sucra": num(sucra[t]["sucra"], 3),
              "mean_rank": num(sucra[t]["mean_rank"], 2), "p_best": num(sucra[t]["p_best"], 3)}
             for t in sorted(ps, key=lambda t: (-ps[t], t))]
    inc = res.inconsistency
    inconsistency = {"q": num(inc["q"], 2), "df": inc["df"], "p": fmt_p(inc["pval"]),
                     "n_designs": inc["n_designs"], "q_total": num(inc["q_total"], 2),
                     "df_total": inc["df_total"], "p_total": fmt_p(inc["pval_total"]),
                     "q_within": num(inc["q_within"], 2), "df_within": inc["df_within"],
                     "p_within": fmt_p(inc["pval_within"]), "q_between": num(inc["q_between"], 2),
                     "df_between": inc["df_between"], "p_between": fmt_p(inc["pval_between"]),
                     "tau2": num(inc["tau2"])}
    splits = []
    for s in res.node_split or ():
        if not s.get("k_direct") or s.get("indirect") is None or not math.isfinite(s["indirect"]):
            continue
        splits.append({"comparison": f"{s['treat1']} vs {s['treat2']}", "k": s["k_direct"],
                       "direct": f"{num(s['direct'])} {interval(s['direct_ci_low'], s['direct_ci_high'])}",
                       "indirect": f"{num(s['indirect'])} "
                                   f"{interval(s['indirect_ci_low'], s['indirect_ci_high'])}",
                       "difference": f"{num(s['difference'])} ({num(s['difference_se'])})",
                       "p": fmt_p(s["pval"]), "small": s["pval"] < 0.05})
    contributions = None
    frame = res.contributions()
    if frame is not None and len(frame):
        vs_ref = frame[(frame["treat1"] == res.reference) | (frame["treat2"] == res.reference)]
        rows = []
        for comp, g in vs_ref.groupby("comparison", sort=True):
            g = g.sort_values("percent", ascending=False, kind="stable")
            top = "; ".join(f"{d} {num(p, 1)}%"
                            for d, p in zip(g["design"][:3], g["percent"][:3], strict=True))
            alone = float(g.loc[g["design"] == comp.replace(" vs ", ":"), "percent"].sum())
            rows.append({"comparison": comp, "top": top, "n": int((g["percent"] >= 1).sum()),
                         "direct": num(alone, 1)})
        contributions = {"rows": rows, "file": Table(frame, f"network-{key}-contributions"),
                         "n_designs": len(res.designs)}
    dodo = None
    if res.dodo:
        d = res.dodo
        w = d.get("wampold") or {}
        dodo = {"active": ", ".join(d["active"]), "n_active": len(d["active"]), "q": num(d["q"], 2),
                "df": d["df"], "p": fmt_p(d["pval"]), "tau2": num(d["tau2_technique"]),
                "tau2_ci": interval(*d["tau2_technique_ci"]) if d.get("tau2_technique_ci") else "NA",
                "share": None if d.get("share") is None else num(d["share"]),
                "share_pct": None if d.get("share") is None else num(100 * d["share"], 2),
                "share_ci": interval(*d["share_ci"]) if d.get("share_ci") else "NA",
                "wampold": {"k": w.get("k"), "q": num(w.get("q"), 2), "df": w.get("df"),
                            "p": fmt_p(w.get("pval")), "seed": w.get("seed"),
                            "mean_abs": num(w.get("mean_abs"), 3)} if w else None}
    graph_nodes = [{"treatment": nd["treatment"], "n": "" if nd["n"] is None else f"{nd['n']:.0f}",
                    "k": nd["k"]} for nd in res.graph["nodes"]]
    out = {
        "key": key, "page": page, "title": title, "analysis": name, "analysis_page": f"analysis-{name}.html",
        "doc": blocks(mod.__doc__ or ""),
        "dataset": {"id": mod.DATASET, "title": cf.datasets.describe(mod.DATASET).title,
                    "citation": citation},
        "measure": res.measure, "scale": scale, "method": res.method, "level": level,
        "reference": res.reference, "k": res.k, "n_contrasts": res.n_contrasts,
        "n_treatments": len(res.treatments), "tau2": num(res.tau2), "tau": num(math.sqrt(res.tau2)),
        "better": "smaller" if res.small_values == "good" else "larger",
        "qe": num(res.qe["q"], 2) if isinstance(res.qe, dict) else num(res.qe, 2),
        "effects": effects, "ranks": ranks, "league": league(res), "inconsistency": inconsistency,
        "splits": splits, "contributions": contributions, "dodo": dodo, "nodes": graph_nodes,
        "n_sim": res.n_sim, "seed": res.seed,
        "graph": Drawing("network_graph", f"network-{key}-graph", (res,)),
        "forest": Drawing("network_forest", f"network-{key}-forest", (res,)),
        "published": _published_technique() if res.measure == "SMD" and dodo else None,
        "warnings": list(res.warnings),
    }
    return out


def job(root: str, key: str) -> dict:
    """Fit network ``key`` and draw its figures into the site folder ``root`` (run in a worker process when
    the site has a pool); the page's content with the links of its figures and tables."""
    from .render import Writer, draw

    return draw(Writer(Path(root), with_env=False), context(key))


def write(w, page: dict, nav) -> dict:
    """Write the page of ``page`` (from :func:`job`) with ``w``; its entry for the index."""
    from . import render

    page = {**page, "doc_html": [
        {"kind": b["kind"], "html": render.markup(segments_html(b["text"]))} if b["kind"] == "p" else
        {"kind": "ol", "items": [render.markup(segments_html(i)) for i in b["items"]]} for b in page["doc"]]}
    w.page(page["page"], "network.html", title=page["title"], net=page, nav=nav)
    blurb = (f"{page['k']} trials, {page['n_treatments']} treatments: network graph, league table, rankings, "
             "inconsistency" + (", the Dodo-bird test" if page["dodo"] else "") + ".")
    return {"page": page["page"], "title": page["title"], "blurb": blurb}
