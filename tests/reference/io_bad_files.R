# Pooled estimates of the bad-file corpus's files that load (tests/test_io_bad_files.py), on the values the
# files hold (tests/data/make_bad_files.py writes them).
#
#   Rscript tests/reference/io_bad_files.R      (from the repository's root)

source("tests/reference/common.R")

ctl <- list(threshold = 1e-12, maxiter = 10000)
yi <- c(0.12, 0.35, -0.05, 0.48, 0.22, 0.30)
vi <- c(0.031, 0.045, 0.027, 0.060, 0.038, 0.052)
estimate <- function(yi, vi) as.numeric(rma(yi, vi, control = ctl)$beta)

write_reference(list(
  six_studies = estimate(yi, vi),                                        # tau2 = 0
  rows_3_5_dropped = estimate(yi[-c(2, 4)], vi[-c(2, 4)]),               # missing_values.csv
  three_studies = estimate(c(0.12, 0.35, -0.05), c(0.031, 0.045, 0.027)),  # tau2 = 0.00208
  merged_labels = estimate(c(0.12, 0.18, 0.35), c(0.031, 0.036, 0.045))  # excel_merged_study_labels.xlsx
), "io_bad_files")
