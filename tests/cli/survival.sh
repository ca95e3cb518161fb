# leopards stats km and stats cox against R's survival references, and their errors.
source "$(dirname "$0")/lib.bash"
L="$DATA/lung.csv"
out=$("$LP" stats km --data "$L" --time time --event dead --group sex --at 100,365,500 --json)
close "median female" "$(jq '.groups[0].median' <<<"$out")" "$(ref survival km_lung_sex.g1.median.1)" 1e-12
close "median CI male" "$(jq '.groups[1].median_ci[1]' <<<"$out")" "$(ref survival km_lung_sex.g2.median.3)" 1e-12
close "surv at 365" "$(jq '.groups[1].at[1].surv' <<<"$out")" "$(ref survival km_lung_sex.g2.at_surv.2)" 1e-9
close "table lower" "$(jq '.groups[0].table[10].lower' <<<"$out")" "$(ref survival km_lung_sex.g1.lower.11)" 1e-9
close "log-rank" "$(jq '.logrank.chisq' <<<"$out")" "$(ref survival lr_lung_sex.chisq)" 1e-9
same "log-rank df" "$(jq '.logrank.df' <<<"$out")" 1
out=$("$LP" stats km --data "$L" --time time --event dead --json)
same "no group" "$(jq -r '.groups[0].level' <<<"$out")" all
same "no log-rank" "$(jq '.logrank' <<<"$out")" null
out=$("$LP" stats cox --data "$L" --time time --event dead --covariates age,sex,ph.ecog --factor ph.ecog --cluster inst --json)
same "cox names" "$(jq -c '[.terms[].name]' <<<"$out")" '["age","sexmale","ph.ecog1","ph.ecog2","ph.ecog3"]'
close "cox coef" "$(jq '.terms[1].coef' <<<"$out")" "$(ref survival cox_lung_cluster.sexmale.coef)" 1e-9
close "cox robust se" "$(jq '.terms[3].robust_se' <<<"$out")" "$(ref survival cox_lung_cluster.ecog2.robust_se)" 1e-9
close "cox p (robust)" "$(jq '.terms[0].p' <<<"$out")" "$(ref survival cox_lung_cluster.age.p)" 1e-9
close "cox loglik" "$(jq '.loglik[1]' <<<"$out")" "$(ref survival cox_lung_cluster.loglik.2)" 1e-9
same "clusters" "$(jq '.clusters' <<<"$out")" 18
out=$("$LP" stats cox --data "$L" --time time --event dead --covariates age,sex --ties breslow --json)
close "breslow" "$(jq '.terms[0].se' <<<"$out")" "$(ref survival cox_lung_breslow.age.se)" 1e-9
same "no robust se" "$(jq '.terms[0].robust_se' <<<"$out")" null
out=$("$LP" stats cox --data "$L" --time time --event dead --covariates age,ph.karno --strata sex --json)
close "strata" "$(jq '.terms[1].coef' <<<"$out")" "$(ref survival cox_lung_strata.ph.karno.coef)" 1e-9
grep -q "robust se" <<<"$("$LP" stats cox --data "$L" --time time --event dead --covariates age,sex --cluster inst)" || fail "text"
grep -q "log-rank test" <<<"$("$LP" stats km --data "$L" --time time --event dead --group sex --at 365)" || fail "km text"
# errors
expect_fail 1 "column 'status': '2' is not 0 or 1" -- "$LP" stats km --data "$L" --time time --event status
printf 't,e,x\n1,1,1\n-2,0,2\n3,1,3\n' >"$TMP/neg.csv"
expect_fail 1 "neg.csv:3: column 't': time -2 is negative" -- "$LP" stats km --data "$TMP/neg.csv" --time t --event e
expect_fail 1 "no column 'tim'" -- "$LP" stats km --data "$L" --time tim --event dead
expect_fail 2 "option --event is required" -- "$LP" stats km --data "$L" --time time
expect_fail 2 "--ties: 'exact' is not one of: efron, breslow" -- "$LP" stats cox --data "$L" --time time --event dead --covariates age --ties exact
expect_fail 2 "--factor sex: not among the covariates" -- "$LP" stats cox --data "$L" --time time --event dead --covariates age --factor sex
printf 't,e,x,y\n1,1,1,2\n2,0,2,4\n3,1,3,6\n4,1,4,8\n' >"$TMP/col.csv"
expect_fail 1 "covariate 'y' is a linear combination of covariate 'x'" -- "$LP" stats cox --data "$TMP/col.csv" --time t --event e --covariates x,y
printf 't,e,x\n1,0,1\n2,0,2\n' >"$TMP/noev.csv"
expect_fail 1 "no events" -- "$LP" stats cox --data "$TMP/noev.csv" --time t --event e --covariates x
expect_fail 2 "--at: 'x' is not a number" -- "$LP" stats km --data "$L" --time time --event dead --at 1,x
done_checks
