# Reference for the small-sample helpers: binom.test's Clopper-Pearson intervals (the exact
# bound beside a degenerate Kaplan-Meier interval), prop.test's Wilson interval with R's
# continuity correction min(0.5, |k - n p|) (none at k = n/2), and pwr's sample sizes for a
# one-proportion test (Cohen's h) that study planning is checked against.
#
#   Rscript tests/reference/make_small_sample_reference.R tests/reference
suppressPackageStartupMessages({ library(pwr); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
binom <- lapply(list(c(6, 6, 0.95), c(7, 10, 0.95), c(4, 5, 0.95), c(6, 6, 0.9), c(0, 6, 0.95),
                     c(12, 14, 0.95)), function(a) {
  ci <- binom.test(a[1], a[2], conf.level = a[3])$conf.int
  list(x = a[1], n = a[2], conf_level = a[3], lower = ci[1], upper = ci[2])
})
wilson_cc <- lapply(list(c(5, 10), c(4, 10), c(6, 12), c(7, 14), c(3, 6), c(1, 2), c(2, 9), c(0, 8),
                         c(8, 8)), function(a) {
  ci <- prop.test(a[1], a[2])$conf.int
  list(k = a[1], n = a[2], lower = ci[1], upper = ci[2])
})
pwr_p <- lapply(list(c(0.3, 0.5, 0.8, 0.05), c(0.2, 0.4, 0.9, 0.05), c(0.5, 0.7, 0.8, 0.01)),
                function(a) {
  h <- ES.h(a[2], a[1])
  list(p0 = a[1], p1 = a[2], power = a[3], alpha = a[4], h = h,
       n = pwr.p.test(h = h, power = a[3], sig.level = a[4])$n)
})
info <- list(R = R.version.string, pwr = as.character(packageVersion("pwr")),
             binom_test = binom, prop_test = wilson_cc, pwr_p_test = pwr_p)
write_json(info, file.path(outdir, "small_samples.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
