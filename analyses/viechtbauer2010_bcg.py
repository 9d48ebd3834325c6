"""Viechtbauer (2010): the BCG vaccine analyses printed in the metafor paper (J. Stat. Softw. 36(3)).

Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical
Software, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03. Data: the 13 BCG trials of Colditz et al.
(1994), shipped as ``bcg`` (metadat's dat.bcg, the data the paper lists in its Figure 1).

Where the numbers were seen: in the article itself, section 3.4 ("Example") and section 3.5, pp. 13-34.
The published PDF (JSS header "August 2010, Volume 36, Issue 3") is distributed with the metafor R package
as its vignette ``doc/metafor.pdf`` (read here from metafor 3.8-1's installation, converted with
pdftotext), hence ``verified="yes"``. Every number below is copied from the printed R output or the text
of the page given in the citation.

Models, as the paper states them: log risk ratios (escalc measure "RR", vaccinated vs control); the
random-effects model with REML (the default of ``rma``), Wald z tests; Q-profile confidence intervals
for tau2 (``confint``) and the I2/H2 intervals derived from them; mixed-effects models with the same
estimator, the third one with the Knapp and Hartung adjustment (``knha = TRUE``); Egger's regression
test as weighted regression with a multiplicative dispersion term (``regtest(res, model = "lm")``); trim
and fill (estimator L0) after a common-effect model; and two maximum-likelihood fits for the likelihood
ratio comparison. Tolerance: half a unit of the printed last digit.

Five printed numbers differ, each for a stopping rule of metafor's iterations, not for the model:

- the lower limits of the I2 and H2 intervals (81.9177 and 5.5303) are the images of the lower tau2
  limit, which metafor finds with ``uniroot`` at its default tolerance (about 1e-4): metafor 3.8-1 with
  default settings still prints exactly the paper's values, but with ``confint(res, control = list(tol
  = 1e-12))`` it gives 81.9206 and 5.5311, the values commonfactors computes (the lower tau2 limit moves
  from 0.119695 to 0.119718, so the tau2 and tau rows still agree at the printed 4 decimals);
- QM, the intercept and its standard error of the model on ablat and year (12.2043, -3.5455, 29.0959)
  come from REML iterations stopped at metafor's default threshold; run to convergence
  (``control = list(threshold = 1e-12)``), metafor 3.8-1 gives 12.2045, -3.5454 and 29.0956, as here.

Run alone: ``python analyses/viechtbauer2010_bcg.py``.
"""

import math

import commonfactors as cf
from commonfactors.reproduce import main, printed, row

ID = "viechtbauer2010_bcg"
PUBLICATION = "Viechtbauer (2010)"
REFERENCE = (
    "Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. Journal of "
    "Statistical Software, 36(3), 1-48. doi:10.18637/jss.v036.i03"
)
SEEN = "seen in the article's PDF, distributed with metafor 3.8-1 as its vignette doc/metafor.pdf"
ALL = "all 13 trials"
UNIROOT = (
    "the paper's limit comes from metafor's uniroot search for the lower tau2 limit at its default "
    "tolerance (~1e-4); metafor 3.8-1 prints the same value by default, and {exact} with "
    "confint(res, control=list(tol=1e-12)), which is what is reproduced here"
)
EARLY_STOP = (
    "the paper's value is that of metafor's REML iterations stopped at their default threshold (1e-5 "
    "change in tau^2: tau^2 = 0.110787); metafor 3.8-1 prints the same by default, and {exact} when run to "
    "convergence (control=list(threshold=1e-12)), as here (tau^2 = 0.110785); the intercept at year 0 is "
    "an extrapolation over ~1970 years, so it moves with the last digits of tau^2"
)


def _data():
    bcg = cf.effect_sizes(cf.load_dataset("bcg"), "RR", ai="tpos", bi="tneg", ci="cpos", di="cneg")
    # the paper's dummy coding with random allocation as the reference level (p. 19)
    bcg["a_alternate"] = (bcg["alloc"] == "alternate").astype(float)
    bcg["a_systematic"] = (bcg["alloc"] == "systematic").astype(float)
    return bcg


