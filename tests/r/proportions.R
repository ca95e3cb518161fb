# References for two proportions: Wald, prop.test (continuity-corrected Wald),
# Newcombe hybrid score (from the Wilson intervals prop.test gives per group),
# chisq.test with and without Yates, fisher.test.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
cases <- list(c(89, 258, 79, 256), c(83, 258, 76, 257), c(97, 258, 84, 256), c(148, 258, 139, 256),
              c(62, 257, 62, 257), c(118, 258, 108, 257), c(32, 258, 23, 257), c(15, 258, 6, 257),
              c(8, 258, 1, 257), c(0, 258, 2, 257), c(7, 258, 3, 257), c(3, 258, 1, 257),
              c(18, 258, 17, 257), c(3, 10, 7, 12), c(10, 10, 0, 5), c(1, 40, 39, 40))
for (k in seq_along(cases)) {
  v <- cases[[k]]
  e <- v[c(1, 3)]
  n <- v[c(2, 4)]
  p <- e / n
  d <- p[1] - p[2]
  key <- sprintf("case%d", k)
  for (lev in c(0.9, 0.95)) {
    z <- qnorm((1 + lev) / 2)
    se <- sqrt(sum(p * (1 - p) / n))
    put(sprintf("%s.wald_%g", key, lev), c(d - z * se, d + z * se))
    put(sprintf("%s.waldcc_%g", key, lev), suppressWarnings(prop.test(e, n, conf.level = lev)$conf.int[1:2]))
    w1 <- suppressWarnings(prop.test(e[1], n[1], correct = FALSE, conf.level = lev)$conf.int)
    w2 <- suppressWarnings(prop.test(e[2], n[2], correct = FALSE, conf.level = lev)$conf.int)
    put(sprintf("%s.newcombe_%g", key, lev),
        c(d - sqrt((p[1] - w1[1])^2 + (w2[2] - p[2])^2), d + sqrt((w1[2] - p[1])^2 + (p[2] - w2[1])^2)))
  }
  tab <- matrix(c(e[1], e[2], n[1] - e[1], n[2] - e[2]), 2)
  cy <- suppressWarnings(chisq.test(tab, correct = TRUE))
  cn <- suppressWarnings(chisq.test(tab, correct = FALSE))
  put(paste0(key, ".chisq_yates"), c(cy$statistic, cy$p.value))
  put(paste0(key, ".chisq"), c(cn$statistic, cn$p.value))
  put(paste0(key, ".fisher"), fisher.test(tab)$p.value)
}
write_refs("proportions")
