#!/usr/bin/env bash
# CDISC ODM 1.3.2 export of a simulated trial: the Snapshot and the Transactional file
# validate against CDISC's schema, every ItemData has its ItemDef, every UserRef and
# LocationRef resolves in AdminData, no allocation is shown, an existing file is never
# replaced, and the ItemDefs are the fields of the definitions (names, types, units).
set -u
L="$1"
TESTS="$2"
XSD="$TESTS/../../shared/reference/odm-1.3.2/ODM1-3-2.xsd"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() {
  local want=$1
  shift
  "$@" >out 2>err
  local got=$?
  [ "$got" = "$want" ] || fail "exit $got (wanted $want): $* :: $(cat err)"
}
has() { grep -q -- "$1" "$2" || fail "'$1' not in $2: $(cat "$2")"; }
[ -f "$XSD" ] || { echo "FAIL: the ODM schema is not at $XSD"; exit 1; }

expect 0 "$L" simulate --db sim.db --key sim.key --patients 30 --sites 3 --screened 90 --quiet
expect 0 "$L" export --db sim.db --format odm --out snap.xml
has "Snapshot" out
expect 0 "$L" export --db sim.db --format odm --transactional --out tx.xml --json
[ "$(jq -r .file_type out)" = Transactional ] || fail "file type: $(cat out)"
for f in snap.xml tx.xml; do
  xmllint --nonet --noout --schema "$XSD" "$f" 2>xerr || fail "$f does not validate: $(head -5 xerr)"
done

# an existing file is refused and kept; nothing is left beside it
echo keep >exists.xml
expect 1 "$L" export --db sim.db --format odm --out exists.xml
has "exists" err
[ "$(cat exists.xml)" = keep ] || fail "an existing file was changed"
ls | grep -q 'tmp-' && fail "a temporary file was left: $(ls)"
expect 2 "$L" export --db sim.db --format odm --out k.xml --key sim.key
expect 2 "$L" export --db sim.db --format xml --out k.xml

# references, required attributes, blinding (SUBJECTS: the Snapshot's subjects)
cat >odmcheck.py <<'PY'
import os, sys, xml.etree.ElementTree as ET
NS = "{http://www.cdisc.org/ns/odm/v1.3}"
bad = []
for path in sys.argv[1:]:
    root = ET.parse(path).getroot()
    if root.tag != NS + "ODM": bad.append(f"{path}: root {root.tag}")
    for a in ("FileOID", "FileType", "CreationDateTime", "ODMVersion"):
        if not root.get(a): bad.append(f"{path}: ODM lacks {a}")
    if root.get("ODMVersion") != "1.3.2": bad.append(f"{path}: version {root.get('ODMVersion')}")
    defs = {e.get("OID"): e for e in root.iter(NS + "ItemDef")}
    groups = {e.get("OID") for e in root.iter(NS + "ItemGroupDef")}
    forms = {e.get("OID") for e in root.iter(NS + "FormDef")}
    events = {e.get("OID") for e in root.iter(NS + "StudyEventDef")}
    users = {e.get("OID") for e in root.iter(NS + "User")}
    sigdefs = {e.get("OID") for e in root.iter(NS + "SignatureDef")}
    for e in root.iter(NS + "SignatureRef"):
        if e.get("SignatureOID") not in sigdefs: bad.append(f"{path}: SignatureRef {e.get('SignatureOID')} undefined")
    for e in root.iter():
        for k, v in e.attrib.items():
            if v.lower() in ("levosimendan", "placebo") or v.startswith("$argon2"): bad.append(f"{path}: {k}={v} shown")
        if (e.text or "").startswith("$argon2"): bad.append(f"{path}: a password hash in {e.tag}")
    locs = {e.get("OID") for e in root.iter(NS + "Location")}
    for e in root.iter(NS + "ItemDef"):
        if not e.get("DataType") or not e.get("Name"): bad.append(f"{path}: ItemDef {e.get('OID')} lacks DataType/Name")
    n = 0
    for e in root.iter(NS + "ItemData"):
        n += 1
        if e.get("ItemOID") not in defs: bad.append(f"{path}: ItemData {e.get('ItemOID')} has no ItemDef")
    if n == 0: bad.append(f"{path}: no ItemData")
    for tag, ref, known in (("ItemGroupData", "ItemGroupOID", groups), ("FormData", "FormOID", forms),
                            ("StudyEventData", "StudyEventOID", events)):
        for e in root.iter(NS + tag):
            if e.get(ref) not in known: bad.append(f"{path}: {tag} {e.get(ref)} undefined")
    for e in root.iter(NS + "UserRef"):
        if e.get("UserOID") not in users: bad.append(f"{path}: UserRef {e.get('UserOID')} not in AdminData")
    for tag in ("LocationRef", "SiteRef"):
        for e in root.iter(NS + tag):
            if e.get("LocationOID") not in locs: bad.append(f"{path}: {tag} {e.get('LocationOID')} not in AdminData")
    for name in defs:
        if any(w in name.lower() for w in (".arm", ".pack", ".seq", "password", "secret")):
            bad.append(f"{path}: {name} is not blinded")
    if root.get("FileType") == "Transactional":
        recs = list(root.iter(NS + "AuditRecord"))
        if not recs: bad.append(f"{path}: no AuditRecord")
        for r in recs:
            for child in ("UserRef", "LocationRef", "DateTimeStamp"):
                if r.find(NS + child) is None: bad.append(f"{path}: AuditRecord lacks {child}")
        if not any(r.find(NS + "ReasonForChange") is not None for r in recs): bad.append(f"{path}: no ReasonForChange")
    else:
        subjects = [e.get("SubjectKey") for e in root.iter(NS + "SubjectData")]
        want = int(os.environ["SUBJECTS"])
        if len(subjects) != want or len(set(subjects)) != want: bad.append(f"{path}: {len(subjects)} subjects")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
