# The favourable direction and Egger's test for nested effect sizes, for tests/test_bias_direction.py:
# selmodel() with alternative = "less" and trimfill() with side = "right" (lower effects favourable), and
# the three-level meta-regression on the standard errors with CR2 inference (clubSandwich's coef_test,
# Satterthwaite degrees of freedom).
#
#   Rscript tests/reference/bias_direction.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(clubSandwich))

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = bcg, control = converged)
sel <- selmodel(res, type = "stepfun", steps = 0.025, alternative = "less",
                control = list(reltol = 1e-14, maxit = 10000))
tf <- trimfill(res, side = "right")
filled <- rma(tf$yi, tf$vi, method = "REML", control = converged)

dat <- dat.assink2016
ml <- rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | study/esid, data = dat,
             control = list(rel.tol = 1e-12))
ct <- coef_test(ml, vcov = "CR2", cluster = dat$study)

write_reference(list(
  bcg_lower = list(selection = list(estimate = as.numeric(sel$beta), se = sel$se, tau2 = sel$tau2,
                                    delta = sel$delta, lrt = sel$LRT, lrt_pval = sel$LRTp),
                   trimfill = list(k0 = tf$k0, side = tf$side, estimate = as.numeric(filled$beta),
                                   se = filled$se)),
  assink2016_egger_cr2 = list(stat = ct$tstat[2], df = ct$df_Satt[2], pval = ct$p_Satt[2],
                              limit_estimate = ct$beta[1])
), "bias_direction", packages = c("metafor", "metadat", "clubSandwich"))
