#!/usr/bin/env bash
# The store's promises from the command line: a failed 'list generate' never removes
# a key another run has used (two racing processes while the database is held busy);
# reading commands leave a file and its folder as they were (an older or foreign
# file included) and the upgrade is explicit; the lock file beside the trial is
# never followed through a symbolic link and keys in folders others can write are
# refused; a backup taken while another process randomises verifies and restores.
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
  "$@" >"$W/out" 2>"$W/err"
  local got=$?
  [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat "$W/err")"
}
# has TEXT out|err
has() { grep -q -- "$1" "$W/$2" || fail "'$1' not in $2: $(cat "$W/$2")"; }
# the folder and the bytes of every file in it
state() { ls -a; md5sum -- * 2>/dev/null; }

# hold DB busy: a write transaction open for SECONDS (from another program)
hold() {
  /usr/bin/python3 - "$1" "$2" <<'EOF' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[1] + ".held", "w").close()
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
EOF
  for _ in $(seq 1 100); do [ -e "$1.held" ] && return; sleep 0.05; done
  fail "could not hold $1"
}

for c in "trial upgrade" backup restore unblind; do
  expect 0 "$L" $c --help
done
has "requested-by" out

# --- item: the key race. A fails (unknown site) after B has started with the same key path.
for round in 1 2 3; do
  rm -f r.db* r.key
  "$L" trial init --db r.db --sites 2 --user mgr >/dev/null
  "$L" user add --db r.db --name stat --role statistician --user mgr >/dev/null
  hold r.db 2
  "$L" list generate --db r.db --key r.key --site NOPE --user stat >a.out 2>a.err &
  A=$!
  for _ in $(seq 1 20); do [ -e r.key ] && break; sleep 0.05; done # the old code made the key here
  "$L" list generate --db r.db --key r.key --user stat --initial-per-site 4 >b.out 2>b.err &
  B=$!
  wait $A
  ra=$?
  wait $B
  rb=$?
  wait
  [ "$ra" = 1 ] || fail "round $round: the run with an unknown site exited $ra"
  grep -q "no site 'NOPE'" a.err || fail "round $round: $(cat a.err)"
  [ "$rb" = 0 ] || fail "round $round: the good run exited $rb: $(cat b.err)"
  [ -e r.key ] || fail "round $round: the list was sealed with a key that was then deleted"
  expect 0 "$L" list report --db r.db --key r.key --json
  [ "$(jq -r .reproduces_from_secret "$W/out")" = true ] || fail "round $round: the key does not open the list"
done

# --- item: reading changes nothing; the upgrade is explicit
"$L" trial init --db t.db --sites 2 --user mgr >/dev/null
"$L" user add --db t.db --name stat --role statistician --user mgr >/dev/null
"$L" user add --db t.db --name inv1 --role investigator --site S01 --user mgr >/dev/null
"$L" list generate --db t.db --key t.key --user stat --initial-per-site 4 >/dev/null
mkdir ro && cp t.db ro/ && cd ro
before=$(state)
expect 0 "$L" audit verify --db t.db
expect 0 "$L" status --db t.db --as-of 2030-01-01
expect 0 "$L" audit log --db t.db
expect 0 "$L" unblind list --db t.db
expect 0 "$L" export --db t.db --out ../ex
[ "$(state)" = "$before" ] || fail "reading commands changed the folder: $(state)"
# an older file (as far as its version says) is read as it is, never migrated
sqlite3 t.db "PRAGMA user_version=1"
before=$(state)
# (its tables are those of a newer version, which verification names; it reads the
# file as it is)
expect 1 "$L" audit verify --db t.db
has "did not create" out
expect 1 "$L" status --db t.db
has "must be upgraded" err
has "leopards trial upgrade --db t.db" err
expect 1 "$L" user add --db t.db --name x --role manager --user mgr
has "must be upgraded" err
[ "$(state)" = "$before" ] || fail "an older file was changed: $(state)"
# a file of another program, and one that is not SQLite, are refused untouched
sqlite3 other.db "PRAGMA journal_mode=WAL; CREATE TABLE meta(a); INSERT INTO meta VALUES(1); PRAGMA user_version=2" >/dev/null
echo "just some notes, nothing like a database, long enough for a header: $(seq 1 40 | tr '\n' ' ')" >notes.txt
before=$(state)
for f in other.db notes.txt; do
  expect 1 "$L" audit verify --db $f
  has "not a leopards trial" err
  expect 1 "$L" status --db $f
  expect 1 "$L" trial upgrade --db $f --user mgr
  has "not a leopards trial" err
done
[ "$(state)" = "$before" ] || fail "a foreign file was changed: $(state)"
cd ..
expect 0 "$L" trial upgrade --db t.db --user mgr --json
[ "$(jq -r .upgraded "$W/out")" = false ] || fail "a current trial was 'upgraded'"

