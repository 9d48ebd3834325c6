"""Colditz et al. (1994): the BCG vaccine trials, pooled risk ratio as the JAMA paper would have computed it.

Colditz, G. A., Brewer, T. F., Berkey, C. S., Wilson, M. E., Burdick, E., Fineberg, H. V., & Mosteller, F.
(1994). Efficacy of BCG vaccine in the prevention of tuberculosis: meta-analysis of the published
literature. JAMA, 271(9), 698-702. https://doi.org/10.1001/jama.1994.03510330076038

The pooled risk ratio printed in the paper was not seen: the abstracts found stop before the results (ACP
Journal Club's structured abstract, acpjc.acponline.org ACPJC-1994-121-1-022; searches of other abstract
copies in this session found none with the numbers), so the row is "not checked". Reproduced: log risk
ratios (escalc measure "RR"), random effects with the DerSimonian-Laird estimator, as a random-effects
analysis of that era would use (assumed, not read in the paper). A letter on the paper (JAMA 1994;
272(10):765, seen on jamanetwork.com) says latitude "explains 41% of the variability" in the authors' model;
the same 41% is the R^2 printed by Berkey et al. (1995), the same group's method paper (``berkey1995_bcg``).
The analyses of these data printed in Viechtbauer (2010) are in ``viechtbauer2010_bcg``; metafor 3.8-1
agrees with these computations to 1e-6 (tests/conformance, cases rma_bcg_*).

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


def reproduce() -> list[dict]:
    bcg = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    dl = cf.meta_analysis(bcg, method="DL")
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
    ]


if __name__ == "__main__":
    main(reproduce)