def reproduce() -> list[dict]:
    bcg = _data()
    re = cf.meta_analysis(bcg, method="REML")
    me = cf.meta_analysis(bcg, method="REML", mods="~ ablat + year")
    alloc = cf.meta_analysis(bcg, method="REML", mods="~ a_alternate + a_systematic")
    knha = cf.meta_analysis(bcg, method="REML", mods="~ C(alloc) + ablat", test="knha")
    egger = cf.egger_test(bcg, model="lm")
    tf = cf.trim_and_fill(bcg, method="FE")
    ml = cf.meta_analysis(bcg, method="ML")
    ml_ablat = cf.meta_analysis(bcg, method="ML", mods="~ ablat")

    m_re = {"measure": "RR", "estimator": "REML", "test": "z", "subset": ALL}
    m_rr = {"measure": "RR (exponentiated)", "estimator": "REML", "test": "z", "subset": ALL}
    m_me = {"measure": "RR", "estimator": "REML", "test": "z", "subset": ALL + "; mods = ~ ablat + year"}
    m_alloc = {
        "measure": "RR",
        "estimator": "REML",
        "test": "z",
        "subset": ALL + "; mods = dummies for alternate and systematic allocation (random = reference)",
    }
    m_knha = {
        "measure": "RR",
        "estimator": "REML",
        "test": "knha",
        "subset": ALL + "; mods = ~ factor(alloc) + ablat (alternate = reference)",
    }
    m_egger = {"measure": "RR", "estimator": "weighted regression (lm)", "test": "t", "subset": ALL}
    m_tf = {"measure": "RR", "estimator": "FE, trim and fill (L0)", "test": "z", "subset": ALL}
    m_ml = {"measure": "RR", "estimator": "ML", "test": "z", "subset": ALL}
    m_ml_ablat = {"measure": "RR", "estimator": "ML", "test": "z", "subset": ALL + "; mods = ~ ablat"}

    b_me = {c.name: c for c in me.coefficients}
    b_alloc = {c.name: c for c in alloc.coefficients}
    b_knha = {c.name: c for c in knha.coefficients}

    # (key, quantity, model, published, reproduced, decimals, page, why)
    table = [
        ("re_estimate", "pooled log risk ratio, random-effects model", m_re, -0.7145, re.estimate, 4, 14),
        ("re_se", "standard error of the pooled log risk ratio", m_re, 0.1798, re.se, 4, 14),
        ("re_z", "z statistic of the pooled log risk ratio", m_re, -3.9744, re.stat, 4, 14),
        ("re_ci_low", "lower 95% limit of the pooled log risk ratio", m_re, -1.0669, re.ci_low, 4, 14),
        ("re_ci_high", "upper 95% limit of the pooled log risk ratio", m_re, -0.3622, re.ci_high, 4, 14),
        ("re_tau2", "tau^2 of the log risk ratios (REML)", m_re, 0.3132, re.tau2, 4, 14),
        ("re_se_tau2", "standard error of tau^2", m_re, 0.1664, re.se_tau2, 4, 14),
        ("re_tau", "tau (square root of tau^2)", m_re, 0.5597, math.sqrt(re.tau2), 4, 14),
        ("re_i2", "I^2 (%)", m_re, 92.2214, re.i2, 4, 14),
        ("re_h2", "H^2", m_re, 12.8558, re.h2, 4, 14),
        ("re_q", "Cochran's Q (df = 12)", m_re, 152.2330, re.q, 4, 14),
        ("re_tau2_ci_low", "lower 95% Q-profile limit of tau^2", m_re, 0.1197, re.tau2_ci[0], 4, 14),
        ("re_tau2_ci_high", "upper 95% Q-profile limit of tau^2", m_re, 1.1115, re.tau2_ci[1], 4, 14),
        ("re_tau_ci_low", "lower 95% limit of tau", m_re, 0.3460, math.sqrt(re.tau2_ci[0]), 4, 14),
        ("re_tau_ci_high", "upper 95% limit of tau", m_re, 1.0543, math.sqrt(re.tau2_ci[1]), 4, 14),
        (
            "re_i2_ci_low",
            "lower 95% limit of I^2 (%)",
            m_re,
            81.9177,
            re.i2_ci[0],
            4,
            14,
            UNIROOT.format(exact="81.9206"),
        ),
        ("re_i2_ci_high", "upper 95% limit of I^2 (%)", m_re, 97.6781, re.i2_ci[1], 4, 14),
        (
            "re_h2_ci_low",
            "lower 95% limit of H^2",
            m_re,
            5.5303,
            re.h2_ci[0],
            4,
            14,
            UNIROOT.format(exact="5.5311"),
        ),
        ("re_h2_ci_high", "upper 95% limit of H^2", m_re, 43.0677, re.h2_ci[1], 4, 14),
        (
            "re_rr",
            "pooled risk ratio (exp of the pooled log risk ratio)",
            m_rr,
            0.49,
            math.exp(re.estimate),
            2,
            21,
        ),
        ("re_rr_ci_low", "lower 95% limit of the pooled risk ratio", m_rr, 0.34, math.exp(re.ci_low), 2, 21),
        (
            "re_rr_ci_high",
            "upper 95% limit of the pooled risk ratio",
            m_rr,
            0.70,
            math.exp(re.ci_high),
            2,
            21,
        ),
        (
            "re_rr_pi_low",
            "lower 95% credibility (prediction) limit of the risk ratio, tau^2 taken as known",
            m_rr,
            0.15,
            math.exp(re.pi_low),
            2,
            21,
        ),
        (
            "re_rr_pi_high",
            "upper 95% credibility (prediction) limit of the risk ratio, tau^2 taken as known",
            m_rr,
            1.55,
            math.exp(re.pi_high),
            2,
            21,
        ),
        ("me_tau2", "residual tau^2, mixed-effects model on ablat and year", m_me, 0.1108, me.tau2, 4, 16),
        ("me_se_tau2", "standard error of the residual tau^2", m_me, 0.0845, me.se_tau2, 4, 16),
        ("me_qe", "test for residual heterogeneity QE (df = 10)", m_me, 28.3251, me.q, 4, 16),
        (
            "me_qm",
            "omnibus test of the moderators QM (df = 2)",
            m_me,
            12.2043,
            me.qm,
            4,
            16,
            EARLY_STOP.format(exact="12.2045"),
        ),
        (
            "me_intercept",
            "intercept",
            m_me,
            -3.5455,
            b_me["intrcpt"].estimate,
            4,
            16,
            EARLY_STOP.format(exact="-3.5454"),
        ),
        (
            "me_intercept_se",
            "standard error of the intercept",
            m_me,
            29.0959,
            b_me["intrcpt"].se,
            4,
            16,
            EARLY_STOP.format(exact="29.0956"),
        ),
        ("me_ablat", "slope of absolute latitude", m_me, -0.0280, b_me["ablat"].estimate, 4, 16),
        ("me_ablat_se", "standard error of the latitude slope", m_me, 0.0102, b_me["ablat"].se, 4, 16),
        ("me_ablat_z", "z statistic of the latitude slope", m_me, -2.7371, b_me["ablat"].stat, 4, 16),
        (
            "me_ablat_ci_low",
            "lower 95% limit of the latitude slope",
            m_me,
            -0.0481,
            b_me["ablat"].ci_low,
            4,
            16,
        ),
        (
            "me_ablat_ci_high",
            "upper 95% limit of the latitude slope",
            m_me,
            -0.0080,
            b_me["ablat"].ci_high,
            4,
            16,
        ),
        ("me_year", "slope of publication year", m_me, 0.0019, b_me["year"].estimate, 4, 16),
        ("me_year_se", "standard error of the year slope", m_me, 0.0147, b_me["year"].se, 4, 16),
        ("me_year_z", "z statistic of the year slope", m_me, 0.1299, b_me["year"].stat, 4, 16),
        (
            "me_r2",
            "share of tau^2 accounted for by the two moderators (%), (0.3132 - 0.1108)/0.3132",
            m_me,
            65,
            me.r2,
            0,
            16,
        ),
        ("alloc_qm", "omnibus test of the allocation factor QM (df = 2)", m_alloc, 1.7675, alloc.qm, 4, 19),
        (
            "alloc_intercept",
            "average log risk ratio with random allocation (intercept)",
            m_alloc,
            -0.9658,
            b_alloc["intrcpt"].estimate,
            4,
            19,
        ),
        (
            "alloc_intercept_se",
            "standard error of the intercept",
            m_alloc,
            0.2672,
            b_alloc["intrcpt"].se,
            4,
            19,
        ),
        (
            "alloc_alternate",
            "difference, alternate vs random allocation",
            m_alloc,
            0.4478,
            b_alloc["a_alternate"].estimate,
            4,
            19,
        ),
        ("alloc_alternate_se", "its standard error", m_alloc, 0.5158, b_alloc["a_alternate"].se, 4, 19),
        (
            "alloc_systematic",
            "difference, systematic vs random allocation",
            m_alloc,
            0.5369,
            b_alloc["a_systematic"].estimate,
            4,
            19,
        ),
        ("alloc_systematic_se", "its standard error", m_alloc, 0.4364, b_alloc["a_systematic"].se, 4, 19),
        (
            "knha_tau2",
            "residual tau^2, allocation and latitude, Knapp-Hartung",
            m_knha,
            0.1446,
            knha.tau2,
            4,
            20,
        ),
        ("knha_se_tau2", "standard error of the residual tau^2", m_knha, 0.1124, knha.se_tau2, 4, 20),
        ("knha_qe", "test for residual heterogeneity QE (df = 9)", m_knha, 26.2034, knha.q, 4, 20),
        ("knha_f", "omnibus F test of the moderators (df = 3, 9)", m_knha, 3.4471, knha.qm, 4, 20),
        (
            "knha_intercept",
            "intercept (alternate allocation)",
            m_knha,
            0.2932,
            b_knha["intrcpt"].estimate,
            4,
            20,
        ),
        ("knha_intercept_se", "standard error of the intercept", m_knha, 0.4188, b_knha["intrcpt"].se, 4, 20),
        (
            "knha_random",
            "difference, random vs alternate allocation",
            m_knha,
            -0.2675,
            b_knha["allocrandom"].estimate,
            4,
            20,
        ),
        ("knha_random_se", "its standard error", m_knha, 0.3624, b_knha["allocrandom"].se, 4, 20),
        (
            "knha_systematic",
            "difference, systematic vs alternate allocation",
            m_knha,
            0.0585,
            b_knha["allocsystematic"].estimate,
            4,
            20,
        ),
        ("knha_systematic_se", "its standard error", m_knha, 0.3925, b_knha["allocsystematic"].se, 4, 20),
        ("knha_ablat", "slope of absolute latitude", m_knha, -0.0273, b_knha["ablat"].estimate, 4, 20),
        ("knha_ablat_se", "standard error of the latitude slope", m_knha, 0.0095, b_knha["ablat"].se, 4, 20),
        (
            "knha_ablat_t",
            "t statistic of the latitude slope (df = 9)",
            m_knha,
            -2.8669,
            b_knha["ablat"].stat,
            4,
            20,
        ),
        ("knha_ablat_p", "p value of the latitude slope", m_knha, 0.0186, b_knha["ablat"].pval, 4, 20),
        ("egger_lm_t", "Egger's regression test, t statistic (df = 11)", m_egger, -1.4013, egger.stat, 4, 30),
        ("tf_k0", "estimated number of missing studies (right side)", m_tf, 4, tf.k0, 0, 31),
        (
            "tf_estimate",
            "pooled log risk ratio with the 4 filled-in studies",
            m_tf,
            -0.2910,
            tf.estimate,
            4,
            32,
        ),
        ("tf_se", "its standard error", m_tf, 0.0383, tf.se, 4, 32),
        ("tf_q", "Cochran's Q of the filled-in data (k = 17, df = 16)", m_tf, 262.7316, tf.fit.q, 4, 31),
        ("ml_tau2", "tau^2 of the random-effects model (ML)", m_ml, 0.2800, ml.tau2, 4, 34),
        (
            "ml_ablat_tau2",
            "residual tau^2, latitude as moderator (ML)",
            m_ml_ablat,
            0.0344,
            ml_ablat.tau2,
            4,
            34,
        ),
        (
            "ml_ablat_qe",
            "test for residual heterogeneity QE, latitude model",
            m_ml_ablat,
            30.7331,
            ml_ablat.q,
            4,
            34,
        ),
        (
            "ml_ablat_vaf",
            "share of tau^2 accounted for by latitude (ML, %)",
            m_ml_ablat,
            87.73,
            ml_ablat.r2,
            2,
            34,
        ),
    ]
    rows = []
    for key, quantity, model, published, reproduced, decimals, page, *why in table:
        rows.append(
            row(
                f"{ID}:{key}",
                publication=PUBLICATION,
                dataset="bcg",
                quantity=quantity,
                model=model,
                published=published,
                reproduced=reproduced,
                tolerance=printed(decimals),
                citation=f"{REFERENCE}, p. {page}; {SEEN}",
                verified="yes",
                why=why[0] if why else "",
            )
        )
    return rows


if __name__ == "__main__":
    main(reproduce)
