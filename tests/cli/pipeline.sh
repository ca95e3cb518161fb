# The main job end to end: simulate a trial through the store, analyse it, and
# recompute the key numbers in R from the exported analysis data set; the report's
# files; and the refusals (a bad plan, an unlocked trial, a missing or wrong key)
# that must leave nothing written.
source "$(dirname "$0")/lib.bash"
"$LP" simulate --db "$TMP/t.db" --key "$TMP/t.key" --seed 7 --quiet >/dev/null
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" --boot 2000 --permutations 500 --quiet >/dev/null
for f in report.html report.md report.json analysis.csv time_to_event.csv table1.csv table2.csv table3.csv subgroups.csv \
  figure1.svg figure1.pdf figure1.png figure2.png figure_subgroups.png figure_sofa.png data/allocations.csv; do
  checks=$((checks + 1))
  [ -s "$TMP/report/$f" ] || fail "report file $f missing"
done
grep -q "Table 3. Clinical Outcomes" "$TMP/report/report.html" || fail "html table 3"
grep -q "<svg" "$TMP/report/report.html" || fail "inline figures"
Rscript "$TESTS/cli/recompute.R" "$TMP/report" >"$TMP/r.csv"
rv() { awk -F, -v k="$1" '$1 == k { print $2 }' "$TMP/r.csv"; }
J="$TMP/report/report.json"
close "primary difference" "$(jq '.tables.table3.t3_sofa.estimate' "$J")" "$(rv sofa.estimate)" 1e-9
close "primary Mann-Whitney P" "$(jq '.tables.table3.t3_sofa.p' "$J")" "$(rv sofa.p)" 1e-9
close "28-day death difference" "$(jq '.tables.table3.t3_death28.estimate' "$J")" "$(rv death.estimate)" 1e-9
close "28-day death lower" "$(jq '.tables.table3.t3_death28.ci[0]' "$J")" "$(rv death.lower)" 1e-9
close "28-day death upper" "$(jq '.tables.table3.t3_death28.ci[1]' "$J")" "$(rv death.upper)" 1e-9
close "28-day death P" "$(jq '.tables.table3.t3_death28.p' "$J")" "$(rv death.p)" 1e-9
close "Cox hazard ratio" "$(jq '.tables.figure2.f2_death.estimate' "$J")" "$(rv cox.hr)" 1e-9
close "Cox lower (robust)" "$(jq '.tables.figure2.f2_death.ci[0]' "$J")" "$(rv cox.lower)" 1e-9
close "Cox upper (robust)" "$(jq '.tables.figure2.f2_death.ci[1]' "$J")" "$(rv cox.upper)" 1e-9
close "Cox P (robust)" "$(jq '.tables.figure2.f2_death.p' "$J")" "$(rv cox.p)" 1e-9
# Table 2 has the paper's rows; each patient has one source of infection and one rhythm.
for id in t2_src_lung t2_src_other t2_ards t2_sinus t2_rhythm_other t2_cvp t2_sv t2_sao2 t2_hb; do
  same "Table 2 row $id" "$(jq -r ".tables.table2.$id.kind" "$J")" baseline
done
same "sources add up" "$(jq -c '[.tables.table2 | to_entries[] | select(.key | startswith("t2_src_")) | .value.arms[0].stat[0]] | add' "$J")" \
  "$(jq '.tables.table2.t2_src_lung.arms[0].stat[1]' "$J")"
same "rhythms add up" "$(jq -c '[.tables.table2 | (.t2_sinus, .t2_af, .t2_paced, .t2_rhythm_other) | .arms[1].stat[0]] | add' "$J")" \
  "$(jq '.tables.table2.t2_sinus.arms[1].stat[1]' "$J")"
