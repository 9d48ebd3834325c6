# escalc() cases beyond the conformance set: IRR, PFT, PAS, PLN, SMD with vtype = "UB", correlations from
# samples too small (escalc keeps them as NA with a warning) and standard deviations of 0
# (tests/test_measures_more.py, tests/test_cli_effects_more.py).
#
#   Rscript tests/reference/effects_more.R      (from the repository's root)

source("tests/reference/common.R")

# each case: the measure, escalc's arguments (vectors) and its options; yi and vi as escalc returns them
cases <- list(
  irr = list(measure = "IRR", args = list(x1i = c(4, 0, 10, 7), x2i = c(8, 3, 0, 7),
                                          t1i = c(100, 50, 200, 81.5), t2i = c(120, 60, 150, 90))),
  irr_all_add1 = list(measure = "IRR", args = list(x1i = c(4, 0, 10, 7), x2i = c(8, 3, 0, 7),
                                                   t1i = c(100, 50, 200, 81.5), t2i = c(120, 60, 150, 90)),
                      options = list(to = "all", add = 1)),
  irr_if0all = list(measure = "IRR", args = list(x1i = c(0, 2, 5), x2i = c(0, 3, 1),
                                                 t1i = c(10, 20, 12), t2i = c(10, 30, 15)),
                    options = list(to = "if0all")),
  irr_drop00 = list(measure = "IRR", args = list(x1i = c(0, 2, 5), x2i = c(0, 3, 1),
                                                 t1i = c(10, 20, 12), t2i = c(10, 30, 15)),
                    options = list(drop00 = TRUE)),
  irr_none = list(measure = "IRR", args = list(x1i = c(0, 2, 5), x2i = c(0, 3, 1),
                                               t1i = c(10, 20, 12), t2i = c(10, 30, 15)),
                  options = list(to = "none")),
  pft = list(measure = "PFT", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312))),
  pft_all = list(measure = "PFT", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312)),
                 options = list(to = "all")),
  pas = list(measure = "PAS", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312))),
  pas_mi = list(measure = "PAS", args = list(xi = c(0, 3, 10, 47), mi = c(10, 17, 0, 265))),
  pln = list(measure = "PLN", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312))),
  pln_all = list(measure = "PLN", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312)),
                 options = list(to = "all")),
  pln_none = list(measure = "PLN", args = list(xi = c(0, 3, 10, 47), ni = c(10, 20, 10, 312)),
                  options = list(to = "none")),
  smd_ub = list(measure = "SMD", args = list(m1i = c(1, 2, -0.4, 25.1), sd1i = c(1, 1.5, 0.9, 8.2),
                                             n1i = c(10, 20, 3, 150), m2i = c(0, 1, 0.3, 21.7),
                                             sd2i = c(1.2, 1, 1.1, 7.9), n2i = c(12, 25, 2, 147)),
                options = list(vtype = "UB")),
  smd_ls = list(measure = "SMD", args = list(m1i = c(1, 2, -0.4, 25.1), sd1i = c(1, 1.5, 0.9, 8.2),
                                             n1i = c(10, 20, 3, 150), m2i = c(0, 1, 0.3, 21.7),
                                             sd2i = c(1.2, 1, 1.1, 7.9), n2i = c(12, 25, 2, 147)),
                options = list(vtype = "LS")),
  cor_small = list(measure = "COR", args = list(ri = c(0.3, 0.4, -0.5, 0.2, 0.1, 0.6),
                                                ni = c(1, 2, 3, 3.5, 4, 100))),
  zcor_small = list(measure = "ZCOR", args = list(ri = c(0.3, 0.4, -0.5, 0.2, 0.1, 0.6),
                                                  ni = c(1, 2, 3, 3.5, 4, 100))),
  ucor_small = list(measure = "UCOR", args = list(ri = c(0.3, 0.4, -0.5, 0.2, 0.1, 0.6),
                                                  ni = c(2, 3, 4, 4.5, 5, 100))),
  smd_sd0 = list(measure = "SMD", args = list(m1i = c(1, 2, 3), sd1i = c(0, 1.5, 1), n1i = c(10, 20, 15),
                                              m2i = c(0, 1, 2), sd2i = c(1.2, 1, 0), n2i = c(12, 25, 15))),
  md_sd0 = list(measure = "MD", args = list(m1i = c(1, 2, 3), sd1i = c(0, 0, 1), n1i = c(10, 20, 15),
                                            m2i = c(0, 1, 2), sd2i = c(1.2, 0, 1), n2i = c(12, 25, 15))),
  rom_sd0 = list(measure = "ROM", args = list(m1i = c(1, 2, 3), sd1i = c(0, 0, 1), n1i = c(10, 20, 15),
                                              m2i = c(2, 1, 2), sd2i = c(1.2, 0, 1), n2i = c(12, 25, 15))),
  smcc_sd0 = list(measure = "SMCC", args = list(m1i = c(1, 2, 3), m2i = c(0.5, 1, 2), sd1i = c(0, 1, 1),
                                                sd2i = c(1, 0, 1.2), ni = c(10, 20, 15), ri = c(0.5, 0.3, 0.6)))
)

run <- function(case) {
  out <- suppressWarnings(do.call(escalc, c(list(measure = case$measure), case$args, case$options)))
  list(measure = case$measure, args = case$args, options = if (is.null(case$options)) list() else case$options,
       yi = as.numeric(out$yi), vi = as.numeric(out$vi))
}

# the ZCOR file of test_too_small_samples_name_file_rows_and_are_dropped_by_the_model: rma() leaves out the
# two rows with ni <= 3 ("Studies with NAs omitted from model fitting.")
small <- suppressWarnings(escalc("ZCOR", ri = c(0.3, 0.25, 0.1, 0.4, 0.35), ni = c(3, 40, 2, 60, 25)))
fit <- suppressWarnings(rma(yi, vi, data = small, control = converged))
pooled <- list(k = fit$k, estimate = as.numeric(fit$beta), tau2 = fit$tau2)

write_reference(list(cases = lapply(cases, run), zcor_small_pooled = pooled), "effects_more")
