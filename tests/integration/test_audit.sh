#!/usr/bin/env bash
# test_audit.sh - audited commands append hash-chained records; verify catches tampering.
source "$(dirname "$0")/../harness/lib.sh"
tk_tmpdir
export HOME=$TK_TMP
cd "$TK_TMP"
LOG=$TK_TMP/state/audit.log
export PGWARD_AUDIT_LOG=$LOG

"$PGWARD" keygen -o k 2>/dev/null
R=$("$PGWARD" keygen -y k)
echo x | "$PGWARD" encrypt -r "$R" > x.age
"$PGWARD" decrypt -i k x.age >/dev/null
set +e; "$PGWARD" decrypt -i k /dev/null >/dev/null 2>&1; set -e
tk_assert_eq "$(wc -l < "$LOG")" 5 "one record per audited command"
tk_assert_eq "$(stat -c %a "$LOG")" 600 "audit log mode"
tk_assert_eq "$(stat -c %a "$TK_TMP/state")" 700 "audit directory mode"
rec=$(sed -n 5p "$LOG")
tk_assert_contains "$rec" '"command":"decrypt"' "command recorded"
tk_assert_contains "$rec" '"outcome":"failure"' "failure recorded"
tk_assert_contains "$rec" '"exit_code":11' "exit code recorded"
tk_assert_contains "$rec" "\"os_user\":\"$(id -un)\"" "actor recorded"
grep -q "AGE-SECRET-KEY" "$LOG" && tk_fail "secret key in the audit log"

out=$("$PGWARD" audit)
tk_assert_eq "$(printf '%s\n' "$out" | wc -l)" 5 "audit prints every record"
tk_assert_contains "$out" "failure" "text listing shows the outcome"
tk_assert_eq "$("$PGWARD" audit --since 1d --output=json | wc -l)" 5 "since 1d"
tk_assert_eq "$("$PGWARD" audit --since 2999-01-01 | wc -l)" 0 "since in the future"
out=$("$PGWARD" audit verify)
tk_assert_contains "$out" "intact, 5 records" "verify intact"
head=$(printf '%s\n' "$out" | sed -n 's/^head: //p')
"$PGWARD" audit verify --expect-head "$head" >/dev/null || tk_fail "expect-head of the real head"

cp "$LOG" orig.log
# edited record
sed -i '2s/"command":"keygen"/"command":"encrypt"/' "$LOG"
expect_fail 18 "audit log is broken at line" audit verify
tk_assert_contains "$err" "line 3" "edited record located"
# removed record
cp orig.log "$LOG"; sed -i '3d' "$LOG"
expect_fail 18 "sequence number out of order (a line was removed or moved)" audit verify
# reordered records
cp orig.log "$LOG"; { sed -n 1p orig.log; sed -n 3p orig.log; sed -n 2p orig.log; sed -n '4,$p' orig.log; } > "$LOG"
expect_fail 18 "audit log is broken at line 2" audit verify
# truncated at the end: only the anchored head shows it
cp orig.log "$LOG"; sed -i '$d' "$LOG"
"$PGWARD" audit verify >/dev/null || tk_fail "a shorter intact chain verifies"
expect_fail 18 "the newest audit record is not the expected one" audit verify --expect-head "$head"
set +e; "$PGWARD" audit verify --output=json > v.json; set -e
grep -q '"intact": true' v.json || tk_fail "json verify output"
# an unwritable audit log warns but does not hide the command's result
PGWARD_AUDIT_LOG=/proc/nope/audit.log "$PGWARD" keygen -y k > /dev/null 2> warn.txt || tk_fail "command failed because of the audit log"
grep -q "audit record was not written" warn.txt || tk_fail "no warning for an unwritable audit log"
echo "audit: all checks passed"
