# References for lm(): coefficients, standard errors, t, P, sigma, R squared; NA for
# an aliased column; bootstrap percentile CI of one coefficient (boot, 20,000
# resamples; leopards runs 100,000, so the comparison allows for Monte Carlo error).
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
set.seed(20161014)
fitref <- function(key, fit) {
  s <- summary(fit)
  cf <- coef(fit)
  for (nm in names(cf)) {
    if (is.na(cf[nm])) {
      put(sprintf("%s.%s.coef", key, nm), NA)
      next
    }
    row <- s$coefficients[nm, ]
    put(sprintf("%s.%s", key, nm), row)
  }
  put(paste0(key, ".sigma"), s$sigma)
  put(paste0(key, ".df"), fit$df.residual)
  put(paste0(key, ".r2"), c(s$r.squared, s$adj.r.squared))
  put(paste0(key, ".n"), nobs(fit))
}
mt <- read_data("mtcars")
mt$cyl <- factor(mt$cyl)
fitref("mtcars", lm(mpg ~ wt + hp + cyl, mt))
tg <- read_data("toothgrowth")
tg$dose <- factor(tg$dose)
fitref("toothgrowth", lm(len ~ supp + dose, tg))
lung <- read_data("lung")
fitref("lung", lm(meal.cal ~ age + sex + ph.ecog, lung))
ma <- read_data("mtcars_alias")
fitref("alias", lm(mpg ~ wt + wt2 + hp, ma))

b <- boot(mt, function(d, i) coef(lm(mpg ~ wt + hp + cyl, d[i, ]))["wt"], R = 20000)
put("boot.mtcars_wt.ci", boot.ci(b, type = "perc")$percent[4:5])
put("boot.mtcars_wt.sd", sd(b$t, na.rm = TRUE))
b <- boot(tg, function(d, i) coef(lm(len ~ supp + dose, d[i, ]))["suppVC"], R = 20000, strata = tg$supp)
put("boot.tg_supp.ci", boot.ci(b, type = "perc")$percent[4:5])
put("boot.tg_supp.sd", sd(b$t))
write_refs("lm")
