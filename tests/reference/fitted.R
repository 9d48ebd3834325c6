# metafor's functions given a fitted model (influence(res), leave1out(res), cumul(res), regtest(res),
# ranktest(res), trimfill(res)); read by tests/test_fitted_input.py.
# Run from the repository's root: Rscript tests/reference/fitted.R
source("tests/reference/common.R")

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
mr <- rma(yi, vi, mods = ~ ablat, data = dat, method = "REML", control = converged)
inf <- influence(mr)
re <- rma(yi, vi, data = dat, method = "DL", test = "knha", level = 90)
l1o <- leave1out(re)
cu <- cumul(re, order = dat$year)
eg <- regtest(re)
rk <- ranktest(re)
tf <- trimfill(re)
write_reference(list(
  data = list(yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), ablat = dat$ablat, year = dat$year),
  influence_mods = list(call = "influence(rma(yi, vi, mods = ~ ablat, data = dat))",
                        rstudent = unname(inf$inf$rstudent), dfbetas_ablat = unname(inf$dfbs$ablat)),
  leave1out = list(call = "leave1out(rma(yi, vi, data = dat, method = 'DL', test = 'knha', level = 90))",
                   estimate = unname(l1o$estimate), ci_lb = unname(l1o$ci.lb), pval = unname(l1o$pval)),
  cumul = list(call = "cumul(re, order = dat$year)", estimate = unname(cu$estimate), ci_ub = unname(cu$ci.ub)),
  regtest = list(call = "regtest(re)", zval = unname(eg$zval), pval = unname(eg$pval), dfs = unname(eg$dfs)),
  ranktest = list(call = "ranktest(re)", tau = unname(rk$tau), pval = unname(rk$pval)),
  trimfill = list(call = "trimfill(re)", k0 = unname(tf$k0), estimate = unname(as.numeric(tf$beta)),
                  ci_lb = unname(tf$ci.lb), side = tf$side)
), "fitted", packages = c("metafor", "metadat"))
