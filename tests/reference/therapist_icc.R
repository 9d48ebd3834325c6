# Therapist ICCs pooled across studies (tests/test_therapist_icc_pool.py): each ICC's large-sample sampling
# variance (Donner 1986, Int Stat Rev 54(1):67-82: the one-way ICC with g clusters of average size m = N / g,
#   v = 2 (1 - rho)^2 (1 + (m - 1) rho)^2 / (m (m - 1) (g - 1))), then metafor's rma(yi = rho, vi = v).
#
#   Rscript tests/reference/therapist_icc.R      (from the repository's root)

source("tests/reference/common.R")

donner <- function(rho, g, n) {
  m <- n / g
  2 * (1 - rho)^2 * (1 + (m - 1) * rho)^2 / (m * (m - 1) * (g - 1))
}

sets <- list(
  # data/published/estimates.csv: Wampold & Brown 2005, Saxon & Barkham 2012, Firth et al. 2019 (with
  # covariates), Mahon, Minami & Brown 2023 (percent / 100; therapists; patients)
  published = data.frame(study = c("Wampold 2005", "Saxon 2012", "Firth 2019", "Mahon 2023"),
                         icc = c(5, 6.6, 3.4, 5.21) / 100, n_therapists = c(581, 119, 462, 874),
                         n_clients = c(6146, 10786, 26888, 156258)),
  # made-up practices, one with an ICC of 0 (a singular fit) and small caseloads
  practices = data.frame(study = paste0("p", 1:5), icc = c(0, 0.02, 0.08, 0.15, 0.05),
                         n_therapists = c(20, 35, 50, 12, 100), n_clients = c(200, 700, 1000, 150, 2500))
)
specs <- list(c("REML", "z"), c("DL", "z"), c("REML", "knha"), c("HE", "z"))

cases <- list()
for (name in names(sets)) {
  d <- sets[[name]]
  d$vi <- donner(d$icc, d$n_therapists, d$n_clients)
  for (s in specs) {
    res <- rma(yi = icc, vi = vi, data = d, method = s[1], test = s[2], control = converged)
    pred <- predict(res)
    cases[[length(cases) + 1]] <- list(
      id = sprintf("%s_%s_%s", name, s[1], s[2]), set = name, method = s[1], test = s[2],
      input = d[, c("study", "icc", "n_therapists", "n_clients")],
      expected = list(vi = d$vi, icc = as.numeric(res$b), se = res$se, ci_low = res$ci.lb,
                      ci_high = res$ci.ub, pi_low = pred$pi.lb, pi_high = pred$pi.ub, tau2 = res$tau2,
                      i2 = res$I2, q = res$QE, q_pval = res$QEp,
                      weight = as.numeric(weights(res))))
  }
}

# a hand value of the formula: rho = .1, 50 therapists of 20 clients:
#   2 * .81 * (1 + 19 * .1)^2 / (20 * 19 * 49) = 13.6242 / 18620
hand <- list(rho = 0.1, g = 50, n = 1000, v = donner(0.1, 50, 1000), by_hand = 13.6242 / 18620)

write_reference(list(cases = cases, hand = hand), "therapist_icc", packages = "metafor")
