# Reference for propensity weights, balance and standardised risks (stats/propensity.py,
# stats/balance.py, stats/standardisation.py): a simulated DAH-like series of 600 patients in
# three arms, confounded by age, a severity flag and the era.
# - Propensity scores: nnet::multinom (reference category the first arm), fitted to a
#   relative tolerance of 1e-14 so its BFGS optimum is the maximum-likelihood one.
# - Weights by hand from the fitted probabilities: ATE, ATT (reference arm "MP+CYC"),
#   overlap (Li and Li 2019), each unstabilised and stabilised; ATE stabilised truncated at
#   the 5th/95th percentiles (quantile type 7) and at a fixed 3; Kish effective sizes.
# - Standardised mean differences by hand: (weighted) mean difference over the pooled SD of
#   the unweighted arms, p(1 - p) for binary terms (cobalt's default definitions).
# - Standardised risks at day 30 and in hospital: IPC weights 1 / G(min(T, 30)-) from the
#   reverse Kaplan-Meier (survival::survfit, deaths before censorings at a tie) within each
#   arm; glm(binomial) outcome model of arm + covariates with those weights; g-computation
#   and AIPW means; 1 - KM at day 30 per arm.
#
#   Rscript tests/reference/make_propensity_reference.R tests/reference
suppressPackageStartupMessages({ library(nnet); library(survival); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
set.seed(20261203)
n <- 600
age <- round(rnorm(n, 35, 11))
severe <- rbinom(n, 1, 0.4)
era <- factor(sample(c("historical", "modern"), n, TRUE, prob = c(0.3, 0.7)),
              levels = c("historical", "modern"))
arms <- c("MP+CYC+PLEX", "MP+CYC", "Steroids")
lp2 <- 0.2 - 0.02 * (age - 35) + 0.5 * severe - 0.6 * (era == "modern")
lp3 <- -0.3 + 0.01 * (age - 35) - 0.8 * severe - 1.0 * (era == "modern")
den <- 1 + exp(lp2) + exp(lp3)
u <- runif(n)
k <- ifelse(u < 1 / den, 1, ifelse(u < (1 + exp(lp2)) / den, 2, 3))
arm <- factor(arms[k], levels = arms)
rate <- 0.004 * exp(0.03 * (age - 35) + 1.0 * severe - 0.5 * (era == "modern") +
                    c(0, 0.3, 0.9)[k])
death <- ceiling(rexp(n, rate))
censor <- ceiling(runif(n, 5, 400))
time <- pmin(death, censor)
event <- as.integer(death <= censor)
in_hospital <- rbinom(n, 1, plogis(-2 + 0.8 * severe + c(0, 0.3, 0.8)[k]))
d <- data.frame(arm = arm, age = age, severe = severe, era = era, time = time, event = event,
                in_hospital = in_hospital)

fit <- multinom(arm ~ age + severe + era, data = d, trace = FALSE, reltol = 1e-14,
                maxit = 10000)
ps <- fitted(fit)
own <- ps[cbind(seq_len(n), k)]
share <- as.numeric(table(arm)) / n
ate <- 1 / own
ate_s <- ate * share[k]
ref <- 2
att <- ifelse(k == ref, 1, ps[, ref] / own)
att_s <- ifelse(k == ref, 1, att * share[k] / share[ref])
ov <- (1 / rowSums(1 / ps)) / own
ov_s <- ov * (as.numeric(table(arm)) / tapply(ov, arm, sum))[k]
q <- quantile(ate_s, c(0.05, 0.95), type = 7)
trunc_q <- pmin(pmax(ate_s, q[1]), q[2])
trunc_fixed <- pmin(ate_s, 3)
kish <- function(w) sum(w)^2 / sum(w^2)
ess <- sapply(1:3, function(a) kish(ate_s[k == a]))

terms <- list(age = d$age, severe = d$severe, eramodern = as.numeric(d$era == "modern"))
smd <- function(v, w, i, j, binary) {
  a <- k == i; b <- k == j
  s2 <- if (binary) c(mean(v[a]) * (1 - mean(v[a])), mean(v[b]) * (1 - mean(v[b])))
        else c(var(v[a]), var(v[b]))
  (weighted.mean(v[a], w[a]) - weighted.mean(v[b], w[b])) / sqrt(mean(s2))
}
pairs <- list()
for (nm in names(terms)) for (ij in list(c(1, 2), c(1, 3), c(2, 3))) {
  v <- terms[[nm]]; binary <- nm != "age"
  pairs[[length(pairs) + 1]] <- list(
    term = nm, arm = arms[ij[1]], comparator = arms[ij[2]],
    smd_unweighted = smd(v, rep(1, n), ij[1], ij[2], binary),
    smd_weighted = smd(v, ate_s, ij[1], ij[2], binary))
}

horizon <- 30
gminus <- numeric(n)
for (a in 1:3) {
  m <- k == a
  # censorings moved a tenth of a day later: deaths at a time precede its censorings
  rkm <- survfit(Surv(time[m] + 0.1 * (1 - event[m]), 1 - event[m]) ~ 1)
  g <- stepfun(rkm$time, c(1, rkm$surv))
  gminus[m] <- g(pmin(time[m], horizon) - 0.5)   # days are whole: G just before the time
}
y30 <- as.integer(event == 1 & time <= horizon)
known <- y30 == 1 | time >= horizon
ipcw <- ifelse(known, 1 / gminus, 0)
standardise <- function(y, w) {
  dd <- d; dd$y <- y; dd$w <- w
  om <- suppressWarnings(glm(y ~ arm + age + severe + era, family = binomial, data = dd,
                             weights = w, subset = w > 0,
                             control = glm.control(epsilon = 1e-14, maxit = 100)))
  m <- sapply(arms, function(a) predict(om, newdata = transform(d, arm = factor(a, arms)),
                                       type = "response"))
  gcomp <- colMeans(m)
  ind <- outer(k, 1:3, "==") * 1
  aipw <- gcomp + colSums(ind * w * (y - m) / ps) / n
  observed <- colSums(ind * w * y) / colSums(ind * w)
  list(observed = unname(observed), gcomputation = unname(gcomp), aipw = unname(aipw))
}
km30 <- sapply(1:3, function(a) {
  s <- survfit(Surv(time[k == a], event[k == a]) ~ 1)
  1 - summary(s, times = horizon, extend = TRUE)$surv
})
out <- list(
  r_version = R.version.string,
  packages = list(nnet = as.character(packageVersion("nnet")),
                  survival = as.character(packageVersion("survival"))),
  arms = arms, reference = arms[ref],
  data = transform(d, arm = as.character(arm), era = as.character(era)),
  scores = unname(ps),
  weights = list(ATE = ate, ATE_stabilized = ate_s, ATT = att, ATT_stabilized = att_s,
                 overlap = ov, overlap_stabilized = ov_s, truncated_quantile_0.95 = trunc_q,
                 truncated_at_3 = trunc_fixed),
  effective_n_ate_stabilized = ess,
  smd = pairs,
  horizon = horizon,
  km_risk_30 = km30,
  risks = list("30" = standardise(y30, ipcw),
               in_hospital = standardise(in_hospital, rep(1, n)))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE),
           file.path(outdir, "propensity.json"))
