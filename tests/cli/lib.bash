# Helpers for the command-line tests (sourced). Each test script is run as
#   bash tests/cli/NAME.sh LEOPARDS_BINARY TESTS_DIR   (this file is sourced, not run)
# and fails (exit 1) at the first check that does not hold.
set -euo pipefail
LP="$1"
TESTS="$2"
DATA="$TESTS/data"
REF="$TESTS/ref"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
checks=0

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# ref NAME KEY: a reference value from tests/ref/NAME.csv
ref() {
  local v
  v=$(awk -F, -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$REF/$1.csv") ||
    fail "no reference $2 in $1"
  echo "$v"
}

# close WHAT ACTUAL EXPECTED RELTOL
close() {
  checks=$((checks + 1))
  awk -v a="$2" -v e="$3" -v t="$4" 'BEGIN {
    d = a - e; if (d < 0) d = -d; m = e < 0 ? -e : e; lim = (e == 0) ? t : t * m;
    exit !(a != "" && a != "null" && d <= lim) }' || fail "$1: got '$2', expected $3 (tolerance $4)"
}

# same WHAT ACTUAL EXPECTED (string equality)
same() {
  checks=$((checks + 1))
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# expect_fail CODE PATTERN -- command...: exit code CODE, stderr matching PATTERN,
# and nothing on stdout (unless --json asked for an error object).
expect_fail() {
  local code="$1" pattern="$2"
  shift 3
  local rc=0
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  checks=$((checks + 1))
  [ "$rc" = "$code" ] || fail "'$*' exited $rc, expected $code; stderr: $(cat "$TMP/err")"
  grep -qE -- "$pattern" "$TMP/err" || fail "'$*': stderr '$(cat "$TMP/err")' lacks /$pattern/"
  case " $* " in
  *" --json "*) ;;
  *) [ ! -s "$TMP/out" ] || fail "'$*' wrote to stdout on error: $(head -c 200 "$TMP/out")" ;;
  esac
}

done_checks() {
  echo "$checks checks passed"
}
