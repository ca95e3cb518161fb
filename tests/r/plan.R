# A small synthetic trial data set (one row per patient) and R's results for the
# analysis kinds a plan runs: mean and median rows (Mann-Whitney), binary and count
# rows (Wald, prop.test, chi-square with Yates), the ICU-adjusted regression,
# Rubin's rules over imputations, and the subgroup effects and Q.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
set.seed(20161017)
n <- 300
site <- sprintf("icu%02d", sample(1:12, n, replace = TRUE))
arm <- sample(rep(c("levosimendan", "placebo"), n / 2))
age <- round(rnorm(n, 66, 12))
apache2 <- round(pmax(5, rnorm(n, 25, 7)))
sofa <- round(pmax(0, rgamma(n, 2.5, 0.4) + 0.5 * (arm == "levosimendan") + 0.05 * (apache2 - 25)), 3)
sofa[c(5, 17)] <- NA
death28 <- rbinom(n, 1, plogis(-0.8 + 0.04 * (apache2 - 25)))
death28[9] <- NA
ae_svt <- rbinom(n, 1, ifelse(arm == "levosimendan", 0.04, 0.01))
ae_svt[ae_svt == 0] <- NA # safety counts: no event recorded means none
los <- round(rexp(n, 1 / 9), 1)
alive <- ifelse(is.na(death28), NA, 1 - death28)
lactate <- ifelse(runif(n) < 0.5, "<=2", ">2")
lactate[3] <- NA
d <- data.frame(patient = sprintf("P%03d", 1:n), site, arm, age, apache2, sofa_mean = sofa, death28,
                alive28 = alive, ae_svt, icu_los = los, sg_lactate = lactate)
for (m in 1:5) {
  v <- sofa
  v[is.na(v)] <- round(rnorm(sum(is.na(v)), 6, 2), 3)
  d[[paste0("sofa_mi_", m)]] <- v
}
# Time to death by day 28 (drawn last, so the columns above keep their values).
haz <- exp(-3.3 + 0.04 * (apache2 - 25) + 0.2 * (arm == "levosimendan"))
t28 <- rexp(n, haz)
d$dead28 <- as.integer(t28 <= 28)
d$time28 <- round(pmin(t28, 28), 2)
write_data(d, "trialdata")
d <- read_data("trialdata")
lev <- d$arm == "levosimendan"
pla <- d$arm == "placebo"
put("mean.means", c(mean(d$sofa_mean[lev], na.rm = TRUE), mean(d$sofa_mean[pla], na.rm = TRUE)))
put("mean.sds", c(sd(d$sofa_mean[lev], na.rm = TRUE), sd(d$sofa_mean[pla], na.rm = TRUE)))
put("mean.p", wilcox.test(d$sofa_mean[lev], d$sofa_mean[pla], exact = FALSE)$p.value)
s <- d$alive28 == 1 & !is.na(d$alive28)
put("median.surv.q", c(quantile(d$icu_los[lev & s], c(0.5, 0.25, 0.75)), quantile(d$icu_los[pla & s], c(0.5, 0.25, 0.75))))
put("median.surv.p", wilcox.test(d$icu_los[lev & s], d$icu_los[pla & s], exact = FALSE)$p.value)
e <- c(sum(d$death28[lev], na.rm = TRUE), sum(d$death28[pla], na.rm = TRUE))
nn <- c(sum(!is.na(d$death28[lev])), sum(!is.na(d$death28[pla])))
put("binary.counts", c(e, nn))
p <- e / nn
put("binary.wald", (p[1] - p[2]) + c(-1, 1) * qnorm(0.975) * sqrt(sum(p * (1 - p) / nn)))
put("binary.p", chisq.test(matrix(c(e, nn - e), 2))$p.value)
e <- c(sum(d$ae_svt[lev] == 1, na.rm = TRUE), sum(d$ae_svt[pla] == 1, na.rm = TRUE))
nn <- c(sum(lev), sum(pla))
put("count.counts", c(e, nn))
put("count.ci", suppressWarnings(prop.test(e, nn)$conf.int[1:2]))
put("count.p", suppressWarnings(chisq.test(matrix(c(e, nn - e), 2))$p.value))
d$armf <- factor(d$arm, levels = c("placebo", "levosimendan"))
fit <- lm(sofa_mean ~ armf + site + age + apache2, d)
put("adjusted.coef", summary(fit)$coefficients["armflevosimendan", c(1, 4)])
qs <- us <- c()
for (m in 1:5) {
  v <- d[[paste0("sofa_mi_", m)]]
  qs <- c(qs, mean(v[lev]) - mean(v[pla]))
  us <- c(us, var(v[lev]) / sum(lev) + var(v[pla]) / sum(pla))
}
suppressPackageStartupMessages(library(mice))
ps <- pool.scalar(qs, us, n = n, k = 2)
put("imputed.pooled", c(ps$qbar, ps$t, ps$df))
ok <- !is.na(d$sofa_mean) & !is.na(d$sg_lactate)
for (g in c("<=2", ">2")) {
  a <- d$sofa_mean[ok & d$sg_lactate == g & lev]
  b <- d$sofa_mean[ok & d$sg_lactate == g & pla]
  put(paste0("subgroup.", g), c(mean(a) - mean(b), sqrt(var(a) / length(a) + var(b) / length(b))))
}
d$levo <- as.integer(d$arm == "levosimendan")
cf <- summary(coxph(Surv(time28, dead28) ~ levo + age + apache2, d, cluster = site))
put("cox.hr", cf$conf.int["levo", c(1, 3, 4)])
put("cox.p", cf$coefficients["levo", "Pr(>|z|)"])
write_refs("plan")
