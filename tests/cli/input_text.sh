# Input that must never vanish or be altered silently: bytes that are not UTF-8 in a CSV
# cell or header, a NUL byte inside a field, duplicate keys in a JSON object, and control
# characters in identifiers (site codes, user names, patient codes) are refused with the
# file, line and column; nothing is stored. Each input here was accepted before.
source "$(dirname "$0")/lib.bash"
cd "$TMP"
ELIG='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
printf 'code,name\nLDN,London\nLDS,Leeds\n' >sites.csv
"$LP" trial init --db t.db --sites sites.csv --user mgr >/dev/null
"$LP" user add --db t.db --name stat --role statistician --user mgr >/dev/null
"$LP" user add --db t.db --name ann --role investigator --site LDN --user mgr >/dev/null
"$LP" list generate --db t.db --key t.key --user stat --initial-per-site 4 >/dev/null
screened() { "$LP" status --db t.db --json | jq '.total.screened'; }
audit_n() { "$LP" audit log --db t.db --json | jq 'length'; }
n0=$(audit_n)

# 5. A Latin-1 reason_not_enrolled (0xE9) would have vanished and the patient counted
# as enrolled: now refused at its line and column.
H='site,patient,age,infection,temperature,heart_rate,resp_rate,wbc,vasopressor_hours,hours_since_criteria,esrf_dialysis,torsades_history,child_pugh_c,ventricular_obstruction,treatment_limitation,weight,pregnant,levosimendan_30d,levosimendan_hypersensitivity,other_trial,reason_not_enrolled'
printf '%s\nLDN,,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,\nLDN,,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,famille absente (p\xe9re)\n' "$H" >latin1.csv
expect_fail 1 "latin1\.csv:3: column 67 \(field 21\): byte 0xE9 is not valid UTF-8" -- \
  "$LP" screen --db t.db --data latin1.csv --user ann
# the same in a header
printf 'site,patient,\xe2ge\nLDN,,70\n' >header.csv
expect_fail 1 "header\.csv:1: column 14 \(field 3\): byte 0xE2 is not valid UTF-8" -- \
  "$LP" screen --db t.db --data header.csv --user ann
# a cut-short sequence and an overlong form are not UTF-8 either
printf 'site,patient,age\nLDN,,"7\xc3"\n' >cut.csv
expect_fail 1 "cut\.csv:2: column 8 \(field 3\): byte 0xC3" -- "$LP" screen --db t.db --data cut.csv --user ann
printf 'site,patient,age\nLDN,,\xc0\xb7\n' >overlong.csv
expect_fail 1 "overlong\.csv:2: column 6 \(field 3\): byte 0xC0" -- "$LP" screen --db t.db --data overlong.csv --user ann
# Valid UTF-8 text (an accent, a CJK character) is kept as given.
printf '%s\nLDN,,70,1,39,100,25,14,5,3,0,0,0,0,0,80,0,0,0,0,famille absente (p\xc3\xa8re) \xe5\xae\xb6\n' "$H" >utf8.csv
"$LP" screen --db t.db --data utf8.csv --user ann >/dev/null
same "UTF-8 reason stored as given" "$("$LP" export --db t.db --out exp >/dev/null && tail -1 exp/screening.csv | grep -o 'famille[^"]*')" \
  "$(printf 'famille absente (p\xc3\xa8re) \xe5\xae\xb6')"

# 6. A NUL byte inside a quoted field ("65\0junk" was stored as 65).
printf 'site,patient,age\nLDN,,"65\0junk"\n' >nul.csv
expect_fail 1 "nul\.csv:2: column 9 \(field 3\): a NUL byte inside a field" -- "$LP" screen --db t.db --data nul.csv --user ann
printf 'site,patient,age\nLDN,,65\0junk\n' >nul2.csv
expect_fail 1 "nul2\.csv:2: column 8 \(field 3\): a NUL byte" -- "$LP" screen --db t.db --data nul2.csv --user ann

