# Reference numbers for `commonfactors therapists` (tests/test_cli_therapists.py): lme4 and lmerTest fits of
# synthetic practice data that this script writes, seeded, to tests/data/therapists/ (labelled synthetic).
#
#   clients.csv   one row per client: client, therapist, site, pre, post, age, years (the therapist's years
#                 of practice when the client was seen); 30 therapists in 6 sites, 3 to 20 clients each
#   sessions.csv  one row per client and session: client, therapist, session, score; 2 to 8 sessions a
#                 client, 5 clients with a single session, rows shuffled
#
# Models (random intercept per therapist, REML unless said; lme4 1.1.31, lmerTest 3.1.3):
#   icc          post ~ pre + (1 | therapist); the ICC's profile interval from the REML criterion as a
#                function of theta = sigma_t / sigma (devFunOnly = TRUE), {theta: d(theta) - d(theta_hat) <=
#                qchisq(level, 1)} mapped through theta^2 / (1 + theta^2), roots by uniroot (tol 1e-12)
#   icc_ml       the same by ML
#   mods         post ~ pre + age + (1 | therapist)
#   site_random  post ~ pre + (1 | site) + (1 | site:therapist)
#   site_fixed   post ~ pre + site + (1 | therapist)
#   sessions     last ~ first + (1 | therapist) from sessions.csv (first and last session's score of
#                clients with two sessions or more)
#   development  post ~ pre + years + (1 + years | therapist), lmerTest's Satterthwaite df
#
#   Rscript tests/reference/therapists_cli.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})

out_dir <- "tests/data/therapists"
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# ---- data ------------------------------------------------------------------------------------------------
set.seed(20261205)
n_ther <- 30
ther <- sprintf("T%02d", 1:n_ther)
site_of <- sprintf("S%d", rep(1:6, each = 5))
n_j <- sample(3:20, n_ther, replace = TRUE)
u_site <- rnorm(6, 0, 1.2)
u_int <- rnorm(n_ther, 0, 1.6)
u_slope <- rnorm(n_ther, 0, 0.25)
therapist <- rep(ther, n_j)
j <- rep(1:n_ther, n_j)
n <- length(j)
site <- site_of[j]
pre <- round(rnorm(n, 20, 5), 1)
age <- sample(18:70, n, replace = TRUE)
years <- round(runif(n, 0, 12), 2)
post <- round(8 + 0.6 * pre + 0.02 * age - 0.15 * years + u_site[as.integer(sub("S", "", site))] +
              u_int[j] + u_slope[j] * years + rnorm(n, 0, 4), 2)
clients <- data.frame(client = sprintf("C%04d", 1:n), therapist = therapist, site = site, pre = pre,
                      post = post, age = age, years = years)
write.csv(clients, file.path(out_dir, "clients.csv"), row.names = FALSE, quote = FALSE)

m_long <- 160
k_sess <- sample(2:8, m_long, replace = TRUE)
k_sess[sample(m_long, 5)] <- 1
lt <- sample(1:n_ther, m_long, replace = TRUE)
intake <- rnorm(m_long, 18, 6)
gain <- 1.2 + u_int[lt] / 2
rows <- do.call(rbind, lapply(1:m_long, function(i) {
  s <- seq_len(k_sess[i])
  data.frame(client = sprintf("L%03d", i), therapist = ther[lt[i]], session = s,
             score = round(intake[i] + gain[i] * (s - 1) + rnorm(length(s), 0, 2.5), 1))
}))
rows <- rows[sample(nrow(rows)), ]
write.csv(rows, file.path(out_dir, "sessions.csv"), row.names = FALSE, quote = FALSE)

# ---- fits ------------------------------------------------------------------------------------------------
ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5),
                   check.conv.singular = "ignore")

fixed <- function(m) {
  co <- summary(m)$coefficients
  list(term = rownames(co), estimate = unname(co[, "Estimate"]), se = unname(co[, "Std. Error"]))
}

ranef_table <- function(m, group = "therapist") {
  re <- ranef(m, condVar = TRUE)[[group]]
  pv <- attr(re, "postVar")
  list(therapist = rownames(re), eb = unname(re[, 1]), se = sqrt(pv[1, 1, ]))
}

