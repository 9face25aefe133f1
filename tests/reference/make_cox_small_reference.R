# Reference for issue 16's Cox items, on R's veteran data (tests/reference/veteran.csv):
#  - coxph's default SE with case weights (survival 3.5: robust when a weight is not a whole
#    number, model-based when all are whole), with the model-based SE beside it;
#  - cox.zph per column (terms = FALSE) and per term (the default) with a factor covariate:
#    tests, death times, transformed times and scaled Schoenfeld residuals (z$y);
#  - a factor with a declared level no row takes: coxph reports its coefficient NA and fits
#    the rest as without it.
# The weights are a formula of the row number (w = 0.5 + 0.25 * (row %% 5), row from 1) so
# that the test can rebuild them.
#
#   Rscript tests/reference/make_cox_small_reference.R tests/reference
suppressPackageStartupMessages({ library(survival); library(jsonlite) })
outdir <- commandArgs(trailingOnly = TRUE)[1]
vet <- read.csv(file.path(outdir, "veteran.csv"))
vet$w_frac <- 0.5 + 0.25 * (seq_len(nrow(vet)) %% 5)
vet$w_whole <- 1 + (seq_len(nrow(vet)) %% 3)

fit_block <- function(fit) {
  list(terms = names(coef(fit)), coef = unname(coef(fit)),
       se = unname(sqrt(diag(vcov(fit)))),
       naive_se = unname(sqrt(diag(if (is.null(fit$naive.var)) fit$var else fit$naive.var))),
       robust = !is.null(fit$naive.var), loglik = fit$loglik)
}
weighted <- list()
for (ties in c("efron", "breslow")) {
  f1 <- coxph(Surv(time, event) ~ karno + trt + celltype, data = vet, weights = w_frac,
              ties = ties)
  f2 <- coxph(Surv(time, event) ~ karno + trt + celltype, data = vet, weights = w_whole,
              ties = ties)
  weighted[[ties]] <- list(fractional = fit_block(f1), whole = fit_block(f2))
}

zph_block <- function(z) {
  tab <- z$table
  list(rows = rownames(tab), chisq = unname(tab[, "chisq"]), df = unname(tab[, "df"]),
       p = unname(tab[, "p"]), time = unname(z$time), x = unname(z$x), y = unname(z$y))
}
fit <- coxph(Surv(time, event) ~ trt + karno + celltype, data = vet)
zph <- list()
for (tr in c("km", "identity", "rank")) {
  zph[[tr]] <- list(terms_true = zph_block(cox.zph(fit, transform = tr)),
                    terms_false = zph_block(cox.zph(fit, transform = tr, terms = FALSE)))
}

unused <- vet
unused$celltype <- factor(unused$celltype, levels = c(sort(unique(vet$celltype)), "other"))
fu <- coxph(Surv(time, event) ~ karno + celltype, data = unused)
fk <- coxph(Surv(time, event) ~ karno + celltype, data = vet)

info <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
             weighted = weighted, zph = zph,
             unused_level = list(with_unused = fit_block(fu), without = fit_block(fk)))
writeLines(toJSON(info, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(outdir, "cox_small.json"))
