# Reference for clone-censor-weight (dah_outcomes.stats.clone_censor), built independently
# of the Python code: a small cohort simulated here, each patient cloned into "start within
# G days" and "no start within G days" with one row per clone and day (a plain loop),
# artificial censoring at deviation, the censoring models fitted by glm(family = binomial)
# (a term per day of the grace period for "no start"; the untreated share at day G + 1 for
# "start"), stabilised and unstabilised inverse-probability-of-censoring weights, and the
# weighted Kaplan-Meier risk by day from survival's survfit on (day, day + 1] rows. The same
# again with integer frequency weights per patient (what a bootstrap replicate is), and on a
# second cohort with a time-varying covariate in the censoring models.
#
#   Rscript tests/reference/make_clone_censor_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(2015)
n <- 300; G <- 2; H <- 30
x1 <- rbinom(n, 1, 0.4)
x2 <- sample(c("a", "b", "c"), n, replace = TRUE)
fu <- sample(12:60, n, replace = TRUE)  # administrative end of follow-up (last day)
start <- rep(NA_real_, n); death <- rep(NA_real_, n)
for (day in 0:60) {
  alive <- is.na(death) & day <= fu
  p_start <- plogis(-1.2 + 0.8 * x1 + 0.4 * (x2 == "b") - 0.3 * day)
  new <- alive & is.na(start) & runif(n) < p_start
  start[new] <- day
  treated <- !is.na(start) & start <= day
  h <- 0.015 * (1 + 1.5 * x1) * ifelse(treated, 0.6, 1) * ifelse(x2 == "c", 1.4, 1)
  dies <- alive & runif(n) < h
  death[dies] <- day
}
time <- ifelse(is.na(death), fu, death)
event <- as.integer(!is.na(death))
patients <- data.frame(id = seq_len(n), time = time, event = event, start = start, x1 = x1,
                       x2 = x2)
freq <- as.vector(rmultinom(1, n, rep(1 / n, n)))  # one bootstrap replicate's counts
patients$freq <- freq
write.csv(patients, file.path(outdir, "clone_censor.csv"), row.names = FALSE, na = "")

expand <- function() {
  rows <- list()
  for (i in seq_len(n)) {
    s <- start[i]
    for (arm in c("start", "nostart")) {
      adherent_start <- !is.na(s) && s <= G
      cens <- if (arm == "start") { if (adherent_start) Inf else G + 1 } else {
        if (adherent_start) s else Inf }
      for (k in 0:min(time[i], H)) {
        if (k == cens) {
          rows[[length(rows) + 1]] <- c(i, arm == "start", k, 1, 0)
          break
        }
        rows[[length(rows) + 1]] <- c(i, arm == "start", k, 0,
                                      as.integer(event[i] == 1 && time[i] == k))
      }
    }
  }
  d <- as.data.frame(do.call(rbind, rows))
  names(d) <- c("id", "treat_arm", "day", "censored", "death")
  d$x1 <- x1[d$id]; d$x2 <- factor(x2[d$id]); d$freq <- freq[d$id]
  d
}
d <- expand()

# glm to full precision (its default epsilon 1e-8 leaves ~1e-9 in the risks)
tight <- glm.control(epsilon = 1e-14, maxit = 100)
fit_ccw <- function(d, fw) {
  d$fw <- fw
  ctrl <- d$treat_arm == 0 & d$day <= G
  trt <- d$treat_arm == 1 & d$day == G + 1
  m0 <- glm(censored ~ factor(day) + x1 + x2, binomial, data = d[ctrl, ], weights = fw,
            control = tight)
  m1 <- glm(censored ~ x1 + x2, binomial, data = d[trt, ], weights = fw,
            control = tight)
  n0 <- glm(censored ~ factor(day), binomial, data = d[ctrl, ], weights = fw,
            control = tight)
  n1 <- glm(censored ~ 1, binomial, data = d[trt, ], weights = fw,
            control = tight)
  p <- rep(0, nrow(d)); pbar <- rep(0, nrow(d))
  p[ctrl] <- fitted(m0); pbar[ctrl] <- fitted(n0)
  p[trt] <- fitted(m1); pbar[trt] <- fitted(n1)
  out <- list(coef_nostart = unname(coef(m0)), coef_start = unname(coef(m1)),
              terms_nostart = names(coef(m0)), terms_start = names(coef(m1)))
  for (stab in c(FALSE, TRUE)) {
    f <- ifelse(d$censored == 1, 1, (if (stab) 1 - pbar else 1) / (1 - p))
    clone <- paste(d$id, d$treat_arm)
    w <- ave(f, clone, FUN = cumprod)  # rows are in day order within a clone
    risk <- list()
    for (arm in c(1, 0)) {
      keep <- d$treat_arm == arm & d$censored == 0
      km <- survfit(Surv(day, day + 1, death) ~ 1, data = d[keep, ],
                    weights = (w * d$fw)[keep])
      risk[[length(risk) + 1]] <- 1 - summary(km, times = 1:(H + 1), extend = TRUE)$surv
    }
    out[[if (stab) "risk_stabilized" else "risk_unstabilized"]] <- risk
  }
  out
}

