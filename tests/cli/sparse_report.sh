# A small trial (20 patients at 2 ICUs, with empty cells: rows whose arm has too few
# patients, subgroups with an empty level) gets a whole report: every file written,
# rows that cannot be estimated shown as "—" with a footnote saying why, the others
# estimated.
source "$(dirname "$0")/lib.bash"
"$LP" simulate --db "$TMP/s.db" --key "$TMP/s.key" --seed 1 --patients 20 --sites 2 --screened 60 --quiet >/dev/null
"$LP" analyze --db "$TMP/s.db" --key "$TMP/s.key" --out "$TMP/r" --boot 200 --permutations 100 --quiet >/dev/null ||
  fail "analyze refused a small trial"
for f in report.html report.md report.json table1.csv table2.csv table3.csv subgroups.csv figure1.svg figure1.png \
  figure2.svg figure2.pdf figure_sofa.png; do
  checks=$((checks + 1))
  [ -s "$TMP/r/$f" ] || fail "report file $f missing"
done
J="$TMP/r/report.json"
same "patients analysed" "$(jq '.n[0] + .n[1]' "$J")" 19
n_ne=$(jq '[.tables[] | to_entries[] | select(.value.not_estimable)] | length' "$J")
checks=$((checks + 1))
[ "$n_ne" -ge 1 ] || fail "no row was found not estimable in a 20-patient trial"
same "the primary outcome is estimated" "$(jq -r '.tables.table3.t3_sofa.not_estimable // "estimated"' "$J")" estimated
checks=$((checks + 1))
jq -e '.tables.table3.t3_sofa.estimate | type == "number"' "$J" >/dev/null || fail "primary estimate"
# Each row that could not be estimated: no estimate, and in the HTML a "—" and its reason.
H="$TMP/r/report.html"
while IFS=$'\t' read -r table id why; do
  same "$id has no estimate" "$(jq -r ".tables.$table.$id.estimate" "$J")" null
  row=$(grep -F "<tr data-row=\"$id\">" "$H" || true)
  checks=$((checks + 1))
  [ -n "$row" ] || [ "$table" = subgroups ] || fail "$id is not in the HTML"
  if [ -n "$row" ]; then
    checks=$((checks + 1))
    grep -qF '<td class="num">—</td>' <<<"$row" || fail "$id does not show —: $row"
  fi
  checks=$((checks + 1))
  grep -qF "Not estimable: $(sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s/"/\&quot;/g' <<<"$why")." "$H" ||
    fail "no footnote for $id ($why)"
done < <(jq -r '.tables | to_entries[] | .key as $t | .value | to_entries[] | select(.value.not_estimable) |
  [$t, .key, .value.not_estimable] | @tsv' "$J")
echo "sparse_report: $checks checks passed"
