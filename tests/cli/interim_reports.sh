# Reports while the trial runs (a trial in progress made by simulate --stop-after):
# the blinded report holds no arm (no "placebo" in any file, no per-arm figure or
# column) and changes nothing in the trial; the closed DMC report is refused without
# the key and to investigators, managers and monitors with nothing written, is in the
# audit trail once run (one disclosure entry, nothing else changed), and is
# reproducible: two runs from the same snapshot and seed differ only in their
# generation-time lines. An export with the arms is audited (who, where); one without
# writes no entry.
source "$(dirname "$0")/lib.bash"
cd "$TMP"
"$LP" simulate --db t.db --key t.key --seed 5 --patients 80 --sites 3 --screened 300 --stop-after 40 --quiet >/dev/null
"$LP" user add --db t.db --name nurse1 --role investigator --site ICU01 --user manager >/dev/null
"$LP" user add --db t.db --name mon --role monitor --user manager >/dev/null
entries() { "$LP" audit log --db t.db | grep -cE '^[0-9]+ ' || true; }
table_rows() { sqlite3 -readonly t.db "SELECT '$1', count(*) FROM $1"; }
state() {
  for tb in screening randomisations patients daily infusions outcomes adverse_events users meta disclosures; do
    table_rows $tb
  done
}
audit0=$(entries)
state0=$(state)
checks=$((checks + 1))
[ "$audit0" -gt 100 ] || fail "the trial in progress has only $audit0 audit entries"

# ---- blinded
expect_fail 1 "investigator" -- "$LP" report --blinded --db t.db --user nurse1 --out blind
checks=$((checks + 1))
[ ! -e blind ] || fail "a refused blinded report wrote blind/"
expect_fail 2 "go with --dmc" -- "$LP" report --blinded --db t.db --user manager --key t.key --out blind
for who in manager mon statistician; do
  "$LP" report --blinded --db t.db --user "$who" --out "blind_$who" >/dev/null || fail "blinded report for $who"
done
B=blind_manager
for f in report.html report.md report.json recruitment_sites.csv recruitment_months.csv completeness.csv baseline.csv \
  outcomes.csv figure_recruitment.svg figure_recruitment.png figure_recruitment.pdf figure_sofa.svg figure_sofa.png \
  figure_sofa.pdf .leopards-output; do
  checks=$((checks + 1))
  [ -s "$B/$f" ] || fail "blinded report file $f missing"
done
# No arm anywhere: not its name, in any case, in any file (figures included).
checks=$((checks + 1))
! grep -rqia placebo "$B" || fail "'placebo' in the blinded report: $(grep -rlia placebo "$B")"
checks=$((checks + 1))
! grep -rqia levosimendan "$B" || fail "'levosimendan' in the blinded report: $(grep -rlia levosimendan "$B")"
# Pooled: every figure has one series (one legend entry or none), every table of
# characteristics and outcomes one column of numbers for all patients.
for fig in figure_recruitment figure_sofa; do
  same "$fig: one series" "$(grep -c 'class="legend"' "$B/$fig.svg" || true)" 1
done
same "outcomes columns" "$(head -1 "$B/outcomes.csv" | tr ',' '\n' | wc -l)" 2
same "baseline columns" "$(head -1 "$B/baseline.csv" | tr ',' '\n' | wc -l)" 2
same "pooled N" "$(head -1 "$B/outcomes.csv" | grep -c 'All patients (N = ')" 1
same "randomised in the blinded report" "$(jq -r '.tables.recruitment_sites.rows[-1].Randomised' "$B/report.json")" 40
same "months add up" "$(jq '[.tables.recruitment_months.rows[]."All sites" | tonumber] | add' "$B/report.json")" 40
same "a figure per pooled series" "$(jq -r '[.figures[].name] | join(",")' "$B/report.json")" \
  "figure_recruitment,figure_sofa"
same "blinded report changes nothing" "$(entries) $(state)" "$audit0 $state0"
# The output folder is ours: a folder with a file of the user's is refused untouched.
mkdir mine && echo notes >mine/notes.txt
expect_fail 1 "not an output folder that leopards wrote" -- "$LP" report --blinded --db t.db --user manager --out mine
same "user's folder untouched" "$(ls mine)" notes.txt
"$LP" report --blinded --db t.db --user manager --out "$B" >/dev/null || fail "a blinded report replaces its own folder"

# ---- closed (DMC)
A=(--boot 300 --imputations 5)
expect_fail 2 "needs the trial's key" -- "$LP" report --dmc --db t.db --user statistician --out dmc "${A[@]}"
for who in nurse1 manager mon; do
  expect_fail 1 "may not see the closed report" -- "$LP" report --dmc --db t.db --key t.key --user "$who" --out dmc \
    "${A[@]}"
done
expect_fail 1 "not registered" -- "$LP" report --dmc --db t.db --key t.key --user nobody --out dmc "${A[@]}"
cp t.key wrong.key && chmod 600 wrong.key && printf 'x' >>wrong.key
expect_fail 1 "." -- "$LP" report --dmc --db t.db --key wrong.key --user statistician --out dmc "${A[@]}"
checks=$((checks + 1))
[ ! -e dmc ] || fail "a refused closed report wrote dmc/"
same "refusals change nothing" "$(entries) $(state)" "$audit0 $state0"

"$LP" report --dmc --db t.db --key t.key --user statistician --out dmc1 "${A[@]}" >/dev/null || fail "closed report"
same "one audit entry for the closed report" "$(entries)" $((audit0 + 1))
"$LP" audit log --db t.db >log
last=$(grep -E '^[0-9]+ ' log | tail -1)
checks=$((checks + 1))
grep -q "statistician insert disclosures row 1  reason: closed report for the data monitoring committee" <<<"$last" ||
  fail "the last audit entry is not the closed report's: $last"
