# Shared by the scripts of this folder: run from the repository's root, e.g.
#   Rscript tests/reference/tau2.R

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

inputs <- "tests/conformance/inputs"

# rma.uni run to convergence; uniroot (PM, PMM) and the Q-profile intervals to tol 1e-13
converged <- list(threshold = 1e-12, tol = 1e-13)

versions <- function(packages = c("metafor", "metadat")) {
  c(list(R = paste(R.version$major, R.version$minor, sep = ".")),
    sapply(c(packages, "jsonlite"), function(p) as.character(packageVersion(p)), simplify = FALSE))
}

# NA is written "NA", NULL {}; numbers with 15 significant digits
write_reference <- function(x, name, packages = c("metafor", "metadat")) {
  x <- c(list(generator = sprintf("tests/reference/%s.R", name), versions = versions(packages)), x)
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, pretty = TRUE),
             sprintf("tests/reference/%s.json", name))
}
