# leopards stats on the edge cases of tests/r/edges.R, through the command line: the
# power at the whole n, the Cox warnings and refusals, the permutation warning,
# two named levels of three, all-tied values, NaN/Inf text and Inf printed as R does.
source "$(dirname "$0")/lib.bash"

# ---- power: R's n below 2, and the power the whole n reaches (not the target)
out=$("$LP" stats power --delta 20 --sd 1 --power 0.9 --json)
close "n below 2" "$(jq .n <<<"$out")" "$(ref edges power.t.n_20_1_0.9)" 1e-8
close "power at 2" "$(jq .power_at_rounded <<<"$out")" "$(ref edges power.t.power_2_20_1)" 1e-9
same "below minimum" "$(jq .n_below_minimum <<<"$out")" true
same "same as --n 2" "$(jq .power_at_rounded <<<"$out")" "$("$LP" stats power --delta 20 --sd 1 --n 2 --json | jq .power)"
txt=$("$LP" stats power --delta 20 --sd 1 --power 0.9)
grep -q "the exact n (1.53951) is below 2: a t test needs at least 2 per group" <<<"$txt" || fail "power: below 2 not said: $txt"
grep -q "the power at 2 per group is 0.9999999968" <<<"$txt" || fail "power: reached power not printed: $txt"
txt=$("$LP" stats power --delta 0.5 --sd 1.5 --power 0.9)
grep -q "recruit 191 per group" <<<"$txt" || fail "power: 191"
! grep -q "below" <<<"$txt" || fail "power: 'below' said for n = 190"

# ---- Cox: a coefficient running off to infinity is warned about, as R does
P="$DATA/pbc.csv"
out=$("$LP" stats cox --data "$P" --time time --event tx --covariates age,stage --factor stage --json)
same "may be infinite" "$(jq -c '[.terms[].may_be_infinite]' <<<"$out")" \
  "$(for k in 1 2 3 4; do [ "$(ref edges cox_pbc_tx_age_stage.infinite.$k)" = 1 ] && echo true || echo false; done | jq -sc .)"
grep -q "stage2, stage3, stage4 may be infinite" <<<"$(jq -r '.warnings[0]' <<<"$out")" || fail "cox: JSON warning"
txt=$("$LP" stats cox --data "$P" --time time --event tx --covariates age,stage --factor stage)
grep -q "^warning: the coefficients of stage2, stage3, stage4 may be infinite" <<<"$txt" || fail "cox: text warning: $txt"
grep -qE "stage2 +[0-9.e+]+ +0 +Inf" <<<"$txt" || fail "cox: the open interval end prints Inf as R does: $txt"
out=$("$LP" stats cox --data "$P" --time time --event dead --covariates age,stage --factor stage --json)
same "no warning on a finite fit" "$(jq -c '.warnings' <<<"$out")" "[]"
close "finite coef" "$(jq '.terms[3].coef' <<<"$out")" "$(ref edges cox_pbc_dead_age_stage.coef.4)" 1e-9
# A constant or aliased covariate is named (R gives NA for it).
expect_fail 1 "covariate 'one' is constant" -- "$LP" stats cox --data "$P" --time time --event dead --covariates age,one
expect_fail 1 "covariate 'age2' is a linear combination of covariate 'age' \(collinear" -- \
  "$LP" stats cox --data "$P" --time time --event dead --covariates age,bili,age2

# ---- interaction: few permutations with a defined statistic are reported
out=$("$LP" stats interaction --data "$DATA/npk.csv" --outcome yield --group N --subgroup block --permutations 2000 --json)
close "npk Q" "$(jq .statistic <<<"$out")" "$(ref edges npk.q)" 1e-9
same "permutations run" "$(jq .permutations_run <<<"$out")" 2000
n=$(jq .permutations <<<"$out")
grep -q "only $n of the 2000 permutations" <<<"$(jq -r '.warnings[0]' <<<"$out")" || fail "interaction: JSON warning"
txt=$("$LP" stats interaction --data "$DATA/npk.csv" --outcome yield --group N --subgroup block --permutations 2000)
grep -q "^warning: only $n of the 2000 permutations" <<<"$txt" || fail "interaction: text warning"
out=$("$LP" stats interaction --data "$DATA/toothgrowth.csv" --outcome len --group supp --subgroup dose --permutations 500 --json)
same "no warning when most permutations count" "$(jq -c .warnings <<<"$out")" "[]"

