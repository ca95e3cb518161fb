#!/usr/bin/env bash
# Tampering with the plain sqlite3 tool is detected by 'leopards audit verify': for
# EVERY audit entry an edit, a deletion and a swap with its neighbour; for EVERY row of
# every audited table an edit and a deletion; swaps of sealed arms and packs between
# slots; a forged insert. Each tampered copy must fail verification (exit 1) with a
# message naming the entry or the row. Removing the newest entry together with the row
# it covers is caught by an anchor recorded outside the database (--anchor).
set -u
L="$1"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
checked=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
q() { "$L" "$@" >/dev/null 2>log || { echo "setup failed: $* :: $(cat log)"; exit 1; }; }
q trial init --db t.db --sites 2 --user mgr
q user add --db t.db --name stat --role statistician --user mgr
q user add --db t.db --name ann --role investigator --site S01 --user mgr
q list generate --db t.db --key t.key --user stat --initial-per-site 4
for p in P1 P2; do
  q screen --db t.db --site S01 --patient $p --user ann --json-in "{$ELIG}"
  q record consent --db t.db --patient $p --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user ann
  q randomize --db t.db --site S01 --patient $p --user ann
done
q screen --db t.db --site S01 --user ann --json-in '{"age":30,"infection":0}'
q record baseline --db t.db --json-in '{"patient":"P1","age":64,"sex":"male","weight_kg":80.5,"fio2":0.4,"pao2":90}' --user ann
q record baseline --db t.db --json-in '{"patient":"P1","weight_kg":81}' --user ann --reason "re-weighed"
# day 1 is the first 24 hours after randomisation: recorded as if two days later
env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +2d "$L" record daily --db t.db --json-in '{"patient":"P1","day":1,"map":65}' --user ann >/dev/null 2>log ||
  { echo "setup failed: record daily :: $(cat log)"; exit 1; }
q record outcome --db t.db --json-in '{"patient":"P2","died":0}' --user ann
q record ae --db t.db --json-in "{\"patient\":\"P2\",\"onset\":\"$(date -u +%Y-%m-%d)\",\"category\":\"other\",\"term\":\"rash\",\"serious\":0}" --user ann
q record infusion --db t.db --json-in '{"patient":"P2","hour":0,"event":"start","dose":0.1}' --user ann
q unblind --db t.db --key t.key --patient P2 --reason "bleeding" --user stat --requested-by ann
"$L" audit verify --db t.db >log 2>&1 || { echo "untampered database does not verify: $(cat log)"; exit 1; }
# make sure the database file alone holds everything (no -wal content left aside)
sqlite3 t.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
N=$(sqlite3 t.db "SELECT max(id) FROM audit")

# tamper NAME SQL PATTERN: apply SQL to a copy; verify must fail and print PATTERN
tamper() {
  local name=$1 sql=$2 pattern=$3
  rm -f c.db c.db-wal c.db-shm
  cp t.db c.db
  if ! sqlite3 c.db "$sql" 2>log; then
    fail "$name: sqlite3 refused: $(cat log)"
    return
  fi
  checked=$((checked + 1))
  "$L" audit verify --db c.db >out 2>err
  local rc=$?
  [ $rc = 1 ] || { fail "$name: not detected (exit $rc)"; return; }
  grep -q -- "$pattern" out || fail "$name: message does not name '$pattern': $(head -3 out)"
}

# every audit entry: edited, deleted, swapped with the next one
for i in $(seq 1 "$N"); do
  tamper "edit entry $i" "UPDATE audit SET reason = coalesce(reason,'') || '.' WHERE id=$i" "entry $i "
  tamper "edit new value of entry $i" "UPDATE audit SET new = replace(new, '\"id\"', '\"id\" ') WHERE id=$i AND new IS NOT NULL; UPDATE audit SET at = at || 'x' WHERE id=$i AND new IS NULL" "entry $i "
  if [ "$i" -lt "$N" ]; then
    tamper "delete entry $i" "DELETE FROM audit WHERE id=$i" "entry $i"
    j=$((i + 1))
    tamper "swap entries $i and $j" "UPDATE audit SET id=-1 WHERE id=$i; UPDATE audit SET id=$i WHERE id=$j; UPDATE audit SET id=$j WHERE id=-1" "entry $i "
  else
    # the newest entry alone: its row no longer matches (or has no entry)
    tamper "delete entry $i (newest)" "DELETE FROM audit WHERE id=$i" "outside leopards"
  fi
