# Cluster-robust inference (CR2) by clubSandwich through metafor's robust() (tests/test_robust.py).
#
#   Rscript tests/reference/robust.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(clubSandwich))

ctl <- list(rel.tol = 1e-10)
cr2 <- function(r) list(se = r$se, df = r$dfs, pval = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub)

# the small example of tests/test_robust.py and tests/test_multilevel.py
d <- data.frame(yi = c(0.2, 0.3, 0.6, 0.1, 0.5, 0.4, 0.9, 0.8),
                vi = c(0.02, 0.03, 0.02, 0.04, 0.03, 0.02, 0.05, 0.03), cl = c(1, 1, 2, 2, 3, 3, 4, 4), es = 1:8)
small <- sapply(c("REML", "ML"), function(method) {
  m <- rma.mv(yi, vi, random = ~ 1 | cl/es, data = d, method = method, control = ctl)
  cr2(robust(m, cluster = d$cl, clubSandwich = TRUE))
}, simplify = FALSE)

# metafor drops the 9 rows without difficulty; the fit has sigma2_2 at the boundary
knapp2017 <- read.csv(file.path(inputs, "ml_knapp2017.csv"))
m <- rma.mv(yi, vi, mods = ~ difficulty, random = ~ 1 | cluster/within, data = knapp2017, test = "t",
            control = ctl)
r <- suppressWarnings(robust(m, cluster = knapp2017$cluster, clubSandwich = TRUE))
coefficients <- lapply(seq_along(r$beta), function(j) lapply(cr2(r), `[`, j))

write_reference(list(small = small, knapp2017_difficulty = list(coefficients = coefficients, qm = r$QM,
                                                                 qm_df = r$QMdf, qm_pval = r$QMp)),
                "robust", packages = c("metafor", "metadat", "clubSandwich"))
