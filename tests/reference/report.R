# What the report's figures and pages draw and print (tests/test_report_figures.py,
# tests/test_report_site.py): the BCG example (metadat's dat.bcg), Landenberger and Lipsey (2005) and
# Molloy et al. (2014), with metafor's default control, as the report is compared with what metafor shows.
#
#   Rscript tests/reference/report.R      (from the repository's root)

source("tests/reference/common.R")

# jsonlite writes a vector of length one as a number: row numbers and labels stay arrays with I()
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
res <- rma(yi, vi, data = dat)
pred <- predict(res)
tf <- trimfill(res)
b <- baujat(res)
cu <- cumul(res, order = dat$year)
bcg <- list(estimate = as.numeric(res$beta), ci_low = res$ci.lb, ci_high = res$ci.ub, pi_low = pred$pi.lb,
            pi_high = pred$pi.ub,
            weights = unname(weights(res)),                                   # percent
            trimfill = list(k0 = tf$k0, side = tf$side),
            baujat = list(x = unname(b$x), y = unname(b$y)),
            cumul = list(order = as.integer(cu$slab), estimate = cu$estimate, ci_low = cu$ci.lb,
                         ci_high = cu$ci.ub),
            printed = formatC(c(res$beta, res$tau2), format = "f", digits = 4),  # as print(res) shows them
            influential = I(which(influence(res)$is.infl)))

# the influential study is refitted to convergence for Baujat's y: with the default threshold (1e-5) the fit
# without it stops early (tau2 0.0335724 instead of 0.0335695)
lan <- escalc(measure = "OR", ai = n.ctrl.rec, bi = n.ctrl.non, ci = n.cbt.rec, di = n.cbt.non,
              data = dat.landenberger2005)
flagged <- which(influence(rma(yi, vi, data = lan))$is.infl)
bl <- baujat(rma(yi, vi, data = lan, control = list(threshold = 1e-12, maxiter = 1000)))
landenberger <- list(influential = I(flagged), slab = I(as.character(lan$study[flagged])),
                     baujat_x = unname(bl$x[flagged]), baujat_y = unname(bl$y[flagged]))

molloy <- rma(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)

write_reference(list(bcg_reml = bcg, landenberger2005_or_reml = landenberger,
                     molloy2014_zcor_reml = list(r = tanh(as.numeric(molloy$beta))),
                     z_contours = list(p = c(0.10, 0.05, 0.01), z = qnorm(1 - c(0.10, 0.05, 0.01) / 2))),
                "report")
