# tau2 estimators with moderators, and REML where plain Fisher scoring does not converge
# (tests/test_tau2.py).
#
#   Rscript tests/reference/tau2.R      (from the repository's root)

source("tests/reference/common.R")

d <- read.csv(file.path(inputs, "mr_bcg_RR_ablat_year.csv"))
tau2 <- function(r) list(tau2 = r$tau2, se_tau2 = r$se.tau2)

with_moderators <- sapply(c("SJ", "HS", "HE", "EB", "PM", "PMM", "DL"), function(m) {
  tau2(rma(yi ~ ablat + year, vi, data = d, method = m, control = converged))
}, simplify = FALSE)

# without stepadj, both stop with "Fisher scoring algorithm did not converge"
oscillating <- rma(c(0, 0, 0, 0, 0, 1), c(1, 1, 1, 1, 1, .125), control = list(threshold = 1e-12, stepadj = 0.5))
y <- c(0.02848, 0.02932, 0.1326, 0.05129, 0.006715, 0.05619, -0.05177, -0.02315, 0.06053, 0.03977, 0.1144,
       0.0007773, -0.01412, 0.03666)
v <- c(0.00377, 0.003569, 0.005231, 0.006732, 0.002649, 0.006223, 0.003132, 0.00466, 0.005783, 0.003934,
       0.005417, 0.005468, 5.257e-05, 0.0003137)
two_cycle <- rma(y, v, control = list(threshold = 1e-12, stepadj = 0.5, maxiter = 10000))

write_reference(list(with_moderators = with_moderators, reml_oscillating = tau2(oscillating),
                     reml_two_cycle = tau2(two_cycle)), "tau2")
