# Three-level models beyond tests/conformance/cases.json (tests/test_multilevel.py): a small example with
# and without a moderator, a t test with rows dropped for a missing moderator, aggregate() and fitstats().
#
#   Rscript tests/reference/multilevel.R      (from the repository's root)

source("tests/reference/common.R")

ctl <- list(rel.tol = 1e-10)

d <- data.frame(yi = c(0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8),
                vi = c(0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03),
                cl = c(1, 1, 2, 2, 3, 3, 4, 4), x = c(1, 3, 2, 5, 4, 4, 7, 6))
d$es <- 1:8

coefficients <- function(m) {
  lapply(seq_along(m$beta), function(j) {
    list(estimate = m$beta[j], se = m$se[j], stat = m$zval[j], pval = m$pval[j], ci_low = m$ci.lb[j],
         ci_high = m$ci.ub[j])
  })
}

small <- sapply(c("REML", "ML"), function(method) {
  m <- rma.mv(yi, vi, random = ~ 1 | cl/es, data = d, method = method, control = ctl)
  list(estimate = as.numeric(m$beta), se = m$se, stat = m$zval, pval = m$pval, ci_low = m$ci.lb,
       ci_high = m$ci.ub, sigma2 = m$sigma2, loglik = as.numeric(logLik(m)), q = m$QE)
}, simplify = FALSE)

m <- rma.mv(yi, vi, mods = ~ x, random = ~ 1 | cl/es, data = d, method = "ML", control = ctl)
small_ml_x <- list(coefficients = coefficients(m), qm = m$QM, qm_pval = m$QMp, sigma2 = m$sigma2,
                   loglik = as.numeric(logLik(m)), qe = m$QE)

# 9 rows have no difficulty: metafor omits them
k <- read.csv(file.path(inputs, "ml_knapp2017.csv"))
m <- suppressWarnings(rma.mv(yi, vi, mods = ~ difficulty, random = ~ 1 | cluster/within, data = k,
                             method = "REML", test = "t", control = ctl))
knapp_t <- list(k = m$k, n_clusters = m$s.nlevels[1], coefficients = coefficients(m), qm = m$QM,
                qm_df = m$QMdf, qm_pval = m$QMp, sigma2 = m$sigma2, loglik = as.numeric(logLik(m)), qe = m$QE)

# aggregate() with compound symmetry, rho = 0.6, weighted and not; rows 1, 4, 11 and 16
a <- escalc(measure = "GEN", yi = yi, vi = vi, data = read.csv(file.path(inputs, "ml_assink2016.csv")))
rows <- c(1, 4, 11, 16)
aggregated <- sapply(c(weighted = TRUE, simple = FALSE), function(weighted) {
  ag <- aggregate(a, cluster = cluster, struct = "CS", rho = 0.6, weighted = weighted, addk = TRUE)
  list(cluster = ag$cluster[rows], ki = ag$ki[rows], yi = as.numeric(ag$yi[rows]),
       vi = as.numeric(ag$vi[rows]))
}, simplify = FALSE)

# fitstats() as metafor prints them (8 decimals): logLik, AIC, BIC, AICc
m <- rma.mv(yi, vi, random = ~ 1 | cluster/within, data = read.csv(file.path(inputs, "ml_assink2016.csv")),
            method = "REML", control = ctl)
fit_statistics <- round(as.numeric(fitstats(m)[c("logLik:", "AIC:", "BIC:", "AICc:"), 1]), 8)
# the heterogeneity test as print() shows it (a p-value below the printed precision: "p-val < .0001")
printed_q <- grep("p-val", capture.output(print(m)), value = TRUE)[1]

write_reference(list(small = small, small_ml_x = small_ml_x, knapp2017_difficulty_t = knapp_t,
                     assink2016_aggregate_cs_rho06 = aggregated, assink2016_fitstats = fit_statistics,
                     assink2016_printed_q = printed_q),
                "multilevel")
