"""The simulation page of the report site: which random-effects interval to trust with few studies.

:func:`context` runs a small simulation study in this process at build time, with a fixed seed, through the
public :func:`commonfactors.simulation_study`, and returns what the page shows as plain data (numbers
formatted for display, the table as rows, figures as :class:`~.render.Drawing`); :func:`job` draws the
figures into the site folder and :func:`write` writes ``simulation.html``. The same seed gives the same page
on every build, and :data:`COMMAND` reproduces the table on the command line.

The setting follows IntHout, Ioannidis & Borm (2014, BMC Medical Research Methodology 14, 25): few studies
(k = 5, 10, 20), no, moderate and large heterogeneity, the DerSimonian-Laird and REML estimators of tau2,
each with the Wald-type (z) interval and the Hartung-Knapp-Sidik-Jonkman (Knapp-Hartung) interval. They
found that with few studies and tau2 > 0 the Wald-type DL interval covers well below its nominal 95% (its
error rate far above 5%) while the Knapp-Hartung interval keeps close to 95%. The true mean effect is 0, so
the rejection rate is the type I error rate, 1 minus the coverage of the CI.
"""

from __future__ import annotations

import math

from .._format import fmt
from .render import Drawing, Table

#: The page's file and its title in the navigation.
PAGE = "simulation.html"
TITLE = "Simulation: intervals with few studies"
#: The study the page runs (arguments of :func:`commonfactors.simulation_study`).
SETTINGS = {"k": (5, 10, 20), "tau2": (0.0, 0.05, 0.2), "effect": (0.0,), "sizes": ("20-200",),
            "method": ("DL", "REML"), "test": ("z", "knha"), "reps": 5000, "seed": 20140225}
#: The command that writes the same table.
COMMAND = ("commonfactors simulate --k 5,10,20 --tau2 0,0.05,0.2 --effect 0 --sizes 20-200 --reps 5000 "
           "--method DL,REML --test z,knha --seed 20140225 --out simulation.csv")
SOURCE = ("IntHout, J., Ioannidis, J. P. A., & Borm, G. F. (2014). The Hartung-Knapp-Sidik-Jonkman method "
          "for random effects meta-analysis is straightforward and considerably outperforms the standard "
          "DerSimonian-Laird method. BMC Medical Research Methodology, 14, 25.")
DOI = "https://doi.org/10.1186/1471-2288-14-25"
TEST_NAMES = {"z": "Wald-type (z)", "knha": "Knapp-Hartung"}


def study():
    """The page's simulation study (:data:`SETTINGS`), run in this process."""
    from ..simulate import simulation_study

    return simulation_study(**SETTINGS, progress=False)


def _pm(value, se, digits: int = 3) -> str:
    if value is None or se is None or not math.isfinite(value):
        return "NA"
    return f"{fmt(value, digits)} ± {fmt(2 * se, digits)}"


def _row(r: dict) -> dict:
    return {"k": r["k"], "tau2": f"{r['tau2']:g}", "method": r["method"], "test": TEST_NAMES[r["test"]],
            "coverage": _pm(r["coverage"], r["coverage_mcse"]),
            "ci_width": _pm(r["ci_width"], r["ci_width_mcse"]),
            "rejection": _pm(r["rejection"], r["rejection_mcse"]),
            "tau2_bias": _pm(r["tau2_bias"], r["tau2_bias_mcse"], 4),
            "failures": r["failures"]}


def finding(result) -> dict:
    """The headline numbers: coverage at k = 5 of the DL Wald-type and DL Knapp-Hartung intervals for each
    tau2 > 0, with +-2 Monte Carlo SE; ``holds`` when every Wald-type one is below 0.93 and every
    Knapp-Hartung one within 0.93-0.97."""
    rows = [r for r in result.rows if r["k"] == 5 and r["tau2"] > 0 and r["method"] == "DL"]
    pairs = []
    for tau2 in sorted({r["tau2"] for r in rows}):
        wald = next(r for r in rows if r["tau2"] == tau2 and r["test"] == "z")
        knha = next(r for r in rows if r["tau2"] == tau2 and r["test"] == "knha")
        pairs.append({"tau2": f"{tau2:g}", "wald": _pm(wald["coverage"], wald["coverage_mcse"]),
                      "knha": _pm(knha["coverage"], knha["coverage_mcse"]),
                      "ok": wald["coverage"] < 0.93 and 0.93 <= knha["coverage"] <= 0.97})
    return {"pairs": pairs, "holds": all(p["ok"] for p in pairs)}


def context(result=None) -> dict:
    """What the page shows, from ``result`` (default: :func:`study` run now)."""
    result = study() if result is None else result
    return {
        "reps": result.reps,
        "seed": result.seed,
        "level": fmt(result.level, 0),
        "k": ", ".join(str(k) for k in SETTINGS["k"]),
        "tau2": ", ".join(f"{t:g}" for t in SETTINGS["tau2"]),
        "sizes": SETTINGS["sizes"][0],
        "command": COMMAND,
        "source": SOURCE,
        "doi": DOI,
        "finding": finding(result),
        "rows": [_row(r) for r in result.rows],
        "coverage": Drawing("simulation", "simulation-coverage", (result,), {"measure": "coverage"}),
        "ci_width": Drawing("simulation", "simulation-ci-width", (result,), {"measure": "ci_width"}),
        "table": Table(result.to_frame(), "simulation"),
    }


def job(root: str) -> dict:
    """Run the study and draw the page's figures into the site folder ``root``; the page's content with
    the links of its figures and of the whole table (CSV)."""
    from pathlib import Path

    from .render import Writer, draw

    return draw(Writer(Path(root), with_env=False), context())


def write(w, page: dict, nav) -> dict:
    """Write :data:`PAGE` from ``page`` (from :func:`job`) with ``w``; the page's entry for the index."""
    w.page(PAGE, "simulation.html", title=TITLE, page=page, nav=nav)
    return {"page": PAGE, "title": TITLE,
            "blurb": "Coverage and width of random-effects confidence intervals with 5 to 20 studies, DL and "
                     "REML, Wald-type and Knapp-Hartung, by a simulation run at build time."}
