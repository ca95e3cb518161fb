# The source tree keeps its layers and rules (docs/design.md): the analysis layer
# includes nothing of trial/; no shell is started from the library or the tool.
source "$(dirname "$0")/lib.bash"
SRC="$TESTS/../src"
CLI="$TESTS/../cli"
checks=$((checks + 1))
if grep -rnE '#include +[<"](trial/|leopards/trial\.h)' "$SRC/analysis"; then fail "src/analysis includes the trial layer"; fi
checks=$((checks + 1))
if grep -rnE '#include +[<"](report/|leopards/(report|trial|sim)\.h)' "$SRC/stats" "$SRC/clinical" "$SRC/core"; then
  fail "a lower layer includes a higher one"
fi
echo "layers: $checks checks passed"
