#!/usr/bin/env bash
# The trial commands end to end: init, users, list, screen, randomize, record, unblind,
# audit, lock, export/import (byte-identical round trip), exit codes (2 usage, 1 data)
# and error messages that name file, line and column.
set -u
L="$1"
TESTS="$2"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect CODE CMD...: run, compare the exit code, keep stdout/stderr in out/err
expect() {
  local want=$1
  shift
  "$@" >out 2>err
  local got=$?
  [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat err)"
}
has() { grep -q -- "$1" "$2" || fail "'$1' not in $2: $(cat "$2")"; }

ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'

# --- usage errors: exit 2
expect 2 "$L" randomize --db t.db --site S01
has "option --patient is required" err
expect 2 "$L" randomize --db t.db --site S01 --patient P --user u --bogus
expect 0 "$L" randomize --help
has "never the arm" out
for c in "trial init" "list generate" "list report" screen unblind "unblind list" "record baseline" \
         "record daily" "record infusion" "record outcome" "record ae" "audit verify" "audit checkpoint" "audit log" lock export import "user add"; do
  expect 0 "$L" $c --help
done
expect 0 "$L" audit verify --help
has "audit-key" out
has "checkpoint" out
expect 2 "$L" screen --db t.db --site S01 --user u

# --- init from a sites CSV; a duplicate code is refused and nothing is left behind
printf 'code,name\nLDN,London\nLDN,Leeds\n' > bad_sites.csv
expect 1 "$L" trial init --db bad.db --sites bad_sites.csv --user mgr
has "given twice" err
[ ! -e bad.db ] || fail "a failed init left bad.db"
printf 'code,name\nLDN,London\nLDS,Leeds\n' > sites.csv
expect 0 "$L" trial init --db t.db --sites sites.csv --user mgr --json
[ "$(jq -r .sites out)" = 2 ] || fail "init json"
expect 1 "$L" trial init --db t.db --sites 3 --user mgr
has "already exists" err
expect 0 "$L" user add --db t.db --name stat --role statistician --user mgr
expect 0 "$L" user add --db t.db --name ann --role investigator --site LDN --user mgr
expect 0 "$L" user add --db t.db --name lee --role investigator --site LDS --user mgr
expect 1 "$L" user add --db t.db --name eve --role manager --user ann
has "may not register users" err
expect 2 "$L" user add --db t.db --name eve --role king --user mgr

# --- the list: key created 0600; report needs the key; a readable key is refused
expect 1 "$L" list generate --db t.db --key t.key --user ann
[ ! -e t.key ] || fail "a refused generate left a key file"
expect 0 "$L" list generate --db t.db --key t.key --user stat --initial-per-site 12 --json
[ "$(stat -c %a t.key)" = 600 ] || fail "key mode $(stat -c %a t.key)"
[ "$(jq -r .slots_added out)" = 24 ] || fail "slots added"
chmod 644 t.key
expect 1 "$L" list report --db t.db --key t.key
has "chmod 600" err
chmod 600 t.key
expect 0 "$L" list report --db t.db --key t.key --json
[ "$(jq -r .reproduces_from_secret out)" = true ] || fail "list does not reproduce"

# --- screening
expect 0 "$L" screen --db t.db --site LDN --patient P1 --user ann --json-in "{$ELIG}" --json
[ "$(jq -r .eligible out)" = true ] || fail "P1 eligible"
expect 0 "$L" screen --db t.db --site LDN --patient P2 --user ann --json-in '{"age":17,"infection":1}' --json
[ "$(jq -r .eligible out)" = false ] || fail "P2 not eligible"
grep -q "age" <<<"$(jq -r .failed out)" || fail "P2 failed criteria"
expect 1 "$L" screen --db t.db --site LDN --patient P3 --user ann --json-in '{"age":"old"}'
has "field 'age'" err
printf 'site,patient,age,infection,weight\nLDS,Q1,70,1,80\nLDS,Q2,70,1,800\n' > screen.csv
expect 1 "$L" screen --db t.db --data screen.csv --user lee
has "screen.csv:3:" err
has "column 'weight'" err
printf 'site,patient,age,infection,temperature,heart_rate,resp_rate,wbc,vasopressor_hours,hours_since_criteria,esrf_dialysis,torsades_history,child_pugh_c,ventricular_obstruction,treatment_limitation,weight,pregnant,levosimendan_30d,levosimendan_hypersensitivity,other_trial,reason_not_enrolled\n' > screen.csv
printf 'LDS,Q1,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,\nLDS,Q2,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,no consent\nLDS,,30,0,,,,,,,,,,,,,,,,,\n' >> screen.csv
expect 0 "$L" screen --db t.db --data screen.csv --user lee --json
[ "$(jq -r .screened out)" = 3 ] && [ "$(jq -r .eligible out)" = 2 ] || fail "csv screening counts: $(cat out)"

