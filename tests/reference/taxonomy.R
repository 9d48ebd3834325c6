# The pooled treatment effect of the factor taxonomy, from data/metapsy_depression_psyctr.csv
# (tests/test_factors_taxonomy.py): one row per comparison, effects and standard errors averaged.
#
#   Rscript tests/reference/taxonomy.R      (from the repository's root)

source("tests/reference/common.R")

d <- read.csv("data/metapsy_depression_psyctr.csv", check.names = FALSE)
key <- with(d, paste(study, condition_arm1, condition_arm2, multi_arm1, multi_arm2))
key <- factor(key, levels = unique(key))
yi <- as.vector(tapply(d$.g, key, mean))
sei <- as.vector(tapply(d$.g_se, key, mean))
res <- rma(yi, sei = sei, method = "REML", control = converged)
p <- predict(res)

write_reference(list(treatment_effect = list(k = res$k, estimate = as.numeric(res$beta), ci_low = p$ci.lb,
                                             ci_high = p$ci.ub, pi_low = p$pi.lb, pi_high = p$pi.ub,
                                             i2 = res$I2)), "taxonomy")
