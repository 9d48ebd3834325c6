# The BCG file written by R's write.table (tests/data/r_write_table/bcg_default.txt), pooled
# (tests/test_io.py).
#
#   Rscript tests/reference/io.R      (from the repository's root)

source("tests/reference/common.R")

d <- read.table("tests/data/r_write_table/bcg_default.txt", header = TRUE)
r <- suppressWarnings(rma(yi, vi, data = d, control = list(threshold = 1e-12, maxiter = 10000)))  # 2 NAs

write_reference(list(bcg_default = list(k = r$k, estimate = as.numeric(r$beta), tau2 = r$tau2)), "io")