# --- randomise: consent first
expect 1 "$L" randomize --db t.db --site LDN --patient P1 --user ann
has "no consent record" err
expect 0 "$L" record consent --db t.db --patient P1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user ann
expect 0 "$L" record consent --db t.db --patient Q1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user lee
expect 0 "$L" randomize --db t.db --site LDN --patient P1 --user ann --json
[ "$(jq -r 'keys_unsorted|join(",")' out)" = "patient,site,sequence,pack,randomized_at,existing" ] || fail "json keys: $(cat out)"
grep -qi "levosimendan\|placebo\|\"arm" out && fail "randomize output mentions an arm"
pack=$(jq -r .pack out)
expect 0 "$L" randomize --db t.db --site LDN --patient P1 --user ann --json
[ "$(jq -r .pack out)" = "$pack" ] && [ "$(jq -r .existing out)" = true ] || fail "second request"
expect 1 "$L" randomize --db t.db --site LDN --patient P2 --user ann
has "not eligible" err
expect 1 "$L" randomize --db t.db --site LDS --patient Q2 --user lee
has "no consent" err
expect 1 "$L" randomize --db t.db --site LDS --patient Q1 --user ann
has "another site" err
expect 0 "$L" randomize --db t.db --site LDS --patient Q1 --user lee

# --- data entry: CSV errors name file, line and column; nothing half-written
printf 'patient,age,sex,weight_kg,fio2,pao2\nP1,64,male,80,0.4,90\nQ1,70,female,70,40,80\n' > base.csv
expect 1 "$L" record baseline --db t.db --data base.csv --user mgr
has "base.csv:3: column 'fio2': 40 looks like a percentage" err
printf 'patient,age,sex,weight_kg,fio2,pao2,creatinine_umol_l\nP1,64,male,80,0.4,90,176.8\nQ1,70,female,70,0.4,80,88.4\n' > base.csv
expect 0 "$L" record baseline --db t.db --data base.csv --user mgr
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":65}' --user ann
has "needs a reason" err
expect 0 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":65}' --user ann --reason "typo in age"
# the baseline SOFA total is checked against the values recorded with it
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","sofa":3}' --user ann --reason "total"
has "field 'sofa': the SOFA total 3 is below 4, the sum of the components the recorded values already score (respiratory 2, renal 2)" err
full='"patient":"P1","pao2":90,"fio2":0.4,"resp_support":1,"platelets":120,"bilirubin":2.5,"map":65,"dopamine":0,"dobutamine":0,"epinephrine":0,"norepinephrine":0.2,"gcs":14,"creatinine":2.0,"urine_ml":1500'
expect 1 "$L" record baseline --db t.db --json-in "{$full,\"sofa\":11}" --user ann --reason "complete"
has "field 'sofa': the SOFA total 11 does not match the values recorded with it, which score 12 (respiratory 2, coagulation 1, hepatic 2, cardiovascular 4, cns 1, renal 2)" err
expect 0 "$L" record baseline --db t.db --json-in "{$full,\"sofa\":12}" --user ann --reason "complete"
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","gcs":9}' --user ann --reason "GCS"
has "which score 14 " err
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"Q1","age":65}' --user ann --reason x
has "another site" err
# day d is the d-th 24 hours after randomisation: P1 was randomised just now, so no day is
# over yet; the daily records below are entered as if five days later
expect 1 "$L" record daily --db t.db --json-in '{"patient":"P1","day":1,"map":65}' --user ann
has "field 'day': day 1 is not over yet: day d is the d-th 24 hours after randomisation" err
# (faketime preloads itself; a sanitizer build is told that this is fine)
LATER=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +5d)
expect 1 "${LATER[@]}" "$L" record daily --db t.db --json-in '[{"patient":"P1","day":1,"map":65},{"patient":"P1","day":29}]' --user ann
has "json-in\[2\]: field 'day'" err
expect 0 "${LATER[@]}" "$L" record daily --db t.db --json-in '[{"patient":"P1","day":1,"map":65,"norepinephrine":0.3},{"patient":"P1","day":2,"map":70}]' --user ann --json
[ "$(jq -r .rows out)" = 2 ] || fail "daily rows"
expect 1 "$L" record infusion --db t.db --json-in '{"patient":"P1","hour":2,"event":"increase","dose":0.2}' --user ann
has "no 'start' event" err
expect 0 "$L" record infusion --db t.db --json-in '[{"patient":"P1","hour":0,"event":"start","dose":0.1},{"patient":"P1","hour":3,"event":"increase","dose":0.2},{"patient":"P1","hour":24,"event":"end","dose":0}]' --user ann
today=$(date -u +%Y-%m-%d)
expect 1 "$L" record outcome --db t.db --json-in "{\"patient\":\"P1\",\"died\":1}" --user ann
has "death_date" err
expect 1 "$L" record outcome --db t.db --json-in '{"patient":"P1","icu_discharge":"2001-02-30"}' --user ann
has "not a date" err
expect 0 "$L" record outcome --db t.db --json-in "{\"patient\":\"P1\",\"icu_discharge\":\"$today\",\"died\":0}" --user ann
expect 0 "$L" record ae --db t.db --json-in "{\"patient\":\"P1\",\"onset\":\"$today\",\"category\":\"supraventricular_tachyarrhythmia\",\"term\":\"atrial fibrillation\",\"serious\":0}" --user ann
expect 1 "$L" record ae --db t.db --json-in "{\"patient\":\"P1\",\"onset\":\"$today\",\"categry\":\"other\"}" --user ann
has "field 'categry': unknown field" err

