# Reference for the missing-data descriptions (dah_outcomes.stats.missing_data).
#
# A simulated DAH-like series (300 patients) with values missing in five columns by
# different mechanisms: a severity flag completely at random, a haemoglobin drop more often
# missing in non-severe patients, the cyclophosphamide flag more often missing among those
# who died (missing not at random), the ventilation days missing in blocks with the
# haemoglobin drop (joint patterns), and one column missing in a single row. Written as CSV
# (empty cells missing) with, from mice::md.pattern, the pattern matrix (row names: the
# counts; last column: the number missing in the pattern; last row: missing per column and
# their total); and for each column with missing values and each outcome (died,
# ventilated), the 2 x 2 table of outcome by missingness, fisher.test's two-sided p and the
# risk ratio (missing over observed). A second small frame (8 rows, ties in the missing
# counts) checks md.pattern's column order for ties.
#
#   Rscript tests/reference/make_missing_data_reference.R tests/reference
suppressPackageStartupMessages({ library(mice); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]

set.seed(20261202)
n <- 300
age <- round(rnorm(n, 40, 12), 1)
severe <- rbinom(n, 1, 0.4)
hb <- round(pmax(0.2, rnorm(n, 2.5 + severe, 1)), 2)
cyc <- rbinom(n, 1, plogis(-0.3 + 0.8 * severe))
died <- rbinom(n, 1, plogis(-1.5 + 1.2 * severe - 0.4 * cyc))
ventilated <- rbinom(n, 1, plogis(-1 + 1.5 * severe))
vent_days <- ifelse(ventilated == 1, rpois(n, 6) + 1, 0)
site <- sample(c("A", "B", "C"), n, replace = TRUE)
d <- data.frame(age, severe, hb, cyc, vent_days, site, died, ventilated)
d$severe[runif(n) < 0.05] <- NA
hb_gone <- runif(n) < ifelse(severe == 1, 0.08, 0.30)
d$hb[hb_gone] <- NA
d$vent_days[hb_gone & runif(n) < 0.5] <- NA
d$cyc[runif(n) < ifelse(died == 1, 0.40, 0.08)] <- NA
d$age[7] <- NA
d$ventilated[c(11, 12)] <- NA

mat <- function(x) {
  p <- md.pattern(x, plot = FALSE)
  list(columns = colnames(p)[-ncol(p)], counts = as.integer(head(rownames(p), -1)),
       matrix = unname(p[-nrow(p), , drop = FALSE]), totals = unname(p[nrow(p), ]))
}
covariates <- c("age", "severe", "hb", "cyc", "vent_days", "site")
by_outcome <- list()
for (col in covariates) {
  miss <- is.na(d[[col]])
  if (!any(miss)) next
  for (out in c("died", "ventilated")) {
    y <- d[[out]]
    keep <- !is.na(y)
    m <- miss[keep]; yy <- y[keep]
    tab <- matrix(c(sum(yy[m] == 1), sum(yy[m] == 0), sum(yy[!m] == 1), sum(yy[!m] == 0)),
                  2, byrow = TRUE)
    by_outcome[[length(by_outcome) + 1]] <- list(
      column = col, outcome = out,
      events_missing = tab[1, 1], n_missing = sum(tab[1, ]),
      events_observed = tab[2, 1], n_observed = sum(tab[2, ]),
      risk_ratio = (tab[1, 1] / sum(tab[1, ])) / (tab[2, 1] / sum(tab[2, ])),
      p_value = fisher.test(tab)$p.value)
  }
}
ties <- data.frame(x = c(1, NA, 3, NA, 5, 6, 7, 8), y = c(NA, 2, 3, NA, 5, 6, 7, 8),
                   z = c(1, 2, NA, 4, 5, 6, 7, 8), w = 1:8)
write.csv(d, file.path(outdir, "missing_data.csv"), row.names = FALSE, na = "")
out <- list(
  r_version = R.version.string, mice = as.character(packageVersion("mice")),
  patterns = mat(d[, c(covariates, "died", "ventilated")]),
  ties = list(data = ties, patterns = mat(ties)),
  by_outcome = by_outcome)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, matrix = "rowmajor",
                  na = "null"),
           file.path(outdir, "missing_data.json"))
