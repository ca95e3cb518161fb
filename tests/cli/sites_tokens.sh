# Sites during the trial and personal API tokens from the command line: a manager adds
# a site (no list until the statistician extends the list, which gives it one) and
# closes one (screening and randomisation there refused, saying so; data of its
# patients go on); an API token is shown once, stored only as a hash, listed without
# itself, revoked, audited, and never in an export.
source "$(dirname "$0")/lib.bash"
cd "$TMP"
E='"age":64,"infection":1,"temperature":38.6,"heart_rate":112,"resp_rate":24,"wbc":15.2,"vasopressor_hours":6,"hours_since_criteria":10,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"weight_kg":80,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
consent() { # the written consent that randomisation needs
  "$LP" record consent --db t.db --patient "$1" --consent-by patient --consented-at 2020-01-01T00:00 \
    --taken-by nurse --form-version 1 --user "$2" >/dev/null
}
"$LP" trial init --db t.db --sites 2 --user mgr >/dev/null
"$LP" user add --db t.db --name st --role statistician --user mgr >/dev/null
"$LP" user add --db t.db --name inv1 --role investigator --site S01 --user mgr >/dev/null
"$LP" list generate --db t.db --key t.key --user st >/dev/null

# ---- site add: only a manager; the new site has no list until it is extended
expect_fail 1 "may not add sites" -- "$LP" site add --db t.db --code S03 --user st
"$LP" site add --db t.db --code S03 --name "New ICU" --user mgr >/dev/null
expect_fail 1 "there is a site 'S03' already" -- "$LP" site add --db t.db --code S03 --user mgr
"$LP" user add --db t.db --name inv3 --role investigator --site S03 --user mgr >/dev/null
"$LP" screen --db t.db --site S03 --patient N1 --json-in "{$E}" --user inv3 >/dev/null
consent N1 inv3
expect_fail 1 "site S03 has no randomisation list yet" -- "$LP" randomize --db t.db --site S03 --patient N1 --user inv3
expect_fail 1 "hint: leopards list generate" -- "$LP" randomize --db t.db --site S03 --patient N1 --user inv3
same "S03 slots before" "$("$LP" site list --db t.db --json | jq '.[] | select(.code=="S03") | .slots')" 0
"$LP" list generate --db t.db --key t.key --user st >/dev/null
"$LP" randomize --db t.db --site S03 --patient N1 --user inv3 >/dev/null
same "S03 randomised" "$("$LP" site list --db t.db --json | jq '.[] | select(.code=="S03") | .randomised')" 1

# ---- site close: a reason; then no screening nor randomisation there, the rest goes on
"$LP" screen --db t.db --site S01 --patient P1 --json-in "{$E}" --user inv1 >/dev/null
"$LP" screen --db t.db --site S01 --patient P2 --json-in "{$E}" --user inv1 >/dev/null
consent P1 inv1
consent P2 inv1
"$LP" randomize --db t.db --site S01 --patient P1 --user inv1 >/dev/null
expect_fail 2 "closing a site needs a reason in words" -- "$LP" site close --db t.db --site S01 --reason "x" --user mgr
expect_fail 1 "may not close sites" -- "$LP" site close --db t.db --site S01 --reason "pharmacy gone" --user inv1
"$LP" site close --db t.db --site S01 --reason "pharmacy gone" --user mgr >/dev/null
expect_fail 1 "site S01 was closed to recruitment on" -- \
  "$LP" screen --db t.db --site S01 --patient P3 --json-in "{$E}" --user inv1
expect_fail 1 "\\(pharmacy gone\\): no new patient is screened or randomised there" -- \
  "$LP" randomize --db t.db --site S01 --patient P2 --user inv1
# a patient randomised before the closure keeps their allocation
"$LP" randomize --db t.db --site S01 --patient P1 --user inv1 --json | jq -e '.existing == true' >/dev/null ||
  fail "an earlier allocation is still given"
expect_fail 1 "closed to recruitment already" -- "$LP" site close --db t.db --site S01 --reason again --user mgr
same "S01 closed" "$("$LP" site list --db t.db --json | jq -r '.[] | select(.code=="S01") | .closed_reason')" "pharmacy gone"
same "closure audited" "$(sqlite3 t.db "SELECT count(*) FROM audit WHERE tbl='sites' AND reason='pharmacy gone' AND user='mgr'")" 1

"$LP" audit verify --db t.db >/dev/null || fail "audit verify after the sites' changes"

# ---- API tokens: shown once, stored hashed, listed without the token, revocable
expect_fail 1 "needs an active account with their own password" -- \
  "$LP" user token add --db t.db --user inv1 --label "ward export"
printf 'first-Time-pass-1\n' | "$LP" user passwd --db t.db --name inv1 --user mgr >/dev/null
# (a one-time password is no own password either)
expect_fail 1 "needs an active account with their own password" -- \
  "$LP" user token add --db t.db --user inv1 --label "ward export"
# as after the first login's change (done on the web; here by hand, outside the trail)
sqlite3 t.db "UPDATE accounts SET must_change=0"
tok=$("$LP" user token add --db t.db --user inv1 --label "ward export" --days 30 --json | jq -r .token)
[[ $tok =~ ^lpt_[0-9a-f]{64}$ ]] || fail "token shape: $tok"
same "token not in clear" "$(sqlite3 t.db "SELECT count(*) FROM session_secrets WHERE hex(token_hash) LIKE '%$(tr a-f A-F <<<"${tok#lpt_}")%'")" 0
same "token list" "$("$LP" user token list --db t.db --user inv1 --json | jq -r '.[0].label + "/" + .[0].state')" "ward export/active"
! "$LP" user token list --db t.db --user inv1 --json | grep -q "${tok#lpt_}" || fail "the list shows the token"
id=$("$LP" user token list --db t.db --user inv1 --json | jq '.[0].id')
expect_fail 1 "may not revoke another user's API token" -- "$LP" user token revoke --db t.db --id "$id" --user st
"$LP" user token revoke --db t.db --id "$id" --user inv1 >/dev/null
same "revoked" "$("$LP" user token list --db t.db --user inv1 --json | jq -r '.[0].state')" "revoked"
same "token audited" "$(sqlite3 t.db "SELECT group_concat(reason, ',') FROM audit WHERE tbl='sessions'")" \
  "API token created,API token revoked"
! sqlite3 t.db "SELECT old || new FROM audit" | grep -q "${tok#lpt_}" || fail "the token is in the trail"
"$LP" export --db t.db --out exp >/dev/null
! grep -rq "${tok#lpt_}" exp || fail "the token is in the export"
! test -e exp/session_secrets.csv || fail "token hashes exported"