# the kind may also follow the options, as in 'leopards record --db trial.db daily ...'
expect 0 "${LATER[@]}" "$L" record --db t.db daily --json-in '{"patient":"P1","day":4,"map":72}' --user ann
expect 2 "$L" record --db t.db --json-in '{"patient":"P1","day":4}' --user ann
expect 2 "$L" record --db t.db dialy --json-in '{"patient":"P1","day":4}' --user ann
has "unknown record kind" err
# deleting a record: a reason is needed; the content stays in the audit trail
expect 0 "${LATER[@]}" "$L" record daily --db t.db --json-in '{"patient":"P1","day":3,"map":71}' --user ann
id3=$(sqlite3 t.db "SELECT id FROM daily WHERE patient='P1' AND day=3")
expect 2 "$L" record delete --db t.db --kind daily --id "$id3" --user ann
expect 1 "$L" record delete --db t.db --kind daily --id 999 --user ann --reason "wrong patient"
expect 0 "$L" record delete --db t.db --kind daily --id "$id3" --user ann --reason "entered for the wrong day"
expect 0 "$L" audit log --db t.db --patient P1 --json
[ "$(jq -r "map(select(.table==\"daily\" and .action==\"delete\"))[0].old" out | jq -r .map)" = 71 ] || fail "deleted content not in the audit trail"
# every bad field at once, one finding a line; a soft finding is a warning naming the field
expect 1 "${LATER[@]}" "$L" record daily --db t.db --json-in '{"patient":"P1","day":5,"map":300,"gcs":2,"fio2":40}' --user ann
has "3 problems" err
for f in map gcs fio2; do has "error: daily P1 day 5, $f: " err; done
expect 0 "${LATER[@]}" "$L" record daily --db t.db --json-in '{"patient":"P1","day":5,"map":25}' --user ann --json
has "warning: daily P1 day 5, map: 25 mmHg is unusually low" err
[ "$(jq -c '.findings[0] | [.level, .form, .patient, .day, .field]' out)" = '["warning","daily","P1",5,"map"]' ] ||
  fail "findings in JSON: $(cat out)"
expect 0 "$L" record delete --db t.db --kind daily --id "$(sqlite3 t.db "SELECT id FROM daily WHERE patient='P1' AND day=5")" \
  --user ann --reason "entered to test the warning"
# re-screening a patient not yet randomised updates the record (audited); not after randomisation
expect 0 "$L" screen --db t.db --site LDN --patient P2 --user ann --json-in '{"age":19,"infection":1}' --json
[ "$(jq -r .failed out | grep -c age)" = 0 ] || fail "re-screen"
expect 1 "$L" screen --db t.db --site LDN --patient P1 --user ann --json-in "{$ELIG}"
has "already randomised" err

# --- unblinding, audit
expect 2 "$L" unblind --db t.db --key t.key --patient P1 --user stat --requested-by ann
has "option --reason is required" err
expect 2 "$L" unblind --db t.db --key t.key --patient P1 --reason "suspected anaphylaxis" --user stat
has "option --requested-by is required" err
# the key holder unblinds; an investigator never does on the command line
expect 1 "$L" unblind --db t.db --key t.key --patient P1 --reason "suspected anaphylaxis" --user ann --requested-by ann
has "may not unblind" err
# an investigator of another site cannot be the one who asked
expect 1 "$L" unblind --db t.db --key t.key --patient P1 --reason "suspected anaphylaxis" --user stat --requested-by lee
has "another site" err
expect 0 "$L" unblind --db t.db --key t.key --patient P1 --reason "suspected anaphylaxis" --user stat --requested-by ann --json
arm=$(jq -r .arm out)
[ "$arm" = A ] || [ "$arm" = B ] || fail "unblind arm"
[ "$(jq -r .unblinded_by out)" = stat ] || fail "unblinded by"
expect 0 "$L" unblind list --db t.db --json
[ "$(jq -r '.[0].reason' out)" = "requested by ann (investigator, site LDN): suspected anaphylaxis" ] || fail "unblind list: $(jq -r '.[0].reason' out)"
expect 0 "$L" audit log --db t.db --patient P1
has "requested by ann (investigator, site LDN): suspected anaphylaxis" out
grep -q '"arm' out && fail "unblind list shows an arm"
expect 0 "$L" audit verify --db t.db --json
[ "$(jq -r .intact out)" = true ] || fail "audit not intact"
entries=$(jq -r .entries out)
head=$(jq -r .head out)
expect 0 "$L" audit verify --db t.db --anchor "$entries:$head"
expect 1 "$L" audit verify --db t.db --anchor "$entries:$(printf '0%.0s' {1..64})"
expect 0 "$L" audit log --db t.db --patient P1 --json
[ "$(jq -r 'map(select(.table=="patients" and .action=="update"))[0].reason' out)" = "typo in age" ] || fail "audit log reason"

# --- status: recruitment and completeness by site, what is missing or due; never an arm
expect 0 "$L" status --db t.db --json
[ "$(jq -c '.total | [.randomised, .baseline, .infusion, .infusion_due, .outcome, .outcome_due]' out)" = "[2,2,1,2,0,0]" ] ||
  fail "status totals: $(jq -c .total out)"
[ "$(jq -c '[.items[] | [.patient, .what]]' out)" = '[["P1","daily records in the ICU after ICU discharge (day 1): days 2, 4"],["Q1","no infusion record"]]' ] ||
  fail "status items today: $(jq -c .items out)"
[ "$(jq -c '[.sites[].site]' out)" = '["LDN","LDS"]' ] || fail "status sites"
later=$(date -u -d "+40 days" +%Y-%m-%d)
expect 0 "$L" status --db t.db --site LDS --as-of "$later" --json
[ "$(jq -r '.items | map(.what) | join("; ")' out)" = "no infusion record; no outcome record (28-day follow-up due, randomised $today); daily records missing: days 1-28 (of 1-28)" ] ||
  fail "status items later: $(jq -c .items out)"
[ "$(jq -c '[.total.days_expected, .total.days_recorded, .total.site]' out)" = '[28,0,"LDS"]' ] || fail "status days: $(jq -c .total out)"
expect 0 "$L" status --db t.db --as-of "$later"
has "5 screened, 3 eligible, 2 randomised" out
has "daily records missing: days 1-28" out
grep -qi "levosimendan\|placebo\|arm" out && fail "status mentions an arm"
expect 2 "$L" status --db t.db --as-of 2015-13-01
has "not a date" err
expect 1 "$L" status --db t.db --site NOPE
expect 0 "$L" status --help
# a screening log entered later keeps its own date; recruitment counts stop at --as-of
expect 0 "$L" screen --db t.db --site LDS --patient Q9 --user lee --json-in '{"age":15,"screened_on":"2024-02-29"}'
[ "$(sqlite3 t.db "SELECT screened_at FROM screening WHERE patient='Q9'")" = 2024-02-29 ] || fail "screened_on not stored"
expect 0 "$L" status --db t.db --as-of 2024-03-01 --json
[ "$(jq -c '.total | [.screened, .randomised]' out)" = "[1,0]" ] || fail "status as of 2024-03-01: $(jq -c .total out)"
expect 1 "$L" screen --db t.db --site LDS --patient Q8 --user lee --json-in "{\"age\":15,\"screened_on\":\"$later\"}"
has "is after today" err
expect 1 "$L" screen --db t.db --site LDS --patient Q8 --user lee --json-in '{"age":15,"screened_on":"2023-02-29"}'
has "field 'screened_on': expected a date YYYY-MM-DD" err

# --- lock: nothing changes; allocations only with the key, only after lock
expect 1 "$L" export --db t.db --out ex_key --key t.key --user stat
has "only after database lock" err
expect 0 "$L" lock --db t.db --user mgr
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":66}' --user ann --reason late
has "locked" err
expect 1 "$L" randomize --db t.db --site LDS --patient Q9 --user lee
expect 0 "$L" export --db t.db --out ex_key --key t.key --user stat
[ "$(stat -c %a ex_key/allocations.csv)" = 600 ] || fail "allocations.csv mode"
[ "$(grep -c '"' ex_key/allocations.csv)" = 2 ] || fail "allocations rows: $(cat ex_key/allocations.csv)"
grep -q "\"P1\",\"LDN\",1,$pack,\"$arm\"" ex_key/allocations.csv || fail "allocations.csv disagrees with unblinding"

# --- export, import, export: byte-identical
expect 0 "$L" export --db t.db --out ex1
for f in meta sites users screening slots randomisations unblindings patients daily infusions outcomes adverse_events audit data_dictionary manifest; do
  [ -s "ex1/$f.csv" ] || fail "missing ex1/$f.csv"
done
[ -e ex1/allocations.csv ] && fail "allocations written without the key"
expect 0 "$L" import --db copy.db --from ex1
expect 0 "$L" export --db copy.db --out ex2
diff -r ex1 ex2 >/dev/null || fail "export -> import -> export differs"
expect 0 "$L" audit verify --db copy.db
expect 1 "$L" import --db copy.db --from ex1
has "already exists" err
# an edited export is refused by the imported audit trail, and no file is left
cp -r ex1 ex3
sed -i 's/suspected anaphylaxis/nothing/' ex3/unblindings.csv
expect 1 "$L" import --db bad2.db --from ex3
has "does not verify" err
[ ! -e bad2.db ] || fail "a failed import left its file"
sed -i '2s/^/x/' ex3/sites.csv
expect 1 "$L" import --db bad3.db --from ex3
has "sites.csv:2: column 'id'" err

echo "trial_flow: $fails failure(s)"
[ "$fails" = 0 ]
