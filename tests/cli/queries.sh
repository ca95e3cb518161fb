#!/usr/bin/env bash
# Data queries, source data verification and e-signatures from the command line: a soft
# edit check opens a query; the site answers by explaining or by correcting the value
# (with a reason, through the same checks); a monitor closes and re-opens; the lock is
# refused while a query is not closed and allowed with a recorded override reason; a
# change clears a verification and invalidates a signature, saying so; a monitor cannot
# edit clinical data; an investigator of another site cannot answer.
set -u
L="$1"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {
  local want=$1
  shift
  "$@" >out 2>err </dev/null
  local got=$?
  [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat err)"
}
# the same with standard input from the file $IN (a password)
expect_in() {
  local want=$1
  shift
  "$@" >out 2>err <"$IN"
  local got=$?
  [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat err)"
}
has() { grep -q -- "$1" "$2" || fail "'$1' not in $2: $(cat "$2")"; }
hasnt() { ! grep -q -- "$1" "$2" || fail "'$1' in $2: $(cat "$2")"; }
jqo() { jq -r "$1" out; }

ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
PW='correct horse battery 42'
printf '%s\n' "$PW" >pw
printf 'wrong password entirely\n' >badpw

expect 0 "$L" trial init --db t.db --sites 2 --user mgr
expect 0 "$L" user add --db t.db --name stat --role statistician --user mgr
expect 0 "$L" user add --db t.db --name nurse --role investigator --site S01 --user mgr
expect 0 "$L" user add --db t.db --name pi1 --role investigator --site S01 --user mgr --pi --json
[ "$(jqo .pi)" = true ] || fail "user add --pi: $(cat out)"
expect 0 "$L" user add --db t.db --name other --role investigator --site S02 --user mgr
expect 0 "$L" user add --db t.db --name mon --role monitor --user mgr
expect 2 "$L" user add --db t.db --name x --role monitor --user mgr --pi
expect 0 "$L" list generate --db t.db --key t.key --user stat --initial-per-site 8
for p in P1 P2; do
  expect 0 "$L" screen --db t.db --site S01 --patient $p --user nurse --json-in "{$ELIG}"
  expect 0 "$L" record consent --db t.db --patient $p --consent-by patient --consented-at 2020-01-01T00:00 \
    --taken-by nurse --form-version 1 --user nurse
  expect 0 "$L" randomize --db t.db --site S01 --patient $p --user nurse
done

# --- a soft check opens a query, through the command line
expect 0 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":64,"sex":"male","map":30,"heart_rate":90}' --user nurse
has "warning: baseline P1, map: 30 mmHg is unusually low" err
expect 0 "$L" query list --db t.db --json
[ "$(jqo length)" = 1 ] || fail "one query from the soft check: $(cat out)"
[ "$(jqo '.[0].state')" = open ] && [ "$(jqo '.[0].origin')" = check ] && [ "$(jqo '.[0].field')" = map ] &&
  [ "$(jqo '.[0].form')" = baseline ] && [ "$(jqo '.[0].opened_by')" = nurse ] || fail "check query: $(cat out)"
q1=$(jqo '.[0].id')
# saving the same unusual value again opens no second query on the field
expect 0 "$L" record baseline --db t.db --json-in '{"patient":"P1","map":31}' --user nurse --reason "re-read the chart"
expect 0 "$L" query list --db t.db --state open --json
[ "$(jqo length)" = 1 ] || fail "a second query on the same field: $(cat out)"

# --- reason for change: an edit of saved data without one is refused
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":65}' --user nurse
has "needs a reason" err

# --- the monitor reads only: no clinical data
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P2","age":50}' --user mon
has "may not record data" err
expect 1 "$L" record baseline --db t.db --json-in '{"patient":"P1","age":66}' --user mon --reason "monitor edit"
has "may not record data" err

# --- answering: only the patient's site; closing: not the site
expect 1 "$L" query answer --db t.db --id "$q1" --text "checked" --user other
has "another site" err
expect 1 "$L" query answer --db t.db --id "$q1" --text "checked" --user mon
has "may not answer data queries" err
expect 1 "$L" query close --db t.db --id "$q1" --user nurse
has "may not close data queries" err
expect 2 "$L" query answer --db t.db --id "$q1" --text "fixed" --value 65 --user nurse
has "needs --reason" err
expect 0 "$L" query answer --db t.db --id "$q1" --text "the chart says 31: a transient low under induction" --user nurse
expect 1 "$L" query answer --db t.db --id "$q1" --text "again" --user nurse
has "answered already" err
expect 0 "$L" query list --db t.db --patient P1 --json
[ "$(jqo '.[0].state')" = answered ] && [ "$(jqo '.[0].answered_by')" = nurse ] || fail "answered: $(cat out)"

