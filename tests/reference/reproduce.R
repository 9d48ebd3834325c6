# The reproduced values of analyses/ (tests/test_reproduce.py), computed by metafor on the same data,
# keyed by the reproduction table's row id. Iterative estimators run to convergence with
# control = list(threshold = 1e-12) where noted (metafor's default stops earlier, ~1e-3 on these ML fits).
#
#   Rscript tests/reference/reproduce.R      (from the repository's root)

source("tests/reference/common.R")

ctl <- list(threshold = 1e-12, maxiter = 10000)
b1 <- function(res) as.numeric(res$beta)[1]
values <- list()

# van Houwelingen et al. (2002), BCG
dat <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
values[["vanhouwelingen2002_bcg:or_fe"]] <- exp(b1(rma(yi, vi, data = dat, method = "FE")))
r <- rma(yi, vi, data = dat, method = "ML", control = list(threshold = 1e-12))
values[["vanhouwelingen2002_bcg:or_ml"]] <- exp(b1(r))
values[["vanhouwelingen2002_bcg:or_ml_ci_low"]] <- exp(r$ci.lb)
values[["vanhouwelingen2002_bcg:or_ml_ci_high"]] <- exp(r$ci.ub)
values[["vanhouwelingen2002_bcg:tau2_ml"]] <- r$tau2
r <- rma(yi, vi, mods = ~ ablat, data = dat, method = "ML", control = ctl)
values[["vanhouwelingen2002_bcg:mr_intercept"]] <- r$beta[1]
values[["vanhouwelingen2002_bcg:mr_ablat"]] <- r$beta[2]
values[["vanhouwelingen2002_bcg:mr_intercept_se"]] <- r$se[1]
values[["vanhouwelingen2002_bcg:mr_ablat_se"]] <- r$se[2]
values[["vanhouwelingen2002_bcg:mr_tau2"]] <- r$tau2
values[["vanhouwelingen2002_bcg:mr_r2"]] <- r$R2

# Colditz et al. (1994), BCG
b <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
values[["colditz1994_bcg:rr_dl"]] <- exp(b1(rma(yi, vi, data = b, method = "DL")))

# Molloy et al. (2014)
m <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
values[["molloy2014:r"]] <- tanh(b1(rma(yi, vi, data = m, control = list(threshold = 1e-12))))

# Dorn et al. (2007), placebo arms
d <- escalc("PLO", xi = x.p, ni = n.p, data = dat.dorn2007)
r <- rma(yi, vi, data = d, method = "DL")
values[["dorn2007:placebo_response"]] <- 100 * plogis(b1(r))
values[["dorn2007:placebo_response_ci_low"]] <- 100 * plogis(r$ci.lb)
values[["dorn2007:placebo_response_ci_high"]] <- 100 * plogis(r$ci.ub)

# Landenberger and Lipsey (2005)
l <- escalc("OR", ai = n.ctrl.rec, bi = n.ctrl.non, ci = n.cbt.rec, di = n.cbt.non, data = dat.landenberger2005)
values[["landenberger2005:or"]] <- exp(b1(rma(yi, vi, data = l)))

# Metapsy depression: one effect per comparison, aggregated with rho = 0.6
x <- read.csv("data/metapsy_depression_psyctr.csv", check.names = FALSE)
x <- x[x$outcome_type == "msd", ]
e <- escalc("SMD", m1i = mean_arm1, sd1i = sd_arm1, n1i = n_arm1, m2i = mean_arm2, sd2i = sd_arm2,
            n2i = n_arm2, data = x)
e$yi <- ifelse(e$.g < 0, -1, 1) * abs(e$yi)
f <- function(v) ifelse(is.na(v), "", as.character(v))
e$comparison <- paste(f(e$study), f(e$condition_arm1), f(e$condition_arm2), f(e$multi_arm1), f(e$multi_arm2),
                      sep = " | ")