profile_icc <- function(formula, data, m, level = 0.95, REML = TRUE) {
  dev <- lmer(formula, data = data, REML = REML, devFunOnly = TRUE, control = ctl)
  th <- unname(getME(m, "theta"))
  d0 <- dev(th)
  crit <- qchisq(level, 1)
  f <- function(t) dev(t) - d0 - crit
  lo <- if (f(0) <= 0) 0 else uniroot(f, c(0, th), tol = 1e-12)$root
  hi <- uniroot(f, c(th, th + 1), tol = 1e-12, extendInt = "upX")$root
  list(theta = th, crit_min = d0, ci_low = lo^2 / (1 + lo^2), ci_high = hi^2 / (1 + hi^2))
}

two_level <- function(formula, data, REML = TRUE) {
  m <- lmer(formula, data = data, REML = REML, control = ctl)
  vc <- as.data.frame(VarCorr(m))
  vt <- vc$vcov[vc$grp == "therapist"]
  ve <- vc$vcov[vc$grp == "Residual"]
  p <- profile_icc(formula, data, m, REML = REML)
  c(list(var_therapist = vt, var_residual = ve, icc = vt / (vt + ve), n_therapists = ngrps(m)[["therapist"]],
         n_clients = nobs(m), loglik = as.numeric(logLik(m)),
         reml_crit = if (REML) unname(REMLcrit(m)) else unname(deviance(m)),
         coefficients = fixed(m), ranef = ranef_table(m)), p)
}

icc <- two_level(post ~ pre + (1 | therapist), clients)
icc_ml <- two_level(post ~ pre + (1 | therapist), clients, REML = FALSE)
mods <- two_level(post ~ pre + age + (1 | therapist), clients)

m <- lmer(post ~ pre + (1 | site) + (1 | site:therapist), data = clients, control = ctl)
vc <- as.data.frame(VarCorr(m))
site_random <- list(var_site = vc$vcov[vc$grp == "site"], var_therapist = vc$vcov[vc$grp == "site:therapist"],
                    var_residual = vc$vcov[vc$grp == "Residual"], reml_crit = unname(REMLcrit(m)),
                    coefficients = fixed(m))

m <- lmer(post ~ pre + site + (1 | therapist), data = clients, control = ctl)
vc <- as.data.frame(VarCorr(m))
site_fixed <- list(var_therapist = vc$vcov[vc$grp == "therapist"], var_residual = vc$vcov[vc$grp == "Residual"],
                   reml_crit = unname(REMLcrit(m)), coefficients = fixed(m))

s <- rows[order(rows$client, rows$session), ]
first <- aggregate(score ~ client + therapist, data = s, FUN = function(x) x[1])
last <- aggregate(score ~ client + therapist, data = s, FUN = function(x) x[length(x)])
count <- aggregate(score ~ client, data = s, FUN = length)
pp <- merge(merge(first, last, by = c("client", "therapist"), suffixes = c("_first", "_last")), count)
dropped <- sum(pp$score == 1)
pp <- pp[pp$score > 1, ]
pp$first <- pp$score_first
pp$last <- pp$score_last
sessions <- c(two_level(last ~ first + (1 | therapist), pp), list(dropped = dropped))

m <- lmerTest::lmer(post ~ pre + years + (1 + years | therapist), data = clients, control = ctl)
co <- summary(m, ddf = "Satterthwaite")$coefficients
vc <- as.data.frame(VarCorr(m))
re <- ranef(m, condVar = TRUE)$therapist
pv <- attr(re, "postVar")
development <- list(
  term = rownames(co), estimate = unname(co[, "Estimate"]), se = unname(co[, "Std. Error"]),
  df = unname(co[, "df"]), t = unname(co[, "t value"]), pval = unname(co[, "Pr(>|t|)"]),
  sd_intercept = vc$sdcor[vc$grp == "therapist" & vc$var1 == "(Intercept)" & is.na(vc$var2)],
  sd_slope = vc$sdcor[vc$grp == "therapist" & vc$var1 == "years" & is.na(vc$var2)],
  cor = vc$sdcor[vc$grp == "therapist" & !is.na(vc$var2)],
  sigma = sigma(m), reml_crit = unname(REMLcrit(m)),
  ranef_therapist = rownames(re), ranef_slope = unname(re[, "years"]), ranef_slope_se = sqrt(pv[2, 2, ]))

write_reference(list(
  data = list(clients = file.path(out_dir, "clients.csv"), sessions = file.path(out_dir, "sessions.csv")),
  icc = icc, icc_ml = icc_ml, mods = mods, site_random = site_random, site_fixed = site_fixed,
  sessions = sessions, development = development
), "therapists_cli", packages = c("lme4", "lmerTest"))
