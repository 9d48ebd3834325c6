# Writes the R write.table files of tests/data/r_write_table/ and, for each, R's own reading of it
# (read.table(header = TRUE), numbers printed with 17 significant digits so that each double is exact).
# Run from this folder: Rscript make_r_write_table.R   (R 4.2.x, metadat, metafor 3.8-1)
suppressMessages({library(metadat); library(metafor)})

# dat.bcg (Colditz et al., 1994) with log risk ratios; yi of trial 3 and vi of trial 7 set to NA
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat <- as.data.frame(dat)
dat$yi <- as.numeric(dat$yi); dat$vi <- as.numeric(dat$vi)
dat$yi[3] <- NA; dat$vi[7] <- NA

# a few labels with what quoting must survive: spaces, an inner quote, a backslash, a missing label
odd <- data.frame(study = c("Smith 2001", "O\"Brien 2004", "Lee\\Kim 2010", NA, "  padded  "),
                  yi = c(0.12, -0.35, 1/3, 2e-10, NA), vi = c(0.031, 0.045, 0.027, 1e5, 0.052))

write.table(dat, "bcg_default.txt")                                   # row names, quoted strings
write.table(dat, "bcg_no_row_names.txt", row.names = FALSE)
write.table(dat[, c("trial", "year", "tpos", "tneg", "cpos", "cneg", "ablat", "alloc", "yi", "vi")],
            "bcg_no_quote.txt", quote = FALSE)                        # no string holds a space
write.table(dat, "bcg_tab.txt", sep = "\t")                           # tab-separated, row names
write.table(odd, "odd_labels.txt")

expected <- function(file, out) {
  d <- read.table(file, header = TRUE, sep = if (grepl("tab", file)) "\t" else "",
                  check.names = FALSE, stringsAsFactors = FALSE)
  d[] <- lapply(d, function(x) if (is.numeric(x)) ifelse(is.na(x), NA, sprintf("%.17g", x)) else x)
  write.csv(d, out, row.names = FALSE)
}
for (f in c("bcg_default", "bcg_no_row_names", "bcg_no_quote", "bcg_tab", "odd_labels"))
  expected(paste0(f, ".txt"), paste0("expected/", f, ".csv"))
