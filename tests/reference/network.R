# Network meta-analysis (tests/test_network.py, tests/test_cli_network.py): metafor's contrast-based model
# rma.mv(yi, V, mods = ~ 0 + B + C + ..., random = ~ comp | study, rho = 1/2) as metafor's documentation
# fits dat.hasselblad1998 (log odds ratios, add = 1/2 to all cells), and a synthetic network of mean
# differences with three-arm trials (written to tests/data/network_md.csv) as MD and SMD (Gleser & Olkin 2009
# covariances, as metafor's dat.gleser2009 example). REML, ML and FE; P-scores from metafor's estimates and
# vcov (Ruecker & Schwarzer 2015, eq. 3); the design-by-treatment interaction model (Higgins et al. 2012)
# fitted by rma.mv with design-specific effects and its Wald test of the consistency restrictions; the
# Dodo-bird Wald test by anova(, X = L) and the between-technique variance (Paule-Mandel root of the
# generalised Q, Q-profile interval by uniroot); node splitting (Dias et al. 2010). Also the Metapsy depression
# database as a network of therapy and control types (tests/data/network_metapsy_arms.csv, made from the
# shipped dataset by tests/test_network_metapsy.py's rule).
#
#   Rscript tests/reference/network.R      (from the repository's root)

source("tests/reference/common.R")

ctl <- list(rel.tol = 1e-10)

# contrasts of each trial against its base arm (the reference when the trial has it, else its first arm)
contrasts <- function(arms, ref, measure, add = 0) {
  out <- list(); Vs <- list()
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    b <- if (ref %in% a$trt) which(a$trt == ref) else 1
    o <- setdiff(seq_len(nrow(a)), b)
    if (measure == "OR") {
      e <- escalc(measure = "OR", ai = a$xi[o] + add, bi = a$ni[o] - a$xi[o] + add,
                  ci = rep(a$xi[b] + add, length(o)), di = rep(a$ni[b] - a$xi[b] + add, length(o)))
      cv <- 1 / (a$xi[b] + add) + 1 / (a$ni[b] - a$xi[b] + add)
      V <- matrix(cv, length(o), length(o))
    } else {
      e <- escalc(measure = measure, m1i = a$mean[o], sd1i = a$sd[o], n1i = a$n[o],
                  m2i = rep(a$mean[b], length(o)), sd2i = rep(a$sd[b], length(o)), n2i = rep(a$n[b], length(o)))
      V <- if (measure == "MD") matrix(a$sd[b]^2 / a$n[b], length(o), length(o)) else
        1 / a$n[b] + outer(as.numeric(e$yi), as.numeric(e$yi)) / (2 * sum(a$n))
    }
    diag(V) <- e$vi
    out[[length(out) + 1]] <- data.frame(study = s, trt1 = a$trt[o], trt2 = a$trt[b], yi = as.numeric(e$yi),
                                         design = paste(sort(a$trt), collapse = ":"))
    Vs[[length(Vs) + 1]] <- V
  }
  d <- do.call(rbind, out)
  d$comp <- paste(d$trt1, d$trt2, sep = "-")
  list(data = d, V = bldiag(Vs))
}

coding <- function(d, treatments, ref) {
  others <- setdiff(treatments, ref)
  X <- sapply(others, function(t) (d$trt1 == t) - (d$trt2 == t))
  matrix(X, nrow = nrow(d), dimnames = list(NULL, others))
}

# design-specific effects: each design's treatments against its base (the reference, else its first)
design_coding <- function(d, treatments, ref) {
  designs <- sort(unique(d$design))
  cols <- list(); A <- list(); others <- setdiff(treatments, ref)
  for (D in designs) {
    tr <- strsplit(D, ":")[[1]]
    tr <- treatments[treatments %in% tr]
    base <- if (ref %in% tr) ref else tr[1]
    for (t in setdiff(tr, base)) {
      cols[[paste(D, t)]] <- ifelse(d$design == D, (d$trt1 == t) - (d$trt2 == t), 0)
      a <- setNames(rep(0, length(others)), others)
      if (t != ref) a[t] <- a[t] + 1
      if (base != ref) a[base] <- a[base] - 1
      A[[paste(D, t)]] <- a
    }
  }
  list(X = do.call(cbind, cols), A = do.call(rbind, A))
}

pscores <- function(b, vb, small_values) {
  s <- if (small_values == "good") -1 else 1
  n <- length(b)
  sapply(seq_len(n), function(i) {
    mean(sapply(setdiff(seq_len(n), i), function(j) {
      pnorm(s * (b[i] - b[j]) / sqrt(vb[i, i] + vb[j, j] - 2 * vb[i, j]))
    }))
  })
}

