# Regenerates the expected values of tests/conformance/cases.json from tests/conformance/inputs with
# metafor, metadat and clubSandwich, run to convergence (tests/conformance/README.md), and writes them to
# tests/reference/conformance.json. The cases (id, input, spec) are read from cases.json itself.
#
#   Rscript tests/reference/conformance.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(clubSandwich))

here <- "tests/conformance"
cases <- fromJSON(file.path(here, "cases.json"), simplifyVector = FALSE)$cases

one <- function(x) if (is.null(x)) NULL else unname(x[[1]])

coefficients <- function(res, names = TRUE) {
  lapply(seq_along(res$beta), function(j) {
    row <- list(name = rownames(res$beta)[j], estimate = res$beta[j], se = res$se[j], stat = res$zval[j],
                pval = res$pval[j], ci_low = res$ci.lb[j], ci_high = res$ci.ub[j])
    if (names) row else row[c("se", "ci_low", "ci_high", "pval")]
  })
}

effect_size <- function(dat, spec) {
  args <- c(list(measure = spec$measure), lapply(spec$columns, function(col) dat[[col]]))
  es <- do.call(escalc, args)
  list(yi = as.numeric(es$yi), vi = as.numeric(es$vi))
}

rma_case <- function(dat, spec) {
  res <- rma(yi, vi, data = dat, method = spec$method, test = spec$test, control = converged)
  pred <- predict(res)
  out <- list(k = res$k, estimate = one(res$beta), se = res$se, stat = res$zval, pval = res$pval,
              ci_low = res$ci.lb, ci_high = res$ci.ub,
              pi_low = if (spec$method == "FE") NULL else pred$pi.lb,
              pi_high = if (spec$method == "FE") NULL else pred$pi.ub,
              tau2 = res$tau2, se_tau2 = res$se.tau2, i2 = res$I2, h2 = res$H2,
              q = res$QE, q_df = res$k - res$p, q_pval = res$QEp)
  if (spec$method != "FE") {
    ci <- confint(res, control = list(tol = 1e-13))$random
    out$tau2_ci <- unname(ci["tau^2", c("ci.lb", "ci.ub")])
    out$i2_ci <- unname(ci["I^2(%)", c("ci.lb", "ci.ub")])
    out$h2_ci <- unname(ci["H^2", c("ci.lb", "ci.ub")])
  }
  out
}

metareg_case <- function(dat, spec) {
  res <- rma(yi, vi, mods = as.formula(spec$mods), data = dat, method = spec$method, test = spec$test,
             control = converged)
  list(k = res$k, coefficients = coefficients(res), tau2 = res$tau2, i2 = res$I2, r2 = res$R2,
       qm = res$QM, qm_df = res$QMdf[1], qm_pval = res$QMp, qe = res$QE, qe_pval = res$QEp)
}

bias_case <- function(dat, spec) {
  res <- rma(yi, vi, data = dat, method = spec$method, control = converged)
  egger <- regtest(res, model = "rma", predictor = "sei")
  classical <- regtest(res, model = "lm", predictor = "sei")
  begg <- ranktest(res)
  tf <- trimfill(res, estimator = "L0")
  # trimfill() refits the filled data at metafor's default threshold (1e-5) whatever the model passed in:
  # the same filled data, refitted to convergence
  filled <- rma(tf$yi, tf$vi, method = spec$method, control = converged)
  pet <- rma(yi, vi, mods = ~ sqrt(vi), data = dat, method = spec$method, control = converged)
  peese <- rma(yi, vi, mods = ~ vi, data = dat, method = spec$method, control = converged)
  # selmodel()'s default optimiser control stops short of the bound on delta (98.3 instead of 99.993)
  sel <- selmodel(res, type = "stepfun", steps = 0.025, control = list(reltol = 1e-14, maxit = 10000))
  list(egger_rma = list(stat = egger$zval, pval = egger$pval, limit_estimate = one(egger$est)),
       egger_lm = list(stat = classical$zval, pval = classical$pval, df = classical$dfs),
       begg = list(tau = begg$tau, pval = begg$pval),
       trimfill = list(k0 = tf$k0, side = tf$side, estimate = one(filled$beta), se = filled$se,
                       tau2 = filled$tau2),
       fsn_rosenthal = list(fsnum = fsn(yi, vi, data = dat, type = "Rosenthal")$fsnum),
       pet = list(estimate = one(pet$beta), se = pet$se[1]),
       peese = list(estimate = one(peese$beta), se = peese$se[1]),
       selmodel_3psm = list(estimate = one(sel$beta), se = sel$se, tau2 = sel$tau2, delta = sel$delta,
                            lrt = sel$LRT, lrt_pval = sel$LRTp))
}

influence_case <- function(dat, spec) {
  res <- rma(yi, vi, data = dat, method = spec$method, control = converged)
  l1o <- leave1out(res)
  inf <- influence(res)$inf
  list(leave1out_estimate = l1o$estimate, leave1out_tau2 = l1o$tau2, rstudent = inf$rstudent,
       cooks_d = inf$cook.d, dffits = inf$dffits, hat = inf$hat, weight = unname(weights(res)))
}

multilevel_case <- function(dat, spec) {
  mods <- if (is.null(spec$mods)) ~ 1 else as.formula(spec$mods)
  res <- rma.mv(yi, vi, mods = mods, random = as.formula(spec$random), data = dat, method = spec$method,
                control = list(rel.tol = 1e-10))
  rob <- robust(res, cluster = dat$cluster, clubSandwich = TRUE)
  out <- list(k = res$k, n_clusters = res$s.nlevels[1])
  if (is.null(spec$mods)) {
    out <- c(out, list(estimate = one(res$beta), se = res$se, ci_low = res$ci.lb, ci_high = res$ci.ub,
                       sigma2 = res$sigma2, loglik = as.numeric(logLik(res)), q = res$QE,
                       cr2 = list(se = rob$se, df = rob$dfs, ci_low = rob$ci.lb, ci_high = rob$ci.ub,
                                  pval = rob$pval)))
  } else {
    rc <- lapply(seq_along(rob$beta), function(j) {
      list(se = rob$se[j], df = rob$dfs[j], ci_low = rob$ci.lb[j], ci_high = rob$ci.ub[j], pval = rob$pval[j])
    })
    out <- c(out, list(coefficients = coefficients(res), qm = res$QM, qm_df = res$QMdf[1], qm_pval = res$QMp,
                       sigma2 = res$sigma2, loglik = as.numeric(logLik(res)), qe = res$QE,
                       cr2 = list(coefficients = rc, qm = rob$QM, qm_df = rob$QMdf, qm_pval = rob$QMp)))
  }
  out
}

compute <- list(effect_size = effect_size, rma = rma_case, metareg = metareg_case, bias = bias_case,
                influence = influence_case, multilevel = multilevel_case)

out <- lapply(cases, function(case) {
  dat <- read.csv(file.path(here, case$input))
  list(id = case$id, kind = case$kind, expected = compute[[case$kind]](dat, case$spec))
})

write_reference(list(cases = out), "conformance", packages = c("metafor", "metadat", "clubSandwich"))
