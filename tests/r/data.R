# The data sets the tests use, exported from R and its recommended packages.
source(file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(), value = TRUE))), "common.R"))

write_data(ToothGrowth, "toothgrowth")                       # datasets: len, supp (OJ/VC), dose
write_data(mtcars, "mtcars")                                 # datasets
write_data(sleep[, c("extra", "group")], "sleep")            # datasets: ties, two groups
lung2 <- survival::lung
lung2$sex <- factor(lung2$sex, levels = 1:2, labels = c("male", "female"))
lung2$dead <- lung2$status - 1                                # 0/1 event indicator
write_data(lung2, "lung")                                    # survival: inst = clustering
write_data(survival::rats, "rats")                           # survival: litter clusters
write_data(survival::ovarian, "ovarian")                     # survival
mt <- mtcars
mt$wt2 <- 2 * mt$wt                                          # aliased with wt, for lm's NA rule
write_data(mt, "mtcars_alias")
