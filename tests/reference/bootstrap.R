# Permutation tests (metafor's permutest, exact) and bootstraps (loops over rma) of models of dat.bcg's log
# risk ratios; read by tests/test_bootstrap.py. Run from the repository's root: Rscript tests/reference/bootstrap.R
# The subsets are ones where every permuted REML fit of rma converges (with rows 1:6 one of the 360 does not,
# and permutest leaves it out of the p-value; commonfactors fits it).
source("tests/reference/common.R")

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

perm_case <- function(id, rows, mods, method, test) {
  d <- dat[rows, ]
  res <- if (is.null(mods)) rma(yi, vi, data = d, method = method, test = test)
         else rma(yi, vi, mods = as.formula(mods), data = d, method = method, test = test)
  p <- permutest(res, exact = TRUE, progbar = FALSE)
  list(id = id, rows = rows, mods = if (is.null(mods)) NA else mods, method = method, test = test,
       call = sprintf("permutest(rma(yi, vi, mods = %s, data = dat[rows, ], method = '%s', test = '%s'), exact = TRUE)",
                      if (is.null(mods)) "NULL" else mods, method, test),
       n_perm = nrow(as.matrix(p$zval.perm)), n_failed = sum(is.na(p$QM.perm)), zval = unname(res$zval), QM = unname(res$QM),
       pval = unname(p$pval), QMp = unname(p$QMp))
}

permutations <- list(
  perm_case("ablat_k6_REML_z", 2:7, "~ ablat", "REML", "z"),
  perm_case("ablat_k6_REML_knha", 8:13, "~ ablat", "REML", "knha"),
  perm_case("alloc_k9_DL_z", 1:9, "~ factor(alloc)", "DL", "z"),
  perm_case("intercept_k8_REML_z", 1:8, NULL, "REML", "z"),
  perm_case("intercept_k10_DL_knha", 1:10, NULL, "DL", "knha")
)

# bootstraps of the random-effects model of all 13 trials: percentile intervals from n replicates, and the
# order statistics at ranks n p -+ 3.5 sqrt(n p (1 - p)): bounds within which the exact bootstrap quantile lies
# with probability > 0.999 (the binomial distribution of the number of replicates below it)
RNGversion("4.2.2")
set.seed(20240612)
n <- 4000
fit <- rma(yi, vi, data = dat, method = "REML")
boot_case <- function(kind) {
  est <- tau2 <- rep(NA_real_, n)
  for (b in seq_len(n)) {
    if (kind == "parametric") {
      y <- rnorm(fit$k, coef(fit), sqrt(dat$vi + fit$tau2)); v <- dat$vi
    } else {
      i <- sample(fit$k, replace = TRUE); y <- dat$yi[i]; v <- dat$vi[i]
    }
    r <- try(suppressWarnings(rma(y, v, method = "REML")), silent = TRUE)
    if (!inherits(r, "try-error")) { est[b] <- coef(r); tau2[b] <- r$tau2 }
  }
  band <- function(x, p) {
    x <- sort(x[!is.na(x)]); m <- length(x); h <- 3.5 * sqrt(m * p * (1 - p))
    c(x[max(1, floor(m * p - h))], x[min(m, ceiling(m * p + h))])
  }
  list(kind = kind, n = n, failures = sum(is.na(est)),
       estimate_ci = unname(quantile(est, c(.025, .975), na.rm = TRUE)),
       tau2_ci = unname(quantile(tau2, c(.025, .975), na.rm = TRUE)),
       estimate_se = sd(est, na.rm = TRUE), tau2_se = sd(tau2, na.rm = TRUE),
       estimate_low_band = band(est, .025), estimate_high_band = band(est, .975),
       tau2_low_band = band(tau2, .025), tau2_high_band = band(tau2, .975))
}
boots <- list(boot_case("parametric"), boot_case("nonparametric"))

write_reference(list(estimate = unname(coef(fit)), tau2 = fit$tau2, se = fit$se,
                     permutations = permutations, bootstraps = boots), "bootstrap")