same "CONSORT screened" "$(jq '.consort.assessed' "$J")" 2382
same "CONSORT randomised" "$(jq '.consort.randomised' "$J")" 516
same "analysed" "$(jq '.n[0] + .n[1]' "$J")" 515
same "time-to-event rows for death" "$(grep -c ',death28,' "$TMP/report/time_to_event.csv")" 515
checks=$((checks + 1))
grep -q . <<<"$(awk -F, 'NR > 1 && $4 == "weaning"' "$TMP/report/time_to_event.csv")" || fail "weaning rows"
# The kidney reference, recomputed in R from the export: the lower of the recorded
# creatinine and KDIGO's estimate (MDRD eGFR 75 for age, sex and race), and renal
# failure at baseline as stage 3 against it (RRT, >= 4.0 mg/dL or >= 3 x).
kid() {
  Rscript -e '
    a <- read.csv(file.path(commandArgs(TRUE)[1], "analysis.csv"))
    p <- read.csv(file.path(commandArgs(TRUE)[1], "data", "patients.csv"))
    m <- merge(a[, c("patient", "creatinine_reference", "renal_failure")], p, by = "patient")
    est <- (186 * m$age^-0.203 * ifelse(m$sex == "female", 0.742, 1) * ifelse(m$race == "black", 1.21, 1) / 75)^(1 / 1.154)
    ref <- if (commandArgs(TRUE)[2] == "estimated") pmin(m$creatinine, est) else m$creatinine
    rf <- as.integer(m$rrt == 1 | m$creatinine >= 4 | m$creatinine >= 3 * ref * (1 - 1e-9))
    cat(nrow(m), sum(abs(ref - m$creatinine_reference) > 1e-6), sum(rf != m$renal_failure), sum(rf), "\n")' "$@"
}
read -r n bad_ref bad_rf rf_est <<<"$(kid "$TMP/report" estimated)"
same "kidney reference rows" "$n" 515
same "kidney reference = min(recorded, KDIGO estimate)" "$bad_ref" 0
same "renal failure at baseline against it" "$bad_rf" 0
grep -q "kidney outcomes staged against the estimated reference creatinine" "$TMP/report/report.md" ||
  fail "report names the kidney reference"
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report_rec" --boot 200 --permutations 100 \
  --imputations 2 --kidney-reference recorded --quiet >/dev/null
read -r n bad_ref bad_rf rf_rec <<<"$(kid "$TMP/report_rec" recorded)"
same "recorded reference = the randomisation creatinine" "$bad_ref/$bad_rf" 0/0
checks=$((checks + 1))
[ "$rf_rec" -lt "$rf_est" ] || fail "renal failure: $rf_rec against the recorded value, $rf_est against the estimate"
expect_fail 2 "unknown kidney reference 'bogus' \\(estimated or recorded\\)" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report_bad" --kidney-reference bogus
# The same seed gives the same trial and the same numbers.
"$LP" simulate --db "$TMP/u.db" --key "$TMP/u.key" --seed 7 --quiet >/dev/null
"$LP" analyze --db "$TMP/u.db" --key "$TMP/u.key" --out "$TMP/report2" --boot 2000 --permutations 500 --quiet >/dev/null
same "reproducible" "$(jq -c '.tables.table3.t3_sofa | [.estimate, .ci]' "$TMP/report2/report.json")" \
  "$(jq -c '.tables.table3.t3_sofa | [.estimate, .ci]' "$J")"
# Refusals, with nothing written.
printf 'id,table,label,kind,outcome\nx,table3,X,mean,no_such_outcome\n' >"$TMP/bad_outcome.csv"
expect_fail 1 "bad_outcome.csv:2: column 'outcome': the data set analysis.csv has no column 'no_such_outcome'" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/r3" --plan "$TMP/bad_outcome.csv" --boot 200
printf 'id,table,label,kind,outcome,ci\nx,table3,X,mean,sofa_mean,jackknife\n' >"$TMP/bad_method.csv"
expect_fail 1 "bad_method.csv:2: column 'ci': unknown interval method 'jackknife'" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/r3" --plan "$TMP/bad_method.csv"
checks=$((checks + 1))
[ ! -e "$TMP/r3" ] || fail "a refused analysis left $TMP/r3"
grep -q partial <<<"$(ls "$TMP")" && fail "a staging folder was left behind"
"$LP" trial init --db "$TMP/open.db" --sites 2 >/dev/null
expect_fail 1 "is not locked" -- "$LP" analyze --db "$TMP/open.db" --key "$TMP/t.key" --out "$TMP/r4"
grep -q "leopards lock --db $TMP/open.db" "$TMP/err" || fail "no hint from the command line for an unlocked trial"
expect_fail 2 "option --key is required" -- "$LP" analyze --db "$TMP/t.db" --out "$TMP/r4"
expect_fail 1 "cannot open the key file" -- "$LP" analyze --db "$TMP/t.db" --key "$TMP/none.key" --out "$TMP/r4"
expect_fail 1 "" -- "$LP" analyze --db "$TMP/t.db" --key "$TMP/u.key" --out "$TMP/r4"
checks=$((checks + 1))
[ ! -e "$TMP/r4" ] || fail "a refused analysis left $TMP/r4"
expect_fail 2 "--effect: unknown effect 'huge'" -- "$LP" simulate --db "$TMP/x.db" --key "$TMP/x.key" --effect huge
expect_fail 2 "exists" -- "$LP" simulate --db "$TMP/t.db" --key "$TMP/new.key"
# demo: a folder of its own, reusable; another non-empty folder is refused.
"$LP" demo --out "$TMP/demo" --boot 200 --permutations 100 --imputations 2 --quiet >/dev/null
"$LP" demo --out "$TMP/demo" --boot 200 --permutations 100 --imputations 2 --quiet >/dev/null
checks=$((checks + 1))
[ -s "$TMP/demo/report/report.html" ] || fail "demo report"
mkdir "$TMP/other" && touch "$TMP/other/notes.txt"
expect_fail 1 "is not an output folder that leopards wrote \(it holds notes.txt\)" -- "$LP" demo --out "$TMP/other"
# design: the null gives about 5% rejections, the paper's effect more.
out=$("$LP" design --trials 200 --effect none --boot 500 --json)
checks=$((checks + 1))
awk -v r="$(jq .reject <<<"$out")" 'BEGIN { exit !(r < 0.12) }' || fail "type I error $(jq .reject <<<"$out")"
awk -v c="$(jq .coverage <<<"$out")" 'BEGIN { exit !(c > 0.89 && c < 0.99) }' || fail "coverage"
# A design difference in mean daily SOFA is the trials' true difference (within 0.04,
# three Monte Carlo SEs of the 400,000-patient truth).
for d in 1 -1; do
  close "design difference $d" "$("$LP" design --trials 1 --boot 100 --difference "$d" --json | jq .true_difference)" "$d" 0.04
