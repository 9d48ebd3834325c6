"""The practice page of the report site: therapist effects, therapist development and routine outcome
monitoring in the shipped synthetic practice (``synthetic_practice``).

:func:`context` fits the models through the public API and returns what the page shows as plain data
(numbers formatted for display, tables as lists of rows, figures as :class:`~.render.Drawing`);
:func:`build` draws the figures and writes ``practice.html``. Every number comes from one fit of the
shipped file, so the page is the same on every build.

Models
------
- Therapist effects (:func:`commonfactors.therapist_effects`): the last session's score given the first
  (intake) score, clients nested in therapists, ``score ~ baseline + (1 | therapist)`` by REML, the ICC with
  its profile-likelihood interval; then with sites as a third level, ``(1 | site) + (1 | therapist)``, giving
  the therapists' and the sites' shares (Firth, Saxon, Stiles & Barkham 2019, J. Consult. Clin. Psychol.
  87(4), 345-356, fit the same null three-level model to clinics, therapists and patients).
- Development (:func:`commonfactors.therapist_development`): one row per client (intake score, last score,
  the therapist's years of experience when the client started), ``score ~ years + baseline +
  (1 + years | therapist)``, the slope with Satterthwaite's df (lmerTest), and one therapist against the
  practice's benchmark (:func:`commonfactors.therapist_benchmark`; Saxon & Barkham 2012, J. Consult. Clin.
  Psychol. 80(4), 535-546: therapists compared at average intake severity).
- Monitoring (:func:`commonfactors.monitor` with the ORS preset): Jacobson & Truax (1991) categories, early
  response, not-on-track flags against expected curves fitted from these data.
"""

from __future__ import annotations

import csv
import math
import warnings

from .._format import fmt, fmt_p
from .render import Drawing

#: The page's file and its title in the navigation.
PAGE = "practice.html"
TITLE = "Therapist effects and monitoring (synthetic practice)"
#: The shipped dataset the page analyses.
DATASET = "synthetic_practice"
#: The arguments of :func:`commonfactors.simulate_practice` that generated the shipped file (its
#: ``synthetic_practice.md``; ``tests/test_report_practice.py`` checks that they give the shipped scores).
GENERATOR = {"n_therapists": 50, "n_clients": 20, "icc": 0.05, "n_sessions": 8, "sites": 5, "site_icc": 0.02,
             "dropout": 0.1, "years": 10, "years_slope": -0.1, "seed": 2026}
#: The command that generated it.
COMMAND = ("commonfactors simulate-practice --therapists 50 --clients 20 --icc 0.05 --sessions 8 --sites 5 "
           "--site-icc 0.02 --dropout 0.1 --years 10 --years-slope -0.1 --seed 2026 "
           "--out data/synthetic_practice.csv")
#: The instrument preset of the monitoring section.
INSTRUMENT = "ORS"


def num(x, digits: int = 4) -> str:
    """``x`` rounded for display; a value that rounds to zero is printed without a minus sign."""
    text = fmt(x, digits)
    if text.startswith("-") and text.strip("-0.") == "":
        return text[1:]
    return text


