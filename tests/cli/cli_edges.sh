# The command line's rough edges: a group's --help, screening codes named by their
# fields and an eligible patient's reason not to enrol, JSON keys called fields, the
# record kinds' own help, what a reason and a day are, and a sites file's errors
# naming the file and line.
source "$(dirname "$0")/lib.bash"
cd "$TMP"

# ---- a group word with --help lists its commands (exit 0, stdout)
out=$("$LP" stats --help)
grep -q "stats compare" <<<"$out" || fail "stats --help lists the commands"
! grep -q "unknown command" <<<"$out" || fail "stats --help says unknown command"
same "stats --help exit" "$("$LP" stats --help >/dev/null 2>&1; echo $?)" 0
same "record -h exit" "$("$LP" record -h >/dev/null 2>&1; echo $?)" 0
expect_fail 2 "unknown command 'stats nosuch'" -- "$LP" stats nosuch

# ---- screening: codes are field names, sirs is listed with its fields
h=$("$LP" screen --help)
grep -q "Every exclusion must be answered, 0 (no) or 1 (yes)" <<<"$h" || fail "screen --help: exclusions answered"
grep -q "sirs      fewer than 2 of the 4 SIRS criteria: temperature, heart_rate," <<<"$h" || fail "screen --help: sirs"
grep -q "eligible, not enrolled: REASON" <<<"$h" || fail "screen --help: not enrolled"
"$LP" trial init --db t.db --sites 2 --user mgr >/dev/null
"$LP" user add --db t.db --name inv --role investigator --site S01 --user mgr >/dev/null
"$LP" user add --db t.db --name st --role statistician --user mgr >/dev/null
"$LP" list generate --db t.db --key t.key --user st >/dev/null
E='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
bad=$(sed 's/"child_pugh_c":0/"child_pugh_c":1/; s/"esrf_dialysis":0,//; s/"vasopressor_hours":6/"vasopressor_hours":2/' <<<"$E")
out=$("$LP" screen --db t.db --site S01 --json-in "{$bad}" --user inv --json)
same "codes by field" "$(jq -r .failed <<<"$out")" "vasopressor_hours,esrf_dialysis:missing,child_pugh_c"
for code in $(jq -r .failed <<<"$out" | tr , '\n' | cut -d: -f1); do
  checks=$((checks + 1))
  grep -qE "^  $code " <<<"$h" || fail "code $code is not a field listed by screen --help"
done
out=$("$LP" screen --db t.db --site S01 --json-in "{$E,\"reason_not_enrolled\":\"no consent\"}" --user inv)
grep -q ": eligible, not enrolled: no consent$" <<<"$out" || fail "eligible, not enrolled: $out"
out=$("$LP" screen --db t.db --site S01 --json-in "{$E,\"reason_not_enrolled\":\"no consent\"}" --user inv --json)
same "reason in JSON" "$(jq -r .reason_not_enrolled <<<"$out")" "no consent"
out=$("$LP" screen --db t.db --site S01 --patient P1 --json-in "{$E}" --user inv)
grep -q "patient P1: eligible$" <<<"$out" || fail "eligible alone: $out"

# ---- JSON keys are fields; each record kind points to its own help
expect_fail 1 "the eligibility inputs: field 'infecton': unknown eligibility field" -- \
  "$LP" screen --db t.db --site S01 --patient P2 --json-in '{"infecton":1}' --user inv
# the library names the thing; the command line adds its own hint
expect_fail 1 "hint: 'leopards screen --help' lists the fields" -- \
  "$LP" screen --db t.db --site S01 --patient P2 --json-in '{"infecton":1}' --user inv
printf 'infecton\n1\n' >scr.csv
expect_fail 1 "scr.csv:2: column 'infecton'" -- "$LP" screen --db t.db --site S01 --data scr.csv --user inv
"$LP" record consent --db t.db --patient P1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user inv >/dev/null
"$LP" randomize --db t.db --site S01 --patient P1 --user inv >/dev/null
expect_fail 1 "daily P1, dya: unknown field for daily records" -- \
  "$LP" record daily --db t.db --json-in '{"patient":"P1","dya":1}' --user inv
expect_fail 1 "hint: see 'leopards record daily --help'" -- \
  "$LP" record daily --db t.db --json-in '{"patient":"P1","dya":1}' --user inv
expect_fail 1 "see 'leopards record outcome --help'" -- \
  "$LP" record outcome --db t.db --json-in '{"patient":"P1","dead_on":1}' --user inv
same "record daily --help exists" "$("$LP" record daily --help >/dev/null 2>&1; echo $?)" 0
expect_fail 1 "field 'day': 0 is outside the plausible range 1 to 28 days \(day 1 = the first 24 hours after randomisation\)" -- \
  "$LP" record daily --db t.db --json-in '{"patient":"P1","day":0}' --user inv
expect_fail 2 "needs its clinical reason in words, at least 3 characters .*'x' is too short" -- \
  "$LP" unblind --db t.db --key t.key --patient P1 --reason x --requested-by inv --user stat
expect_fail 1 "field 'age': 200 is outside the plausible range" -- "$LP" eligibility --json-in '{"age":200}'

# ---- a sites file's errors name the file and the line
printf 'code,name\nLDN,London\nMAN,Manchester\nLDN,Again\n' >dup.csv
expect_fail 1 "dup.csv:4: column 'code': site code 'LDN' is given twice \(first on line 2\)" -- \
  "$LP" trial init --db d.db --sites dup.csv --user m
printf 'code,name\n' >empty.csv
expect_fail 1 "empty.csv: no sites: a trial needs at least one site" -- "$LP" trial init --db e.db --sites empty.csv --user m
printf 'code,name\nA B,x\n' >space.csv
expect_fail 1 "space.csv:2: column 'code': site code 'A B'" -- "$LP" trial init --db s.db --sites space.csv --user m
for f in d.db e.db s.db; do
  checks=$((checks + 1))
  [ ! -e "$f" ] || fail "a refused init left $f"
done
printf 'code,name\nLDN,London\nMAN,Manchester\n' >ok.csv
"$LP" trial init --db ok.db --sites ok.csv --user m >/dev/null || fail "a good sites file"
# ---- design --full with too few whole trials says z means nothing
out=$("$LP" design --trials 2 --full 1 --boot 100 --patients 100 --json 2>/dev/null)
grep -q "only 1 whole trial: the SD of the estimates, and so each z, rests on too few trials" <<<"$(jq -r '.warnings[0]' <<<"$out")" ||
  fail "design --full 1: no warning"
txt=$("$LP" design --trials 2 --full 2 --boot 100 --patients 100 2>/dev/null)
grep -q "^warning: only 2 whole trials: the SD of the estimates" <<<"$txt" || fail "design --full 2: no text warning"
same "no warning without --full" "$("$LP" design --trials 2 --boot 100 --json | jq -c .warnings)" "[]"
done_checks
