# The analysis data set's columns come from one table of definitions: the CSV header
# of analysis.csv, analysis_dictionary.csv beside it, `leopards outcomes` (CSV, Markdown,
# JSON) and the list in docs/outcomes.md agree, name for name and in order.
source "$(dirname "$0")/lib.bash"
"$LP" simulate --db "$TMP/t.db" --key "$TMP/t.key" --seed 3 --patients 160 --sites 8 --screened 500 --quiet >/dev/null
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/r" --boot 200 --permutations 100 --imputations 3 --quiet >/dev/null
D="$TMP/r/analysis_dictionary.csv"
checks=$((checks + 1))
[ -s "$D" ] || fail "no analysis_dictionary.csv"
same "dictionary header" "$(head -1 "$D")" "name,type,unit,definition"
same "dictionary names = analysis.csv header" "$(tail -n +2 "$D" | cut -d, -f1 | paste -sd,)" "$(head -1 "$TMP/r/analysis.csv")"
same "imputation columns" "$(grep -c '^sofa_mi_' "$D")" 3
same "post hoc imputation columns" "$(grep -c '^sofa_mi28_' "$D")" 3
same "dictionary = leopards outcomes" "$("$LP" outcomes --imputations 3 | sha256sum)" "$(sha256sum <"$D")"
# the header line, and two per-imputation entries of 3 lines each
same "json names" "$("$LP" outcomes --json | jq -r '.[] | .name' | grep -c .)" "$(($(grep -c . "$D") - 1 - 2 * 3 + 2))"
same "json types" "$("$LP" outcomes --json | jq -r '[.[] | .type] | unique | join(",")')" "flag,number,text"
# every column has a definition
checks=$((checks + 1))
if "$LP" outcomes --json | jq -e '.[] | select(.definition == "")' >/dev/null; then fail "a column without a definition"; fi
# docs/outcomes.md carries the same list
sed -n '/<!-- generated: leopards outcomes --markdown -->/,/<!-- end generated -->/p' "$TESTS/../docs/outcomes.md" |
  sed '1d;$d' >"$TMP/doc.md"
same "docs/outcomes.md list" "$(sha256sum <"$TMP/doc.md")" "$("$LP" outcomes --markdown | sha256sum)"
echo "outcomes: $checks checks passed"