# --- item: the lock file is never followed; keys in folders others can write are refused
rm t.db-writer
ln -s "$W/victim" t.db-writer
expect 1 "$L" user add --db t.db --name inv2 --role investigator --site S02 --user mgr
has "symbolic link" err
[ ! -e victim ] || fail "the lock file was followed through a symbolic link"
rm t.db-writer
expect 0 "$L" user add --db t.db --name inv2 --role investigator --site S02 --user mgr
mkdir shared && chmod 777 shared
cp -p t.key shared/
expect 1 "$L" list report --db t.db --key shared/t.key
has "folder that others can write" err
"$L" trial init --db u.db --sites 1 --user mgr >/dev/null
"$L" user add --db u.db --name stat --role statistician --user mgr >/dev/null
expect 1 "$L" list generate --db u.db --key shared/u.key --user stat
has "folder that others can write" err
[ ! -e shared/u.key ] || fail "a key was made in a folder others can write"

# --- item: backup while another process randomises; verify and restore it
"$L" list generate --db t.db --key t.key --user stat --initial-per-site 150 >/dev/null
for s in 1 2; do
  {
    printf 'site,patient,age,infection,temperature,heart_rate,resp_rate,wbc,vasopressor_hours,hours_since_criteria,esrf_dialysis,torsades_history,child_pugh_c,ventricular_obstruction,treatment_limitation,weight,pregnant,levosimendan_30d,levosimendan_hypersensitivity,other_trial,reason_not_enrolled\n'
    for i in $(seq 1 120); do
      [ $((i % 2 + 1)) = $s ] && printf 'S0%d,P%03d,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,\n' $s "$i"
    done
  } >screen$s.csv
  expect 0 "$L" screen --db t.db --data screen$s.csv --user inv$s
done
(for i in $(seq 1 120); do
  s=$((i % 2 + 1))
  "$L" record consent --db t.db --patient "$(printf P%03d "$i")" --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user inv$s >/dev/null || exit 1
  "$L" randomize --db t.db --site S0$s --patient "$(printf P%03d "$i")" --user inv$s >/dev/null || exit 1
done) &
LOAD=$!
for _ in $(seq 1 100); do
  n=$(sqlite3 t.db "SELECT count(*) FROM randomisations" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 5 ] && break
  sleep 0.05
done
expect 0 "$L" backup --db t.db --out bk.db --json
kill -0 $LOAD 2>/dev/null || fail "the randomising process had finished before the backup did (not under load)"
[ "$(jq -r .intact "$W/out")" = true ] || fail "backup not intact: $(cat out)"
expect 1 "$L" backup --db t.db --out bk.db
has "already exists" err
wait $LOAD || fail "randomising failed during the backup"
ls bk.db.tmp-* >/dev/null 2>&1 && fail "a temporary file was left"
n1=$(sqlite3 bk.db "SELECT count(*) FROM randomisations")
[ "$n1" -ge 5 ] && [ "$n1" -lt 120 ] || fail "backup under load holds $n1 randomisations"
expect 0 "$L" audit verify --db bk.db
expect 0 "$L" restore --backup bk.db --db new.db --json
[ "$(jq -r .replaced "$W/out")" = false ] || fail "restore to a new file"
[ "$(sqlite3 new.db 'SELECT count(*) FROM randomisations')" = "$n1" ] || fail "restored count"
expect 0 "$L" audit verify --db new.db
expect 0 "$L" status --db new.db
# checked against audit checkpoints kept apart: a backup older than the newest
# checkpoint is a rollback and is refused; one that extends every line is restored
expect 0 "$L" audit checkpoint --db bk.db --append cp-old.txt
expect 0 "$L" audit checkpoint --db t.db --append cp-new.txt
expect 1 "$L" restore --backup bk.db --db new3.db --audit-key t.db.audit-key --checkpoint cp-new.txt
has "rolled back" err
[ ! -e new3.db ] || fail "a rolled-back backup was restored"
expect 0 "$L" restore --backup bk.db --db new4.db --audit-key t.db.audit-key --checkpoint cp-old.txt
expect 1 "$L" restore --backup bk.db --db t.db
has "only when asked" err
has "add --replace" err
[ "$(sqlite3 t.db 'SELECT count(*) FROM randomisations')" = 120 ] || fail "a refused restore changed the trial"
expect 0 "$L" restore --backup bk.db --db t.db --replace --json
kept=$(jq -r .kept "$W/out")
[ "$(sqlite3 t.db 'SELECT count(*) FROM randomisations')" = "$n1" ] || fail "replaced trial count"
[ "$(sqlite3 "$kept" 'SELECT count(*) FROM randomisations')" = 120 ] || fail "the replaced trial was not kept"
expect 0 "$L" audit verify --db t.db
# the list and the key carry on from the restored state
expect 0 "$L" record consent --db t.db --patient P120 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user inv1
expect 0 "$L" randomize --db t.db --site S01 --patient P120 --user inv1 --json
[ "$(jq -r .existing "$W/out")" = false ] || fail "P120 was randomised before the backup was taken"
# a backup whose audit trail does not verify is not restored
cp bk.db bad.db
sqlite3 bad.db "UPDATE sites SET name='elsewhere' WHERE code='S01'"
expect 1 "$L" restore --backup bad.db --db new2.db
has "does not verify" err
[ ! -e new2.db ] || fail "an unverified backup was restored"

[ "$fails" = 0 ] || exit 1
echo "trial store: all checks passed"
