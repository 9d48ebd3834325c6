"""The Metapsy depression database as a network: psychotherapy types and control types as nodes.

Database: Cuijpers, P., Miguel, C., Harrer, M., Plessen, C. Y., Ciharova, M., Ebert, D., & Karyotaki, E.
Database of depression psychotherapy trials with control conditions (Metapsy project),
https://doi.org/10.5281/zenodo.7254845; shipped snapshot ``metapsy_depression_psyctr`` (git commit ceeabb71,
2025-08-29, literature search up to 2024-01-01), ODC-By 1.0.

The arm-level network, by this rule (:func:`arms`; the dependencies within a trial are its arms' shared
participants, so each trial enters once, its arms with their covariances):

1. rows with post-test means, SDs and ns (``outcome_type == "msd"``);
2. lower is better on every scale: a row whose raw difference mean_arm1 - mean_arm2 has the sign of the stored
   ``.g`` (which is positive when psychotherapy is better) is on a scale where higher is better, and its
   means are negated;
3. each row gives two arms, named by ``multi_arm1``/``multi_arm2`` (else by their condition); an arm found in
   several rows of a trial and instrument is taken once (its first row);
4. one instrument per trial: the one with the most arms, the first in the file among equals;
5. arms of the same type (condition) within a trial are combined into one (Higgins, Li & Deeks, Cochrane
   Handbook, version 6.4, section 6.5.2.10: n-weighted mean, the SD of the combined group);
6. nodes are the database's conditions: the psychotherapy types (cbt, bat, pst, ipt, dyn, 3rd, lrt, sup,
   other psy) and the control types (cau, wl, other ctr); care as usual is the reference.

Model: Hedges' g of each arm against the trial's care-as-usual arm (else its first arm), the covariances of a
multi-arm trial's contrasts by Gleser & Olkin (2009, eq. 19.19), the contrast-based network model with one
tau2 (REML; metafor's ``rma.mv(yi, V, random = ~ comp | study, rho = 1/2)``), negative g favouring the
treatment. The Dodo-bird test is among the eight named psychotherapy types (cbt, bat, pst, ipt, dyn, 3rd,
lrt, sup; "other psy" is not one type), and its between-technique variance, as a share of the outcome
variance, is the technique slice of the variance pie (``pie --technique-network``).
``tests/test_network_metapsy.py`` checks the fit against metafor 3.8-1 (1e-6).

No published network meta-analysis of this snapshot exists (the database is living; Cuijpers and
colleagues' network analyses used earlier versions and other inclusion rules), and the Cuijpers et al. rows
of ``data/published/estimates.csv`` are pairwise comparisons, not network estimates: so no row is compared
with a published number, and every row is "not checked".

Run alone: ``python analyses/metapsy_depression_network.py``.
"""

import math
import warnings

import numpy as np

import commonfactors as cf
from commonfactors.reproduce import main, row

ID = "metapsy_depression_network"
DATASET = "metapsy_depression_psyctr"
ACTIVE = ["cbt", "bat", "pst", "ipt", "dyn", "3rd", "lrt", "sup"]
CITATION = (
    "Cuijpers, P., Miguel, C., Harrer, M., Plessen, C. Y., Ciharova, M., Ebert, D., & Karyotaki, E. "
    "Database of depression psychotherapy trials with control conditions. Metapsy project. "
    "doi:10.5281/zenodo.7254845 (snapshot 2025-08-29, search 2024-01-01); no published network "
    "meta-analysis of this snapshot"
)
WHY = ("no published network meta-analysis of this snapshot; the fit equals metafor 3.8-1's rma.mv to 1e-6 "
       "(tests/test_network_metapsy.py)")


def arms(data=None):
    """The arm-level network of the Metapsy depression database by the rule of this module's docstring."""
    import pandas as pd

    d = cf.load_dataset(DATASET) if data is None else data
    m = d[d["outcome_type"] == "msd"]
    flip = np.where(np.sign(m["mean_arm1"] - m["mean_arm2"]) == np.sign(m[".g"]), -1.0, 1.0)
    sides = []
    for side in ("1", "2"):
        sides.append(pd.DataFrame({
            "study": m["study"].to_numpy(), "instrument": m["instrument"].to_numpy(),
            "trt": m[f"condition_arm{side}"].to_numpy(),
            "arm": m[f"multi_arm{side}"].fillna(m[f"condition_arm{side}"]).to_numpy(),
            "mean": flip * m[f"mean_arm{side}"].to_numpy(), "sd": m[f"sd_arm{side}"].to_numpy(),
            "n": m[f"n_arm{side}"].to_numpy(), "order": np.arange(len(m)) * 2 + int(side)}))
    table = pd.concat(sides).sort_values("order", kind="stable")
    table = table.drop_duplicates(["study", "instrument", "arm"])
    size = table.groupby(["study", "instrument"], sort=False)["arm"].nunique().reset_index(name="arms")
    best = size.sort_values("arms", ascending=False, kind="stable").drop_duplicates("study")
    table = table.merge(best[["study", "instrument"]], on=["study", "instrument"], sort=False)
    rows = []
    for (study, trt), g in table.groupby(["study", "trt"], sort=False):
        n = float(g["n"].sum())
        mean = float((g["n"] * g["mean"]).sum() / n)
        ss = float(((g["n"] - 1) * g["sd"] ** 2 + g["n"] * (g["mean"] - mean) ** 2).sum())
        rows.append({"study": study, "trt": trt, "mean": mean, "sd": math.sqrt(ss / (n - 1)), "n": n})
    return pd.DataFrame(rows)


def fit(contributions=True):
    """The network of :func:`arms` (care as usual the reference, the Dodo-bird test among ``ACTIVE``)."""
    with warnings.catch_warnings():
        # the rows without means and SDs are left out by rule 1, on purpose
        warnings.simplefilter("ignore", cf.errors.DroppedRowsWarning)
        return cf.network_meta_analysis(arms(), study="study", treatment="trt", mean="mean", sd="sd", n="n",
                                        measure="SMD", reference="cau", active=ACTIVE,
                                        contributions=contributions)


def reproduce() -> list[dict]:
    res = fit(contributions=False)
    model = {"measure": "SMD (Hedges' g of each arm vs care as usual; negative favours the arm)",
             "estimator": "REML (contrast-based network model, one tau2, rho = 1/2)", "test": "z",
             "subset": f"msd rows, one instrument per trial: {res.k} trials, {len(res.treatments)} nodes"}

    def r(key, quantity, reproduced):
        return row(f"{ID}:{key}", publication="Metapsy depression database (Cuijpers et al.)",
                   dataset=DATASET, quantity=quantity, model=model, published=None, reproduced=reproduced,
                   tolerance=None, citation=CITATION, verified="not checked", why=WHY)

    rows = [r(f"g_{e['treatment'].replace(' ', '_')}", f"Hedges' g, {e['treatment']} vs care as usual",
              e["estimate"]) for e in res.effects]
    d = res.dodo
    rows += [r("tau2", "heterogeneity variance shared by all comparisons", res.tau2),
             r("inconsistency_q", f"design-by-treatment inconsistency Q (df = {res.inconsistency['df']})",
               res.inconsistency["q"]),
             r("dodo_q", f"Wald test that the {len(ACTIVE)} psychotherapy types are equal (df = {d['df']})",
               d["q"]),
             r("tau2_technique", "between-technique variance of the psychotherapy types",
               d["tau2_technique"]),
             r("technique_share", "share of the outcome variance owed to technique, tau2_technique / "
               "(1 + tau2_technique)", d["share"])]
    return rows


if __name__ == "__main__":
    main(reproduce)
