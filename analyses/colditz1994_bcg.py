"""Colditz et al. (1994), the BCG vaccine trials, and metafor's documented analysis (Viechtbauer, 2010).

Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E., Burdick, E., Fineberg, H. V., & Mosteller, F.
(1994). Efficacy of BCG vaccine in the prevention of tuberculosis: meta-analysis of the published
literature. JAMA, 271(9), 698-702. https://doi.org/10.1001/jama.1994.03510330076038

Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical
Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03 (section 3, the BCG example).

Neither printed number was seen in this session: the abstracts found stop before the results (ACP Journal
Club's structured abstract, acpjc.acponline.org ACPJC-1994-121-1-022), and only the opening pages of the JSS
paper were visible. Both rows are therefore "not checked"; the reproduced values (log risk ratios, escalc
measure "RR"; random effects with the DerSimonian-Laird estimator as a random-effects analysis of that era
would use, and metafor's default REML as in the JSS paper's example) are given for whoever checks the paper.
metafor 3.8-1 itself agrees with these computations to 1e-6 (tests/conformance, cases rma_bcg_*).

Run alone: ``python analyses/colditz1994_bcg.py``.
"""

import math

import commonfactors as cf
from commonfactors.reproduce import main, row

ID = "colditz1994_bcg"
COLDITZ = (
    "Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E., Burdick, E., Fineberg, H. V., & "
    "Mosteller, F. (1994). Efficacy of BCG vaccine in the prevention of tuberculosis: meta-analysis of the "
    "published literature. JAMA, 271(9), 698-702. doi:10.1001/jama.1994.03510330076038"
)
JSS = (
    "Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical "
    "Software, 36(3), 1-48. doi:10.18637/jss.v036.i03, section 3"
)


def reproduce() -> list[dict]:
    bcg = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    dl = cf.meta_analysis(bcg, method="DL")
    reml = cf.meta_analysis(bcg, method="REML")
    subset = "all 13 trials"
    return [
        row(
            f"{ID}:rr_dl",
            publication="Colditz et al. (1994)",
            dataset="bcg",
            quantity="pooled risk ratio of tuberculosis, vaccinated vs control, random-effects model",
            model={"measure": "RR", "estimator": "DL", "test": "z", "subset": subset},
            published=None,
            reproduced=math.exp(dl.estimate),
            tolerance=None,
            verified="not checked",
            citation=f"{COLDITZ}; the results section of the abstract was not visible in the sources found",
            why="the pooled risk ratio printed in the paper was not seen in this session; the estimator is "
            "assumed (DerSimonian-Laird), not read in the paper",
        ),
        row(
            f"{ID}:log_rr_reml",
            publication="Viechtbauer (2010)",
            dataset="bcg",
            quantity="pooled log risk ratio, random-effects model (metafor's documented example)",
            model={"measure": "RR", "estimator": "REML", "test": "z", "subset": subset},
            published=None,
            reproduced=reml.estimate,
            tolerance=None,
            verified="not checked",
            citation=f"{JSS}; only the opening pages of the paper were visible",
            why="the output printed in the JSS paper was not seen in this session; metafor 3.8-1 on the same "
            "data gives the same estimate to 1e-6 (tests/conformance case rma_bcg_RR_REML_z)",
        ),
    ]


if __name__ == "__main__":
    main(reproduce)
