# Reference for multiple-imputation pooling (dah_outcomes.stats.pooling) and the Nelson-Aalen
# predictor of the imputation models (dah_outcomes.stats.imputation.nelson_aalen_at_times).
#
# A simulated DAH-like series (200 patients: age, severe presentation, haemoglobin drop,
# cyclophosphamide, time to death, 90-day death) with values missing at random, imputed by
# mice(m = 5, seed = 1). On the SAME completed datasets we record, per imputation, the
# estimates and variances of: a logistic model (glm), a linear model (lm), a Cox model
# (coxph), an intercept-only logistic model (a proportion on the logit scale), Kaplan-Meier
# survival at fixed times by arm (log(-log) scale, pooled by pool.scalar), and a mean
# (pool.scalar with n given, so the Barnard-Rubin df is used); and mice's pooled results
# (estimate, ubar, b, t, dfcom, df, riv, lambda, fmi). The completed datasets are written too,
# so that the Python fits can be pooled end to end. mice::nelsonaalen on tied times, and a
# pooled Cox model over mice(m = 40) of the same observed data (for our own imputation), close.
#
#   Rscript tests/reference/make_mi_pooling_reference.R tests/reference
suppressPackageStartupMessages({
  library(mice); library(survival); library(jsonlite)
})
outdir <- commandArgs(trailingOnly = TRUE)[1]

set.seed(17)
n <- 200
age <- round(rnorm(n, 42, 13), 1)
severe <- rbinom(n, 1, 0.4)
hb <- round(pmax(0.2, rnorm(n, 2.5 + 1.2 * severe, 1)), 2)
cyc <- rbinom(n, 1, plogis(-0.4 + 0.9 * severe))
lp <- 0.03 * (age - 42) + 0.8 * severe + 0.25 * (hb - 3) - 0.5 * cyc
t_death <- ceiling(rexp(n, 0.0015 * exp(lp)))
t_cens <- ceiling(runif(n, 60, 1500))
status <- as.integer(t_death <= t_cens)
time <- pmin(t_death, t_cens)
dead90 <- as.integer(status == 1 & time <= 90)
full <- data.frame(age, severe, hb, cyc, time, status, dead90)

# missing at random: haemoglobin drop more often missing in non-severe patients, the
# cyclophosphamide flag more often missing in older ones, age missing completely at random
obs <- full
obs$hb[runif(n) < ifelse(severe == 1, 0.10, 0.35)] <- NA
obs$cyc[runif(n) < plogis(-2 + 0.04 * (age - 42))] <- NA
obs$age[runif(n) < 0.08] <- NA
obs$na <- nelsonaalen(obs, time, status)
obs$cyc <- factor(obs$cyc, levels = c(0, 1))  # a factor: mice imputes it by logistic regression

imp <- mice(obs, m = 5, seed = 1, printFlag = FALSE)
long <- complete(imp, "long")
long$cyc <- as.integer(as.character(long$cyc))

per_term <- function(fits, pooled) {
  est <- sapply(fits, function(f) summary(f)$coefficients[, 1])
  se <- sapply(fits, function(f) summary(f)$coefficients[, 2])
  if (inherits(fits[[1]], "coxph")) {
    est <- sapply(fits, coef)
    se <- sapply(fits, function(f) sqrt(diag(vcov(f))))
  }
  est <- as.matrix(est); se <- as.matrix(se)
  if (ncol(est) == 1) { est <- t(est); se <- t(se) }
  p <- pooled$pooled
  list(
    terms = as.character(p$term),
    estimates = lapply(seq_len(ncol(est)), function(j) unname(est[, j])),
    variances = lapply(seq_len(ncol(se)), function(j) unname(se[, j]^2)),
    pooled = list(estimate = p$estimate, ubar = p$ubar, b = p$b, t = p$t, dfcom = p$dfcom,
                  df = p$df, riv = p$riv, lambda = p$lambda, fmi = p$fmi)
  )
}

fits_of <- function(model) lapply(seq_len(imp$m), function(i) model(complete(imp, i)))

glm_fits <- fits_of(function(d) glm(dead90 ~ age + severe + hb + cyc, family = binomial, data = d))
lm_fits <- fits_of(function(d) lm(hb ~ age + severe + cyc, data = d))
cox_fits <- fits_of(function(d) coxph(Surv(time, status) ~ age + severe + hb + cyc, data = d))
prop_fits <- fits_of(function(d) glm(cyc ~ 1, family = binomial, data = d))

glm_ref <- per_term(glm_fits, pool(as.mira(glm_fits)))
lm_ref <- per_term(lm_fits, pool(as.mira(lm_fits)))
cox_ref <- per_term(cox_fits, pool(as.mira(cox_fits)))
prop_ref <- per_term(prop_fits, pool(as.mira(prop_fits)))
prop_ref$events <- sapply(seq_len(imp$m), function(i) sum(complete(imp, i)$cyc == "1"))
prop_ref$total <- n
# the same proportions from their counts (the glm's IRLS stops within 1e-8 of logit(p))
p_hat <- prop_ref$events / n
ps <- pool.scalar(qlogis(p_hat), 1 / (n * p_hat * (1 - p_hat)), n = n, k = 1)
prop_ref$from_counts <- list(estimate = ps$qbar, ubar = ps$ubar, b = ps$b, t = ps$t, df = ps$df,
                             riv = ps$r, fmi = ps$fmi)