SUBJECTS=30 /usr/bin/python3 odmcheck.py snap.xml tx.xml >pyout 2>&1 || fail "ODM checks: $(cat pyout)"

# the transactional file holds one AuditRecord per change of a patient's forms, consents,
# queries, verifications and casebook signatures
TX_TABLES="'screening','randomisations','patients','daily','infusions','outcomes','adverse_events','consents','queries','verifications','signatures'"
n_audit=$(sqlite3 sim.db "SELECT count(*) FROM audit WHERE patient IS NOT NULL AND tbl IN ($TX_TABLES) AND patient IN (SELECT patient FROM screening)")
n_rec=$(grep -c '<AuditRecord>' tx.xml)
[ "$n_audit" = "$n_rec" ] || fail "audit entries $n_audit, AuditRecords $n_rec"

# Snapshot -> import into a fresh trial -> Snapshot again: the same file apart from
# FileOID and CreationDateTime; the new trial's audit trail verifies; it holds no arm
expect 0 "$L" import --db imp.db --odm snap.xml
has "no allocations" out
expect 0 "$L" audit verify --db imp.db
expect 0 "$L" export --db imp.db --format odm --out snap2.xml
strip() { sed -E 's/ FileOID="[^"]*"//; s/ CreationDateTime="[^"]*"//' "$1"; }
diff <(strip snap.xml) <(strip snap2.xml) >d.txt || fail "the round trip differs: $(head -20 d.txt)"
cmp -s snap.xml snap2.xml && fail "FileOID and CreationDateTime should be new"
[ "$(grep -c '<ItemData' snap2.xml)" = "$(grep -c '<ItemData' snap.xml)" ] || fail "ItemData counts differ"
[ "$(sqlite3 imp.db "SELECT count(*) FROM slots WHERE length(sealed) > 0")" = 0 ] || fail "the imported trial holds arms"
[ "$(sqlite3 imp.db "SELECT count(*) FROM randomisations")" = 30 ] || fail "randomisations not imported"
[ "$(sqlite3 imp.db "SELECT count(*) FROM daily")" = "$(sqlite3 sim.db "SELECT count(*) FROM daily")" ] || fail "daily rows"
[ "$(sqlite3 imp.db "SELECT count(*) FROM users")" = "$(sqlite3 sim.db "SELECT count(*) FROM users")" ] || fail "users"
# the users' full (printed) names travel as AdminData FullName, and come back
mgr=$(sqlite3 imp.db "SELECT name FROM users ORDER BY id LIMIT 1")
inv=$(sqlite3 imp.db "SELECT name FROM users WHERE role='investigator' ORDER BY id LIMIT 1")
expect 0 "$L" user edit --db imp.db --name "$mgr" --full-name "Mrs Tessa O'Brien & Co" --user "$mgr"
expect 0 "$L" user edit --db imp.db --name "$inv" --full-name "Dr Ana María Ruiz" --user "$mgr"
expect 0 "$L" export --db imp.db --format odm --out names.xml
xmllint --nonet --noout --schema "$XSD" names.xml 2>xerr || fail "names.xml does not validate: $(head -5 xerr)"
has "<FullName>Dr Ana María Ruiz</FullName>" names.xml
has "<FullName>Mrs Tessa O'Brien &amp; Co</FullName>" names.xml
expect 0 "$L" import --db names.db --odm names.xml
[ "$(sqlite3 names.db "SELECT full_name FROM users WHERE name='$inv'")" = "Dr Ana María Ruiz" ] || fail "the full name is not imported"
expect 0 "$L" export --db names.db --format odm --out names2.xml
diff <(strip names.xml | grep -v AuditRecord) <(strip names2.xml | grep -v AuditRecord) >d.txt || fail "the round trip with full names differs: $(head -20 d.txt)"
# the imported trial continues with a new list: new patients are randomised; the
# imported ones have no allocation to unblind
expect 0 "$L" list generate --db imp.db --key imp.key --user statistician
has "0 existing slots re-derived" out
ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
site=$(sqlite3 imp.db "SELECT code FROM sites ORDER BY id LIMIT 1")
expect 0 "$L" screen --db imp.db --site "$site" --patient N1 --user "inv-$site" --json-in "{$ELIG}"
expect 0 "$L" record consent --db imp.db --patient N1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user "inv-$site"
expect 0 "$L" randomize --db imp.db --site "$site" --patient N1 --user "inv-$site" --json
[ "$(jq -r .pack out)" -gt 0 ] || fail "new randomisation: $(cat out)"
expect 0 "$L" unblind --db imp.db --key imp.key --patient N1 --reason "a test of the new list" --requested-by manager --user manager
first=$(sqlite3 imp.db "SELECT patient FROM randomisations ORDER BY id LIMIT 1")
expect 1 "$L" unblind --db imp.db --key imp.key --patient "$first" --reason "a test" --requested-by manager --user manager
has "holds no allocation" err
expect 0 "$L" audit verify --db imp.db
expect 1 "$L" import --db imp.db --odm snap.xml
expect 1 "$L" import --db imp2.db --odm tx.xml
has "only a Snapshot" err
[ -e imp2.db ] && fail "a refused import left its file"
echo '<ODM' >broken.xml
expect 1 "$L" import --db imp3.db --odm broken.xml
has "broken.xml" err
[ -e imp3.db ] && fail "a refused import left its file"

