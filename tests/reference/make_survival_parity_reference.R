# Reference for the R features issue 16 found missing, on data made here (seeded, written to
# CSV beside the JSON) and on survival's aml:
#   - survfit(Surv(start, stop, status) ~ g, id = id): the robust (grouped infinitesimal
#     jackknife) SE survfit uses by default when an id has several events, or with
#     non-integer case weights; Greenwood with robust = FALSE and when no id repeats an event;
#   - survfit(Surv(entry, time, factor(status)) ~ g, id = id): Aalen-Johansen estimates and
#     their (infinitesimal jackknife) SEs under delayed entry, and without entry;
#   - cmprsk::cuminc(..., strata =): Gray's test summed over strata, rho 0 and 1;
#   - cmprsk::crr(..., cengroup =): censoring estimated within groups.
#
#   Rscript tests/reference/make_survival_parity_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(cmprsk); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]

# ---- recurrent-event (counting-process) data, several rows and events per subject --------
set.seed(16)
rows <- list()
for (i in 1:30) {
  g <- if (i <= 15) "a" else "b"
  rate <- if (g == "a") 1 / 60 else 1 / 100
  t <- 0; fu <- round(runif(1, 60, 300)); w <- round(runif(1, 0.5, 2), 3)
  repeat {
    stop <- t + max(1, round(rexp(1, rate)))
    if (stop >= fu) { rows[[length(rows) + 1]] <- c(i, g, t, fu, 0, w); break }
    rows[[length(rows) + 1]] <- c(i, g, t, stop, 1, w)
    t <- stop + if (runif(1) < 0.2) round(runif(1, 1, 10)) else 0  # off risk for a while
    if (t >= fu) break
  }
}
rec <- as.data.frame(do.call(rbind, rows), stringsAsFactors = FALSE)
names(rec) <- c("id", "g", "start", "stop", "status", "w")
for (v in c("id", "start", "stop", "status", "w")) rec[[v]] <- as.numeric(rec[[v]])
# split at days 50 and 150 (a covariate change): rows that end without an event while the
# subject goes on, which survfit does not count as censored
rec <- survSplit(Surv(start, stop, status) ~ ., data = rec, cut = c(50, 150))
rec <- rec[order(rec$id, rec$start), c("id", "g", "start", "stop", "status", "w")]
write.csv(rec, file.path(outdir, "recurrent_rows.csv"), row.names = FALSE)

km_block <- function(fit, label, robust) {
  strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub(".*=", "", names(fit$strata)), fit$strata)
  list(label = label, robust = robust, logse = fit$logse, conf_type = fit$conf.type,
       group = strata, time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event,
       n_censor = fit$n.censor, surv = fit$surv, std_err = fit$std.err,
       lower = fit$lower, upper = fit$upper)
}
km <- list(
  km_block(survfit(Surv(start, stop, status) ~ g, data = rec, id = id), "id", "default"),
  km_block(survfit(Surv(start, stop, status) ~ g, data = rec, id = id, conf.type = "log-log"),
           "id log-log", "default"),
  km_block(survfit(Surv(start, stop, status) ~ g, data = rec, id = id, conf.type = "plain"),
           "id plain", "default"),
  km_block(survfit(Surv(start, stop, status) ~ 1, data = rec, id = id), "id overall", "default"),
  km_block(survfit(Surv(start, stop, status) ~ g, data = rec, id = id, robust = FALSE),
           "id greenwood", "false"),
  km_block(survfit(Surv(start, stop, status) ~ g, data = rec, id = id, weights = w),
           "id weighted", "default"),
  # survfitKM passes the whole data's survflag() positions to each group's C call without
  # subsetting them, so n.censor of every group after the first is read off the wrong rows;
  # the group fitted alone has it right
  km_block(survfit(Surv(start, stop, status) ~ 1, data = rec[rec$g == "b", ], id = id),
           "id group b alone", "default")
)

# print.survfit's restricted mean and its SE (which survival 3.5 computes the same way with
# and without the robust variance)
rmean <- summary(survfit(Surv(start, stop, status) ~ g, data = rec, id = id), rmean = 100)$table
rmean <- list(horizon = 100, group = sub(".*=", "", rownames(rmean)),
              rmean = unname(rmean[, "rmean"]), se = unname(rmean[, "se(rmean)"]))

# ---- one event per subject, follow-up split into rows: no id repeats an event -------------
aml2 <- aml; aml2$id <- seq_len(nrow(aml2)); aml2$x <- as.character(aml2$x)
aml_split <- survSplit(Surv(time, status) ~ ., data = aml2, cut = c(10, 30), start = "start",
                       end = "time")
write.csv(aml_split[, c("id", "x", "start", "time", "status")],
          file.path(outdir, "aml_split.csv"), row.names = FALSE)
km <- c(km, list(
  km_block(survfit(Surv(start, time, status) ~ x, data = aml_split, id = id), "split default",
           "default"),
  km_block(survfit(Surv(start, time, status) ~ x, data = aml_split, id = id, robust = TRUE),
           "split robust", "true"),
  km_block(survfit(Surv(time, status) ~ x, data = aml2, robust = TRUE), "aml robust", "true")
))
# non-integer case weights without an id: robust by default, each row its own cluster
aml2$w <- round(seq(0.5, 2, length.out = nrow(aml2)), 2)
aml2$pair <- (seq_len(nrow(aml2)) + 1) %/% 2
write.csv(aml2[, c("id", "x", "time", "status", "w", "pair")],
          file.path(outdir, "aml_weighted.csv"), row.names = FALSE)
