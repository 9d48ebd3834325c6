# Effect-size conversions of `commonfactors convert`, for tests/test_cli_convert.py, computed in R from
# the published formulas (Borenstein et al., 2009, ch. 7; Lipsey & Wilson, 2001; Hedges, 1981, with
# metafor's escalc for g; Kraemer & Kupfer, 2006; Furukawa & Leucht, 2011).
#
#   Rscript tests/reference/convert.R      (from the repository's root)

source("tests/reference/common.R")

n1 <- 30; n2 <- 30
a <- (50 + 50)^2 / (50 * 50)
d <- 0.5; vd <- (50 + 50) / (50 * 50) + d^2 / (2 * (50 + 50))
t <- 2.5
d_t <- t * sqrt(1 / n1 + 1 / n2)
g_t <- escalc("SMD", ti = t, n1i = n1, n2i = n2)  # Hedges' g from t, as escalc computes it
d_p <- -qt(1 - 0.05 / 2, n1 + n2 - 2) * sqrt(1 / n1 + 1 / n2)
write_reference(list(
  d_to_r = list(d = d, n1i = 50, n2i = 50, r = d / sqrt(d^2 + a), vi = a^2 * vd / (d^2 + a)^3),
  t_to_g = list(t = t, n1i = n1, n2i = n2, g = as.numeric(g_t$yi), vi = as.numeric(g_t$vi)),
  p_to_d = list(p = 0.05, n1i = n1, n2i = n2, sign = -1, d = d_p,
                vi = 1 / n1 + 1 / n2 + d_p^2 / (2 * (n1 + n2))),
  logor_to_r = list(logor = 1.2, vi = 0.04, d = 1.2 * sqrt(3) / pi, vd = 0.04 * 3 / pi^2,
                    r = (1.2 * sqrt(3) / pi) / sqrt((1.2 * sqrt(3) / pi)^2 + 4),
                    vr = 16 * (0.04 * 3 / pi^2) / ((1.2 * sqrt(3) / pi)^2 + 4)^3),
  nnt_kraemer = list(d = c(0.5, -0.3), nnt = 1 / (2 * pnorm(c(0.5, -0.3) / sqrt(2)) - 1)),
  nnt_furukawa = list(d = c(0.5, -0.3), cer = 0.2, nnt = 1 / (pnorm(c(0.5, -0.3) + qnorm(0.2)) - 0.2))
), "convert")
