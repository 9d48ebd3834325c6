# Reference numbers for therapist_effects() (tests/test_therapists.py): lme4 random-intercept fits of
# seeded synthetic data that this script writes to tests/data/therapist_effects/ (labelled synthetic).
#
#   balanced.csv     30 therapists x 12 clients: therapist, client, pre, post          post ~ pre + (1 | therapist)
#   unbalanced.csv   40 therapists with 1 to 30 clients (6 with a single client)      post ~ pre + (1 | therapist)
#   covariates.csv   25 therapists, 3 to 15 clients; age and dx (a factor, 3 levels)  post ~ pre + age + dx + (1 | therapist)
#   boundary.csv     10 therapists x 5 clients, no therapist variance; lme4's fit is singular (theta = 0)
#                                                                                     post ~ 1 + (1 | therapist)
#   sites.csv        6 sites x 6 therapists x 3 to 12 clients                         post ~ pre + (1 | site) + (1 | therapist)
#                                                                                     post ~ pre + site + (1 | therapist)
#   sessions.csv     one row per client and session (1 to 6 sessions, rows shuffled); the model of the first
#                    and last score of clients with two sessions or more              last ~ first + (1 | therapist)
#
# Each model by REML and by ML (lmer run to convergence: bobyqa, rhoend 1e-12): theta, variance components,
# ICC, fixed effects and their standard errors (vcov), REMLcrit (REML) or deviance (ML), logLik, and the
# therapists' ranef(condVar = TRUE) with their conditional variances. One REML fit of post ~ pre +
# (1 | therapist) ends with bobyqa's warning "convergence code 3" (a trust-region step failed to reduce
# its model) at this rhoend: its REMLcrit still equals the closed form's minimum to 1e-14, theta to 1e-8. The ICC's profile interval is computed
# from the criterion as a function of theta (devFunOnly = TRUE): {theta: d(theta) - d(theta_hat) <=
# qchisq(level, 1)} mapped through theta^2 / (1 + theta^2), roots by uniroot (tol 1e-13), lower bound 0 when
# d(0) - d(theta_hat) <= qchisq(level, 1). With sites the therapist share psi = s2_t / (s2_t + s2_s + s2) is
# profiled: for each psi the criterion is minimised over theta_s (optimize, tol 1e-13) with
# theta_t^2 = psi (1 + theta_s^2) / (1 - psi).
#
#   Rscript tests/reference/therapists.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(lme4))

out_dir <- "tests/data/therapist_effects"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
ctl <- lmerControl(optimizer = "bobyqa", calc.derivs = FALSE,
                   optCtrl = list(rhobeg = 0.2, rhoend = 1e-12, maxfun = 1e5))

write_data <- function(d, name) write.csv(d, file.path(out_dir, name), row.names = FALSE)

simulate <- function(sizes, icc, beta = c(10, 0.6), extra = 0) {
  m <- length(sizes)
  j <- rep(seq_len(m), sizes)
  n <- length(j)
  pre <- round(rnorm(n, 25, 6), 1)
  u <- rnorm(m, 0, sqrt(icc / (1 - icc)) * 4)
  post <- round(beta[1] + beta[2] * pre + extra + u[j] + rnorm(n, 0, 4), 2)
  data.frame(therapist = sprintf("T%02d", j), client = sprintf("C%04d", seq_len(n)), pre = pre, post = post)
}

profile_icc <- function(formula, d, reml, level) {
  dev <- lmer(formula, d, REML = reml, devFunOnly = TRUE)
  opt <- optimize(dev, c(0, 20), tol = 1e-14)
  th <- opt$minimum
  f0 <- dev(0)
  if (f0 < opt$objective) th <- 0
  fmin <- min(f0, opt$objective)
  q <- qchisq(level / 100, 1)
  g <- function(t) dev(t) - fmin - q
  lo <- if (g(0) <= 0) 0 else uniroot(g, c(0, th), tol = 1e-13)$root
  hi <- uniroot(g, c(th, 50), tol = 1e-13)$root
  list(theta = th, crit = fmin, ci_low = lo^2 / (1 + lo^2), ci_high = hi^2 / (1 + hi^2))
}

fit_case <- function(formula, d, reml, group = "therapist", site = NULL) {
  f <- lmer(formula, d, REML = reml, control = ctl)
  vc <- as.data.frame(VarCorr(f))
  s2 <- vc$vcov[vc$grp == "Residual"]
  vt <- vc$vcov[vc$grp == group]
  vs <- if (is.null(site)) 0 else vc$vcov[vc$grp == site]
  re <- ranef(f, condVar = TRUE)[[group]]
  cv <- attr(re, "postVar")[1, 1, ]
  out <- list(theta = unname(getME(f, "theta")), var_therapist = vt, var_residual = s2,
              icc = vt / (vt + vs + s2), fixef = as.list(fixef(f)), se = as.list(sqrt(diag(as.matrix(vcov(f))))),
              crit = if (reml) REMLcrit(f) else deviance(f), loglik = as.numeric(logLik(f)),
              singular = isSingular(f), n = nobs(f),
              ranef = list(therapist = rownames(re), eb = unname(re[, 1]), condvar = unname(cv)))
  if (!is.null(site)) {
    out$var_site <- vs
    out$icc_site <- vs / (vt + vs + s2)
    out$theta_names <- names(getME(f, "theta"))
  }
  out
}

two_level <- function(formula, d, levels = 95) {
  sapply(c("REML", "ML"), function(method) {
    reml <- method == "REML"
    out <- fit_case(formula, d, reml)
    out$profile <- lapply(setNames(levels, paste0("level", levels)),
                          function(lv) profile_icc(formula, d, reml, lv))
    out
  }, simplify = FALSE)
}

