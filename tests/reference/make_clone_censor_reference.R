# Reference for clone-censor-weight (dah_outcomes.stats.clone_censor), built independently
# of the Python code: a small cohort simulated here, each patient cloned into "start within
# G days" and "no start within G days" with one row per clone and day (a plain loop),
# artificial censoring at deviation, the censoring models fitted by glm(family = binomial)
# (a term per day of the grace period for "no start"; the untreated share at day G + 1 for
# "start"), stabilised and unstabilised inverse-probability-of-censoring weights, and the
# weighted Kaplan-Meier risk by day from survival's survfit on (day, day + 1] rows. The same
# again with integer frequency weights per patient (what a bootstrap replicate is).
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
ref <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
            grace = G, horizon = H, n_rows = nrow(d),
            unweighted = fit_ccw(d, rep(1, nrow(d))), frequency = fit_ccw(d, d$freq))
write_json(ref, file.path(outdir, "clone_censor.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