# --- a trial with every kind of record about the data: consents (the patient's, a
# representative's and the retrospective one), queries open, answered and closed (on a
# baseline field, an infusion event and an adverse event), verifications (one cleared by
# a later change) and casebook signatures (one valid, one invalidated)
ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
PW='correct horse battery 42'
printf '%s\n' "$PW" >pw
jqo() { jq -r "$1" out; }
expect 0 "$L" trial init --db q.db --sites 2 --user mgr
expect 0 "$L" user add --db q.db --name stat --role statistician --user mgr
expect 0 "$L" user add --db q.db --name nurse --role investigator --site S01 --user mgr
expect 0 "$L" user add --db q.db --name pi1 --role investigator --site S01 --user mgr --pi
expect 0 "$L" user add --db q.db --name mon --role monitor --user mgr
printf '%s\n' "$PW" | "$L" user passwd --db q.db --name pi1 --user mgr >/dev/null 2>err || fail "passwd: $(cat err)"
expect 0 "$L" list generate --db q.db --key q.key --user stat --initial-per-site 8
for p in P1 P2 P3; do expect 0 "$L" screen --db q.db --site S01 --patient $p --user nurse --json-in "{$ELIG}"; done
expect 0 "$L" record consent --db q.db --patient P1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user nurse
expect 0 "$L" record consent --db q.db --patient P2 --consent-by personal_representative --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 2 --notes "wife, by telephone" --user nurse
expect 0 "$L" record consent --db q.db --patient P3 --consent-by professional_representative --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 2 --user nurse
for p in P1 P2 P3; do expect 0 "$L" randomize --db q.db --site S01 --patient $p --user nurse; done
later=$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M)
FT="env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 faketime -f +3h"
expect 0 $FT "$L" record consent --db q.db --patient P2 --kind retrospective --consent-by patient --consented-at "$later" --taken-by nurse --form-version 3 --user nurse
expect 0 $FT "$L" record consent --db q.db --patient P3 --kind retrospective --decision refused --consented-at "$later" --taken-by nurse --form-version 3 --user nurse
for p in P1 P2 P3; do
  expect 0 "$L" record baseline --db q.db --json-in "{\"patient\":\"$p\",\"age\":64,\"sex\":\"male\",\"map\":30,\"heart_rate\":90}" --user nurse
