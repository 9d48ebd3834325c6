# meta_analysis(): t tests, levels, k = 1 and 2, GENQ with user weights, subgroups (tests/test_univariate.py).
#
#   Rscript tests/reference/univariate.R      (from the repository's root)

source("tests/reference/common.R")

d <- read.csv(file.path(inputs, "mr_bcg_RR_alloc.csv"))
ctl <- list(threshold = 1e-12)
ci <- function(r, row, level = 95) {
  unname(confint(r, level = level, control = list(tol = 1e-13))$random[row, c("ci.lb", "ci.ub")])
}
model <- function(r) {
  list(tau2 = r$tau2, se_tau2 = r$se.tau2, estimate = as.numeric(r$beta), se = r$se, stat = r$zval,
       pval = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub, qm = r$QM, qm_pval = r$QMp, r2 = r$R2, i2 = r$I2,
       h2 = r$H2, qe = r$QE, qe_pval = r$QEp)
}
with_pi <- function(r) {
  p <- predict(r)
  c(model(r), list(pi_low = p$pi.lb, pi_high = p$pi.ub))
}

t_test <- rma(yi, vi, data = d, test = "t", control = ctl)
t_test_mods <- rma(yi ~ alloc, vi, data = d, test = "t", control = ctl)
level_90 <- rma(yi, vi, data = d, level = 90, control = ctl)
k2 <- rma(yi, vi, data = d[1:2, ], control = ctl)
k1 <- suppressWarnings(rma(0.5, 0.1, test = "knha"))   # 'Setting argument test="z" since k=1.'

# GENQ with weights 1 / sei
w <- 1 / sqrt(d$vi)
genq <- sapply(c("z", "knha"), function(test) {
  with_pi(rma(yi, vi, data = d, weights = w, method = "GENQ", test = test))
}, simplify = FALSE)
genq_mods <- sapply(c("z", "knha"), function(test) {
  model(rma(yi, vi, mods = ~ alloc, data = d, weights = w, method = "GENQ", test = test))
}, simplify = FALSE)
s <- d$alloc == "random"
genq_random <- rma(yi, vi, data = d[s, ], weights = w[s], method = "GENQ")

# subgroups: one fit per level (sorted), then the test of equal coefficients across them
between <- function(fits) {
  if (length(coef(fits[[1]])) == 1) {
    m <- rma(sapply(fits, coef), sei = sapply(fits, function(f) f$se), mods = ~ factor(seq_along(fits)),
             method = "FE")
    return(list(q_between = m$QM, q_between_pval = m$QMp))
  }
  b <- unlist(lapply(fits, coef))
  V <- as.matrix(Matrix::bdiag(lapply(fits, vcov)))
  m <- rma.mv(b, V, mods = ~ 0 + factor(rep(seq_along(coef(fits[[1]])), length(fits))), method = "FE")
  list(q_between = m$QE, q_between_pval = m$QEp)
}
subgroup <- function(f) list(k = f$k, estimate = as.numeric(f$beta), se = f$se, tau2 = f$tau2, qm = f$QM,
                             qm_pval = f$QMp, qe = f$QE, qe_pval = f$QEp)
by_level <- function(data, by, ...) {
  fits <- lapply(sort(unique(data[[by]])), function(l) rma(yi, vi, data = data[data[[by]] == l, ], ...))
  c(list(groups = lapply(fits, subgroup)), between(fits))
}
bd <- read.csv(file.path(inputs, "mr_bangertdrowns2004_length_imag_meta.csv"))
lopez <- read.csv(file.path(inputs, "mr_lopez2019_f2f_cog_ba_home_group.csv"))

write_reference(list(
  t_test = with_pi(t_test),
  t_test_mods = model(t_test_mods),
  level_90 = c(model(level_90), list(tau2_ci = ci(level_90, "tau^2", 90), i2_ci = ci(level_90, "I^2(%)", 90))),
  k2 = model(k2),
  k1_knha = list(se = k1$se, pval = k1$pval),
  genq = genq, genq_mods = genq_mods, genq_random = c(list(k = genq_random$k), model(genq_random)),
  subgroups = by_level(d, "alloc", control = ctl),
  subgroups_mods = sapply(c("z", "knha"), function(test) {
    by_level(bd, "meta", mods = ~ length, test = test, control = ctl)
  }, simplify = FALSE),
  subgroups_two_mods = by_level(lopez, "group", mods = ~ cog + home, control = ctl)
), "univariate")
