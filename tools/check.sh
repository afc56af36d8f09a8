#!/bin/sh
# check.sh - the whole test suite: a normal build and an ASan+UBSan build, each running
# unit (cmocka) and integration (real binary, real PostgreSQL, stock age) tests, and the
# fuzz targets. Prints one closing line "check: N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
status=0
# Four test files at a time on two cores: the integration files spend most of their wall time
# waiting on servers (PostgreSQL, RGW, a daemon's next minute) and about a quarter of it on
# the CPU (measured per file with a cpuacct cgroup); the longest start first
# (tests/meson.build). CHECK_JOBS=N changes it. Each file may take twice its meson timeout
# (300 s): a loaded machine stretched test_check past it at four at a time.
jobs=${CHECK_JOBS:-4}
total_ok=0; total_fail=0; total_skip=0
build_suite() {
  dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || { echo "$dir: setup FAILED"; total_fail=$((total_fail + 1)); return 1; }
  fi
  # a build that fails is a failure of the suite, not an absence of tests
  ninja -C "$dir" || { echo "$dir: build FAILED"; total_fail=$((total_fail + 1)); return 1; }
}
test_suite() {
  dir=$1
  meson test -C "$dir" --print-errorlogs --num-processes "$jobs" --timeout-multiplier 2 || status=1
  log="$dir/meson-logs/testlog.json"
  ok=$(grep -c '"result": "OK"' "$log" || true)
  fail=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  skip=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "$dir: $ok passed, $fail failed, $skip skipped"
  total_ok=$((total_ok + ok)); total_fail=$((total_fail + fail)); total_skip=$((total_skip + skip))
}
if build_suite build; then test_suite build; else status=1; fi

asan_ok=
build_suite build-asan -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug &&
  asan_ok=1 || status=1
# Parsers are fuzzed for a bounded time on every run (FUZZ_SECONDS per target, default 20),
# one target at a time, beside the ASan/UBSan tests (which mostly wait), after that build so
# that the two builds do not share the cores.
mkdir -p build
rm -f build/fuzz.rc
( ./fuzz/run.sh "${FUZZ_SECONDS:-20}" > build/fuzz.log 2>&1; echo $? > build/fuzz.rc ) &
fuzz_pid=$!
if [ -n "$asan_ok" ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    test_suite build-asan
fi
wait "$fuzz_pid"
if [ "$(cat build/fuzz.rc 2>/dev/null)" = 0 ]; then
  echo "fuzz: passed ($(tail -1 build/fuzz.log))"
  total_ok=$((total_ok + 1))
else
  cat build/fuzz.log
  echo "fuzz: FAILED"
  total_fail=$((total_fail + 1)); status=1
fi
echo "check: $total_ok passed, $total_fail failed, $total_skip skipped"
exit $status
