#!/usr/bin/env bash
# Informed consent through the command line: randomisation refused without a consent
# record (exit 1, the reason said), the consent form's checks naming every field, a
# patient randomised on a representative's consent owing retrospective consent in
# `leopards status` until it is recorded, a refusal following the trial's rule
# (consent withdrawn by default: excluded from the analyses; or kept in), every step
# in the audit trail, the settings, and an ODM import carrying the consents (or, from a
# Snapshot without them, marking its patients as recorded before consent was tracked).
source "$(dirname "$0")/lib.bash"
cd "$TMP"
ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
ok() { "$LP" "$@" >out 2>err || fail "'$*' failed: $(cat err)"; checks=$((checks + 1)); }
# a day later (a retrospective consent after the randomisation)
later() { env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" faketime -f +1d "$LP" "$@"; }
q() { sqlite3 t.db "$1"; }
BEFORE=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M)
TOMORROW=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M)
FORM="--taken-by Nurse_Adams --form-version 3.1"

ok trial init --db t.db --sites 2 --user mgr
ok user add --db t.db --name stat --role statistician --user mgr
ok user add --db t.db --name ann --role investigator --site S01 --user mgr
ok user add --db t.db --name bob --role investigator --site S02 --user mgr
ok list generate --db t.db --key t.key --user stat --initial-per-site 8
for p in P1 P2 P3 P4 P5; do ok screen --db t.db --site S01 --patient $p --user ann --json-in "{$ELIG}"; done

# the setting is on in a new trial
ok consent settings --db t.db --json
same "consent required by default" "$(jq -r .required out)" true
same "refusal rule by default" "$(jq -r .refusal out)" withdraw

# no consent, no randomisation: the reason is said, nothing is allocated
expect_fail 1 "patient P1 has no consent record: record the written informed consent" -- \
  "$LP" randomize --db t.db --site S01 --patient P1 --user ann
same "nothing allocated" "$(q 'SELECT count(*) FROM randomisations')" 0

# the form's checks: every missing field named at once; wrong choices; the future; wrong site
expect_fail 1 "3 problems: consent_by: .*taken_by: required.*form_version: required" -- \
  "$LP" record consent --db t.db --patient P1 --consented-at "$BEFORE" --user ann
expect_fail 1 "'cousin' is not one of patient\|personal_representative" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by cousin --consented-at "$BEFORE" $FORM --user ann
expect_fail 1 "an initial consent is given" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient --decision refused --consented-at "$BEFORE" $FORM --user ann
expect_fail 1 "consented_at: .* is in the future" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient --consented-at "$TOMORROW" $FORM --user ann
expect_fail 1 "consented_at" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient $FORM --user ann
expect_fail 1 "investigator of site S02 may not record consent at site S01|may not record consent" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient --consented-at "$BEFORE" $FORM --user bob
expect_fail 1 "no screening record" -- \
  "$LP" record consent --db t.db --patient NOPE --consent-by patient --consented-at "$BEFORE" $FORM --user ann
expect_fail 1 "unknown field" -- \
  "$LP" record consent --db t.db --json-in '{"patient":"P1","consent_by":"patient","consentedat":"2020-01-01"}' --user ann
same "nothing recorded by the refusals" "$(q 'SELECT count(*) FROM consents')" 0

# P1: a personal legal representative's consent; then randomised; retrospective consent owed
ok record consent --db t.db --patient P1 --consent-by personal_representative --consented-at "$BEFORE" $FORM --user ann
grep -q "owes retrospective consent" out || fail "the representative's consent does not say what is owed: $(cat out)"
expect_fail 1 "already has an initial consent record" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient --consented-at "$BEFORE" $FORM --user ann
expect_fail 1 "is not randomised" -- \
  "$LP" record consent --db t.db --patient P1 --kind retrospective --consented-at "$BEFORE" $FORM --user ann
