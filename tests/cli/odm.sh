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

# references, required attributes, blinding
/usr/bin/python3 - snap.xml tx.xml >pyout 2>&1 <<'PY' || fail "ODM checks: $(cat pyout)"
import sys, xml.etree.ElementTree as ET
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
    if path.endswith("tx.xml"):
        recs = list(root.iter(NS + "AuditRecord"))
        if not recs: bad.append("tx.xml: no AuditRecord")
        for r in recs:
            for child in ("UserRef", "LocationRef", "DateTimeStamp"):
                if r.find(NS + child) is None: bad.append(f"tx.xml: AuditRecord lacks {child}")
        if not any(r.find(NS + "ReasonForChange") is not None for r in recs): bad.append("tx.xml: no ReasonForChange")
    else:
        subjects = [e.get("SubjectKey") for e in root.iter(NS + "SubjectData")]
        if len(subjects) != 30 or len(set(subjects)) != 30: bad.append(f"snap.xml: {len(subjects)} subjects")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY

# the transactional file holds one AuditRecord per change of a patient's forms
n_audit=$(sqlite3 sim.db "SELECT count(*) FROM audit WHERE patient IS NOT NULL AND tbl IN ('screening','randomisations','patients','daily','infusions','outcomes','adverse_events') AND patient IN (SELECT patient FROM screening)")
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

[ "$fails" = 0 ] && echo "odm: all passed" || { echo "odm: $fails failure(s)"; exit 1; }
