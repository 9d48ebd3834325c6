# Mantel-Haenszel (rma.mh: OR, RR, RD) and Peto (rma.peto) pooling of 2x2 tables (tests/test_binary.py).
# Each dataset's counts are written beside the numbers, so the tests need neither R nor metadat.
#
#   Rscript tests/reference/binary.R      (from the repository's root)

source("tests/reference/common.R")

tables <- list(
  bcg = with(dat.bcg, data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg)),
  # zero cells, one study without events in either group
  nielweise2007 = with(dat.nielweise2007, data.frame(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  # zero cells, three studies without events in either group
  hahn2001 = with(dat.hahn2001, data.frame(ai = ai, bi = n1i - ai, ci = ci, di = n2i - ci)),
  # pre-eclampsia with diuretics (zero cells)
  collins1985b = with(dat.collins1985b, data.frame(ai = pre.xti, bi = pre.nti - pre.xti,
                                                    ci = pre.xci, di = pre.nci - pre.xci)),
  # the smallest meta-analysis: two studies
  bcg_two = with(dat.bcg[1:2, ], data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg)),
  # degenerate: one study; no events in any study (no estimate; Q of no study)
  bcg_one = with(dat.bcg[1, ], data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg)),
  no_events = data.frame(ai = c(0, 0), bi = c(10, 12), ci = c(0, 0), di = c(11, 9))
)

# q_df as print.rma.mh / print.rma.peto show it (0 when no study enters Q)
fields <- function(r) {
  out <- list(k = r$k, estimate = as.numeric(r$beta), se = r$se, stat = r$zval, pval = r$pval,
              ci_low = r$ci.lb, ci_high = r$ci.ub, q = r$QE, q_df = max(r$k.yi - 1, 0), q_pval = r$QEp,
              i2 = r$I2, h2 = r$H2)
  if (r$measure == "OR" && !is.null(r$MH))  # rma.mh of odds ratios: NA where undefined
    out <- c(out, list(cmh = r$MH, cmh_pval = r$MHp, tarone = r$TA, tarone_df = max(r$k.pos - 1, 0),
                       tarone_pval = r$TAp))
  out
}

cases <- list()
for (name in setdiff(names(tables), c("bcg_one", "no_events"))) {
  d <- tables[[name]]
  for (measure in c("OR", "RR", "RD")) {
    r <- rma.mh(ai, bi, ci, di, data = d, measure = measure)
    cases[[length(cases) + 1]] <- list(id = sprintf("%s_MH_%s", name, measure), data = name,
                                       call = sprintf("rma.mh(ai, bi, ci, di, measure = \"%s\")", measure),
                                       spec = list(method = "MH", measure = measure), expected = fields(r))
  }
  r <- rma.peto(ai, bi, ci, di, data = d)
  cases[[length(cases) + 1]] <- list(id = sprintf("%s_PETO", name), data = name,
                                     call = "rma.peto(ai, bi, ci, di)",
                                     spec = list(method = "PETO", measure = "OR"), expected = fields(r))
}
# options: a 90% interval, and the CMH test without its continuity correction
r <- rma.mh(ai, bi, ci, di, data = tables$bcg, level = 90)
cases[[length(cases) + 1]] <- list(id = "bcg_MH_OR_level90", data = "bcg",
                                   call = "rma.mh(ai, bi, ci, di, level = 90)",
                                   spec = list(method = "MH", measure = "OR", level = 90), expected = fields(r))
r <- rma.mh(ai, bi, ci, di, data = tables$nielweise2007, correct = FALSE)
cases[[length(cases) + 1]] <- list(id = "nielweise2007_MH_OR_uncorrected", data = "nielweise2007",
                                   call = "rma.mh(ai, bi, ci, di, correct = FALSE)",
                                   spec = list(method = "MH", measure = "OR", correct = FALSE),
                                   expected = fields(r))
r <- rma.peto(ai, bi, ci, di, data = tables$hahn2001, level = 90)
cases[[length(cases) + 1]] <- list(id = "hahn2001_PETO_level90", data = "hahn2001",
                                   call = "rma.peto(ai, bi, ci, di, level = 90)",
                                   spec = list(method = "PETO", measure = "OR", level = 90), expected = fields(r))

for (name in c("bcg_one", "no_events")) {
  r <- rma.mh(ai, bi, ci, di, data = tables[[name]])
  cases[[length(cases) + 1]] <- list(id = sprintf("%s_MH_OR", name), data = name,
                                     call = "rma.mh(ai, bi, ci, di)",
                                     spec = list(method = "MH", measure = "OR"), expected = fields(r))
}
r <- rma.peto(ai, bi, ci, di, data = tables$bcg_one)
cases[[length(cases) + 1]] <- list(id = "bcg_one_PETO", data = "bcg_one", call = "rma.peto(ai, bi, ci, di)",
                                   spec = list(method = "PETO", measure = "OR"), expected = fields(r))

write_reference(list(tables = tables, cases = cases), "binary")
