# Case diagnostics on the BCG vaccine trials (tests/test_influence.py): influence (with Knapp-Hartung and
# with a moderator), cumulative by year, Baujat, leave one out.
#
#   Rscript tests/reference/influence.R      (from the repository's root)

source("tests/reference/common.R")

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ctl <- list(threshold = 1e-12)
res <- rma(yi, vi, data = dat, control = ctl)

diagnostics <- function(r) {
  inf <- influence(r)
  list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cooks_d = inf$inf$cook.d, cov_ratio = inf$inf$cov.r,
       hat = inf$inf$hat, weight = inf$inf$weight, dfbetas = lapply(inf$dfbs, as.numeric),
       influential = which(inf$inf$inf == "*"))
}
cm <- cumul(res, order = dat$year)
b <- baujat(res)
l1 <- leave1out(res)

write_reference(list(
  influence = diagnostics(res),
  influence_knha = diagnostics(rma(yi, vi, data = dat, test = "knha", control = ctl)),
  influence_ablat = diagnostics(rma(yi, vi, mods = ~ ablat, data = dat, control = ctl)),
  cumulative_year = list(estimate = cm$estimate, se = cm$se, tau2 = cm$tau2, i2 = cm$I2),
  baujat = list(x = b$x, y = b$y),
  leave1out = list(estimate = l1$estimate, se = l1$se, tau2 = l1$tau2, i2 = l1$I2, q = l1$Q)
), "influence")
