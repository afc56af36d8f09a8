#!/bin/sh
# check.sh - the whole test suite: a normal build and an ASan+UBSan build, each running
# unit (cmocka) and integration (real binary, real PostgreSQL, stock age) tests.
# Prints one closing line "check: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
status=0
total_ok=0; total_fail=0; total_skip=0
run_suite() {
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || { echo "$dir: setup FAILED"; total_fail=$((total_fail + 1)); return 1; }
  fi
  # a build that fails is a failure of the suite, not an absence of tests
  ninja -C "$dir" || { echo "$dir: build FAILED"; total_fail=$((total_fail + 1)); return 1; }
  meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
  log="$dir/meson-logs/testlog.json"
  ok=$(grep -c '"result": "OK"' "$log" || true)
  fail=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  skip=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "$dir: $ok passed, $fail failed, $skip skipped"
  total_ok=$((total_ok + ok)); total_fail=$((total_fail + fail)); total_skip=$((total_skip + skip))
}
run_suite build || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug || status=1
# parsers are fuzzed for a bounded time on every run (FUZZ_SECONDS per target, default 20)
if ./fuzz/run.sh "${FUZZ_SECONDS:-20}" > build/fuzz.log 2>&1; then
  echo "fuzz: passed ($(tail -1 build/fuzz.log))"
  total_ok=$((total_ok + 1))
else
  cat build/fuzz.log
  echo "fuzz: FAILED"
  total_fail=$((total_fail + 1)); status=1
fi
echo "check: $total_ok passed, $total_fail failed, $total_skip skipped"
exit $status
