# Reference for firth_cox: coxphf (Heinze & Ploner; built from its CRAN source by
# build_coxphf.sh, as it is not in Debian), Breslow ties, profile penalised-likelihood CIs
# (coxphf's default pl = TRUE) and penalised likelihood-ratio p-values, on
#  - right-censored data: coxphf's own breast data, and a small DAH series with no deaths in
#    one arm (monotone likelihood);
#  - counting-process (start, stop] rows: coxphf's documented examples test2 and test3, a
#    small DAH series with plasmapheresis as a time-varying covariate (rows split at its start
#    day), once with deaths on and off it and once with no death while on it;
#  - delayed entry (left-truncated rows).
# Each set's data are written beside the results. coxphf standardises the covariates, which
# shifts its penalised log-likelihood by -sum(log(sd)) (sd of each design column).
#
#   sh tests/reference/build_coxphf.sh /tmp/rlib   (or: ... /tmp/rlib <coxphf source or git dir>)
#   R_LIBS=/tmp/rlib Rscript tests/reference/make_firth_cox_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(coxphf); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261216)

plex_series <- function(n, monotone) {
  age <- round(rnorm(n, 35, 10))
  starts <- ifelse(runif(n) < 0.5, sample(2:20, n, replace = TRUE), NA)
  death <- ceiling(rexp(n, 1 / 60))
  censor <- sample(30:200, n, replace = TRUE)
  stop <- pmin(death, censor)
  died <- as.integer(death <= censor)
  rows <- list()
  for (i in seq_len(n)) {
    s <- starts[i]
    if (is.na(s) || s >= stop[i]) {
      rows[[i]] <- data.frame(id = i, start = 0, stop = stop[i], event = died[i], plex = 0,
                              age = age[i])
    } else {
      rows[[i]] <- data.frame(id = i, start = c(0, s), stop = c(s, stop[i]),
                              event = c(0, died[i]), plex = c(0, 1), age = age[i])
    }
  }
  d <- do.call(rbind, rows)
  if (monotone) d$event[d$plex == 1] <- 0L
  d
}
dah_arm <- function(n) {
  arm <- rep(0:1, length.out = n)
  t <- ceiling(rexp(n, 1 / 40))
  e <- as.integer(arm == 0 & runif(n) < 0.6)
  data.frame(t = t, e = e, plex = arm, age = round(rnorm(n, 35, 10)))
}
delayed <- function(n) {
  entry <- sample(0:40, n, replace = TRUE)
  x <- rbinom(n, 1, 0.5)
  z <- round(rnorm(n), 2)
  t <- entry + ceiling(rexp(n, exp(0.7 * x + 0.3 * z) / 50))
  c <- entry + sample(10:150, n, replace = TRUE)
  data.frame(entry = entry, t = pmin(t, c), e = as.integer(t <= c), x = x, z = z)
}
test2 <- data.frame(start = c(1, 2, 5, 2, 1, 7, 3, 4, 8, 8),
                    stop = c(2, 3, 6, 7, 8, 9, 9, 9, 14, 17),
                    event = c(1, 1, 1, 1, 1, 1, 1, 0, 0, 0),
                    x = c(1, 0, 0, 1, 0, 1, 1, 1, 0, 0))
test3 <- test2
test3$event <- c(1, 0, 0, 1, 0, 1, 1, 0, 0, 0)
data(breast)

sets <- list(
  list(name = "breast", data = breast, time = "TIME", event = "CENS", entry = NULL,
       covariates = c("T", "N", "G", "CD")),
  list(name = "dah_arm_no_deaths", data = dah_arm(24), time = "t", event = "e", entry = NULL,
       covariates = c("plex", "age")),
  list(name = "test2", data = test2, time = "stop", event = "event", entry = "start",
       covariates = "x"),
  list(name = "test3", data = test3, time = "stop", event = "event", entry = "start",
       covariates = "x"),
  list(name = "plex_time_varying", data = plex_series(30, FALSE), time = "stop",
       event = "event", entry = "start", covariates = c("plex", "age")),
  list(name = "plex_time_varying_monotone", data = plex_series(30, TRUE), time = "stop",
       event = "event", entry = "start", covariates = c("plex", "age")),
  list(name = "delayed_entry", data = delayed(40), time = "t", event = "e", entry = "entry",
       covariates = c("x", "z"))
)
out <- lapply(sets, function(s) {
  lhs <- if (is.null(s$entry)) sprintf("Surv(%s, %s)", s$time, s$event)
         else sprintf("Surv(%s, %s, %s)", s$entry, s$time, s$event)
  f <- as.formula(paste(lhs, "~", paste(s$covariates, collapse = " + ")))
  fit <- coxphf(f, data = s$data)
  list(name = s$name, time = s$time, event = s$event,
       entry = if (is.null(s$entry)) NA else s$entry, covariates = s$covariates,
       data = as.list(s$data[, c(s$entry, s$time, s$event, s$covariates)]),
       coef = unname(coef(fit)), ci_lower = log(unname(fit$ci.lower)),
       ci_upper = log(unname(fit$ci.upper)), p_value = unname(fit$prob),
       loglik = fit$loglik, sd = unname(apply(model.matrix(f, s$data)[, -1, drop = FALSE], 2, sd)),
       iter = fit$iter)
})
info <- list(R = R.version.string, coxphf = as.character(packageVersion("coxphf")),
             survival = as.character(packageVersion("survival")), sets = out)
writeLines(toJSON(info, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(outdir, "firth_cox.json"))
