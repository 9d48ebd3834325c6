# Pooled estimates on their natural scale (metafor's predict(res, transf=)), and the shipped datasets'
# own effect sizes pooled, for tests/test_natural_scale.py.
#
#   Rscript tests/reference/natural.R      (from the repository's root)

source("tests/reference/common.R")

pred <- function(res, transf, ...) {
  p <- predict(res, transf = transf, ...)
  list(estimate = p$pred, ci_low = p$ci.lb, ci_high = p$ci.ub,
       pi_low = if (is.null(p$pi.lb)) NA else p$pi.lb, pi_high = if (is.null(p$pi.ub)) NA else p$pi.ub)
}

molloy <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
res_molloy <- rma(yi, vi, data = molloy, control = converged)

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
by_alloc <- lapply(sort(unique(bcg$alloc)), function(a) {
  pred(rma(yi, vi, data = bcg, subset = alloc == a, control = converged), exp)
})
names(by_alloc) <- sort(unique(bcg$alloc))

pritz <- escalc("PFT", xi = xi, ni = ni, data = dat.pritz1997)
res_pritz <- rma(yi, vi, data = pritz, control = converged)

hasselblad <- read.csv("data/hasselblad1998.csv")
hasselblad <- escalc("PLO", xi = xi, ni = ni, data = hasselblad)
res_hasselblad <- rma(yi, vi, data = hasselblad, control = converged)

psyctr <- read.csv("data/metapsy_depression_psyctr.csv", check.names = FALSE)
res_psyctr <- rma(yi = psyctr$.g, sei = psyctr$.g_se, control = converged)

res_ablat <- rma(yi, vi, mods = ~ ablat, data = bcg, control = converged)
at <- predict(res_ablat, newmods = c(10, 30, 50), transf = exp)
fitted <- predict(res_ablat)
res_ablat_knha <- rma(yi, vi, mods = ~ ablat, data = bcg, test = "knha", control = converged)
at_knha <- predict(res_ablat_knha, newmods = c(10, 30, 50))
rows <- function(p) list(pred = p$pred, se = if (is.null(p$se)) NA else p$se, ci_low = p$ci.lb,
                         ci_high = p$ci.ub, pi_low = p$pi.lb, pi_high = p$pi.ub)

# trim and fill and the selection model of molloy2014 (Fisher's z), back-transformed to r
tf_molloy <- trimfill(res_molloy)
filled_molloy <- rma(tf_molloy$yi, tf_molloy$vi, method = "REML", control = converged)
sel_molloy <- selmodel(res_molloy, type = "stepfun", steps = 0.025,
                       control = list(reltol = 1e-14, maxit = 10000))
fe_molloy <- rma(yi, vi, data = molloy, method = "FE")

write_reference(list(
  molloy2014_bias_ztor = list(
    trim_and_fill = as.list(transf.ztor(c(estimate = as.numeric(filled_molloy$beta),
                                          ci_low = filled_molloy$ci.lb, ci_high = filled_molloy$ci.ub))),
    selection_3psm = as.list(transf.ztor(c(estimate = as.numeric(sel_molloy$beta), ci_low = sel_molloy$ci.lb,
                                           ci_high = sel_molloy$ci.ub))),
    selection_3psm_fit = list(estimate_z = as.numeric(sel_molloy$beta), loglik = sel_molloy$ll)),
  molloy2014_fe_ztor = pred(fe_molloy, transf.ztor),
  bcg_ablat_predict_exp = c(list(newmods = c(10, 30, 50)), rows(at)),
  bcg_ablat_fitted = rows(fitted),
  bcg_ablat_knha_predict = c(list(newmods = c(10, 30, 50)), rows(at_knha)),
  molloy2014_ztor = c(list(estimate_z = as.numeric(res_molloy$beta)), pred(res_molloy, transf.ztor)),
  bcg_rr_by_alloc_exp = by_alloc,
  pritz1997_ipft = c(list(pritz = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni)),
                     pred(res_pritz, transf.ipft.hm, targs = list(ni = dat.pritz1997$ni))),
  hasselblad1998_ilogit = c(list(k = res_hasselblad$k), pred(res_hasselblad, transf.ilogit)),
  metapsy_depression_psyctr = list(k = res_psyctr$k, estimate = as.numeric(res_psyctr$beta),
                                   tau2 = res_psyctr$tau2)
), "natural")
