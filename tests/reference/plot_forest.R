# One row per study in a forest plot of effect sizes nested in studies: metafor's aggregate() with rho = 0
# (the inverse-variance average of a study's effect sizes and its variance) on metadat's dat.assink2016,
# shipped as data/assink2016; read by tests/test_plot_methods.py.
# Run from the repository's root: Rscript tests/reference/plot_forest.R
source("tests/reference/common.R")
library(metadat)

dat <- escalc(measure = "GEN", yi = yi, vi = vi, data = dat.assink2016)
agg <- aggregate(dat, cluster = study, rho = 0)
write_reference(list(
  call = "aggregate(escalc(measure = 'GEN', yi = yi, vi = vi, data = dat.assink2016), cluster = study, rho = 0)",
  study = agg$study, yi = as.numeric(agg$yi), vi = as.numeric(agg$vi)
), "plot_forest", packages = c("metafor", "metadat"))
