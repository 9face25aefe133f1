# Reference for firth_logistic: logistf (1.26.1, built from its CRAN source with R CMD INSTALL;
# it is not in Debian) on its own sex2 data and on small simulated DAH series (in-hospital
# death against age, a treatment arm and a ventilation flag), one with quasi-complete
# separation (no deaths in one arm). Coefficients, profile penalised-likelihood CIs (logistf's
# default pl = TRUE), penalised likelihood-ratio p-values and the penalised log-likelihood.
#
#   Rscript tests/reference/make_firth_logistic_reference.R tests/reference
suppressPackageStartupMessages({ library(logistf); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261202)
series <- function(n, separate) {
  age <- round(rnorm(n, 35, 11))
  arm <- factor(sample(c("cyclophosphamide", "rituximab"), n, replace = TRUE))
  vent <- rbinom(n, 1, 0.5)
  lp <- -1 + 0.03 * (age - 35) + 1.2 * vent - 0.8 * (arm == "rituximab")
  died <- rbinom(n, 1, plogis(lp))
  if (separate) died[arm == "rituximab"] <- 0L
  data.frame(died = died, age = age, arm = arm, vent = vent)
}
data(sex2)
sets <- list(
  list(name = "sex2", data = sex2, outcome = "case",
       covariates = c("age", "oc", "vic", "vicl", "vis", "dia")),
  list(name = "dah14", data = series(14, FALSE), outcome = "died",
       covariates = c("age", "vent")),
  list(name = "dah25", data = series(25, FALSE), outcome = "died",
       covariates = c("age", "arm", "vent")),
  list(name = "dah20_separated", data = series(20, TRUE), outcome = "died",
       covariates = c("age", "arm"))
)
out <- lapply(sets, function(s) {
  f <- as.formula(paste(s$outcome, "~", paste(s$covariates, collapse = " + ")))
  fits <- lapply(c(0.95, 0.90), function(level) {
    fit <- logistf(f, data = s$data, alpha = 1 - level)
    list(conf_level = level, terms = names(coef(fit)), coef = unname(coef(fit)),
         ci_lower = unname(fit$ci.lower), ci_upper = unname(fit$ci.upper),
         p_value = unname(fit$prob), loglik = unname(fit$loglik[1]),
         loglik_null = unname(fit$loglik[2]))
  })
  d <- s$data[, c(s$outcome, s$covariates)]
  d[] <- lapply(d, function(col) if (is.factor(col)) as.character(col) else col)
  list(name = s$name, outcome = s$outcome, covariates = s$covariates, data = d, fits = fits)
})
info <- list(R = R.version.string, logistf = as.character(packageVersion("logistf")),
             cases = out)
write_json(info, file.path(outdir, "firth_logistic.json"), digits = NA, auto_unbox = TRUE,
           dataframe = "columns")