def interval(lo, hi, digits: int = 4) -> str:
    """``[lo, hi]`` rounded for display ("NA" when either is missing)."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "NA"
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def _quiet(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` and the messages of the warnings it issued (shown on the page)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    seen = []
    for w in caught:
        if str(w.message) not in seen:
            seen.append(str(w.message))
    return out, seen


def per_client(data):
    """One row per client with two or more sessions: ``client``, ``therapist``, ``site``, ``years``,
    ``baseline`` (the first session's score) and ``score`` (the last session's), in the file's order of
    clients. The same clients and scores as :func:`commonfactors.therapist_effects` with ``session=``."""
    import pandas as pd

    d = data.sort_values(["client", "session"], kind="stable")
    g = d.groupby("client", sort=False)
    first, last, size = g.first(), g.last(), g.size()
    out = pd.DataFrame({"client": first.index.to_numpy(), "therapist": first["therapist"].to_numpy(),
                        "site": first["site"].to_numpy(), "years": first["years"].to_numpy(),
                        "baseline": first["score"].to_numpy(), "score": last["score"].to_numpy()})
    return out[size.to_numpy() > 1].reset_index(drop=True)


def fits(data=None) -> dict:
    """The page's fitted results on ``data`` (default: the shipped file): ``two_level``, ``three_level``
    (TherapistResult), ``development`` (DevelopmentResult), ``benchmark`` (the table of
    :func:`commonfactors.therapist_benchmark` for ``benchmark_therapist``), ``monitor`` (MonitorResult), and
    the warnings each issued."""
    import numpy as np

    import commonfactors as cf

    d = cf.load_dataset(DATASET) if data is None else data
    common = {"outcome": "score", "therapist": "therapist", "client": "client", "session": "session"}
    two, w2 = _quiet(cf.therapist_effects, d, **common)
    three, w3 = _quiet(cf.therapist_effects, d, site="site", **common)
    clients = per_client(d)
    dev, wd = _quiet(cf.therapist_development, clients, outcome="score", therapist="therapist", time="years",
                     client="client", baseline="baseline")
    # the therapist drawn against the benchmark: the one furthest above it at the mean experience
    slopes = dev.slopes
    pick = slopes["therapist"].iloc[int(np.argmax(slopes["ranef_intercept"].to_numpy()))]
    own = sorted(set(clients.loc[clients["therapist"] == pick, "years"].tolist()))
    grid = np.round(np.linspace(0.0, float(np.ceil(clients["years"].max())), 41), 2).tolist()
    bench = cf.therapist_benchmark(dev, pick, times=sorted(set(grid) | set(own)))
    mon, wm = _quiet(cf.monitor, d, client="client", session="session", score="score", therapist="therapist",
                     instrument=INSTRUMENT)
    return {"data": d, "clients": clients, "two_level": two, "three_level": three, "development": dev,
            "benchmark": bench, "benchmark_therapist": pick, "monitor": mon,
            "warnings": {"two_level": w2, "three_level": w3, "development": wd, "monitor": wm}}


def _coefficients(frame, df: bool = False) -> list[dict]:
    rows = []
    for r in frame.to_dict("records"):
        rows.append({"term": r["term"], "estimate": num(r["estimate"]), "se": num(r["se"]),
                     "df": num(r["df"], 2) if df else None, "stat": num(r["stat"], 3),
                     "p": fmt_p(r["pval"]), "ci": interval(r["ci_low"], r["ci_high"])})
    return rows


def _share(x) -> str:
    """A variance share in percent, two decimals."""
    return f"{num(100 * x, 2)}%"


def published_therapist_rows() -> list[dict]:
    """The shipped published estimates of therapist and clinic effects (``data/published/estimates.csv``,
    factor "therapist", shares of variance) with their checked flags."""
    from ..datasets import DATA_DIR

    rows = []
    with open(DATA_DIR / "published" / "estimates.csv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            if r["factor"] == "therapist" and r["es_type"].startswith("pct_variance"):
                low, high = r["ci_low"], r["ci_high"]
                rng = f"{low.split(' ')[0]} to {high.split(' ')[0]}" if low and high else ""
                rows.append({"what": r["subfactor"], "source": r["source"], "year": r["year"],
                             "therapists": r["k"], "patients": r["n_patients"],
                             "share": f"{r['estimate']}%", "range": rng, "verified": r["verified"]})
    return rows


def context(results: dict | None = None) -> dict:
    """What the practice page shows, from :func:`fits` (computed when not given)."""
    import commonfactors as cf

    f = fits() if results is None else results
    d, two, three, dev, mon = f["data"], f["two_level"], f["three_level"], f["development"], f["monitor"]
    desc = cf.datasets.describe(DATASET)
    truth_two = GENERATOR["icc"] + GENERATOR["site_icc"]
    level = f"{two.level:g}"
    icc = {
        "level": level,
        "two": {"icc": num(two.icc), "ci": interval(two.ci_low, two.ci_high), "truth": num(truth_two, 2),
                "var_therapist": num(two.var_therapist), "var_residual": num(two.var_residual),
                "share": _share(two.icc), "n_clients": two.n_clients, "n_therapists": two.n_therapists,
                "dropped": two.dropped, "formula": two.formula},
        "three": {"icc": num(three.icc), "ci": interval(three.ci_low, three.ci_high),
                  "truth": num(GENERATOR["icc"], 2), "icc_site": num(three.icc_site),
                  "truth_site": num(GENERATOR["site_icc"], 2), "var_therapist": num(three.var_therapist),
                  "var_site": num(three.var_site), "var_residual": num(three.var_residual),
                  "share": _share(three.icc), "share_site": _share(three.icc_site), "n_sites": three.n_sites,
                  "formula": three.formula},
        "n_flagged": two.n_flagged, "expected_flagged": num(two.expected_flagged, 1),
        "fixed": _coefficients(two.coefficients),
        "warnings": f["warnings"]["two_level"],
        "caterpillar": Drawing("caterpillar", "practice-caterpillar", (two,)),
    }
    c = dev
    development = {
        "formula": "score ~ years + baseline + (1 + years | therapist)",
        "n": c.n, "n_therapists": c.n_therapists,
        "slope": num(c.slope), "slope_se": num(c.slope_se), "slope_df": num(c.slope_df, 2),
        "slope_p": fmt_p(c.slope_pval), "slope_ci": interval(c.slope_ci_low, c.slope_ci_high),
        "level": f"{c.level:g}", "truth": num(GENERATOR["years_slope"], 2),
        "sd_slope": num(c.sd_slope), "sd_intercept": num(c.sd_intercept), "sigma": num(c.sigma),
        "singular": bool(c.singular),
        "fixed": _coefficients(c.coefficients, df=True),
        "warnings": f["warnings"]["development"],
        "therapist": f["benchmark_therapist"],
        "figure": Drawing("benchmark", "practice-benchmark", (f["benchmark"],),
                          {"therapist": f"therapist {f['benchmark_therapist']}",
                           "time": "therapist's years of experience", "outcome": "last session's score",
                           "level": c.level}),
    }
    development["n_slopes_flagged"] = int(((c.slopes["ci_low"] > 0) | (c.slopes["ci_high"] < 0)).sum())

    ins = mon.instrument
    values = []
    for key, label in (("low", "lowest score"), ("high", "highest score"), ("higher_is_better", "direction"),
                       ("cutoff", "clinical cutoff"), ("rc_change", "reliable change (points)")):
        v = ins[key]
        shown = ("higher is better" if v["value"] else "lower is better") if key == "higher_is_better" \
            else f"{v['value']:g}"
        values.append({"name": label, "value": shown, "status": v["status"],
                       "checked": "yes" if v["checked"] else "no", "source": v["source"]})
    n_cat = sum(mon.counts.values())
    categories = [{"name": k, "n": v, "pct": num(100 * v / n_cat, 1)} for k, v in mon.counts.items()]
    fl = mon.flags
    ended = [{"name": k, "flagged": fl["flagged_outcomes"][k], "not_flagged": fl["not_flagged_outcomes"][k]}
             for k in mon.counts]
    monitoring = {
        "instrument": f"{ins['name']} ({ins['title']})",
        "values": values,
        "n_clients": mon.n_clients, "n_rows": mon.n_rows, "n_single": mon.n_single_session,
        "n_categorised": n_cat, "categories": categories,
        "early": {"session": mon.early["session"], "n": mon.early["n_responders"],
                  "of": mon.early["n_assessed"], "pct": num(100 * mon.early["rate"], 1)},
        "flags": {"n": fl["n_flagged"], "of": fl["n_clients"], "pct": num(100 * fl["rate"], 1),
                  "scores": fl["n_scores_flagged"], "of_scores": fl["n_scores"],
                  "off_track": fl["n_off_track"],
                  "deteriorated": fl["n_deteriorated"], "alpha": f"{100 * (1 - mon.alpha):g}"},
        "ended": ended,
        "curves": [{"term": r["name"], "estimate": num(r["estimate"]), "se": num(r["se"])}
                   for r in mon.curves["coefficients"]],
        "curves_formula": mon.curves["formula"],
        "curves_note": mon.curves_note,
        "warnings": f["warnings"]["monitor"],
        "figure": Drawing("monitor_curves", "practice-monitoring", (mon,)),
    }
    return {
        "dataset": {"id": DATASET, "title": desc.title, "citation": d.attrs.get("citation", ""),
                    "rows": len(d),
                    "clients": int(d["client"].nunique()), "therapists": int(d["therapist"].nunique()),
                    "sites": int(d["site"].nunique()), "command": COMMAND},
        "truth": {"icc": num(GENERATOR["icc"], 2), "site_icc": num(GENERATOR["site_icc"], 2),
                  "two_level": num(truth_two, 2), "years_slope": num(GENERATOR["years_slope"], 2),
                  "dropout": num(GENERATOR["dropout"], 2)},
        "icc": icc,
        "development": development,
        "monitoring": monitoring,
        "published": published_therapist_rows(),
    }


def job(root: str) -> dict:
    """Fit the models and draw the page's figures into the site folder ``root`` (run in a worker process
    when the site has a pool); the page's content with the links of its figures and files."""
    from pathlib import Path

    from ..datasets import DATA_DIR
    from .render import Writer, draw

    w = Writer(Path(root), with_env=False)
    page = draw(w, context())
    page["dataset"]["file"] = w.copy(DATA_DIR / f"{DATASET}.csv", f"{DATASET}.csv")
    page["dataset"]["readme"] = w.copy(DATA_DIR / f"{DATASET}.md", f"{DATASET}.md")
    page["published_file"] = "data/published/estimates.csv"  # copied by the site for the index
    return page


def write(w, page: dict, nav) -> dict:
    """Write :data:`PAGE` from ``page`` (from :func:`job`) with ``w``; the page's entry for the index."""
    w.page(PAGE, "practice.html", title=TITLE, page=page, nav=nav)
    return {"page": PAGE, "title": TITLE,
            "blurb": "Therapist effects (ICC with interval, caterpillar plot), therapists' development with "
                     "experience, and routine outcome monitoring, in a synthetic practice."}