dodo <- function(m, active, treatments, ref, level = 95) {
  b <- c(0, as.numeric(coef(m))); names(b) <- c(ref, names(coef(m)))
  vb <- matrix(0, length(b), length(b), dimnames = list(names(b), names(b)))
  vb[-1, -1] <- vcov(m)
  th <- b[active]; S <- vb[active, active]; a <- length(active)
  L <- cbind(-1, diag(a - 1))
  Lt <- L %*% th
  q <- function(t2) as.numeric(t(Lt) %*% solve(L %*% (S + t2 * diag(a)) %*% t(L)) %*% Lt)
  root <- function(target) if (q(0) <= target) 0 else
    uniroot(function(t2) q(t2) - target, c(0, 1e4), tol = 1e-14)$root
  alpha <- 1 - level / 100
  # the Wald test through metafor's own anova() on the fitted model (coefficients without the reference)
  Lm <- matrix(0, a - 1, length(coef(m)), dimnames = list(NULL, names(coef(m))))
  for (i in 2:a) {
    if (active[i] != ref) Lm[i - 1, active[i]] <- 1
    if (active[1] != ref) Lm[i - 1, active[1]] <- Lm[i - 1, active[1]] - 1
  }
  w <- anova(m, X = Lm)
  list(active = active, q = w$QM, df = w$QMdf[1], pval = w$QMp, q_formula = q(0), tau2_technique = root(a - 1),
       tau2_technique_ci = c(root(qchisq(1 - alpha / 2, a - 1)), root(qchisq(alpha / 2, a - 1))))
}

fit_network <- function(cn, treatments, ref, method, small_values, active = NULL) {
  d <- cn$data; V <- cn$V
  X <- coding(d, treatments, ref)
  random <- if (method == "FE") NULL else ~ comp | study
  m <- if (method == "FE") rma.mv(d$yi, V, mods = X, intercept = FALSE, method = "FE", control = ctl) else
    rma.mv(d$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d,
           method = method, control = ctl)
  p <- predict(m, newmods = diag(ncol(X)))
  b <- c(0, as.numeric(coef(m))); names(b) <- c(ref, colnames(X))
  vb <- matrix(0, length(b), length(b)); vb[-1, -1] <- vcov(m)
  dc <- design_coding(d, treatments, ref)
  md <- if (method == "FE") rma.mv(d$yi, V, mods = dc$X, intercept = FALSE, method = "FE", control = ctl) else
    rma.mv(d$yi, V, mods = dc$X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d,
           method = method, control = ctl)
  mfe <- rma.mv(d$yi, V, mods = dc$X, intercept = FALSE, method = "FE", control = ctl)
  bd <- as.numeric(coef(md)); I <- solve(vcov(md)); A <- dc$A
  Ib <- I %*% bd; AIb <- t(A) %*% Ib
  q_inc <- as.numeric(t(bd) %*% Ib - t(AIb) %*% solve(t(A) %*% I %*% A) %*% AIb)
  df_inc <- ncol(dc$X) - ncol(X)
  out <- list(treatments = names(b), estimate = as.numeric(coef(m)), se = m$se, ci_low = m$ci.lb,
              ci_high = m$ci.ub, pi_low = if (method == "FE") p$ci.lb else p$pi.lb,
              pi_high = if (method == "FE") p$ci.ub else p$pi.ub, tau2 = if (method == "FE") 0 else m$tau2,
              loglik = as.numeric(logLik(m)), qe = m$QE, qe_df = m$k - m$p, vcov = unname(vcov(m)),
              pscore = pscores(b, vb, small_values),
              inconsistency = list(q = q_inc, df = df_inc, pval = pchisq(q_inc, df_inc, lower.tail = FALSE),
                                   tau2 = if (method == "FE") 0 else md$tau2, q_within = mfe$QE,
                                   q_between = m$QE - mfe$QE, n_designs = length(unique(d$design))))
  if (method == "FE") out$qe_fe <- m$QE
  if (!is.null(active)) out$dodo <- dodo(m, active, treatments, ref)
  out
}

