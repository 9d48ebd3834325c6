# The headline model of the report's pages for effect sizes nested in studies (tests/test_report_nested.py):
# the three-level model with CR2 cluster-robust inference (clubSandwich through metafor's robust()) and
# Egger's test as a three-level meta-regression on the standard error with CR2 inference, on the shipped
# assink2016 and metapsy_ptsd_psyctr files.
#
#   Rscript tests/reference/report_nested.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(clubSandwich))

ctl <- list(rel.tol = 1e-10)
nested <- function(yi, vi, study) {
  es <- seq_along(yi)
  m <- rma.mv(yi, vi, random = ~ 1 | study/es, method = "REML", control = ctl)
  r <- robust(m, cluster = study, clubSandwich = TRUE)
  e <- robust(rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | study/es, method = "REML", control = ctl),
              cluster = study, clubSandwich = TRUE)
  list(k = m$k, n_clusters = m$s.nlevels[1], estimate = as.numeric(r$beta), se = r$se, df = r$dfs,
       pval = r$pval, ci_low = r$ci.lb, ci_high = r$ci.ub, sigma2 = m$sigma2,
       egger = list(stat = e$zval[2], df = e$dfs[2], pval = e$pval[2], limit = as.numeric(e$beta[1])))
}

assink <- read.csv("data/assink2016.csv")
ptsd <- read.csv("data/metapsy_ptsd_psyctr.csv", check.names = FALSE)
ptsd <- ptsd[!is.na(ptsd$.g) & !is.na(ptsd$.g_se), ]

write_reference(list(assink2016 = nested(assink$yi, assink$vi, assink$study),
                     metapsy_ptsd_psyctr = nested(ptsd$.g, ptsd$.g_se^2, ptsd$study)),
                "report_nested", packages = c("metafor", "clubSandwich"))