done
expect 0 "$L" record infusion --db q.db --json-in '{"patient":"P1","hour":0,"event":"start","dose":0.1}' --user nurse
expect 0 "$L" record infusion --db q.db --json-in '{"patient":"P1","hour":1.5,"event":"increase","dose":0.2,"reason":"protocol"}' --user nurse
expect 0 "$L" record ae --db q.db --json-in "{\"patient\":\"P1\",\"onset\":\"$(date -u +%F)\",\"category\":\"hypotension\",\"term\":\"low blood pressure\",\"serious\":0,\"expected\":1}" --user nurse
inf=$(sqlite3 q.db "SELECT id FROM infusions WHERE patient='P1' AND hour=1.5")
ae=$(sqlite3 q.db "SELECT id FROM adverse_events WHERE patient='P1'")
# the soft checks opened a query on each MAP of 30: P1's answered and closed, P2's
# re-opened and corrected (answered), P3's left open; by hand: an infusion event's
# dose (answered) and the adverse event's term (open)
expect 0 "$L" query list --db q.db --json
[ "$(jqo length)" = 3 ] || fail "queries from the soft checks: $(cat out)"
qid() { sqlite3 q.db "SELECT id FROM queries WHERE patient='$1' AND field='$2'"; }
expect 0 "$L" query answer --db q.db --id "$(qid P1 map)" --text "a transient low under induction" --user nurse
expect 0 "$L" query close --db q.db --id "$(qid P1 map)" --text "explained" --user mon
expect 0 "$L" query answer --db q.db --id "$(qid P2 map)" --text "as charted" --user nurse
expect 0 "$L" query reopen --db q.db --id "$(qid P2 map)" --text "the source shows 61" --user mon
expect 0 "$L" query answer --db q.db --id "$(qid P2 map)" --text "corrected from the source" --value 61 --reason "transcription error" --user nurse
expect 0 "$L" query open --db q.db --patient P1 --form infusion --record "$inf" --field dose --text "0.2 at 1.5 h: per protocol?" --user mon
expect 0 "$L" query answer --db q.db --id "$(qid P1 dose)" --text "yes, MAP was stable" --user nurse
expect 0 "$L" query open --db q.db --patient P1 --form ae --record "$ae" --field term --text "a MedDRA term, please" --user mgr
# verifications: P1's baseline and adverse event; P2's baseline, cleared by a change
expect 0 "$L" verify --db q.db --patient P1 --form baseline --user mon
expect 0 "$L" verify --db q.db --patient P1 --form ae --record "$ae" --user mon
expect 0 "$L" verify --db q.db --patient P2 --form baseline --user mon
# signatures: P1's stays valid; P2's is invalidated by a later change
"$L" sign --db q.db --patient P1 --user pi1 <pw >out 2>err || fail "sign P1: $(cat err)"
"$L" sign --db q.db --patient P2 --user pi1 <pw >out 2>err || fail "sign P2: $(cat err)"
expect 0 "$L" record baseline --db q.db --json-in '{"patient":"P2","heart_rate":95}' --user nurse --reason "late lab sheet"
[ "$(sqlite3 q.db "SELECT group_concat(state, ',') FROM (SELECT state FROM queries ORDER BY id)")" = "closed,answered,open,answered,open" ] ||
  fail "query states: $(sqlite3 q.db 'SELECT id, state FROM queries')"
