# Random-slope linear mixed models for tests/test_lmm_slopes.py and tests/test_development.py: therapists
# whose outcomes change with time (years of practice), y ~ time [+ baseline] + (1 + time | therapist), fitted
# by lme4 (bobyqa run to rhoend 1e-12) with lmerTest's Satterthwaite df. The synthetic data are generated
# here, seeded, and written to tests/data/development_*.csv.
#
#   Rscript tests/reference/development.R      (from the repository's root)

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(jsonlite)
})

versions <- function(packages) {
  c(list(R = paste(R.version$major, R.version$minor, sep = ".")),
    sapply(c(packages, "jsonlite"), function(p) as.character(packageVersion(p)), simplify = FALSE))
}
write_reference <- function(x, name, packages) {
  x <- c(list(generator = sprintf("tests/reference/%s.R", name), versions = versions(packages)), x)
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             sprintf("tests/reference/%s.json", name))
}

tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6),
                     check.conv.singular = "ignore")

# therapists with a known average slope of -0.4 points a year; intercept SD 2, slope SD 0.5, correlation -0.3
simulate <- function(seed, m, size, slope_sd = 0.5, span = 10) {
  set.seed(seed)
  nj <- size(m)
  therapist <- rep(seq_len(m), nj)
  n <- length(therapist)
  z <- matrix(rnorm(2 * m), m)
  b <- cbind(2 * z[, 1], slope_sd * (-0.3 * z[, 1] + sqrt(1 - 0.3^2) * z[, 2]))
  time <- round(runif(n, 0, span), 2)
  baseline <- round(rnorm(n, 20, 5), 1)
  y <- 30 - 0.4 * time + 0.5 * baseline + b[therapist, 1] + b[therapist, 2] * time + rnorm(n, 0, 4)
  data.frame(client = seq_len(n), therapist = sprintf("T%02d", therapist), time = time, baseline = baseline,
             y = round(y, 3))
}

fit_summary <- function(f, d, group = "therapist") {
  s <- summary(f)
  cf <- coef(s)
  vc <- as.data.frame(VarCorr(f))
  re <- ranef(f, condVar = TRUE)[[group]]
  pv <- attr(re, "postVar")
  q <- ncol(re)
  list(
    terms = rownames(cf), estimate = unname(cf[, "Estimate"]), se = unname(cf[, "Std. Error"]),
    df = unname(cf[, "df"]), t = unname(cf[, "t value"]), p = unname(cf[, "Pr(>|t|)"]),
    vcov = unname(as.matrix(vcov(f))), theta = unname(getME(f, "theta")), sigma = sigma(f),
    G = unname(as.matrix(VarCorr(f)[[group]])), sd = unname(attr(VarCorr(f)[[group]], "stddev")),
    corr = if (q > 1) unname(attr(VarCorr(f)[[group]], "correlation")[2, 1]) else NULL,
    crit = if (isREML(f)) REMLcrit(f) else deviance(f), loglik = as.numeric(logLik(f)),
    singular = isSingular(f), groups = rownames(re), ranef = unname(as.matrix(re)),
    ranef_var = lapply(seq_len(nrow(re)), function(j) unname(pv[, , j, drop = TRUE])),
    coef = unname(as.matrix(coef(f)[[group]]))
  )
}

# 1. balanced-ish: 30 therapists with 6-20 clients
slopes <- simulate(20261205, 30, function(m) sample(6:20, m, replace = TRUE))
write.csv(slopes, "tests/data/development_slopes.csv", row.names = FALSE)
fits <- list(
  slope_reml = fit_summary(lmer(y ~ time + (1 + time | therapist), slopes, REML = TRUE, control = tight), slopes),
  slope_ml = fit_summary(lmer(y ~ time + (1 + time | therapist), slopes, REML = FALSE, control = tight), slopes),
  slope_baseline_reml = fit_summary(lmer(y ~ time + baseline + (1 + time | therapist), slopes, REML = TRUE,
                                         control = tight), slopes),
  intercept_reml = fit_summary(lmer(y ~ time + (1 | therapist), slopes, REML = TRUE, control = tight), slopes),
  intercept_ml = fit_summary(lmer(y ~ time + (1 | therapist), slopes, REML = FALSE, control = tight), slopes)
)

# 2. unbalanced: 60 therapists, most with 1 or 2 clients, a few with 10-25
unbalanced <- simulate(7, 60, function(m) c(sample(1:2, 50, replace = TRUE), sample(10:25, 10, replace = TRUE)))
write.csv(unbalanced, "tests/data/development_unbalanced.csv", row.names = FALSE)
fits$unbalanced_reml <- fit_summary(lmer(y ~ time + baseline + (1 + time | therapist), unbalanced, REML = TRUE,
                                         control = tight), unbalanced)

# 3. singular: no slope variance, few therapists; the first seed whose lme4 fit is singular
for (seed in 1:200) {
  singular <- simulate(seed, 8, function(m) rep(8, m), slope_sd = 0)
  f <- lmer(y ~ time + (1 + time | therapist), singular, REML = TRUE, control = tight)
  if (isSingular(f)) break
}
write.csv(singular, "tests/data/development_singular.csv", row.names = FALSE)
fits$singular_reml <- fit_summary(f, singular)
fits$singular_reml$seed <- seed

# 4. a data set where lme4's bobyqa, started from theta = (1, 0, 1) and run to rhoend 1e-12, stops at a
# criterion about 23 above the optimum; Nelder-Mead from the same start, polished by bobyqa from there,
# reaches it (found by searching seeds 1-15 for 60 therapists x 20 clients, years 0-15)
set.seed(13)
m <- 60
j <- rep(1:m, each = 20)
n <- length(j)
years <- round(runif(n, 0, 15), 2)
pre <- round(rnorm(n, 25, 6), 1)
u0 <- rnorm(m, 0, 1.5)
u1 <- rnorm(m, 0, 0.15)
post <- round(10 + 0.6 * pre - 0.05 * years + u0[j] + u1[j] * years + rnorm(n, 0, 4), 2)
astray <- data.frame(client = seq_len(n), therapist = sprintf("T%02d", j), time = years, baseline = pre,
                     y = post)
write.csv(astray, "tests/data/development_astray.csv", row.names = FALSE)
model <- y ~ time + baseline + (1 + time | therapist)
stuck <- suppressWarnings(lmer(model, astray, REML = TRUE, control = tight))
nm <- lmer(model, astray, REML = TRUE, control = lmerControl(optimizer = "Nelder_Mead",
                                                                check.conv.singular = "ignore"))
best <- lmer(model, astray, REML = TRUE, control = tight, start = list(theta = getME(nm, "theta")))
fits$astray_reml <- fit_summary(best, astray)
fits$astray_reml$bobyqa_crit <- REMLcrit(stuck)

write_reference(list(fits = fits), "development", c("lme4", "lmerTest"))