# node splitting (Dias et al. 2010): one more coefficient, added to arm a in the trials with both a and b
node_split <- function(cn, treatments, ref, method) {
  d <- cn$data; V <- cn$V
  X <- coding(d, treatments, ref)
  trial_trts <- tapply(c(d$trt1, d$trt2), c(d$study, d$study), unique)
  st <- sort(treatments)
  out <- list()
  for (i in seq_along(st)) for (j in seq_along(st)) {
    if (j <= i) next
    a <- st[i]; b <- st[j]
    both <- names(trial_trts)[sapply(trial_trts, function(t) all(c(a, b) %in% t))]
    if (length(both) == 0) next
    delta <- ifelse(d$study %in% both, (d$trt1 == a) - (d$trt2 == a), 0)
    Xa <- cbind(X, delta = delta)
    if (qr(Xa)$rank <= ncol(X)) next
    m <- rma.mv(d$yi, V, mods = Xa, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = d,
                method = method, control = ctl)
    l <- setNames(rep(0, ncol(Xa)), colnames(Xa))
    if (a != ref) l[a] <- 1
    if (b != ref) l[b] <- l[b] - 1
    ld <- l; ld["delta"] <- 1
    out[[length(out) + 1]] <- list(treat1 = a, treat2 = b, k_direct = length(both),
      indirect = sum(l * coef(m)), indirect_se = sqrt(as.numeric(t(l) %*% vcov(m) %*% l)),
      direct = sum(ld * coef(m)), direct_se = sqrt(as.numeric(t(ld) %*% vcov(m) %*% ld)),
      difference = as.numeric(coef(m)["delta"]), difference_se = m$se[ncol(Xa)], pval = m$pval[ncol(Xa)],
      tau2 = m$tau2)
  }
  out
}

# -- dat.hasselblad1998 ----------------------------------------------------------------------------------
hb <- dat.hasselblad1998
write.csv(hb[c("study", "trt", "xi", "ni")], "tests/data/network_hasselblad1998.csv", row.names = FALSE)
hb_tr <- c("no_contact", "self_help", "ind_counseling", "grp_counseling")
hb_cn <- contrasts(hb, "no_contact", "OR", add = 1/2)
hb_active <- c("ind_counseling", "grp_counseling", "self_help")
hasselblad <- sapply(c("REML", "ML", "FE"), function(method)
  fit_network(hb_cn, hb_tr, "no_contact", method, "bad", hb_active), simplify = FALSE)
# the same model with self_help as the reference: the estimates are those of the league table
hasselblad_self_help <- fit_network(contrasts(hb, "self_help", "OR", add = 1/2), hb_tr, "self_help", "REML",
                                    "bad")

# -- a synthetic network of five treatments, 20 two-arm and 8 three-arm trials (mean differences) ------------
set.seed(2026)
treat <- c("A", "B", "C", "D", "E")
effect <- c(A = 0, B = -2, C = -3, D = -3.5, E = -1)
rows <- list()
for (s in 1:28) {
  k <- if (s <= 20) 2 else 3
  tr <- if (s <= 20) sample(treat, 2) else sample(treat, 3)
  if (s %in% c(1, 2, 3)) tr <- c("A", c("B", "C", "D")[s])
  u <- rnorm(1, 0, 0.8)
  n <- sample(20:120, k, replace = TRUE)
  sdv <- round(runif(k, 6, 10), 2)
  delta <- rnorm(k, 0, 0.8 / sqrt(2))
  mu <- round(20 + effect[tr] + delta + rnorm(k, 0, sdv / sqrt(n)), 3)
  rows[[s]] <- data.frame(study = sprintf("S%02d", s), trt = tr, mean = mu, sd = sdv, n = n)
}
md <- do.call(rbind, rows)
write.csv(md, "tests/data/network_md.csv", row.names = FALSE)
md_active <- c("B", "C", "D")
synthetic_md <- sapply(c("REML", "ML", "FE"), function(method)
  fit_network(contrasts(md, "A", "MD"), treat, "A", method, "good", md_active), simplify = FALSE)
synthetic_smd <- fit_network(contrasts(md, "A", "SMD"), treat, "A", "REML", "good", md_active)

# -- the Metapsy depression database as a network of therapy and control types (arms made from the shipped
#    dataset by tests/test_network_metapsy.py's rule), SMD, care as usual the reference -------------------------
mp <- read.csv("tests/data/network_metapsy_arms.csv")
mp_tr <- c("cau", setdiff(sort(unique(mp$trt)), "cau"))
metapsy <- fit_network(contrasts(mp, "cau", "SMD"), mp_tr, "cau", "REML", "good",
                       c("cbt", "bat", "pst", "ipt", "dyn", "3rd", "lrt", "sup"))

hasselblad_split <- node_split(hb_cn, hb_tr, "no_contact", "REML")
synthetic_md_split <- node_split(contrasts(md, "A", "MD"), treat, "A", "REML")

write_reference(list(hasselblad = hasselblad, hasselblad_self_help = hasselblad_self_help,
                     synthetic_md = synthetic_md, synthetic_smd = synthetic_smd,
                     hasselblad_node_split = hasselblad_split, synthetic_md_node_split = synthetic_md_split,
                     metapsy = metapsy),
                "network")
