# Begg and Mazumdar's rank correlation test (metafor's ranktest) at k >= 50 without ties, where it uses
# the exact null distribution of Kendall's S (cor.test(exact = TRUE)); read by tests/test_ranktest_exact.py.
# Run from the repository's root: Rscript tests/reference/ranktest.R
source("tests/reference/common.R")

# simulated studies with small-study effects (no ties: continuous yi and vi), fixed seed
RNGversion("4.2.2")
set.seed(20240611)
cases <- list()
for (k in c(50, 81, 120, 170, 171)) {
  vi <- runif(k, 0.005, 0.2)
  yi <- rnorm(k, 0.2 + 0.8 * sqrt(vi), sqrt(vi + 0.02))
  res <- ranktest(yi, vi)
  # the normal approximation of cor.test (exact = FALSE), for comparison
  approx <- ranktest(yi, vi, exact = FALSE)
  cases[[length(cases) + 1]] <- list(
    k = k, yi = yi, vi = vi,
    call = "ranktest(yi, vi)",
    tau = unname(res$tau), pval = if (is.nan(res$pval)) NA else unname(res$pval),  # NaN from k = 171
    pval_normal = unname(approx$pval))
}
write_reference(list(cases = cases), "ranktest", packages = "metafor")
