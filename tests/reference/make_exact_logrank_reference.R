# Reference for logrank_test(method="exact"|"permutation"): small simulated series with tied
# whole-day times (2, 3 and 4 arms, arms of 1 to 12 patients), and coin::logrank_test's
# statistic and p-value: distribution = "exact" for 2 arms (coin's exact distribution is for
# two samples only; real-valued log-rank scores take van de Wiel's split-up algorithm), and
# distribution = "asymptotic" (its statistic) plus approximate(nresample = 2e5) for k arms.
#
#   Rscript tests/reference/make_exact_logrank_reference.R tests/reference
suppressPackageStartupMessages({ library(coin); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261202)
make <- function(sizes, maxday, pcens) {
  g <- rep(seq_along(sizes), sizes)
  time <- pmax(1, ceiling(rexp(length(g), 1 / (maxday / (1 + 0.6 * (g - 1))))))
  time <- pmin(time, maxday)
  event <- as.integer(runif(length(g)) > pcens)
  data.frame(time = time, event = event, group = paste0("arm", g))
}
cases <- list(
  list(sizes = c(5, 6), maxday = 8, pcens = 0.3, rho = 0, gamma = 0),
  list(sizes = c(7, 7), maxday = 10, pcens = 0.2, rho = 0, gamma = 0),
  list(sizes = c(3, 9), maxday = 6, pcens = 0.4, rho = 0, gamma = 0),
  list(sizes = c(10, 12), maxday = 15, pcens = 0.25, rho = 0, gamma = 0),
  list(sizes = c(6, 8), maxday = 9, pcens = 0.3, rho = 1, gamma = 0),
  list(sizes = c(8, 6), maxday = 12, pcens = 0.2, rho = 0, gamma = 1),
  list(sizes = c(3, 4, 5), maxday = 7, pcens = 0.3, rho = 0, gamma = 0),
  list(sizes = c(1, 3, 4, 6), maxday = 9, pcens = 0.3, rho = 0, gamma = 0),
  list(sizes = c(4, 4, 5), maxday = 6, pcens = 0.2, rho = 1, gamma = 0)
)
out <- lapply(cases, function(cs) {
  d <- make(cs$sizes, cs$maxday, cs$pcens)
  d$group <- factor(d$group)
  k <- length(cs$sizes)
  args <- list(Surv(time, event) ~ group, data = d, type = "Fleming-Harrington",
               rho = cs$rho, gamma = cs$gamma)
  asym <- do.call(logrank_test, args)
  res <- list(time = d$time, event = d$event, group = as.character(d$group),
              rho = cs$rho, gamma = cs$gamma,
              statistic = as.numeric(statistic(asym)),
              asymptotic_p = as.numeric(pvalue(asym)))
  if (k == 2) {
    ex <- do.call(logrank_test, c(args, list(distribution = "exact")))
    res$exact_p <- as.numeric(pvalue(ex))
  } else {
    set.seed(1)
    ap <- do.call(logrank_test, c(args, list(distribution = approximate(nresample = 2e5))))
    res$approximate_p <- as.numeric(pvalue(ap))
    res$nresample <- 2e5
  }
  res
})
info <- list(R = R.version.string, coin = as.character(packageVersion("coin")), cases = out)
write_json(info, file.path(outdir, "exact_logrank.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
