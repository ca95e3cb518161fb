# The report and the summary find plan rows by role, never by id: a copy of the
# LeoPARDS plan with every id renamed gives the same summary line, the same numbers
# and the same five figures; a plan with no primary row gets no summary line (and
# says so), never a made-up one; bad roles are refused naming the plan line.
source "$(dirname "$0")/lib.bash"
PLAN="$TESTS/../plans/leopards.csv"
"$LP" simulate --db "$TMP/t.db" --key "$TMP/t.key" --seed 7 --patients 160 --sites 8 --screened 500 --quiet >/dev/null
run() { # run PLAN_ARGS... OUTDIR
  local out=${*: -1}
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$out" --boot 1000 --permutations 200 --imputations 5 \
    --quiet "${@:1:$#-1}" | grep '^primary outcome\|^no primary\|^  difference'
}
# every id renamed (row N of the plan becomes "row_N"), nothing else changed
awk -F, 'BEGIN { OFS = "," } NR == 1 { print; next } { $1 = "row_" NR; print }' "$PLAN" >"$TMP/renamed.csv"
checks=$((checks + 1))
[ "$(cut -d, -f1 "$TMP/renamed.csv" | grep -c '^row_')" -eq "$(($(wc -l <"$PLAN") - 1))" ] || fail "renamed plan"
checks=$((checks + 1))
if grep -qE '^(t3_sofa|f2_death|f2_weaning),' "$TMP/renamed.csv"; then fail "an id survived the renaming"; fi
run "$TMP/a" >"$TMP/a.txt"
run --plan "$TMP/renamed.csv" "$TMP/b" >"$TMP/b.txt"
grep -q '^primary outcome, Mean daily total SOFA score:$' "$TMP/a.txt" && grep -q '^  difference ' "$TMP/a.txt" || fail "summary line: $(cat "$TMP/a.txt")"
same "summary line with renamed ids" "$(cat "$TMP/b.txt")" "$(cat "$TMP/a.txt")"
# the same numbers: every table row, subgroup and curve, in plan order, without the ids
nums='[(.tables[] | to_entries[] | .value), (.subgroups | to_entries[] | .value | del(.id)), (.curves | to_entries[] | .value)]'
same "numbers with renamed ids" "$(jq -c "$nums" "$TMP/b/report.json" | sha256sum)" "$(jq -c "$nums" "$TMP/a/report.json" | sha256sum)"
checks=$((checks + 1))
[ "$(jq -c "$nums | length" "$TMP/a/report.json")" -gt 100 ] || fail "too few numbers compared"
# the same figures: Figure 1, Figure 2, the weaning curves, the forest plots, the daily SOFA
for f in figure1 figure2 figure_weaning figure_subgroups figure_sofa; do
  checks=$((checks + 1))
  [ -s "$TMP/b/$f.svg" ] && [ -s "$TMP/b/$f.png" ] || fail "$f missing with renamed ids"
done
same "figure files" "$(cd "$TMP/b" && ls figure*.svg | paste -sd' ')" "$(cd "$TMP/a" && ls figure*.svg | paste -sd' ')"
for f in "$TMP"/a/figure*.svg; do
  checks=$((checks + 1))
  cmp -s "$f" "$TMP/b/$(basename "$f")" || fail "$(basename "$f") differs with renamed ids"
done
# no primary row: no summary line, and the output says why
awk -F, 'BEGIN { OFS = "," } { sub(/,primary$/, ","); print }' "$TMP/renamed.csv" >"$TMP/noprimary.csv"
run --plan "$TMP/noprimary.csv" "$TMP/c" >"$TMP/c.txt"
checks=$((checks + 1))
if grep -q 'difference' "$TMP/c.txt"; then fail "a summary line without a primary row: $(cat "$TMP/c.txt")"; fi
grep -q "^no primary outcome: the plan marks no row with role 'primary'" "$TMP/c.txt" || fail "no word of the missing primary"
same "json primary without a primary row" \
  "$("$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/d" --boot 200 --permutations 100 --imputations 2 \
    --quiet --json --plan "$TMP/noprimary.csv" | jq -c '.primary.estimate')" null
# bad roles are refused with the plan's line and column
sed 's/,weaning-figure$/,primary/' "$TMP/renamed.csv" >"$TMP/two.csv"
expect_fail 1 "role 'primary' is already given to row" -- "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/e" --plan "$TMP/two.csv" --quiet
sed 's/,weaning-figure$/,kaplan/' "$TMP/renamed.csv" >"$TMP/bad.csv"
expect_fail 1 "unknown role 'kaplan'" -- "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/e" --plan "$TMP/bad.csv" --quiet
# the plan error names line and column (as data: --json gives them as fields)
same "plan error column" "$("$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/e" --plan "$TMP/bad.csv" --quiet --json | jq -c '[.error.line, .error.column, .error.field]')" \
  "[$(grep -n ',kaplan$' "$TMP/bad.csv" | cut -d: -f1),$(head -1 "$PLAN" | tr ',' '\n' | grep -n '^role$' | cut -d: -f1),\"role\"]"
echo "plan roles: $checks checks passed"
