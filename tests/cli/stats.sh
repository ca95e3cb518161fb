# leopards stats: results against R's references through the command line, the
# paper's Table 3 binary rows, and every error path of the options and the CSV input.
source "$(dirname "$0")/lib.bash"

# ---- compare: Mann-Whitney exactly, bootstrap CI within Monte Carlo error
out=$("$LP" stats compare --data "$DATA/toothgrowth.csv" --outcome len --group supp --json --seed 3)
close "W" "$(jq .test.W <<<"$out")" "$(ref twogroup toothgrowth.W)" 1e-12
close "p" "$(jq .test.p <<<"$out")" "$(ref twogroup toothgrowth.p)" 1e-9
close "mean OJ" "$(jq '.groups[0].mean' <<<"$out")" "$(ref twogroup toothgrowth.g1.mean)" 1e-12
close "q1 VC" "$(jq '.groups[1].q1' <<<"$out")" "$(ref twogroup toothgrowth.g2.q.1)" 1e-12
sd=$(ref twogroup toothgrowth.mean.boot_sd)
for e in 0 1; do
  want=$(ref twogroup "toothgrowth.mean.ci.$((e + 1))")
  got=$(jq ".ci[$e]" <<<"$out")
  checks=$((checks + 1))
  awk -v a="$got" -v b="$want" -v s="$sd" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.06 * s) }' ||
    fail "bootstrap CI end $e: $got vs R $want"
done
same "levels" "$(jq -c .levels <<<"$out")" '["OJ","VC"]'
# --levels reverses the difference; --threads does not change the result.
a=$("$LP" stats compare --data "$DATA/toothgrowth.csv" --outcome len --group supp --levels VC,OJ --json --threads 1 --boot 5000)
b=$("$LP" stats compare --data "$DATA/toothgrowth.csv" --outcome len --group supp --levels VC,OJ --json --threads 2 --boot 5000)
same "threads" "$(jq -c .ci <<<"$a")" "$(jq -c .ci <<<"$b")"
close "reversed estimate" "$(jq .estimate <<<"$a")" -3.7 1e-12
# Missing values are dropped and counted.
out=$("$LP" stats compare --data "$DATA/lung.csv" --outcome meal.cal --group sex --json --boot 1000)
same "dropped" "$(jq .n_dropped <<<"$out")" 47
close "p with NA dropped" "$(jq .test.p <<<"$out")" "$(ref twogroup lung_mealcal_sex.p)" 1e-9
# Text output names the method.
grep -q "Mann-Whitney" <<<"$("$LP" stats compare --data "$DATA/toothgrowth.csv" --outcome len --group supp --boot 1000)" || fail "text output"

# ---- proportions: Table 3 of the paper from its printed counts (percentage points,
# one decimal; P two decimals, or '>0.99'). Efficacy rows: Wald; safety rows: Wald
# with continuity correction (prop.test); P: chi-square with Yates.
table3() { # label e1 n1 e2 n2 method est lo hi p
  local out
  out=$("$LP" stats proportions --events "$2,$4" --totals "$3,$5" --ci "$6" --json)
  local got
  got=$(jq -r '[.estimate, .ci[0], .ci[1]] | map(. * 100 * 10 | round / 10 | tostring) | join(" ")' <<<"$out")
  # jq's round of -0.0x gives -0: print "0" the way the paper does
  got=$(sed 's/-0$/0/; s/^-0 /0 /; s/ -0 / 0 /' <<<"$got")
  same "$1 difference (CI)" "$got" "$7 $8 $9"
  local p
  p=$(jq -r '.test.p | if . > 0.99 then ">0.99" elif . >= 0.01 then (. * 100 | round / 100 | tostring) else (. * 1000 | round / 1000 | tostring) end' <<<"$out")
  same "$1 P" "$p" "${10}"
}
table3 "death at 28 days" 89 258 79 256 wald 3.6 -4.5 11.7 0.43
table3 "death at ICU discharge" 83 258 76 257 wald 2.6 -5.4 10.6 0.59
table3 "death at hospital discharge" 97 258 84 256 wald 4.8 -3.5 13 0.3
table3 "major acute kidney event" 148 258 139 256 wald 3.1 -5.5 11.6 0.54
table3 "new renal-replacement therapy" 62 257 62 257 wald 0 -7.4 7.4 ">0.99"
table3 "sustained renal failure" 118 258 108 257 wald 3.7 -4.9 12.3 0.45
table3 "any serious adverse event" 32 258 23 257 wald-cc 3.5 -2.3 9.2 0.26
table3 "life-threatening arrhythmia" 15 258 6 257 wald-cc 3.5 -0.3 7.3 0.08
table3 "supraventricular tachyarrhythmia" 8 258 1 257 wald-cc 2.7 0.1 5.3 0.04
table3 "bradycardia" 0 258 2 257 wald-cc -0.8 -2.2 0.7 0.48
table3 "ventricular fibrillation or tachycardia" 7 258 3 257 wald-cc 1.5 -1.2 4.3 0.34
table3 "myocardial infarction" 3 258 1 257 wald-cc 0.8 -1.1 2.7 0.62
table3 "other serious adverse event" 18 258 17 257 wald-cc 0.4 -4.3 5.1 ">0.99"