done

# every row of every audited table: edited, deleted
edit_sql() {
  case $1 in
    meta) echo "value = value || 'x'" ;;
    sites) echo "name = name || 'x'" ;;
    users) echo "created_at = created_at || 'x'" ;;
    screening) echo "eligible = 1 - eligible" ;;
    slots) echo "nonce = randomblob(24)" ;;
    randomisations) echo "randomized_by = 'mallory'" ;;
    unblindings) echo "reason = 'none'" ;;
    patients|daily|outcomes|adverse_events|infusions) echo "patient = patient" ;;
  esac
}
for tbl in meta sites users screening slots randomisations unblindings patients daily outcomes adverse_events infusions; do
  for id in $(sqlite3 t.db "SELECT id FROM $tbl"); do
    set_clause=$(edit_sql $tbl)
    case $tbl in
      patients) set_clause="weight_kg = 80.75" ;;
      daily) set_clause="map = 64" ;;
      outcomes) set_clause="died = 1" ;;
      adverse_events) set_clause="serious = 1" ;;
      infusions) set_clause="dose = 0.2" ;;
    esac
    tamper "edit $tbl row $id" "UPDATE $tbl SET $set_clause WHERE id=$id" "$tbl row $id was changed outside leopards"
    tamper "delete $tbl row $id" "PRAGMA foreign_keys=OFF; DELETE FROM $tbl WHERE id=$id" "$tbl row $id is missing"
  done
done
# a change in the last digit of a real is seen (reals are compared exactly)
tamper "nudge a real" "UPDATE patients SET weight_kg = 81.00000000000001 WHERE id=1" "field weight_kg"
# a typed change (integer 1 to real 1.0 is impossible in STRICT tables; text to other text)
tamper "swap sealed arms of two slots" "UPDATE slots SET sealed = (SELECT sealed FROM slots WHERE id=2) WHERE id=1" "slots row 1"
tamper "swap packs of two randomisations" "UPDATE randomisations SET pack = -pack WHERE id=1; UPDATE randomisations SET pack = (SELECT -pack FROM randomisations WHERE id=1) WHERE id=2; UPDATE randomisations SET pack = (SELECT pack FROM slots WHERE site_id=1 AND seq=2) WHERE id=1" "randomisations row 1"
tamper "forged randomisation" "PRAGMA foreign_keys=OFF; INSERT INTO randomisations(patient, site_id, seq, pack, randomized_at, randomized_by, screening_id) VALUES('X9', 1, 3, (SELECT pack FROM slots WHERE site_id=1 AND seq=3), '2026-01-01T00:00:00.000Z', 'ann', 3)" "no audit entry"
# a change that is undone leaves nothing to flag
rm -f c.db*
cp t.db c.db
sqlite3 c.db "INSERT INTO meta(key, value) VALUES('locked_at', 'x'); DELETE FROM meta WHERE key='locked_at'"
"$L" audit verify --db c.db >/dev/null 2>&1 || fail "a change undone was flagged"
# unlocking a locked database by deleting the lock setting
cp t.db locked.db
"$L" lock --db locked.db --audit-key t.db.audit-key --user mgr >/dev/null 2>&1 || fail "lock"
sqlite3 locked.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
rm -f c.db*
cp locked.db c.db
sqlite3 c.db "DELETE FROM meta WHERE key IN ('locked_at', 'locked_by')"
"$L" audit verify --db c.db >out 2>&1
[ $? = 1 ] && grep -q "meta row .* is missing" out || fail "unlocking not detected: $(cat out)"
checked=$((checked + 1))

# the newest entry and the row it covers removed together: caught by an anchor
head=$("$L" audit verify --db t.db --json | jq -r .head)
rm -f c.db*
cp t.db c.db
sqlite3 c.db "PRAGMA foreign_keys=OFF; DELETE FROM unblindings; DELETE FROM audit WHERE id=$N"
"$L" audit verify --db c.db >/dev/null 2>&1 && echo "note: removing the newest entry with its row verifies without an anchor (expected)"
"$L" audit verify --db c.db --anchor "$N:$head" >out 2>&1
[ $? = 1 ] && grep -q "anchor" out || fail "anchor did not catch the removed newest entry: $(cat out)"

echo "trial_tamper: $checked tampered copies checked, $fails failure(s)"
[ "$fails" = 0 ]
