# The pair-by-pair pooling of correlations behind a dominance pie (tests/test_pie.py): one pair's four
# correlations, pooled on Fisher's z scale, run to convergence.
#
#   Rscript tests/reference/pie.R      (from the repository's root)

source("tests/reference/common.R")

r <- c(.40, .10, .35, .05)
n <- c(60, 120, 45, 200)
res <- rma(atanh(r), 1 / (n - 3), method = "REML", control = list(threshold = 1e-12, maxiter = 1000))

write_reference(list(pairwise = list(r = tanh(as.numeric(res$beta)), se_z = res$se, tau2 = res$tau2)), "pie")