[ "$(sqlite3 q.db "SELECT count(*) FROM verifications WHERE cleared_at IS NOT NULL")" = 1 ] || fail "a cleared verification"
[ "$(sqlite3 q.db "SELECT count(*) FROM signatures WHERE invalidated_at IS NOT NULL")" = 1 ] || fail "an invalidated signature"
# queries on records since deleted: an adverse event keeps its number; an infusion event
# has no hour left to name it by, so it is named by none (the query is on the log)
expect 0 "$L" record infusion --db q.db --json-in '{"patient":"P3","hour":0,"event":"start","dose":0.1}' --user nurse
expect 0 "$L" record ae --db q.db --json-in "{\"patient\":\"P3\",\"onset\":\"$(date -u +%F)\",\"category\":\"other\",\"term\":\"rash\",\"serious\":0,\"expected\":1}" --user nurse
inf3=$(sqlite3 q.db "SELECT id FROM infusions WHERE patient='P3'")
ae3=$(sqlite3 q.db "SELECT id FROM adverse_events WHERE patient='P3'")
expect 0 "$L" query open --db q.db --patient P3 --form infusion --record "$inf3" --field event --text "started?" --user mon
expect 0 "$L" query open --db q.db --patient P3 --form ae --record "$ae3" --field category --text "category?" --user mon
expect 0 "$L" record delete --db q.db --kind infusion --id "$inf3" --reason "entered for the wrong patient" --user nurse
expect 0 "$L" record delete --db q.db --kind ae --id "$ae3" --reason "entered for the wrong patient" --user nurse
[ "$(sqlite3 q.db "SELECT group_concat(state) FROM queries WHERE patient='P3' AND field IN ('event','category')")" = closed,closed ] ||
  fail "queries on deleted records: $(sqlite3 q.db "SELECT * FROM queries WHERE patient='P3'")"

expect 0 "$L" export --db q.db --format odm --out qsnap.xml
expect 0 "$L" export --db q.db --format odm --transactional --out qtx.xml
for f in qsnap.xml qtx.xml; do
  xmllint --nonet --noout --schema "$XSD" "$f" 2>xerr || fail "$f does not validate: $(head -5 xerr)"
done
SUBJECTS=3 /usr/bin/python3 odmcheck.py qsnap.xml qtx.xml >pyout 2>&1 || fail "ODM checks: $(cat pyout)"
# nothing secret: no password hash, no session token's hash, no arm
sqlite3 q.db "SELECT hash FROM credentials UNION ALL SELECT hex(token_hash) FROM session_secrets" >secrets
while read -r sec; do grep -qiF -- "$sec" qsnap.xml qtx.xml && fail "a secret is in the ODM files"; done <secrets
# what the Snapshot holds: the casebook's valid signature as ODM has it, each record as a form
/usr/bin/python3 - qsnap.xml >pyout 2>&1 <<'PY' || fail "Snapshot content: $(cat pyout)"
import sys, xml.etree.ElementTree as ET
NS = "{http://www.cdisc.org/ns/odm/v1.3}"
root = ET.parse(sys.argv[1]).getroot()
bad = []
subj = {s.get("SubjectKey"): s for s in root.iter(NS + "SubjectData")}
def forms(p, oid): return [f for f in subj[p].iter(NS + "FormData") if f.get("FormOID") == oid]
def items(f): return {i.get("ItemOID").split(".")[2]: i.get("Value") for i in f.iter(NS + "ItemData")}
sig = subj["P1"].find(NS + "Signature")
if sig is None or sig.find(NS + "SignatureRef").get("SignatureOID") != "SD.casebook" or sig.find(NS + "UserRef").get("UserOID") != "USR.pi1":
    bad.append("P1: no ODM Signature of the casebook")
if subj["P2"].find(NS + "Signature") is not None: bad.append("P2: an invalidated signature shown as ODM Signature")
if [items(f)["kind"] for f in forms("P2", "F.consent")] != ["initial", "retrospective"]: bad.append("P2: consents")
c = forms("P2", "F.consent")[0]
if c.get("FormRepeatKey") != "initial" or items(c).get("notes") != "wife, by telephone": bad.append(f"P2 consent: {items(c)}")
ar = c.find(f"{NS}ItemGroupData/{NS}AuditRecord")
if ar is None or ar.find(NS + "UserRef").get("UserOID") != "USR.nurse": bad.append("P2 consent: who recorded it")
q = {items(f)["field"]: items(f) for f in forms("P1", "F.query")}
if q.get("map", {}).get("state") != "closed" or q["map"].get("closed_by") != "mon" or q["map"].get("answer") != "a transient low under induction":
    bad.append(f"P1 map query: {q.get('map')}")
