# General dominance on R's `attitude` data (Chatterjee & Price 1977; 35 clerical employees; outcome
# `rating`), by ordinary least squares on the raw data (tests/test_dominance.py): lm() over all 64 subsets
# of the six predictors, each predictor's R² increments averaged within each subset size, then over the
# sizes (general dominance as Azen & Budescu 2003 define it).
#
#   Rscript tests/reference/dominance.R      (from the repository's root)

source("tests/reference/common.R")

d <- attitude
predictors <- setdiff(names(d), "rating")
r2 <- function(S) if (!length(S)) 0 else summary(lm(reformulate(S, "rating"), d))$r.squared

general_dominance <- sapply(predictors, function(i) {
  others <- setdiff(predictors, i)
  mean(sapply(0:length(others), function(size) {
    subsets <- if (size == 0) list(character(0)) else combn(others, size, simplify = FALSE)
    mean(sapply(subsets, function(S) r2(c(S, i)) - r2(S)))
  }))
})

write_reference(list(
  names = names(d),
  correlation = unname(cor(d)),                                         # rows and columns as names
  general_dominance = unname(general_dominance),                        # in the order of the predictors
  r2 = summary(lm(rating ~ ., d))$r.squared
), "dominance", packages = character(0))
