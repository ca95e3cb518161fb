# scripts/setup with stand-ins for dpkg-query, apt-get, cmake and sleep on the PATH:
# it waits while another install holds the package manager's lock (instead of
# failing), gives up with apt's words on another error, and shows the build's
# output when the build fails.
source "$(dirname "$0")/lib.bash"
SETUP="$TESTS/../scripts/setup"
bin="$TMP/bin"
mkdir -p "$bin"
# One package "missing", so that setup installs.
cat >"$bin/dpkg-query" <<'X'
#!/bin/sh
[ "$3" = jq ] && exit 1
echo "install ok installed"
X
# apt-get: the first two calls find the lock held (as when another install runs).
cat >"$bin/apt-get" <<'X'
#!/bin/sh
n=$(cat "$STATE/calls" 2>/dev/null || echo 0)
echo $((n + 1)) >"$STATE/calls"
echo "$*" >>"$STATE/args"
if [ "$n" -lt "${LOCKED:-0}" ]; then
  echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
  exit 100
fi
[ -n "$APT_FAIL" ] && { echo "E: Unable to locate package $APT_FAIL" >&2; exit 100; }
exit 0
X
cat >"$bin/cmake" <<'X'
#!/bin/sh
[ -n "$BUILD_FAIL" ] && [ "$1" = --build ] && { echo "cli/main.c:12: error: expected ';' before 'return'"; exit 2; }
exit 0
X
printf '#!/bin/sh\nexit 0\n' >"$bin/sleep"
chmod +x "$bin"/*
run() { env PATH="$bin:$PATH" STATE="$TMP" "$@" bash "$SETUP" >"$TMP/out" 2>"$TMP/err"; }

rm -f "$TMP/calls" "$TMP/args"
run LOCKED=2 || fail "setup failed while the lock was held: $(cat "$TMP/err")"
grep -q "waiting for another package install to finish" "$TMP/out" || fail "setup did not say it waits"
grep -q "setup: built build/leopards" "$TMP/out" || fail "setup did not build"
same "apt-get calls (2 waits, update, install)" "$(cat "$TMP/calls")" 4
grep -q -- "-o DPkg::Lock::Timeout=" "$TMP/args" || fail "apt-get without a lock timeout"
checks=$((checks + 1))
grep -q "install -y -qq --no-install-recommends jq" "$TMP/args" || fail "the missing package not installed"

rm -f "$TMP/calls" "$TMP/args"
rc=0
run APT_FAIL=jq || rc=$?
[ $rc != 0 ] || fail "setup succeeded although apt-get failed"
grep -q "Unable to locate package jq" "$TMP/err" || fail "apt's error not shown"

rm -f "$TMP/calls" "$TMP/args"
rc=0
run BUILD_FAIL=1 || rc=$?
same "build failure exit" "$rc" 1
grep -q "cli/main.c:12: error: expected ';'" "$TMP/err" || fail "the build's output not shown: $(cat "$TMP/err")"
grep -q "setup: the build failed" "$TMP/err" || fail "no word that the build failed"
done_checks
