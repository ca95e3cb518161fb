# Output folders: analyze, export and demo replace a folder only when leopards wrote it
# and it holds nothing else (the trial's own folder, a user's folder, a report folder
# with a user's note are refused untouched), and an export that fails half-way (a full
# disk) leaves the earlier export as it was.
source "$(dirname "$0")/lib.bash"
"$LP" simulate --db "$TMP/t.db" --key "$TMP/t.key" --patients 200 --screened 400 --quiet >/dev/null
A=(--boot 200 --permutations 100 --imputations 2 --quiet)

# snapshot DIR: a listing of every file with its checksum, to show a folder untouched
snapshot() { (cd "$1" && find . -print0 | sort -z | xargs -0 -I{} sh -c 'if [ -f "{}" ]; then sha256sum "{}"; else echo "dir {}"; fi'); }

# 1. --out pointed at the trial's own folder: refused, trial.db and trial.key kept.
mkdir "$TMP/trial"
cp "$TMP/t.db" "$TMP/trial/trial.db"
cp "$TMP/t.key" "$TMP/trial/trial.key"
chmod 600 "$TMP/trial/trial.key"
before=$(snapshot "$TMP/trial")
expect_fail 1 "is not empty and is not an output folder that leopards wrote \(it holds trial\.(db|key)\)" -- \
  "$LP" analyze --db "$TMP/trial/trial.db" --key "$TMP/trial/trial.key" --out "$TMP/trial" "${A[@]}"
same "trial folder untouched by analyze" "$(snapshot "$TMP/trial")" "$before"
expect_fail 1 "is not an output folder that leopards wrote" -- \
  "$LP" export --db "$TMP/trial/trial.db" --key "$TMP/trial/trial.key" --user statistician --out "$TMP/trial"
same "trial folder untouched by export" "$(snapshot "$TMP/trial")" "$before"
expect_fail 1 "is not an output folder that leopards wrote" -- "$LP" demo --out "$TMP/trial" "${A[@]}"
same "trial folder untouched by demo" "$(snapshot "$TMP/trial")" "$before"
checks=$((checks + 1))
[ -z "$(find "$TMP" -maxdepth 1 -name 'trial.partial-*')" ] || fail "a refused run left a staging folder"

# An unrelated folder of the user's, with a sub-folder: refused untouched.
mkdir -p "$TMP/mine/sub"
echo "my notes" >"$TMP/mine/notes.txt"
echo "x" >"$TMP/mine/sub/data.csv"
before=$(snapshot "$TMP/mine")
expect_fail 1 "is not an output folder that leopards wrote" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/mine" "${A[@]}"
same "user folder untouched" "$(snapshot "$TMP/mine")" "$before"

# A report folder leopards wrote is replaced; one with a user's note in it is refused.
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" "${A[@]}" >/dev/null
checks=$((checks + 1))
[ -s "$TMP/report/.leopards-output" ] && [ -s "$TMP/report/report.html" ] || fail "report and marker written"
grep -qx "f	data/audit.csv" "$TMP/report/.leopards-output" || fail "marker lists the export inside the report"
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" "${A[@]}" >/dev/null
echo "call the DMC chair" >"$TMP/report/data/note.txt"
before=$(snapshot "$TMP/report")
expect_fail 1 "holds data/note.txt, which leopards did not write there" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" "${A[@]}"
same "report folder with a note untouched" "$(snapshot "$TMP/report")" "$before"
rm "$TMP/report/data/note.txt"
# A link (to a user's file) in place of a report file is not ours either.
rm "$TMP/report/table1.csv"
ln -s "$TMP/mine/notes.txt" "$TMP/report/table1.csv"
expect_fail 1 "holds table1.csv, which leopards did not write" -- \
  "$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" "${A[@]}"
rm "$TMP/report/table1.csv"
# A file leopards wrote and the user removed does not matter: the folder is replaced.
"$LP" analyze --db "$TMP/t.db" --key "$TMP/t.key" --out "$TMP/report" "${A[@]}" >/dev/null
checks=$((checks + 1))
[ -s "$TMP/report/table1.csv" ] || fail "report rewritten"
same "notes still there" "$(cat "$TMP/mine/notes.txt")" "my notes"
# A symbolic link as the output folder is refused.
ln -s "$TMP/mine" "$TMP/link"
expect_fail 1 "is a symbolic link" -- "$LP" export --db "$TMP/t.db" --out "$TMP/link"

