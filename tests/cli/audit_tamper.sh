#!/usr/bin/env bash
# The tamper suite of the keyed audit trail: direct edits of a trial file with the
# plain sqlite3 tool (and an adversary's script that rebuilds the unkeyed hash chain
# byte for byte), each detected by 'leopards audit verify --audit-key K --checkpoint F'
# with exit 1 and a message naming the first bad entry or schema object. Each kind is
# one line below; the run fails if fewer than 30 kinds were checked. It also shows the
# limits of the unkeyed check: a re-hashed forgery passes without the key.
set -u
L="$1"
SRC=$(cd "$2" && pwd)
FORGE="/usr/bin/python3 $SRC/cli/audit_forge.py"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
kinds=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
q() { "$L" "$@" >/dev/null 2>log || { echo "setup failed: $* :: $(cat log)"; exit 1; }; }
# a daily record is accepted once its 24 hours are over: those run some days ahead
fk() { env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +10d "$L" "$@"; }
qf() {
  env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +3d "$L" "$@" >/dev/null 2>log ||
    { echo "setup failed: $* :: $(cat log)"; exit 1; }
}
q trial init --db t.db --sites 2 --user mgr
[ -f t.db.audit-key ] || { echo "trial init made no audit key beside the database"; exit 1; }
[ "$(stat -c %a t.db.audit-key)" = 600 ] || fail "the audit key file is not mode 0600"
q user add --db t.db --name stat --role statistician --user mgr
q user add --db t.db --name ann --role investigator --site S01 --user mgr
q list generate --db t.db --key t.key --user stat --initial-per-site 4
for p in P1 P2; do
  q screen --db t.db --site S01 --patient $p --user ann --json-in "{$ELIG}"
  q record consent --db t.db --patient $p --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user ann
  q randomize --db t.db --site S01 --patient $p --user ann
done
q record baseline --db t.db --json-in '{"patient":"P1","age":64,"sex":"male","weight_kg":80.5}' --user ann
qf record daily --db t.db --json-in '{"patient":"P1","day":1,"map":65,"gcs":9}' --user ann
q record outcome --db t.db --json-in '{"patient":"P2","died":0}' --user ann
q record ae --db t.db --json-in "{\"patient\":\"P2\",\"onset\":\"$(date -u +%Y-%m-%d)\",\"category\":\"other\",\"term\":\"rash\",\"serious\":0}" --user ann
q record infusion --db t.db --json-in '{"patient":"P2","hour":0,"event":"start","dose":0.1}' --user ann
sqlite3 t.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
cp t.db older.db                 # an older copy, before the last changes
q audit checkpoint --db t.db --append cp.txt
q unblind --db t.db --key t.key --patient P2 --reason "bleeding" --requested-by ann --user stat
qf record daily --db t.db --json-in '{"patient":"P1","day":2,"map":70}' --user ann
q audit checkpoint --db t.db --append cp.txt
[ "$(wc -l <cp.txt)" = 2 ] || fail "two checkpoints should make two lines: $(cat cp.txt)"
sqlite3 t.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
K="--audit-key t.db.audit-key --checkpoint cp.txt"
"$L" audit verify --db t.db $K >out 2>&1 || { echo "the untouched trial does not verify: $(cat out)"; exit 1; }
grep -q "MACs checked" out || fail "the keyed check does not say that it checked MACs: $(cat out)"
N=$(sqlite3 t.db "SELECT max(id) FROM audit")
KF=$(sqlite3 t.db "SELECT min(id) FROM audit WHERE mac IS NOT NULL")
[ "$KF" -le 11 ] || fail "the trail is keyed only from entry $KF" # the trial's creation (its settings, with the two of consent) comes first

# a write without the audit key is refused once the trial has one
cp t.db nokey.db
if fk record daily --db nokey.db --json-in '{"patient":"P1","day":3,"map":70}' --user ann >/dev/null 2>log; then
  fail "a write without the audit key was accepted"
else
  grep -q "audit key" log || fail "the refusal does not mention the audit key: $(cat log)"
fi
[ "$(sqlite3 nokey.db 'SELECT count(*) FROM daily')" = 2 ] || fail "the refused write changed the file"
rm -f nokey.db*

