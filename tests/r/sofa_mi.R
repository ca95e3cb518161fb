# Reference for the sensitivity analyses of the mean daily SOFA by multiple imputation
# (docs/outcomes.md): a synthetic trial's daily SOFA components with gaps, laid out as
# the imputation model's rows (one per patient-day), imputed by mice with predictive
# mean matching and the same predictor matrix, each patient's mean daily total taken
# in every imputation and the differences in means pooled by Rubin's rules
# (pool.scalar, Barnard-Rubin df with n - 2 complete-data df). Both the prespecified
# analysis (the ICU days) and the post hoc one (every day to day 28, the days after
# an ICU discharge or death imputed too). The C side draws its own random numbers, so
# tests/test_sofa_mi.c compares within Monte Carlo error.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
suppressPackageStartupMessages(library(mice))
set.seed(20161006)
H <- 28
n <- 160
arm <- rep(0:1, length.out = n)
level <- rnorm(n, 1.3 + 0.15 * arm, 0.6)            # the patient's severity
sofa_baseline <- pmax(0, round(8 + 2.5 * (level - 1.3) + rnorm(n, 0, 1.5)))
sofa_baseline[c(7, 40)] <- NA
died28 <- as.integer(runif(n) < plogis(-1 + 1.2 * (level - 1.3)))
icu_days <- pmin(H, 1 + rgeom(n, ifelse(died28 == 1, 0.2, 0.12)))
left_icu_alive <- as.integer(icu_days < H & (died28 == 0 | runif(n) < 0.15))
rows <- list()
comps <- c("resp", "coag", "liver", "cv", "renal")
pmiss <- c(0.05, 0.08, 0.15, 0.03, 0.06)
for (i in seq_len(n)) {
  d <- seq_len(icu_days[i])
  r <- data.frame(patient = sprintf("P%03d", i), arm = arm[i], sofa_baseline = sofa_baseline[i],
                  icu_days = icu_days[i], died28 = died28[i], left_icu_alive = left_icu_alive[i], day = d)
  for (k in seq_along(comps)) {
    mu <- level[i] + c(0.2, -0.5, -0.8, 0.6, 0.1)[k] - 0.03 * d + 0.5 * died28[i] * (d > icu_days[i] - 3)
    v <- pmin(4, pmax(0, round(mu + rnorm(length(d), 0, 0.7))))
    v[runif(length(d)) < pmiss[k]] <- NA
    r[[comps[k]]] <- v
  }
  rows[[i]] <- r
}
days <- do.call(rbind, rows)
write_data(days, "sofa_days")
days <- read_data("sofa_days")

# The imputation model's rows and columns, as lp_sofa_mi_frame lays them out.
frame <- function(days, horizon_kind) {
  out <- list()
  for (p in unique(days$patient)) {
    d <- days[days$patient == p, ]
    nd <- d$icu_days[1]
    m <- if (horizon_kind) H else nd
    f <- data.frame(arm = rep(d$arm[1], m))
    v <- matrix(NA_real_, m, 5)
    v[seq_len(nd), ] <- as.matrix(d[, comps])
    other <- sapply(1:5, function(k) {
      obs <- !is.na(v[seq_len(nd), k])
      s <- sum(v[seq_len(nd), k][obs])
      c <- sum(obs)
      sapply(seq_len(m), function(j) {
        own <- j <= nd && !is.na(v[j, k])
        cc <- c - own
        if (cc > 0) (s - if (own) v[j, k] else 0) / cc else NA
      })
    })
    if (m == 1) other <- matrix(other, 1)
    f <- data.frame(v, arm = d$arm[1], sofa_baseline = d$sofa_baseline[1], day = seq_len(m),
                    died28 = d$died28[1], left_icu_alive = d$left_icu_alive[1], other)
    names(f) <- c(comps, "arm", "sofa_baseline", "day", "died28", "left_icu_alive", paste0("other_", comps))
    f$patient <- p
    out[[p]] <- f
  }
  do.call(rbind, out)
}

predictors <- function(cols) {
  P <- matrix(0, length(cols), length(cols), dimnames = list(cols, cols))
  for (k in comps) {
    P[k, setdiff(comps, k)] <- 1
    P[k, c("arm", "sofa_baseline", "day", "died28", "left_icu_alive", paste0("other_", k))] <- 1
    P[paste0("other_", k), c("arm", "sofa_baseline", "died28", "left_icu_alive")] <- 1
  }
  P["sofa_baseline", c("arm", "died28", "left_icu_alive", paste0("other_", comps))] <- 1
  P
}

M <- 100
put("m", M)
for (kind in c("icu", "horizon")) {
  f <- frame(days, kind == "horizon")
  x <- f[, setdiff(names(f), "patient")]
  # The frame itself, exactly: rows, and per column the sum of its values and the
  # number missing.
  put(sprintf("%s.rows", kind), nrow(x))
  for (j in names(x)) put(sprintf("%s.frame.%s", kind, j), c(sum(x[[j]], na.rm = TRUE), sum(is.na(x[[j]]))))
  meth <- ifelse(colSums(is.na(x)) > 0, "pmm", "")
  imp <- mice(x, m = M, method = meth, predictorMatrix = predictors(names(x)), maxit = 5,
              seed = if (kind == "icu") 1 else 2, printFlag = FALSE, remove.collinear = FALSE)
  q <- u <- numeric(M)
  for (k in seq_len(M)) {
    cx <- complete(imp, k)
    tot <- rowSums(cx[, comps])
    pm <- tapply(tot, f$patient, mean)
    pa <- tapply(cx$arm, f$patient, `[`, 1)
    a <- pm[pa == 0]
    b <- pm[pa == 1]
    q[k] <- mean(a) - mean(b)
    u[k] <- var(a) / length(a) + var(b) / length(b)
  }
  ps <- pool.scalar(q, u, n = length(pm), k = 2)
  put(sprintf("%s.pooled", kind), c(ps$qbar, ps$ubar, ps$b, ps$t, ps$df))
  tq <- qt(0.975, ps$df)
  put(sprintf("%s.ci", kind), c(ps$qbar - tq * sqrt(ps$t), ps$qbar + tq * sqrt(ps$t)))
}
write_refs("sofa_mi")