# A time-varying covariate: z (say, oxygen dependence) is recorded on day 0 and again on the
# days it changes; it raises both the chance of starting that day and the hazard of death.
# The "no start" model of day k uses z on day k, the "start" model z on day G.
set.seed(2016)
m <- 300
tv_x1 <- rbinom(m, 1, 0.5)
z <- matrix(0L, m, 61)
z[, 1] <- rbinom(m, 1, 0.4)
for (day in 1:60) z[, day + 1] <- ifelse(runif(m) < 0.25, 1L - z[, day], z[, day])
tv_fu <- sample(12:60, m, replace = TRUE)
tv_start <- rep(NA_real_, m); tv_death <- rep(NA_real_, m)
for (day in 0:60) {
  alive <- is.na(tv_death) & day <= tv_fu
  new <- alive & is.na(tv_start) &
    runif(m) < plogis(-1.5 + 1.2 * z[, day + 1] + 0.5 * tv_x1 - 0.2 * day)
  tv_start[new] <- day
  treated <- !is.na(tv_start) & tv_start <= day
  h <- 0.01 * (1 + 2 * z[, day + 1]) * (1 + 0.5 * tv_x1) * ifelse(treated, 0.6, 1)
  tv_death[alive & runif(m) < h] <- day
}
tv_time <- ifelse(is.na(tv_death), tv_fu, tv_death)
tv_event <- as.integer(!is.na(tv_death))
tv_patients <- data.frame(id = sprintf("T%03d", 1:m), time = tv_time, event = tv_event,
                          start = tv_start, x1 = tv_x1)
write.csv(tv_patients, file.path(outdir, "clone_censor_tv_patients.csv"), row.names = FALSE,
          na = "")
records <- do.call(rbind, lapply(1:m, function(i) {
  days <- c(0, which(diff(z[i, 1:(G + 1)]) != 0))  # day 0 and each change in the grace period
  data.frame(id = sprintf("T%03d", i), day = days, z = z[i, days + 1])
}))
write.csv(records, file.path(outdir, "clone_censor_tv.csv"), row.names = FALSE)
tv_rows <- list()
for (i in 1:m) {
  s <- tv_start[i]
  for (arm in c(1, 0)) {
    adherent <- !is.na(s) && s <= G
    cens <- if (arm == 1) { if (adherent) Inf else G + 1 } else { if (adherent) s else Inf }
    for (k in 0:min(tv_time[i], H)) {
      zk <- z[i, min(k, G) + 1]
      if (k == cens) { tv_rows[[length(tv_rows) + 1]] <- c(i, arm, k, 1, 0, zk); break }
      tv_rows[[length(tv_rows) + 1]] <- c(i, arm, k, 0,
                                          as.integer(tv_event[i] == 1 && tv_time[i] == k), zk)
    }
  }
}
e <- as.data.frame(do.call(rbind, tv_rows))
names(e) <- c("id", "treat_arm", "day", "censored", "death", "z")
e$x1 <- tv_x1[e$id]
ctrl <- e$treat_arm == 0 & e$day <= G
trt <- e$treat_arm == 1 & e$day == G + 1
m0 <- glm(censored ~ factor(day) + x1 + z, binomial, data = e[ctrl, ], control = tight)
m1 <- glm(censored ~ x1 + z, binomial, data = e[trt, ], control = tight)
n0 <- glm(censored ~ factor(day), binomial, data = e[ctrl, ], control = tight)
n1 <- glm(censored ~ 1, binomial, data = e[trt, ], control = tight)
p <- rep(0, nrow(e)); pbar <- rep(0, nrow(e))
p[ctrl] <- fitted(m0); pbar[ctrl] <- fitted(n0); p[trt] <- fitted(m1); pbar[trt] <- fitted(n1)
f <- ifelse(e$censored == 1, 1, (1 - pbar) / (1 - p))
w <- ave(f, paste(e$id, e$treat_arm), FUN = cumprod)
tv_risk <- lapply(c(1, 0), function(arm) {
  keep <- e$treat_arm == arm & e$censored == 0
  km <- survfit(Surv(day, day + 1, death) ~ 1, data = e[keep, ], weights = w[keep])
  1 - summary(km, times = 1:(H + 1), extend = TRUE)$surv
})
time_varying <- list(coef_nostart = unname(coef(m0)), coef_start = unname(coef(m1)),
                     terms_nostart = names(coef(m0)), terms_start = names(coef(m1)),
                     risk_stabilized = tv_risk)

ref <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
            grace = G, horizon = H, n_rows = nrow(d),
            unweighted = fit_ccw(d, rep(1, nrow(d))), frequency = fit_ccw(d, d$freq),
            time_varying = time_varying)
write_json(ref, file.path(outdir, "clone_censor.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
