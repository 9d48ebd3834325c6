# The batched engine's references beyond tests/conformance/cases.json (tests/test_batch.py): a single study,
# where metafor falls back to test = "z" (k = 1), and test = "t" at level 90 on the BCG data.
#
#   Rscript tests/reference/batch.R      (from the repository's root)

source("tests/reference/common.R")

# metafor: 'Setting argument test="z" since k=1.'; predict() gives pi.lb = ci.lb, pi.ub = ci.ub
r <- suppressWarnings(rma(yi = 0.5, vi = 0.1, method = "REML", test = "knha"))
p <- predict(r)
single <- list(k = r$k, estimate = as.numeric(r$beta), se = r$se, stat = r$zval, pval = r$pval,
               ci_low = r$ci.lb, ci_high = r$ci.ub, pi_low = p$pi.lb, pi_high = p$pi.ub, tau2 = r$tau2,
               se_tau2 = r$se.tau2, i2 = r$I2, h2 = r$H2, q = r$QE, q_df = r$k - r$p, q_pval = r$QEp)

d <- read.csv(file.path(inputs, "model_bcg_RR.csv"))
t_test <- sapply(c("REML", "PM", "FE"), function(method) {
  r <- rma(yi, vi, data = d, method = method, test = "t", level = 90, control = converged)
  p <- predict(r)
  list(estimate = as.numeric(r$beta), se = r$se, stat = r$zval, pval = r$pval, ci_low = r$ci.lb,
       ci_high = r$ci.ub, pi_low = if (method == "FE") NULL else p$pi.lb,
       pi_high = if (method == "FE") NULL else p$pi.ub, tau2 = r$tau2)
}, simplify = FALSE)

write_reference(list(single_study_knha = single, bcg_t_level90 = t_test), "batch")
