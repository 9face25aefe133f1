# Reference for KaplanMeierResult.quantile on R's aml data (survival 3.5-3), where the upper
# log-CI curve of the Maintained group rises again after day 45: quantile.survfit's bounds
# for p = 0.1, 0.25, 0.5, 0.75, 0.9 and conf.type log, log-log and plain.
#
#   Rscript tests/reference/make_km_quantile_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
probs <- c(0.1, 0.25, 0.5, 0.75, 0.9)
fits <- lapply(c("log", "log-log", "plain"), function(ct) {
  fit <- survfit(Surv(time, status) ~ x, data = aml, conf.type = ct)
  q <- quantile(fit, probs)
  list(conf_type = ct, groups = sub("x=", "", names(fit$strata)), probs = probs,
       quantile = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper))
})
info <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
             data = list(time = aml$time, status = aml$status, x = as.character(aml$x)),
             fits = fits)
write_json(info, file.path(outdir, "km_quantile_aml.json"), digits = NA, auto_unbox = TRUE,
           na = "null", matrix = "rowmajor")