# check NAME PATTERN: verify the tampered copy c.db
check() {
  local name=$1 pattern=$2
  kinds=$((kinds + 1))
  "$L" audit verify --db c.db $K >out 2>err
  local rc=$?
  [ $rc = 1 ] || { fail "$name: not detected (exit $rc): $(head -3 out) $(cat err)"; return; }
  cat err >>out
  [ -n "${VERBOSE:-}" ] && echo "$name: $(sed -n 2p out)"
  grep -q -- "$pattern" out || fail "$name: the first problem does not name '$pattern': $(sed -n 2p out)"
}
fresh() { rm -f c.db c.db-wal c.db-shm; cp "${1:-t.db}" c.db; }
# tamper NAME SQL PATTERN: SQL on a fresh copy, then check
tamper() {
  fresh
  sqlite3 c.db "$2" 2>log || { fail "$1: sqlite3 refused: $(cat log)"; return; }
  check "$1" "$3"
}
# forge NAME PATTERN CMD...: the adversary's script on a fresh copy, then check
forge() {
  local name=$1 pattern=$2
  shift 2
  fresh
  $FORGE c.db "$@" 2>log || { fail "$name: the forging script failed: $(cat log)"; return; }
  check "$name" "$pattern"
}

# --- the chain ---
tamper "edit an entry's reason" "UPDATE audit SET reason='x' WHERE id=12" "entry 12 "
tamper "edit an entry's new value" "UPDATE audit SET new=replace(new,'\"map\":65','\"map\":95') WHERE tbl='daily' AND row_id=1" "entry "
tamper "edit an entry's user" "UPDATE audit SET user='mallory' WHERE id=3" "entry 3 "
tamper "delete an entry" "DELETE FROM audit WHERE id=10" "entry 10"
tamper "reorder two entries" "UPDATE audit SET id=-1 WHERE id=14; UPDATE audit SET id=14 WHERE id=15; UPDATE audit SET id=15 WHERE id=-1" "entry 14 "
tamper "insert a copied entry" "INSERT INTO audit SELECT $((N + 1)), at, user, action, tbl, row_id, patient, old, new, reason, hash, hash, mac FROM audit WHERE id=$N" "entry $((N + 1))"
tamper "remove one MAC" "UPDATE audit SET mac=NULL WHERE id=$((N - 2))" "entry $((N - 2)) carries no MAC"
tamper "move a MAC to another entry" "UPDATE audit SET mac=(SELECT mac FROM audit WHERE id=$N) WHERE id=$((N - 1))" "entry $((N - 1)) "
fresh
sqlite3 c.db "UPDATE audit SET reason='forged' WHERE id=20" && $FORGE c.db rehash || fail "forging failed"
"$L" audit verify --db c.db >/dev/null 2>&1 && echo "note: an edit with the unkeyed chain rebuilt passes the unkeyed check (its documented limit)"
check "edit an entry and re-hash the whole chain" "entry 20 "
fresh
sqlite3 c.db "UPDATE audit SET reason='forged' WHERE id=20" && $FORGE c.db rehash --strip-macs || fail "forging failed"
check "edit, re-hash and strip every MAC" "checkpoint line 1"
forge "append an entry hashed without the key" "carries no MAC" append-unkeyed
fresh
sqlite3 c.db "DELETE FROM audit WHERE id >= $KF; DELETE FROM meta WHERE key='audit_key'" && $FORGE c.db rehash --strip-macs || fail "forging failed"
rm -f cp-none.txt
"$L" audit verify --db c.db --audit-key t.db.audit-key >out 2>&1
[ $? = 1 ] && grep -q "carries a MAC" out || fail "a trail cut back to before its key verified under the key: $(head -3 out)"
kinds=$((kinds + 1))

# --- allocations ---
fresh
$FORGE c.db swap-slots P1 P2 || fail "the forging script failed"
"$L" audit verify --db c.db >/dev/null 2>&1 && echo "note: two patients' slots swapped with the trail re-hashed pass the unkeyed check (its documented limit)"
check "swap two patients' slots and re-hash the chain" "randomisations row\|entry "
tamper "swap two sealed slots' ciphertexts" "UPDATE slots SET nonce=(SELECT nonce FROM slots WHERE id=2), sealed=(SELECT sealed FROM slots WHERE id=2) WHERE id=1" "slots row 1"
tamper "move a slot to another site" "UPDATE slots SET site_id=2, seq=99 WHERE id=3" "slots row 3"
tamper "give a patient another pack" "UPDATE randomisations SET pack=pack+1 WHERE id=1" "randomisations row 1"

# --- rows ---
tamper "promote an investigator to manager" "UPDATE users SET role='manager' WHERE name='ann'" "users row"
tamper "edit a daily record" "UPDATE daily SET gcs=15 WHERE id=1" "daily row 1"
tamper "edit the audit key's setting" "UPDATE meta SET value=value || '0' WHERE key='audit_key'" "meta row"
tamper "delete an adverse event" "DELETE FROM adverse_events" "adverse_events row 1 is missing"
tamper "insert a row without an entry" "INSERT INTO sites(code, name) VALUES('S9', 'x')" "no audit entry"
tamper "delete an unblinding" "DELETE FROM unblindings" "unblindings row 1 is missing"

