# leopards score, eligibility and infusion: each command, the CSV batch (every row
# scored as the library scores it, a bad row reported by its line while the good
# ones are still reported), SI units, and the errors.
source "$(dirname "$0")/lib.bash"
DAY='"pao2":80,"fio2":0.5,"ventilated":true,"platelets":90,"bilirubin":1.5,"map":65,"norepinephrine":0.15,"creatinine":2.4'
out=$("$LP" score sofa --json --json-in "{$DAY}")
same "sofa components" "$(jq -c '[.respiratory,.coagulation,.hepatic,.cardiovascular,.renal]' <<<"$out")" "[3,2,1,4,2]"
same "sofa total (5)" "$(jq .total <<<"$out")" 12
same "cns not scored" "$(jq .cns <<<"$out")" null
out=$("$LP" score sofa --systems 6 --json --json-in "{$DAY,\"gcs\":12}")
same "sofa total (6)" "$(jq .total <<<"$out")" 14
# a GCS given to the five-system score is named as left out of the total, not dropped silently
out=$("$LP" score sofa --json-in "{$DAY,\"gcs\":12}")
case "$out" in *"total 12  (cns 2 from the GCS given: not in the five-system total; --systems 6 adds it)"*) ;; *) fail "five-system text with a GCS: $out" ;; esac
out=$("$LP" score sofa --systems 6 --json --json-in "{$DAY}")
same "missing named" "$(jq -c .missing <<<"$out")" '["cns"]'
same "total null when missing" "$(jq .total <<<"$out")" null
out=$("$LP" score sofa --json --json-in '{"creatinine_umol":309.4,"bilirubin_umol":102.6}')
same "SI cut-offs" "$(jq -c '[.renal,.hepatic]' <<<"$out")" "[3,3]"
# A CSV of patient-days: the good rows scored, the bad one reported by line.
printf 'pao2,fio2,ventilated,platelets,bilirubin,map,norepinephrine,creatinine,urine_ml\n80,0.5,1,90,1.5,65,0.15,2.4,\n320,0.4,0,160,0.8,72,0,0.9,1800\n80,40,1,90,1.5,65,0.15,2.4,\n90,0.6,1,45,6.5,70,0.05,3.8,350\n' >"$TMP/days.csv"
rc=0
"$LP" score sofa --data "$TMP/days.csv" --json >"$TMP/out.json" 2>"$TMP/err" || rc=$?
same "exit code with a bad row" "$rc" 1
same "rows reported" "$(jq length "$TMP/out.json")" 4
same "good rows" "$(jq -c '[.[0].total,.[1].total,.[3].total]' "$TMP/out.json")" "[12,0,15]"
same "bad row line" "$(jq '.[2].line' "$TMP/out.json")" 4
same "bad row field" "$(jq -r '.[2].error.field' "$TMP/out.json")" fio2
grep -q "days.csv:4: column 'fio2'" "$TMP/err" || fail "stderr names file, line and column: $(cat "$TMP/err")"
# The same rows through the library one by one (--json-in) give the same scores.
for i in 0 1 3; do
  row=$(awk -F, -v r=$((i + 2)) 'NR == 1 { split($0, h, ",") } NR == r { s = ""; for (k = 1; k <= NF; k++) if ($k != "") s = s (s ? "," : "") "\"" h[k] "\":" $k; print "{" s "}" }' "$TMP/days.csv")
  same "row $i as JSON" "$("$LP" score sofa --json --json-in "$row" | jq .total)" "$(jq ".[$i].total" "$TMP/out.json")"