checks=$((checks + 1))
grep -q '"destination":"dmc1","patients":40' log || fail "the disclosure does not say where and how many"
same "only the disclosure changed" "$(state | grep -v disclosures)" "$(grep -v disclosures <<<"$state0")"
"$LP" audit verify --db t.db >/dev/null || fail "the trail does not verify after the closed report"
for f in report.html report.md report.json patients.csv safety.csv deaths.csv primary.csv figure_sofa.svg \
  figure_sofa.png figure_sofa.pdf; do
  checks=$((checks + 1))
  [ -s "dmc1/$f" ] || fail "closed report file $f missing"
done
# "CONFIDENTIAL: closed report" in the title and at the top of every text file.
checks=$((checks + 1))
grep -q '<title>CONFIDENTIAL: closed report' dmc1/report.html || fail "the HTML title"
checks=$((checks + 1))
grep -q '<h1>CONFIDENTIAL: closed report' dmc1/report.html || fail "the HTML heading"
for f in report.md patients.csv safety.csv deaths.csv primary.csv; do
  checks=$((checks + 1))
  head -1 "dmc1/$f" | grep -q "CONFIDENTIAL: closed report" || fail "$f does not start with the banner"
done
same "report.json starts with the banner" "$(jq -r 'keys_unsorted[0] + "=" + .confidential' dmc1/report.json)" \
  "confidential=CONFIDENTIAL: closed report"
checks=$((checks + 1))
grep -q "CONFIDENTIAL: closed report" dmc1/figure_sofa.svg || fail "the figure's title"
# By arm, safety first, then the primary outcome.
same "sections in order" "$(grep -o '<h2 id="[a-z]*"' dmc1/report.html | cut -d'"' -f2 | tr '\n' ' ')" \
  "patients safety deaths primary "
same "named arms" "$(jq -r '.tables.patients.rows | map(.Arm) | join(",")' dmc1/report.json)" "Levosimendan,Placebo"
same "arms add up" "$(jq '[.tables.patients.rows[].Randomised | tonumber] | add' dmc1/report.json)" 40
checks=$((checks + 1))
jq -e '.tables.primary.rows[0]["Difference (95% CI)"] | test("^-?[0-9.]+ \\(-?[0-9.]+ to -?[0-9.]+\\)$")' \
  dmc1/report.json >/dev/null || fail "no primary estimate with its interval: $(jq -c .tables.primary dmc1/report.json)"
same "categories of serious adverse events" "$(jq '.tables.safety.rows | length' dmc1/report.json)" 7

# Reproducible: the same snapshot and seed give the same files but the generation time.
"$LP" report --dmc --db t.db --key t.key --user statistician --out dmc2 "${A[@]}" >/dev/null
strip() { sed -E '/^Generated: /d; /"generated": /d; /\/CreationDate /d' "$1"; }
for f in $(cd dmc1 && ls -A); do
  checks=$((checks + 1))
  case "$f" in
  *.png) cmp -s "dmc1/$f" "dmc2/$f" || fail "$f differs between two runs" ;;
  *) diff <(strip "dmc1/$f") <(strip "dmc2/$f") >/dev/null || fail "$f differs between two runs: $(diff <(strip \
    "dmc1/$f") <(strip "dmc2/$f") | head -5)" ;;
  esac
done
checks=$((checks + 1))
[ "$(grep -c '^Generated: ' dmc1/report.md)" = 1 ] || fail "report.md has no generation-time line"
# Coded: A and B, and neither arm's name anywhere.
"$LP" report --dmc --db t.db --key t.key --user statistician --out dmc_coded --coded "${A[@]}" >/dev/null
same "coded arms" "$(jq -r '.tables.patients.rows | map(.Arm) | join(",")' dmc_coded/report.json)" "Arm A,Arm B"
checks=$((checks + 1))
! grep -rqiaE "placebo|levosimendan" dmc_coded || fail "an arm's name in the coded report"
same "three closed reports, three entries" "$(entries)" $((audit0 + 3))

# ---- an export with the arms is audited; one without is not (after lock)
"$LP" lock --db t.db --user statistician --override-reason "test: the open queries of a trial stopped part-way" >/dev/null
n0=$(entries)
"$LP" export --db t.db --out blinded_export >/dev/null
same "an export without the arms writes no entry" "$(entries)" "$n0"
expect_fail 2 "--user" -- "$LP" export --db t.db --key t.key --out arms_export
expect_fail 1 "may not export the allocations" -- "$LP" export --db t.db --key t.key --user manager --out arms_export
checks=$((checks + 1))
[ ! -e arms_export ] || fail "a refused export wrote its folder"
same "refused exports write no entry" "$(entries)" "$n0"
"$LP" export --db t.db --key t.key --user statistician --out arms_export >/dev/null
same "an export with the arms writes one entry" "$(entries)" $((n0 + 1))
"$LP" audit log --db t.db >log
checks=$((checks + 1))
grep -E '^[0-9]+ ' log | tail -1 | grep -q "statistician insert disclosures row 4  reason: export with the allocations" ||
  fail "the export's entry: $(grep -E '^[0-9]+ ' log | tail -1)"
checks=$((checks + 1))
grep -q '"destination":"arms_export","patients":40' log || fail "the export's entry does not say where"
"$LP" audit verify --db t.db >/dev/null || fail "the trail does not verify after the export"
echo "interim_reports: $checks checks passed"