ok randomize --db t.db --site S01 --patient P1 --user ann
ok status --db t.db
grep -q "P1 (site S01): retrospective consent owed (randomised .* on a personal legal representative's consent)" out ||
  fail "status does not list the retrospective consent owed: $(cat out)"
grep -q "1 randomised on a legal representative's consent, 1 owing retrospective consent" out || fail "status counts: $(cat out)"
ok status --db t.db --json
same "retrospective consent due (JSON)" "$(jq -r .total.retrospective_due out)" 1

# P2: the patient's own consent: nothing is owed
ok record consent --db t.db --patient P2 --consent-by patient --consented-at "$BEFORE" $FORM --user ann --json
same "own consent owes nothing" "$(jq -r .retrospective_due out)" false
ok randomize --db t.db --site S01 --patient P2 --user ann
expect_fail 1 "randomised on their own consent: no retrospective consent is owed" -- \
  later record consent --db t.db --patient P2 --kind retrospective --consented-at "$TOMORROW" $FORM --user ann

# a retrospective consent before the randomisation is refused; then P1 refuses:
# the consent-withdrawn rule (data kept, excluded from the analyses)
expect_fail 1 "before the randomisation" -- \
  later record consent --db t.db --patient P1 --kind retrospective --decision given --consented-at "$BEFORE" $FORM --user ann
"$LP" record baseline --db t.db --json-in '{"patient":"P1","age":61,"sex":"female"}' --user ann >/dev/null 2>&1 ||
  fail "baseline of P1"
later record consent --db t.db --patient P1 --kind retrospective --decision refused --consented-at "$(date -u +%Y-%m-%dT%H:%M -d '+2 hours')" $FORM --user ann >out 2>err ||
  fail "the refusal is not recorded: $(cat err)"
grep -q "refusal: consent withdrawn: data kept, excluded from the analyses" out || fail "the refusal's rule: $(cat out)"
same "outcome says consent withdrawn" "$(q "SELECT consent_withdrawn FROM outcomes WHERE patient='P1'")" 1
same "baseline kept" "$(q "SELECT age FROM patients WHERE patient='P1'")" 61
ok status --db t.db --json
same "nothing owed once recorded" "$(jq -r .total.retrospective_due out)" 0
same "refusal counted" "$(jq -r .total.retrospective_refused out)" 1
same "withdrawal counted" "$(jq -r .total.withdrawn out)" 1
grep -q "retrospective consent owed" <(jq -r '.items[].what' out) && fail "a recorded retrospective consent is still listed as owed"

# audited: the consents, and the withdrawal with its reason
ok audit log --db t.db --patient P1
grep -q "consents" out || fail "the consent is not in the audit trail: $(cat out)"
grep -q "retrospective consent refused: consent withdrawn" out || fail "the withdrawal's reason is not audited: $(cat out)"
ok audit verify --db t.db

# the rule can keep a refusing patient in (trial manager, with a reason)
expect_fail 2 "reason" -- "$LP" consent settings --db t.db --refusal keep --user mgr
expect_fail 1 "may not change the consent settings" -- "$LP" consent settings --db t.db --refusal keep --user ann --reason x
ok consent settings --db t.db --refusal keep --user mgr --reason "protocol amendment 4"
ok record consent --db t.db --patient P3 --consent-by professional_representative --consented-at "$BEFORE" $FORM --user ann
ok randomize --db t.db --site S01 --patient P3 --user ann
later record consent --db t.db --patient P3 --kind retrospective --decision refused --consented-at "$(date -u +%Y-%m-%dT%H:%M -d '+2 hours')" $FORM --user ann >out 2>err ||
  fail "the second refusal is not recorded: $(cat err)"
grep -q "keeps the patient in the analyses" out || fail "the kept rule is not said: $(cat out)"
same "kept in: no withdrawal" "$(q "SELECT count(*) FROM outcomes WHERE patient='P3'")" 0