done
"$LP" score sofa --data "$TMP/days.csv" >"$TMP/text" 2>/dev/null || true
grep -q "line 4: error: column 'fio2'" "$TMP/text" || fail "text output of a bad row"
grep -q "line 5: .*total 15" "$TMP/text" || fail "text output after a bad row"
# APACHE II
AP='"temperature":38.45,"map":65,"heart_rate":120,"resp_rate":30,"fio2":0.6,"pao2":70,"paco2":35,"ph":7.3,"sodium":140,"potassium":4,"creatinine":2.1,"acute_renal_failure":true,"hematocrit":35,"wbc":18,"gcs":12,"age":70,"chronic_health":true,"admission":"elective_postoperative"'
out=$("$LP" score apache2 --json --json-in "{$AP}")
same "apache2 points" "$(jq -c '.points | [.temperature,.oxygenation,.creatinine,.gcs]' <<<"$out")" "[0,2,6,3]"
same "apache2 total" "$(jq -c '[.aps,.age_points,.chronic_points,.total]' <<<"$out")" "[19,5,2,26]"
same "A-aDO2 used" "$(jq -r .oxygenation_by <<<"$out")" aado2
# KDIGO
same "kdigo" "$("$LP" score kdigo --creatinine 3.1 --baseline 1.0 --json | jq .stage)" 3
out=$("$LP" score kdigo --creatinine 1.3 --baseline 1.0)
case "$out" in "KDIGO stage 0 (creatinine 1.30 x baseline; its rise of 0.30 mg/dL is stage 1 if it came within 48 hours: give --rise48)") ;; *) fail "kdigo rise hint: $out" ;; esac
same "kdigo rise within 48 h" "$("$LP" score kdigo --creatinine 1.3 --baseline 1.0 --rise48 0.3 --json | jq .stage)" 1
same "kdigo rrt without baseline" "$("$LP" score kdigo --creatinine 2 --rrt --json | jq .stage)" 3
# No measured baseline: KDIGO's estimate for age and sex (Table 9: 0.8 mg/dL for a
# woman of 60, 1.1 for a man).
out=$("$LP" score kdigo --creatinine 2.2 --age 60 --sex female --json)
same "kdigo estimated baseline" "$(jq -c '[.stage, .baseline_estimated, (.baseline * 10 | round)]' <<<"$out")" "[2,true,8]"
same "kdigo estimated, male" "$("$LP" score kdigo --creatinine 2.0 --age 60 --sex male --json | jq '[.stage, (.baseline * 10 | round)]' -c)" "[1,11]"
same "kdigo estimated, black male" "$("$LP" score kdigo --creatinine 2.2 --age 22 --sex male --black --json | jq '.baseline * 10 | round')" 15
case "$("$LP" score kdigo --creatinine 2.2 --age 60 --sex female)" in
"KDIGO stage 2 (creatinine 2.67 x the estimated baseline of 0.83 mg/dL)") ;;
*) fail "kdigo estimated text" ;;
esac
expect_fail 2 "needs both --age and --sex" -- "$LP" score kdigo --creatinine 2.2 --age 60
expect_fail 2 "either --baseline or --age and --sex" -- "$LP" score kdigo --creatinine 2.2 --baseline 1 --age 60 --sex male
expect_fail 1 "field 'age': 12 is outside 18 to 120" -- "$LP" score kdigo --creatinine 2.2 --age 12 --sex male
same "kdigo 2" "$("$LP" score kdigo --creatinine 2.0 --baseline 1.0 --json | jq .stage)" 2
same "kdigo rrt" "$("$LP" score kdigo --rrt --json | jq .stage)" 3
same "kdigo umol" "$("$LP" score kdigo --creatinine 132.6 --baseline 88.4 --umol --json | jq .stage)" 1
# eligibility
EL='"age":64,"infection":1,"temperature":38.5,"heart_rate":110,"resp_rate":22,"paco2_kpa":4.5,"ventilated":1,"wbc":15,"vasopressor_hours":6,"hours_since_criteria":12,"weight":80,"esrf_dialysis":0,"torsades_history":0,"child_pugh_c":0,"ventricular_obstruction":0,"treatment_limitation":0,"pregnant":0,"levosimendan_30d":0,"levosimendan_hypersensitivity":0,"other_trial":0'
out=$("$LP" eligibility --json --json-in "{$EL}")
same "eligible" "$(jq .eligible <<<"$out")" true
same "sirs" "$(jq .sirs_count <<<"$out")" 4
expect_fail 1 "duplicate object key" -- "$LP" eligibility --json-in "{$EL,\"age\":17}"
out=$("$LP" eligibility --json --json-in "{${EL/\"hours_since_criteria\":12/\"hours_since_criteria\":30}}")
same "failed" "$(jq -c .failed <<<"$out")" '["hours_since_criteria"]'
# infusion
same "rate" "$("$LP" infusion rate --dose 0.1 --weight 80 --json | jq .ml_per_hour)" 19.2
out=$("$LP" infusion next --dose 0.2 --hours 3.5 --heart-rate 135 --baseline-heart-rate 100 --json)
same "step down" "$(jq -c '[.state,.dose,.severe_tachycardia]' <<<"$out")" '["reduced",0.1,true]'
out=$("$LP" infusion next --dose 0.1 --hours 2.5 --heart-rate 100 --map 70 --json)
same "step up" "$(jq -c '[.state,.dose]' <<<"$out")" '["full",0.2]'
out=$("$LP" infusion next --state low --hours 8 --heart-rate 100 --hypotension --json)
same "stop" "$(jq -c '[.state,.dose]' <<<"$out")" '["stopped",0]'
same "completed" "$("$LP" infusion next --dose 0.2 --hours 24 --heart-rate 100 --json | jq -r .state)" completed
# hypotension decides without a heart rate; otherwise an unknown heart rate is refused, never taken as normal
same "hypotension alone" "$("$LP" infusion next --dose 0.05 --hours 10 --hypotension --json | jq -r .state)" stopped
same "low MAP alone" "$("$LP" infusion next --dose 0.2 --hours 10 --map 60 --json | jq -c '[.state,.dose]')" '["reduced",0.1]'
expect_fail 2 "give --heart-rate .needed unless there is hypotension" -- "$LP" infusion next --dose 0.2 --hours 3
expect_fail 2 "give --heart-rate" -- "$LP" infusion next --dose 0.1 --hours 3 --map 70
# errors
expect_fail 1 "field 'fio2': 1.5 is outside" -- "$LP" score sofa --json-in '{"fio2":1.5,"pao2":80}'
expect_fail 1 "field 'platelets': -3 is outside" -- "$LP" score sofa --json-in '{"platelets":-3}'
expect_fail 1 "field 'gcs': 2 is outside" -- "$LP" score sofa --systems 6 --json-in '{"gcs":2}'
expect_fail 2 "field 'colour': unknown field" -- "$LP" score sofa --json-in '{"colour":"red"}'
expect_fail 2 "field 'platelets': must be a number" -- "$LP" score sofa --json-in '{"platelets":"many"}'
expect_fail 2 "given twice" -- "$LP" score sofa --json-in '{"creatinine":1.2,"creatinine_umol":106}'
expect_fail 2 "field 'ventilated': must be true/false or 1/0" -- "$LP" score sofa --json-in '{"ventilated":"maybe"}'
expect_fail 1 "--json-in:" -- "$LP" score sofa --json-in '{"pao2":'
expect_fail 2 "give --json-in" -- "$LP" score sofa
expect_fail 2 "--systems: 4 is outside 5 to 6" -- "$LP" score sofa --systems 4 --json-in '{}'
expect_fail 2 "field 'admission': must be one of" -- "$LP" score apache2 --json-in '{"admission":"walk-in"}'
expect_fail 2 "give --creatinine and --baseline" -- "$LP" score kdigo --creatinine 2
expect_fail 1 "field 'weight'" -- "$LP" infusion rate --dose 0.1 --weight 150
expect_fail 2 "--dose must be 0.2, 0.1 or 0.05" -- "$LP" infusion next --dose 0.3 --hours 1 --heart-rate 90
expect_fail 1 "field 'map': 400 is outside" -- "$LP" infusion next --dose 0.2 --hours 1 --heart-rate 90 --map 400
done_checks
