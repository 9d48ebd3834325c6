# Trim and fill after a Knapp-Hartung model, and Egger's test under it, for tests/test_trimfill_test.py:
# metafor's trimfill(res) fits the filled data with the z test whatever res$test; regtest(res) uses res$test
# (a t statistic on k - 2 df under knha).
#
#   Rscript tests/reference/trimfill.R      (from the repository's root)

source("tests/reference/common.R")

dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = dat, test = "knha", control = converged)
tf <- trimfill(res)
# trimfill() refits the filled data at metafor's default threshold (1e-5): the same filled data, with the
# same (z) test, refitted to convergence
filled <- rma(tf$yi, tf$vi, method = res$method, test = tf$test, control = converged)
rt <- regtest(res)
write_reference(list(
  bcg_knha_trimfill = list(k0 = tf$k0, estimate = as.numeric(filled$beta), se = filled$se,
                           ci_low = filled$ci.lb, ci_high = filled$ci.ub, pval = filled$pval, test = tf$test),
  bcg_knha_regtest = list(stat = rt$zval, df = rt$dfs, pval = rt$pval)
), "trimfill")