# --- the monitor re-opens (why), the site corrects the value with a reason
expect 0 "$L" query reopen --db t.db --id "$q1" --text "the source shows 61, not 31" --user mon
expect 0 "$L" query answer --db t.db --id "$q1" --text "corrected from the source" --value 61 --reason "transcription error" --user nurse
expect 0 "$L" query list --db t.db --patient P1 --json
[ "$(jqo '.[0].state')" = answered ] && [ "$(jqo '.[0].old_value')" = 31 ] && [ "$(jqo '.[0].new_value')" = 61 ] &&
  [ "$(jqo '.[0].reopened')" = 1 ] || fail "corrected: $(cat out)"
expect 0 "$L" export --db t.db --out ex
grep -q ',61.0,90.0,' ex/patients.csv || fail "the value was not corrected: $(cat ex/patients.csv)"
# a correction goes through the same edit checks (a MAP of 500 is refused, nothing changes);
# a re-open as the issue spells it: --id and --user only
expect 0 "$L" query reopen --db t.db --id "$q1" --user mon
expect 1 "$L" query answer --db t.db --id "$q1" --text "typo" --value 500 --reason "x" --user nurse
has "outside the plausible range" err
expect 0 "$L" query list --db t.db --patient P1 --json
[ "$(jqo '.[0].state')" = open ] || fail "a refused correction changed the query: $(cat out)"
expect 0 "$L" query answer --db t.db --id "$q1" --text "61 is right" --user nurse
expect 0 "$L" query close --db t.db --id "$q1" --user mon
expect 0 "$L" query list --db t.db --state closed --json
[ "$(jqo '.[0].closed_by')" = mon ] || fail "closed: $(cat out)"
expect 1 "$L" query close --db t.db --id "$q1" --user mon
has "closed already" err

# --- a query by hand, by the monitor
expect 2 "$L" query open --db t.db --patient P1 --form baseline --field bogus --text "?" --user mon
has "not a field of the baseline form" err
expect 1 "$L" query open --db t.db --patient P2 --form baseline --field age --text "?" --user mon
has "has no baseline record" err
expect 1 "$L" query open --db t.db --patient P1 --form baseline --field age --text "age?" --user nurse
has "may not raise data queries" err
expect 0 "$L" query open --db t.db --patient P1 --form baseline --field age --text "age against the ID card?" --user mon --json
q2=$(jqo .id)
expect 0 "$L" query list --db t.db --state open
has "query $q2 \[open\] P1 (site S01), baseline, age: age against the ID card?" out
expect 0 "$L" status --db t.db
has "data queries: 1 open, 0 answered (not closed)" out
expect 0 "$L" status --db t.db --json
[ "$(jqo .data_quality.queries_open)" = 1 ] || fail "status JSON: $(cat out)"

# --- the lock is refused while a query is open, allowed with a recorded override
cp t.db t2.db
cp t.db.audit-key t2.db.audit-key 2>/dev/null
expect 1 "$L" lock --db t2.db --user stat
has "1 query is not closed (1 open, 0 answered)" err
has "override-reason" err
expect 0 "$L" lock --db t2.db --user stat --override-reason "data cut-off for the interim analysis" --json
[ "$(jqo .locked)" = true ] || fail "override lock: $(cat out)"
expect 0 "$L" audit log --db t2.db
has "database locked with 1 queries not closed (1 open, 0 answered): data cut-off for the interim analysis" out
expect 0 "$L" audit verify --db t2.db

# --- source data verification: by the monitor, cleared by a change (said and audited)
expect 1 "$L" verify --db t.db --patient P1 --form baseline --user nurse
has "may not verify source data" err
expect 1 "$L" verify --db t.db --patient P2 --form baseline --user mon
has "no baseline record" err
expect 0 "$L" verify --db t.db --patient P1 --form baseline --user mon
expect 1 "$L" verify --db t.db --patient P1 --form baseline --user mon
has "verified by mon at" err
expect 0 "$L" sdv --db t.db --json
[ "$(jqo .total.verified)" = 1 ] && [ "$(jqo .total.forms)" = 1 ] || fail "sdv after verify: $(cat out)"
[ "$(jqo '.sites[0].site')" = S01 ] && [ "$(jqo '.patients[0].verified')" = 1 ] || fail "sdv per site/patient: $(cat out)"

