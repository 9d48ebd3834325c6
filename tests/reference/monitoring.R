# Reference numbers for commonfactors.monitoring (tests/test_monitoring_trajectories.py):
#   Rscript tests/reference/monitoring.R
#
# 1. The expected-change model fitted by lme4 to tests/data/monitoring_ors.csv (synthetic, seeded):
#    the scores after intake, ors ~ intake * log(session) + (1 + log(session) | client), REML.
# 2. For every score after intake, its prediction from intake and the client's EARLIER scores after intake,
#    written here with the n x n conditional normal formulas (no push-through identity):
#      V = Z G Z' + sigma2 I,  b = G Z' V^-1 (y - X beta),  Var(b) = G - G Z' V^-1 Z G,
#      expected = x' beta + z' b,  a = x - X' V^-1 Z G z,
#      sd = sqrt(sigma2 + z' Var(b) z + a' vcov(beta) a),  bound = expected - qnorm(0.90) sd  (higher is better).
# 3. Jacobson & Truax (1991) arithmetic: the single case 47.5 -> 32.5 (sd 7.5, r .80), the cutoffs with
#    M_dys 40, M_fun 60, s 7.5, and the DAS Table 2 fixture (tests/data/monitoring_jt1991_das.csv, r .96,
#    s 17.8, cutoff a from the pretest sample).

suppressPackageStartupMessages({
  library(lme4)
  library(jsonlite)
})

d <- read.csv("tests/data/monitoring_ors.csv")
d <- d[order(d$client, d$session), ]
d$intake <- ave(d$ors, d$client, FUN = function(x) x[1])
p <- d[d$session > 1, ]
fit <- lmer(ors ~ intake * log(session) + (1 + log(session) | client), data = p, REML = TRUE,
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5)))
beta <- fixef(fit)
vb <- as.matrix(vcov(fit))
G <- as.matrix(VarCorr(fit)$client)
attributes(G)[c("stddev", "correlation")] <- NULL
s2 <- sigma(fit)^2
alpha <- 0.10

rows <- list()
for (cl in unique(p$client)) {
  q <- p[p$client == cl, ]
  X <- cbind(1, q$intake, log(q$session), q$intake * log(q$session))
  Z <- cbind(1, log(q$session))
  for (i in seq_len(nrow(q))) {
    x <- X[i, ]
    z <- Z[i, ]
    if (i == 1) {
      b <- c(0, 0)
      Vb <- G
      a <- x
    } else {
      Xe <- X[1:(i - 1), , drop = FALSE]
      Ze <- Z[1:(i - 1), , drop = FALSE]
      V <- Ze %*% G %*% t(Ze) + s2 * diag(i - 1)
      Vi <- solve(V)
      b <- G %*% t(Ze) %*% Vi %*% (q$ors[1:(i - 1)] - Xe %*% beta)
      Vb <- G - G %*% t(Ze) %*% Vi %*% Ze %*% G
      a <- x - t(Xe) %*% Vi %*% Ze %*% G %*% z
    }
    e <- sum(x * beta) + sum(z * b)
    sd <- sqrt(s2 + drop(t(z) %*% Vb %*% z) + drop(t(a) %*% vb %*% a))
    rows[[length(rows) + 1]] <- list(client = cl, session = q$session[i], score = q$ors[i], expected = e,
                                     sd = sd, bound = e - qnorm(1 - alpha) * sd,
                                     population = sum(x * beta))
  }
}
preds <- do.call(rbind.data.frame, rows)

# Jacobson & Truax arithmetic
sdiff <- sqrt(2) * 7.5 * sqrt(1 - 0.80)
das <- read.csv("tests/data/monitoring_jt1991_das.csv")
a_das <- mean(das$pre) + 2 * sd(das$pre)
sdiff_das <- sqrt(2) * 17.8 * sqrt(1 - 0.96)
rc_das <- (das$post - das$pre) / sdiff_das
cat_das <- ifelse(rc_das > 1.96, ifelse(das$post > a_das, "recovered", "improved"),
                  ifelse(rc_das < -1.96, "deteriorated", "unchanged"))

out <- list(
  generator = "tests/reference/monitoring.R",
  versions = list(R = paste(R.version$major, R.version$minor, sep = "."),
                  lme4 = as.character(packageVersion("lme4")),
                  jsonlite = as.character(packageVersion("jsonlite"))),
  fit = list(beta = unname(beta), vcov = unname(vb), G = unname(G), sigma2 = s2, reml_crit = REMLcrit(fit),
             singular = isSingular(fit), n = nrow(p), n_clients = length(unique(p$client))),
  alpha = alpha,
  predictions = as.list(preds),
  jt_single = list(pre = 47.5, post = 32.5, sd = 7.5, reliability = 0.80, se = 7.5 * sqrt(1 - 0.80),
                   s_diff = sdiff, rc = (32.5 - 47.5) / sdiff),
  jt_cutoffs = list(a = 40 + 2 * 7.5, b = 60 - 2 * 7.5, c = (7.5 * 40 + 7.5 * 60) / (7.5 + 7.5)),
  jt_das = list(cutoff_a = a_das, s_diff = sdiff_das, rc = rc_das, category = cat_das,
                counts = as.list(table(factor(cat_das, levels = c("recovered", "improved", "unchanged",
                                                                  "deteriorated")))))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "tests/reference/monitoring.json")