if q.get("dose", {}).get("record") != "1.5" or q["dose"].get("state") != "answered": bad.append(f"P1 dose query: {q.get('dose')}")
ae = [f.get("FormRepeatKey") for f in forms("P1", "F.ae")]
if q.get("term", {}).get("record") not in ae or q["term"].get("state") != "open": bad.append(f"P1 term query: {q.get('term')}")
q2 = [items(f) for f in forms("P2", "F.query")][0]
if (q2["state"], q2.get("old_value"), q2.get("new_value"), q2["reopened"]) != ("answered", "30", "61", "1"): bad.append(f"P2 query: {q2}")
v = [items(f) for f in forms("P2", "F.sdv")]
if len(v) != 1 or v[0].get("cleared_by") != "nurse" or v[0].get("cleared_reason") != "late lab sheet": bad.append(f"P2 sdv: {v}")
if len(forms("P1", "F.sdv")) != 2: bad.append("P1: two verifications")
g = [items(f) for f in forms("P2", "F.signature")]
if len(g) != 1 or g[0].get("invalidated_by") != "nurse" or len(g[0].get("content_hash", "")) != 64: bad.append(f"P2 signature: {g}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
# the Transactional file: every step of every query, verification and signature
n_audit=$(sqlite3 q.db "SELECT count(*) FROM audit WHERE patient IS NOT NULL AND tbl IN ($TX_TABLES)")
[ "$n_audit" = "$(grep -c '<AuditRecord>' qtx.xml)" ] || fail "audit entries $n_audit, AuditRecords $(grep -c '<AuditRecord>' qtx.xml)"
for t in consents queries verifications signatures; do
  n=$(sqlite3 q.db "SELECT count(*) FROM audit WHERE tbl='$t' AND patient IS NOT NULL")
  oid=$(case $t in consents) echo F.consent ;; queries) echo F.query ;; verifications) echo F.sdv ;; signatures) echo F.signature ;; esac)
  [ "$n" -gt 0 ] && [ "$(grep -c "FormOID=\"$oid\"" qtx.xml)" = "$((n + 1))" ] || fail "$t: $n changes, $(grep -c "FormOID=\"$oid\"" qtx.xml) in the Transactional file"
done
grep -q 'ReasonForChange>source data verification cleared by a change: late lab sheet<' qtx.xml || fail "the clearing's reason is not in the Transactional file"

