# The source tree keeps its layers and rules (docs/design.md): the analysis layer
# includes nothing of trial/; no plan row id is named in the library; no shell is started.
source "$(dirname "$0")/lib.bash"
SRC="$TESTS/../src"
CLI="$TESTS/../cli"
checks=$((checks + 1))
if grep -rnE '#include +[<"](trial/|leopards/trial\.h)' "$SRC/analysis"; then fail "src/analysis includes the trial layer"; fi
checks=$((checks + 1))
if grep -rnE '#include +[<"](report/|leopards/(report|trial|sim)\.h)' "$SRC/stats" "$SRC/clinical" "$SRC/core"; then
  fail "a lower layer includes a higher one"
fi
# The report and the summary find plan rows by role: no plan row id is written in src/.
ids=$(tail -n +2 "$TESTS/../plans/leopards.csv" | cut -d, -f1 | sort -u)
checks=$((checks + 1))
[ "$(echo "$ids" | wc -l)" -gt 90 ] || fail "plan ids not read"
for id in $ids; do
  if grep -rnF "\"$id\"" "$SRC" "$TESTS/../include"; then fail "plan row id '$id' in the library"; fi
done
# No shell is started from the library or the tool (folders are removed by the library itself).
checks=$((checks + 1))
if grep -rnE '\b(system|popen)\(' "$SRC" "$CLI"; then fail "system() or popen() in src/ or cli/"; fi
echo "layers: $checks checks passed"
