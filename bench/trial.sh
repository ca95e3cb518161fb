#!/usr/bin/env bash
# Randomisation throughput beside the fsync limit of the disk holding --dir (default a
# fresh directory under /tmp; pass a directory on the disk the trial will live on).
#   bench/trial.sh [--n 2000] [--procs 1,16] [--dir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target bench_trial >/dev/null
exec build/bench/bench_trial "$@"