a <- aggregate(e, cluster = comparison, rho = 0.6)
stopifnot(nrow(a) == 522)
values[["metapsy_depression:g_all"]] <- b1(rma(yi, vi, data = a))
for (lv in c("cau", "other ctr", "wl")) {
  values[[paste0("metapsy_depression:g_", gsub(" ", "_", lv))]] <- b1(rma(yi, vi, data = a,
                                                                         subset = condition_arm2 == lv))
}

# Metapsy total response: the database's log risk ratios, and metafor's own rule for the same tables
d <- read.csv("data/metapsy_total_response.csv", check.names = FALSE)
values[["metapsy_total_response:rr_all"]] <- exp(b1(rma(d$logrr, sei = d[["se.logrr"]])))
e <- escalc("RR", ai = d[["improved.ig"]], n1i = d[["n.ig"]], ci = d[["improved.cg"]], n2i = d[["n.cg"]])
values[["metapsy_total_response:rr_all_metafor_rule"]] <- exp(b1(rma(e)))

# Viechtbauer (2010), BCG
dat <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
r <- rma(yi, vi, data = dat, control = ctl)
values[["viechtbauer2010_bcg:re_estimate"]] <- b1(r)
values[["viechtbauer2010_bcg:re_tau2"]] <- r$tau2
ci <- confint(r, control = list(tol = 1e-12))
values[["viechtbauer2010_bcg:re_i2_ci_low"]] <- ci$random["I^2(%)", 2]
values[["viechtbauer2010_bcg:re_i2_ci_high"]] <- ci$random["I^2(%)", 3]
values[["viechtbauer2010_bcg:re_h2_ci_low"]] <- ci$random["H^2", 2]
m <- rma(yi, vi, mods = ~ ablat + year, data = dat, control = ctl)
values[["viechtbauer2010_bcg:me_qm"]] <- m$QM
values[["viechtbauer2010_bcg:me_intercept"]] <- m$beta[1]
values[["viechtbauer2010_bcg:me_intercept_se"]] <- m$se[1]
k <- rma(yi, vi, mods = ~ factor(alloc) + ablat, data = dat, test = "knha", control = ctl)
values[["viechtbauer2010_bcg:knha_f"]] <- k$QM
values[["viechtbauer2010_bcg:knha_tau2"]] <- k$tau2
values[["viechtbauer2010_bcg:egger_lm_t"]] <- regtest(rma(yi, vi, data = dat), model = "lm")$zval
tf <- trimfill(rma(yi, vi, data = dat, method = "FE"))
values[["viechtbauer2010_bcg:tf_k0"]] <- tf$k0
values[["viechtbauer2010_bcg:tf_estimate"]] <- b1(tf)
values[["viechtbauer2010_bcg:ml_ablat_tau2"]] <- rma(yi, vi, mods = ~ ablat, data = dat, method = "ML",
                                                     control = ctl)$tau2

# Berkey et al. (1995), BCG with their sampling variances and centred latitude
b <- dat
b$vi <- with(b, mean(tneg / tpos) / (tneg + tpos) + mean(cneg / cpos) / (cneg + cpos))
b$ac <- b$ablat - mean(b$ablat)
e <- rma(yi, vi, data = b, method = "EB", control = ctl)
me <- rma(yi, vi, mods = ~ ac, data = b, method = "EB", control = ctl)
fe <- rma(yi, vi, mods = ~ ac, data = b, method = "FE")
values[["berkey1995_bcg:re_estimate"]] <- b1(e)
values[["berkey1995_bcg:re_tau2"]] <- e$tau2
values[["berkey1995_bcg:me_intercept"]] <- me$beta[1]
values[["berkey1995_bcg:me_ablat"]] <- me$beta[2]
values[["berkey1995_bcg:me_tau2"]] <- me$tau2
values[["berkey1995_bcg:fe_intercept"]] <- fe$beta[1]
values[["berkey1995_bcg:fe_ablat_se"]] <- fe$se[2]

write_reference(list(reproduced = values), "reproduce")