# --- the PI signs the casebook (password again); an edit invalidates it, visibly
expect_in() { local want=$1; shift; "$@" >out 2>err <"$IN"; local got=$?; [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat err)"; }
printf '%s\n' "$PW" | "$L" user passwd --db t.db --name pi1 --user mgr >/dev/null 2>err || fail "passwd: $(cat err)"
printf '%s\n' "$PW" | "$L" user passwd --db t.db --name nurse --user mgr >/dev/null 2>err || fail "passwd nurse"
IN=pw expect_in 1 "$L" sign --db t.db --patient P1 --user nurse
has "not the principal investigator of site S01" err
IN=badpw expect_in 1 "$L" sign --db t.db --patient P1 --user pi1
has "refused\|wrong\|not" err
IN=pw expect_in 1 "$L" sign --db t.db --patient P1 --user other
has "another site" err
IN=pw expect_in 0 "$L" sign --db t.db --patient P1 --user pi1 --json
[ "$(jqo .meaning)" = "I confirm these data are complete and accurate" ] && [ "$(jqo .printed_name)" = pi1 ] &&
  [ "$(jqo '.content_hash|length')" = 64 ] || fail "signature: $(cat out)"
expect 0 "$L" sdv --db t.db --patient P1
# no full name recorded: the account name is printed, and the signature says so
has "signed by pi1 (principal investigator, site S01; account name shown: no full name recorded) at" out
expect 0 "$L" record baseline --db t.db --json-in '{"patient":"P1","heart_rate":95}' --user nurse --reason "late lab sheet"
has "note: .*verified by mon at .*this change clears the verification" err
has "note: .*signed by pi1 at .*this change invalidates the signature" err
expect 0 "$L" sdv --db t.db --patient P1 --json
[ "$(jqo .total.verified)" = 0 ] || fail "verification not cleared: $(cat out)"
grep -q "signature invalidated by a change on .* (by nurse)" <<<"$(jqo '.patients[0].signature')" || fail "signature state: $(cat out)"
[ "$(jqo '.forms[0].cleared_by')" = nurse ] && [ "$(jqo '.forms[0].cleared_reason')" = "late lab sheet" ] || fail "cleared: $(cat out)"
expect 0 "$L" sdv --db t.db --patient P1
has "signature invalidated by a change on" out
has "the verification was cleared by a change on" out
expect 0 "$L" audit log --db t.db --patient P1
has "source data verification cleared by a change: late lab sheet" out
has "signature invalidated by a change" out
has "electronic signature: I confirm these data are complete and accurate" out

# --- the printed name: a full name recorded by the trial manager (audited) is what a
# signature shows from then on
expect 1 "$L" user edit --db t.db --name pi1 --full-name "Dr Jane Smith" --user nurse
has "may not record users' full names" err
expect 2 "$L" user edit --db t.db --name pi1 --full-name "$(printf 'Dr\033[31m Smith')" --user mgr
has "control character" err
expect 2 "$L" user edit --db t.db --name pi1 --user mgr
expect 0 "$L" user edit --db t.db --name pi1 --full-name "  Dr Jane Smith " --user mgr --json
[ "$(jqo .full_name)" = "Dr Jane Smith" ] && [ "$(jqo .pi)" = true ] || fail "user edit: $(cat out)"
[ "$(sqlite3 t.db "SELECT json_extract(old,'\$.full_name') IS NULL AND json_extract(new,'\$.full_name')='Dr Jane Smith' FROM audit WHERE tbl='users' AND reason='full name recorded'")" = 1 ] ||
  fail "the full name is not audited with old and new values"
expect 0 "$L" user list --db t.db --json
[ "$(jqo '.[] | select(.name=="pi1") | .full_name')" = "Dr Jane Smith" ] || fail "user list: $(cat out)"
IN=pw expect_in 0 "$L" sign --db t.db --patient P1 --user pi1 --json
[ "$(jqo .printed_name)" = "Dr Jane Smith" ] || fail "the signature's printed name: $(cat out)"
expect 0 "$L" sdv --db t.db --patient P1
has "signed by Dr Jane Smith (principal investigator, site S01) at" out
grep -q "no full name recorded" out && fail "a signature with a full name says none was recorded: $(cat out)"
expect 0 "$L" user add --db t.db --name pi2 --role investigator --site S02 --full-name "Prof. Ana María Ruiz" --user mgr --json
[ "$(jqo .full_name)" = "Prof. Ana María Ruiz" ] || fail "user add --full-name: $(cat out)"
expect 0 "$L" user edit --db t.db --name stat --full-name "Dr Sam Statistician" --user mgr

# --- the lock is signed by whoever locks (a user with a password gives it)
expect 0 "$L" query close --db t.db --id "$q2" --text "confirmed on site" --user mon
printf '%s\n' "$PW" | "$L" user passwd --db t.db --name stat --user mgr >/dev/null 2>err || fail "passwd stat"
IN=badpw expect_in 1 "$L" lock --db t.db --user stat
expect 2 "$L" lock --db t.db --user stat
has "the lock is signed" err
IN=pw expect_in 0 "$L" lock --db t.db --user stat --json
[ "$(jqo .signed)" = true ] || fail "lock not signed: $(cat out)"
grep -q "I approve the lock of this database" <<<"$(jqo .signature)" || fail "lock meaning: $(cat out)"
grep -q "signed by Dr Sam Statistician" <<<"$(jqo .signature)" || fail "lock's printed name: $(cat out)"
expect 0 "$L" audit verify --db t.db
expect 0 "$L" export --db t.db --out ex2
for f in queries verifications site_pis signatures; do [ -s ex2/$f.csv ] || fail "export lacks $f.csv"; done
expect 0 "$L" import --db re.db --from ex2
expect 0 "$L" query list --db re.db --json
[ "$(jqo length)" = 2 ] || fail "import: queries $(cat out)"

if [ "$fails" = 0 ]; then echo "queries: all checks passed"; else exit 1; fi
