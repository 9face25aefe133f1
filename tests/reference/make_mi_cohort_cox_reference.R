# Reference for Rubin's rules over Cox models of completed DAH cohorts (issue 17): the frames
# hazard_ratios(cohort, by = "era", missing = "mi") fits, one per imputation, written by
#   .venv/bin/python tests/reference/write_mi_cohort_frames.py tests/reference
# (mi_cohort_frames.csv: imp, time, event, era, severe, infection, mechanical_ventilation).
# Per imputation coxph(Surv(time, event) ~ era + severe + infection + mechanical_ventilation)
# (Efron ties, historical era the reference), pooled by mice::pool (Barnard-Rubin df with
# dfcom = events - coefficients of the first fit, as mice takes it for coxph).
#
#   Rscript tests/reference/make_mi_cohort_cox_reference.R tests/reference
suppressPackageStartupMessages({
  library(mice); library(survival); library(jsonlite)
})
outdir <- commandArgs(trailingOnly = TRUE)[1]
long <- read.csv(file.path(outdir, "mi_cohort_frames.csv"))
long$era <- factor(long$era, levels = c("historical", "modern"))
fits <- lapply(sort(unique(long$imp)), function(i) {
  coxph(Surv(time, event) ~ era + severe + infection + mechanical_ventilation,
        data = long[long$imp == i, ], ties = "efron")
})
p <- pool(as.mira(fits))$pooled
out <- list(
  versions = list(R = R.version.string, mice = as.character(packageVersion("mice")),
                  survival = as.character(packageVersion("survival"))),
  terms = as.character(p$term),
  estimates = lapply(fits, function(f) unname(coef(f))),
  pooled = list(estimate = p$estimate, ubar = p$ubar, b = p$b, t = p$t, dfcom = p$dfcom,
                df = p$df, riv = p$riv, lambda = p$lambda, fmi = p$fmi)
)
write_json(out, file.path(outdir, "mi_cohort_cox.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