# Snapshot -> import -> Snapshot: the same file apart from FileOID and CreationDateTime,
# and the same rows of consents, queries, verifications and signatures
expect 0 "$L" import --db qimp.db --odm qsnap.xml
expect 0 "$L" audit verify --db qimp.db
expect 0 "$L" export --db qimp.db --format odm --out qsnap2.xml
diff <(strip qsnap.xml) <(strip qsnap2.xml) >d.txt || fail "the round trip differs: $(head -20 d.txt)"
rows() {
  sqlite3 "$1" "SELECT id, patient, form, day, CASE WHEN form='infusion' AND record NOT IN (SELECT id FROM infusions)
    THEN 'deleted' ELSE record END, field, state, origin, text, opened_at, opened_by, answer, answered_at, answered_by,
    old_value, new_value, closed_at, closed_by, reopened, reopen_text FROM queries ORDER BY id;
    SELECT * FROM verifications ORDER BY id;
    SELECT * FROM signatures ORDER BY id; SELECT c.patient, s.code, c.kind, c.consent_by, c.decision, c.consented_at,
    c.taken_by, c.form_version, c.notes, c.recorded_at, c.recorded_by FROM consents c JOIN sites s ON s.id=c.site_id ORDER BY c.patient, c.kind;
    SELECT name, role FROM users ORDER BY id"
}
diff <(rows q.db) <(rows qimp.db) >d.txt || fail "imported records differ: $(cat d.txt)"
# the site's principal investigator comes back marked as such
pis() { sqlite3 "$1" "SELECT s.code, u.name FROM site_pis p JOIN users u ON u.id=p.user_id JOIN sites s ON s.id=p.site_id"; }
[ "$(pis qimp.db)" = "S01|pi1" ] || fail "the PI after the import: '$(pis qimp.db)' (source: '$(pis q.db)')"
grep -q '<Organization>principal investigator</Organization>' qsnap.xml || fail "the PI is not marked in AdminData"
# the imported trial works with them: P1's signature holds, P2 owes nothing more, P3's
# refusal applied the rule, the open queries hold the lock, the monitor is a monitor
expect 0 "$L" sdv --db qimp.db --patient P1
has "signed by pi1" out
expect 0 "$L" query list --db qimp.db --state open --json
[ "$(jqo length)" = 2 ] || fail "open queries after import: $(cat out)"
expect 0 "$L" status --db qimp.db --json
[ "$(jqo .data_quality.queries_open)" = 2 ] || fail "status after import: $(cat out)"
expect 1 "$L" lock --db qimp.db --user stat
has "not closed" err
expect 1 "$L" record baseline --db qimp.db --json-in '{"patient":"P1","age":50}' --user mon --reason "x"
has "may not record data" err
expect 0 "$L" query close --db qimp.db --id "$(sqlite3 qimp.db "SELECT id FROM queries WHERE field='term'")" --user mon
# what the import refuses in these forms: named by line and field, no file left
badimport() { # NAME SED-EXPRESSION MESSAGE
  sed -E "$2" qsnap.xml >"$1.xml"
  cmp -s qsnap.xml "$1.xml" && fail "$1: the edit changed nothing"
  expect 1 "$L" import --db "$1.db" --odm "$1.xml"
  has "$3" err
  has "$1.xml" err
  [ -e "$1.db" ] && fail "$1: a refused import left its file"
}
badimport badfield 's/(IT.query.field" Value=)"dose"/\1"bogus"/' "'bogus' is not a field of the infusion form"
badimport badhour 's/(IT.query.record" Value=)"1.5"/\1"7.25"/' "subject P1 has no infusion event at hour 7.25"
badimport badform 's/(IT.query.form" Value=)"infusion"/\1"lab"/' "'lab' is not a form of a casebook"
badimport badkey 's/(FormOID="F.sdv") FormRepeatKey="[0-9]+"/\1/' "needs its row id as FormRepeatKey"

# a casebook whose records the import numbers otherwise: its signature is not carried
# over as valid, and says why (P2 signed after P1's later records: P1 P2 interleaved)
expect 0 "$L" trial init --db r.db --sites 1 --user mgr
expect 0 "$L" user add --db r.db --name stat --role statistician --user mgr
expect 0 "$L" user add --db r.db --name pi1 --role investigator --site S01 --user mgr --pi
printf '%s\n' "$PW" | "$L" user passwd --db r.db --name pi1 --user mgr >/dev/null 2>err || fail "passwd: $(cat err)"
expect 0 "$L" list generate --db r.db --key r.key --user stat --initial-per-site 8
for p in P1 P2; do
  expect 0 "$L" screen --db r.db --site S01 --patient $p --user pi1 --json-in "{$ELIG}"
  expect 0 "$L" record consent --db r.db --patient $p --consent-by patient --consented-at 2020-01-01T00:00 --taken-by pi1 --form-version 1 --user pi1
  expect 0 "$L" randomize --db r.db --site S01 --patient $p --user pi1
done
expect 0 "$L" record baseline --db r.db --json-in '{"patient":"P2","age":70}' --user pi1
expect 0 "$L" record baseline --db r.db --json-in '{"patient":"P1","age":60}' --user pi1
"$L" sign --db r.db --patient P1 --user pi1 <pw >out 2>err || fail "sign: $(cat err)"
expect 0 "$L" export --db r.db --format odm --out rsnap.xml
expect 0 "$L" import --db rimp.db --odm rsnap.xml
expect 0 "$L" sdv --db rimp.db --patient P1 --json
grep -q "signature invalidated by a change on .* (by mgr)" <<<"$(jqo '.patients[0].signature')" || fail "re-numbered casebook: $(cat out)"
has "numbered otherwise" <(sqlite3 rimp.db "SELECT invalidated_reason FROM signatures")
expect 0 "$L" audit verify --db rimp.db

[ "$fails" = 0 ] && echo "odm: all passed" || { echo "odm: $fails failure(s)"; exit 1; }