# 7. Duplicate keys in a JSON object ({"pregnant":1,"pregnant":0} was screened eligible).
expect_fail 1 "duplicate object key.*pregnant" -- \
  "$LP" screen --db t.db --site LDN --patient P9 --user ann --json-in "{$ELIG,\"pregnant\":1}"
expect_fail 1 "duplicate object key.*age" -- \
  "$LP" screen --db t.db --user ann --json-in '[{"site":"LDN","age":70,"age":30}]'
"$LP" screen --db t.db --site LDN --patient P1 --user ann --json-in "{$ELIG}" >/dev/null
"$LP" record consent --db t.db --patient P1 --consent-by patient --consented-at 2020-01-01T00:00 --taken-by nurse --form-version 1 --user ann >/dev/null
"$LP" randomize --db t.db --site LDN --patient P1 --user ann >/dev/null
expect_fail 1 "duplicate object key.*gcs" -- \
  "$LP" record daily --db t.db --json-in '{"patient":"P1","day":1,"gcs":15,"gcs":3}' --user ann
# a daily GCS of 0xE9 was stored as missing
printf 'patient,day,gcs\nP1,1,\xe9\n' >daily.csv
expect_fail 1 "daily\.csv:2: column 6 \(field 3\): byte 0xE9 is not valid UTF-8" -- \
  "$LP" record daily --db t.db --data daily.csv --user ann
# JSON text that is not UTF-8 is refused by the JSON layer, naming line and column
expect_fail 1 "--json-in:2: column 8: unable to decode byte 0xe9" -- "$LP" record daily --db t.db --json-in "$(printf '{"patient":"P1","day":1,\n"note":"\xe9"}')" --user ann

# 8. Control characters and bytes that are not UTF-8 in identifiers.
printf 'code,name\nS1\x1b[2J,Bad\n' >esc_sites.csv
expect_fail 1 "site 1: the site code has a control character \(U\+001B\) at character 3" -- \
  "$LP" trial init --db esc.db --sites esc_sites.csv --user mgr
checks=$((checks + 1))
[ ! -e esc.db ] || fail "a refused init left esc.db"
printf 'code,name\nS1,"Ward\n2"\n' >nl_sites.csv
expect_fail 1 "the site name has a control character \(U\+000A\)" -- "$LP" trial init --db nl.db --sites nl_sites.csv --user mgr
expect_fail 1 "the site code has a non-printing character \(U\+202E\)" -- \
  "$LP" trial init --db bidi.db --sites "$(printf 'code,name\nS\xe2\x80\xaeX,Bidi\n' >bidi.csv && echo bidi.csv)" --user mgr
expect_fail 2 "the user name has a control character \(U\+001B\)" -- \
  "$LP" user add --db t.db --name "$(printf 'eve\x1b[2J')" --role manager --user mgr
expect_fail 2 "the user name has a control character \(U\+000A\)" -- \
  "$LP" user add --db t.db --name "$(printf 'eve\nroot')" --role manager --user mgr
expect_fail 2 "the user name is not valid UTF-8 \(byte 0xE9 at character 3\)" -- \
  "$LP" user add --db t.db --name "$(printf 'ev\xe9')" --role manager --user mgr
expect_fail 2 "the user name has a control character" -- \
  "$LP" trial init --db u.db --sites sites.csv --user "$(printf 'mgr\x07')"
expect_fail 2 "the patient code has a control character \(U\+001B\)" -- \
  "$LP" screen --db t.db --site LDN --patient "$(printf 'P\x1b[2J')" --user ann --json-in "{$ELIG}"
checks=$((checks + 1))
[ ! -e u.db ] || fail "a refused init left u.db"
# A printable name in any script is an identifier.
"$LP" user add --db t.db --name "$(printf 'Zo\xc3\xab')" --role manager --user mgr >/dev/null

# Nothing refused above reached the trial: two screenings from utf8.csv and P1, one
# randomisation, one new user.
same "screenings stored" "$(screened)" 2
checks=$((checks + 1))
n1=$(audit_n)
[ "$n1" -gt "$n0" ] || fail "audit grew"
done_checks
