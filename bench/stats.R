# R's side of bench/run: the same work as bench_stats, timed the way R users run it.
#   Rscript bench/stats.R DATA.csv REPLICATES
suppressPackageStartupMessages(library(boot))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
R <- as.integer(args[2])
set.seed(1)
stat <- function(y, i, arm) { yy <- y[i]; aa <- arm[i]; mean(yy[aa == 1]) - mean(yy[aa == 0]) }
t <- system.time(b <- boot(d$y, stat, R = R, strata = d$arm, arm = d$arm))[["elapsed"]]
ci <- boot.ci(b, type = "perc")$percent[4:5]
cat(sprintf("bootstrap %.6f\n", t))
x1 <- d$y[d$arm == 1]; x0 <- d$y[d$arm == 0]
reps <- 200
t <- system.time(for (k in 1:reps) w <- wilcox.test(x1, x0, exact = FALSE))[["elapsed"]] / reps
cat(sprintf("mannwhitney %.6f\n", t))
suppressPackageStartupMessages(library(survival))
reps <- 20
t <- system.time(for (k in 1:reps) cf <- coxph(Surv(time, dead) ~ arm + age + apache2, d, cluster = site))[["elapsed"]] / reps
cat(sprintf("cox_cluster %.6f\n", t))
hr <- exp(coef(cf))[1]
cat(sprintf("# estimate %.6f CI %.6f %.6f; W %.1f p %.6g; Cox HR %.6f robust se %.6f\n", b$t0, ci[1], ci[2],
            w$statistic, w$p.value, hr, sqrt(diag(cf$var))[1]))