out=$("$LP" stats proportions --events 3,7 --totals 10,12 --ci newcombe --level 0.9 --json)
close "newcombe" "$(jq '.ci[0]' <<<"$out")" "$(ref proportions case14.newcombe_0.9.1)" 1e-9
close "fisher" "$(jq '.fisher.p' <<<"$out")" "$(ref proportions case14.fisher)" 1e-9
out=$("$LP" stats proportions --events 3,7 --totals 10,12 --no-correct --json)
close "chi-square without Yates" "$(jq '.test.p' <<<"$out")" "$(ref proportions case14.chisq.2)" 1e-9
# From a table: sex (female = 1) by ECOG >= 1 is not in the data, so use status 1/2 -> 0/1
awk -F, 'NR == 1 { print "dead,sex"; next } $2 != "" { print ($3 == 2 ? 1 : 0) "," $5 }' "$DATA/lung.csv" >"$TMP/lungdead.csv"
out=$("$LP" stats proportions --data "$TMP/lungdead.csv" --outcome dead --group sex --json)
same "events from data" "$(jq -c '[.groups[].events]' <<<"$out")" "[53,112]"

# ---- power: the paper's design (0.5 SOFA points, SD 1.5, 90%): 190.1 per group
out=$("$LP" stats power --delta 0.5 --sd 1.5 --power 0.9 --json)
close "power.t.test n" "$(jq .n <<<"$out")" "$(ref power t.n_0.5_1.5_0.9)" 1e-8
same "rounded" "$(jq .n_per_group_rounded <<<"$out")" "191"
out=$("$LP" stats power --p1 0.35 --p2 0.25 --n 250 --json)
close "power.prop.test power" "$(jq .power <<<"$out")" "$(ref power prop.power_250_0.35_0.25)" 1e-9

# ---- lm
out=$("$LP" stats lm --data "$DATA/mtcars.csv" --y mpg --covariates wt,hp,cyl --factor cyl --json)
same "lm names" "$(jq -c '[.terms[].name]' <<<"$out")" '["(Intercept)","wt","hp","cyl6","cyl8"]'
close "lm coef wt" "$(jq '.terms[1].coef' <<<"$out")" "$(ref lm mtcars.wt.1)" 1e-9
close "lm se cyl8" "$(jq '.terms[4].se' <<<"$out")" "$(ref lm mtcars.cyl8.2)" 1e-9
close "lm p hp" "$(jq '.terms[2].p' <<<"$out")" "$(ref lm mtcars.hp.4)" 1e-7
out=$("$LP" stats lm --data "$DATA/mtcars_alias.csv" --y mpg --covariates wt,wt2,hp --json)
same "aliased coefficient is null" "$(jq '.terms[2].coef' <<<"$out")" null
out=$("$LP" stats lm --data "$DATA/toothgrowth.csv" --y len --covariates supp,dose --factor dose --boot 100000 --term suppVC --boot-strata supp --json)
sd=$(ref lm boot.tg_supp.sd)
for e in 0 1; do
  want=$(ref lm "boot.tg_supp.ci.$((e + 1))")
  got=$(jq ".bootstrap.ci[$e]" <<<"$out")
  checks=$((checks + 1))
  awk -v a="$got" -v b="$want" -v s="$sd" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.1 * s) }' ||
    fail "lm bootstrap CI end $e: $got vs R $want"
done

