# References for two-group comparisons: descriptives (quantile type 7), Mann-Whitney
# (wilcox.test exact = FALSE, correct = TRUE) and the stratified bootstrap percentile
# interval (boot(strata =) + boot.ci(type = "perc")), 100,000 resamples.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
set.seed(20161013)

case <- function(key, y, g, levels) {
  ok <- !is.na(y) & !is.na(g)
  y <- y[ok]
  g <- as.character(g[ok])
  x1 <- y[g == levels[1]]
  x2 <- y[g == levels[2]]
  for (k in 1:2) {
    v <- if (k == 1) x1 else x2
    put(sprintf("%s.g%d.n", key, k), length(v))
    put(sprintf("%s.g%d.mean", key, k), mean(v))
    put(sprintf("%s.g%d.sd", key, k), sd(v))
    put(sprintf("%s.g%d.q", key, k), quantile(v, c(0.25, 0.5, 0.75)))
  }
  w <- wilcox.test(x1, x2, exact = FALSE, correct = TRUE)
  put(paste0(key, ".W"), w$statistic)
  put(paste0(key, ".p"), w$p.value)
  w0 <- wilcox.test(x1, x2, exact = FALSE, correct = FALSE)
  put(paste0(key, ".p_nocorrect"), w0$p.value)
  both <- c(x1, x2)
  strata <- rep(1:2, c(length(x1), length(x2)))
  for (s in c("mean", "median")) {
    f <- match.fun(s)
    stat <- function(d, i) {
      d <- d[i]
      st <- strata[i]
      f(d[st == 1]) - f(d[st == 2])
    }
    b <- boot(both, stat, R = 100000, strata = strata)
    put(sprintf("%s.%s.estimate", key, s), b$t0)
    put(sprintf("%s.%s.ci", key, s), boot.ci(b, type = "perc")$percent[4:5])
    put(sprintf("%s.%s.boot_sd", key, s), sd(b$t))
  }
}

tg <- read_data("toothgrowth")
case("toothgrowth", tg$len, tg$supp, c("OJ", "VC"))
lung <- read_data("lung")
case("lung_age_sex", lung$age, lung$sex, c("male", "female"))
case("lung_mealcal_sex", lung$meal.cal, lung$sex, c("male", "female"))
sl <- read_data("sleep")
case("sleep", sl$extra, sl$group, c("1", "2"))

# boot.ci percentile end points on fixed replicate vectors (deterministic).
set.seed(7)
for (R in c(999, 1000, 4999)) {
  t <- rnorm(R)
  write.csv(data.frame(t = sprintf("%.17g", t)), file.path(outdir, "data", sprintf("boot_t_%d.csv", R)),
            row.names = FALSE, quote = FALSE)
  bo <- list(t0 = 0, t = matrix(t, ncol = 1), R = R, call = quote(boot()), sim = "ordinary",
             stype = "i", strata = rep(1, 10), weights = rep(0.1, 10), data = 1:10,
             statistic = function(d, i) 0)
  class(bo) <- "boot"
  for (lev in c(0.9, 0.95, 0.99)) {
    put(sprintf("perc_%d_%g", R, lev), boot.ci(bo, conf = lev, type = "perc")$percent[4:5])
  }
}
write_refs("twogroup")
