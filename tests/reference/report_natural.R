# The headline estimates of the report's pages on their natural scale (tests/test_report_natural.py):
# metafor's predict(res, transf=) of the univariate random-effects model (bcg, molloy2014) and of the
# three-level model with CR2 cluster-robust inference (clubSandwich through metafor's robust()), whose
# prediction interval is pred +- t(df) sqrt(se^2 + sigma2_1 + sigma2_2), on the shipped files: effect sizes
# nested in studies (metapsy_total_response, log risk ratios; assink2016, SMD) and treatment arms nested in
# studies (hasselblad1998, logit proportions; lopez2019, standardised mean changes).
#
#   Rscript tests/reference/report_natural.R      (from the repository's root)

source("tests/reference/common.R")
suppressPackageStartupMessages(library(clubSandwich))

ctl <- list(rel.tol = 1e-10)
pred <- function(p) list(estimate = p$pred, ci_low = p$ci.lb, ci_high = p$ci.ub, pi_low = p$pi.lb,
                         pi_high = p$pi.ub)
nested <- function(yi, vi, study, transf = NULL) {
  es <- seq_along(yi)
  m <- rma.mv(yi, vi, random = ~ 1 | study/es, method = "REML", control = ctl)
  r <- robust(m, cluster = study, clubSandwich = TRUE)
  out <- list(k = m$k, n_clusters = m$s.nlevels[1], model = pred(predict(r)), sigma2 = m$sigma2)
  if (!is.null(transf)) out$natural <- pred(predict(r, transf = transf))
  out
}

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = read.csv("data/bcg.csv"))
res_bcg <- rma(yi, vi, data = bcg, control = converged)
molloy <- escalc("ZCOR", ri = ri, ni = ni, data = read.csv("data/molloy2014.csv"))
res_molloy <- rma(yi, vi, data = molloy, control = converged)

total <- read.csv("data/metapsy_total_response.csv", check.names = FALSE)
total <- total[!is.na(total$logrr) & !is.na(total$se.logrr), ]
assink <- read.csv("data/assink2016.csv")
hasselblad <- escalc("PLO", xi = xi, ni = ni, data = read.csv("data/hasselblad1998.csv"))
lopez <- read.csv("data/lopez2019.csv")

write_reference(list(
  bcg_rr = list(model = pred(predict(res_bcg)), natural = pred(predict(res_bcg, transf = exp))),
  molloy2014_zcor = list(model = pred(predict(res_molloy)),
                         natural = pred(predict(res_molloy, transf = transf.ztor))),
  metapsy_total_response = nested(total$logrr, total$se.logrr^2, total$study, exp),
  assink2016 = nested(assink$yi, assink$vi, assink$study),
  hasselblad1998 = nested(hasselblad$yi, hasselblad$vi, hasselblad$study, transf.ilogit),
  lopez2019 = nested(lopez$diff, lopez$se^2, lopez$study)
), "report_natural", packages = c("metafor", "clubSandwich"))
