# References for power.t.test and power.prop.test (two-sample, two-sided). Sample
# sizes are solved with tol = 1e-10 (leopards solves to that precision).
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))
put("t.n_0.5_1.5_0.9", power.t.test(delta = 0.5, sd = 1.5, power = 0.9, tol = 1e-10)$n)
put("t.n_1_1_0.8", power.t.test(delta = 1, sd = 1, power = 0.8, tol = 1e-10)$n)
put("t.n_0.3_2_0.95_a01", power.t.test(delta = 0.3, sd = 2, power = 0.95, sig.level = 0.01, tol = 1e-10)$n)
put("t.n_3_1_0.8", power.t.test(delta = 3, sd = 1, power = 0.8, tol = 1e-10)$n)
put("t.power_250_0.5_1.5", power.t.test(n = 250, delta = 0.5, sd = 1.5)$power)
put("t.power_10_1_1", power.t.test(n = 10, delta = 1, sd = 1)$power)
put("t.power_3_2_1", power.t.test(n = 3, delta = 2, sd = 1)$power)
put("t.power_1000_0.1_1", power.t.test(n = 1000, delta = 0.1, sd = 1)$power)
put("prop.n_0.35_0.25_0.9", power.prop.test(p1 = 0.35, p2 = 0.25, power = 0.9, tol = 1e-10)$n)
put("prop.n_0.5_0.4_0.8_a01", power.prop.test(p1 = 0.5, p2 = 0.4, power = 0.8, sig.level = 0.01, tol = 1e-10)$n)
put("prop.power_250_0.35_0.25", power.prop.test(n = 250, p1 = 0.35, p2 = 0.25)$power)
put("prop.power_50_0.1_0.3", power.prop.test(n = 50, p1 = 0.1, p2 = 0.3)$power)
# The non-central t distribution directly.
for (a in list(c(2, 10, 1), c(-1, 5, 0.5), c(1.96, 498, 3.7), c(0.5, 3, -1), c(4, 40, 3.5)))
  put(sprintf("pnt_%g_%g_%g", a[1], a[2], a[3]), pt(a[1], a[2], ncp = a[3]))
write_refs("power")