done
expect_fail 2 "--difference goes with --effect design" -- "$LP" design --trials 1 --effect paper --difference 1
expect_fail 2 "--difference: 3 is outside -2 to 2" -- "$LP" simulate --db "$TMP/d.db" --key "$TMP/d.key" --difference 3
# A power curve: power grows with the trial size; the sizes are checked.
out=$("$LP" design --trials 100 --boot 200 --patients 200,1658 --json)
same "curve sizes" "$(jq -c '[.curve[].patients]' <<<"$out")" "[200,1658]"
checks=$((checks + 1))
awk -v a="$(jq '.curve[0].reject' <<<"$out")" -v b="$(jq '.curve[1].reject' <<<"$out")" 'BEGIN { exit !(b > a + 0.3) }' ||
  fail "power curve does not grow: $(jq -c '[.curve[].reject]' <<<"$out")"
same "t-test power beside, growing too" "$(jq '.curve[0].t_test_power < .curve[1].t_test_power and .curve[1].t_test_power < 1' <<<"$out")" true
# design --full: every row's average with its Monte Carlo error and the spread of single
# trials; --markdown prints the table docs/simulation.md shows (differences of
# proportions in percentage points).
out=$("$LP" design --trials 10 --boot 100 --full 2 --json)
same "full rows: the middle 95% holds the mean, MC error = SD / sqrt(trials)" \
  "$(jq '(.full | length) as $n | [.full[] | select(.q025 <= .mean and .mean <= .q975 and ((.se_mean - .sd / (.trials | sqrt)) | fabs) < 1e-12)] | length == $n and $n > 20' <<<"$out")" true
same "full rows say which are percentage points" "$(jq -c '[.full[] | select(.id == "t3_sae" or .id == "t3_sofa") | .percentage_points]' <<<"$out")" '[false,true]'
md=$("$LP" design --trials 10 --boot 100 --full 2 --markdown)
same "markdown header" "$(grep -c '^| row | outcome | published | average (MC error) | SD of one trial | middle 95% of trials | published inside |' <<<"$md")" 1
same "markdown rows, eight columns each" "$(grep '^| t3_\|^| f2_' <<<"$md" | awk -F'|' '{ print NF - 2 }' | sort -u)" 8
same "markdown: any serious adverse event published as 3.5 points" "$(grep '^| t3_sae |' <<<"$md" | awk -F'|' '{ gsub(/ /, "", $4); print $4 }')" 3.500
grep -q "only 2 whole trials" <<<"$md" || fail "markdown: the warning about few trials"
checks=$((checks + 1))
expect_fail 2 "--markdown prints the table of --full" -- "$LP" design --trials 10 --markdown
expect_fail 2 "--full runs whole trials at one size" -- "$LP" design --trials 10 --patients 200,300 --full 2
expect_fail 2 "--patients: 12.5 is not a whole number" -- "$LP" design --trials 10 --patients 200,12.5
done_checks
