# Reference for the subgroup heterogeneity test: Cochran's Q of the subgroup
# effects (inverse-variance weights), and its permutation P with both arm and
# subgroup shuffled, written out here in R (20,000 permutations).
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
set.seed(20161015)
qstat <- function(y, arm, sub) {
  d <- v <- c()
  for (s in sort(unique(sub))) {
    a <- y[sub == s & arm == 1]
    b <- y[sub == s & arm == 2]
    if (length(a) < 2 || length(b) < 2) return(NA)
    d <- c(d, mean(a) - mean(b))
    v <- c(v, var(a) / length(a) + var(b) / length(b))
  }
  w <- 1 / v
  sum(w * (d - sum(w * d) / sum(w))^2)
}
case <- function(key, y, arm, sub, B = 20000) {
  ok <- !is.na(y) & !is.na(arm) & !is.na(sub)
  y <- y[ok]; arm <- as.integer(factor(arm[ok])); sub <- as.integer(factor(sub[ok]))
  q <- qstat(y, arm, sub)
  for (s in sort(unique(sub))) {
    a <- y[sub == s & arm == 1]; b <- y[sub == s & arm == 2]
    put(sprintf("%s.sub%d", key, s), c(mean(a) - mean(b), sqrt(var(a) / length(a) + var(b) / length(b))))
  }
  qs <- replicate(B, qstat(y, sample(arm), sample(sub)))
  qs <- qs[!is.na(qs)]
  put(paste0(key, ".q"), q)
  put(paste0(key, ".p"), (1 + sum(qs >= q * (1 - 1e-12))) / (1 + length(qs)))
}
tg <- read_data("toothgrowth")
case("toothgrowth_dose", tg$len, tg$supp, tg$dose)
lung <- read_data("lung")
case("lung_age_sex_ecog", lung$age, lung$sex, lung$ph.ecog >= 1)
write_refs("interaction")
