# Reference for multiple imputation by chained equations: mice on its own nhanes
# data (25 rows; bmi, hyp and chl incomplete), method "norm" and "pmm", many
# imputations, pooled lm(chl ~ bmi + age). The C implementation draws from its own
# random numbers, so the test compares within Monte Carlo error, not digit for digit.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(mice))
write_data(nhanes, "nhanes")
M <- 300
put("m", M)
for (meth in c("norm", "pmm")) {
  imp <- mice(nhanes, m = M, method = meth, maxit = 10, seed = 20161016, printFlag = FALSE)
  fit <- with(imp, lm(chl ~ bmi + age))
  pooled <- pool(fit)$pooled
  for (j in seq_len(nrow(pooled))) {
    term <- as.character(pooled$term[j])
    put(sprintf("%s.%s", meth, term), c(pooled$estimate[j], pooled$ubar[j], pooled$b[j], pooled$t[j], pooled$df[j]))
  }
  # the imputed values themselves: their mean and SD over all imputations, per column
  for (v in c("bmi", "hyp", "chl")) {
    miss <- is.na(nhanes[[v]])
    vals <- unlist(lapply(seq_len(M), function(k) complete(imp, k)[[v]][miss]))
    put(sprintf("%s.%s.imputed", meth, v), c(mean(vals), sd(vals)))
  }
}
write_refs("impute")
