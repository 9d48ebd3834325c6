# The shipped BCG dataset pooled by the installed wheel (tests/test_packaging.py), run to convergence.
#
#   Rscript tests/reference/packaging.R      (from the repository's root)

source("tests/reference/common.R")

res <- rma(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg,
           control = list(threshold = 1e-12))

write_reference(list(bcg_rr_reml = list(k = res$k, estimate = as.numeric(res$beta), se = res$se,
                                        tau2 = res$tau2, q = res$QE)), "packaging")