# --- the schema ---
for tbl in meta sites users screening slots randomisations unblindings patients daily infusions outcomes adverse_events audit; do
  tamper "drop table $tbl" "PRAGMA foreign_keys=OFF; DROP TABLE $tbl" "table $tbl is missing"
done
tamper "add a trigger" "CREATE TRIGGER gcs15 AFTER INSERT ON daily BEGIN UPDATE daily SET gcs=15 WHERE id=new.id; END" "trigger 'gcs15'"
tamper "add a view" "CREATE VIEW v_arms AS SELECT * FROM slots" "view 'v_arms'"
tamper "add a column" "ALTER TABLE users ADD COLUMN note TEXT" "extra column 'note'"
tamper "add an index" "CREATE INDEX i_daily ON daily(gcs)" "index 'i_daily'"
tamper "add a table" "CREATE TABLE shadow(x)" "table 'shadow'"
tamper "drop a column" "ALTER TABLE adverse_events DROP COLUMN description" "lost its column 'description'"
tamper "drop a uniqueness constraint" "PRAGMA foreign_keys=OFF; CREATE TABLE s2(id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id), seq INTEGER NOT NULL, pack INTEGER NOT NULL UNIQUE, nonce BLOB NOT NULL, sealed BLOB NOT NULL) STRICT; INSERT INTO s2 SELECT * FROM slots; DROP TABLE slots; ALTER TABLE s2 RENAME TO slots" "UNIQUE constraint of table slots on (site_id, seq)"
tamper "drop a reference" "PRAGMA foreign_keys=OFF; CREATE TABLE u2(id INTEGER PRIMARY KEY, patient TEXT NOT NULL, unblinded_at TEXT NOT NULL, unblinded_by TEXT NOT NULL, reason TEXT NOT NULL) STRICT; INSERT INTO u2 SELECT * FROM unblindings; DROP TABLE unblindings; ALTER TABLE u2 RENAME TO unblindings" "unblindings has lost its reference randomisations"
tamper "drop a CHECK constraint" "PRAGMA foreign_keys=OFF; CREATE TABLE u2(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, site_id INTEGER REFERENCES sites(id), created_at TEXT NOT NULL, full_name TEXT) STRICT; INSERT INTO u2 SELECT * FROM users; DROP TABLE users; ALTER TABLE u2 RENAME TO users" "table users was redefined"
tamper "lower the schema version" "PRAGMA user_version=2" "mac"

# --- the file as a whole ---
fresh older.db
check "roll back to an older copy" "rolled back"
tamper "truncate the tail" "PRAGMA foreign_keys=OFF; DELETE FROM daily WHERE day=2; DELETE FROM unblindings; DELETE FROM audit WHERE id > $((N - 2))" "entries were removed from its end"
fresh older.db
for d in 5 6; do
  fk record daily --db c.db --audit-key t.db.audit-key --json-in "{\"patient\":\"P1\",\"day\":$d,\"map\":60}" --user ann >/dev/null 2>&1 ||
    fail "writing to the older copy failed"
done
sqlite3 c.db "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
check "roll back and write a different history" "not .* as checkpoint line 2"

# --- the key and the checkpoint file themselves ---
"$L" trial init --db other.db --sites 1 --user mgr >/dev/null 2>&1 || fail "a second trial"
"$L" audit verify --db t.db --audit-key other.db.audit-key >out 2>&1
[ $? = 1 ] && grep -q "another trial" out || fail "another trial's audit key was not refused: $(head -3 out)"
"$L" trial init --db t2.db --sites 1 --user mgr --audit-key t.db.audit-key >/dev/null 2>log &&
  fail "trial init overwrote an existing audit key"
[ ! -e t2.db ] || fail "a refused trial init left its database"
echo "1 nothex 2026" >bad.txt
"$L" audit verify --db t.db --audit-key t.db.audit-key --checkpoint bad.txt >/dev/null 2>log
[ $? = 1 ] && grep -q "bad.txt:1" log || fail "a malformed checkpoint file was not refused with its line: $(cat log)"

echo "audit_tamper: $kinds kinds of tampering checked, $fails failure(s)"
[ "$kinds" -ge 30 ] || fail "only $kinds kinds"
[ "$fails" = 0 ]
