# References for the edge cases of the statistics commands: a sample size below 2,
# an aliased or constant Cox covariate, a Cox coefficient that runs off to infinity
# (pbc, time to transplant by stage), a permutation test on small cells (npk), two
# named levels of a three-level group (PlantGrowth), a comparison where every value
# is tied, and values near the largest double. Writes the data sets it uses.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))

# ---- power below n = 2: power.t.test solves below its starting interval (1.54)
put("power.t.n_20_1_0.9", power.t.test(delta = 20, sd = 1, power = 0.9, tol = 1e-10)$n)
put("power.t.power_2_20_1", power.t.test(n = 2, delta = 20, sd = 1)$power)
put("power.prop.n_0.1_0.9_0.8", power.prop.test(p1 = 0.1, p2 = 0.9, power = 0.8, tol = 1e-10)$n)
put("power.prop.power_5_0.1_0.9", power.prop.test(n = 5, p1 = 0.1, p2 = 0.9)$power)

# ---- Cox: pbc with the stage recorded; tx = transplant (status 1), dead = status 2
pbc <- survival::pbc[!is.na(survival::pbc$stage), c("id", "time", "status", "age", "stage", "bili")]
pbc$tx <- as.integer(pbc$status == 1)
pbc$dead <- as.integer(pbc$status == 2)
pbc$age <- round(pbc$age, 4)   # four decimals: 2 * age is then exact in the file
pbc$age2 <- 2 * pbc$age          # aliased with age
pbc$one <- 1                     # constant
write_data(pbc, "pbc")
pbc <- read_data("pbc")
# Which coefficients coxph warns "may be infinite" about (1) or not (0), with the
# estimates it reports. R's rule: |V u| > sqrt(eps) and > sqrt(eps) |coef| at the
# end, u the score and V the inverse information.
inf_flags <- function(key, fit, expr_warn) {
  put(paste0(key, ".coef"), coef(fit))
  put(paste0(key, ".loglik"), fit$loglik)
  nv <- length(coef(fit))
  flags <- rep(0, nv)
  m <- regmatches(expr_warn, regexpr("variable +[0-9, ]+", expr_warn))
  if (length(m)) flags[as.integer(strsplit(gsub("variable +", "", m), ",")[[1]])] <- 1
  putv(paste0(key, ".infinite"), flags)
}
fit_warn <- function(expr) {
  msg <- ""
  fit <- withCallingHandlers(expr, warning = function(w) {
    msg <<- conditionMessage(w)
    invokeRestart("muffleWarning")
  })
  list(fit = fit, msg = msg)
}
r <- fit_warn(coxph(Surv(time, tx) ~ factor(stage), pbc))
inf_flags("cox_pbc_tx_stage", r$fit, r$msg)
r <- fit_warn(coxph(Surv(time, tx) ~ age + factor(stage), pbc))
inf_flags("cox_pbc_tx_age_stage", r$fit, r$msg)
r <- fit_warn(coxph(Surv(time, dead) ~ age + factor(stage), pbc))
inf_flags("cox_pbc_dead_age_stage", r$fit, r$msg)
# Aliased and constant covariates: R reports NA for the term (1 = NA).
putv("cox_pbc_alias.na", is.na(coef(coxph(Surv(time, dead) ~ age + bili + age2, pbc))))
putv("cox_pbc_const.na", is.na(coef(coxph(Surv(time, dead) ~ age + one, pbc))))

# ---- permutation test on small cells: npk, yield by N within blocks (2 plots per cell)
write_data(npk, "npk")
npk2 <- read_data("npk")
set.seed(20161016)
qstat <- function(y, arm, sub) {
  d <- v <- c()
  for (s in sort(unique(sub))) {
    a <- y[sub == s & arm == 1]
    b <- y[sub == s & arm == 2]
    if (length(a) < 2 || length(b) < 2) return(NA)
    va <- var(a) / length(a) + var(b) / length(b)
    if (!(va > 0)) return(NA)
    d <- c(d, mean(a) - mean(b))
    v <- c(v, va)
  }
  w <- 1 / v
  sum(w * (d - sum(w * d) / sum(w))^2)
}
arm <- as.integer(factor(npk2$N)); sub <- as.integer(factor(npk2$block))
put("npk.q", qstat(npk2$yield, arm, sub))
B <- 20000
qs <- replicate(B, qstat(npk2$yield, sample(arm), sample(sub)))
put("npk.defined_fraction", mean(!is.na(qs)))

# ---- two named levels of three: what subset() then wilcox.test() give
write_data(PlantGrowth, "plantgrowth")
pg <- read_data("plantgrowth")
s <- droplevels(subset(pg, group %in% c("trt1", "ctrl")))
wt <- wilcox.test(weight ~ group, s, exact = FALSE)
put("plantgrowth_ctrl_trt1.W", wt$statistic)
put("plantgrowth_ctrl_trt1.p", wt$p.value)
put("plantgrowth_ctrl_trt1.diff", mean(s$weight[s$group == "ctrl"]) - mean(s$weight[s$group == "trt1"]))
put("plantgrowth_ctrl_trt1.left_out", sum(!pg$group %in% c("trt1", "ctrl")))

# ---- every value tied: the difference is 0 and the test's P is NaN
tied <- data.frame(y = rep(5, 7), g = c("a", "a", "a", "a", "b", "b", "b"))
write_data(tied, "tied")
wt <- suppressWarnings(wilcox.test(y ~ g, tied, exact = FALSE))
put("tied.W", wt$statistic)
put("tied.p", wt$p.value)
put("tied.diff", mean(tied$y[tied$g == "a"]) - mean(tied$y[tied$g == "b"]))

# ---- values near the largest double: R's mean, sd (Inf) and quartiles
big <- data.frame(x = c(1e308, -1e308, 1e308, 5e307))
write_data(big, "big")
big <- read_data("big")
put("big.mean", mean(big$x))
put("big.sd", sd(big$x))
put("big.q", quantile(big$x, c(0.25, 0.5, 0.75)))
write_refs("edges")
