# R's side of bench/demo: the LeoPARDS plan's analyses on the same analysis data set
# (analysis.csv), done the way an R user would: boot() with strata for every mean and
# median row, an lm() bootstrap for the ICU-adjusted row, Rubin's rules over the
# imputations, chi-square and prop.test rows, Cox with cluster(site), Kaplan-Meier,
# and the permutation tests of the subgroups.
#   Rscript bench/analysis.R analysis.csv R PERMUTATIONS
suppressPackageStartupMessages({ library(boot); library(survival) })
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
R <- as.integer(args[2]); B <- as.integer(args[3])
set.seed(1)
d$armf <- factor(d$arm, levels = c("placebo", "levosimendan"))
t0 <- proc.time()[["elapsed"]]
bootrow <- function(y, f, pop = rep(TRUE, nrow(d))) {
  ok <- pop & !is.na(y)
  yy <- y[ok]; g <- d$arm[ok]
  st <- function(v, i) { v <- v[i]; gg <- g[i]; f(v[gg == "levosimendan"]) - f(v[gg == "placebo"]) }
  b <- boot(yy, st, R = R, strata = factor(g))
  ci <- boot.ci(b, type = "perc")$percent[4:5]
  w <- wilcox.test(yy[g == "levosimendan"], yy[g == "placebo"], exact = FALSE)$p.value
  c(b$t0, ci, w)
}
res <- list()
for (v in c("sofa_mean", "sofa_resp", "sofa_coag", "sofa_liver", "sofa_cv", "sofa_renal", "sofa_no_cv"))
  res[[v]] <- bootrow(d[[v]], mean)
alive <- d$alive28 == 1 & !is.na(d$alive28); dead <- d$death28 == 1 & !is.na(d$death28)
for (v in c("catecholamine_free_days", "ventilation_free_days", "icu_los", "hospital_los"))
  res[[v]] <- bootrow(d[[v]], median)
res$rrt_days <- bootrow(d$rrt_days, median, d$new_rrt == 1 & !is.na(d$new_rrt))
for (v in c("icu_los", "hospital_los")) {
  res[[paste0(v, "_surv")]] <- bootrow(d[[v]], median, alive)
  res[[paste0(v, "_dead")]] <- bootrow(d[[v]], median, dead)
}
# Adjusted: lm on arm, ICU, age and APACHE II, bootstrap within arms.
cc <- d[complete.cases(d[, c("sofa_mean", "age", "apache2", "site")]), ]
b <- boot(cc, function(x, i) coef(lm(sofa_mean ~ armf + factor(site) + age + apache2, x[i, ]))[2], R = R, strata = cc$armf)
res$adjusted <- c(b$t0, boot.ci(b, type = "perc")$percent[4:5])
# Multiple imputation: Rubin's rules over the sofa_mi_ columns.
mi <- grep("^sofa_mi_", names(d), value = TRUE)
q <- sapply(mi, function(v) mean(d[[v]][d$arm == "levosimendan"]) - mean(d[[v]][d$arm == "placebo"]))
u <- sapply(mi, function(v) var(d[[v]][d$arm == "levosimendan"]) / sum(d$arm == "levosimendan") +
                           var(d[[v]][d$arm == "placebo"]) / sum(d$arm == "placebo"))
res$mi <- c(mean(q), mean(u) + (1 + 1 / length(q)) * var(q))
for (v in c("death28", "death_icu", "death_hospital", "major_kidney_event", "new_rrt", "sustained_renal_failure")) {
  e <- tapply(d[[v]], d$arm, sum, na.rm = TRUE); n <- tapply(!is.na(d[[v]]), d$arm, sum)
  res[[v]] <- c(chisq.test(matrix(c(e, n - e), 2))$p.value)
}
for (v in grep("^ae_", names(d), value = TRUE)) {
  e <- tapply(d[[v]] == 1, d$arm, sum, na.rm = TRUE); n <- table(d$arm)
  res[[v]] <- suppressWarnings(c(prop.test(e, n)$conf.int, chisq.test(matrix(c(e, n - e), 2))$p.value))
}
d$levo <- as.integer(d$arm == "levosimendan")
res$cox_death <- coef(coxph(Surv(time28, dead28) ~ levo + age + apache2, d, cluster = site))[1]
res$km_death <- summary(survfit(Surv(time28, dead28) ~ arm, d))$table[, "median"]
v <- d[d$ventilated == 1 & !is.na(d$ventilated), ]
res$cox_wean <- coef(coxph(Surv(wean_time, weaned) ~ levo + age + apache2, v, cluster = site))[1]
# Subgroups: Cochran's Q, permuting both arm and subgroup.
qstat <- function(y, a, s) {
  dd <- vv <- c()
  for (l in unique(s)) {
    x1 <- y[s == l & a == 1]; x2 <- y[s == l & a == 0]
    if (length(x1) < 2 || length(x2) < 2) return(NA)
    dd <- c(dd, mean(x1) - mean(x2)); vv <- c(vv, var(x1) / length(x1) + var(x2) / length(x2))
  }
  w <- 1 / vv; sum(w * (dd - sum(w * dd) / sum(w))^2)
}
for (sg in grep("^sg_", names(d), value = TRUE)) for (y in c("sofa_mean", "death28")) {
  ok <- !is.na(d[[sg]]) & d[[sg]] != "" & !is.na(d[[y]])
  yy <- d[[y]][ok]; a <- d$levo[ok]; s <- d[[sg]][ok]
  q0 <- qstat(yy, a, s)
  qs <- replicate(B, qstat(yy, sample(a), sample(s)))
  res[[paste(sg, y)]] <- (1 + sum(qs >= q0, na.rm = TRUE)) / (1 + sum(!is.na(qs)))
}
t1 <- proc.time()[["elapsed"]]
cat(sprintf("analysis %.3f\n", t1 - t0))
cat(sprintf("# primary %.4f (%.4f to %.4f) P %.4f\n", res$sofa_mean[1], res$sofa_mean[2], res$sofa_mean[3], res$sofa_mean[4]))