# ---- interaction
out=$("$LP" stats interaction --data "$DATA/toothgrowth.csv" --outcome len --group supp --subgroup dose --permutations 20000 --json)
close "Q" "$(jq .statistic <<<"$out")" "$(ref interaction toothgrowth_dose.q)" 1e-9
close "subgroup effect" "$(jq '.subgroups[2].estimate' <<<"$out")" "$(ref interaction toothgrowth_dose.sub3.1)" 1e-9
close "permutation p" "$(jq .p <<<"$out")" "$(ref interaction toothgrowth_dose.p)" 0.2

# ---- describe
out=$("$LP" stats describe --data "$DATA/lung.csv" --columns age,sex --by sex --json)
same "describe by" "$(jq -c '[.columns[0].groups[].n]' <<<"$out")" "[90,138]"
close "describe median" "$(jq '.columns[0].groups[1].median' <<<"$out")" 64 0

# ---- errors: usage (exit 2) and data (exit 1), nothing on stdout
T="$DATA/toothgrowth.csv"
expect_fail 2 "unknown command 'nosuch'" -- "$LP" nosuch
expect_fail 2 "unknown command 'stats nosuch'" -- "$LP" stats nosuch
expect_fail 2 "usage" -- "$LP"
expect_fail 2 "unknown option --bogus" -- "$LP" stats compare --bogus 1
expect_fail 2 "option --data is required" -- "$LP" stats compare --outcome len --group supp
expect_fail 2 "option --outcome needs a value" -- "$LP" stats compare --data "$T" --outcome
expect_fail 2 "option --data given twice" -- "$LP" stats compare --data "$T" --data "$T"
expect_fail 2 "unexpected argument 'extra'" -- "$LP" stats compare extra
expect_fail 2 "option --json takes no value" -- "$LP" stats compare --json=1
expect_fail 2 "--boot: 'lots' is not a whole number" -- "$LP" stats compare --data "$T" --outcome len --group supp --boot lots
expect_fail 2 "--boot: 1 is outside 2 to" -- "$LP" stats compare --data "$T" --outcome len --group supp --boot 1
expect_fail 2 "--seed: '-4' is not a non-negative" -- "$LP" stats compare --data "$T" --outcome len --group supp --seed -4
expect_fail 2 "--summary: 'mode' is not one of: mean, median" -- "$LP" stats compare --data "$T" --outcome len --group supp --summary mode
expect_fail 2 "--level must be between 0 and 1" -- "$LP" stats compare --data "$T" --outcome len --group supp --level 95
expect_fail 2 "--level: 'x' is not a number" -- "$LP" stats compare --data "$T" --outcome len --group supp --level x
expect_fail 1 "nosuch.csv: cannot open" -- "$LP" stats compare --data "$TMP/nosuch.csv" --outcome len --group supp
expect_fail 1 "no column 'length' \(columns: len, supp, dose\)" -- "$LP" stats compare --data "$T" --outcome length --group supp
expect_fail 1 "column 'dose': has 3 levels where two are needed" -- "$LP" stats compare --data "$T" --outcome len --group dose
printf 'y,g\n1,a\n2,b\nthree,a\n4,b\n' >"$TMP/text.csv"
expect_fail 1 "text.csv:4: column 'y': 'three' is not a number" -- "$LP" stats compare --data "$TMP/text.csv" --outcome y --group g
printf 'y,g\n1,a\n2,b,c\n' >"$TMP/ragged.csv"
expect_fail 1 "ragged.csv:3: 3 fields where the header has 2" -- "$LP" stats compare --data "$TMP/ragged.csv" --outcome y --group g
printf 'y,g\n1,"a\n' >"$TMP/quote.csv"
expect_fail 1 "quote.csv:2: quoted field is never closed" -- "$LP" stats compare --data "$TMP/quote.csv" --outcome y --group g
: >"$TMP/empty.csv"
expect_fail 1 "empty.csv: the file is empty" -- "$LP" stats compare --data "$TMP/empty.csv" --outcome y --group g
printf 'y,g\n,a\nNA,b\n' >"$TMP/allna.csv"
expect_fail 1 "no row has both 'y' and 'g'" -- "$LP" stats compare --data "$TMP/allna.csv" --outcome y --group g
expect_fail 2 "level 'XX' is not in the data" -- "$LP" stats compare --data "$T" --outcome len --group supp --levels OJ,XX
expect_fail 2 "--levels needs exactly two levels" -- "$LP" stats compare --data "$T" --outcome len --group supp --levels OJ
expect_fail 1 "'VC' is not 0 or 1|not 0 or 1" -- "$LP" stats proportions --data "$T" --outcome len --group supp
expect_fail 2 "--events needs two counts" -- "$LP" stats proportions --events 1,2,3 --totals 5,5
expect_fail 2 "--totals: 2.5 is not a count" -- "$LP" stats proportions --events 1,2 --totals 2.5,5
expect_fail 2 "give --events E1,E2 and --totals" -- "$LP" stats proportions --events 1,2
expect_fail 2 "either --data or --events" -- "$LP" stats proportions --events 1,2 --totals 5,5 --data "$T"
expect_fail 2 "counts must satisfy" -- "$LP" stats proportions --events 7,2 --totals 5,5
expect_fail 2 "--ci: 'exact' is not one of" -- "$LP" stats proportions --events 1,2 --totals 5,5 --ci exact
expect_fail 2 "give exactly one of --power and --n" -- "$LP" stats power --delta 0.5 --sd 1.5
expect_fail 2 "give --delta and --sd" -- "$LP" stats power --delta 0.5 --p1 0.3 --power 0.9
expect_fail 2 "--delta needs --sd" -- "$LP" stats power --delta 0.5 --power 0.9
expect_fail 2 "--p1 needs --p2" -- "$LP" stats power --p1 0.5 --power 0.9
expect_fail 2 "power must be between alpha and 1" -- "$LP" stats power --delta 0.5 --sd 1 --power 1.5
expect_fail 2 "--n must be greater than 1" -- "$LP" stats power --delta 0.5 --sd 1 --n 1
expect_fail 1 "needs more than 10 million" -- "$LP" stats power --delta 0.00001 --sd 1 --power 0.99
expect_fail 2 "--boot needs --term" -- "$LP" stats lm --data "$T" --y len --covariates supp --boot 100
expect_fail 2 "--term and --boot-strata go with --boot" -- "$LP" stats lm --data "$T" --y len --covariates supp --term suppVC
expect_fail 2 "--term suppXX: no such coefficient" -- "$LP" stats lm --data "$T" --y len --covariates supp --boot 100 --term suppXX
expect_fail 2 "--factor dose: not among the covariates" -- "$LP" stats lm --data "$T" --y len --covariates supp --factor dose
expect_fail 1 "toothgrowth.csv:2: column 'supp': 'VC' is not a number" -- "$LP" stats lm --data "$T" --y supp --covariates dose
expect_fail 1 "column 'dose': has 3 levels where two" -- "$LP" stats interaction --data "$T" --outcome len --group dose --subgroup supp
expect_fail 1 "every subgroup needs at least two patients" -- "$LP" stats interaction --data "$DATA/sleep.csv" --outcome extra --group group --subgroup group
awk -F, 'NR == 1 { print $0 ",all"; next } { print $0 ",x" }' "$DATA/sleep.csv" >"$TMP/sleep1.csv"
expect_fail 1 "subgroup variable needs at least two levels" -- "$LP" stats interaction --data "$TMP/sleep1.csv" --outcome extra --group group --subgroup all
expect_fail 1 "no column 'zz'" -- "$LP" stats describe --data "$T" --columns len,zz
expect_fail 1 "no column 'zz'" -- "$LP" stats describe --data "$T" --by zz
# --json errors: an error object on stdout as well as the message on stderr
rc=0
out=$("$LP" stats compare --data "$TMP/text.csv" --outcome y --group g --json 2>/dev/null) || rc=$?
same "json error exit" "$rc" 1
same "json error line" "$(jq .error.line <<<"$out")" 4
same "json error field" "$(jq -r .error.field <<<"$out")" y
same "json error status" "$(jq -r .error.status <<<"$out")" parse
# Help and listings exit 0.
grep -q "stats compare" <<<"$("$LP" --help)" || fail "overview"
grep -q "stats lm" <<<"$("$LP" stats)" || fail "group listing"
grep -q -- "--boot R" <<<"$("$LP" stats compare --help)" || fail "command help"
grep -q "leopards" <<<"$("$LP" --version)" || fail "version"
done_checks
