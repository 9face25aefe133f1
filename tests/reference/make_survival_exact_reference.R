# Reference for survival at fixed days in a small series (issue 16): a 16-patient series of
# three arms (rituximab 6 patients with no death by day 30, MP+CYC 8, steroids 2 who both die
# early). Per arm and day: summary(survfit(...), times=) for survival, its log-transformed
# Greenwood interval and the number at risk, and binom.test's Clopper-Pearson interval of the
# survivors among the patients whose status at the day is known (dead by it, or followed to
# it): the exact bound survival_by_group reports beside an interval of zero width or none.
#
#   Rscript tests/reference/make_survival_exact_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
series <- data.frame(
  arm = c(rep("Rituximab", 6), rep("MP+CYC", 8), rep("Steroids without CYC", 2)),
  time = c(40, 55, 90, 120, 200, 365, 3, 8, 20, 45, 60, 90, 120, 300, 5, 12),
  event = c(1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1)
)
days <- c(30, 90, 365)
rows <- list()
for (a in unique(series$arm)) {
  d <- series[series$arm == a, ]
  for (level in c(0.95, 0.9)) {
    fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log", conf.int = level)
    s <- summary(fit, times = days, extend = TRUE)
    for (i in seq_along(days)) {
      tt <- days[i]
      dead <- sum(d$time <= tt & d$event == 1)
      known <- sum((d$time <= tt & d$event == 1) | d$time >= tt)
      ci <- binom.test(known - dead, known, conf.level = level)$conf.int
      # within follow-up, or after a curve that has reached 0 (R's extend=TRUE carries the
      # last value forward; a survival past follow-up is not estimated)
      estimated <- tt <= max(d$time) || min(fit$surv) == 0
      rows[[length(rows) + 1]] <- list(
        arm = a, time = tt, conf_level = level, estimated = estimated,
        survival = s$surv[i], ci_lower = s$lower[i], ci_upper = s$upper[i],
        n_risk = s$n.risk[i], n_dead = dead, n_known = known,
        exact_lower = ci[1], exact_upper = ci[2]
      )
    }
  }
}
info <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
             data = series, rows = rows)
write_json(info, file.path(outdir, "survival_exact.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