# Kaplan-Meier survival by cyclophosphamide at fixed times, pooled on the log(-log) scale:
# Q = log(-log S), U = (std.err of -log S / log S)^2, pool.scalar with n = Inf (no small-sample df)
times <- c(90, 365, 730)
km <- list()
for (arm in c(0, 1)) {
  for (tt in times) {
    s <- se_h <- numeric(imp$m)
    for (i in seq_len(imp$m)) {
      d <- complete(imp, i)
      f <- survfit(Surv(time, status) ~ 1, data = d[d$cyc == as.character(arm), ])
      sm <- summary(f, times = tt)
      s[i] <- sm$surv
      se_h[i] <- sm$std.err / sm$surv  # summary's std.err is of S; divide for -log S
    }
    q <- log(-log(s)); u <- (se_h / log(s))^2
    ps <- pool.scalar(q, u)
    km[[length(km) + 1]] <- list(
      group = arm, time = tt, survival = s, std_err = se_h,
      pooled = list(estimate = ps$qbar, ubar = ps$ubar, b = ps$b, t = ps$t, df = ps$df,
                    riv = ps$r, fmi = ps$fmi)
    )
  }
}

# a mean with complete-data df n - 1: pool.scalar's Barnard-Rubin df
means <- sapply(seq_len(imp$m), function(i) mean(complete(imp, i)$hb))
vars <- sapply(seq_len(imp$m), function(i) var(complete(imp, i)$hb) / n)
ps <- pool.scalar(means, vars, n = n, k = 1)
mean_ref <- list(estimates = means, variances = vars, n = n, k = 1,
                 pooled = list(estimate = ps$qbar, ubar = ps$ubar, b = ps$b, t = ps$t,
                               df = ps$df, riv = ps$r, fmi = ps$fmi))

# mice::nelsonaalen on tied times (coxph's Efron increments 1/n + 1/(n-1) + ...)
na_time <- c(5, 5, 5, 12, 30, 30, 41, 60, 60, 60, 60, 75, 90, 90, 120)
na_status <- c(1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 0, 1, 0, 0)
na_ref <- list(time = na_time, status = na_status,
               hazard = nelsonaalen(data.frame(na_time, na_status), na_time, na_status),
               hazard_obs = obs$na)

# D1, the multivariate Wald test of several coefficients (Li, Raghunathan and Rubin 1991):
# hb and cyc jointly in the logistic model, with Reiter's (2007) df (dfcom = df.residual, as
# mice::D1 takes it) and without complete-data df (mitml::testModels with df.com = NULL)
glm0_fits <- fits_of(function(d) glm(dead90 ~ age + severe, family = binomial, data = d))
d1 <- D1(as.mira(glm_fits), as.mira(glm0_fits))$result
d1_inf <- mitml::testModels(as.mitml.result(as.mira(glm_fits)),
                            as.mitml.result(as.mira(glm0_fits)), method = "D1")$test
d1_ref <- list(
  terms = c("hb", "cyc1"),
  covariances = lapply(glm_fits, function(f) unname(vcov(f))),
  dfcom = glm_fits[[1]]$df.residual,
  reiter = list(statistic = d1[1, "F.value"], df1 = d1[1, "df1"], df2 = d1[1, "df2"],
                p_value = d1[1, "P(>F)"], riv = d1[1, "RIV"]),
  large_sample = list(statistic = d1_inf[1, "F.value"], df1 = d1_inf[1, "df1"],
                      df2 = d1_inf[1, "df2"], p_value = d1_inf[1, "P(>F)"],
                      riv = d1_inf[1, "RIV"])
)

# a larger imputation of the same observed data (m = 40, maxit = 10), to compare our chained
# equations with mice's by their pooled Cox model (equal up to Monte Carlo error)
imp40 <- mice(obs, m = 40, maxit = 10, seed = 1, printFlag = FALSE)
p40 <- pool(with(imp40, coxph(Surv(time, status) ~ age + severe + hb + cyc)))$pooled
mice_m40 <- list(terms = as.character(p40$term), estimate = p40$estimate, t = p40$t,
                 fmi = p40$fmi)

completed <- lapply(seq_len(imp$m), function(i) {
  d <- long[long$.imp == i, c("age", "severe", "hb", "cyc", "time", "status", "dead90")]
  lapply(as.list(d), unname)
})

info <- list(
  R = R.version.string, mice = as.character(packageVersion("mice")),
  survival = as.character(packageVersion("survival")), m = imp$m, n = n,
  observed = lapply(as.list(obs[, c("age", "severe", "hb", "time", "status")]), unname),
  observed_cyc = as.integer(as.character(obs$cyc)),
  glm = glm_ref, lm = lm_ref, coxph = cox_ref, proportion = prop_ref,
  km_times = times, km = km, mean = mean_ref, nelsonaalen = na_ref, completed = completed,
  observed_dead90 = full$dead90, mice_m40 = mice_m40, d1 = d1_ref
)
write_json(info, file.path(outdir, "mi_pooling.json"), digits = NA, auto_unbox = TRUE,
           pretty = FALSE, na = "null")
