# metafor's back-transformations (transf.*) on chosen values, for tests/test_transforms.py.
#
#   Rscript tests/reference/transforms.R      (from the repository's root)

source("tests/reference/common.R")

z <- c(0.2508, -3, 0.5, 0)
logit <- c(-40, 0.3, 800, -800)
arcsin <- c(-0.1, 0.4, 2, 0)
pft <- c(0.05, 0.3, 0.7, 1.6)
pft_ni <- c(10, 20, 40)
write_reference(list(
  ztor = list(x = z, value = transf.ztor(z)),
  ilogit = list(x = logit, value = transf.ilogit(logit)),
  iarcsin = list(x = arcsin, value = transf.iarcsin(arcsin)),
  exp = list(x = z, value = exp(z)),
  ipft_hm = list(x = pft, ni = pft_ni, value = transf.ipft.hm(pft, targs = list(ni = pft_ni)))
), "transforms")
