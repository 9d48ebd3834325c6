# Cluster bootstrap of a three-level model (rma.mv, random = ~ 1 | cluster/within) of the Assink & Wibbelink
# (2016) example data (tests/conformance/inputs/ml_assink2016.csv): whole clusters drawn with replacement, a
# cluster drawn twice entering as two clusters, REML refitted in a loop; read by tests/test_cluster_bootstrap.py.
# Run from the repository's root: Rscript tests/reference/cluster_bootstrap.R (about a minute).
source("tests/reference/common.R")

d <- read.csv(file.path(inputs, "ml_assink2016.csv"))
ctl <- list(rel.tol = 1e-10)
fit <- rma.mv(yi, vi, random = ~ 1 | cluster/within, data = d, method = "REML", control = ctl)
ids <- sort(unique(d$cluster))
n_cl <- length(ids)

# the resampled data of drawn cluster positions `pick` (1-based into ids): new cluster labels 1, 2, ...
resample <- function(pick) {
  do.call(rbind, lapply(seq_along(pick), function(j) {
    part <- d[d$cluster == ids[pick[j]], ]
    part$cluster <- j
    part
  }))
}
refit <- function(pick) {
  r <- try(suppressWarnings(rma.mv(yi, vi, random = ~ 1 | cluster/within, data = resample(pick),
                                   method = "REML", control = ctl)), silent = TRUE)
  if (inherits(r, "try-error")) c(NA, NA, NA) else c(as.numeric(coef(r)), r$sigma2)
}

RNGversion("4.2.2")
set.seed(20261205)
# three resamples fitted exactly (the positions 0-based for Python)
fixed <- lapply(1:3, function(i) {
  pick <- sample(n_cl, replace = TRUE)
  f <- refit(pick)
  list(pick = pick - 1, estimate = f[1], sigma2 = f[2:3])
})

n <- 1500
boot <- t(vapply(seq_len(n), function(b) refit(sample(n_cl, replace = TRUE)), numeric(3)))
band <- function(x, p) {
  x <- sort(x[!is.na(x)]); m <- length(x); h <- 3.5 * sqrt(m * p * (1 - p))
  c(x[max(1, floor(m * p - h))], x[min(m, ceiling(m * p + h))])
}
summ <- function(x) list(se = sd(x, na.rm = TRUE), ci = unname(quantile(x, c(.025, .975), na.rm = TRUE)),
                         low_band = band(x, .025), high_band = band(x, .975))

write_reference(list(call = "rma.mv(yi, vi, random = ~ 1 | cluster/within, method = 'REML') on clusters resampled",
                     estimate = as.numeric(coef(fit)), sigma2 = fit$sigma2, n_clusters = n_cl, fixed = fixed,
                     n = n, failures = sum(is.na(boot[, 1])), estimate_boot = summ(boot[, 1]),
                     sigma2_1_boot = summ(boot[, 2]), sigma2_2_boot = summ(boot[, 3])),
                "cluster_bootstrap")