# ---- balanced ---------------------------------------------------------------------------------------------
set.seed(20261205)
balanced <- simulate(rep(12, 30), icc = 0.08)
write_data(balanced, "balanced.csv")

# ---- unbalanced, six therapists with one client ------------------------------------------------------------
set.seed(7)
unbalanced <- simulate(c(rep(1, 6), sample(2:30, 34, replace = TRUE)), icc = 0.10)
write_data(unbalanced, "unbalanced.csv")

# ---- a covariate and a factor ----------------------------------------------------------------------------
set.seed(11)
sizes <- sample(3:15, 25, replace = TRUE)
n <- sum(sizes)
age <- sample(18:70, n, replace = TRUE)
dx <- sample(c("anx", "dep", "mix"), n, replace = TRUE)
covariates <- simulate(sizes, icc = 0.06, extra = 0.03 * age + ifelse(dx == "dep", 1.5, 0) + ifelse(dx == "mix", -1, 0))
covariates$age <- age
covariates$dx <- dx
write_data(covariates, "covariates.csv")

# ---- boundary: the first seed from 1 at which lme4's REML fit has theta = 0 ---------------------------------
seed <- 1
repeat {
  set.seed(seed)
  boundary <- simulate(rep(5, 10), icc = 0)
  f <- lmer(post ~ 1 + (1 | therapist), boundary, control = ctl)
  if (getME(f, "theta") == 0) break
  seed <- seed + 1
}
write_data(boundary, "boundary.csv")

# ---- sites ----------------------------------------------------------------------------------------------
set.seed(3)
sizes <- sample(3:12, 36, replace = TRUE)
sites <- simulate(sizes, icc = 0.06)
site_u <- rnorm(6, 0, 1.5)
sites$site <- sprintf("S%d", (as.integer(sub("T", "", sites$therapist)) - 1) %/% 6 + 1)
sites$post <- round(sites$post + site_u[as.integer(sub("S", "", sites$site))], 2)
write_data(sites, "sites.csv")

profile_share <- function(formula, d, reml, level) {
  dev <- lmer(formula, d, REML = reml, devFunOnly = TRUE)  # theta = (therapist, site): more levels first
  f <- lmer(formula, d, REML = reml, control = ctl)
  fmin <- if (reml) REMLcrit(f) else deviance(f)
  th <- getME(f, "theta")
  psi_hat <- th[1]^2 / (1 + sum(th^2))
  prof <- function(psi) {
    optimize(function(ts) dev(c(sqrt(psi * (1 + ts^2) / (1 - psi)), ts)), c(0, 20), tol = 1e-13)$objective
  }
  q <- qchisq(level / 100, 1)
  g <- function(psi) prof(psi) - fmin - q
  lo <- if (g(0) <= 0) 0 else uniroot(g, c(0, psi_hat), tol = 1e-13)$root
  hi <- uniroot(g, c(psi_hat, 0.99), tol = 1e-13)$root
  list(ci_low = lo, ci_high = hi)
}

site_random <- sapply(c("REML", "ML"), function(method) {
  reml <- method == "REML"
  out <- fit_case(post ~ pre + (1 | site) + (1 | therapist), sites, reml, site = "site")
  out$profile <- list(level95 = profile_share(post ~ pre + (1 | site) + (1 | therapist), sites, reml, 95))
  out
}, simplify = FALSE)

# ---- sessions ---------------------------------------------------------------------------------------------
set.seed(5)
m <- 20
sizes <- sample(2:10, m, replace = TRUE)
j <- rep(seq_len(m), sizes)
n_cl <- length(j)
u <- rnorm(m, 0, 1.5)
long <- do.call(rbind, lapply(seq_len(n_cl), function(i) {
  k <- sample(1:6, 1)
  intake <- rnorm(1, 25, 6)
  data.frame(client = sprintf("C%03d", i), therapist = sprintf("T%02d", j[i]), session = seq_len(k),
             score = round(intake + (seq_len(k) - 1) * (0.8 + u[j[i]] / 3) + rnorm(k, 0, 3), 1))
}))
long <- long[sample(nrow(long)), ]
write_data(long, "sessions.csv")
ord <- long[order(long$client, long$session), ]
firsts <- ord[!duplicated(ord$client), ]
lasts <- ord[!duplicated(ord$client, fromLast = TRUE), ]
counts <- table(ord$client)
keep <- names(counts)[counts >= 2]
per_client <- data.frame(client = keep, therapist = firsts$therapist[match(keep, firsts$client)],
                         first = firsts$score[match(keep, firsts$client)],
                         last = lasts$score[match(keep, lasts$client)])

write_reference(list(
  balanced = two_level(post ~ pre + (1 | therapist), balanced, levels = c(95, 90)),
  unbalanced = two_level(post ~ pre + (1 | therapist), unbalanced),
  covariates = two_level(post ~ pre + age + dx + (1 | therapist), covariates),
  boundary = c(list(seed = seed), two_level(post ~ 1 + (1 | therapist), boundary)),
  site_random = site_random,
  site_fixed = sapply(c("REML", "ML"), function(method)
    fit_case(post ~ pre + site + (1 | therapist), sites, method == "REML"), simplify = FALSE),
  sessions = c(list(n_clients = nrow(per_client), dropped = n_cl - nrow(per_client)),
               two_level(last ~ first + (1 | therapist), per_client))
), "therapists", packages = "lme4")
