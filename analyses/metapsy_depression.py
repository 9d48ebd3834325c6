"""The Metapsy depression database: pooled Hedges' g of psychotherapy vs control, all and by control type.

Database: Cuijpers, P., Miguel, C., Harrer, M., Plessen, C. Y., Ciharova, M., Ebert, D., & Karyotaki, E.
Database of depression psychotherapy trials with control conditions (Metapsy project),
https://doi.org/10.5281/zenodo.7254845; shipped snapshot: git commit ceeabb71 of
metapsy-project/data-depression-psyctr (2025-08-29, literature search up to 2024-01-01), ODC-By 1.0.

Inclusion rules, in two layers:

1. The database's own (its documentation and ``data/metapsy_depression_psyctr.md``): randomised trials
   comparing a psychotherapy (cbt, bat, pst, ipt, dyn, lrt, 3rd, sup, other psy) with a control condition
   (waitlist "wl", care as usual "cau", or another control "other ctr") in adults with depression; effects
   at post-test; one outcome-calculation type per study (priority means/SDs > change scores > binary >
   other statistics); several instruments per comparison are kept.
2. Ours, for this reproduction:
   - only rows with post-test means, SDs and ns (``outcome_type == "msd"``, 810 of 900 rows), so that
     g and its sampling variance are recomputed from the raw numbers with metafor's escalc ("SMD":
     exact small-sample correction, large-sample variance with g^2). The stored ``.g_se`` is NOT used:
     it is computed with the uncorrected d in the variance (Metapsy's convention, see the provenance
     file), and the stored ``.g`` uses the approximate correction J = 1 - 3/(4(n1 + n2) - 9);
   - the sign of g follows the database (positive = favours psychotherapy): the recomputed
     |g| takes the sign of the stored ``.g``, which encodes the direction of each instrument's scale;
   - one effect per comparison (study x condition_arm1 x condition_arm2 x multi_arm1 x multi_arm2): the
     effects of several instruments are combined as a GLS composite assuming a correlation of 0.6 between
     them (``commonfactors.aggregate_effects``, rho = 0.6, an assumption); comparisons of a multi-arm trial
     that share a control arm are treated as independent;
   - random-effects model over comparisons, REML, z test; by control type, one model per level of
     ``condition_arm2``.

No published pooled g matches this snapshot (the provenance file found none, and the database is living:
every published analysis used an earlier search). The database's own pages print none either:
docs.metapsy.org/databases/depression-psyctr/ gives metadata only, and the online tool
(metapsy.dev/depression-psyctr) computes the pooled g on demand (random effects with the Paule-Mandel
estimator by default) rather than publishing one. So every row is "not checked"; the pooled g from the
stored ``.g``/``.g_se`` is given in ``why`` to show what the variance convention changes.

Run alone: ``python analyses/metapsy_depression.py``.
"""

import numpy as np

import commonfactors as cf
from commonfactors.reproduce import main, row

ID = "metapsy_depression"
DATASET = "metapsy_depression_psyctr"
CITATION = (
    "Cuijpers, P., Miguel, C., Harrer, M., Plessen, C. Y., Ciharova, M., Ebert, D., & Karyotaki, E. "
    "Database of depression psychotherapy trials with control conditions. Metapsy project. "
    "doi:10.5281/zenodo.7254845 (snapshot 2025-08-29, search 2024-01-01); no published pooled g for this "
    "snapshot was found (data/metapsy_depression_psyctr.md)"
)
RHO = 0.6
COMPARISON = ["study", "condition_arm1", "condition_arm2", "multi_arm1", "multi_arm2"]
CONTROLS = {"wl": "waitlist", "cau": "care as usual", "other ctr": "other control"}


def _comparisons(msd, yi: str, vi: str):
    """One row per comparison: the GLS composite of its effects, with its control type."""
    frame = msd.assign(
        comparison=msd[COMPARISON].astype(object).fillna("").astype(str).agg(" | ".join, axis=1)
    )
    agg = cf.aggregate_effects(frame, cluster="comparison", yi=yi, vi=vi, rho=RHO)
    control = frame.groupby("comparison")["condition_arm2"].first()
    return agg.assign(condition_arm2=agg["comparison"].map(control).to_numpy())


def reproduce() -> list[dict]:
    data = cf.load_dataset(DATASET)
    msd = data[data["outcome_type"] == "msd"]
    es = cf.effect_sizes(
        msd,
        "SMD",
        m1i="mean_arm1",
        sd1i="sd_arm1",
        n1i="n_arm1",
        m2i="mean_arm2",
        sd2i="sd_arm2",
        n2i="n_arm2",
    )
    es["g"] = np.where(es[".g"] < 0, -1.0, 1.0) * np.abs(es["yi"])
    es["g_vi_stored"] = es[".g_se"] ** 2
    ours = _comparisons(es, "g", "vi")
    stored = _comparisons(es, ".g", "g_vi_stored")
    n_same = int(np.sum(np.abs(es["g"] - es[".g"]) < 1e-3))

    def r(key, label, subset, res, res_stored):
        model = {
            "measure": "SMD (Hedges' g, recomputed; positive favours psychotherapy)",
            "estimator": "REML",
            "test": "z",
            "subset": subset,
        }
        why = (
            f"no published pooled g matches this snapshot; k = {res.k} comparisons. With the stored .g and "
            f".g_se instead of recomputed g and escalc's variance, the pooled g is {res_stored.estimate:.4f} "
            f"(k = {res_stored.k}); recomputed g agrees with the stored .g within 0.001 in {n_same} of "
            f"{len(es)} msd rows"
        )
        return row(
            f"{ID}:{key}",
            publication="Metapsy depression database (Cuijpers et al.)",
            dataset=DATASET,
            quantity=f"pooled Hedges' g, psychotherapy vs {label}",
            model=model,
            published=None,
            reproduced=res.estimate,
            tolerance=None,
            citation=CITATION,
            verified="not checked",
            why=why,
        )

    rows = [
        r(
            "g_all",
            "any control",
            "msd rows, one effect per comparison, all control types",
            cf.meta_analysis(ours),
            cf.meta_analysis(stored),
        )
    ]
    by_ours = cf.meta_analysis(ours, by="condition_arm2")
    by_stored = cf.meta_analysis(stored, by="condition_arm2")
    for level, res in zip(by_ours.levels, by_ours.results, strict=True):
        res_stored = by_stored.results[by_stored.levels.index(level)]
        key = "g_" + level.replace(" ", "_")
        rows.append(
            r(
                key,
                CONTROLS.get(level, level),
                f"msd rows, one effect per comparison, condition_arm2 == {level!r}",
                res,
                res_stored,
            )
        )
    return rows


if __name__ == "__main__":
    main(reproduce)
