"""Assink & Wibbelink (2016): a three-level meta-analysis of recidivism and mental health in juveniles.

Assink, M., & Wibbelink, C. J. M. (2016). Fitting three-level meta-analytic models in R: a step-by-step
tutorial. The Quantitative Methods for Psychology, 12(3), 154-174. https://doi.org/10.20982/tqmp.12.3.p154

Model (the tutorial's step 3, "calculating an overall effect", and metafor's help page for
dat.assink2016): standardised mean differences ``yi`` with variances ``vi`` as shipped, effects (esid)
nested in studies, three-level random-effects model fitted by REML, z test. The tutorial's printed output
was not seen: copies of the article were found (scribd document 776864472, pdfslide.net, the TQMP DOI page)
but only their abstract and opening pages were visible, and neither metafor's help page for dat.assink2016
nor its test suite quotes the tutorial's numbers, so the rows are "not checked". The reproduced values
agree with metafor 3.8-1's rma.mv to 1e-5 (tests/conformance, multilevel cases): estimate 0.4268, sigma2
0.1879 (studies) and 0.1120 (effects within studies).

Run alone: ``python analyses/assink2016.py``.
"""

import commonfactors as cf
from commonfactors.reproduce import main, row

ID = "assink2016"
REFERENCE = (
    "Assink, M., & Wibbelink, C. J. M. (2016). Fitting three-level meta-analytic models in R: a "
    "step-by-step tutorial. The Quantitative Methods for Psychology, 12(3), 154-174. "
    "doi:10.20982/tqmp.12.3.p154, step 3 (overall effect); only the abstract and opening pages were seen"
)


def reproduce() -> list[dict]:
    res = cf.multilevel_meta_analysis(cf.load_dataset("assink2016"), cluster="study", within="esid")
    model = {
        "measure": "SMD (as shipped)",
        "estimator": "REML (three-level)",
        "test": "z",
        "subset": "all 100 effects of 17 studies",
    }
    why = (
        "the tutorial's printed output was not seen (only the abstract and opening pages of the copies "
        "found); metafor 3.8-1's rma.mv(yi, vi, random = ~ 1 | study/esid) gives the same values"
    )

    def r(key, quantity, reproduced):
        return row(
            f"{ID}:{key}",
            publication="Assink & Wibbelink (2016)",
            dataset="assink2016",
            quantity=quantity,
            model=model,
            published=None,
            reproduced=reproduced,
            tolerance=None,
            citation=REFERENCE,
            verified="not checked",
            why=why,
        )

    return [
        r("smd", "overall standardised mean difference", res.estimate),
        r("sigma2_between", "between-study variance (level 3)", res.sigma2[0]),
        r("sigma2_within", "within-study variance (level 2)", res.sigma2[1]),
    ]


if __name__ == "__main__":
    main(reproduce)