# died before capacity was regained: nobody consents, nothing else is needed
ok record consent --db t.db --patient P4 --consent-by personal_representative --consented-at "$BEFORE" $FORM --user ann
ok randomize --db t.db --site S01 --patient P4 --user ann
expect_fail 1 "consent_by: no one consents when the patient died" -- \
  later record consent --db t.db --patient P4 --kind retrospective --decision died --consent-by patient --consented-at "$(date -u +%Y-%m-%dT%H:%M -d '+2 hours')" --user ann
later record consent --db t.db --patient P4 --kind retrospective --decision died --consented-at "$(date -u +%Y-%m-%dT%H:%M -d '+2 hours')" --user ann >/dev/null 2>err ||
  fail "died: $(cat err)"
same "P4's retrospective consent" "$(q "SELECT decision || ',' || coalesce(consent_by, '-') FROM consents WHERE patient='P4' AND kind='retrospective'")" "died,-"

# corrections: a recorded consent is corrected with a reason (an investigator of the
# site or a trial manager), audited with the old and new values; a randomised patient
# keeps a consent before the randomisation
expect_fail 1 "a correction needs a reason" -- \
  "$LP" record consent --db t.db --patient P2 --consent-by patient --consented-at "$BEFORE" $FORM --user ann
grep -q "hint: .*--reason" "$TMP/err" || fail "no hint for the correction: $(cat "$TMP/err")"
ok record consent --db t.db --patient P2 --form-version 3.2 --reason "version misread" --user ann
grep -q "P2 (site S01): initial consent corrected: given by patient" out || fail "correction not said: $(cat out)"
same "corrected value" "$(q "SELECT form_version || ',' || taken_by FROM consents WHERE patient='P2' AND kind='initial'")" "3.2,Nurse_Adams"
same "audited with old and new values" "$(q "SELECT action || ':' || json_extract(old,'\$.form_version') || '>' || json_extract(new,'\$.form_version') || ':' || user FROM audit WHERE tbl='consents' AND reason='version misread'")" "update:3.1>3.2:ann"
ok record consent --db t.db --patient P2 --taken-by Dr_Brown --reason "taken by the doctor" --user mgr
same "the manager's correction" "$(q "SELECT taken_by FROM consents WHERE patient='P2' AND kind='initial'")" Dr_Brown
expect_fail 1 "may not correct a consent at site S01" -- \
  "$LP" record consent --db t.db --patient P2 --taken-by X --reason r --user bob
expect_fail 1 "user .stat. \(statistician\) may not correct a consent" -- \
  "$LP" record consent --db t.db --patient P2 --taken-by X --reason r --user stat
expect_fail 1 "changes nothing" -- "$LP" record consent --db t.db --patient P2 --taken-by Dr_Brown --reason r --user ann
expect_fail 1 "the correction would leave randomised patient P2 without a consent before randomisation" -- \
  later record consent --db t.db --patient P2 --consented-at "$(date -u +%Y-%m-%dT%H:%M -d '+2 hours')" --reason r --user ann
expect_fail 1 "is in the future" -- \
  "$LP" record consent --db t.db --patient P2 --consented-at "$TOMORROW" --reason r --user ann
expect_fail 1 "no retrospective consent record to correct" -- \
  "$LP" record consent --db t.db --patient P2 --kind retrospective --notes x --reason r --user ann
expect_fail 1 "no initial consent record to correct" -- \
  "$LP" record consent --db t.db --patient P5 --notes x --reason r --user ann
expect_fail 1 "kind: 'later' is not one of initial\|retrospective" -- \
  "$LP" record consent --db t.db --patient P2 --kind later --notes x --reason r --user ann
expect_fail 1 "the initial consent cannot become the patient's own" -- \
  "$LP" record consent --db t.db --patient P1 --consent-by patient --reason r --user ann
same "nothing changed by the refused corrections" "$(q "SELECT count(*) FROM audit WHERE tbl='consents' AND action='update'")" 2
# the retrospective consent likewise; a correction to refused applies the trial's rule
ok consent settings --db t.db --refusal withdraw --user mgr --reason "amendment 5"
expect_fail 1 "taken_by: required.*form_version: required" -- \
  later record consent --db t.db --patient P4 --kind retrospective --decision refused --reason "the patient refused" --user ann
