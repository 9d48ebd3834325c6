# Trim and fill with the R0 estimator on three conformance inputs (tests/test_bias.py).
#
#   Rscript tests/reference/bias.R      (from the repository's root)

source("tests/reference/common.R")

# metafor's trimfill refits with its default threshold 1e-5, whatever the model passed in
trimfill_r0 <- sapply(c("hackshaw1998", "linde2005_RR", "bangertdrowns2004"), function(name) {
  d <- read.csv(file.path(inputs, sprintf("model_%s.csv", name)))
  tf <- trimfill(rma(yi, vi, data = d, control = list(threshold = 1e-12)), estimator = "R0")
  list(k0 = tf$k0, side = tf$side, estimate = as.numeric(tf$beta), se = tf$se, tau2 = tf$tau2)
}, simplify = FALSE)

write_reference(list(trimfill_r0 = trimfill_r0), "bias")
