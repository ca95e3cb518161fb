# Recompute, from a report folder's analysis.csv, the primary difference and its
# Mann-Whitney P, the 28-day mortality row (Wald interval, chi-square with Yates)
# and the ICU-clustered Cox hazard ratio, and print them as name,value rows.
#   Rscript tests/cli/recompute.R REPORT_DIR
suppressPackageStartupMessages(library(survival))
dir <- commandArgs(trailingOnly = TRUE)[1]
d <- read.csv(file.path(dir, "analysis.csv"))
lev <- d$arm == "levosimendan"
pla <- d$arm == "placebo"
out <- function(name, v) cat(sprintf("%s,%.17g\n", name, v))
x <- d$sofa_mean[lev & !is.na(d$sofa_mean)]
y <- d$sofa_mean[pla & !is.na(d$sofa_mean)]
out("sofa.estimate", mean(x) - mean(y))
out("sofa.p", wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value)
e <- c(sum(d$death28[lev], na.rm = TRUE), sum(d$death28[pla], na.rm = TRUE))
n <- c(sum(!is.na(d$death28[lev])), sum(!is.na(d$death28[pla])))
p <- e / n
out("death.estimate", p[1] - p[2])
ci <- (p[1] - p[2]) + c(-1, 1) * qnorm(0.975) * sqrt(sum(p * (1 - p) / n))
out("death.lower", ci[1])
out("death.upper", ci[2])
out("death.p", chisq.test(matrix(c(e, n - e), 2))$p.value)
d$levo <- as.integer(lev)
cf <- summary(coxph(Surv(time28, dead28) ~ levo + age + apache2, d, cluster = site))
out("cox.hr", cf$conf.int["levo", 1])
out("cox.lower", cf$conf.int["levo", 3])
out("cox.upper", cf$conf.int["levo", 4])
out("cox.p", cf$coefficients["levo", "Pr(>|z|)"])
