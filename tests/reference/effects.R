# escalc() on small tables and the conversions between d, r and the log odds ratio (tests/test_effects.py):
# measures and zero-cell rules not covered by the conformance cases; each case's yi and vi.
#
#   Rscript tests/reference/effects.R      (from the repository's root)

source("tests/reference/common.R")

f <- function(x) list(yi = as.numeric(x$yi), vi = as.numeric(x$vi))
yv <- function(yi, vi) list(yi = yi, vi = vi)
ai <- c(0, 3, 5); ci <- c(2, 0, 4); n1i <- c(10, 12, 20); n2i <- c(11, 10, 20)
cells <- list(ai = c(4, 6), bi = c(119, 300), ci = c(11, 29), di = c(128, 274))
means <- list(m1i = c(10, 12.5), m2i = c(8, 13), sd1i = c(3, 4), sd2i = c(3.5, 4.2))

escalc_cases <- list(
  rd_only0 = f(escalc("RD", ai = ai, ci = ci, n1i = n1i, n2i = n2i)),
  rd_all = f(escalc("RD", ai = ai, ci = ci, n1i = n1i, n2i = n2i, to = "all")),
  rd_if0all = f(escalc("RD", ai = ai, ci = ci, n1i = n1i, n2i = n2i, to = "if0all")),
  rd_none = f(escalc("RD", ai = ai, ci = ci, n1i = n1i, n2i = n2i, to = "none")),
  or_all_add1 = f(escalc("OR", ai = ai, ci = ci, n1i = n1i, n2i = n2i, to = "all", add = 1)),
  or_none = f(suppressWarnings(escalc("OR", ai = ai, ci = ci, n1i = n1i, n2i = n2i, to = "none"))),
  rr_drop00 = f(escalc("RR", ai = c(0, 3, 0, 5), bi = c(10, 9, 0, 15), ci = c(0, 1, 2, 4),
                       di = c(11, 9, 0, 16), drop00 = TRUE)),
  rr_drop00_if0all = f(escalc("RR", ai = c(0, 3, 5), bi = c(10, 9, 15), ci = c(0, 1, 4), di = c(11, 9, 16),
                              drop00 = TRUE, to = "if0all")),
  pr_ni = f(escalc("PR", xi = c(0, 3, 10), ni = c(10, 10, 10))),
  pr_mi = f(escalc("PR", xi = c(0, 3, 10), mi = c(10, 7, 0))),
  pr_none = f(escalc("PR", xi = c(0, 3, 10), ni = c(10, 10, 10), to = "none")),
  plo = f(escalc("PLO", xi = c(0, 3, 10), ni = c(10, 10, 10))),
  plo_all = f(escalc("PLO", xi = c(0, 3, 10), ni = c(10, 10, 10), to = "all")),
  smcc = f(do.call(escalc, c(list("SMCC"), means, list(ri = c(0.5, -0.2), ni = c(3, 25))))),
  smcr = f(do.call(escalc, c(list("SMCR"), means[c("m1i", "m2i", "sd1i")],
                             list(ri = c(0.5, -0.2), ni = c(3, 25))))),
  rom = f(escalc("ROM", m1i = c(-2, -1), m2i = c(-4, -3), sd1i = c(1, 1), sd2i = c(1, 2), n1i = c(10, 20),
                 n2i = c(12, 20))),
  mn = f(escalc("MN", mi = c(1.5, -2), sdi = c(2, 0), ni = c(1, 30))),
  zcor = f(escalc("ZCOR", ri = c(-0.999, 0.5), ni = c(4, 100))),
  ucor = f(escalc("UCOR", ri = c(0.05, 0.3, 0.6, -0.9, 0.99, 0.3, 0.3, 0.01, -0.2),
                  ni = c(5, 5, 5, 5, 5, 6, 1000, 300, 41))),
  or = f(do.call(escalc, c(list("OR"), cells))),
  or2dl = f(do.call(escalc, c(list("OR2DL"), cells))),
  d2orl = f(do.call(escalc, c(list("D2ORL"), means, list(n1i = c(20, 25), n2i = c(22, 30))))),
  smd_from_t = f(escalc("SMD", ti = c(2.5, -1.2), n1i = c(30, 12), n2i = c(30, 20))),            # Hedges' g
  smd_from_p = f(escalc("SMD", ti = c(1, -1) * qt(c(0.05, 0.2) / 2, df = c(58, 30), lower.tail = FALSE),
                        n1i = c(30, 12), n2i = c(30, 20)))
)

# the conversions by their formulas (Borenstein et al. 2009, eqs. 4.20, 7.7-7.9)
d <- 0.5; n1 <- 20; n2 <- 60; a <- (n1 + n2)^2 / (n1 * n2); vd <- 1 / n1 + 1 / n2 + d^2 / (2 * (n1 + n2))
r <- 0.3; vr <- (1 - r^2)^2 / 99; a80 <- 80^2 / 1200; t <- 2.5; dt <- t * sqrt(2 / 30)
conversions <- list(
  d_to_r_groups = yv(d / sqrt(d^2 + a), a^2 * vd / (d^2 + a)^3),
  d_to_r_variance = yv(0.5 / sqrt(4.25), 16 * 0.05 / 4.25^3),                     # equal groups (a = 4)
  r_to_d = yv(2 * r / sqrt(1 - r^2), 4 * vr / (1 - r^2)^3),
  r_to_d_groups = yv(sqrt(a80) * r / sqrt(1 - r^2), a80 * ((1 - r^2)^2 / 79) / (1 - r^2)^3),  # n 20 and 60
  d_from_t = yv(dt, 2 / 30 + dt^2 / 120)                                            # Cohen's d
)

write_reference(list(escalc = escalc_cases, conversions = conversions), "effects")
