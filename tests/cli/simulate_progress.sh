# leopards simulate --stop-after: a trial in progress (unlocked, N randomised, each
# patient's data only up to the day reached, the calendar ending today), and the
# account commands (one-time password from stdin, never an argument; deactivation).
source "$(dirname "$0")/lib.bash"

db="$TMP/t.db"
"$LP" simulate --db "$db" --key "$TMP/t.key" --patients 120 --screened 400 --sites 5 --stop-after 60 --quiet \
  --json >"$TMP/sim.json"
same "randomised" "$(jq .randomised "$TMP/sim.json")" 60
today=$(date -u +%F)
q() { sqlite3 "$db" "$1"; }
same "not locked" "$(q "SELECT count(*) FROM meta WHERE key='locked_at'")" 0
same "randomised in the file" "$(q "SELECT count(*) FROM randomisations")" 60
last=$(q "SELECT substr(max(randomized_at),1,10) FROM randomisations")
yesterday=$(date -u -d yesterday +%F)
checks=$((checks + 1))
[ "$last" = "$today" ] || [ "$last" = "$yesterday" ] || fail "the last randomisation is on $last, not today ($today)"
same "nothing dated after now" "$(q "SELECT count(*) FROM audit WHERE at > strftime('%Y-%m-%dT%H:%M:%fZ','now')")" 0
same "no screening after now" "$(q "SELECT count(*) FROM screening WHERE screened_at > strftime('%Y-%m-%dT%H:%M:%fZ','now')")" 0
# each patient's daily records only for the complete days since randomisation
same "no daily record beyond the days reached" "$(q "SELECT count(*) FROM daily d JOIN randomisations r USING(patient)
  WHERE julianday(r.randomized_at) + d.day > julianday('now')")" 0
same "no outcome before 28 days" "$(q "SELECT count(*) FROM outcomes o JOIN randomisations r USING(patient)
  WHERE julianday('now') - julianday(r.randomized_at) < 28 AND coalesce(o.consent_withdrawn,0)=0")" 0
checks=$((checks + 1))
[ "$(q "SELECT count(*) FROM outcomes")" -gt 0 ] || fail "no outcome at all: the early patients' should be there"
"$LP" audit verify --db "$db" >/dev/null || fail "the trail of a trial in progress verifies"
# the simulated adverse events carry their expectedness: no edit check asks for it
checks=$((checks + 1))
[ "$(q "SELECT count(*) FROM adverse_events")" -gt 0 ] || fail "no adverse event in the simulated trial"
same "every adverse event's expectedness" "$(q "SELECT count(*) FROM adverse_events WHERE expected IS NULL")" 0
same "no query on expectedness" "$(q "SELECT count(*) FROM queries WHERE field='expected'")" 0
# a trial in progress takes more patients
printf '%s\n' '{"age":60,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":26,"paco2_kpa":4.1,
 "ventilated":1,"wbc":15,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,
 "child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight":80,"pregnant":0,
 "levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0}' >"$TMP/in.json"
"$LP" screen --db "$db" --site ICU01 --patient NEW1 --user inv-ICU01 --json-in "$(cat "$TMP/in.json")" >/dev/null
"$LP" record consent --db "$db" --patient NEW1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user inv-ICU01 >/dev/null
"$LP" randomize --db "$db" --site ICU01 --patient NEW1 --user inv-ICU01 >/dev/null
same "randomised after the stop" "$(q "SELECT count(*) FROM randomisations")" 61
expect_fail 2 "at most --patients" -- "$LP" simulate --db "$TMP/u.db" --key "$TMP/u.key" --patients 20 --stop-after 30

# accounts: the password comes from standard input only
expect_fail 2 "unknown option|not an option|unknown" -- "$LP" user passwd --db "$db" --name inv-ICU01 --user manager \
  --password secret-secret-1
printf 'short\n' | expect_fail 2 "at least 12" -- "$LP" user passwd --db "$db" --name inv-ICU01 --user manager
printf 'tall-river-green-41\n' | expect_fail 1 "may not manage users" -- "$LP" user passwd --db "$db" --name inv-ICU01 \
  --user inv-ICU02
printf 'tall-river-green-41\n' | "$LP" user passwd --db "$db" --name inv-ICU01 --user manager >/dev/null
same "argon2id hash" "$(q "SELECT substr(hash,1,10) FROM credentials")" '$argon2id$'
same "one-time" "$("$LP" user list --db "$db" --json | jq -r '.[] | select(.name=="inv-ICU01") | .state')" \
  "one-time password"
checks=$((checks + 1))
! q "SELECT * FROM audit" | grep -q 'argon2\|tall-river' || fail "a password or hash reached the audit trail"
"$LP" user deactivate --db "$db" --name inv-ICU01 --reason "left the unit" --user manager >/dev/null
expect_fail 1 "deactivated" -- "$LP" randomize --db "$db" --site ICU01 --patient NEW1 --user inv-ICU01
"$LP" audit verify --db "$db" >/dev/null || fail "the trail verifies after the account changes"
done_checks
