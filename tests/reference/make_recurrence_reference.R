# Reference for the recurrence endpoints of dah_outcomes.rates(): a simulated DAH follow-up
# (first onset, then a first recurrence, death before recurrence, or censoring; whole days, so
# with ties), written as CSV, and cmprsk::cuminc's cumulative incidence of recurrence (death
# competing) with its variance at 1, 2 and 5 years, overall and by era, written as JSON with
# the log(-log) interval of cmprsk's variance; and the recurrence rate per 100 person-years
# with poisson.test's exact interval.
#
#   Rscript tests/reference/make_recurrence_reference.R tests/reference
suppressPackageStartupMessages({ library(cmprsk); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261202)
n <- 700
era <- ifelse(runif(n) < 0.3, "historical", "modern")
recur <- rexp(n, ifelse(era == "historical", 1 / 2500, 1 / 1500))   # days to recurrence
# days to death: some early (within the first month, many in hospital), the rest later
early <- runif(n) < 0.15
death <- ifelse(early, runif(n, 0, 30), rexp(n, ifelse(era == "historical", 1 / 900, 1 / 3000)))
censor <- runif(n, 30, 4000)
time <- floor(pmin(recur, death, censor))
event <- ifelse(recur <= pmin(death, censor), 1L, ifelse(death <= censor, 2L, 0L))
# a recurrence on day 0 is not a recurrence (the second onset is after the first)
time[event == 1 & time == 0] <- 1
df <- data.frame(id = sprintf("R%04d", seq_len(n)), era = era, time = time, event = event)
write.csv(df, file.path(outdir, "dah_recurrence.csv"), row.names = FALSE)

years <- c(1, 2, 5)
days <- years * 365.25
z <- qnorm(0.975)
block <- function(fit, name) {
  tp <- timepoints(fit, days)
  est <- tp$est[name, ]; v <- tp$var[name, ]
  a <- z * sqrt(v) / (est * log(est))
  list(years = years, time = days, cif = unname(est), variance = unname(v),
       ci_lower = unname(est^exp(-a)), ci_upper = unname(est^exp(a)))
}
overall <- cuminc(df$time, df$event, cencode = 0)
by_era <- cuminc(df$time, df$event, group = df$era, cencode = 0)
out <- list(
  generator = "R", R = R.version.string, cmprsk = as.character(packageVersion("cmprsk")),
  conf_level = 0.95,
  cif = list(overall = block(overall, "1 1"),
             historical = block(by_era, "historical 1"),
             modern = block(by_era, "modern 1")),
  gray_test = list(statistic = unname(by_era$Tests[1, "stat"]),
                   p_value = unname(by_era$Tests[1, "pv"]))
)
# recurrence rate: here each patient recurs at most once (the CSV holds first recurrences),
# followed to the recurrence; the test's cohort follows a recurring patient 30 more days
py <- (sum(df$time) + 30 * sum(df$event == 1)) / 365.25
pt <- poisson.test(sum(df$event == 1), py)
out$recurrence_rate <- list(events = sum(df$event == 1), person_years = py,
                            estimate = 100 * sum(df$event == 1) / py,
                            ci_lower = 100 * pt$conf.int[1], ci_upper = 100 * pt$conf.int[2])
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(outdir, "dah_recurrence.json"))