later record consent --db t.db --patient P4 --kind retrospective --decision refused $FORM --reason "the patient refused" --user ann >out 2>err ||
  fail "the retrospective correction: $(cat err)"
grep -q "note: consent withdrawn: data kept, excluded from the analyses" out || fail "the rule on correction: $(cat out)"
same "P4 withdrawn by the corrected refusal" "$(q "SELECT consent_withdrawn FROM outcomes WHERE patient='P4'")" 1
later record consent --db t.db --patient P4 --kind retrospective --decision given --reason "entered on the wrong patient" --user ann >out 2>err ||
  fail "the refusal taken back: $(cat err)"
grep -q "the outcome record still says consent withdrawn" out || fail "the withdrawal left is not said: $(cat out)"
ok audit verify --db t.db

# the requirement can be switched off (trial manager, audited), then on again
ok consent settings --db t.db --required no --user mgr --reason "substudy without consent tracking"
ok randomize --db t.db --site S01 --patient P5 --user ann
ok consent settings --db t.db --required yes --user mgr --reason "back on"
same "settings audited" "$(q "SELECT count(*) FROM audit WHERE tbl='meta' AND reason IN ('protocol amendment 4','substudy without consent tracking','back on')")" 3

# the help lists the form's fields
ok record consent --help
for f in consent_by decision consented_at taken_by form_version; do grep -q "$f" out || fail "help lacks $f"; done

# the export carries the consents; so does an ODM Snapshot, whose import gives the
# same consent records (owed retrospective consents still owed); a Snapshot without
# consent forms (from before they were in it) marks its patients as recorded before
# consent was tracked (they owe nothing)
ok export --db t.db --out ex
same "consents exported" "$(($(wc -l <ex/consents.csv) - 1))" 7
grep -q '"consents","consent_by"' ex/data_dictionary.csv || fail "the data dictionary lacks the consent fields"
ok export --db t.db --format odm --out t.xml
ok import --db imp.db --odm t.xml
cons() { sqlite3 "$1" "SELECT patient, kind, consent_by, decision, consented_at, taken_by, form_version, notes, recorded_at, recorded_by FROM consents ORDER BY patient, kind"; }
same "imported consents" "$(cons imp.db | grep -v before_tracking)" "$(cons t.db)"
# a patient randomised while consent was not required is marked, owing nothing
same "marked on import" "$(sqlite3 imp.db "SELECT group_concat(patient) FROM consents WHERE consent_by='before_tracking'")" \
  "$(sqlite3 t.db "SELECT group_concat(patient) FROM randomisations r WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE c.patient=r.patient)")"
ok status --db t.db --json
due=$(jq -r .total.retrospective_due out)
ok status --db imp.db --json
same "the import owes what the trial owed" "$(jq -r .total.retrospective_due out)" "$due"
/usr/bin/python3 - t.xml old.xml <<'PY' || fail "removing the consent forms"
import sys, xml.etree.ElementTree as ET
NS = "http://www.cdisc.org/ns/odm/v1.3"
ET.register_namespace("", NS)
tree = ET.parse(sys.argv[1])
for e in tree.getroot().iter(f"{{{NS}}}SubjectData"):
    for ev in [x for x in e if x.get("StudyEventOID") == "SE.consent"]: e.remove(ev)
tree.write(sys.argv[2], xml_declaration=True, encoding="UTF-8")
PY
ok import --db old.db --odm old.xml
same "imported patients marked" "$(sqlite3 old.db "SELECT count(*) FROM consents WHERE consent_by='before_tracking' AND notes='recorded before consent was tracked'")" 5
ok status --db old.db --json
same "that import owes nothing" "$(jq -r .total.retrospective_due out)" 0
done_checks