# ---- compare: --levels picks two of three levels, as subset() in R
out=$("$LP" stats compare --data "$DATA/plantgrowth.csv" --outcome weight --group group --levels ctrl,trt1 --boot 1000 --json)
close "W of two of three" "$(jq .test.W <<<"$out")" "$(ref edges plantgrowth_ctrl_trt1.W)" 1e-12
close "p of two of three" "$(jq .test.p <<<"$out")" "$(ref edges plantgrowth_ctrl_trt1.p)" 1e-9
close "difference" "$(jq .estimate <<<"$out")" "$(ref edges plantgrowth_ctrl_trt1.diff)" 1e-12
close "left out" "$(jq .n_left_out <<<"$out")" "$(ref edges plantgrowth_ctrl_trt1.left_out)" 0
txt=$("$LP" stats compare --data "$DATA/plantgrowth.csv" --outcome weight --group group --levels ctrl,trt1 --boot 1000)
grep -q "(10 rows of other levels of group left out)" <<<"$txt" || fail "compare: left-out rows not said"
expect_fail 1 "has 3 levels where two are needed" -- "$LP" stats compare --data "$DATA/plantgrowth.csv" --outcome weight --group group
expect_fail 2 "level 'trt9' is not in the data" -- "$LP" stats compare --data "$DATA/plantgrowth.csv" --outcome weight --group group --levels ctrl,trt9
# The same for proportions from a 0/1 column.
printf 'y,g\n1,a\n0,a\n1,b\n0,b\n1,c\n1,b\n' >"$TMP/p3.csv"
out=$("$LP" stats proportions --data "$TMP/p3.csv" --outcome y --group g --levels a,b --json)
same "proportions of two of three" "$(jq -c '[.n_used, .n_left_out, .groups[0].events, .groups[1].n]' <<<"$out")" "[5,1,1,3]"
grep -q "(1 row of other levels of g left out)" <<<"$("$LP" stats proportions --data "$TMP/p3.csv" --outcome y --group g --levels a,b)" ||
  fail "proportions: left-out row not said"
# Every value tied: the difference, and the test undefined (R: P = NaN).
out=$("$LP" stats compare --data "$DATA/tied.csv" --outcome y --group g --boot 500 --json)
close "tied difference" "$(jq .estimate <<<"$out")" "$(ref edges tied.diff)" 0
close "tied W" "$(jq .test.W <<<"$out")" "$(ref edges tied.W)" 0
same "tied p" "$(jq -c '[.test.p, .test.undefined]' <<<"$out")" "[null,true]"
txt=$("$LP" stats compare --data "$DATA/tied.csv" --outcome y --group g --boot 500)
grep -q "p = NaN: every value is tied, so the test is undefined" <<<"$txt" || fail "compare: tied text"

# ---- NaN and Inf text: refused naming the cell, not a text column
printf 'x,g\n1,a\n2,b\nInf,a\n4,b\n' >"$TMP/inf.csv"
expect_fail 1 "inf.csv:4: column 'x': 'Inf' is not a finite number" -- "$LP" stats describe --data "$TMP/inf.csv" --columns x
printf 'x,g\n1,a\nNaN,b\n3,a\n4,b\n' >"$TMP/nan.csv"
expect_fail 1 "nan.csv:3: column 'x': 'NaN' is not a finite number" -- "$LP" stats compare --data "$TMP/nan.csv" --outcome x --group g
# Near the largest double: R's SD is Inf, and so is ours.
txt=$("$LP" stats describe --data "$DATA/big.csv" --columns x)
grep -q "(SD Inf)" <<<"$txt" || fail "describe: SD near 1e308: $txt"
grep -q "IQR 1.25e+307 to 1e+308" <<<"$txt" || fail "describe: quartiles near 1e308: $txt"
done_checks