# export: an empty folder is used, an earlier export replaced (no stale arms file).
mkdir "$TMP/exp"
"$LP" export --db "$TMP/t.db" --key "$TMP/t.key" --user statistician --out "$TMP/exp" >/dev/null
checks=$((checks + 1))
[ -s "$TMP/exp/allocations.csv" ] || fail "export with the arms"
"$LP" export --db "$TMP/t.db" --out "$TMP/exp" >/dev/null
checks=$((checks + 1))
[ ! -e "$TMP/exp/allocations.csv" ] || fail "an export without the key kept the arms"
echo "note" >"$TMP/exp/README.txt"
expect_fail 1 "holds README.txt" -- "$LP" export --db "$TMP/t.db" --out "$TMP/exp"
same "note kept" "$(cat "$TMP/exp/README.txt")" "note"

# demo: reusable; a note in it makes it the user's.
"$LP" demo --out "$TMP/demo" "${A[@]}" >/dev/null
"$LP" demo --out "$TMP/demo" "${A[@]}" >/dev/null
checks=$((checks + 1))
[ -s "$TMP/demo/report/report.html" ] && [ -s "$TMP/demo/trial.db" ] || fail "demo rewritten"
"$LP" status --db "$TMP/demo/trial.db" >/dev/null
"$LP" demo --out "$TMP/demo" "${A[@]}" >/dev/null
touch "$TMP/demo/mine.txt"
expect_fail 1 "holds mine.txt" -- "$LP" demo --out "$TMP/demo" "${A[@]}"
checks=$((checks + 1))
[ -e "$TMP/demo/mine.txt" ] && [ -s "$TMP/demo/trial.db" ] || fail "refused demo changed the folder"
# A demo folder of an earlier version (a bare marker, no list) is refused with a hint.
mkdir "$TMP/olddemo"
touch "$TMP/olddemo/.leopards-demo" "$TMP/olddemo/trial.db"
expect_fail 1 "made by an earlier version of leopards demo" -- "$LP" demo --out "$TMP/olddemo" "${A[@]}"

# 3. Export to a full disk: the earlier export stays complete and importable. The new
# export is of another trial (the demo's), so that a mixture of the two would show. A
# small tmpfs when this runs as root; otherwise a file-size limit (SIGXFSZ ignored, so a
# write fails with EFBIG as on a full disk with ENOSPC; LP_TEST_NO_MOUNT=1 forces this).
"$LP" export --db "$TMP/t.db" --out "$TMP/full-ref" >/dev/null
size=$(du -sk "$TMP/full-ref" | cut -f1)
FS="$TMP/fs"
mkdir "$FS"
mounted=0
if [ -z "${LP_TEST_NO_MOUNT:-}" ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$((size * 2 + 256))k tmpfs "$FS" 2>/dev/null; then
  mounted=1
  trap 'umount "$FS" 2>/dev/null || true; rm -rf "$TMP"' EXIT
fi
"$LP" export --db "$TMP/t.db" --out "$FS/exp" >/dev/null
before=$(snapshot "$FS/exp")
if [ "$mounted" = 1 ]; then
  expect_fail 1 "export to .*/exp not written \(an earlier export there is unchanged\).*No space left" -- \
    "$LP" export --db "$TMP/demo/trial.db" --out "$FS/exp"
else
  expect_fail 1 "export to .*/exp not written \(an earlier export there is unchanged\).*too large" -- \
    bash -c 'trap "" XFSZ; ulimit -f 256; exec "$0" "$@"' "$LP" export --db "$TMP/demo/trial.db" --out "$FS/exp"
fi
same "earlier export intact after a full disk" "$(snapshot "$FS/exp")" "$before"
checks=$((checks + 1))
[ -z "$(find "$FS" -maxdepth 1 -name 'exp.*')" ] || fail "the failed export left a staging folder: $(ls -a "$FS")"
"$LP" import --db "$TMP/imported.db" --from "$FS/exp" >/dev/null
[ "$mounted" = 1 ] && umount "$FS"
done_checks
