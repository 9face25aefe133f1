# Hartung-Knapp(-Sidik-Jonkman) tests and prediction-interval types of random-effects pooling of
# proportions (metafor rma.uni test = "z" / "t" / "knha" / "adhoc"; predict(pi.type =
# "default" / "simple" / "t" / "riley")), and meta-regression with test = "knha", as the
# reference for dah_outcomes.stats.meta.
#   Rscript make_meta_knha_reference.R ../../dah_outcomes/reproduce/data/dah_sle_series.csv meta_knha.json
# Datasets: DAH mortality and ventilation series from the shipped series table (one study per
# overlap group, as make_meta_reference.R), metafor's dat.pritz1997 and dat.debruin2009
# (proportions xi/ni; debruin2009 with its year as moderator). Each dataset's events, totals
# (and moderator) are written beside the values so the tests need neither R nor the CSV.
suppressPackageStartupMessages({library(metafor); library(jsonlite)})
a <- commandArgs(trailingOnly = TRUE)
d <- read.csv(a[1], stringsAsFactors = FALSE)
series <- function(outcome) {
  x <- d[d$outcome == outcome & d$unit == "patients" & !is.na(d$events) & !is.na(d$total) &
         d$study_id != "li2023_bacterial", ]
  keep <- rep(TRUE, nrow(x))
  for (g in unique(x$overlap_group[x$overlap_group != ""])) {
    i <- which(x$overlap_group == g); keep[i] <- FALSE; keep[i[which.max(x$total[i])]] <- TRUE
  }
  x <- x[keep, ]; x <- x[order(x$year, x$study_id), ]
  list(events = x$events, totals = x$total, moderator = x$year)
}
sets <- list(
  dah_mortality = series("death"),
  dah_ventilation = series("mechanical_ventilation"),
  pritz1997 = list(events = dat.pritz1997$xi, totals = dat.pritz1997$ni, moderator = NULL),
  debruin2009 = list(events = dat.debruin2009$xi, totals = dat.debruin2009$ni,
                     moderator = dat.debruin2009$year)
)
pool <- function(s, meas, meth, test, pi_type) {
  es <- escalc(measure = meas, xi = s$events, ni = s$totals)
  m <- rma(yi, vi, data = es, method = meth, test = test)
  back <- if (meas == "PLO") transf.ilogit else function(v) transf.ipft.hm(v, targs = list(ni = s$totals))
  pr <- predict(m, transf = back, pi.type = pi_type)
  list(transform = if (meas == "PLO") "logit" else "freeman-tukey", method = meth, test = test,
       pi_method = pi_type, pooled = unname(pr$pred), ci = unname(c(pr$ci.lb, pr$ci.ub)),
       pi = unname(c(pr$pi.lb, pr$pi.ub)), mu = unname(m$b[1]), mu_se = m$se, tau2 = m$tau2)
}
out <- list(generator = "R", R = R.version.string, metafor = as.character(packageVersion("metafor")),
            datasets = lapply(sets, function(s) s[!sapply(s, is.null)]), pooled = list(), regression = list())
for (name in names(sets)) for (meas in c("PLO", "PFT")) for (meth in c("DL", "REML"))
  for (test in c("z", "t", "knha", "adhoc")) for (pt in c("default", "simple", "t", "riley")) {
    r <- pool(sets[[name]], meas, meth, test, pt); r$dataset <- name
    out$pooled[[length(out$pooled) + 1]] <- r
  }
for (name in names(sets)) {
  s <- sets[[name]]
  if (is.null(s$moderator)) next
  ok <- !is.na(s$moderator)
  for (test in c("z", "knha")) {
    es <- escalc(measure = "PLO", xi = s$events[ok], ni = s$totals[ok])
    mr <- rma(es$yi, es$vi, mods = ~ s$moderator[ok], method = "REML", test = test)
    out$regression[[length(out$regression) + 1]] <- list(dataset = name, test = test,
      coef = unname(as.numeric(mr$b)), se = unname(mr$se), p = unname(mr$pval), tau2 = mr$tau2,
      qm = mr$QM, qm_p = mr$QMp, ci_lower = unname(mr$ci.lb), ci_upper = unname(mr$ci.ub))
  }
}
out$note <- "studies without a year are left out of the regressions (moderator NA)"
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"), a[2])
