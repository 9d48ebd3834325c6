"""Hasselblad (1998): smoking cessation counselling, a network of four treatments (dat.hasselblad1998).

Hasselblad, V. (1998). Meta-analysis of multitreatment studies. Medical Decision Making, 18(1), 37-43.
https://doi.org/10.1177/0272989X9801800110. 24 trials (two of them three-armed) of no contact, self-help,
individual counselling and group counselling; abstinence at 6 to 12 months.

Model: metafor's documented contrast-based analysis of ``dat.hasselblad1998`` (the dataset's help page in
metadat, following Salanti et al. 2008): log odds ratios of each arm against the trial's no-contact arm (else
its first arm), 1/2 added to every cell of every trial, the covariance of a three-arm trial's two contrasts
from its shared arm, ``rma.mv(yi, V, mods = ~ 0 + ..., random = ~ comp | study, rho = 1/2)`` by REML, no
contact the reference; the design-by-treatment inconsistency test (Higgins et al. 2012) and the Dodo-bird
test among the three counselling formats.

Published numbers: Hasselblad's (1998) tables were not seen (no copy of the paper was found), and metafor's
documentation gives the code of the analysis without its output, so every row is "not checked". The
reproduced numbers are metafor's: ``tests/test_network.py`` checks them against metafor 3.8-1's ``rma.mv``
running that code (``tests/reference/network.R``), to 1e-6.

Run alone: ``python analyses/hasselblad1998_network.py``.
"""

import math

import commonfactors as cf
from commonfactors.reproduce import main, row

ID = "hasselblad1998_network"
DATASET = "hasselblad1998"
ACTIVE = ["ind_counseling", "grp_counseling", "self_help"]
NAMES = {"self_help": "self-help", "ind_counseling": "individual counselling",
         "grp_counseling": "group counselling"}
CITATION = (
    "Hasselblad, V. (1998). Meta-analysis of multitreatment studies. Medical Decision Making, 18(1), 37-43. "
    "doi:10.1177/0272989X9801800110 (tables not seen); model: metafor's documented contrast-based analysis "
    "of dat.hasselblad1998 (metadat help page), whose output is not printed there"
)
WHY = ("the paper's tables were not seen and metafor's documentation prints no output; the value equals "
       "metafor 3.8-1's rma.mv fit of the documented model to 1e-6 (tests/test_network.py)")


def fit():
    """The network of the documented analysis, with the contribution of each design."""
    return cf.network_meta_analysis(cf.load_dataset(DATASET), study="study", treatment="trt", events="xi",
                                    n="ni", measure="OR", add=0.5, to="all", reference="no_contact",
                                    small_values="bad", active=ACTIVE, contributions=True)


def reproduce() -> list[dict]:
    res = fit()
    model = {"measure": "OR (log odds ratio, 1/2 added to all cells)",
             "estimator": "REML (contrast-based network model, one tau2, rho = 1/2)",
             "test": "z", "subset": "all 24 trials, reference no contact"}

    def r(key, quantity, reproduced, why=WHY):
        return row(f"{ID}:{key}", publication="Hasselblad (1998)", dataset=DATASET, quantity=quantity,
                   model=model, published=None, reproduced=reproduced, tolerance=None, citation=CITATION,
                   verified="not checked", why=why)

    by = {e["treatment"]: e for e in res.effects}
    rows = []
    for t in ACTIVE:
        e = by[t]
        rows += [r(f"or_{t}", f"odds ratio of abstinence, {NAMES[t]} vs no contact", math.exp(e["estimate"])),
                 r(f"or_{t}_ci_low", f"lower 95% limit of the odds ratio, {NAMES[t]} vs no contact",
                   math.exp(e["ci_low"])),
                 r(f"or_{t}_ci_high", f"upper 95% limit of the odds ratio, {NAMES[t]} vs no contact",
                   math.exp(e["ci_high"]))]
    ps = {p["treatment"]: p["pscore"] for p in res.pscore}
    rows += [r("tau2", "heterogeneity variance shared by all comparisons (log odds ratio scale)", res.tau2),
             r("inconsistency_q", f"design-by-treatment inconsistency Q (df = {res.inconsistency['df']})",
               res.inconsistency["q"]),
             r("dodo_q", f"Wald test that the three counselling formats are equal (df = {res.dodo['df']})",
               res.dodo["q"]),
             r("pscore_grp_counseling", "P-score of group counselling (larger is better)",
               ps["grp_counseling"])]
    return rows


if __name__ == "__main__":
    main(reproduce)
