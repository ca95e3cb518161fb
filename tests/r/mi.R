# Reference for Rubin's rules: mice's own example (nhanes, shipped with mice):
# five imputations, lm(chl ~ bmi + age); the per-imputation estimates and variances
# and mice::pool's pooled results; and pool.scalar with infinite dfcom.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(mice))
imp <- mice(nhanes, m = 5, seed = 20161016, printFlag = FALSE)
fit <- with(imp, lm(chl ~ bmi + age))
pooled <- pool(fit)
s <- summary(pooled, conf.int = TRUE)
put("nhanes.dfcom", pooled$pooled$dfcom[1])
for (j in seq_len(nrow(pooled$pooled))) {
  term <- as.character(pooled$pooled$term[j])
  q <- sapply(fit$analyses, function(f) coef(f)[term])
  u <- sapply(fit$analyses, function(f) vcov(f)[term, term])
  put(sprintf("nhanes.%s.q", term), q)
  put(sprintf("nhanes.%s.u", term), u)
  put(sprintf("nhanes.%s.pooled", term),
      c(pooled$pooled$estimate[j], pooled$pooled$b[j], pooled$pooled$t[j], pooled$pooled$df[j],
        pooled$pooled$riv[j], pooled$pooled$fmi[j], s$std.error[j], s$p.value[j], s[j, "2.5 %"], s[j, "97.5 %"]))
}
q <- c(0.61, 0.55, 0.70, 0.58, 0.66, 0.63, 0.52, 0.69, 0.60, 0.64)
u <- c(0.121, 0.118, 0.125, 0.119, 0.122, 0.120, 0.117, 0.124, 0.121, 0.123)
ps <- pool.scalar(q, u, n = Inf)
put("scalar.pooled", c(ps$qbar, ps$ubar, ps$b, ps$t, ps$df, ps$r, ps$fmi))
write_refs("mi")
