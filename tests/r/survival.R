# References for survival: survfit (Kaplan-Meier, Greenwood, log interval, medians,
# summary at times), survdiff (log-rank), coxph (Efron and Breslow, factors, strata,
# robust variance with cluster) on survival's lung, rats and ovarian data.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
lung <- read_data("lung")
rats <- read_data("rats")
ovarian <- read_data("ovarian")

km <- function(key, fit, times) {
  s <- summary(fit, censored = TRUE)
  strata <- if (is.null(fit$strata)) rep(1, length(fit$time)) else rep(seq_along(fit$strata), fit$strata)
  ng <- max(strata)
  q <- quantile(fit, 0.5)
  for (g in 1:ng) {
    k <- strata == g
    put(sprintf("%s.g%d.n", key, g), fit$n[g])
    putv(sprintf("%s.g%d.time", key, g), fit$time[k])
    putv(sprintf("%s.g%d.n_risk", key, g), fit$n.risk[k])
    putv(sprintf("%s.g%d.n_event", key, g), fit$n.event[k])
    putv(sprintf("%s.g%d.surv", key, g), fit$surv[k])
    putv(sprintf("%s.g%d.std_err", key, g), fit$surv[k] * fit$std.err[k])
    putv(sprintf("%s.g%d.lower", key, g), fit$lower[k])
    putv(sprintf("%s.g%d.upper", key, g), fit$upper[k])
    put(sprintf("%s.g%d.median", key, g), c(q$quantile[g], q$lower[g], q$upper[g]))
  }
  sa <- summary(fit, times = times, extend = FALSE)
  st <- if (is.null(sa$strata)) rep(1, length(sa$time)) else as.integer(sa$strata)
  for (g in 1:ng) {
    k <- st == g
    putv(sprintf("%s.g%d.at_time", key, g), sa$time[k])
    putv(sprintf("%s.g%d.at_n_risk", key, g), sa$n.risk[k])
    putv(sprintf("%s.g%d.at_surv", key, g), sa$surv[k])
    putv(sprintf("%s.g%d.at_lower", key, g), sa$lower[k])
    putv(sprintf("%s.g%d.at_upper", key, g), sa$upper[k])
  }
}
km("km_lung", survfit(Surv(time, dead) ~ 1, lung), c(100, 365, 500))
km("km_lung_sex", survfit(Surv(time, dead) ~ sex, lung), c(100, 365, 500))
km("km_ovarian_rx", survfit(Surv(futime, fustat) ~ rx, ovarian), c(200, 500, 800))
km("km_lung_90", survfit(Surv(time, dead) ~ 1, lung, conf.int = 0.9), c(365))

lr <- function(key, d) {
  put(paste0(key, ".chisq"), d$chisq)
  put(paste0(key, ".p"), d$pvalue)
  put(paste0(key, ".obs"), d$obs)
  put(paste0(key, ".exp"), d$exp)
}
lr("lr_lung_sex", survdiff(Surv(time, dead) ~ sex, lung))
lr("lr_lung_ecog", survdiff(Surv(time, dead) ~ ph.ecog, lung))
lr("lr_ovarian_rx", survdiff(Surv(futime, fustat) ~ rx, ovarian))

cox <- function(key, fit) {
  s <- summary(fit)
  put(paste0(key, ".loglik"), fit$loglik)
  put(paste0(key, ".n"), c(fit$n, fit$nevent))
  cf <- s$coefficients
  robust <- "robust se" %in% colnames(cf)
  for (nm in rownames(cf)) {
    put(sprintf("%s.%s.coef", key, nm), cf[nm, "coef"])
    put(sprintf("%s.%s.se", key, nm), cf[nm, "se(coef)"])
    if (robust) put(sprintf("%s.%s.robust_se", key, nm), cf[nm, "robust se"])
    put(sprintf("%s.%s.z", key, nm), cf[nm, "z"])
    put(sprintf("%s.%s.p", key, nm), cf[nm, "Pr(>|z|)"])
    put(sprintf("%s.%s.ci", key, nm), s$conf.int[nm, c("lower .95", "upper .95")])
  }
}
lung$ecog <- factor(lung$ph.ecog)
cox("cox_lung", coxph(Surv(time, dead) ~ age + sex, lung))
cox("cox_lung_breslow", coxph(Surv(time, dead) ~ age + sex, lung, ties = "breslow"))
cox("cox_lung_ecog", coxph(Surv(time, dead) ~ age + sex + ecog, lung))
cox("cox_lung_strata", coxph(Surv(time, dead) ~ age + ph.karno + strata(sex), lung))
cox("cox_lung_cluster", coxph(Surv(time, dead) ~ age + sex + ecog, lung, cluster = inst))
cox("cox_rats_cluster", coxph(Surv(time, status) ~ rx, rats, cluster = litter))
cox("cox_rats_breslow_cluster", coxph(Surv(time, status) ~ rx, rats, cluster = litter, ties = "breslow"))
cox("cox_ovarian", coxph(Surv(futime, fustat) ~ age + rx, ovarian))
write_refs("survival")