# pairs of aml rows as clusters, no entry: ids with two events make survfit robust
aml2$pair <- (seq_len(nrow(aml2)) + 1) %/% 2
km <- c(km, list(km_block(survfit(Surv(time, status) ~ x, data = aml2, weights = w),
                          "aml weighted", "default"),
                 km_block(survfit(Surv(time, status) ~ x, data = aml2, id = pair),
                          "aml pairs", "default")))

# ---- competing risks with delayed entry ------------------------------------------------
set.seed(1616)
n <- 120
cr <- data.frame(id = 1:n, g = sample(c("a", "b"), n, replace = TRUE),
                 stratum = sample(c("s1", "s2"), n, replace = TRUE),
                 arm = sample(c("x", "y", "z"), n, replace = TRUE))
t1 <- rexp(n, ifelse(cr$g == "a", 1 / 20, 1 / 35)); t2 <- rexp(n, 1 / 40)
cens <- runif(n, 10, 90)
cr$time <- pmax(1, round(pmin(t1, t2, cens)))
cr$status <- ifelse(pmin(t1, t2) > cens, 0, ifelse(t1 < t2, 1, 2))
cr$entry <- ifelse(runif(n) < 0.4, pmin(round(runif(n, 0, 15)), cr$time - 1), 0)
cr$entry <- pmax(cr$entry, 0)
cr$w <- round(runif(n, 0.5, 2), 3)
write.csv(cr, file.path(outdir, "competing_entry.csv"), row.names = FALSE)
# follow-up split at days 10 and 25: several rows per subject, the event on the last
cr$any <- as.integer(cr$status > 0)  # survSplit's Surv() takes a 0/1 status only
cr_split <- survSplit(Surv(entry, time, any) ~ ., data = cr, cut = c(10, 25))
cr_split$status <- ifelse(cr_split$any == 1, cr_split$status, 0)
cr_split <- cr_split[order(cr_split$id, cr_split$entry), ]
cr$any <- NULL
write.csv(cr_split[, c("id", "g", "entry", "time", "status")],
          file.path(outdir, "competing_split.csv"), row.names = FALSE)

ms_block <- function(fit, label) {
  strata <- if (is.null(fit$strata)) rep("all", length(fit$time)) else
    rep(sub(".*=", "", names(fit$strata)), fit$strata)
  list(label = label, states = fit$states, group = strata, time = fit$time,
       n_risk = fit$n.risk[, 1], pstate = fit$pstate, std_err = fit$std.err)
}
ms <- list(
  ms_block(survfit(Surv(entry, time, factor(status)) ~ g, data = cr, id = id), "entry"),
  ms_block(survfit(Surv(entry, time, factor(status)) ~ 1, data = cr, id = id), "entry overall"),
  ms_block(survfit(Surv(time, factor(status)) ~ g, data = cr), "no entry"),
  ms_block(survfit(Surv(entry, time, factor(status)) ~ g, data = cr, id = id, weights = w),
           "entry weighted"),
  ms_block(survfit(Surv(entry, time, factor(status)) ~ g, data = cr_split, id = id),
           "entry split")
)

gray <- list()
for (rho in c(0, 1)) {
  for (grp in c("g", "arm")) {
    ci <- cuminc(cr$time, cr$status, cr[[grp]], strata = cr$stratum, rho = rho)
    gray[[length(gray) + 1]] <- list(group = grp, strata = "stratum", rho = rho,
                                     causes = rownames(ci$Tests), stat = unname(ci$Tests[, "stat"]),
                                     p = unname(ci$Tests[, "pv"]), df = unname(ci$Tests[, "df"]))
  }
}

# ---- Fine-Gray with censoring groups ----------------------------------------------------
set.seed(161616)
n <- 160
fg <- data.frame(x1 = round(rnorm(n), 3), x2 = rbinom(n, 1, 0.4),
                 centre = sample(c("early", "late", "mid"), n, replace = TRUE))
t1 <- rexp(n, exp(0.5 * fg$x1 - 0.4 * fg$x2) / 8); t2 <- rexp(n, 1 / 12)
# each centre censors on its own pattern; the early one stops following before the others
horizon <- c(early = 6, mid = 15, late = 30)[fg$centre]
cens <- pmin(runif(n, 0, 2 * horizon), horizon)
fg$time <- round(pmin(t1, t2, cens), 2) + 0.01
fg$status <- ifelse(pmin(t1, t2) > cens, 0, ifelse(t1 < t2, 1, 2))
write.csv(fg, file.path(outdir, "fine_gray_cengroup.csv"), row.names = FALSE)
X <- as.matrix(fg[, c("x1", "x2")])
crr_block <- function(fit, label) list(label = label, coef = unname(fit$coef),
                                       se = unname(sqrt(diag(fit$var))),
                                       loglik = fit$loglik, converged = fit$converged)
fgr <- list(
  crr_block(crr(fg$time, fg$status, X, cengroup = fg$centre, gtol = 1e-9, maxiter = 50),
            "cengroup"),
  crr_block(crr(fg$time, fg$status, X, gtol = 1e-9, maxiter = 50), "no cengroup"),
  crr_block(crr(fg$time, fg$status, X, cengroup = fg$x2, failcode = 2, gtol = 1e-9,
                maxiter = 50), "cengroup x2 cause 2")
)

info <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
             cmprsk = as.character(packageVersion("cmprsk")),
             kaplan_meier = km, rmean = rmean, multi_state = ms, gray_test = gray, fine_gray = fgr)
write_json(info, file.path(outdir, "survival_parity.json"), digits = NA, auto_unbox = TRUE,
           na = "null", matrix = "rowmajor")
