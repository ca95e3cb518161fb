# Shared by the reference scripts: where to write, and how.
#   Rscript tests/r/NAME.R [OUTDIR]    (OUTDIR defaults to tests/, holding data/ and ref/)
# Reference files are CSV with columns name,value; numbers carry 17 significant digits.
suppressPackageStartupMessages({
  library(survival)
  library(boot)
})
Sys.setlocale("LC_COLLATE", "C")
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "tests"
dir.create(file.path(outdir, "ref"), showWarnings = FALSE, recursive = TRUE)
dir.create(file.path(outdir, "data"), showWarnings = FALSE, recursive = TRUE)

.refs <- new.env()
.refs$name <- character()
.refs$value <- character()

fmt17 <- function(v) {
  ifelse(is.na(v), "NA", ifelse(is.infinite(v), ifelse(v > 0, "Inf", "-Inf"), sprintf("%.17g", v)))
}

# put("key", 1.5) or put("key", c(a, b)) (a vector becomes key.1, key.2, ...)
put <- function(name, value) {
  value <- as.numeric(value)
  if (length(value) == 1) {
    .refs$name <- c(.refs$name, name)
    .refs$value <- c(.refs$value, fmt17(value))
  } else {
    .refs$name <- c(.refs$name, paste0(name, ".", seq_along(value)))
    .refs$value <- c(.refs$value, fmt17(value))
  }
}

# putv("key", v): always key.1, key.2, ... (even for a single value)
putv <- function(name, value) {
  value <- as.numeric(value)
  .refs$name <- c(.refs$name, paste0(name, ".", seq_along(value)))
  .refs$value <- c(.refs$value, fmt17(value))
}

write_refs <- function(file) {
  out <- data.frame(name = .refs$name, value = .refs$value)
  write.csv(out, file.path(outdir, "ref", paste0(file, ".csv")), row.names = FALSE, quote = FALSE)
  .refs$name <- character()
  .refs$value <- character()
}

write_data <- function(df, name) {
  write.csv(df, file.path(outdir, "data", paste0(name, ".csv")), row.names = FALSE, na = "")
}

read_data <- function(name) {
  read.csv(file.path(outdir, "data", paste0(name, ".csv")), stringsAsFactors = TRUE)
}
