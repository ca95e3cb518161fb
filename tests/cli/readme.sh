# The README's commands as written: the "Running a real trial" blocks run in a
# fresh shell at the top of a clone (with this build as build/, installed with
# cmake --install into a scratch HOME), and the demo prints what the README shows,
# every line within 80 columns and no line broken inside a parenthesis.
source "$(dirname "$0")/lib.bash"
README="$TESTS/../README.md"
root="$TMP/clone"
mkdir -p "$root" "$TMP/home"
ln -s "$(cd "$(dirname "$LP")" && pwd)" "$root/build"

# ---- the trial walk-through, every sh block of its section, in one shell
awk '/^## Running a real trial/ { on = 1; next } on && /^## / { on = 0 }
     on && /^```sh$/ { code = 1; next } on && code && /^```$/ { code = 0; next } on && code' "$README" >"$TMP/trial.sh"
checks=$((checks + 1))
grep -q "leopards trial init" "$TMP/trial.sh" || fail "no trial commands found in the README"
# A fresh environment, keeping only the sanitizers' settings of a sanitizer build.
(cd "$root" && env -i PATH=/usr/bin:/bin HOME="$TMP/home" ${ASAN_OPTIONS+ASAN_OPTIONS="$ASAN_OPTIONS"} \
  ${LSAN_OPTIONS+LSAN_OPTIONS="$LSAN_OPTIONS"} ${UBSAN_OPTIONS+UBSAN_OPTIONS="$UBSAN_OPTIONS"} bash -e "$TMP/trial.sh") >"$TMP/out" 2>"$TMP/err" ||
  fail "the README's trial commands failed: $(tail -5 "$TMP/err")"
for f in my-trial/trial.db my-trial/trial.key my-trial/sites.csv my-trial/report/report.html; do
  checks=$((checks + 1))
  [ -s "$root/$f" ] || fail "the README's commands did not make $f"
done
checks=$((checks + 1))
[ -x "$TMP/home/.local/bin/leopards" ] || fail "cmake --install put no leopards in the prefix"
grep -q "patient P001 (site S01): initial consent recorded: given by personal_representative" "$TMP/out" ||
  fail "consent in the walk-through"
grep -q "retrospective consent owed" "$TMP/out" || fail "the walk-through's status does not list the retrospective consent owed"
grep -q "patient P001 randomised at site S01" "$TMP/out" || fail "randomisation in the walk-through"
grep -q "audit trail intact" "$TMP/out" || fail "audit verify in the walk-through"

# ---- the demo's output as the README shows it (times aside)
awk '/^\$ build\/leopards demo$/ { on = 1; next } on && /^```$/ { exit } on' "$README" >"$TMP/readme_demo"
(cd "$TMP" && "$LP" demo >"$TMP/demo_out" 2>"$TMP/demo_err") || fail "demo failed: $(tail -3 "$TMP/demo_err")"
norm() { sed -E 's/[0-9]+\.[0-9]+ s/T s/g; s/ +[0-9]+% +T s$/ P/' "$1"; }
# The README's first line is the banner on stderr, then the two finished progress
# lines (a terminal's view); the summary on stdout follows.
tail -n +4 "$TMP/readme_demo" >"$TMP/readme_summary"
same "the demo's summary as in the README" "$(norm "$TMP/demo_out")" "$(norm "$TMP/readme_summary")"
same "the demo's banner as in the README" "$(head -1 "$TMP/demo_err")" "$(head -1 "$TMP/readme_demo")"
awk 'length($0) > 80 { print "line longer than 80 columns: " $0; bad = 1 }
     { o = gsub(/\(/, "("); c = gsub(/\)/, ")"); if (o != c) { print "parenthesis broken across lines: " $0; bad = 1 } }
     END { exit bad }' "$TMP/demo_out" "$TMP/readme_demo" || fail "demo lines do not fit 80 columns"
checks=$((checks + 1))
# On a terminal each finished phase says what it was (not a bare "done").
if command -v script >/dev/null; then
  (cd "$TMP" && rm -rf leopards-demo && script -qec "'$LP' demo" /dev/null >"$TMP/tty" 2>&1) || fail "demo on a terminal"
  tr '\r' '\n' <"$TMP/tty" | grep -qE "^  simulating the trial +100%" || fail "no finished simulation line on a terminal"
  tr '\r' '\n' <"$TMP/tty" | grep -qE "^  analysing it +100%" || fail "no finished analysis line on a terminal"
  checks=$((checks + 2))
fi
done_checks
