"""Berkey, Hoaglin, Mosteller & Colditz (1995): random-effects regression of the BCG trials on latitude.

Berkey, C. S., Hoaglin, D. C., Mosteller, F., & Colditz, G. A. (1995). A random-effects regression model
for meta-analysis. Statistics in Medicine, 14(4), 395-411. https://doi.org/10.1002/sim.4780140406. Data:
the 13 BCG trials of Colditz et al. (1994), shipped as ``bcg``.

Model, as metafor's replication describes the paper (metafor-project.org, analyses:berkey1995): log risk
ratios (escalc measure "RR") with Berkey et al.'s "smoothed" sampling variances,
v_i = mean_j(tneg_j/tpos_j) / (tneg_i + tpos_i) + mean_j(cneg_j/cpos_j) / (cneg_i + cpos_i)
(Berkey et al., 1995, p. 399, used to weaken the correlation of the log risk ratios with their variances);
tau2 by the empirical Bayes estimator (p. 398; metafor's "EB"); a random-effects model, a mixed-effects
meta-regression on absolute latitude centred at its mean, and a common-effect ("fixed-effects")
meta-regression; Wald z tests. R^2 is the proportional reduction of tau2 from the random-effects to the
mixed-effects model.

Where the numbers were seen: not in the paper, but quoted with their page (p. 408) in metafor's test suite
(wviechtb/metafor, tests/testthat/test_analysis_example_berkey1995.r), which also notes where the
article's last digit differs from metafor's, hence ``verified="secondary"``.

Centring: the article centres latitude at its mean, printed as 33.46; metafor's test centres at 33.46 and
gets intercepts of -0.6303 (mixed) and -0.5949 (common effect) where the article prints -0.6304 and
-0.5950. Centring at the exact mean (435/13 = 33.4615...) gives the article's values, so it is used here;
the slopes, standard errors, tau2 and the predictions do not depend on the centring. That the article
used the exact mean is inferred from these digits, not read in it.

Run alone: ``python analyses/berkey1995_bcg.py``.
"""

import math

import commonfactors as cf
from commonfactors.reproduce import main, printed, row

ID = "berkey1995_bcg"
PUBLICATION = "Berkey, Hoaglin, Mosteller & Colditz (1995)"
REFERENCE = (
    "Berkey, C. S., Hoaglin, D. C., Mosteller, F., & Colditz, G. A. (1995). A random-effects regression "
    "model for meta-analysis. Statistics in Medicine, 14(4), 395-411. doi:10.1002/sim.4780140406, p. 408"
)
SEEN = (
    "seen as quoted with the page number in metafor's tests (wviechtb/metafor "
    "tests/testthat/test_analysis_example_berkey1995.r), not in the paper"
)


def smoothed_variances(data):
    """Berkey et al.'s (1995, p. 399) smoothed sampling variances of the log risk ratios.

    v_i = mean(tneg/tpos) / (tneg_i + tpos_i) + mean(cneg/cpos) / (cneg_i + cpos_i): the delta-method
    variance 1/a - 1/n1 + 1/c - 1/n2 = (b/a)/n1 + (d/c)/n2 with the per-study odds b/a and d/c replaced
    by their averages over the trials.
    """
    t = (data["tneg"] / data["tpos"]).mean()
    c = (data["cneg"] / data["cpos"]).mean()
    return t / (data["tneg"] + data["tpos"]) + c / (data["cneg"] + data["cpos"])


def reproduce() -> list[dict]:
    bcg = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    bcg["vi"] = smoothed_variances(bcg)
    centre = bcg["ablat"].mean()
    bcg["ablat_c"] = bcg["ablat"] - centre
    re = cf.meta_analysis(bcg, method="EB")
    me = cf.meta_analysis(bcg, method="EB", mods="~ ablat_c")
    fe = cf.meta_analysis(bcg, method="FE", mods="~ ablat_c")

    def rr_at(res, latitude):
        b0, b1 = res.coefficients
        return math.exp(b0.estimate + b1.estimate * (latitude - centre))

    measure = "RR (smoothed sampling variances)"
    subset = "all 13 trials"
    m_re = {"measure": measure, "estimator": "EB", "test": "z", "subset": subset}
    m_me = {
        "measure": measure,
        "estimator": "EB",
        "test": "z",
        "subset": subset + "; mods = ablat - mean(ablat)",
    }
    m_fe = {
        "measure": measure,
        "estimator": "FE",
        "test": "z",
        "subset": subset + "; mods = ablat - mean(ablat)",
    }
    b_me, b_fe = me.coefficients, fe.coefficients
    fe_se_why = (
        "0.003987 rounds to 0.0040, as metafor also gives (its test notes 0.0039 in the article); the "
        "article's last digit differs, perhaps truncated rather than rounded (not established)"
    )

    # (key, quantity, model, published, reproduced, decimals, why)
    table = [
        ("re_estimate", "pooled log risk ratio, random-effects model (EB)", m_re, -0.5429, re.estimate, 4),
        ("re_se", "its standard error", m_re, 0.1842, re.se, 4),
        ("re_tau2", "tau^2 (empirical Bayes)", m_re, 0.268, re.tau2, 3),
        (
            "me_intercept",
            "log risk ratio at the mean latitude, mixed-effects model",
            m_me,
            -0.6304,
            b_me[0].estimate,
            4,
        ),
        ("me_intercept_se", "its standard error", m_me, 0.1591, b_me[0].se, 4),
        (
            "me_ablat",
            "slope of absolute latitude (log risk ratio per degree)",
            m_me,
            -0.0268,
            b_me[1].estimate,
            4,
        ),
        ("me_ablat_se", "standard error of the latitude slope", m_me, 0.0110, b_me[1].se, 4),
        ("me_tau2", "residual tau^2 (empirical Bayes)", m_me, 0.157, me.tau2, 3),
        ("me_r2", "share of tau^2 explained by latitude (%)", m_me, 41, me.r2, 0),
        ("me_rr_mean_latitude", "predicted risk ratio at 33.46 degrees", m_me, 0.53, rr_at(me, 33.46), 2),
        ("me_rr_42", "predicted risk ratio at 42 degrees", m_me, 0.42, rr_at(me, 42), 2),
        (
            "fe_intercept",
            "log risk ratio at the mean latitude, common-effect model",
            m_fe,
            -0.5950,
            b_fe[0].estimate,
            4,
        ),
        ("fe_intercept_se", "its standard error", m_fe, 0.0696, b_fe[0].se, 4),
        ("fe_ablat", "slope of absolute latitude, common-effect model", m_fe, -0.0282, b_fe[1].estimate, 4),
        ("fe_ablat_se", "standard error of the latitude slope", m_fe, 0.0039, b_fe[1].se, 4, fe_se_why),
        (
            "fe_rr_mean_latitude",
            "predicted risk ratio at 33.46 degrees, common-effect model",
            m_fe,
            0.55,
            rr_at(fe, 33.46),
            2,
        ),
        ("fe_rr_42", "predicted risk ratio at 42 degrees, common-effect model", m_fe, 0.43, rr_at(fe, 42), 2),
    ]
    return [
        row(
            f"{ID}:{key}",
            publication=PUBLICATION,
            dataset="bcg",
            quantity=quantity,
            model=model,
            published=published,
            reproduced=reproduced,
            tolerance=printed(decimals),
            citation=f"{REFERENCE}; {SEEN}",
            verified="secondary",
            why=why[0] if why else "",
        )
        for key, quantity, model, published, reproduced, decimals, *why in table
    ]


if __name__ == "__main__":
    main(reproduce)
