# Stage-1 GLS pooling of correlation matrices (tests/test_corpool.py): rcalc() and rma.mv() on the stacked
# correlations of six studies (s2 reports only alliance-outcome, s4 lacks alliance-outcome).
#
#   Rscript tests/reference/corpool.R      (from the repository's root)

source("tests/reference/common.R")

data <- data.frame(
  study = c("s1", "s1", "s1", "s2", "s3", "s3", "s3", "s4", "s4", "s5", "s5", "s5", "s6", "s6", "s6"),
  var1 = c("alliance", "empathy", "alliance", "alliance", "alliance", "empathy", "alliance", "empathy",
           "alliance", "alliance", "empathy", "alliance", "alliance", "empathy", "alliance"),
  var2 = c("outcome", "outcome", "empathy", "outcome", "outcome", "outcome", "empathy", "outcome", "empathy",
           "outcome", "outcome", "empathy", "outcome", "outcome", "empathy"),
  r = c(0.30, 0.25, 0.40, 0.20, 0.35, 0.10, 0.55, 0.32, 0.30, 0.15, 0.22, 0.45, 0.42, 0.38, 0.60),
  n = c(120, 120, 120, 80, 150, 150, 150, 60, 60, 200, 200, 200, 45, 45, 45))
pairs <- c("alliance.empathy", "alliance.outcome", "empathy.outcome")

# the observed correlations and their covariance V (Olkin & Siotani, from rcalc); v_from = "mean" computes V
# from the n-weighted mean correlation of each pair instead of each study's own
stacked <- function(d, v_from = "study") {
  d$pair <- paste(d$var1, d$var2, sep = ".")
  rbar <- tapply(d$r * d$n, d$pair, sum) / tapply(d$n, d$pair, sum)      # n-weighted mean per pair
  full <- do.call(rbind, lapply(split(d, d$study), function(s) {         # fill unreported pairs
    miss <- setdiff(pairs, s$pair)                                       # with rbar, for V only
    if (length(miss)) s <- rbind(s, data.frame(study = s$study[1], var1 = sub("\\..*", "", miss),
                                               var2 = sub(".*\\.", "", miss), r = rbar[miss], n = s$n[1],
                                               pair = miss))
    s
  }))
  if (v_from == "mean") {
    full$r_obs <- full$r
    full$r <- rbar[full$pair]
  }
  rc <- rcalc(r ~ var1 + var2 | study, ni = n, data = full)
  if (v_from == "mean") {
    rc$dat$yi <- full$r_obs[match(paste(rc$dat$study, rc$dat$var1.var2), paste(full$study, full$pair))]
  }
  obs <- paste(rc$dat$study, rc$dat$var1.var2) %in% paste(d$study, d$pair)
  list(dat = rc$dat[obs, ], V = rc$V[obs, obs])
}

common <- function(s) {
  V <- s$V
  fe <- rma.mv(yi, V, mods = ~ var1.var2 - 1, data = s$dat)
  list(r = unname(coef(fe)), vcov = unname(vcov(fe)), q = fe$QE, q_pval = fe$QEp)
}
# the homogeneity test does not depend on tau2: the common-effect model's QE
random <- function(s, control) {
  V <- s$V
  re <- rma.mv(yi, V, mods = ~ var1.var2 - 1, random = ~ var1.var2 | study, struct = "DIAG", data = s$dat,
               control = control)
  fe <- common(s)
  list(r = unname(coef(re)), tau2 = re$tau2, vcov = unname(vcov(re)), q = fe$q, q_pval = fe$q_pval)
}

# the empathy-outcome correlations made nearly equal, so that their tau2 is at 0: metafor's default optimiser
# works on log(tau2) and stops near 1e-11; Nelder-Mead on tau2 reaches the boundary (a higher restricted
# log-likelihood, 11.727816029015)
boundary <- data
boundary$r[boundary$var1 == "empathy" & boundary$var2 == "outcome"] <- c(0.25, 0.24, 0.26, 0.25, 0.23)
nelder_mead <- list(optimizer = "optim", optmethod = "Nelder-Mead", reltol = 1e-14, maxit = 100000)

# one study: rcalc's V is Olkin and Siotani's covariance of its three correlations, over n - 1
one <- data.frame(study = 1, var1 = c("a", "a", "e"), var2 = c("e", "y", "y"), ri = c(.3, .28, .2), ni = 100)

write_reference(list(
  FE_STUDY = common(stacked(data)),
  FE_MEAN = common(stacked(data, "mean")),
  REML_STUDY = random(stacked(data), list(rel.tol = 1e-10)),
  REML_BOUNDARY = random(stacked(boundary), nelder_mead),
  olkin_siotani_one_study = unname(rcalc(ri ~ var1 + var2 | study, ni = ni, data = one)$V)
), "corpool")
